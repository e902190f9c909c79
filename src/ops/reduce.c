/* Attribute parsing and shape inference for Softmax/LogSoftmax, ReduceMean/Sum/Max and ArgMax. */
#include <string.h>

#include "common/util.h"
#include "ops/reduce.h"

static bool dtype_is_numeric(onyx_dtype dt)
{
  return dt == ONYX_DTYPE_FLOAT || dt == ONYX_DTYPE_DOUBLE || dt == ONYX_DTYPE_INT32 || dt == ONYX_DTYPE_INT64;
}

/* ---- Softmax, LogSoftmax ---- */

onyx_status op_parse_softmax(ir_node *n)
{
  softmax_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->coerce_2d = n->opset < 13;
  p->axis = ir_attr_int(n, "axis", p->coerce_2d ? 1 : -1);
  return ONYX_OK;
}

onyx_status softmax_layout(const ir_node *n, const ir_tensor *x, int64_t *outer, int64_t *len, int64_t *inner)
{
  const softmax_params *p = n->params;
  int axis;
  ONYX_TRY(op_axis(n, p->axis, x->ndim ? x->ndim : 1, &axis)); /* a scalar has one implicit axis */
  if (x->ndim == 0) {
    *outer = *len = *inner = 1;
    return ONYX_OK;
  }
  *outer = onyx_numel(axis, x->dims);
  if (p->coerce_2d) {
    *len = onyx_numel(x->ndim - axis, x->dims + axis);
    *inner = 1;
  } else {
    *len = x->dims[axis];
    *inner = onyx_numel(x->ndim - axis - 1, x->dims + axis + 1);
  }
  return ONYX_OK;
}

onyx_status op_infer_softmax(ir_graph *g, ir_node *n)
{
  ir_tensor *x;
  int64_t outer, len, inner;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  if (x->dtype != ONYX_DTYPE_FLOAT && x->dtype != ONYX_DTYPE_DOUBLE)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported (float or double only)",
                    onyx_dtype_name(x->dtype));
  ONYX_TRY(softmax_layout(n, x, &outer, &len, &inner));
  return op_infer_same_as_input(g, n);
}

/* ---- ReduceMean, ReduceSum, ReduceMax ---- */

onyx_status op_parse_reduce(ir_node *n)
{
  reduce_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->keepdims = ir_attr_int(n, "keepdims", 1) != 0;
  p->noop_with_empty_axes = ir_attr_int(n, "noop_with_empty_axes", 0) != 0;
  /* ReduceSum took axes as an input from opset 13, the other reductions from 18 */
  p->axes_from_input = n->opset >= (n->op == ONYX_OP_REDUCE_SUM ? 13 : 18);
  const ir_attr *a = ir_attr_find(n, "axes");
  if (a) {
    if (p->axes_from_input)
      return op_error(n, ONYX_ERR_INVALID_MODEL, "opset %lld takes axes as an input, not an attribute",
                      (long long)n->opset);
    if (a->type != IR_ATTR_INTS) return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'axes' must be ints");
    if (a->n > ONYX_MAX_DIMS)
      return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'axes' has %zu values, more than %d dimensions",
                      a->n, ONYX_MAX_DIMS);
    p->n_axes = (int)a->n;
    memcpy(p->axes, a->ints, a->n * sizeof(int64_t));
  }
  if (!p->axes_from_input && n->n_in > 1 && n->in[1] >= 0)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "opset %lld takes no axes input", (long long)n->opset);
  return ONYX_OK;
}

onyx_status reduce_axes_mask(const ir_graph *g, const ir_node *n, int rank, bool *mask, bool *noop)
{
  const reduce_params *p = n->params;
  int64_t axes[ONYX_MAX_DIMS];
  int count = p->n_axes;
  memcpy(axes, p->axes, sizeof(axes));
  const ir_tensor *t = p->axes_from_input ? ir_in(g, n, 1) : NULL;
  if (t) {
    if (!t->is_const || !t->data)
      return op_error(n, ONYX_ERR_UNSUPPORTED,
                      "axes input '%s' must be a constant (data-dependent shapes are not supported)", t->name);
    if (t->dtype != ONYX_DTYPE_INT64)
      return op_error(n, ONYX_ERR_SHAPE, "axes input '%s' must be int64, not %s", t->name,
                      onyx_dtype_name(t->dtype));
    int64_t cnt = ir_tensor_numel(t);
    if (cnt > rank)
      return op_error(n, ONYX_ERR_SHAPE, "axes input '%s' has %lld values for a rank-%d input", t->name,
                      (long long)cnt, rank);
    count = (int)cnt;
    for (int i = 0; i < count; i++) axes[i] = ir_tensor_get_i64(t, i);
  }
  *noop = count == 0 && p->noop_with_empty_axes;
  for (int d = 0; d < rank; d++) mask[d] = count == 0 && !*noop; /* no axes: reduce all */
  for (int i = 0; i < count; i++) {
    int a;
    ONYX_TRY(op_axis(n, axes[i], rank, &a));
    if (mask[a]) return op_error(n, ONYX_ERR_SHAPE, "axis %lld is listed twice", (long long)axes[i]);
    mask[a] = true;
  }
  return ONYX_OK;
}

onyx_status op_infer_reduce(ir_graph *g, ir_node *n)
{
  const reduce_params *p = n->params;
  ir_tensor *x;
  bool mask[ONYX_MAX_DIMS], noop;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  if (!dtype_is_numeric(x->dtype))
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported", onyx_dtype_name(x->dtype));
  ir_tensor *axes = p->axes_from_input ? ir_in(g, n, 1) : NULL;
  if (axes && !axes->is_const) axes->value_wanted = true; /* a session may specialise on its value */
  ONYX_TRY(reduce_axes_mask(g, n, x->ndim, mask, &noop));
  int nd = 0;
  int64_t dims[ONYX_MAX_DIMS];
  for (int d = 0; d < x->ndim; d++) {
    if (!mask[d]) dims[nd++] = x->dims[d];
    else if (p->keepdims) dims[nd++] = 1;
  }
  ir_tensor_set(ir_out(g, n, 0), x->dtype, nd, dims);
  return ONYX_OK;
}

/* ---- ArgMax ---- */

onyx_status op_parse_argmax(ir_node *n)
{
  argmax_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->axis = ir_attr_int(n, "axis", 0);
  p->keepdims = ir_attr_int(n, "keepdims", 1) != 0;
  p->select_last_index = ir_attr_int(n, "select_last_index", 0) != 0;
  return ONYX_OK;
}

onyx_status op_infer_argmax(ir_graph *g, ir_node *n)
{
  const argmax_params *p = n->params;
  ir_tensor *x;
  int axis;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  if (!dtype_is_numeric(x->dtype))
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported", onyx_dtype_name(x->dtype));
  if (x->ndim == 0) return op_error(n, ONYX_ERR_SHAPE, "input must have rank >= 1");
  ONYX_TRY(op_axis(n, p->axis, x->ndim, &axis));
  if (x->dims[axis] == 0) return op_error(n, ONYX_ERR_SHAPE, "cannot take ArgMax over an empty axis %d", axis);
  int nd = 0;
  int64_t dims[ONYX_MAX_DIMS];
  for (int d = 0; d < x->ndim; d++) {
    if (d != axis) dims[nd++] = x->dims[d];
    else if (p->keepdims) dims[nd++] = 1;
  }
  ir_tensor_set(ir_out(g, n, 0), ONYX_DTYPE_INT64, nd, dims);
  return ONYX_OK;
}
