/* Attribute parsing and shape inference for elementwise ops. */
#include "ops/elementwise.h"

onyx_status op_infer_unary(ir_graph *g, ir_node *n) { return op_infer_same_as_input(g, n); }

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
  if (!p || !p->legacy || b->ndim == 0) return ONYX_OK;
  int axis = (int)(p->axis < 0 ? a->ndim - b->ndim : p->axis);
  if (axis < 0 || axis + b->ndim > a->ndim)
    return op_error(n, ONYX_ERR_SHAPE, "legacy broadcast axis %lld does not fit ranks %d and %d",
                    (long long)p->axis, a->ndim, b->ndim);
  int pad = a->ndim - axis - b->ndim; /* trailing ones so numpy rules align B at axis */
  for (int i = 0; i < pad; i++) dims[(*ndim)++] = 1;
  return ONYX_OK;
}

onyx_status op_infer_binary(ir_graph *g, ir_node *n)
{
  ir_tensor *a, *b;
  ONYX_TRY(op_need_input(g, n, 0, &a));
  ONYX_TRY(op_need_input(g, n, 1, &b));
  if (a->dtype != b->dtype)
    return op_error(n, ONYX_ERR_SHAPE, "inputs have different types (%s and %s)", onyx_dtype_name(a->dtype),
                    onyx_dtype_name(b->dtype));
  int nb, nout;
  int64_t bd[ONYX_MAX_DIMS], out[ONYX_MAX_DIMS];
  ONYX_TRY(binary_effective_shape(n, a, b, &nb, bd));
  ONYX_TRY(op_broadcast_shape(n, a->ndim, a->dims, nb, bd, &nout, out));
  ir_tensor_set(ir_out(g, n, 0), a->dtype, nout, out);
  return ONYX_OK;
}
