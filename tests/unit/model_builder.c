#include "model_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mb {
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  void **allocs; /* everything below is freed from here */
  size_t n_allocs, cap_allocs;
};

/* Test support: running out of memory is not a case the tests handle. */
static void *xrealloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "model_builder: out of memory\n");
    exit(99);
  }
  return q;
}

void *mb_alloc(mb *b, size_t n)
{
  void *p = xrealloc(NULL, n);
  memset(p, 0, n ? n : 1);
  if (b->n_allocs == b->cap_allocs) {
    b->cap_allocs = b->cap_allocs ? 2 * b->cap_allocs : 64;
    b->allocs = xrealloc(b->allocs, b->cap_allocs * sizeof(*b->allocs));
  }
  b->allocs[b->n_allocs++] = p;
  return p;
}

char *mb_str(mb *b, const char *s)
{
  size_t n = strlen(s) + 1;
  char *d = mb_alloc(b, n);
  memcpy(d, s, n);
  return d;
}

/* Appends item to a repeated field (a fresh array each time: tests are small). */
static void push(mb *b, void ***arr, size_t *n, void *item)
{
  void **na = mb_alloc(b, (*n + 1) * sizeof(void *));
  if (*n) memcpy(na, *arr, *n * sizeof(void *));
  na[(*n)++] = item;
  *arr = na;
}
#define PUSH(b, arr, n, item) push((b), (void ***)&(arr), &(n), (item))

mb *mb_new(int64_t opset)
{
  mb *b = xrealloc(NULL, sizeof(*b));
  memset(b, 0, sizeof(*b));
  Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
  Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
  b->model = m;
  b->graph = g;
  b->model.has_ir_version = 1;
  b->model.ir_version = 8;
  b->model.producer_name = mb_str(b, "onyx-tests");
  b->model.graph = &b->graph;
  b->graph.name = mb_str(b, "test");
  mb_opset(b, "", opset);
  return b;
}

void mb_free(mb *b)
{
  if (!b) return;
  for (size_t i = 0; i < b->n_allocs; i++) free(b->allocs[i]);
  free(b->allocs);
  free(b);
}

Onnx__ModelProto *mb_proto(mb *b) { return &b->model; }
Onnx__GraphProto *mb_graph(mb *b) { return &b->graph; }

void mb_opset(mb *b, const char *domain, int64_t version)
{
  Onnx__OperatorSetIdProto *o = mb_alloc(b, sizeof(*o));
  Onnx__OperatorSetIdProto init = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  *o = init;
  o->domain = mb_str(b, domain);
  o->has_version = 1;
  o->version = version;
  PUSH(b, b->model.opset_import, b->model.n_opset_import, o);
}

/* Parses "2,N,3" into dims (-1 for a symbolic item, whose name goes to params). */
static int parse_shape(const char *shape, int64_t *dims, char params[][32], int cap)
{
  int n = 0;
  if (!shape || !shape[0]) return 0;
  for (const char *p = shape; n < cap;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char item[32];
    snprintf(item, sizeof(item), "%.*s", (int)len, p);
    char *end;
    long long v = strtoll(item, &end, 10);
    params[n][0] = '\0';
    if (item[0] && !*end) {
      dims[n] = v;
    } else {
      dims[n] = -1;
      snprintf(params[n], 32, "%s", item);
    }
    n++;
    if (!e) break;
    p = e + 1;
  }
  return n;
}

static Onnx__ValueInfoProto *value_info(mb *b, const char *name, int dtype, const char *shape)
{
  Onnx__ValueInfoProto vi_init = ONNX__VALUE_INFO_PROTO__INIT;
  Onnx__TypeProto tp_init = ONNX__TYPE_PROTO__INIT;
  Onnx__TypeProto__Tensor tt_init = ONNX__TYPE_PROTO__TENSOR__INIT;
  Onnx__ValueInfoProto *vi = mb_alloc(b, sizeof(*vi));
  Onnx__TypeProto *tp = mb_alloc(b, sizeof(*tp));
  Onnx__TypeProto__Tensor *tt = mb_alloc(b, sizeof(*tt));
  *vi = vi_init;
  *tp = tp_init;
  *tt = tt_init;
  vi->name = mb_str(b, name);
  vi->type = tp;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  if (dtype) {
    tt->has_elem_type = 1;
    tt->elem_type = dtype;
  }
  if (shape) {
    Onnx__TensorShapeProto sh_init = ONNX__TENSOR_SHAPE_PROTO__INIT;
    Onnx__TensorShapeProto *sh = mb_alloc(b, sizeof(*sh));
    *sh = sh_init;
    tt->shape = sh;
    int64_t dims[16];
    char params[16][32];
    int nd = parse_shape(shape, dims, params, 16);
    for (int i = 0; i < nd; i++) {
      Onnx__TensorShapeProto__Dimension d_init = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
      Onnx__TensorShapeProto__Dimension *d = mb_alloc(b, sizeof(*d));
      *d = d_init;
      if (dims[i] >= 0 || !params[i][0]) {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = dims[i];
      } else {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        d->dim_param = mb_str(b, params[i]);
      }
      PUSH(b, sh->dim, sh->n_dim, d);
    }
  }
  return vi;
}

Onnx__ValueInfoProto *mb_input(mb *b, const char *name, int dtype, const char *shape)
{
  Onnx__ValueInfoProto *vi = value_info(b, name, dtype, shape);
  PUSH(b, b->graph.input, b->graph.n_input, vi);
  return vi;
}

Onnx__ValueInfoProto *mb_output(mb *b, const char *name, int dtype, const char *shape)
{
  Onnx__ValueInfoProto *vi = value_info(b, name, dtype, shape);
  PUSH(b, b->graph.output, b->graph.n_output, vi);
  return vi;
}

Onnx__TensorProto *mb_tensor(mb *b, const char *name, int dtype, const char *shape, const void *data)
{
  Onnx__TensorProto init = ONNX__TENSOR_PROTO__INIT;
  Onnx__TensorProto *t = mb_alloc(b, sizeof(*t));
  *t = init;
  t->name = mb_str(b, name);
  t->has_data_type = 1;
  t->data_type = dtype;
  int64_t dims[16];
  char params[16][32];
  int nd = parse_shape(shape, dims, params, 16);
  t->n_dims = (size_t)nd;
  t->dims = mb_alloc(b, (size_t)(nd ? nd : 1) * sizeof(int64_t));
  int64_t numel = 1;
  for (int i = 0; i < nd; i++) {
    t->dims[i] = dims[i];
    numel *= dims[i] > 0 ? dims[i] : 0;
  }
  size_t bytes = (size_t)numel * onyx_dtype_size((onyx_dtype)dtype);
  t->has_raw_data = 1;
  t->raw_data.len = bytes;
  t->raw_data.data = mb_alloc(b, bytes);
  if (data && bytes) memcpy(t->raw_data.data, data, bytes);
  return t;
}

Onnx__TensorProto *mb_init(mb *b, const char *name, int dtype, const char *shape, const void *data)
{
  Onnx__TensorProto *t = mb_tensor(b, name, dtype, shape, data);
  PUSH(b, b->graph.initializer, b->graph.n_initializer, t);
  return t;
}

static void add_entry(mb *b, Onnx__TensorProto *t, const char *key, const char *value)
{
  Onnx__StringStringEntryProto init = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
  Onnx__StringStringEntryProto *e = mb_alloc(b, sizeof(*e));
  *e = init;
  e->key = mb_str(b, key);
  e->value = mb_str(b, value);
  PUSH(b, t->external_data, t->n_external_data, e);
}

void mb_external(mb *b, Onnx__TensorProto *t, const char *location, const char *offset, const char *length)
{
  t->has_raw_data = 0;
  t->raw_data.len = 0;
  t->raw_data.data = NULL;
  t->has_data_location = 1;
  t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  if (location) add_entry(b, t, "location", location);
  if (offset) add_entry(b, t, "offset", offset);
  if (length) add_entry(b, t, "length", length);
}

/* Splits "a,,b" into builder-owned strings. */
static void split_names(mb *b, const char *list, char ***out, size_t *n)
{
  *out = NULL;
  *n = 0;
  if (!list || !list[0]) return;
  for (const char *p = list;;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char *s = mb_alloc(b, len + 1);
    memcpy(s, p, len);
    PUSH(b, *out, *n, s);
    if (!e) break;
    p = e + 1;
  }
}

Onnx__NodeProto *mb_node(mb *b, const char *op_type, const char *name, const char *inputs,
                         const char *outputs)
{
  Onnx__NodeProto init = ONNX__NODE_PROTO__INIT;
  Onnx__NodeProto *n = mb_alloc(b, sizeof(*n));
  *n = init;
  n->op_type = mb_str(b, op_type);
  if (name) n->name = mb_str(b, name);
  split_names(b, inputs, &n->input, &n->n_input);
  split_names(b, outputs, &n->output, &n->n_output);
  PUSH(b, b->graph.node, b->graph.n_node, n);
  return n;
}

static Onnx__AttributeProto *new_attr(mb *b, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
  Onnx__AttributeProto init = ONNX__ATTRIBUTE_PROTO__INIT;
  Onnx__AttributeProto *a = mb_alloc(b, sizeof(*a));
  *a = init;
  a->name = mb_str(b, name);
  a->has_type = 1;
  a->type = type;
  PUSH(b, n->attribute, n->n_attribute, a);
  return a;
}

void mb_attr_int(mb *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
  Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = v;
}

void mb_attr_float(mb *b, Onnx__NodeProto *n, const char *name, float v)
{
  Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = 1;
  a->f = v;
}

void mb_attr_ints(mb *b, Onnx__NodeProto *n, const char *name, size_t count, const int64_t *v)
{
  Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = count;
  a->ints = mb_alloc(b, (count ? count : 1) * sizeof(int64_t));
  if (count) memcpy(a->ints, v, count * sizeof(int64_t));
}

void mb_attr_string(mb *b, Onnx__NodeProto *n, const char *name, const char *v)
{
  Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = 1;
  a->s.len = strlen(v);
  a->s.data = (uint8_t *)mb_str(b, v);
}

void mb_attr_tensor(mb *b, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t)
{
  Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
  a->t = t;
}

uint8_t *mb_pack(mb *b, size_t *len)
{
  size_t n = onnx__model_proto__get_packed_size(&b->model);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) return NULL;
  *len = onnx__model_proto__pack(&b->model, buf);
  return buf;
}

int mb_write_bytes(const char *path, const void *data, size_t len)
{
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    return -1;
  }
  int rc = (len && fwrite(data, 1, len, f) != len) ? -1 : 0;
  if (fclose(f) != 0) rc = -1;
  if (rc) fprintf(stderr, "model_builder: cannot write '%s'\n", path);
  return rc;
}

int mb_write(mb *b, const char *path)
{
  size_t len;
  uint8_t *buf = mb_pack(b, &len);
  if (!buf) return -1;
  int rc = mb_write_bytes(path, buf, len);
  free(buf);
  return rc;
}

onyx_status mb_load(mb *b, onyx_model **out)
{
  size_t len;
  uint8_t *buf = mb_pack(b, &len);
  if (!buf) return ONYX_ERR_NO_MEMORY;
  onyx_status st = onyx_model_load_memory(buf, len, NULL, out);
  free(buf);
  return st;
}
