/* Attribute parsing and shape inference for Gemm and MatMul. */
#include "common/util.h"
#include "ops/nn.h"

onyx_status op_parse_gemm(ir_node *n)
{
  nn_gemm_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->alpha = ir_attr_float(n, "alpha", 1.0f);
  p->beta = ir_attr_float(n, "beta", 1.0f);
  int64_t ta = ir_attr_int(n, "transA", 0), tb = ir_attr_int(n, "transB", 0);
  if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
    return op_error(n, ONYX_ERR_INVALID_MODEL, "transA/transB must be 0 or 1 (got %lld, %lld)", (long long)ta,
                    (long long)tb);
  p->trans_a = ta, p->trans_b = tb;
  /* opset < 7 'broadcast' chose whether C may broadcast; accepting every
   * unidirectionally broadcastable C covers both settings. */
  return ONYX_OK;
}

onyx_status op_infer_gemm(ir_graph *g, ir_node *n)
{
  const nn_gemm_params *p = n->params;
  ir_tensor *a, *b;
  ONYX_TRY(op_need_input(g, n, 0, &a));
  ONYX_TRY(op_need_input(g, n, 1, &b));
  char sa[160], sb[160];
  onyx_dims_str(a->ndim, a->dims, sa, sizeof(sa));
  onyx_dims_str(b->ndim, b->dims, sb, sizeof(sb));
  if (a->ndim != 2 || b->ndim != 2)
    return op_error(n, ONYX_ERR_SHAPE, "A %s and B %s must both be 2-D", sa, sb);
  if (a->dtype != b->dtype)
    return op_error(n, ONYX_ERR_SHAPE, "A and B have different types (%s and %s)", onyx_dtype_name(a->dtype),
                    onyx_dtype_name(b->dtype));
  int64_t m = p->trans_a ? a->dims[1] : a->dims[0], k = p->trans_a ? a->dims[0] : a->dims[1];
  int64_t kb = p->trans_b ? b->dims[1] : b->dims[0], nn = p->trans_b ? b->dims[0] : b->dims[1];
  if (k != kb)
    return op_error(n, ONYX_ERR_SHAPE, "inner dimensions differ: A %s%s and B %s%s", sa,
                    p->trans_a ? " (transposed)" : "", sb, p->trans_b ? " (transposed)" : "");
  ir_tensor *c = ir_in(g, n, 2);
  if (c) {
    if (!ir_shape_known(c)) return op_error(n, ONYX_ERR_SHAPE, "shape of C '%s' is not known", c->name);
    if (c->dtype != a->dtype)
      return op_error(n, ONYX_ERR_SHAPE, "C has type %s, A has %s", onyx_dtype_name(c->dtype),
                      onyx_dtype_name(a->dtype));
    int64_t want[2] = {m, nn};
    bool ok = c->ndim <= 2;
    for (int i = 0; ok && i < c->ndim; i++) {
      int64_t d = c->dims[i], wd = want[2 - c->ndim + i];
      ok = d == wd || d == 1;
    }
    if (!ok) {
      char sc[160];
      return op_error(n, ONYX_ERR_SHAPE, "C %s cannot be broadcast to the %lldx%lld result",
                      onyx_dims_str(c->ndim, c->dims, sc, sizeof(sc)), (long long)m, (long long)nn);
    }
  }
  int64_t dims[2] = {m, nn};
  ir_tensor_set(ir_out(g, n, 0), a->dtype, 2, dims);
  return ONYX_OK;
}

onyx_status nn_matmul_dims_of(const ir_node *n, const ir_tensor *a, const ir_tensor *b, nn_matmul_dims *d)
{
  char sa[160], sb[160];
  onyx_dims_str(a->ndim, a->dims, sa, sizeof(sa));
  onyx_dims_str(b->ndim, b->dims, sb, sizeof(sb));
  if (a->ndim < 1 || b->ndim < 1)
    return op_error(n, ONYX_ERR_SHAPE, "inputs must have rank >= 1 (got %s and %s)", sa, sb);
  /* 1-D A is a row [1, K]; 1-D B is a column [K, 1]; the added dim is dropped from the result */
  d->m = a->ndim == 1 ? 1 : a->dims[a->ndim - 2];
  d->k = a->dims[a->ndim - 1];
  int64_t kb = b->ndim == 1 ? b->dims[0] : b->dims[b->ndim - 2];
  d->n = b->ndim == 1 ? 1 : b->dims[b->ndim - 1];
  if (d->k != kb)
    return op_error(n, ONYX_ERR_SHAPE, "inner dimensions differ: A %s has %lld columns, B %s has %lld rows",
                    sa, (long long)d->k, sb, (long long)kb);
  int na = a->ndim > 2 ? a->ndim - 2 : 0, nb = b->ndim > 2 ? b->ndim - 2 : 0;
  if (op_broadcast_shape(n, na, a->dims, nb, b->dims, &d->nbatch, d->batch) != ONYX_OK)
    return op_error(n, ONYX_ERR_SHAPE, "batch dimensions of A %s and B %s cannot be broadcast", sa, sb);
  for (int i = 0; i < d->nbatch; i++) {
    int ia = i - (d->nbatch - na), ib = i - (d->nbatch - nb);
    d->a_batch[i] = ia >= 0 ? a->dims[ia] : 1;
    d->b_batch[i] = ib >= 0 ? b->dims[ib] : 1;
  }
  d->out_ndim = 0;
  for (int i = 0; i < d->nbatch; i++) d->out[d->out_ndim++] = d->batch[i];
  if (a->ndim > 1) d->out[d->out_ndim++] = d->m;
  if (b->ndim > 1) d->out[d->out_ndim++] = d->n;
  return ONYX_OK;
}

onyx_status op_infer_mat_mul(ir_graph *g, ir_node *n)
{
  ir_tensor *a, *b;
  nn_matmul_dims d;
  ONYX_TRY(op_need_input(g, n, 0, &a));
  ONYX_TRY(op_need_input(g, n, 1, &b));
  if (a->dtype != b->dtype)
    return op_error(n, ONYX_ERR_SHAPE, "A and B have different types (%s and %s)", onyx_dtype_name(a->dtype),
                    onyx_dtype_name(b->dtype));
  ONYX_TRY(nn_matmul_dims_of(n, a, b, &d));
  ir_tensor_set(ir_out(g, n, 0), a->dtype, d.out_ndim, d.out);
  return ONYX_OK;
}
