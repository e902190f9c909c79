/* CUDA layer for Resize and Upsample (kernels/resize.cu).  The plan (output
 * dims, scales, roi) comes from resize_make_plan, as on the CPU; init turns it
 * into per-dim tap tables (offset, weight, outside flag per output coordinate,
 * computed as src/backend/cpu/resize.c computes them) and uploads them once.
 * Nearest, linear and cubic in every coordinate transformation the CPU
 * supports.  Input and output may each be row-major or channels-last. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/k_common.h"
#include "backend/cuda/kernels/resize.h"
#include "backend/cuda/ops_kernels.h"
#include "common/util.h"
#include "ops/reduce.h"

#define MAX_COMBOS 1024 /* tap combinations per output element */

typedef struct resize_state {
  bool interp; /* false: a gather (every dim has one tap of weight 1) */
  size_t esz;
  cuda_resize_geom g;
  void *dev; /* the tables: offsets, then weights, then outside flags */
  int64_t *off;
  float *w;
  uint8_t *outside;
} resize_state;

/* The source coordinate of output coordinate o along dim d (ONNX's coordinate transformations). */
static double source_coord(const resize_params *p, const resize_plan *plan, int d, int64_t in_len, int64_t o)
{
  double scale = plan->scale[d], x = (double)o;
  if (scale == 1.0 && plan->out[d] == in_len && p->coord != COORD_TF_CROP_AND_RESIZE) return x;
  double len_res = scale * (double)in_len;
  switch (p->coord) {
  case COORD_HALF_PIXEL: return (x + 0.5) / scale - 0.5;
  case COORD_HALF_PIXEL_SYMMETRIC: {
    double adj = (double)plan->out[d] / len_res, center = (double)in_len / 2;
    return center * (1 - adj) + (x + 0.5) / scale - 0.5;
  }
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
  double half = round(x * 2) / 2; /* within rounding error of an integer or a half: exactly that */
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

/* Taps of dim d for its out coordinates, at off/w (CUDA_RESIZE_TAPS per coordinate) and outside;
 * returns the taps per coordinate (1 when each coordinate has one tap of weight 1). */
static int make_taps(const resize_params *p, const resize_plan *plan, int d, int64_t in_len, int64_t stride,
                     int64_t *off, float *w, uint8_t *outside)
{
  const int T = CUDA_RESIZE_TAPS;
  int64_t out = plan->out[d];
  int k = p->mode == RESIZE_NEAREST ? 1 : p->mode == RESIZE_LINEAR ? 2 : 4;
  for (int64_t o = 0; o < out; o++) {
    double x = source_coord(p, plan, d, in_len, o);
    int64_t *oo = off + o * T;
    float *ww = w + o * T;
    outside[o] = p->coord == COORD_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(in_len - 1));
    if (k == 1) {
      oo[0] = clamp_i64(nearest_index(p, x, plan->scale[d]), 0, in_len - 1) * stride;
      ww[0] = 1.f;
      continue;
    }
    double x0 = floor(x), r = x - x0, c[4];
    int64_t first = (int64_t)x0 - (k == 4 ? 1 : 0);
    if (k == 2)
      c[0] = 1 - r, c[1] = r;
    else
      cubic_weights(r, p->cubic_a, c);
    if (p->exclude_outside) {
      double sum = 0;
      for (int i = 0; i < k; i++) {
        if (first + i < 0 || first + i >= in_len) c[i] = 0;
        sum += c[i];
      }
      for (int i = 0; i < k && sum != 0; i++) c[i] /= sum;
    }
    for (int i = 0; i < k; i++) {
      oo[i] = clamp_i64(first + i, 0, in_len - 1) * stride;
      ww[i] = (float)c[i];
    }
  }
  bool single = k > 1;
  for (int64_t o = 0; o < out && single; o++) {
    int nz = 0;
    for (int i = 0; i < k; i++)
      if (w[o * T + i] != 0.f) nz++, single = single && w[o * T + i] == 1.f;
    single = single && nz == 1;
  }
  if (single) {
    for (int64_t o = 0; o < out; o++) {
      int keep = 0;
      for (int i = 0; i < k; i++)
        if (w[o * T + i] != 0.f) keep = i;
      off[o * T] = off[o * T + keep];
      w[o * T] = 1.f;
    }
    k = 1;
  }
  return k;
}

static void resize_release(cuda_layer *L)
{
  resize_state *s = L->state;
  if (s && s->dev) cudaFree(s->dev);
  kc_release(L);
}

static onyx_status resize_init(cuda_ctx *ctx, cuda_layer *L)
{
  const resize_params *p = L->node->params;
  const cuda_tensor *x = &L->in[0];
  resize_plan plan;
  resize_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  ONYX_TRY(kc_elem_size(L, x->dtype, &s->esz));
  ONYX_TRY(resize_make_plan(L->g, L->node, &plan));
  int nd = plan.ndim;
  cuda_resize_geom *g = &s->g;
  g->ndim = nd;
  g->n = onyx_numel(nd, plan.out);
  int64_t coords = 0;
  for (int d = 0; d < nd; d++) {
    g->out[d] = plan.out[d];
    g->at[d] = coords;
    coords += plan.out[d];
  }
  if (g->n == 0) return ONYX_OK;
  size_t n_tap = (size_t)coords * CUDA_RESIZE_TAPS;
  size_t bytes = n_tap * (sizeof(int64_t) + sizeof(float)) + (size_t)coords;
  unsigned char *host = onyx_calloc(1, bytes);
  if (!host) return ONYX_ERR_NO_MEMORY;
  int64_t *off = (int64_t *)host;
  float *w = (float *)(off + n_tap);
  uint8_t *outside = (uint8_t *)(w + n_tap);
  int64_t combos = 1;
  for (int d = nd - 1; d >= 0; d--) { /* taps address the input through its strides (any layout) */
    int64_t a = g->at[d];
    g->k[d] = make_taps(p, &plan, d, x->dims[d], x->strides[d], off + a * CUDA_RESIZE_TAPS,
                        w + a * CUDA_RESIZE_TAPS, outside + a);
    combos *= g->k[d];
  }
  /* the kernel writes y[i] for the i-th output element in memory: list the dims in the output's
   * memory order (the taps of each dim are independent of the order) */
  int order[ONYX_MAX_DIMS];
  cuda_resize_geom lg = *g;
  kc_phys_order(&L->out[0], order);
  for (int i = 0; i < nd; i++) {
    g->out[i] = lg.out[order[i]];
    g->at[i] = lg.at[order[i]];
    g->k[i] = lg.k[order[i]];
  }
  for (int64_t c = 0; c < coords; c++) g->any_outside = g->any_outside || outside[c];
  s->interp = combos > 1;
  g->extrapolation = kc_scalar_bits(x->dtype, p->extrapolation);
  onyx_status st = ONYX_OK;
  if (s->interp && x->dtype != ONYX_DTYPE_FLOAT && x->dtype != ONYX_DTYPE_FLOAT16)
    st = kc_bad_dtype(L, "input (interpolated)", x->dtype);
  else if (combos > MAX_COMBOS)
    st = cuda_layer_error(L, ONYX_ERR_UNSUPPORTED,
                          "interpolating over %d dimensions at once is not supported", nd);
  if (st == ONYX_OK) {
    cudaError_t err = cudaMalloc(&s->dev, bytes);
    if (err == cudaSuccess) err = cudaMemcpy(s->dev, host, bytes, cudaMemcpyHostToDevice);
    if (err != cudaSuccess) st = cuda_status(err, "upload of the resize tables", __FILE__, __LINE__);
  }
  free(host);
  ONYX_TRY(st);
  s->off = s->dev;
  s->w = (float *)(s->off + n_tap);
  s->outside = (uint8_t *)(s->w + n_tap);
  snprintf(L->kernel, sizeof(L->kernel), "onyx:resize_%s", s->interp ? "interp" : "gather");
  return ONYX_OK;
}

static onyx_status resize_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const resize_state *s = L->state;
  if (s->g.n == 0) return ONYX_OK;
  if (!s->interp)
    return kc_launched(
        L, cuda_resize_nearest(s->esz, &s->g, L->in[0].ptr, L->out[0].ptr, s->off, s->outside, ctx->stream));
  return kc_launched(L, cuda_resize_interp(L->in[0].dtype, &s->g, L->in[0].ptr, L->out[0].ptr, s->off, s->w,
                                           s->outside, ctx->stream));
}

const cuda_op_impl cuda_k_resize = {resize_init, resize_enqueue, resize_release};
