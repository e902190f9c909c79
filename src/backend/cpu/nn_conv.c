/* CPU kernels for Conv and ConvTranspose (float32).
 *
 * Conv: per image and group, im2col into scratch then one OpenBLAS sgemm
 * (W_g [M/G x C/G*k] * col [C/G*k x out]); a 1x1, stride 1, unpadded conv
 * multiplies the input directly.  Depthwise conv (group == C == M) is a
 * direct kernel, parallel over N*C.  ConvTranspose is the adjoint: one sgemm
 * W_g^T * X_g into columns, then col2im scatters them into Y.
 * Spatial ranks 1..3 are handled as 3-D with leading extents of 1. */
#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "backend/cpu/nn_window.h"
#include "common/util.h"

/* col[(c, kd, kh, kw), (od, oh, ow)] = x[c, coordinate] or 0 outside. */
static void im2col3(const float *x, int64_t channels, const cpu_win3 *w, float *col, int nt)
{
  const int64_t kvol = w->k[0] * w->k[1] * w->k[2], ncols = w->pos[0] * w->pos[1] * w->pos[2];
  const int64_t plane = w->img[1] * w->img[2], rows = channels * kvol, OH = w->pos[1], OW = w->pos[2];
#pragma omp parallel for num_threads(nt) if (rows * ncols > CPU_NN_PAR_MIN_WORK) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t c = r / kvol, kr = r % kvol;
    int64_t kd = kr / (w->k[1] * w->k[2]), kh = (kr / w->k[2]) % w->k[1], kw = kr % w->k[2];
    float *dst = col + r * ncols;
    const float *src = x + c * w->img[0] * plane;
    int64_t offw = kw * w->d[2] - w->p[2], lo, hi;
    cpu_nn_valid_range(offw, w->s[2], w->img[2], OW, &lo, &hi);
    for (int64_t od = 0; od < w->pos[0]; od++) {
      int64_t id = od * w->s[0] - w->p[0] + kd * w->d[0];
      for (int64_t oh = 0; oh < OH; oh++) {
        float *row = dst + (od * OH + oh) * OW;
        int64_t ih = oh * w->s[1] - w->p[1] + kh * w->d[1];
        if (id < 0 || id >= w->img[0] || ih < 0 || ih >= w->img[1]) {
          memset(row, 0, (size_t)OW * sizeof(float));
          continue;
        }
        const float *srow = src + id * plane + ih * w->img[2];
        if (lo > 0) memset(row, 0, (size_t)lo * sizeof(float));
        if (w->s[2] == 1) {
          if (hi > lo) memcpy(row + lo, srow + lo + offw, (size_t)(hi - lo) * sizeof(float));
        } else {
          const int64_t sw = w->s[2];
          for (int64_t ow = lo; ow < hi; ow++) row[ow] = srow[ow * sw + offw];
        }
        if (hi < OW) memset(row + hi, 0, (size_t)(OW - hi) * sizeof(float));
      }
    }
  }
}

/* y[c, coordinate] += col[(c, kd, kh, kw), (id, ih, iw)] for coordinates inside y. */
static void col2im3(const float *col, int64_t channels, const cpu_win3 *w, float *y, int nt)
{
  const int64_t kvol = w->k[0] * w->k[1] * w->k[2], ncols = w->pos[0] * w->pos[1] * w->pos[2];
  const int64_t plane = w->img[1] * w->img[2], IH = w->pos[1], IW = w->pos[2];
#pragma omp parallel for num_threads(nt) if (channels * kvol * ncols > CPU_NN_PAR_MIN_WORK) schedule(static)
  for (int64_t c = 0; c < channels; c++) { /* each channel owns its output plane: no races */
    float *dst = y + c * w->img[0] * plane;
    for (int64_t kr = 0; kr < kvol; kr++) {
      int64_t kd = kr / (w->k[1] * w->k[2]), kh = (kr / w->k[2]) % w->k[1], kw = kr % w->k[2];
      const float *src = col + (c * kvol + kr) * ncols;
      int64_t offw = kw * w->d[2] - w->p[2], lo, hi;
      cpu_nn_valid_range(offw, w->s[2], w->img[2], IW, &lo, &hi);
      for (int64_t id = 0; id < w->pos[0]; id++) {
        int64_t od = id * w->s[0] - w->p[0] + kd * w->d[0];
        if (od < 0 || od >= w->img[0]) continue;
        for (int64_t ih = 0; ih < IH; ih++) {
          int64_t oh = ih * w->s[1] - w->p[1] + kh * w->d[1];
          if (oh < 0 || oh >= w->img[1]) continue;
          const float *srow = src + (id * IH + ih) * IW;
          float *drow = dst + od * plane + oh * w->img[2];
          const int64_t sw = w->s[2];
          for (int64_t iw = lo; iw < hi; iw++) drow[iw * sw + offw] += srow[iw];
        }
      }
    }
  }
}

/* Depthwise (group == C == M, weight C x 1 x k) for one image plane per (n, c). */
static void depthwise3(const float *x, const float *wt, const float *bias, int64_t planes, int64_t channels,
                       const cpu_win3 *w, float *y, int nt)
{
  const int64_t kvol = w->k[0] * w->k[1] * w->k[2], ipl = w->img[0] * w->img[1] * w->img[2];
  const int64_t opl = w->pos[0] * w->pos[1] * w->pos[2], OH = w->pos[1], OW = w->pos[2];
  const int64_t hw = w->img[1] * w->img[2];
#pragma omp parallel for num_threads(nt) if (planes * opl * kvol > CPU_NN_PAR_MIN_WORK) schedule(static)
  for (int64_t nc = 0; nc < planes; nc++) {
    int64_t c = nc % channels;
    const float *src = x + nc * ipl, *wk = wt + c * kvol;
    float *dst = y + nc * opl;
    float b = bias ? bias[c] : 0.f;
    for (int64_t i = 0; i < opl; i++) dst[i] = b;
    for (int64_t kr = 0; kr < kvol; kr++) {
      int64_t kd = kr / (w->k[1] * w->k[2]), kh = (kr / w->k[2]) % w->k[1], kw = kr % w->k[2];
      float wv = wk[kr];
      int64_t offw = kw * w->d[2] - w->p[2], lo, hi;
      cpu_nn_valid_range(offw, w->s[2], w->img[2], OW, &lo, &hi);
      for (int64_t od = 0; od < w->pos[0]; od++) {
        int64_t id = od * w->s[0] - w->p[0] + kd * w->d[0];
        if (id < 0 || id >= w->img[0]) continue;
        for (int64_t oh = 0; oh < OH; oh++) {
          int64_t ih = oh * w->s[1] - w->p[1] + kh * w->d[1];
          if (ih < 0 || ih >= w->img[1]) continue;
          const float *srow = src + id * hw + ih * w->img[2];
          float *drow = dst + (od * OH + oh) * OW;
          if (w->s[2] == 1) {
            for (int64_t ow = lo; ow < hi; ow++) drow[ow] += wv * srow[ow + offw];
          } else {
            const int64_t sw = w->s[2];
            for (int64_t ow = lo; ow < hi; ow++) drow[ow] += wv * srow[ow * sw + offw];
          }
        }
      }
    }
  }
}

/* y[n, m, :] += bias[m] */
static void add_bias(float *y, const float *bias, int64_t batch, int64_t m, int64_t inner, int nt)
{
#pragma omp parallel for num_threads(nt) if (batch * m * inner > CPU_NN_PAR_MIN_WORK) schedule(static)
  for (int64_t nm = 0; nm < batch * m; nm++) {
    float b = bias[nm % m], *p = y + nm * inner;
    for (int64_t i = 0; i < inner; i++) p[i] += b;
  }
}

/* BLAS takes int sizes. */
static onyx_status check_blas_dims(const ir_node *n, int64_t a, int64_t b, int64_t c)
{
  if (a > INT_MAX || b > INT_MAX || c > INT_MAX)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "matrix sizes %lld x %lld x %lld exceed BLAS's int range", (long long)a,
                    (long long)b, (long long)c);
  return ONYX_OK;
}

static onyx_status no_scratch(const ir_node *n, size_t bytes)
{
  return op_error(n, ONYX_ERR_NO_MEMORY, "cannot allocate %zu bytes of scratch", bytes);
}

onyx_status cpu_conv(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const nn_conv_params *p = n->params;
  const ir_tensor *x = CPU_IN(g, n, 0), *w = CPU_IN(g, n, 1), *b = CPU_IN(g, n, 2);
  ir_tensor *y = CPU_OUT(g, n, 0);
  nn_geom gm;
  cpu_win3 w3;
  ONYX_TRY(cpu_nn_need_float(n, x));
  ONYX_TRY(nn_conv_geom(n, x, w, &gm));
  ONYX_TRY(cpu_nn_win3(n, &gm, false, &w3));
  const int nt = cpu_nn_threads(ctx);
  const int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], G = p->group, Cg = C / G, Mg = M / G;
  const int64_t in_sp = onyx_numel(gm.nsp, gm.in), out_sp = onyx_numel(gm.nsp, gm.out);
  const int64_t kvol = onyx_numel(gm.nsp, gm.kernel), K = Cg * kvol;
  const float *xd = x->data, *wd = w->data, *bd = b ? b->data : NULL;
  float *yd = y->data;
  if (N == 0 || M == 0 || out_sp == 0) return ONYX_OK;
  if (G == C && G == M) {
    depthwise3(xd, wd, bd, N * C, C, &w3, yd, nt);
    return ONYX_OK;
  }
  if (K == 0) { /* no input channels: the output is the bias */
    memset(yd, 0, (size_t)(N * M * out_sp) * sizeof(float));
    if (bd) add_bias(yd, bd, N, M, out_sp, nt);
    return ONYX_OK;
  }
  ONYX_TRY(check_blas_dims(n, Mg, out_sp, K));
  bool direct = kvol == 1;
  for (int i = 0; i < gm.nsp; i++)
    direct = direct && gm.strides[i] == 1 && gm.pad_begin[i] == 0 && gm.pad_end[i] == 0;
  float *col = NULL;
  if (!direct) {
    size_t bytes = (size_t)(K * out_sp) * sizeof(float);
    if (!(col = cpu_scratch(ctx, bytes))) return no_scratch(n, bytes);
  }
  for (int64_t in = 0; in < N; in++) {
    for (int64_t gi = 0; gi < G; gi++) {
      const float *xg = xd + (in * C + gi * Cg) * in_sp, *src = xg;
      if (!direct) {
        im2col3(xg, Cg, &w3, col, nt);
        src = col;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Mg, (int)out_sp, (int)K, 1.0f, wd + gi * Mg * K,
                  (int)K, src, (int)out_sp, 0.0f, yd + (in * M + gi * Mg) * out_sp, (int)out_sp);
    }
  }
  if (bd) add_bias(yd, bd, N, M, out_sp, nt);
  return ONYX_OK;
}

onyx_status cpu_conv_transpose(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const nn_conv_params *p = n->params;
  const ir_tensor *x = CPU_IN(g, n, 0), *w = CPU_IN(g, n, 1), *b = CPU_IN(g, n, 2);
  ir_tensor *y = CPU_OUT(g, n, 0);
  nn_geom gm;
  cpu_win3 w3;
  ONYX_TRY(cpu_nn_need_float(n, x));
  ONYX_TRY(nn_conv_transpose_geom(n, x, w, &gm));
  ONYX_TRY(cpu_nn_win3(n, &gm, true, &w3));
  const int nt = cpu_nn_threads(ctx);
  const int64_t N = x->dims[0], C = x->dims[1], G = p->group, Cg = C / G, Mg = w->dims[1], M = Mg * G;
  const int64_t in_sp = onyx_numel(gm.nsp, gm.in), out_sp = onyx_numel(gm.nsp, gm.out);
  const int64_t kvol = onyx_numel(gm.nsp, gm.kernel), R = Mg * kvol;
  const float *xd = x->data, *wd = w->data, *bd = b ? b->data : NULL;
  float *yd = y->data;
  ONYX_TRY(check_blas_dims(n, R, in_sp, Cg));
  memset(yd, 0, (size_t)(N * M * out_sp) * sizeof(float));
  if (N > 0 && M > 0 && in_sp > 0 && Cg > 0) {
    size_t bytes = (size_t)(R * in_sp) * sizeof(float);
    float *col = cpu_scratch(ctx, bytes);
    if (!col) return no_scratch(n, bytes);
    for (int64_t in = 0; in < N; in++) {
      for (int64_t gi = 0; gi < G; gi++) {
        /* col [Mg*k x in_sp] = W_g^T [Mg*k x Cg] * X_g [Cg x in_sp]; W_g is rows gi*Cg.. of W viewed as C x Mg*k */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)R, (int)in_sp, (int)Cg, 1.0f, wd + gi * Cg * R,
                    (int)R, xd + (in * C + gi * Cg) * in_sp, (int)in_sp, 0.0f, col, (int)in_sp);
        col2im3(col, Mg, &w3, yd + (in * M + gi * Mg) * out_sp, nt);
      }
    }
  }
  if (bd) add_bias(yd, bd, N, M, out_sp, nt);
  return ONYX_OK;
}
