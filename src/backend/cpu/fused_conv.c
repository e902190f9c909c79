/* CPU kernels for FusedConv: Conv's kernel (which adds B), then the epilogue
 * y = act(y + Z) in place, with the unfused kernels' float expressions; and
 * FusedConvPool: the same conv and epilogue into a buffer of its own, then
 * MaxPool's kernel over it. */
#include <math.h>
#include <stdlib.h>

#include "backend/cpu/elementwise.h"
#include "backend/cpu/nn_window.h"
#include "common/util.h"
#include "ops/fused.h"

#define EPILOGUE(EXPR)                                                                                       \
  do {                                                                                                       \
    EW_PARFOR(cnt, i)                                                                                        \
    {                                                                                                        \
      const float x = z ? y[i] + z[i] : y[i];                                                                \
      y[i] = (EXPR);                                                                                         \
    }                                                                                                        \
  } while (0)

/* y[i] = act(y[i] + z[i]) for i < cnt (z may be NULL). */
static onyx_status fused_act_apply(cpu_ctx *ctx, const ir_node *n, const fused_conv_params *p, float *y,
                                   const float *z, int64_t cnt)
{
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

onyx_status cpu_fused_conv(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  ONYX_TRY(cpu_conv(ctx, g, n));
  const ir_tensor *zt = CPU_IN(g, n, 3);
  ir_tensor *yt = CPU_OUT(g, n, 0);
  const int64_t cnt = ir_tensor_numel(yt);
  if (zt && ir_tensor_numel(zt) != cnt)
    return op_error(n, ONYX_ERR_SHAPE, "Z has %lld elements, the output %lld", (long long)ir_tensor_numel(zt),
                    (long long)cnt);
  return fused_act_apply(ctx, n, n->params, yt->data, zt ? zt->data : NULL, cnt);
}

onyx_status cpu_fused_conv_pool(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const fused_conv_pool_params *p = n->params;
  const ir_tensor *x = CPU_IN(g, n, 0), *w = CPU_IN(g, n, 1), *b = CPU_IN(g, n, 2);
  ir_tensor *y = CPU_OUT(g, n, 0);
  const ir_tensor *typed[4] = {x, w, b, y};
  static const char *const what[4] = {"input", "weight", "bias", "output"};
  ONYX_TRY(cpu_nn_need_floats(n, typed, what, 4));
  nn_geom cg, pg;
  cpu_win3 pw;
  ONYX_TRY(fused_conv_pool_geom(n, x, w, &cg, &pg));
  ONYX_TRY(cpu_nn_win3(n, &pg, false, &pw));
  const int64_t planes = x->dims[0] * w->dims[0], conv_cnt = planes * cg.out[0] * cg.out[1];
  if (planes == 0) return ONYX_OK;
  /* the conv output lives only here (cpu_conv_into uses the context's scratch for its columns) */
  const size_t bytes = (size_t)conv_cnt * sizeof(float);
  float *conv = onyx_malloc(bytes ? bytes : 1);
  if (!conv) return op_error(n, ONYX_ERR_NO_MEMORY, "cannot allocate %zu bytes for the conv output", bytes);
  onyx_status st = cpu_conv_into(ctx, g, n, conv);
  if (st == ONYX_OK) st = fused_act_apply(ctx, n, &p->fc, conv, NULL, conv_cnt);
  if (st == ONYX_OK) cpu_max_pool_f32(conv, y->data, planes, &pw, cpu_nn_threads(ctx));
  free(conv);
  return st;
}
