/* CPU kernel for FusedConv: Conv's kernel (which adds B), then the epilogue
 * y = act(y + Z) in place, with the unfused kernels' float expressions. */
#include <math.h>

#include "backend/cpu/elementwise.h"
#include "ops/fused.h"

#define EPILOGUE(EXPR)                                                                                       \
  do {                                                                                                       \
    EW_PARFOR(cnt, i)                                                                                        \
    {                                                                                                        \
      const float x = z ? y[i] + z[i] : y[i];                                                                \
      y[i] = (EXPR);                                                                                         \
    }                                                                                                        \
  } while (0)

onyx_status cpu_fused_conv(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const fused_conv_params *p = n->params;
  ONYX_TRY(cpu_conv(ctx, g, n));
  const ir_tensor *zt = CPU_IN(g, n, 3);
  ir_tensor *yt = CPU_OUT(g, n, 0);
  const int64_t cnt = ir_tensor_numel(yt);
  if (zt && ir_tensor_numel(zt) != cnt)
    return op_error(n, ONYX_ERR_SHAPE, "Z has %lld elements, the output %lld", (long long)ir_tensor_numel(zt),
                    (long long)cnt);
  const float *z = zt ? zt->data : NULL;
  float *y = yt->data;
  const float a = p->alpha, b = p->beta;
  const int nt = ew_threads(ctx, cnt);
  switch (p->act) {
  case FUSED_ACT_NONE:
    if (z) EPILOGUE(x);
    break;
  case FUSED_ACT_RELU: EPILOGUE(x > 0 ? x : 0.f); break;
  case FUSED_ACT_LEAKY_RELU: EPILOGUE(x >= 0 ? x : a * x); break;
  case FUSED_ACT_CLIP: /* ONNX: min > max makes every element max */
    if (a > b) {
      EW_PARFOR(cnt, i) y[i] = b;
    } else {
      EPILOGUE(x < a ? a : x > b ? b : x);
    }
    break;
  case FUSED_ACT_SIGMOID: EPILOGUE(1.f / (1.f + expf(-x))); break;
  case FUSED_ACT_SILU: EPILOGUE(x * (1.f / (1.f + expf(-x)))); break;
  case FUSED_ACT_HARD_SWISH: EPILOGUE(x * fmaxf(0.f, fminf(1.f, a * x + b))); break;
  case FUSED_ACT_HARD_SIGMOID: EPILOGUE(fmaxf(0.f, fminf(1.f, a * x + b))); break;
  case FUSED_ACT_TANH: EPILOGUE(tanhf(x)); break;
  default: return op_error(n, ONYX_ERR_INTERNAL, "unknown activation %d", (int)p->act);
  }
  return ONYX_OK;
}
