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

#define MAX_TAPS 4
#define MAX_COMBOS 1024 /* tap combinations over the outer dims, kept on the stack */
#define PAR_MIN_WORK 32768

typedef struct dim_taps {
  int k;                 /* taps per output coordinate */
  int64_t *off;          /* [out * k] input element offsets (index * stride) */
  float *w;              /* [out * k] weights */
  unsigned char *outside; /* [out] tf_crop_and_resize: coordinate outside the input */
} dim_taps;

/* The source coordinate of output coordinate o along one dim (ONNX's coordinate transforms). */
static double source_coord(const resize_params *p, const resize_plan *plan, int d, int64_t in_len, int64_t o)
{
  double scale = plan->scale[d], x = (double)o;
  /* an unresized dim maps to itself (tf_half_pixel_for_nn would otherwise shift it by half a pixel) */
  if (scale == 1.0 && plan->out[d] == in_len && p->coord != COORD_TF_CROP_AND_RESIZE) return x;
  double len_res = scale * (double)in_len; /* ONNX measures the resized length as in * scale */
  switch (p->coord) {
  case COORD_HALF_PIXEL: return (x + 0.5) / scale - 0.5;
  case COORD_HALF_PIXEL_SYMMETRIC: {
    double adj = (double)plan->out[d] / len_res, center = (double)in_len / 2;
    return center * (1 - adj) + (x + 0.5) / scale - 0.5;
  }
  /* the spec's 0 for a length-1 output (ONNX's reference uses -0.5, which differs only for cubic) */
  case COORD_PYTORCH_HALF_PIXEL: return len_res == 1 ? 0.0 : (x + 0.5) / scale - 0.5;
  case COORD_ALIGN_CORNERS: return len_res == 1 ? 0.0 : x * (double)(in_len - 1) / (len_res - 1);
  case COORD_ASYMMETRIC: return x / scale;
  case COORD_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / scale;
  case COORD_TF_CROP_AND_RESIZE: {
    double s = plan->roi_start[d], e = plan->roi_end[d];
    if (len_res == 1) return (e - s) * (double)(in_len - 1) / 2 + s * (double)(in_len - 1);
    return x * (e - s) * (double)(in_len - 1) / (len_res - 1) + s * (double)(in_len - 1);
  }
  }
  return x;
}

static int64_t nearest_index(const resize_params *p, double x, double scale)
{
  /* a coordinate within rounding error of an integer or a half is taken as exactly that, so that
   * the pixel chosen does not hang on the float error of a scale such as 0.6 */
  double half = round(x * 2) / 2;
  if (fabs(x - half) <= 1e-6 * fmax(1.0, fabs(x))) x = half;
  switch (p->nearest) {
  case NEAREST_ROUND_PREFER_FLOOR: return (int64_t)ceil(x - 0.5);
  case NEAREST_ROUND_PREFER_CEIL: return (int64_t)floor(x + 0.5);
  case NEAREST_FLOOR: return (int64_t)floor(x);
  case NEAREST_CEIL: return (int64_t)ceil(x);
  case NEAREST_SIMPLE: return scale < 1 ? (int64_t)ceil(x) : (int64_t)x;
  }
  return (int64_t)x;
}

static void cubic_weights(double r, double a, double *c)
{
  double s = 1 + r, t = 1 - r, u = 2 - r;
  c[0] = ((a * s - 5 * a) * s + 8 * a) * s - 4 * a;
  c[1] = ((a + 2) * r - (a + 3)) * r * r + 1;
  c[2] = ((a + 2) * t - (a + 3)) * t * t + 1;
  c[3] = ((a * u - 5 * a) * u + 8 * a) * u - 4 * a;
}

static int64_t clamp_i64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Fills the taps of one dim (arrays sized for MAX_TAPS per coordinate). */
static void make_taps(const resize_params *p, const resize_plan *plan, int d, int64_t in_len, int64_t stride,
                      dim_taps *t)
{
  int64_t out = plan->out[d];
  t->k = p->mode == RESIZE_NEAREST ? 1 : p->mode == RESIZE_LINEAR ? 2 : 4;
  for (int64_t o = 0; o < out; o++) {
    double x = source_coord(p, plan, d, in_len, o);
    int64_t *off = t->off + o * t->k;
    float *w = t->w + o * t->k;
    t->outside[o] = p->coord == COORD_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(in_len - 1));
    if (p->mode == RESIZE_NEAREST) {
      off[0] = clamp_i64(nearest_index(p, x, plan->scale[d]), 0, in_len - 1) * stride;
      w[0] = 1.f;
      continue;
    }
    double x0 = floor(x), r = x - x0, c[MAX_TAPS];
    int64_t first = (int64_t)x0 - (t->k == 4 ? 1 : 0);
    if (t->k == 2) c[0] = 1 - r, c[1] = r;
    else cubic_weights(r, p->cubic_a, c);
    if (p->exclude_outside) {
      double sum = 0;
      for (int i = 0; i < t->k; i++) {
        if (first + i < 0 || first + i >= in_len) c[i] = 0;
        sum += c[i];
      }
      for (int i = 0; i < t->k && sum != 0; i++) c[i] /= sum;
    }
    for (int i = 0; i < t->k; i++) {
      off[i] = clamp_i64(first + i, 0, in_len - 1) * stride;
      w[i] = (float)c[i];
    }
  }
  /* a dim where every coordinate has one tap of weight 1 (say, an unresized dim) needs one tap */
  bool single = true;
  for (int64_t o = 0; o < out && single && t->k > 1; o++) {
    int nz = 0;
    for (int i = 0; i < t->k; i++)
      if (t->w[o * t->k + i] != 0.f) nz++, single = single && t->w[o * t->k + i] == 1.f;
    single = single && nz == 1;
  }
  if (single && t->k > 1) {
    for (int64_t o = 0; o < out; o++) {
      int keep = 0;
      for (int i = 0; i < t->k; i++)
        if (t->w[o * t->k + i] != 0.f) keep = i;
      t->off[o] = t->off[o * t->k + keep];
      t->w[o] = 1.f;
    }
    t->k = 1;
  }
}

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
  unsigned char *outs = (unsigned char *)(ws + coords * MAX_TAPS);
  int64_t stride = 1;
  for (int d = nd - 1; d >= 0; d--) {
    taps[d].off = offs, taps[d].w = ws, taps[d].outside = outs;
    make_taps(p, &plan, d, x->dims[d], stride, &taps[d]);
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
