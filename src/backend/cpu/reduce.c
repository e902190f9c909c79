/* CPU kernels for Softmax/LogSoftmax, ReduceMean/Sum/Max and ArgMax. */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "common/util.h"
#include "ops/reduce.h"

/* Below this many elements of work a kernel stays on one thread. */
#define PAR_MIN_WORK 32768

static int num_threads(const cpu_ctx *ctx, int64_t work)
{
  if (work < PAR_MIN_WORK) return 1;
  return ctx->num_threads > 0 ? ctx->num_threads : omp_get_max_threads();
}

/* ---- Softmax, LogSoftmax ---- */

#define SOFTMAX_BLOCK 64

/* Softmax over len elements spaced stride apart, for w <= SOFTMAX_BLOCK adjacent lanes at once
 * (so a softmax over a non-innermost axis walks memory row by row); sums in double. */
#define SOFTMAX_IMPL(T, EXP)                                                                           \
  static void softmax_block_##T(const T *x, T *y, int64_t len, int64_t stride, int w, bool log_out)   \
  {                                                                                                   \
    if (w == 1 && stride == 1) { /* one contiguous lane: keep the loops simple to vectorise */         \
      T m = -INFINITY;                                                                                \
      double sm = 0;                                                                                  \
      for (int64_t k = 0; k < len; k++) m = x[k] > m ? x[k] : m;                                      \
      if (isinf(m)) m = 0;                                                                            \
      for (int64_t k = 0; k < len; k++) {                                                             \
        T e = EXP(x[k] - m);                                                                          \
        if (!log_out) y[k] = e;                                                                       \
        sm += e;                                                                                      \
      }                                                                                               \
      if (log_out) {                                                                                  \
        T lse = (T)(m + log(sm));                                                                     \
        for (int64_t k = 0; k < len; k++) y[k] = x[k] - lse;                                          \
      } else {                                                                                        \
        T inv = (T)(1.0 / sm);                                                                        \
        for (int64_t k = 0; k < len; k++) y[k] *= inv;                                                \
      }                                                                                               \
      return;                                                                                         \
    }                                                                                                 \
    T mx[SOFTMAX_BLOCK];                                                                              \
    double sum[SOFTMAX_BLOCK];                                                                        \
    for (int j = 0; j < w; j++) mx[j] = -INFINITY, sum[j] = 0;                                        \
    for (int64_t k = 0; k < len; k++)                                                                 \
      for (int j = 0; j < w; j++) mx[j] = x[k * stride + j] > mx[j] ? x[k * stride + j] : mx[j];     \
    for (int j = 0; j < w; j++)                                                                       \
      if (isinf(mx[j])) mx[j] = 0; /* all -inf, or a +inf: let exp() give the IEEE result */         \
    for (int64_t k = 0; k < len; k++)                                                                 \
      for (int j = 0; j < w; j++) {                                                                   \
        T e = EXP(x[k * stride + j] - mx[j]);                                                         \
        if (!log_out) y[k * stride + j] = e;                                                          \
        sum[j] += e;                                                                                  \
      }                                                                                               \
    if (log_out) {                                                                                    \
      for (int j = 0; j < w; j++) sum[j] = mx[j] + log(sum[j]); /* log-sum-exp */                     \
      for (int64_t k = 0; k < len; k++)                                                               \
        for (int j = 0; j < w; j++) y[k * stride + j] = (T)(x[k * stride + j] - sum[j]);              \
    } else {                                                                                          \
      for (int j = 0; j < w; j++) sum[j] = 1.0 / sum[j];                                              \
      for (int64_t k = 0; k < len; k++)                                                               \
        for (int j = 0; j < w; j++) y[k * stride + j] = (T)(y[k * stride + j] * sum[j]);              \
    }                                                                                                 \
  }
SOFTMAX_IMPL(float, expf)
SOFTMAX_IMPL(double, exp)

#define SOFTMAX_RUN(T)                                                                                 \
  do {                                                                                                \
    const T *px = x->data;                                                                            \
    T *py = y->data;                                                                                  \
    _Pragma("omp parallel for num_threads(nt) schedule(static)")                                      \
    for (int64_t b = 0; b < outer * nb; b++) {                                                        \
      int64_t j0 = (b % nb) * SOFTMAX_BLOCK, off = (b / nb) * len * inner + j0;                       \
      int w = (int)(inner - j0 < SOFTMAX_BLOCK ? inner - j0 : SOFTMAX_BLOCK);                          \
      softmax_block_##T(px + off, py + off, len, inner, w, log_out);                                  \
    }                                                                                                 \
  } while (0)

onyx_status cpu_softmax(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  int64_t outer, len, inner;
  ONYX_TRY(softmax_layout(n, x, &outer, &len, &inner));
  if (outer * len * inner == 0) return ONYX_OK;
  bool log_out = n->op == ONYX_OP_LOG_SOFTMAX;
  int64_t nb = (inner + SOFTMAX_BLOCK - 1) / SOFTMAX_BLOCK; /* lane blocks per outer index */
  int nt = num_threads(ctx, outer * len * inner);
  if (x->dtype == ONYX_DTYPE_FLOAT) SOFTMAX_RUN(float);
  else if (x->dtype == ONYX_DTYPE_DOUBLE) SOFTMAX_RUN(double);
  else return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported", onyx_dtype_name(x->dtype));
  return ONYX_OK;
}

/* ---- ReduceMean, ReduceSum, ReduceMax ---- */

typedef enum reduce_kind { RK_SUM, RK_MEAN, RK_MAX } reduce_kind;

/* The input seen as alternating runs of kept and reduced dims (adjacent dims of the
 * same kind merged), each with its element stride in the input. */
typedef struct reduce_layout {
  int nk, nr;
  int64_t ksize[ONYX_MAX_DIMS], kstride[ONYX_MAX_DIMS];
  int64_t rsize[ONYX_MAX_DIMS], rstride[ONYX_MAX_DIMS];
  int64_t n_out, n_red;
  bool last_kept; /* the innermost dim is kept: reduce whole contiguous rows at once */
} reduce_layout;

static void reduce_layout_make(const ir_tensor *x, const bool *mask, reduce_layout *L)
{
  memset(L, 0, sizeof(*L));
  L->n_out = L->n_red = 1;
  int64_t stride = 1;
  int last_kind = -1;
  for (int d = x->ndim - 1; d >= 0; d--) { /* innermost first; lists are reversed below */
    int64_t sz = x->dims[d];
    if (sz == 1) { /* a size-1 dim changes nothing either way */
      continue;
    }
    int kind = mask[d] ? 1 : 0;
    int64_t *size = kind ? L->rsize : L->ksize, *str = kind ? L->rstride : L->kstride;
    int *cnt = kind ? &L->nr : &L->nk;
    if (kind == last_kind) {
      size[*cnt - 1] *= sz;
    } else {
      size[*cnt] = sz;
      str[*cnt] = stride;
      (*cnt)++;
    }
    if (last_kind == -1) L->last_kept = !kind;
    last_kind = kind;
    stride *= sz;
    if (kind) L->n_red *= sz;
    else L->n_out *= sz;
  }
  for (int i = 0; i < L->nk / 2; i++) {
    int64_t t = L->ksize[i];
    L->ksize[i] = L->ksize[L->nk - 1 - i], L->ksize[L->nk - 1 - i] = t;
    t = L->kstride[i];
    L->kstride[i] = L->kstride[L->nk - 1 - i], L->kstride[L->nk - 1 - i] = t;
  }
  for (int i = 0; i < L->nr / 2; i++) {
    int64_t t = L->rsize[i];
    L->rsize[i] = L->rsize[L->nr - 1 - i], L->rsize[L->nr - 1 - i] = t;
    t = L->rstride[i];
    L->rstride[i] = L->rstride[L->nr - 1 - i], L->rstride[L->nr - 1 - i] = t;
  }
}

/* Input offset of kept-index o, decoding o over the first nk kept dims. */
static int64_t kept_offset(const reduce_layout *L, int nk, int64_t o)
{
  int64_t off = 0;
  for (int d = nk - 1; d >= 0; d--) {
    off += (o % L->ksize[d]) * L->kstride[d];
    o /= L->ksize[d];
  }
  return off;
}

/* Advances the reduced multi-index idx (an odometer over the first nr reduced dims);
 * returns the change of the input offset. */
static int64_t reduced_step(const reduce_layout *L, int nr, int64_t *idx)
{
  int64_t delta = 0;
  for (int d = nr - 1; d >= 0; d--) {
    delta += L->rstride[d];
    if (++idx[d] < L->rsize[d]) return delta;
    delta -= L->rstride[d] * L->rsize[d];
    idx[d] = 0;
  }
  return delta;
}

#define ACCUM(kind, acc, v) ((kind) == RK_MAX ? ((v) > (acc) || (v) != (v) ? (v) : (acc)) : (acc) + (v))

/* T: element type; A: accumulator; LOWEST: identity of max. */
#define REDUCE_IMPL(NAME, T, A, LOWEST)                                                                 \
  static void reduce_##NAME(const reduce_layout *L, reduce_kind kind, const T *x, T *y, int nt)         \
  {                                                                                                   \
    A init = kind == RK_MAX ? (A)(LOWEST) : (A)0;                                                     \
    if (!L->last_kept) { /* each output gathers its reduced block; innermost run contiguous */       \
      int64_t inner = L->nr ? L->rsize[L->nr - 1] : 1, istr = L->nr ? L->rstride[L->nr - 1] : 1;      \
      int64_t outer_red = L->n_red / (inner ? inner : 1);                                              \
      _Pragma("omp parallel for num_threads(nt) schedule(static)")                                    \
      for (int64_t o = 0; o < L->n_out; o++) {                                                        \
        int64_t idx[ONYX_MAX_DIMS] = {0};                                                             \
        const T *p = x + kept_offset(L, L->nk, o);                                                    \
        A acc = init;                                                                                 \
        for (int64_t r = 0; r < outer_red; r++) {                                                     \
          for (int64_t i = 0; i < inner; i++) acc = ACCUM(kind, acc, (A)p[i * istr]);                 \
          p += reduced_step(L, L->nr - 1, idx);                                                       \
        }                                                                                             \
        y[o] = (T)(kind == RK_MEAN ? acc / (A)L->n_red : acc);                                        \
      }                                                                                               \
    } else { /* rows of the innermost kept run are combined elementwise */                          \
      int64_t row = L->ksize[L->nk - 1], rows = L->n_out / row;                                       \
      _Pragma("omp parallel for num_threads(nt) schedule(static)")                                    \
      for (int64_t o = 0; o < rows; o++) {                                                            \
        int64_t idx[ONYX_MAX_DIMS] = {0};                                                             \
        const T *p = x + kept_offset(L, L->nk - 1, o);                                                \
        T *q = y + o * row;                                                                           \
        for (int64_t j = 0; j < row; j++) q[j] = (T)init;                                             \
        for (int64_t r = 0; r < L->n_red; r++) {                                                      \
          if (kind == RK_MAX)                                                                         \
            for (int64_t j = 0; j < row; j++) q[j] = (p[j] > q[j] || p[j] != p[j]) ? p[j] : q[j];     \
          else                                                                                        \
            for (int64_t j = 0; j < row; j++) q[j] += p[j];                                           \
          p += reduced_step(L, L->nr, idx);                                                           \
        }                                                                                             \
        if (kind == RK_MEAN)                                                                          \
          for (int64_t j = 0; j < row; j++) q[j] = (T)(q[j] / (A)L->n_red);                           \
      }                                                                                               \
    }                                                                                                 \
  }
REDUCE_IMPL(f32, float, double, -INFINITY)
REDUCE_IMPL(f64, double, double, -INFINITY)
REDUCE_IMPL(i32, int32_t, int64_t, INT32_MIN)
REDUCE_IMPL(i64, int64_t, int64_t, INT64_MIN)

onyx_status cpu_reduce(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  bool mask[ONYX_MAX_DIMS], noop;
  ONYX_TRY(reduce_axes_mask(g, n, x->ndim, mask, &noop));
  if (noop) {
    if (y->data != x->data) memcpy(y->data, x->data, ir_tensor_bytes(x));
    return ONYX_OK;
  }
  reduce_kind kind = n->op == ONYX_OP_REDUCE_MAX ? RK_MAX : n->op == ONYX_OP_REDUCE_MEAN ? RK_MEAN : RK_SUM;
  reduce_layout L;
  reduce_layout_make(x, mask, &L);
  if (ir_tensor_numel(x) == 0 && L.n_out == 0) return ONYX_OK;
  if (L.n_red == 0 && kind == RK_MEAN && x->dtype != ONYX_DTYPE_FLOAT && x->dtype != ONYX_DTYPE_DOUBLE)
    return op_error(n, ONYX_ERR_SHAPE, "the integer mean of an empty set is undefined");
  int nt = num_threads(ctx, ir_tensor_numel(x));
  switch (x->dtype) {
  case ONYX_DTYPE_FLOAT: reduce_f32(&L, kind, x->data, y->data, nt); break;
  case ONYX_DTYPE_DOUBLE: reduce_f64(&L, kind, x->data, y->data, nt); break;
  case ONYX_DTYPE_INT32: reduce_i32(&L, kind, x->data, y->data, nt); break;
  case ONYX_DTYPE_INT64: reduce_i64(&L, kind, x->data, y->data, nt); break;
  default: return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported", onyx_dtype_name(x->dtype));
  }
  return ONYX_OK;
}

/* ---- ArgMax ---- */

#define ARGMAX_IMPL(NAME, T)                                                                           \
  static void argmax_##NAME(const T *x, int64_t *y, int64_t outer, int64_t len, int64_t inner, bool last, \
                            int nt)                                                                  \
  {                                                                                                  \
    _Pragma("omp parallel for num_threads(nt) schedule(static)")                                     \
    for (int64_t l = 0; l < outer * inner; l++) {                                                    \
      const T *p = x + (l / inner) * len * inner + l % inner;                                        \
      int64_t best = 0;                                                                              \
      T bv = p[0];                                                                                   \
      for (int64_t k = 1; k < len; k++) {                                                            \
        T v = p[k * inner];                                                                          \
        if (bv != bv) break; /* a NaN wins, as in numpy */                                           \
        if (v > bv || (last && v == bv) || v != v) bv = v, best = k;                                 \
      }                                                                                              \
      y[l] = best;                                                                                   \
    }                                                                                                \
  }
ARGMAX_IMPL(f32, float)
ARGMAX_IMPL(f64, double)
ARGMAX_IMPL(i32, int32_t)
ARGMAX_IMPL(i64, int64_t)

onyx_status cpu_argmax(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const argmax_params *p = n->params;
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  int axis;
  ONYX_TRY(op_axis(n, p->axis, x->ndim, &axis));
  int64_t outer = onyx_numel(axis, x->dims), len = x->dims[axis];
  int64_t inner = onyx_numel(x->ndim - axis - 1, x->dims + axis + 1);
  if (outer * inner == 0) return ONYX_OK;
  int nt = num_threads(ctx, outer * inner * len);
  bool last = p->select_last_index;
  switch (x->dtype) {
  case ONYX_DTYPE_FLOAT: argmax_f32(x->data, y->data, outer, len, inner, last, nt); break;
  case ONYX_DTYPE_DOUBLE: argmax_f64(x->data, y->data, outer, len, inner, last, nt); break;
  case ONYX_DTYPE_INT32: argmax_i32(x->data, y->data, outer, len, inner, last, nt); break;
  case ONYX_DTYPE_INT64: argmax_i64(x->data, y->data, outer, len, inner, last, nt); break;
  default: return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported", onyx_dtype_name(x->dtype));
  }
  return ONYX_OK;
}
