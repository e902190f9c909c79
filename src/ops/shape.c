/* Attribute parsing and shape inference for shape ops: Constant, Shape,
 * Flatten, Reshape, Squeeze, Unsqueeze, ConstantOfShape, Expand.
 * (Transpose, Concat, Split, Slice, Pad, Gather are in shape_move.c.) */
#include <string.h>

#include "common/util.h"
#include "ops/shape.h"

onyx_status shape_elem_size(const ir_node *n, onyx_dtype dt, size_t *esz)
{
  size_t s = onyx_dtype_size(dt);
  if (s == 0) return op_error(n, ONYX_ERR_UNSUPPORTED, "%s tensors are not supported", onyx_dtype_name(dt));
  *esz = s;
  return ONYX_OK;
}

/* Constant: the value comes from one attribute; non-tensor forms are stored
 * in the params (flat, with the data after the header). */
typedef struct constant_params {
  onyx_dtype dtype;
  int ndim;
  int64_t dims[1];
  const ir_tensor *tensor; /* 'value' attribute (owned by the node's attrs), or NULL */
  _Alignas(8) unsigned char data[];
} constant_params;

onyx_status op_parse_constant(ir_node *n)
{
  const ir_attr *a = NULL;
  for (int i = 0; i < n->n_attrs; i++) {
    if (a) return op_error(n, ONYX_ERR_INVALID_MODEL, "has more than one value attribute");
    a = &n->attrs[i];
  }
  if (!a) return op_error(n, ONYX_ERR_INVALID_MODEL, "has no value attribute");
  size_t count = 0, esz = 0;
  onyx_dtype dt = ONYX_DTYPE_UNDEFINED;
  int ndim = 0;
  if (strcmp(a->name, "value") == 0 && a->type == IR_ATTR_TENSOR) {
    if (onyx_dtype_size(a->t->dtype) == 0)
      return op_error(n, ONYX_ERR_UNSUPPORTED, "%s value tensors are not supported",
                      onyx_dtype_name(a->t->dtype));
    constant_params *p = op_params_alloc(n, sizeof(*p));
    if (!p) return ONYX_ERR_NO_MEMORY;
    p->tensor = a->t;
    return ONYX_OK;
  } else if (strcmp(a->name, "value_float") == 0 && a->type == IR_ATTR_FLOAT) {
    dt = ONYX_DTYPE_FLOAT, count = 1, esz = 4;
  } else if (strcmp(a->name, "value_floats") == 0 && a->type == IR_ATTR_FLOATS) {
    dt = ONYX_DTYPE_FLOAT, count = a->n, esz = 4, ndim = 1;
  } else if (strcmp(a->name, "value_int") == 0 && a->type == IR_ATTR_INT) {
    dt = ONYX_DTYPE_INT64, count = 1, esz = 8;
  } else if (strcmp(a->name, "value_ints") == 0 && a->type == IR_ATTR_INTS) {
    dt = ONYX_DTYPE_INT64, count = a->n, esz = 8, ndim = 1;
  } else {
    return op_error(n, ONYX_ERR_UNSUPPORTED, "value attribute '%s' is not supported", a->name);
  }
  constant_params *p = op_params_alloc(n, sizeof(*p) + count * esz);
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->dtype = dt;
  p->ndim = ndim;
  p->dims[0] = (int64_t)count;
  if (a->type == IR_ATTR_FLOAT) memcpy(p->data, &a->f, 4);
  else if (a->type == IR_ATTR_INT) memcpy(p->data, &a->i, 8);
  else if (a->type == IR_ATTR_FLOATS && count) memcpy(p->data, a->floats, count * 4);
  else if (count) memcpy(p->data, a->ints, count * 8);
  return ONYX_OK;
}

onyx_status op_infer_constant(ir_graph *g, ir_node *n)
{
  const constant_params *p = n->params;
  ir_tensor *y = ir_out(g, n, 0);
  if (!y) return ONYX_OK;
  if (p->tensor) {
    ir_tensor_set(y, p->tensor->dtype, p->tensor->ndim, p->tensor->dims);
    y->data = p->tensor->data;
  } else {
    ir_tensor_set(y, p->dtype, p->ndim, p->dims);
    y->data = (void *)p->data;
  }
  y->owns_data = false; /* the value lives in the node's attributes/params */
  y->is_const = true;
  return ONYX_OK;
}

/* ---- Shape ---------------------------------------------------------------- */
onyx_status op_parse_shape(ir_node *n)
{
  shape_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->start = ir_attr_int(n, "start", 0);
  p->has_end = ir_attr_find(n, "end") != NULL;
  p->end = ir_attr_int(n, "end", 0);
  return ONYX_OK;
}

/* The [start, end) range of dims that Shape returns, clamped as the spec says. */
static void shape_range(const shape_params *p, int rank, int64_t *start, int64_t *end)
{
  int64_t s = p->start, e = p->has_end ? p->end : rank;
  if (s < 0) s += rank;
  if (e < 0) e += rank;
  s = s < 0 ? 0 : s > rank ? rank : s;
  e = e < 0 ? 0 : e > rank ? rank : e;
  *start = s;
  *end = e > s ? e : s;
}

onyx_status op_infer_shape(ir_graph *g, ir_node *n)
{
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  int64_t s, e;
  shape_range(n->params, x->ndim, &s, &e);
  int64_t len = e - s;
  shape_set_out(g, n, 0, ONYX_DTYPE_INT64, 1, &len);
  return ONYX_OK;
}

onyx_status shape_op_values(const ir_node *n, const ir_tensor *x, int64_t *out)
{
  int64_t s, e;
  shape_range(n->params, x->ndim, &s, &e);
  for (int64_t i = s; i < e; i++) out[i - s] = x->dims[i];
  return ONYX_OK;
}

/* ---- Flatten -------------------------------------------------------------- */
onyx_status op_parse_axis(ir_node *n)
{
  axis_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  /* Flatten's default is 1, and Concat's was 1 before it became required (opset 4) */
  bool one = n->op == ONYX_OP_FLATTEN || (n->op == ONYX_OP_CONCAT && n->opset < 4);
  p->axis = ir_attr_int(n, "axis", one ? 1 : 0);
  if (n->op == ONYX_OP_CONCAT && !ir_attr_find(n, "axis") && n->opset >= 4)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'axis' is required");
  return ONYX_OK;
}

onyx_status op_infer_flatten(ir_graph *g, ir_node *n)
{
  const axis_params *p = n->params;
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  int r = x->ndim;
  if (p->axis < -r || p->axis > r)
    return op_error(n, ONYX_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)p->axis, r);
  int axis = (int)(p->axis < 0 ? p->axis + r : p->axis);
  int64_t d[2] = {1, 1};
  for (int i = 0; i < r; i++) d[i < axis ? 0 : 1] *= x->dims[i];
  shape_set_out(g, n, 0, x->dtype, 2, d);
  return ONYX_OK;
}

/* ---- Reshape -------------------------------------------------------------- */
onyx_status op_parse_reshape(ir_node *n)
{
  reshape_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->allowzero = n->opset >= 14 && ir_attr_int(n, "allowzero", 0) != 0;
  p->n_shape = -1;
  if (n->opset < 5) {
    int k = ir_attr_ints(n, "shape", p->shape, ONYX_MAX_DIMS);
    if (k < 0) return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'shape' is required before opset 5");
    if (k > ONYX_MAX_DIMS)
      return op_error(n, ONYX_ERR_UNSUPPORTED, "shape has %d dims, at most %d supported", k, ONYX_MAX_DIMS);
    p->n_shape = k;
  }
  return ONYX_OK;
}

onyx_status op_infer_reshape(ir_graph *g, ir_node *n)
{
  const reshape_params *p = n->params;
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  int64_t s[ONYX_MAX_DIMS], out[ONYX_MAX_DIMS];
  int k = p->n_shape;
  if (k >= 0) memcpy(s, p->shape, (size_t)k * sizeof(*s));
  else ONYX_TRY(op_const_ints(g, n, 1, s, ONYX_MAX_DIMS, &k));
  int infer = -1;
  bool has_zero = false;
  int64_t known = 1;
  for (int i = 0; i < k; i++) {
    if (s[i] == -1) {
      if (infer >= 0) return op_error(n, ONYX_ERR_SHAPE, "shape has more than one -1");
      infer = i;
      continue;
    }
    if (s[i] < -1) return op_error(n, ONYX_ERR_SHAPE, "shape has invalid dimension %lld", (long long)s[i]);
    out[i] = s[i];
    if (s[i] == 0) {
      has_zero = true;
      if (!p->allowzero) {
        if (i >= x->ndim)
          return op_error(n, ONYX_ERR_SHAPE, "shape[%d] is 0 (copy) but the input has rank %d", i, x->ndim);
        out[i] = x->dims[i];
      }
    }
    if (onyx_mul_overflow_i64(known, out[i], &known))
      return op_error(n, ONYX_ERR_SHAPE, "shape overflows");
  }
  if (p->allowzero && has_zero && infer >= 0)
    return op_error(n, ONYX_ERR_SHAPE, "shape has both 0 and -1 while allowzero is set");
  int64_t total = ir_tensor_numel(x);
  char a[160], b[160];
  if (infer >= 0) {
    if (known == 0 || total % known != 0)
      return op_error(n, ONYX_ERR_SHAPE, "cannot infer the -1 dimension: input %s has %lld elements",
                      onyx_dims_str(x->ndim, x->dims, a, sizeof(a)), (long long)total);
    out[infer] = total / known;
  } else if (known != total) {
    return op_error(n, ONYX_ERR_SHAPE, "cannot reshape %s (%lld elements) to %s",
                    onyx_dims_str(x->ndim, x->dims, a, sizeof(a)), (long long)total,
                    onyx_dims_str(k, out, b, sizeof(b)));
  }
  shape_set_out(g, n, 0, x->dtype, k, out);
  return ONYX_OK;
}

/* ---- Squeeze / Unsqueeze -------------------------------------------------- */
onyx_status op_parse_axes(ir_node *n)
{
  axes_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->from_input = n->opset >= 13;
  p->n_axes = -1;
  if (!p->from_input) {
    int k = ir_attr_ints(n, "axes", p->axes, ONYX_MAX_DIMS);
    if (k > ONYX_MAX_DIMS)
      return op_error(n, ONYX_ERR_UNSUPPORTED, "%d axes, at most %d supported", k, ONYX_MAX_DIMS);
    p->n_axes = k;
  }
  if (n->op == ONYX_OP_UNSQUEEZE && !p->from_input && p->n_axes < 0)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'axes' is required");
  return ONYX_OK;
}

/* The axes of a Squeeze/Unsqueeze, normalised against rank, as a bit mask. */
static onyx_status axes_mask(ir_graph *g, const ir_node *n, int rank, bool *given, unsigned *mask)
{
  const axes_params *p = n->params;
  int64_t axes[ONYX_MAX_DIMS];
  int k = p->n_axes;
  if (p->from_input) {
    k = -1;
    if (ir_in(g, n, 1)) ONYX_TRY(op_const_ints(g, n, 1, axes, ONYX_MAX_DIMS, &k));
  } else if (k > 0) {
    memcpy(axes, p->axes, (size_t)k * sizeof(*axes));
  }
  /* Squeeze with empty axes removes every 1, as without axes (as onnxruntime does) */
  *given = n->op == ONYX_OP_SQUEEZE ? k > 0 : k >= 0;
  *mask = 0;
  for (int i = 0; i < k; i++) {
    int a;
    ONYX_TRY(op_axis(n, axes[i], rank, &a));
    if (*mask & (1u << a)) return op_error(n, ONYX_ERR_SHAPE, "axis %lld is repeated", (long long)axes[i]);
    *mask |= 1u << a;
  }
  return ONYX_OK;
}

onyx_status op_infer_squeeze(ir_graph *g, ir_node *n)
{
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  bool given;
  unsigned mask;
  ONYX_TRY(axes_mask(g, n, x->ndim, &given, &mask));
  int64_t out[ONYX_MAX_DIMS];
  int k = 0;
  for (int i = 0; i < x->ndim; i++) {
    bool drop = given ? (mask >> i) & 1 : x->dims[i] == 1;
    if (drop && x->dims[i] != 1)
      return op_error(n, ONYX_ERR_SHAPE, "cannot squeeze axis %d of size %lld", i, (long long)x->dims[i]);
    if (!drop) out[k++] = x->dims[i];
  }
  shape_set_out(g, n, 0, x->dtype, k, out);
  return ONYX_OK;
}

onyx_status op_infer_unsqueeze(ir_graph *g, ir_node *n)
{
  const axes_params *p = n->params;
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  int64_t axes[ONYX_MAX_DIMS];
  int k = p->n_axes;
  if (p->from_input) ONYX_TRY(op_const_ints(g, n, 1, axes, ONYX_MAX_DIMS, &k));
  if (x->ndim + k > ONYX_MAX_DIMS)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "output rank %d is above the supported %d", x->ndim + k,
                    ONYX_MAX_DIMS);
  bool given;
  unsigned mask;
  ONYX_TRY(axes_mask(g, n, x->ndim + k, &given, &mask));
  int64_t out[ONYX_MAX_DIMS];
  for (int i = 0, j = 0; i < x->ndim + k; i++) out[i] = (mask >> i) & 1 ? 1 : x->dims[j++];
  shape_set_out(g, n, 0, x->dtype, x->ndim + k, out);
  return ONYX_OK;
}

/* ---- ConstantOfShape ------------------------------------------------------ */
onyx_status op_parse_constant_of_shape(ir_node *n)
{
  constant_of_shape_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->dtype = ONYX_DTYPE_FLOAT; /* default: float 0 */
  const ir_attr *a = ir_attr_find(n, "value");
  if (!a) return ONYX_OK;
  if (a->type != IR_ATTR_TENSOR)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'value' must be a tensor");
  size_t esz;
  ONYX_TRY(shape_elem_size(n, a->t->dtype, &esz));
  if (ir_tensor_numel(a->t) != 1)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'value' must have exactly one element");
  if (esz > sizeof(p->value) || !a->t->data)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'value' has no data");
  p->dtype = a->t->dtype;
  memcpy(p->value, a->t->data, esz);
  return ONYX_OK;
}

onyx_status op_infer_constant_of_shape(ir_graph *g, ir_node *n)
{
  const constant_of_shape_params *p = n->params;
  int64_t d[ONYX_MAX_DIMS];
  int k;
  ONYX_TRY(op_const_ints(g, n, 0, d, ONYX_MAX_DIMS, &k));
  if (ir_in(g, n, 0)->ndim != 1) return op_error(n, ONYX_ERR_SHAPE, "input must be 1-D");
  for (int i = 0; i < k; i++)
    if (d[i] < 0) return op_error(n, ONYX_ERR_SHAPE, "shape[%d] is negative (%lld)", i, (long long)d[i]);
  shape_set_out(g, n, 0, p->dtype, k, d);
  return ONYX_OK;
}

/* ---- Expand --------------------------------------------------------------- */
onyx_status op_infer_expand(ir_graph *g, ir_node *n)
{
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  int64_t s[ONYX_MAX_DIMS], out[ONYX_MAX_DIMS];
  int k, nout;
  ONYX_TRY(op_const_ints(g, n, 1, s, ONYX_MAX_DIMS, &k));
  for (int i = 0; i < k; i++)
    if (s[i] < 0) return op_error(n, ONYX_ERR_SHAPE, "shape[%d] is negative (%lld)", i, (long long)s[i]);
  ONYX_TRY(op_broadcast_shape(n, x->ndim, x->dims, k, s, &nout, out));
  shape_set_out(g, n, 0, x->dtype, nout, out);
  return ONYX_OK;
}
