/* CPU kernels for MaxPool (float32, int8, uint8; optional Indices), AveragePool
 * and the global pools (float32), parallel over N*C planes. */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "backend/cpu/nn_window.h"
#include "common/util.h"

/* One output position's tap ranges [lo, hi) per dim, inside the image. */
static inline void taps(const cpu_win3 *w, int i, int64_t o, int64_t *lo, int64_t *hi)
{
  cpu_nn_valid_range(o * w->s[i] - w->p[i], w->d[i], w->img[i], w->k[i], lo, hi);
}

/* One (n, c) plane of MaxPool: y and indices point at the plane's outputs,
 * base is the plane's offset in X (Indices are flat indices into X). */
#define DEFINE_MAX_POOL_PLANE(fname, T, LOWEST)                                                              \
  static void fname(const T *src, T *y, int64_t *indices, int64_t base, const cpu_win3 *w, int order)        \
  {                                                                                                          \
    const int64_t D = w->img[0], H = w->img[1], W = w->img[2];                                               \
    int64_t o = 0;                                                                                           \
    for (int64_t od = 0; od < w->pos[0]; od++) {                                                             \
      int64_t d0, d1;                                                                                        \
      taps(w, 0, od, &d0, &d1);                                                                              \
      for (int64_t oh = 0; oh < w->pos[1]; oh++) {                                                           \
        int64_t h0, h1;                                                                                      \
        taps(w, 1, oh, &h0, &h1);                                                                            \
        for (int64_t ow = 0; ow < w->pos[2]; ow++, o++) {                                                    \
          int64_t w0, w1, bd = 0, bh = 0, bw = 0;                                                            \
          taps(w, 2, ow, &w0, &w1);                                                                          \
          T best = LOWEST;                                                                                   \
          bool any = false;                                                                                  \
          for (int64_t kd = d0; kd < d1; kd++) {                                                             \
            int64_t id = od * w->s[0] - w->p[0] + kd * w->d[0];                                              \
            for (int64_t kh = h0; kh < h1; kh++) {                                                           \
              int64_t ih = oh * w->s[1] - w->p[1] + kh * w->d[1];                                            \
              const T *row = src + (id * H + ih) * W;                                                        \
              for (int64_t kw = w0; kw < w1; kw++) {                                                         \
                int64_t iw = ow * w->s[2] - w->p[2] + kw * w->d[2];                                          \
                T v = row[iw];                                                                               \
                if (!any || v > best) best = v, bd = id, bh = ih, bw = iw, any = true;                       \
              }                                                                                              \
            }                                                                                                \
          }                                                                                                  \
          y[o] = best;                                                                                       \
          if (indices) /* column major (storage_order 1) reverses the spatial dims */                        \
            indices[o] = base + (order ? bd + bh * D + bw * D * H : (bd * H + bh) * W + bw);                 \
        }                                                                                                    \
      }                                                                                                      \
    }                                                                                                        \
  }

DEFINE_MAX_POOL_PLANE(max_pool_f32, float, -FLT_MAX)
DEFINE_MAX_POOL_PLANE(max_pool_u8, uint8_t, 0)
DEFINE_MAX_POOL_PLANE(max_pool_i8, int8_t, INT8_MIN)

void cpu_max_pool_f32(const float *x, float *y, int64_t planes, const cpu_win3 *w, int nt)
{
  const int64_t ipl = w->img[0] * w->img[1] * w->img[2], opl = w->pos[0] * w->pos[1] * w->pos[2];
#pragma omp parallel for num_threads(nt) if (planes * opl > CPU_NN_PAR_MIN_WORK / 8) schedule(static)
  for (int64_t nc = 0; nc < planes; nc++) max_pool_f32(x + nc * ipl, y + nc * opl, NULL, 0, w, 0);
}

onyx_status cpu_max_pool(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const nn_pool_params *p = n->params;
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0), *idx = CPU_OUT(g, n, 1);
  nn_geom gm;
  cpu_win3 w3;
  onyx_dtype dt = x->dtype;
  if (dt != ONYX_DTYPE_FLOAT && dt != ONYX_DTYPE_UINT8 && dt != ONYX_DTYPE_INT8)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported on CPU (float32, int8, uint8 only)",
                    onyx_dtype_name(dt));
  ONYX_TRY(nn_pool_geom(n, x, &gm));
  ONYX_TRY(cpu_nn_win3(n, &gm, false, &w3));
  const int64_t planes = x->dims[0] * x->dims[1], ipl = w3.img[0] * w3.img[1] * w3.img[2];
  const int64_t opl = w3.pos[0] * w3.pos[1] * w3.pos[2];
  const size_t esz = onyx_dtype_size(dt);
  const char *xd = x->data;
  char *yd = y->data;
  int64_t *ind = idx ? idx->data : NULL;
  const int order = p->storage_order, nt = cpu_nn_threads(ctx);
#pragma omp parallel for num_threads(nt) if (planes * opl > CPU_NN_PAR_MIN_WORK / 8) schedule(static)
  for (int64_t nc = 0; nc < planes; nc++) {
    const void *src = xd + (size_t)(nc * ipl) * esz;
    void *dst = yd + (size_t)(nc * opl) * esz;
    int64_t *pi = ind ? ind + nc * opl : NULL;
    if (dt == ONYX_DTYPE_FLOAT)
      max_pool_f32(src, dst, pi, nc * ipl, &w3, order);
    else if (dt == ONYX_DTYPE_UINT8)
      max_pool_u8(src, dst, pi, nc * ipl, &w3, order);
    else
      max_pool_i8(src, dst, pi, nc * ipl, &w3, order);
  }
  return ONYX_OK;
}

onyx_status cpu_average_pool(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const nn_pool_params *p = n->params;
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  nn_geom gm;
  cpu_win3 w3, padded;
  ONYX_TRY(cpu_nn_need_float(n, x));
  ONYX_TRY(nn_pool_geom(n, x, &gm));
  ONYX_TRY(cpu_nn_win3(n, &gm, false, &w3));
  /* count_include_pad counts taps inside the padded image: the same window
   * over an image grown by both pads, with the begin pad shifted to 0 */
  padded = w3;
  for (int i = 0; i < 3; i++) {
    int j = i - (3 - gm.nsp);
    padded.img[i] += j < 0 ? 0 : gm.pad_begin[j] + gm.pad_end[j];
    padded.p[i] = 0;
  }
  const int64_t planes = x->dims[0] * x->dims[1], H = w3.img[1], W = w3.img[2];
  const int64_t ipl = w3.img[0] * H * W, opl = w3.pos[0] * w3.pos[1] * w3.pos[2];
  const float *xd = x->data;
  float *yd = y->data;
  const bool incl = p->count_include_pad;
  const int nt = cpu_nn_threads(ctx);
#pragma omp parallel for num_threads(nt) if (planes * opl > CPU_NN_PAR_MIN_WORK / 8) schedule(static)
  for (int64_t nc = 0; nc < planes; nc++) {
    const float *src = xd + nc * ipl;
    int64_t o = nc * opl;
    for (int64_t od = 0; od < w3.pos[0]; od++) {
      int64_t d0, d1, pd0, pd1;
      taps(&w3, 0, od, &d0, &d1);
      taps(&padded, 0, od, &pd0, &pd1);
      for (int64_t oh = 0; oh < w3.pos[1]; oh++) {
        int64_t h0, h1, ph0, ph1;
        taps(&w3, 1, oh, &h0, &h1);
        taps(&padded, 1, oh, &ph0, &ph1);
        for (int64_t ow = 0; ow < w3.pos[2]; ow++, o++) {
          int64_t w0, w1, pw0, pw1;
          taps(&w3, 2, ow, &w0, &w1);
          taps(&padded, 2, ow, &pw0, &pw1);
          float sum = 0.f;
          for (int64_t kd = d0; kd < d1; kd++) {
            int64_t id = od * w3.s[0] - w3.p[0] + kd * w3.d[0];
            for (int64_t kh = h0; kh < h1; kh++) {
              int64_t ih = oh * w3.s[1] - w3.p[1] + kh * w3.d[1];
              const float *row = src + (id * H + ih) * W;
              for (int64_t kw = w0; kw < w1; kw++) sum += row[ow * w3.s[2] - w3.p[2] + kw * w3.d[2]];
            }
          }
          int64_t cnt = incl ? (pd1 - pd0) * (ph1 - ph0) * (pw1 - pw0) : (d1 - d0) * (h1 - h0) * (w1 - w0);
          yd[o] = cnt > 0 ? sum / (float)cnt : 0.f;
        }
      }
    }
  }
  return ONYX_OK;
}

void cpu_mean_planes_f32(const float *x, float *y, int64_t planes, int64_t inner, int nt)
{
#pragma omp parallel for num_threads(nt) if (planes * inner > CPU_NN_PAR_MIN_WORK) schedule(static)
  for (int64_t nc = 0; nc < planes; nc++) {
    const float *src = x + nc * inner;
    double s = 0; /* double: planes can be large and the mean should not drift */
    for (int64_t i = 0; i < inner; i++) s += src[i];
    y[nc] = inner > 0 ? (float)(s / (double)inner) : NAN;
  }
}

static onyx_status global_pool(cpu_ctx *ctx, const ir_graph *g, const ir_node *n, bool is_max)
{
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  ONYX_TRY(cpu_nn_need_float(n, x));
  const int64_t planes = x->dims[0] * x->dims[1], inner = onyx_numel(x->ndim - 2, x->dims + 2);
  const float *xd = x->data;
  float *yd = y->data;
  const int nt = cpu_nn_threads(ctx);
  if (!is_max) {
    cpu_mean_planes_f32(xd, yd, planes, inner, nt);
    return ONYX_OK;
  }
#pragma omp parallel for num_threads(nt) if (planes * inner > CPU_NN_PAR_MIN_WORK) schedule(static)
  for (int64_t nc = 0; nc < planes; nc++) {
    const float *src = xd + nc * inner;
    float m = inner > 0 ? src[0] : -INFINITY;
    for (int64_t i = 1; i < inner; i++) m = src[i] > m ? src[i] : m;
    yd[nc] = m;
  }
  return ONYX_OK;
}

onyx_status cpu_global_average_pool(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  return global_pool(ctx, g, n, false);
}

onyx_status cpu_global_max_pool(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  return global_pool(ctx, g, n, true);
}
