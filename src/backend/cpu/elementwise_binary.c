/* CPU kernels for binary elementwise ops with broadcasting (Add, Sub, Mul,
 * Div, Pow, Equal, PRelu) and the variadic ones (Sum, Max, Min). */
#include <string.h>
#include <tgmath.h>

#include "backend/cpu/elementwise.h"

/* The loops below are instantiated for unsigned types too, where `x < 0` is
 * always false: that is intended, not a bug to warn about. */
#pragma GCC diagnostic ignored "-Wtype-limits"

/* Integer arithmetic goes through the unsigned type so overflow wraps (as in
 * numpy) instead of being undefined; `+ 0u` keeps uint8/uint16 products out
 * of signed int. For floating types U is T itself. */
#define W(v) ((U)(v) + 0u)
/* Integer division truncates (as C and onnxruntime do); x/0 gives 0 and
 * MIN/-1 wraps rather than trapping.  Floating types divide plainly. */
#define DIV_EXPR                                                                                             \
  ((T)0.5 != 0 ? (T)(x / y) : y == 0 ? (T)0 : ((T)-1 < 0 && y == (T)-1) ? (T)((U)0 - (U)x) : (T)(x / y))

#define ARITH(E, T_, U_, LO, HI, unused)                                                                     \
  static bool arith_##E(int op, const ew_iter *it, const void *pa, const void *pb, void *po, int nt)         \
  {                                                                                                          \
    typedef T_ T;                                                                                            \
    typedef U_ U;                                                                                            \
    switch (op) {                                                                                            \
    case ONYX_OP_ADD:                                                                                        \
    case ONYX_OP_SUM: EW_BIN_LOOP(it, T, T, T, pa, pb, po, (T)(W(x) + W(y))); break;                         \
    case ONYX_OP_SUB: EW_BIN_LOOP(it, T, T, T, pa, pb, po, (T)(W(x) - W(y))); break;                         \
    case ONYX_OP_MUL: EW_BIN_LOOP(it, T, T, T, pa, pb, po, (T)(W(x) * W(y))); break;                         \
    case ONYX_OP_DIV: EW_BIN_LOOP(it, T, T, T, pa, pb, po, DIV_EXPR); break;                                 \
    case ONYX_OP_PRELU: EW_BIN_LOOP(it, T, T, T, pa, pb, po, x < 0 ? (T)(W(x) * W(y)) : x); break;           \
    /* NaN propagates, as numpy's maximum/minimum do */                                                      \
    case ONYX_OP_MAX: EW_BIN_LOOP(it, T, T, T, pa, pb, po, (x > y || x != x) ? x : y); break;                \
    case ONYX_OP_MIN: EW_BIN_LOOP(it, T, T, T, pa, pb, po, (x < y || x != x) ? x : y); break;                \
    case ONYX_OP_EQUAL: EW_BIN_LOOP(it, T, T, uint8_t, pa, pb, po, x == y); break;                           \
    default: return false;                                                                                   \
    }                                                                                                        \
    return true;                                                                                             \
  }
EW_NUM_TYPES(ARITH, 0)

static bool arith_BOOL(int op, const ew_iter *it, const void *pa, const void *pb, void *po, int nt)
{
  if (op != ONYX_OP_EQUAL) return false;
  EW_BIN_LOOP(it, uint8_t, uint8_t, uint8_t, pa, pb, po, (x != 0) == (y != 0));
  return true;
}

/* y = a op b, broadcast; b's shape may be given (legacy forms). */
static onyx_status arith(cpu_ctx *ctx, const ir_node *n, int op, const ir_tensor *a, int nb,
                         const int64_t *bd, const void *b, ir_tensor *y)
{
  ew_iter it;
  const int nd[2] = {a->ndim, nb};
  const int64_t *dims[2] = {a->dims, bd};
  ew_iter_init(&it, y->ndim, y->dims, 2, nd, dims);
  int nt = ew_threads(ctx, ir_tensor_numel(y));
  bool ok;
  switch (a->dtype) {
#define CASE(E, T, U, LO, HI, unused)                                                                        \
  case ONYX_DTYPE_##E: ok = arith_##E(op, &it, a->data, b, y->data, nt); break;
    EW_NUM_TYPES(CASE, 0)
    CASE(BOOL, uint8_t, uint8_t, 0, 1, 0)
#undef CASE
  default: ok = false;
  }
  return ok ? ONYX_OK : ew_bad_dtype(n, a->dtype);
}

static onyx_status binary_impl(cpu_ctx *ctx, const ir_node *n, const ir_tensor *const *in,
                               ir_tensor *const *out)
{
  int nb;
  int64_t bd[ONYX_MAX_DIMS];
  ONYX_TRY(binary_effective_shape(n, in[0], in[1], &nb, bd));
  return arith(ctx, n, n->op, in[0], nb, bd, in[1]->data, out[0]);
}

onyx_status cpu_binary(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  return ew_run(ctx, g, n, binary_impl);
}

/* Sum, Max, Min: folded pairwise into the output (Y = in0 op in1, Y = Y op in2, ...). */
static onyx_status variadic_impl(cpu_ctx *ctx, const ir_node *n, const ir_tensor *const *in,
                                 ir_tensor *const *out)
{
  ir_tensor *y = out[0];
  if (n->n_in == 1) {
    if (y->data != in[0]->data) memcpy(y->data, in[0]->data, ir_tensor_bytes(y));
    return ONYX_OK;
  }
  ONYX_TRY(arith(ctx, n, n->op, in[0], in[1]->ndim, in[1]->dims, in[1]->data, y));
  for (int k = 2; k < n->n_in; k++)
    ONYX_TRY(arith(ctx, n, n->op, y, in[k]->ndim, in[k]->dims, in[k]->data, y));
  return ONYX_OK;
}

onyx_status cpu_variadic(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  return ew_run(ctx, g, n, variadic_impl);
}

/* ---- Pow: base and exponent types may differ; the result has the base's type ---- */

/* double to int64 without undefined behaviour on NaN or out-of-range values. */
static inline int64_t d2i64(double v)
{
  if (v != v) return 0;
  if (v >= 9223372036854775807.0) return INT64_MAX;
  if (v <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)v;
}

/* An integer base to the power e: exact (wrapping) for integral e, else the
 * truncated floating-point result.  bits holds the base's two's complement. */
static inline uint64_t ipow(uint64_t bits, double xd, double e)
{
  if (e != floor(e) || fabs(e) > 1e18) return (uint64_t)d2i64(pow(xd, e));
  if (e < 0) { /* 1/x^k truncates to 0 unless |x| == 1 */
    if (xd == 1) return 1;
    if (xd == -1) return ((int64_t)-e & 1) ? UINT64_MAX : 1;
    return 0;
  }
  uint64_t r = 1, k = (uint64_t)e;
  for (; k; k >>= 1, bits *= bits)
    if (k & 1) r *= bits;
  return r;
}

#define POW_FLOAT(E, T_, U, LO, HI, unused)                                                                  \
  case ONYX_DTYPE_##E:                                                                                       \
    EW_BIN_LOOP(&it, T_, double, T_, at->data, ed, yt->data, (T_)pow((double)x, y));                         \
    break;
#define POW_INT(E, T_, U, LO, HI, unused)                                                                    \
  case ONYX_DTYPE_##E:                                                                                       \
    EW_BIN_LOOP(&it, T_, double, T_, at->data, ed, yt->data, (T_)ipow((uint64_t)x, (double)x, y));           \
    break;

static onyx_status pow_impl(cpu_ctx *ctx, const ir_node *n, const ir_tensor *const *in, ir_tensor *const *out)
{
  const ir_tensor *at = in[0], *bt = in[1];
  ir_tensor *yt = out[0];
  int nb;
  int64_t bd[ONYX_MAX_DIMS];
  ONYX_TRY(binary_effective_shape(n, at, bt, &nb, bd));
  ew_iter it;
  const int nd[2] = {at->ndim, nb};
  const int64_t *dims[2] = {at->dims, bd};
  ew_iter_init(&it, yt->ndim, yt->dims, 2, nd, dims);
  int nt = ew_threads(ctx, ir_tensor_numel(yt));
  /* the common case, float ** float, runs in float */
  if (at->dtype == ONYX_DTYPE_FLOAT && bt->dtype == ONYX_DTYPE_FLOAT) {
    EW_BIN_LOOP(&it, float, float, float, at->data, bt->data, yt->data, pow(x, y));
    return ONYX_OK;
  }
  /* otherwise the exponent is read as double (exact for every int32, and for int64 up to 2^53) */
  int64_t cnt = ir_tensor_numel(bt);
  double *ed = onyx_malloc((size_t)(cnt > 0 ? cnt : 1) * sizeof(double));
  if (!ed) return op_error(n, ONYX_ERR_NO_MEMORY, "no memory for the exponent (%lld values)", (long long)cnt);
  for (int64_t i = 0; i < cnt; i++) ed[i] = ir_tensor_get_f64(bt, i);
  onyx_status st = ONYX_OK;
  switch (at->dtype) {
    EW_FLOAT_TYPES(POW_FLOAT, 0)
    EW_INT_TYPES(POW_INT, 0)
  default: st = ew_bad_dtype(n, at->dtype);
  }
  free(ed);
  return st;
}

onyx_status cpu_pow(cpu_ctx *ctx, const ir_graph *g, const ir_node *n) { return ew_run(ctx, g, n, pow_impl); }
