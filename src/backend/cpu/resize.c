/* CPU kernel for Resize and Upsample.
 *
 * Interpolation is separable: every output coordinate of every dim gets up to
 * four input taps (an offset and a weight), computed once per run.  An output
 * element is the sum over the product of its dims' taps; dims whose taps are
 * all single (nearest, or an unresized dim) cost nothing.  Rows of the last dim
 * are the unit of parallel work. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "common/util.h"
#include "ops/reduce.h"

#define MAX_TAPS RESIZE_MAX_TAPS
#define MAX_COMBOS 1024 /* tap combinations over the outer dims, kept on the stack */
#define PAR_MIN_WORK 32768

typedef struct dim_taps {
  int k;                 /* taps per output coordinate */
  int64_t *off;          /* [out * k] input element offsets (index * stride) */
  float *w;              /* [out * k] weights */
  uint8_t *outside;      /* [out] tf_crop_and_resize: coordinate outside the input */
} dim_taps;

/* Nearest: a gather of whole elements, any element size. */
#define GATHER_ROWS(T)                                                                               \
  do {                                                                                               \
    const T *src = x->data;                                                                          \
    T *dst = y->data;                                                                                \
    _Pragma("omp parallel for num_threads(nt) schedule(static)")                                     \
    for (int64_t row = 0; row < rows; row++) {                                                       \
      int64_t base = 0, rem = row;                                                                   \
      bool out_row = false;                                                                          \
      for (int d = nd - 2; d >= 0; d--) {                                                            \
        int64_t o = rem % plan.out[d];                                                               \
        rem /= plan.out[d];                                                                          \
        base += taps[d].off[o];                                                                      \
        out_row = out_row || taps[d].outside[o];                                                     \
      }                                                                                              \
      T *q = dst + row * last;                                                                       \
      for (int64_t j = 0; j < last; j++)                                                             \
        q[j] = (out_row || tl->outside[j]) ? (T)extra : src[base + tl->off[j]];                      \
    }                                                                                                \
  } while (0)

onyx_status cpu_resize(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const resize_params *p = n->params;
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  resize_plan plan;
  ONYX_TRY(resize_make_plan(g, n, &plan));
  int nd = plan.ndim;
  int64_t total = onyx_numel(nd, plan.out);
  if (total == 0) return ONYX_OK;

  /* tap tables, carved from scratch: offsets, then weights, then outside flags */
  int64_t coords = 0;
  for (int d = 0; d < nd; d++) coords += plan.out[d];
  size_t bytes = (size_t)coords * MAX_TAPS * (sizeof(int64_t) + sizeof(float)) + (size_t)coords + 16;
  unsigned char *mem = cpu_scratch(ctx, bytes);
  if (!mem) return onyx_error_context(ONYX_ERR_NO_MEMORY, "%s node '%s'", n->op_type, n->name);
  dim_taps taps[ONYX_MAX_DIMS];
  int64_t *offs = (int64_t *)mem;
  float *ws = (float *)(offs + coords * MAX_TAPS);
  uint8_t *outs = (uint8_t *)(ws + coords * MAX_TAPS);
  int64_t stride = 1;
  for (int d = nd - 1; d >= 0; d--) {
    taps[d].off = offs, taps[d].w = ws, taps[d].outside = outs;
    taps[d].k = resize_dim_taps(p, &plan, d, x->dims[d], stride, 0, offs, ws, outs); /* packed */
    offs += plan.out[d] * MAX_TAPS, ws += plan.out[d] * MAX_TAPS, outs += plan.out[d];
    stride *= x->dims[d];
  }

  int64_t last = plan.out[nd - 1], rows = total / last, combos = 1;
  const dim_taps *tl = &taps[nd - 1];
  for (int d = 0; d < nd - 1; d++) combos *= taps[d].k;
  int64_t work = total * combos * tl->k;
  int nt = work < PAR_MIN_WORK ? 1 : ctx->num_threads > 0 ? ctx->num_threads : omp_get_max_threads();
  float extra = p->extrapolation;

  if (combos == 1 && tl->k == 1) { /* nearest, or nothing to interpolate */
    switch (onyx_dtype_size(x->dtype)) {
    case 1: GATHER_ROWS(uint8_t); break;
    case 2: GATHER_ROWS(uint16_t); break;
    case 4:
      if (x->dtype == ONYX_DTYPE_FLOAT) GATHER_ROWS(float);
      else GATHER_ROWS(uint32_t);
      break;
    case 8:
      if (x->dtype == ONYX_DTYPE_DOUBLE) GATHER_ROWS(double);
      else GATHER_ROWS(uint64_t);
      break;
    default: return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported", onyx_dtype_name(x->dtype));
    }
    return ONYX_OK;
  }
  if (x->dtype != ONYX_DTYPE_FLOAT)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported for interpolation",
                    onyx_dtype_name(x->dtype));
  if (combos > MAX_COMBOS)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "interpolating over %d dimensions at once is not supported", nd);
  const float *src = x->data;
  float *dst = y->data;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t row = 0; row < rows; row++) {
    int64_t coff[MAX_COMBOS], o[ONYX_MAX_DIMS];
    float cw[MAX_COMBOS];
    int64_t rem = row;
    bool out_row = false;
    for (int d = nd - 2; d >= 0; d--) {
      o[d] = rem % plan.out[d];
      rem /= plan.out[d];
      out_row = out_row || taps[d].outside[o[d]];
    }
    /* every combination of the outer dims' taps: offset and product of weights */
    int nc = 1;
    coff[0] = 0, cw[0] = 1.f;
    for (int d = 0; d < nd - 1; d++) {
      const dim_taps *t = &taps[d];
      int k = t->k;
      for (int c = nc - 1; c >= 0; c--)
        for (int i = k - 1; i >= 0; i--) {
          coff[c * k + i] = coff[c] + t->off[o[d] * k + i];
          cw[c * k + i] = cw[c] * t->w[o[d] * k + i];
        }
      nc *= k;
    }
    float *q = dst + row * last;
    int k = tl->k;
    if (nc == 2 && k == 2 && !out_row && p->coord != COORD_TF_CROP_AND_RESIZE) { /* bilinear */
      const float *s0 = src + coff[0], *s1 = src + coff[1];
      float w0 = cw[0], w1 = cw[1];
      for (int64_t j = 0; j < last; j++) {
        int64_t a = tl->off[2 * j], b = tl->off[2 * j + 1];
        float la = tl->w[2 * j], lb = tl->w[2 * j + 1];
        q[j] = w0 * (la * s0[a] + lb * s0[b]) + w1 * (la * s1[a] + lb * s1[b]);
      }
      continue;
    }
    for (int64_t j = 0; j < last; j++) {
      if (out_row || tl->outside[j]) {
        q[j] = extra;
        continue;
      }
      const int64_t *lo = tl->off + j * k;
      const float *lw = tl->w + j * k;
      float acc = 0.f;
      for (int c = 0; c < nc; c++) {
        const float *s = src + coff[c];
        float a = 0.f;
        for (int i = 0; i < k; i++) a += lw[i] * s[lo[i]];
        acc += cw[c] * a;
      }
      q[j] = acc;
    }
  }
  return ONYX_OK;
}
