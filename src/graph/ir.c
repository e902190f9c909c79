#include "graph/ir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "common/util.h"

ir_graph *ir_graph_new(void) { return onyx_calloc(1, sizeof(ir_graph)); }

void ir_attr_clear(ir_attr *a)
{
  free(a->name);
  free(a->s);
  free(a->ints);
  free(a->floats);
  for (size_t i = 0; a->strings && i < a->n; i++) free(a->strings[i]);
  free(a->strings);
  if (a->t) {
    ir_tensor_clear(a->t);
    free(a->t);
  }
  memset(a, 0, sizeof(*a));
}

void ir_tensor_clear(ir_tensor *t)
{
  free(t->name);
  for (int i = 0; i < ONYX_MAX_DIMS; i++) free(t->dim_param[i]);
  if (t->owns_data) free(t->data);
  memset(t, 0, sizeof(*t));
}

void ir_node_clear(ir_node *n)
{
  free(n->name);
  free(n->op_type);
  free(n->domain);
  free(n->in);
  free(n->out);
  for (int i = 0; i < n->n_attrs; i++) ir_attr_clear(&n->attrs[i]);
  free(n->attrs);
  free(n->params);
  memset(n, 0, sizeof(*n));
}

void ir_graph_free(ir_graph *g)
{
  if (!g) return;
  for (int i = 0; g->borrows_node_data && i < g->n_nodes; i++) {
    if (g->nodes[i].owns_node_data) continue;
    g->nodes[i].attrs = NULL;
    g->nodes[i].n_attrs = 0;
    g->nodes[i].params = NULL;
  }
  for (int i = 0; i < g->n_tensors; i++) ir_tensor_clear(&g->tensors[i]);
  for (int i = 0; i < g->n_nodes; i++) ir_node_clear(&g->nodes[i]);
  free(g->tensors);
  free(g->nodes);
  free(g->inputs);
  free(g->outputs);
  free(g->hash);
  free(g->producer_name);
  free(g->producer_version);
  free(g->graph_name);
  for (int i = 0; i < g->n_opsets; i++) free(g->opsets[i].domain);
  for (int i = 0; i < g->n_meta; i++) {
    free(g->meta_keys[i]);
    free(g->meta_values[i]);
  }
  free(g->meta_keys);
  free(g->meta_values);
  free(g->opsets);
  free(g);
}

/* ---- name hash ---------------------------------------------------------- */
static uint64_t hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static bool hash_rebuild(ir_graph *g, int cap)
{
  int *h = onyx_malloc((size_t)cap * sizeof(*h));
  if (!h) return false;
  for (int i = 0; i < cap; i++) h[i] = -1;
  for (int t = 0; t < g->n_tensors; t++) {
    uint64_t k = hash_str(g->tensors[t].name) & (uint64_t)(cap - 1);
    while (h[k] >= 0) k = (k + 1) & (uint64_t)(cap - 1);
    h[k] = t;
  }
  free(g->hash);
  g->hash = h;
  g->hash_cap = cap;
  return true;
}

bool ir_is_graph_io(const ir_graph *g, int t)
{
  for (int i = 0; i < g->n_inputs; i++)
    if (g->inputs[i] == t) return true;
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == t) return true;
  return false;
}

int ir_find_tensor(const ir_graph *g, const char *name)
{
  if (!g->hash_cap || !name) return -1;
  uint64_t k = hash_str(name) & (uint64_t)(g->hash_cap - 1);
  while (g->hash[k] >= 0) {
    if (strcmp(g->tensors[g->hash[k]].name, name) == 0) return g->hash[k];
    k = (k + 1) & (uint64_t)(g->hash_cap - 1);
  }
  return -1;
}

int ir_add_tensor(ir_graph *g, const char *name)
{
  if (ir_find_tensor(g, name) >= 0) {
    onyx_error(ONYX_ERR_INVALID_MODEL, "tensor name '%s' is defined twice", name);
    return -1;
  }
  if (!onyx_grow((void **)&g->tensors, &g->cap_tensors, g->n_tensors + 1, sizeof(ir_tensor)))
    return -1;
  ir_tensor *t = &g->tensors[g->n_tensors];
  memset(t, 0, sizeof(*t));
  t->name = onyx_strdup(name);
  if (!t->name) return -1;
  t->ndim = -1;
  t->producer = -1;
  int idx = g->n_tensors++;
  if (g->n_tensors * 2 > g->hash_cap) { /* keep the load factor under 1/2 */
    int cap = g->hash_cap ? g->hash_cap * 2 : 64;
    if (!hash_rebuild(g, cap)) {
      g->n_tensors--;
      free(t->name);
      return -1;
    }
    return idx;
  }
  uint64_t k = hash_str(name) & (uint64_t)(g->hash_cap - 1);
  while (g->hash[k] >= 0) k = (k + 1) & (uint64_t)(g->hash_cap - 1);
  g->hash[k] = idx;
  return idx;
}

int ir_get_or_add_tensor(ir_graph *g, const char *name)
{
  int t = ir_find_tensor(g, name);
  return t >= 0 ? t : ir_add_tensor(g, name);
}

int ir_add_node(ir_graph *g, const ir_node *n)
{
  if (!onyx_grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(ir_node))) return -1;
  g->nodes[g->n_nodes] = *n;
  return g->n_nodes++;
}

static int *dup_ints(const int *src, int n)
{
  int *d = onyx_malloc((size_t)(n ? n : 1) * sizeof(*d));
  if (d && n) memcpy(d, src, (size_t)n * sizeof(*d));
  return d;
}

ir_graph *ir_graph_clone(const ir_graph *src)
{
  ir_graph *g = ir_graph_new();
  if (!g) return NULL;
  g->borrows_node_data = true;
  g->tensors = onyx_calloc((size_t)(src->n_tensors ? src->n_tensors : 1), sizeof(ir_tensor));
  g->nodes = onyx_calloc((size_t)(src->n_nodes ? src->n_nodes : 1), sizeof(ir_node));
  g->inputs = dup_ints(src->inputs, src->n_inputs);
  g->outputs = dup_ints(src->outputs, src->n_outputs);
  if (!g->tensors || !g->nodes || !g->inputs || !g->outputs) goto fail;
  g->cap_tensors = src->n_tensors ? src->n_tensors : 1;
  g->cap_nodes = src->n_nodes ? src->n_nodes : 1;
  g->n_inputs = src->n_inputs;
  g->n_outputs = src->n_outputs;
  g->ir_version = src->ir_version;
  for (int i = 0; i < src->n_tensors; i++) {
    const ir_tensor *s = &src->tensors[i];
    ir_tensor *t = &g->tensors[i];
    *t = *s;
    t->owns_data = false; /* constant data stays the source's; buffers are not copied */
    if (!s->is_const) t->data = NULL;
    memset(t->dim_param, 0, sizeof(t->dim_param));
    t->name = onyx_strdup(s->name);
    g->n_tensors++;
    if (!t->name) goto fail;
    for (int d = 0; d < ONYX_MAX_DIMS; d++) {
      if (s->dim_param[d] && !(t->dim_param[d] = onyx_strdup(s->dim_param[d]))) goto fail;
    }
  }
  for (int i = 0; i < src->n_nodes; i++) {
    const ir_node *s = &src->nodes[i];
    ir_node *n = &g->nodes[i];
    n->op = s->op;
    n->opset = s->opset;
    n->folded = s->folded;
    n->n_in = s->n_in;
    n->n_out = s->n_out;
    g->n_nodes++;
    n->name = onyx_strdup(s->name);
    n->op_type = onyx_strdup(s->op_type);
    n->domain = onyx_strdup(s->domain);
    n->in = dup_ints(s->in, s->n_in);
    n->out = dup_ints(s->out, s->n_out);
    if (!n->name || !n->op_type || !n->domain || !n->in || !n->out) goto fail;
    /* attributes and params stay owned by src: the clone only reads them */
    n->attrs = s->attrs;
    n->n_attrs = s->n_attrs;
    n->params = s->params;
  }
  if (!hash_rebuild(g, src->hash_cap ? src->hash_cap : 64)) goto fail;
  return g;
fail:
  ir_graph_free(g);
  return NULL;
}

/* ---- attributes --------------------------------------------------------- */
const ir_attr *ir_attr_find(const ir_node *n, const char *name)
{
  for (int i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  return NULL;
}

int64_t ir_attr_int(const ir_node *n, const char *name, int64_t def)
{
  const ir_attr *a = ir_attr_find(n, name);
  if (!a) return def;
  if (a->type == IR_ATTR_INT) return a->i;
  if (a->type == IR_ATTR_FLOAT) return (int64_t)a->f;
  return def;
}

float ir_attr_float(const ir_node *n, const char *name, float def)
{
  const ir_attr *a = ir_attr_find(n, name);
  if (!a) return def;
  if (a->type == IR_ATTR_FLOAT) return a->f;
  if (a->type == IR_ATTR_INT) return (float)a->i;
  return def;
}

const char *ir_attr_string(const ir_node *n, const char *name, const char *def)
{
  const ir_attr *a = ir_attr_find(n, name);
  return (a && a->type == IR_ATTR_STRING && a->s) ? a->s : def;
}

int ir_attr_ints(const ir_node *n, const char *name, int64_t *out, int cap)
{
  const ir_attr *a = ir_attr_find(n, name);
  if (!a) return -1;
  if (a->type == IR_ATTR_INT) {
    if (cap > 0) out[0] = a->i;
    return 1;
  }
  if (a->type != IR_ATTR_INTS) return -1;
  for (size_t i = 0; i < a->n && (int)i < cap; i++) out[i] = a->ints[i];
  return (int)a->n;
}

/* ---- tensors ------------------------------------------------------------ */
int64_t ir_tensor_numel(const ir_tensor *t)
{
  if (t->ndim < 0) return -1;
  return onyx_numel(t->ndim, t->dims);
}

size_t ir_tensor_bytes(const ir_tensor *t)
{
  int64_t n = ir_tensor_numel(t);
  return n < 0 ? 0 : (size_t)n * onyx_dtype_size(t->dtype);
}

void ir_tensor_set(ir_tensor *t, onyx_dtype dt, int ndim, const int64_t *dims)
{
  t->dtype = dt;
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++) t->dims[i] = dims[i];
}

bool ir_shape_known(const ir_tensor *t)
{
  if (t->ndim < 0) return false;
  for (int i = 0; i < t->ndim; i++)
    if (t->dims[i] < 0) return false;
  return true;
}

int64_t ir_tensor_get_i64(const ir_tensor *t, int64_t i)
{
  const void *d = t->data;
  switch (t->dtype) {
  case ONYX_DTYPE_INT64: return ((const int64_t *)d)[i];
  case ONYX_DTYPE_INT32: return ((const int32_t *)d)[i];
  case ONYX_DTYPE_INT16: return ((const int16_t *)d)[i];
  case ONYX_DTYPE_INT8: return ((const int8_t *)d)[i];
  case ONYX_DTYPE_UINT8:
  case ONYX_DTYPE_BOOL: return ((const uint8_t *)d)[i];
  case ONYX_DTYPE_UINT16: return ((const uint16_t *)d)[i];
  case ONYX_DTYPE_UINT32: return ((const uint32_t *)d)[i];
  case ONYX_DTYPE_UINT64: return (int64_t)((const uint64_t *)d)[i];
  case ONYX_DTYPE_FLOAT: return (int64_t)((const float *)d)[i];
  case ONYX_DTYPE_DOUBLE: return (int64_t)((const double *)d)[i];
  case ONYX_DTYPE_FLOAT16: return (int64_t)onyx_half_to_float(((const uint16_t *)d)[i]);
  default: return 0;
  }
}

double ir_tensor_get_f64(const ir_tensor *t, int64_t i)
{
  const void *d = t->data;
  switch (t->dtype) {
  case ONYX_DTYPE_FLOAT: return ((const float *)d)[i];
  case ONYX_DTYPE_DOUBLE: return ((const double *)d)[i];
  case ONYX_DTYPE_FLOAT16: return onyx_half_to_float(((const uint16_t *)d)[i]);
  case ONYX_DTYPE_UINT64: return (double)((const uint64_t *)d)[i];
  default: return (double)ir_tensor_get_i64(t, i);
  }
}

const char *ir_node_desc(const ir_node *n, char *buf, size_t cap)
{
  snprintf(buf, cap, "%s node '%s'", n->op_type, n->name);
  return buf;
}
