/* ir_graph <-> engine graph and weights sections (the format is described in graph_io.h). */
#include "engine/graph_io.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "common/util.h"
#include "ops/ops.h"

#define GIO_NO_TENSOR 0xffffffffu
#define GIO_RANK_UNKNOWN 0xffu
#define GIO_MAX_STRING ((size_t)1 << 20)
#define GIO_MAX_OPSETS 4096u
#define GIO_MAX_TENSORS (1u << 26) /* keeps ir_add_tensor's int hash capacity from overflowing */
#define GIO_MAX_NODES 10000000u    /* the ONNX loader's limit */
#define GIO_MAX_NODE_IO (1u << 20)
#define GIO_MAX_ATTRS (1u << 16)
#define GIO_MAX_LIST 0x7fffffffu
#define GIO_MAX_OPSET 1000000
#define GIO_NODE_FOLDED 1u

/* Smallest encodings, so that a count is checked against the bytes left before anything is allocated. */
#define MIN_OPSET_BYTES (4 + 8)
#define MIN_TENSOR_BYTES (4 + 4 + 1 + 1)
#define MIN_NODE_BYTES (3 * 4 + 8 + 1 + 3 * 4)
#define MIN_ATTR_BYTES (4 + 1)

static bool has_data(const ir_tensor *t) { return t->is_const && t->data; }

/* ==== writing ============================================================ */

/* Distinct data pointers of the graph, each stored once at one weights offset. */
typedef struct blob {
  const void *ptr;
  size_t size; /* the largest size any tensor sharing the pointer needs */
  uint64_t offset;
} blob;

typedef struct blob_map {
  blob *items;
  size_t n;
  size_t *slots; /* open addressing: index + 1, 0 for empty */
  size_t cap;    /* a power of two above twice the item count */
} blob_map;

static size_t ptr_slot(const blob_map *m, const void *p)
{
  uint64_t h = ((uint64_t)(uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull;
  return (size_t)(h ^ (h >> 29)) & (m->cap - 1);
}

static blob *blob_find(const blob_map *m, const void *p)
{
  for (size_t k = ptr_slot(m, p); m->slots[k]; k = (k + 1) & (m->cap - 1))
    if (m->items[m->slots[k] - 1].ptr == p) return &m->items[m->slots[k] - 1];
  return NULL;
}

/* Bytes of a constant tensor's data, refusing one whose shape or dtype does not say. */
static onyx_status data_bytes(const ir_tensor *t, const char *what, size_t *out)
{
  int64_t numel = ir_shape_known(t) && t->ndim <= ONYX_MAX_DIMS ? ir_tensor_numel(t) : -1, bytes;
  size_t esz = onyx_dtype_valid(t->dtype) ? onyx_dtype_size(t->dtype) : 0;
  if (numel < 0 || esz == 0 || onyx_mul_overflow_i64(numel, (int64_t)esz, &bytes))
    return onyx_error(ONYX_ERR_INTERNAL, "engine graph writer: %s '%s' has constant data but no known shape",
                      what, t->name ? t->name : "");
  *out = (size_t)bytes;
  return ONYX_OK;
}

static onyx_status blob_add(blob_map *m, const ir_tensor *t, const char *what)
{
  size_t size;
  ONYX_TRY(data_bytes(t, what, &size));
  blob *b = blob_find(m, t->data);
  if (b) {
    if (size > b->size) b->size = size;
    return ONYX_OK;
  }
  size_t k = ptr_slot(m, t->data);
  while (m->slots[k]) k = (k + 1) & (m->cap - 1);
  m->items[m->n] = (blob){t->data, size, 0};
  m->slots[k] = ++m->n;
  return ONYX_OK;
}

static void blob_map_free(blob_map *m)
{
  free(m->items);
  free(m->slots);
}

/* Every data pointer of g (attribute tensors included) with its size. */
static onyx_status collect_blobs(const ir_graph *g, blob_map *m)
{
  size_t count = 0;
  for (int i = 0; i < g->n_tensors; i++) count += has_data(&g->tensors[i]);
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_attrs; k++) {
      const ir_attr *a = &g->nodes[i].attrs[k];
      count += a->type == IR_ATTR_TENSOR && a->t && has_data(a->t);
    }
  memset(m, 0, sizeof(*m));
  m->cap = 16;
  while (m->cap < 2 * count + 2) m->cap *= 2;
  m->items = onyx_malloc((count ? count : 1) * sizeof(*m->items));
  m->slots = onyx_calloc(m->cap, sizeof(*m->slots));
  if (!m->items || !m->slots) return ONYX_ERR_NO_MEMORY;
  for (int i = 0; i < g->n_tensors; i++)
    if (has_data(&g->tensors[i])) ONYX_TRY(blob_add(m, &g->tensors[i], "tensor"));
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_attrs; k++) {
      const ir_attr *a = &g->nodes[i].attrs[k];
      if (a->type == IR_ATTR_TENSOR && a->t && has_data(a->t))
        ONYX_TRY(blob_add(m, a->t, "attribute tensor"));
    }
  return ONYX_OK;
}

static onyx_status write_weights(blob_map *m, eng_writer *w)
{
  for (size_t i = 0; i < m->n; i++) {
    eng_put_pad(w, ENG_GRAPH_ALIGN);
    m->items[i].offset = w->size;
    eng_put_bytes(w, m->items[i].ptr, m->items[i].size);
  }
  return eng_writer_status(w);
}

static void put_index(eng_writer *w, int idx) { eng_put_u32(w, idx < 0 ? GIO_NO_TENSOR : (uint32_t)idx); }

static onyx_status write_tensor(eng_writer *w, const ir_tensor *t, const blob_map *m)
{
  if (t->ndim > ONYX_MAX_DIMS || t->ndim < -1)
    return onyx_error(ONYX_ERR_INTERNAL, "engine graph writer: tensor '%s' has rank %d", t->name, t->ndim);
  eng_put_string(w, t->name);
  eng_put_u32(w, (uint32_t)t->dtype);
  eng_put_u8(w, t->ndim < 0 ? GIO_RANK_UNKNOWN : (uint8_t)t->ndim);
  for (int d = 0; d < t->ndim; d++) eng_put_i64(w, t->dims[d]);
  for (int d = 0; d < t->ndim; d++) {
    eng_put_u8(w, t->dim_param[d] != NULL);
    if (t->dim_param[d]) eng_put_string(w, t->dim_param[d]);
  }
  uint8_t flags = (uint8_t)((t->is_const ? ENG_TF_CONST : 0) | (t->is_initializer ? ENG_TF_INITIALIZER : 0) |
                            (t->value_wanted ? ENG_TF_VALUE_WANTED : 0) | (has_data(t) ? ENG_TF_DATA : 0));
  eng_put_u8(w, flags);
  if (has_data(t)) {
    size_t size;
    ONYX_TRY(data_bytes(t, "tensor", &size));
    const blob *b = blob_find(m, t->data);
    if (!b) return onyx_error(ONYX_ERR_INTERNAL, "engine graph writer: tensor '%s' has no blob", t->name);
    eng_put_u64(w, b->offset);
    eng_put_u64(w, size);
  }
  return eng_writer_status(w);
}

static onyx_status write_attr(eng_writer *w, const ir_node *n, const ir_attr *a, const blob_map *m)
{
  if ((int)a->type < IR_ATTR_UNDEFINED || a->type > IR_ATTR_OTHER || (a->type == IR_ATTR_TENSOR && !a->t))
    return onyx_error(ONYX_ERR_INTERNAL, "engine graph writer: node '%s' attribute '%s' is malformed",
                      n->name, a->name);
  eng_put_string(w, a->name);
  eng_put_u8(w, (uint8_t)a->type);
  switch (a->type) {
  case IR_ATTR_FLOAT: eng_put_f32(w, a->f); break;
  case IR_ATTR_INT: eng_put_i64(w, a->i); break;
  case IR_ATTR_STRING: eng_put_string(w, a->s); break;
  case IR_ATTR_FLOATS:
    eng_put_u32(w, (uint32_t)a->n);
    for (size_t i = 0; i < a->n; i++) eng_put_f32(w, a->floats[i]);
    break;
  case IR_ATTR_INTS:
    eng_put_u32(w, (uint32_t)a->n);
    for (size_t i = 0; i < a->n; i++) eng_put_i64(w, a->ints[i]);
    break;
  case IR_ATTR_STRINGS:
    eng_put_u32(w, (uint32_t)a->n);
    for (size_t i = 0; i < a->n; i++) eng_put_string(w, a->strings[i]);
    break;
  case IR_ATTR_TENSOR: return write_tensor(w, a->t, m);
  default: break; /* UNDEFINED and OTHER carry no value */
  }
  if ((a->type == IR_ATTR_FLOATS || a->type == IR_ATTR_INTS || a->type == IR_ATTR_STRINGS) &&
      a->n > GIO_MAX_LIST)
    return onyx_error(ONYX_ERR_INTERNAL, "engine graph writer: node '%s' attribute '%s' has %zu values",
                      n->name, a->name, a->n);
  return eng_writer_status(w);
}

static onyx_status check_index(const ir_graph *g, int idx, bool allow_none, const char *what,
                               const char *name)
{
  if ((idx == -1 && allow_none) || (idx >= 0 && idx < g->n_tensors)) return ONYX_OK;
  return onyx_error(ONYX_ERR_INTERNAL, "engine graph writer: %s '%s' refers to tensor %d of %d", what, name,
                    idx, g->n_tensors);
}

static onyx_status write_node(eng_writer *w, const ir_graph *g, const ir_node *n, const blob_map *m)
{
  if (n->n_in < 0 || n->n_out < 0 || n->n_attrs < 0)
    return onyx_error(ONYX_ERR_INTERNAL, "engine graph writer: node '%s' has negative counts", n->name);
  eng_put_string(w, n->name);
  eng_put_string(w, n->op_type);
  eng_put_string(w, n->domain);
  eng_put_i64(w, n->opset);
  eng_put_u8(w, n->folded ? GIO_NODE_FOLDED : 0);
  eng_put_u32(w, (uint32_t)n->n_in);
  for (int i = 0; i < n->n_in; i++) {
    ONYX_TRY(check_index(g, n->in[i], true, "node", n->name));
    put_index(w, n->in[i]);
  }
  eng_put_u32(w, (uint32_t)n->n_out);
  for (int i = 0; i < n->n_out; i++) {
    ONYX_TRY(check_index(g, n->out[i], true, "node", n->name));
    if (n->folded && n->out[i] >= 0 && !has_data(&g->tensors[n->out[i]]))
      return onyx_error(ONYX_ERR_INTERNAL,
                        "engine graph writer: node '%s' is folded but its output '%s' has no value", n->name,
                        g->tensors[n->out[i]].name);
    put_index(w, n->out[i]);
  }
  eng_put_u32(w, (uint32_t)n->n_attrs);
  for (int i = 0; i < n->n_attrs; i++) ONYX_TRY(write_attr(w, n, &n->attrs[i], m));
  return eng_writer_status(w);
}

onyx_status eng_graph_write(const ir_graph *g, eng_writer *gw, eng_writer *ww)
{
  if (!g || !gw || !ww) return onyx_error(ONYX_ERR_INVALID_ARG, "eng_graph_write: NULL argument");
  blob_map m;
  onyx_status st = collect_blobs(g, &m);
  if (st == ONYX_OK) st = write_weights(&m, ww);
  if (st != ONYX_OK) goto out_free;

  eng_put_u32(gw, ENG_GRAPH_TAG);
  eng_put_u32(gw, ENG_GRAPH_VERSION);
  eng_put_i64(gw, g->ir_version);
  eng_put_string(gw, g->producer_name);
  eng_put_string(gw, g->producer_version);
  eng_put_string(gw, g->graph_name);
  eng_put_u32(gw, (uint32_t)g->n_opsets);
  for (int i = 0; i < g->n_opsets; i++) {
    eng_put_string(gw, g->opsets[i].domain);
    eng_put_i64(gw, g->opsets[i].version);
  }
  eng_put_u32(gw, (uint32_t)g->n_tensors);
  for (int i = 0; st == ONYX_OK && i < g->n_tensors; i++) st = write_tensor(gw, &g->tensors[i], &m);
  eng_put_u32(gw, (uint32_t)g->n_nodes);
  for (int i = 0; st == ONYX_OK && i < g->n_nodes; i++) st = write_node(gw, g, &g->nodes[i], &m);
  if (st != ONYX_OK) goto out_free;
  eng_put_u32(gw, (uint32_t)g->n_inputs);
  for (int i = 0; st == ONYX_OK && i < g->n_inputs; i++)
    if ((st = check_index(g, g->inputs[i], false, "graph input", "")) == ONYX_OK) put_index(gw, g->inputs[i]);
  eng_put_u32(gw, (uint32_t)g->n_outputs);
  for (int i = 0; st == ONYX_OK && i < g->n_outputs; i++)
    if ((st = check_index(g, g->outputs[i], false, "graph output", "")) == ONYX_OK)
      put_index(gw, g->outputs[i]);
  if (st == ONYX_OK) st = eng_writer_status(gw);
out_free:
  blob_map_free(&m);
  return st;
}

/* ==== reading ============================================================ */

/* A tensor whose data lies at [offset, offset + size) of the weights section. */
typedef struct data_ref {
  uint64_t offset, size;
  ir_tensor *t;
  bool attr; /* an attribute tensor: preferred as the owner of a shared copy */
  size_t seq;
} data_ref;

typedef struct gio_reader {
  eng_reader r;
  const uint8_t *weights;
  size_t weights_size;
  data_ref *refs;
  size_t n_refs, cap_refs;
  ir_graph *g;
} gio_reader;

static onyx_status bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static onyx_status bad(const char *fmt, ...)
{
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return onyx_error(ONYX_ERR_PARSE, "%s", msg);
}

static onyx_status get_string(gio_reader *rd, const char *what, const char *field, char **out)
{
  char f[320];
  snprintf(f, sizeof(f), "%s %s", what, field);
  return eng_get_string_alloc(&rd->r, f, GIO_MAX_STRING, out);
}

static onyx_status get_count(gio_reader *rd, const char *what, const char *field, size_t min_bytes,
                             uint32_t max, uint32_t *out)
{
  char f[320];
  snprintf(f, sizeof(f), "%s %s", what, field);
  return eng_get_count(&rd->r, f, min_bytes, max, out);
}

static onyx_status add_ref(gio_reader *rd, ir_tensor *t, bool attr, uint64_t offset, uint64_t size)
{
  if (rd->n_refs == rd->cap_refs) {
    size_t cap = rd->cap_refs ? 2 * rd->cap_refs : 64;
    data_ref *p = onyx_realloc(rd->refs, cap * sizeof(*p));
    if (!p) return ONYX_ERR_NO_MEMORY;
    rd->refs = p;
    rd->cap_refs = cap;
  }
  rd->refs[rd->n_refs] = (data_ref){offset, size, t, attr, rd->n_refs};
  rd->n_refs++;
  return ONYX_OK;
}

/* A tensor record after its name (t->name is set): type, shape, flags, data reference. */
static onyx_status read_tensor_body(gio_reader *rd, const char *what, ir_tensor *t, bool attr)
{
  char f[320];
  uint32_t dt;
  uint8_t rank, flags;
  snprintf(f, sizeof(f), "%s dtype", what);
  ONYX_TRY(eng_get_u32(&rd->r, f, &dt));
  if (dt != ONYX_DTYPE_UNDEFINED && (!onyx_dtype_valid((int)dt) || dt == ONYX_DTYPE_STRING))
    return bad("%s: dtype %u is not valid", what, dt);
  t->dtype = (onyx_dtype)dt;
  snprintf(f, sizeof(f), "%s rank", what);
  ONYX_TRY(eng_get_u8(&rd->r, f, &rank));
  if (rank != GIO_RANK_UNKNOWN && rank > ONYX_MAX_DIMS)
    return bad("%s: rank %u is above the limit of %d", what, rank, ONYX_MAX_DIMS);
  t->ndim = rank == GIO_RANK_UNKNOWN ? -1 : rank;
  for (int d = 0; d < t->ndim; d++) {
    snprintf(f, sizeof(f), "%s dimension %d", what, d);
    ONYX_TRY(eng_get_i64(&rd->r, f, &t->dims[d]));
    if (t->dims[d] < -1) return bad("%s: dimension %d is %lld", what, d, (long long)t->dims[d]);
  }
  for (int d = 0; d < t->ndim; d++) {
    uint8_t has;
    snprintf(f, sizeof(f), "%s dim_param %d", what, d);
    ONYX_TRY(eng_get_u8(&rd->r, f, &has));
    if (has > 1) return bad("%s: dim_param %d flag is %u", what, d, has);
    if (has) ONYX_TRY(eng_get_string_alloc(&rd->r, f, GIO_MAX_STRING, &t->dim_param[d]));
  }
  snprintf(f, sizeof(f), "%s flags", what);
  ONYX_TRY(eng_get_u8(&rd->r, f, &flags));
  const unsigned known = ENG_TF_CONST | ENG_TF_INITIALIZER | ENG_TF_VALUE_WANTED | ENG_TF_DATA;
  if (flags & ~known) return bad("%s: unknown flags 0x%02x", what, flags);
  if ((flags & ENG_TF_DATA) && !(flags & ENG_TF_CONST)) return bad("%s: has data but is not constant", what);
  t->is_const = flags & ENG_TF_CONST;
  t->is_initializer = flags & ENG_TF_INITIALIZER;
  t->value_wanted = flags & ENG_TF_VALUE_WANTED;
  if (!(flags & ENG_TF_DATA)) return ONYX_OK;

  uint64_t offset, size;
  snprintf(f, sizeof(f), "%s data offset", what);
  ONYX_TRY(eng_get_u64(&rd->r, f, &offset));
  snprintf(f, sizeof(f), "%s data size", what);
  ONYX_TRY(eng_get_u64(&rd->r, f, &size));
  int64_t numel = ir_shape_known(t) ? ir_tensor_numel(t) : -1, bytes;
  size_t esz = onyx_dtype_size(t->dtype);
  if (numel < 0 || esz == 0)
    return bad("%s: has data but its dtype (%s) or shape is unknown", what, onyx_dtype_name(t->dtype));
  if (onyx_mul_overflow_i64(numel, (int64_t)esz, &bytes) || (uint64_t)bytes != size) {
    char d[160];
    return bad("%s: data size %llu does not match its %s %s shape", what, (unsigned long long)size,
               onyx_dtype_name(t->dtype), onyx_dims_str(t->ndim, t->dims, d, sizeof(d)));
  }
  if (offset % ENG_GRAPH_ALIGN)
    return bad("%s: data offset %llu is not %u-byte aligned", what, (unsigned long long)offset,
               ENG_GRAPH_ALIGN);
  if (offset > rd->weights_size || size > rd->weights_size - offset)
    return bad("%s: data at offset %llu, %llu bytes, lies outside the %zu-byte weights section", what,
               (unsigned long long)offset, (unsigned long long)size, rd->weights_size);
  return add_ref(rd, t, attr, offset, size);
}

static onyx_status read_tensors(gio_reader *rd)
{
  ir_graph *g = rd->g;
  uint32_t n;
  ONYX_TRY(get_count(rd, "graph", "tensor count", MIN_TENSOR_BYTES, GIO_MAX_TENSORS, &n));
  /* room for all of them now, so that tensor pointers stay valid while the data references are kept */
  if (!(g->tensors = onyx_calloc(n ? n : 1, sizeof(*g->tensors)))) return ONYX_ERR_NO_MEMORY;
  g->cap_tensors = (int)(n ? n : 1);
  for (uint32_t i = 0; i < n; i++) {
    char what[320], *name;
    snprintf(what, sizeof(what), "tensor %u", i);
    ONYX_TRY(get_string(rd, what, "name", &name));
    int other = ir_find_tensor(g, name);
    if (other >= 0) {
      onyx_status st = bad("tensor %u: name '%s' is also tensor %d's", i, name, other);
      free(name);
      return st;
    }
    int idx = ir_add_tensor(g, name);
    free(name);
    if (idx < 0) return ONYX_ERR_NO_MEMORY;
    snprintf(what, sizeof(what), "tensor %u ('%.200s')", i, g->tensors[idx].name);
    ONYX_TRY(read_tensor_body(rd, what, &g->tensors[idx], false));
  }
  return ONYX_OK;
}

/* A u32 tensor index: below the tensor count, or 0xffffffff (-1) where allow_none. */
static onyx_status get_index(gio_reader *rd, const char *what, bool allow_none, int *out)
{
  uint32_t v;
  ONYX_TRY(eng_get_u32(&rd->r, what, &v));
  if (v == GIO_NO_TENSOR && allow_none) {
    *out = -1;
    return ONYX_OK;
  }
  if (v >= (uint32_t)rd->g->n_tensors)
    return bad("%s: tensor index %u is out of range (%d tensors)", what, v, rd->g->n_tensors);
  *out = (int)v;
  return ONYX_OK;
}

static onyx_status read_list(gio_reader *rd, const char *what, ir_attr *a)
{
  char f[320];
  uint32_t n;
  size_t elem = a->type == IR_ATTR_INTS ? 8 : 4; /* a string is at least its length */
  ONYX_TRY(get_count(rd, what, "value count", elem, GIO_MAX_LIST, &n));
  size_t cap = n ? n : 1;
  if (a->type == IR_ATTR_FLOATS) {
    if (!(a->floats = onyx_malloc(cap * sizeof(float)))) return ONYX_ERR_NO_MEMORY;
    a->n = n;
    for (uint32_t i = 0; i < n; i++) {
      snprintf(f, sizeof(f), "%s value %u", what, i);
      ONYX_TRY(eng_get_f32(&rd->r, f, &a->floats[i]));
    }
  } else if (a->type == IR_ATTR_INTS) {
    if (!(a->ints = onyx_malloc(cap * sizeof(int64_t)))) return ONYX_ERR_NO_MEMORY;
    a->n = n;
    for (uint32_t i = 0; i < n; i++) {
      snprintf(f, sizeof(f), "%s value %u", what, i);
      ONYX_TRY(eng_get_i64(&rd->r, f, &a->ints[i]));
    }
  } else {
    if (!(a->strings = onyx_calloc(cap, sizeof(char *)))) return ONYX_ERR_NO_MEMORY;
    a->n = n; /* the NULLs not yet read are freed harmlessly on failure */
    for (uint32_t i = 0; i < n; i++) {
      snprintf(f, sizeof(f), "%s value %u", what, i);
      ONYX_TRY(eng_get_string_alloc(&rd->r, f, GIO_MAX_STRING, &a->strings[i]));
    }
  }
  return ONYX_OK;
}

static onyx_status read_attr(gio_reader *rd, const char *node_what, uint32_t k, ir_attr *a)
{
  char what[512];
  uint8_t type;
  snprintf(what, sizeof(what), "%s attribute %u", node_what, k);
  ONYX_TRY(get_string(rd, what, "name", &a->name));
  snprintf(what, sizeof(what), "%s attribute '%.200s'", node_what, a->name);
  char f[600];
  snprintf(f, sizeof(f), "%s type", what);
  ONYX_TRY(eng_get_u8(&rd->r, f, &type));
  if (type > IR_ATTR_OTHER) return bad("%s: type %u is not valid", what, type);
  a->type = (ir_attr_type)type;
  snprintf(f, sizeof(f), "%s value", what);
  switch (a->type) {
  case IR_ATTR_FLOAT: return eng_get_f32(&rd->r, f, &a->f);
  case IR_ATTR_INT: return eng_get_i64(&rd->r, f, &a->i);
  case IR_ATTR_STRING: return eng_get_string_alloc(&rd->r, f, GIO_MAX_STRING, &a->s);
  case IR_ATTR_FLOATS:
  case IR_ATTR_INTS:
  case IR_ATTR_STRINGS: return read_list(rd, what, a);
  case IR_ATTR_TENSOR:
    if (!(a->t = onyx_calloc(1, sizeof(*a->t)))) return ONYX_ERR_NO_MEMORY;
    a->t->ndim = -1;
    a->t->producer = -1;
    ONYX_TRY(get_string(rd, what, "tensor name", &a->t->name));
    return read_tensor_body(rd, what, a->t, true);
  default: return ONYX_OK;
  }
}

static onyx_status read_node(gio_reader *rd, uint32_t i, ir_node *n)
{
  char what[320], f[400];
  snprintf(what, sizeof(what), "node %u", i);
  ONYX_TRY(get_string(rd, what, "name", &n->name));
  snprintf(what, sizeof(what), "node %u ('%.200s')", i, n->name);
  ONYX_TRY(get_string(rd, what, "op_type", &n->op_type));
  ONYX_TRY(get_string(rd, what, "domain", &n->domain));
  n->op = op_lookup(n->domain, n->op_type);
  if (n->op < 0)
    return onyx_error(ONYX_ERR_UNSUPPORTED,
                      "%s node '%s': op '%s' (domain '%s') is not supported by this build", n->op_type,
                      n->name, n->op_type, n->domain[0] ? n->domain : "ai.onnx");
  snprintf(f, sizeof(f), "%s opset", what);
  ONYX_TRY(eng_get_i64(&rd->r, f, &n->opset));
  if (n->opset < 0 || n->opset > GIO_MAX_OPSET)
    return bad("%s: opset %lld is out of range", what, (long long)n->opset);
  uint8_t flags;
  snprintf(f, sizeof(f), "%s flags", what);
  ONYX_TRY(eng_get_u8(&rd->r, f, &flags));
  if (flags & ~GIO_NODE_FOLDED) return bad("%s: unknown flags 0x%02x", what, flags);
  n->folded = flags & GIO_NODE_FOLDED;

  uint32_t cnt;
  ONYX_TRY(get_count(rd, what, "input count", 4, GIO_MAX_NODE_IO, &cnt));
  if (!(n->in = onyx_malloc((cnt ? cnt : 1) * sizeof(int)))) return ONYX_ERR_NO_MEMORY;
  for (uint32_t k = 0; k < cnt; k++, n->n_in++) {
    snprintf(f, sizeof(f), "%s input %u", what, k);
    ONYX_TRY(get_index(rd, f, true, &n->in[k]));
  }
  ONYX_TRY(get_count(rd, what, "output count", 4, GIO_MAX_NODE_IO, &cnt));
  if (!(n->out = onyx_malloc((cnt ? cnt : 1) * sizeof(int)))) return ONYX_ERR_NO_MEMORY;
  for (uint32_t k = 0; k < cnt; k++, n->n_out++) {
    snprintf(f, sizeof(f), "%s output %u", what, k);
    ONYX_TRY(get_index(rd, f, true, &n->out[k]));
  }
  ONYX_TRY(get_count(rd, what, "attribute count", MIN_ATTR_BYTES, GIO_MAX_ATTRS, &cnt));
  if (!(n->attrs = onyx_calloc(cnt ? cnt : 1, sizeof(ir_attr)))) return ONYX_ERR_NO_MEMORY;
  n->n_attrs = (int)cnt; /* zeroed attributes not yet read are cleared harmlessly on failure */
  for (uint32_t k = 0; k < cnt; k++) ONYX_TRY(read_attr(rd, what, k, &n->attrs[k]));
  return ONYX_OK;
}

static onyx_status read_nodes(gio_reader *rd)
{
  ir_graph *g = rd->g;
  uint32_t n;
  ONYX_TRY(get_count(rd, "graph", "node count", MIN_NODE_BYTES, GIO_MAX_NODES, &n));
  if (!(g->nodes = onyx_calloc(n ? n : 1, sizeof(*g->nodes)))) return ONYX_ERR_NO_MEMORY;
  g->cap_nodes = (int)(n ? n : 1);
  for (uint32_t i = 0; i < n; i++) {
    g->n_nodes++; /* counted first, so that a half-read node is freed with the graph */
    ONYX_TRY(read_node(rd, i, &g->nodes[i]));
  }
  return ONYX_OK;
}

/* Graph inputs or outputs ("input", "output"). */
static onyx_status read_io(gio_reader *rd, const char *what, int **list, int *count)
{
  uint32_t n;
  char f[64];
  snprintf(f, sizeof(f), "%s count", what);
  ONYX_TRY(get_count(rd, "graph", f, 4, GIO_MAX_LIST, &n));
  if (!(*list = onyx_malloc((n ? n : 1) * sizeof(int)))) return ONYX_ERR_NO_MEMORY;
  for (uint32_t i = 0; i < n; i++, (*count)++) {
    snprintf(f, sizeof(f), "graph %s %u", what, i);
    ONYX_TRY(get_index(rd, f, false, &(*list)[i]));
  }
  return ONYX_OK;
}

static int ref_cmp(const void *pa, const void *pb)
{
  const data_ref *a = pa, *b = pb;
  if (a->offset != b->offset) return a->offset < b->offset ? -1 : 1;
  if (a->attr != b->attr) return a->attr ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* One copy per distinct offset (as large as its largest user), owned by its first user.  Distinct
 * arrays must not overlap, so the copies together never exceed the weights section.  Empty arrays take
 * no room in the section (the next array may start at the same offset), so each gets its own 1-byte
 * buffer instead of joining another's. */
static onyx_status assign_data(gio_reader *rd)
{
  size_t kept = 0;
  for (size_t i = 0; i < rd->n_refs; i++) {
    if (rd->refs[i].size) {
      rd->refs[kept++] = rd->refs[i];
      continue;
    }
    if (!(rd->refs[i].t->data = onyx_calloc(1, 1))) return ONYX_ERR_NO_MEMORY;
    rd->refs[i].t->owns_data = true;
  }
  rd->n_refs = kept;
  if (!rd->n_refs) return ONYX_OK;
  qsort(rd->refs, rd->n_refs, sizeof(*rd->refs), ref_cmp);
  uint64_t prev_end = 0;
  const ir_tensor *prev = NULL;
  for (size_t i = 0, j; i < rd->n_refs; i = j) {
    uint64_t size = 0, off = rd->refs[i].offset;
    for (j = i; j < rd->n_refs && rd->refs[j].offset == off; j++)
      if (rd->refs[j].size > size) size = rd->refs[j].size;
    if (prev && off < prev_end)
      return bad(
          "weights: the data of tensor '%s' (offset %llu) overlaps that of tensor '%s' (ending at %llu)",
          rd->refs[i].t->name, (unsigned long long)off, prev->name, (unsigned long long)prev_end);
    void *buf = onyx_malloc((size_t)size);
    if (!buf) return ONYX_ERR_NO_MEMORY;
    memcpy(buf, rd->weights + off, (size_t)size);
    for (size_t k = i; k < j; k++) {
      rd->refs[k].t->data = buf;
      rd->refs[k].t->owns_data = k == i;
    }
    prev = rd->refs[i].t;
    prev_end = off + size;
  }
  return ONYX_OK;
}

/* Producers, one per tensor; nodes in topological order; graph inputs unique and not produced; folded
 * nodes' outputs stored. */
static onyx_status check_structure(ir_graph *g)
{
  for (int t = 0; t < g->n_tensors; t++) g->tensors[t].producer = -1;
  for (int i = 0; i < g->n_nodes; i++) {
    const ir_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_out; k++) {
      if (n->out[k] < 0) continue;
      ir_tensor *t = &g->tensors[n->out[k]];
      if (t->producer >= 0)
        return bad("tensor '%s' is an output of both node '%s' and node '%s'", t->name,
                   g->nodes[t->producer].name, n->name);
      if (t->is_initializer) return bad("node '%s' output '%s' is an initializer", n->name, t->name);
      if (n->folded && !has_data(t))
        return bad("node '%s' is marked folded but its output '%s' has no stored value", n->name, t->name);
      t->producer = i;
    }
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const ir_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_in; k++) {
      if (n->in[k] < 0) continue;
      const ir_tensor *t = &g->tensors[n->in[k]];
      if (t->producer >= i)
        return bad(
            "node %d ('%s') input '%s' is produced by node %d ('%s'): nodes must be in topological order", i,
            n->name, t->name, t->producer, g->nodes[t->producer].name);
    }
  }
  uint8_t *seen = onyx_calloc((size_t)(g->n_tensors ? g->n_tensors : 1), 1);
  if (!seen) return ONYX_ERR_NO_MEMORY;
  onyx_status st = ONYX_OK;
  for (int i = 0; st == ONYX_OK && i < g->n_inputs; i++) {
    const ir_tensor *t = &g->tensors[g->inputs[i]];
    if (seen[g->inputs[i]]++)
      st = bad("graph input '%s' is listed twice", t->name);
    else if (t->producer >= 0)
      st = bad("graph input '%s' is produced by node '%s'", t->name, g->nodes[t->producer].name);
  }
  free(seen);
  return st;
}

static onyx_status read_graph(gio_reader *rd)
{
  ir_graph *g = rd->g;
  uint32_t tag, version;
  ONYX_TRY(eng_get_u32(&rd->r, "graph tag", &tag));
  if (tag != ENG_GRAPH_TAG) return bad("not an engine graph section (tag 0x%08x)", tag);
  ONYX_TRY(eng_get_u32(&rd->r, "graph format version", &version));
  if (version != ENG_GRAPH_VERSION)
    return onyx_error(ONYX_ERR_UNSUPPORTED,
                      "engine graph format version %u is not supported (this build reads %u)", version,
                      ENG_GRAPH_VERSION);
  ONYX_TRY(eng_get_i64(&rd->r, "graph ir_version", &g->ir_version));
  ONYX_TRY(get_string(rd, "graph", "producer_name", &g->producer_name));
  ONYX_TRY(get_string(rd, "graph", "producer_version", &g->producer_version));
  ONYX_TRY(get_string(rd, "graph", "name", &g->graph_name));
  uint32_t n;
  ONYX_TRY(get_count(rd, "graph", "opset count", MIN_OPSET_BYTES, GIO_MAX_OPSETS, &n));
  if (!(g->opsets = onyx_calloc(n ? n : 1, sizeof(*g->opsets)))) return ONYX_ERR_NO_MEMORY;
  for (uint32_t i = 0; i < n; i++) {
    char what[64];
    snprintf(what, sizeof(what), "opset %u", i);
    g->n_opsets++;
    ONYX_TRY(get_string(rd, what, "domain", &g->opsets[i].domain));
    char f[80];
    snprintf(f, sizeof(f), "%s version", what);
    ONYX_TRY(eng_get_i64(&rd->r, f, &g->opsets[i].version));
  }
  ONYX_TRY(read_tensors(rd));
  ONYX_TRY(read_nodes(rd));
  ONYX_TRY(read_io(rd, "input", &g->inputs, &g->n_inputs));
  ONYX_TRY(read_io(rd, "output", &g->outputs, &g->n_outputs));
  if (eng_reader_left(&rd->r))
    return bad("%zu unexpected bytes after the graph at offset %zu", eng_reader_left(&rd->r), rd->r.pos);
  ONYX_TRY(assign_data(rd));
  ONYX_TRY(check_structure(g));
  /* params from the attributes, as at load: parse is cheap and does not depend on the build that wrote them
   */
  for (int i = 0; i < g->n_nodes; i++) ONYX_TRY(op_table[g->nodes[i].op].parse(&g->nodes[i]));
  return ONYX_OK;
}

onyx_status eng_graph_read(const void *graph, size_t graph_size, const void *weights, size_t weights_size,
                           ir_graph **out)
{
  if (!out || (!graph && graph_size) || (!weights && weights_size))
    return onyx_error(ONYX_ERR_INVALID_ARG, "eng_graph_read: NULL argument");
  *out = NULL;
  gio_reader rd;
  memset(&rd, 0, sizeof(rd));
  eng_reader_init(&rd.r, graph, graph_size);
  rd.weights = weights;
  rd.weights_size = weights ? weights_size : 0;
  if (!(rd.g = ir_graph_new())) return ONYX_ERR_NO_MEMORY;
  onyx_status st = read_graph(&rd);
  free(rd.refs);
  if (st != ONYX_OK) {
    ir_graph_free(rd.g);
    return onyx_error_context(st, "engine graph");
  }
  *out = rd.g;
  return ONYX_OK;
}
