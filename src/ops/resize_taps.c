/* Resize taps: for each output coordinate of one dim, the input elements it
 * reads and their weights (ONNX's coordinate transformations, nearest rounding,
 * linear and cubic weights).  Host code shared by the CPU kernel
 * (backend/cpu/resize.c) and the CUDA layer (backend/cuda/k_resize.c), so both
 * pick the same pixels with the same weights. */
#include <math.h>

#include "ops/reduce.h"

/* The source coordinate of output coordinate o along dim d. */
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

int resize_dim_taps(const resize_params *p, const resize_plan *plan, int d, int64_t in_len, int64_t stride,
                    int pitch, int64_t *off, float *w, uint8_t *outside)
{
  int64_t out = plan->out[d];
  int k = p->mode == RESIZE_NEAREST ? 1 : p->mode == RESIZE_LINEAR ? 2 : 4;
  int at = pitch ? pitch : k; /* entries from one coordinate's taps to the next's */
  for (int64_t o = 0; o < out; o++) {
    double x = source_coord(p, plan, d, in_len, o);
    int64_t *oo = off + o * at;
    float *ww = w + o * at;
    outside[o] = p->coord == COORD_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(in_len - 1));
    if (k == 1) {
      oo[0] = clamp_i64(nearest_index(p, x, plan->scale[d]), 0, in_len - 1) * stride;
      ww[0] = 1.f;
      continue;
    }
    double x0 = floor(x), r = x - x0, c[RESIZE_MAX_TAPS];
    int64_t first = (int64_t)x0 - (k == 4 ? 1 : 0);
    if (k == 2) c[0] = 1 - r, c[1] = r;
    else cubic_weights(r, p->cubic_a, c);
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
  /* a dim where every coordinate has one tap of weight 1 (say, an unresized dim) needs one tap */
  bool single = k > 1;
  for (int64_t o = 0; o < out && single; o++) {
    int nz = 0;
    for (int i = 0; i < k; i++)
      if (w[o * at + i] != 0.f) nz++, single = single && w[o * at + i] == 1.f;
    single = single && nz == 1;
  }
  if (single) {
    int to = pitch ? pitch : 1; /* packed: the single taps end up one entry apart */
    for (int64_t o = 0; o < out; o++) { /* in place: entry o * to is never after o * at */
      int keep = 0;
      for (int i = 0; i < k; i++)
        if (w[o * at + i] != 0.f) keep = i;
      off[o * to] = off[o * at + keep];
      w[o * to] = 1.f;
    }
    k = 1;
  }
  return k;
}
