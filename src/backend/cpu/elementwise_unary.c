/* CPU kernels for unary elementwise ops (activations, math functions) and Clip. */
#include <tgmath.h> /* exp(), log(), ... pick the float or double version by argument */

#include "backend/cpu/elementwise.h"

/* Loops are instantiated for unsigned types too, where `x < 0` is always
 * false: that is intended, not a bug to warn about. */
#pragma GCC diagnostic ignored "-Wtype-limits"

/* o[i] = EXPR for every element, with x = a[i]; T, a, o, cnt and nt in scope. */
#define MAP(EXPR)                                                                                            \
  do {                                                                                                       \
    EW_PARFOR(cnt, i)                                                                                        \
    {                                                                                                        \
      const T x = a[i];                                                                                      \
      o[i] = (EXPR);                                                                                         \
    }                                                                                                        \
  } while (0)

/* Ops defined on floating types (float16 arrives here widened to float). */
#define FLOAT_UNARY(E, T_, U, LO, HI, unused)                                                                \
  static bool unary_##E(int op, const activation_params *p, const void *in, void *out, int64_t cnt, int nt)  \
  {                                                                                                          \
    typedef T_ T;                                                                                            \
    const T *a = in;                                                                                         \
    T *o = out;                                                                                              \
    const T alpha = (T)p->alpha, beta = (T)p->beta;                                                          \
    switch (op) {                                                                                            \
    case ONYX_OP_RELU: MAP(x > 0 ? x : (T)0); break;                                                         \
    case ONYX_OP_LEAKY_RELU: MAP(x >= 0 ? x : alpha * x); break;                                             \
    case ONYX_OP_SIGMOID: MAP((T)1 / ((T)1 + exp(-x))); break;                                               \
    case ONYX_OP_TANH: MAP(tanh(x)); break;                                                                  \
    case ONYX_OP_HARD_SIGMOID: MAP(fmax((T)0, fmin((T)1, alpha * x + beta))); break;                         \
    case ONYX_OP_HARD_SWISH: MAP(x * fmax((T)0, fmin((T)1, x * (T)(1.0 / 6.0) + (T)0.5))); break;            \
    case ONYX_OP_ELU: MAP(x >= 0 ? x : alpha * expm1(x)); break;                                             \
    case ONYX_OP_SOFTPLUS: MAP(x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))); break;                           \
    case ONYX_OP_EXP: MAP(exp(x)); break;                                                                    \
    case ONYX_OP_LOG: MAP(log(x)); break;                                                                    \
    case ONYX_OP_SQRT: MAP(sqrt(x)); break;                                                                  \
    case ONYX_OP_RECIPROCAL: MAP((T)1 / x); break;                                                           \
    case ONYX_OP_NEG: MAP(-x); break;                                                                        \
    case ONYX_OP_ABS: MAP(fabs(x)); break;                                                                   \
    case ONYX_OP_ERF: MAP(erf(x)); break;                                                                    \
    default: return false;                                                                                   \
    }                                                                                                        \
    return true;                                                                                             \
  }
EW_FLOAT_TYPES(FLOAT_UNARY, 0)

/* Ops also defined on integers; arithmetic in the unsigned type wraps (no UB). */
#define INT_UNARY(E, T_, U, LO, HI, unused)                                                                  \
  static bool unary_##E(int op, const activation_params *p, const void *in, void *out, int64_t cnt, int nt)  \
  {                                                                                                          \
    typedef T_ T;                                                                                            \
    const T *a = in;                                                                                         \
    T *o = out;                                                                                              \
    switch (op) {                                                                                            \
    case ONYX_OP_RELU: MAP(x > 0 ? x : (T)0); break;                                                         \
    case ONYX_OP_NEG: MAP((T)((U)0 - (U)x)); break;                                                          \
    case ONYX_OP_ABS: MAP(x < 0 ? (T)((U)0 - (U)x) : x); break;                                              \
    default: return false;                                                                                   \
    }                                                                                                        \
    return true;                                                                                             \
  }
EW_INT_TYPES(INT_UNARY, 0)

static onyx_status unary_impl(cpu_ctx *ctx, const ir_node *n, const ir_tensor *const *in,
                              ir_tensor *const *out)
{
  static const activation_params none = {0};
  const activation_params *p = n->params ? n->params : &none;
  int64_t cnt = ir_tensor_numel(in[0]);
  int nt = ew_threads(ctx, cnt);
  bool ok;
  switch (in[0]->dtype) {
#define CASE(E, T, U, LO, HI, unused)                                                                        \
  case ONYX_DTYPE_##E: ok = unary_##E(n->op, p, in[0]->data, out[0]->data, cnt, nt); break;
    EW_NUM_TYPES(CASE, 0)
#undef CASE
  default: ok = false;
  }
  return ok ? ONYX_OK : ew_bad_dtype(n, in[0]->dtype);
}

onyx_status cpu_unary(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  return ew_run(ctx, g, n, unary_impl);
}

/* ---- Clip: bounds from attributes (opset < 11) or optional scalar inputs ---- */

#define CLIP_CASE(E, T_, U, LO, HI, unused)                                                                  \
  case ONYX_DTYPE_##E: {                                                                                     \
    typedef T_ T;                                                                                            \
    const T *a = xt->data;                                                                                   \
    T *o = yt->data;                                                                                         \
    T lo = LO, hi = HI;                                                                                      \
    if (p && p->has_lo) lo = (T)p->lo;                                                                       \
    if (p && p->has_hi) hi = (T)p->hi;                                                                       \
    if (tmin) lo = *(const T *)tmin->data;                                                                   \
    if (tmax) hi = *(const T *)tmax->data;                                                                   \
    if (lo > hi) { /* ONNX: every element becomes max */                                                     \
      EW_PARFOR(cnt, i) o[i] = hi;                                                                           \
    } else {                                                                                                 \
      MAP(x<lo ? lo : x> hi ? hi : x);                                                                       \
    }                                                                                                        \
    return ONYX_OK;                                                                                          \
  }

static onyx_status clip_impl(cpu_ctx *ctx, const ir_node *n, const ir_tensor *const *in,
                             ir_tensor *const *out)
{
  const clip_params *p = n->params;
  const ir_tensor *xt = in[0];
  const ir_tensor *tmin = n->n_in > 1 ? in[1] : NULL, *tmax = n->n_in > 2 ? in[2] : NULL;
  ir_tensor *yt = out[0];
  for (int k = 1; k < n->n_in && k < 3; k++)
    if (in[k] && ir_tensor_numel(in[k]) != 1)
      return op_error(n, ONYX_ERR_SHAPE, "input %d must hold one value, it holds %lld", k,
                      (long long)ir_tensor_numel(in[k]));
  int64_t cnt = ir_tensor_numel(xt);
  int nt = ew_threads(ctx, cnt);
  switch (xt->dtype) {
    EW_NUM_TYPES(CLIP_CASE, 0)
  default: return ew_bad_dtype(n, xt->dtype);
  }
}

onyx_status cpu_clip(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  return ew_run(ctx, g, n, clip_impl);
}
