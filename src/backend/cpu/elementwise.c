/* CPU kernels for elementwise ops. */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "common/util.h"
#include "ops/elementwise.h"

onyx_status cpu_unary(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  int64_t cnt = ir_tensor_numel(x);
  if (x->dtype != ONYX_DTYPE_FLOAT)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported", onyx_dtype_name(x->dtype));
  const float *a = x->data;
  float *o = y->data;
  switch (n->op) {
  case ONYX_OP_RELU:
    for (int64_t i = 0; i < cnt; i++) o[i] = a[i] > 0.f ? a[i] : 0.f;
    break;
  default: return op_error(n, ONYX_ERR_INTERNAL, "not a unary op");
  }
  return ONYX_OK;
}

/* Calls body(i, ia, ib) for every output index with the broadcast input offsets. */
#define BROADCAST_LOOP(nd, dims, sa, sb, body)                                   \
  do {                                                                           \
    int64_t idx_[ONYX_MAX_DIMS] = {0}, ia = 0, ib = 0, total_ = onyx_numel(nd, dims); \
    for (int64_t i = 0; i < total_; i++) {                                       \
      body;                                                                      \
      for (int d_ = (nd)-1; d_ >= 0; d_--) {                                     \
        ia += (sa)[d_];                                                          \
        ib += (sb)[d_];                                                          \
        if (++idx_[d_] < (dims)[d_]) break;                                      \
        ia -= (sa)[d_] * (dims)[d_];                                             \
        ib -= (sb)[d_] * (dims)[d_];                                             \
        idx_[d_] = 0;                                                            \
      }                                                                          \
    }                                                                            \
  } while (0)

onyx_status cpu_binary(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *a = CPU_IN(g, n, 0), *b = CPU_IN(g, n, 1);
  ir_tensor *y = CPU_OUT(g, n, 0);
  int nb;
  int64_t bd[ONYX_MAX_DIMS], sa[ONYX_MAX_DIMS], sb[ONYX_MAX_DIMS];
  ONYX_TRY(binary_effective_shape(n, a, b, &nb, bd));
  cpu_broadcast_strides(y->ndim, y->dims, a->ndim, a->dims, sa);
  cpu_broadcast_strides(y->ndim, y->dims, nb, bd, sb);
  switch (a->dtype) {
  case ONYX_DTYPE_FLOAT: {
    const float *pa = a->data, *pb = b->data;
    float *o = y->data;
    BROADCAST_LOOP(y->ndim, y->dims, sa, sb, o[i] = pa[ia] + pb[ib]);
    break;
  }
  case ONYX_DTYPE_INT64: {
    const int64_t *pa = a->data, *pb = b->data;
    int64_t *o = y->data;
    BROADCAST_LOOP(y->ndim, y->dims, sa, sb, o[i] = pa[ia] + pb[ib]);
    break;
  }
  default:
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%s inputs are not supported", onyx_dtype_name(a->dtype));
  }
  return ONYX_OK;
}

onyx_status cpu_identity(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  if (y->data != x->data) memcpy(y->data, x->data, ir_tensor_bytes(x));
  return ONYX_OK;
}
