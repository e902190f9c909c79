/* Attribute parsing and shape inference for elementwise ops. */
#include "ops/elementwise.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

/* ---- dtype classes ---- */
#define BIT(d) (1u << ONYX_DTYPE_##d)
#define T_FLOATS (BIT(FLOAT) | BIT(DOUBLE) | BIT(FLOAT16))
#define T_SINTS (BIT(INT8) | BIT(INT16) | BIT(INT32) | BIT(INT64))
#define T_UINTS (BIT(UINT8) | BIT(UINT16) | BIT(UINT32) | BIT(UINT64))
#define T_NUM (T_FLOATS | T_SINTS | T_UINTS)
#define T_ALL (T_NUM | BIT(BOOL))

/* Input i must have a dtype in mask. */
static onyx_status check_dtype(const ir_node *n, const ir_tensor *t, int i, unsigned mask)
{
  if ((unsigned)t->dtype < 32 && (mask & (1u << t->dtype))) return ONYX_OK;
  return op_error(n, ONYX_ERR_UNSUPPORTED, "input %d ('%s') of type %s is not supported", i, t->name,
                  onyx_dtype_name(t->dtype));
}

/* Inputs i and j must have the same dtype. */
static onyx_status check_same_dtype(const ir_node *n, const ir_tensor *a, int i, const ir_tensor *b, int j)
{
  if (a->dtype == b->dtype) return ONYX_OK;
  return op_error(n, ONYX_ERR_SHAPE, "inputs %d and %d have different types (%s and %s)", i, j,
                  onyx_dtype_name(a->dtype), onyx_dtype_name(b->dtype));
}

/* An optional input that must hold exactly one value (a scalar or [1]). */
static onyx_status check_scalar(const ir_node *n, const ir_tensor *t, int i)
{
  if (ir_tensor_numel(t) == 1) return ONYX_OK;
  char d[128];
  return op_error(n, ONYX_ERR_SHAPE, "input %d ('%s') must hold one value, its shape is %s", i, t->name,
                  onyx_dims_str(t->ndim, t->dims, d, sizeof(d)));
}

/* ---- unary ---- */

onyx_status op_parse_activation(ir_node *n)
{
  activation_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  switch (n->op) {
  case ONYX_OP_LEAKY_RELU: p->alpha = ir_attr_float(n, "alpha", 0.01f); break;
  case ONYX_OP_ELU: p->alpha = ir_attr_float(n, "alpha", 1.0f); break;
  case ONYX_OP_HARD_SIGMOID:
    p->alpha = ir_attr_float(n, "alpha", 0.2f);
    p->beta = ir_attr_float(n, "beta", 0.5f);
    break;
  default: break;
  }
  return ONYX_OK;
}

onyx_status op_infer_unary(ir_graph *g, ir_node *n)
{
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  unsigned types = T_FLOATS;
  switch (n->op) {
  case ONYX_OP_RELU:
  case ONYX_OP_NEG: types = T_FLOATS | T_SINTS; break;
  case ONYX_OP_ABS: types = T_NUM; break;
  default: break;
  }
  ONYX_TRY(check_dtype(n, x, 0, types));
  return op_infer_same_as_input(g, n);
}

/* ---- Clip ---- */

onyx_status op_parse_clip(ir_node *n)
{
  clip_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  if (n->opset >= 11) return ONYX_OK; /* bounds are inputs */
  p->has_lo = ir_attr_find(n, "min") != NULL;
  p->has_hi = ir_attr_find(n, "max") != NULL;
  p->lo = ir_attr_float(n, "min", 0.f);
  p->hi = ir_attr_float(n, "max", 0.f);
  if (isnan(p->lo) || isnan(p->hi)) return op_error(n, ONYX_ERR_INVALID_MODEL, "min or max is NaN");
  return ONYX_OK;
}

onyx_status op_infer_clip(ir_graph *g, ir_node *n)
{
  ir_tensor *x, *b;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  ONYX_TRY(check_dtype(n, x, 0, T_NUM));
  if (n->n_in > 3) return op_error(n, ONYX_ERR_INVALID_MODEL, "has %d inputs, at most 3 allowed", n->n_in);
  for (int i = 1; i < n->n_in; i++) {
    if (!ir_in(g, n, i)) continue; /* omitted bound */
    if (n->opset < 11) return op_error(n, ONYX_ERR_INVALID_MODEL, "takes one input before opset 11");
    ONYX_TRY(op_need_input(g, n, i, &b));
    ONYX_TRY(check_same_dtype(n, x, 0, b, i));
    ONYX_TRY(check_scalar(n, b, i));
  }
  return op_infer_same_as_input(g, n);
}

/* ---- binary ---- */

onyx_status op_parse_binary(ir_node *n)
{
  binary_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  /* opset < 7: numpy broadcasting only with broadcast=1, B aligned at 'axis' */
  if (n->opset < 7 && ir_attr_int(n, "broadcast", 0)) {
    p->legacy = true;
    p->axis = ir_attr_int(n, "axis", -1);
  }
  return ONYX_OK;
}

onyx_status binary_effective_shape(const ir_node *n, const ir_tensor *a, const ir_tensor *b, int *ndim,
                                   int64_t *dims)
{
  const binary_params *p = n->params;
  *ndim = b->ndim;
  for (int i = 0; i < b->ndim; i++) dims[i] = b->dims[i];
  if (n->op == ONYX_OP_PRELU && n->opset < 7 && b->ndim == 1 && a->ndim >= 2 && b->dims[0] == a->dims[1]) {
    for (int i = 2; i < a->ndim; i++) dims[(*ndim)++] = 1; /* [C] -> [C,1,...] */
    return ONYX_OK;
  }
  if (n->op == ONYX_OP_PRELU || !p || !p->legacy || b->ndim == 0) return ONYX_OK;
  int axis = (int)(p->axis < 0 ? a->ndim - b->ndim : p->axis);
  if (axis < 0 || axis + b->ndim > a->ndim)
    return op_error(n, ONYX_ERR_SHAPE, "legacy broadcast axis %lld does not fit ranks %d and %d",
                    (long long)p->axis, a->ndim, b->ndim);
  int pad = a->ndim - axis - b->ndim; /* trailing ones so numpy rules align B at axis */
  for (int i = 0; i < pad; i++) dims[(*ndim)++] = 1;
  return ONYX_OK;
}

/* Output shape of a binary op (A's shape and B's effective shape broadcast). */
static onyx_status binary_shape(ir_graph *g, ir_node *n, ir_tensor **a, ir_tensor **b, int *nout,
                                int64_t *out)
{
  int nb;
  int64_t bd[ONYX_MAX_DIMS];
  ONYX_TRY(op_need_input(g, n, 0, a));
  ONYX_TRY(op_need_input(g, n, 1, b));
  ONYX_TRY(binary_effective_shape(n, *a, *b, &nb, bd));
  return op_broadcast_shape(n, (*a)->ndim, (*a)->dims, nb, bd, nout, out);
}

/* Add, Sub, Mul, Div, Equal, PRelu. */
onyx_status op_infer_binary(ir_graph *g, ir_node *n)
{
  ir_tensor *a, *b;
  int nout;
  int64_t out[ONYX_MAX_DIMS];
  ONYX_TRY(binary_shape(g, n, &a, &b, &nout, out));
  ONYX_TRY(check_dtype(n, a, 0, n->op == ONYX_OP_EQUAL ? T_ALL : T_NUM));
  ONYX_TRY(check_same_dtype(n, a, 0, b, 1));
  if (n->op == ONYX_OP_PRELU &&
      (nout != a->ndim || memcmp(out, a->dims, (size_t)nout * sizeof(int64_t)) != 0)) {
    char sx[128], ss[128];
    return op_error(n, ONYX_ERR_SHAPE, "slope of shape %s does not broadcast to X's shape %s",
                    onyx_dims_str(b->ndim, b->dims, ss, sizeof(ss)),
                    onyx_dims_str(a->ndim, a->dims, sx, sizeof(sx)));
  }
  ir_tensor_set(ir_out(g, n, 0), n->op == ONYX_OP_EQUAL ? ONYX_DTYPE_BOOL : a->dtype, nout, out);
  return ONYX_OK;
}

/* Pow: the exponent may have another numeric type; Y has the base's. */
onyx_status op_infer_pow(ir_graph *g, ir_node *n)
{
  ir_tensor *a, *b;
  int nout;
  int64_t out[ONYX_MAX_DIMS];
  ONYX_TRY(binary_shape(g, n, &a, &b, &nout, out));
  ONYX_TRY(check_dtype(n, a, 0, T_NUM));
  ONYX_TRY(check_dtype(n, b, 1, T_NUM));
  ir_tensor_set(ir_out(g, n, 0), a->dtype, nout, out);
  return ONYX_OK;
}

/* Sum, Max, Min: any number of inputs of one type, broadcast together. */
onyx_status op_infer_variadic(ir_graph *g, ir_node *n)
{
  ir_tensor *a, *t;
  if (n->n_in < 1) return op_error(n, ONYX_ERR_INVALID_MODEL, "needs at least one input");
  ONYX_TRY(op_need_input(g, n, 0, &a));
  ONYX_TRY(check_dtype(n, a, 0, T_NUM));
  int nout = a->ndim;
  int64_t out[ONYX_MAX_DIMS];
  memcpy(out, a->dims, (size_t)nout * sizeof(int64_t));
  for (int i = 1; i < n->n_in; i++) {
    ONYX_TRY(op_need_input(g, n, i, &t));
    ONYX_TRY(check_same_dtype(n, a, 0, t, i));
    int64_t prev[ONYX_MAX_DIMS]; /* op_broadcast_shape's output must not alias its input */
    memcpy(prev, out, sizeof(prev));
    ONYX_TRY(op_broadcast_shape(n, nout, prev, t->ndim, t->dims, &nout, out));
  }
  ir_tensor_set(ir_out(g, n, 0), a->dtype, nout, out);
  return ONYX_OK;
}

/* Where(condition, X, Y): three-way broadcast. */
onyx_status op_infer_where(ir_graph *g, ir_node *n)
{
  ir_tensor *c, *x, *y;
  ONYX_TRY(op_need_input(g, n, 0, &c));
  ONYX_TRY(op_need_input(g, n, 1, &x));
  ONYX_TRY(op_need_input(g, n, 2, &y));
  ONYX_TRY(check_dtype(n, c, 0, BIT(BOOL)));
  ONYX_TRY(check_dtype(n, x, 1, T_ALL));
  ONYX_TRY(check_same_dtype(n, x, 1, y, 2));
  int nout;
  int64_t out[ONYX_MAX_DIMS];
  int64_t cx[ONYX_MAX_DIMS];
  ONYX_TRY(op_broadcast_shape(n, c->ndim, c->dims, x->ndim, x->dims, &nout, cx));
  ONYX_TRY(op_broadcast_shape(n, nout, cx, y->ndim, y->dims, &nout, out));
  ir_tensor_set(ir_out(g, n, 0), x->dtype, nout, out);
  return ONYX_OK;
}

/* ---- Cast ---- */

onyx_status op_parse_cast(ir_node *n)
{
  cast_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  const ir_attr *a = ir_attr_find(n, "to");
  if (!a) return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'to' is required");
  int64_t to = -1;
  if (a->type == IR_ATTR_INT) {
    to = a->i;
  } else if (a->type == IR_ATTR_STRING && a->s) { /* Cast-1 names the type: "FLOAT", "INT64", ... */
    static const struct {
      const char *name;
      onyx_dtype dt;
    } names[] = {
        {"FLOAT", ONYX_DTYPE_FLOAT},   {"UINT8", ONYX_DTYPE_UINT8},   {"INT8", ONYX_DTYPE_INT8},
        {"UINT16", ONYX_DTYPE_UINT16}, {"INT16", ONYX_DTYPE_INT16},   {"INT32", ONYX_DTYPE_INT32},
        {"INT64", ONYX_DTYPE_INT64},   {"BOOL", ONYX_DTYPE_BOOL},     {"FLOAT16", ONYX_DTYPE_FLOAT16},
        {"DOUBLE", ONYX_DTYPE_DOUBLE}, {"UINT32", ONYX_DTYPE_UINT32}, {"UINT64", ONYX_DTYPE_UINT64},
        {"STRING", ONYX_DTYPE_STRING}};
    for (size_t i = 0; i < ONYX_ARRAY_LEN(names); i++)
      if (strcasecmp(a->s, names[i].name) == 0) to = names[i].dt;
    if (to < 0) return op_error(n, ONYX_ERR_UNSUPPORTED, "cast to type '%s' is not supported", a->s);
  } else {
    return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'to' must be an int");
  }
  if (to == ONYX_DTYPE_STRING) return op_error(n, ONYX_ERR_UNSUPPORTED, "cast to string is not supported");
  if (!onyx_dtype_valid((int)to))
    return op_error(n, ONYX_ERR_UNSUPPORTED, "cast to data type %lld is not supported", (long long)to);
  p->to = (onyx_dtype)to;
  return ONYX_OK;
}

onyx_status op_infer_cast(ir_graph *g, ir_node *n)
{
  const cast_params *p = n->params;
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  ONYX_TRY(check_dtype(n, x, 0, T_ALL));
  ir_tensor_set(ir_out(g, n, 0), p->to, x->ndim, x->dims);
  return ONYX_OK;
}

/* ---- Dropout ---- */

onyx_status op_parse_dropout(ir_node *n)
{
  dropout_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->ratio = ir_attr_float(n, "ratio", 0.5f);
  if (!(p->ratio >= 0.f && p->ratio < 1.f))
    return op_error(n, ONYX_ERR_INVALID_MODEL, "ratio %g is not in [0, 1)", (double)p->ratio);
  /* Before opset 7, is_test=0 (the default) nominally asks for training
   * behaviour, but exporters of that era left it unset in inference graphs;
   * like onnxruntime and TensorRT, onyx treats those nodes as inference. */
  return ONYX_OK;
}

onyx_status op_infer_dropout(ir_graph *g, ir_node *n)
{
  const dropout_params *p = n->params;
  ir_tensor *x, *r = NULL, *t = NULL;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  ONYX_TRY(check_dtype(n, x, 0, T_FLOATS));
  double ratio = p->ratio;
  bool training = false, known = true; /* whether training and ratio are known now */
  if (n->n_in > 3) return op_error(n, ONYX_ERR_INVALID_MODEL, "has %d inputs, at most 3 allowed", n->n_in);
  if (ir_in(g, n, 1)) {
    if (n->opset < 12) return op_error(n, ONYX_ERR_INVALID_MODEL, "takes one input before opset 12");
    ONYX_TRY(op_need_input(g, n, 1, &r));
    ONYX_TRY(check_dtype(n, r, 1, T_FLOATS));
    ONYX_TRY(check_scalar(n, r, 1));
    if (r->is_const && r->data)
      ratio = ir_tensor_get_f64(r, 0);
    else
      known = false;
  }
  if (ir_in(g, n, 2)) {
    ONYX_TRY(op_need_input(g, n, 2, &t));
    ONYX_TRY(check_dtype(n, t, 2, BIT(BOOL)));
    ONYX_TRY(check_scalar(n, t, 2));
    if (t->is_const && t->data)
      training = ir_tensor_get_i64(t, 0) != 0;
    else
      known = false;
  }
  if (!known) { /* decide now: a session specialises on these inputs' values and prepares again */
    if (r && !r->is_const) r->value_wanted = true;
    if (t && !t->is_const) t->value_wanted = true;
    return op_error(n, ONYX_ERR_UNSUPPORTED,
                    "ratio/training_mode must be known before running (training-mode dropout is not supported)");
  }
  if (training && ratio > 0)
    return op_error(n, ONYX_ERR_UNSUPPORTED,
                    "training-mode dropout (ratio %g) is random; onyx runs inference only", ratio);
  ir_tensor_set(ir_out(g, n, 0), x->dtype, x->ndim, x->dims);
  ir_tensor *mask = ir_out(g, n, 1);
  if (mask) ir_tensor_set(mask, n->opset >= 10 ? ONYX_DTYPE_BOOL : x->dtype, x->ndim, x->dims);
  return ONYX_OK;
}
