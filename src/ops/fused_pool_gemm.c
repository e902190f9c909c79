/* FusedPoolGemm (domain "onyx"): attribute parsing and shape inference.  The
 * attributes and types are described in ops/fused.h. */
#include "common/util.h"
#include "ops/fused.h"

onyx_status op_parse_fused_pool_gemm(ir_node *n)
{
  if (n->n_in < 2 || n->n_in > 3)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "has %d inputs, it takes 2 or 3 (X, W, optional C)", n->n_in);
  if (ir_attr_int(n, "transA", 0) != 0)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "transA must be 0 (the pooled input is N x K)");
  fused_pool_gemm_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->gemm.alpha = ir_attr_float(n, "alpha", 1.0f);
  p->gemm.beta = ir_attr_float(n, "beta", 1.0f);
  int64_t tb = ir_attr_int(n, "transB", 0);
  if (tb != 0 && tb != 1)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "transB must be 0 or 1 (got %lld)", (long long)tb);
  p->gemm.trans_b = tb;
  const ir_attr *to = ir_attr_find(n, "to");
  if (to) {
    if (to->type != IR_ATTR_INT)
      return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'to' must be an int (a data type)");
    if (to->i != ONYX_DTYPE_FLOAT && to->i != ONYX_DTYPE_FLOAT16)
      return op_error(n, ONYX_ERR_UNSUPPORTED,
                      "attribute 'to' is %lld: the output type must be float or float16", (long long)to->i);
    p->to = (onyx_dtype)to->i;
  }
  return ONYX_OK;
}

onyx_status op_infer_fused_pool_gemm(ir_graph *g, ir_node *n)
{
  const fused_pool_gemm_params *p = n->params;
  ir_tensor *x, *w, *c = ir_in(g, n, 2);
  ONYX_TRY(op_need_input(g, n, 0, &x));
  ONYX_TRY(op_need_input(g, n, 1, &w));
  char sx[160], sw[160];
  onyx_dims_str(x->ndim, x->dims, sx, sizeof(sx));
  onyx_dims_str(w->ndim, w->dims, sw, sizeof(sw));
  const onyx_dtype t = w->dtype;
  if (t != ONYX_DTYPE_FLOAT && t != ONYX_DTYPE_FLOAT16)
    return op_error(n, ONYX_ERR_SHAPE, "weight type %s is not float or float16", onyx_dtype_name(t));
  if (x->dtype != t)
    return op_error(n, ONYX_ERR_SHAPE, "input type %s differs from the weight type %s",
                    onyx_dtype_name(x->dtype), onyx_dtype_name(t));
  if (x->ndim < 3) return op_error(n, ONYX_ERR_SHAPE, "input %s must be N x K x D1 x ... (rank >= 3)", sx);
  if (w->ndim != 2) return op_error(n, ONYX_ERR_SHAPE, "weight %s must be 2-D", sw);
  const int64_t k = p->gemm.trans_b ? w->dims[1] : w->dims[0], m = p->gemm.trans_b ? w->dims[0] : w->dims[1];
  if (k != x->dims[1])
    return op_error(n, ONYX_ERR_SHAPE, "weight %s%s has %lld rows, the input %s has %lld channels", sw,
                    p->gemm.trans_b ? " (transposed)" : "", (long long)k, sx, (long long)x->dims[1]);
  if (c) {
    if (!ir_shape_known(c)) return op_error(n, ONYX_ERR_SHAPE, "shape of C '%s' is not known", c->name);
    if (c->dtype != t)
      return op_error(n, ONYX_ERR_SHAPE, "C has type %s, the weight %s", onyx_dtype_name(c->dtype),
                      onyx_dtype_name(t));
    if (!(c->ndim == 1 && c->dims[0] == m) && !(c->ndim == 2 && c->dims[0] == 1 && c->dims[1] == m)) {
      char sc[160];
      return op_error(n, ONYX_ERR_SHAPE, "C %s must be [%lld] or [1, %lld] (one value per output)",
                      onyx_dims_str(c->ndim, c->dims, sc, sizeof(sc)), (long long)m, (long long)m);
    }
  }
  const onyx_dtype to = p->to ? p->to : t;
  if (to != t && !(to == ONYX_DTYPE_FLOAT && t == ONYX_DTYPE_FLOAT16))
    return op_error(n, ONYX_ERR_SHAPE, "output type %s with %s weights (float16 weights may give float)",
                    onyx_dtype_name(to), onyx_dtype_name(t));
  const int64_t dims[2] = {x->dims[0], m};
  ir_tensor_set(ir_out(g, n, 0), to, 2, dims);
  return ONYX_OK;
}
