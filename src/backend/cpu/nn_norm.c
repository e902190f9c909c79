/* CPU kernel for BatchNormalization in inference form (float32):
 * y = (x - mean) / sqrt(var + eps) * scale + B, folded into y = x * a + b. */
#include <math.h>

#include "backend/cpu/nn_window.h"
#include "common/util.h"

onyx_status cpu_batch_normalization(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const nn_bn_params *p = n->params;
  const ir_tensor *x = CPU_IN(g, n, 0);
  const ir_tensor *stat[4] = {CPU_IN(g, n, 1), CPU_IN(g, n, 2), CPU_IN(g, n, 3), CPU_IN(g, n, 4)};
  ir_tensor *y = CPU_OUT(g, n, 0);
  ONYX_TRY(cpu_nn_need_float(n, x));
  const int64_t N = x->dims[0], C = x->dims[1], inner = onyx_numel(x->ndim - 2, x->dims + 2);
  /* Statistics are per channel, or (opset < 9, spatial=0) per element of C x D1 x ...: the
   * coefficients get one entry per channel, or per element when any input needs it. */
  bool per_elem = false, chan[4];
  for (int i = 0; i < 4; i++) {
    chan[i] = ir_tensor_numel(stat[i]) == C;
    per_elem = per_elem || !chan[i];
  }
  const int64_t P = per_elem ? C * inner : C;
  size_t bytes = (size_t)(2 * P) * sizeof(float);
  float *coef = cpu_scratch(ctx, bytes ? bytes : sizeof(float));
  if (!coef) return op_error(n, ONYX_ERR_NO_MEMORY, "cannot allocate %zu bytes of scratch", bytes);
  float *a = coef, *b = coef + P;
  const float *scale = stat[0]->data, *bias = stat[1]->data, *mean = stat[2]->data, *var = stat[3]->data;
  for (int64_t q = 0; q < P; q++) {
    int64_t c = per_elem ? q / inner : q;
#define STAT(i, arr) ((arr)[chan[i] ? c : q])
    float s = STAT(0, scale) / sqrtf(STAT(3, var) + p->epsilon);
    a[q] = s;
    b[q] = STAT(1, bias) - STAT(2, mean) * s;
#undef STAT
  }
  const float *xd = x->data;
  float *yd = y->data;
  const int nt = cpu_nn_threads(ctx);
#pragma omp parallel for num_threads(nt) if (N * C * inner > CPU_NN_PAR_MIN_WORK) schedule(static)
  for (int64_t nc = 0; nc < N * C; nc++) {
    int64_t c = nc % C;
    const float *src = xd + nc * inner;
    float *dst = yd + nc * inner;
    if (per_elem) {
      const float *ac = a + c * inner, *bc = b + c * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; i++) dst[i] = src[i] * ac[i] + bc[i];
    } else {
      const float ac = a[c], bc = b[c];
#pragma omp simd
      for (int64_t i = 0; i < inner; i++) dst[i] = src[i] * ac + bc;
    }
  }
  return ONYX_OK;
}
