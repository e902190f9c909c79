/* CPU kernels for Conv and ConvTranspose (float32).
 *
 * Conv: per image and group, Y_g = W_g [M/G x C/G*k] * col [C/G*k x out] with
 * OpenBLAS sgemm, where col is the im2col matrix, built one column tile per
 * thread in scratch; a 1x1, stride 1, unpadded conv multiplies the input
 * directly.  Depthwise conv (group == C == M) is a direct kernel, parallel
 * over N*C.  ConvTranspose is the adjoint: one sgemm
 * W_g^T * X_g into columns, then col2im scatters them into Y.
 * Spatial ranks 1..3 are handled as 3-D with leading extents of 1. */
#include <limits.h>
#include <omp.h>
#include <string.h>

#include "backend/cpu/nn_window.h"
#include "common/util.h"

/* Rows [r0, r1) of the column matrix restricted to output positions [lo, lo + cnt):
 * col[r - r0][j] = x[c, coordinate of row r = (c, kd, kh, kw) at position lo + j], 0 outside x. */
static void im2col3(const float *x, const cpu_win3 *w, int64_t r0, int64_t r1, int64_t lo, int64_t cnt,
                    float *col)
{
  const int64_t kvol = w->k[0] * w->k[1] * w->k[2], plane = w->img[1] * w->img[2];
  const int64_t OH = w->pos[1], OW = w->pos[2], end = lo + cnt, sw = w->s[2];
  for (int64_t r = r0; r < r1; r++) {
    int64_t c = r / kvol, kr = r % kvol;
    int64_t kd = kr / (w->k[1] * w->k[2]), kh = (kr / w->k[2]) % w->k[1], kw = kr % w->k[2];
    float *dst = col + (r - r0) * cnt;
    const float *src = x + c * w->img[0] * plane;
    int64_t offw = kw * w->d[2] - w->p[2], vlo, vhi;
    cpu_nn_valid_range(offw, sw, w->img[2], OW, &vlo, &vhi);
    for (int64_t q = lo; q < end;) { /* one output row segment [ow0, ow1) at a time */
      int64_t od = q / (OH * OW), oh = (q / OW) % OH, ow0 = q % OW;
      int64_t ow1 = OW < ow0 + (end - q) ? OW : ow0 + (end - q);
      float *seg = dst + (q - lo); /* seg[ow - ow0] for ow in [ow0, ow1) */
      int64_t id = od * w->s[0] - w->p[0] + kd * w->d[0], ih = oh * w->s[1] - w->p[1] + kh * w->d[1];
      if (id < 0 || id >= w->img[0] || ih < 0 || ih >= w->img[1]) {
        memset(seg, 0, (size_t)(ow1 - ow0) * sizeof(float));
      } else {
        const float *srow = src + id * plane + ih * w->img[2];
        int64_t a = vlo > ow0 ? vlo : ow0, b = vhi < ow1 ? vhi : ow1;
        if (b < a) b = a = ow1 < a ? ow1 : a;
        if (a > ow0) memset(seg, 0, (size_t)(a - ow0) * sizeof(float));
        if (sw == 1) {
          if (b > a) memcpy(seg + (a - ow0), srow + a + offw, (size_t)(b - a) * sizeof(float));
        } else {
          for (int64_t ow = a; ow < b; ow++) seg[ow - ow0] = srow[ow * sw + offw];
        }
        if (ow1 > b) memset(seg + (b - ow0), 0, (size_t)(ow1 - b) * sizeof(float));
      }
      q += ow1 - ow0;
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

#define DW_MAX_KW 32

/* The build targets baseline x86-64 (SSE2); the depthwise loops are worth an
 * AVX2 clone, picked at load time by CPU feature (OpenBLAS dispatches by itself). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define CPU_NN_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CPU_NN_SIMD_CLONES
#endif

/* Depthwise (group == C == M, weight C x 1 x k), one (n, c) plane per
 * iteration.  Output row by output row (the row stays in L1), each kernel row
 * adds its taps from one input row; with 3 taps per kernel row (the usual
 * 3x3) the columns where all three are inside the input take one fused,
 * vectorised pass and only the borders go tap by tap. */
CPU_NN_SIMD_CLONES static void depthwise3(const float *x, const float *wt, const float *bias, int64_t planes,
                                          int64_t channels, const cpu_win3 *w, float *y, int nt)
{
  const int64_t kvol = w->k[0] * w->k[1] * w->k[2], ipl = w->img[0] * w->img[1] * w->img[2];
  const int64_t opl = w->pos[0] * w->pos[1] * w->pos[2], OH = w->pos[1], OW = w->pos[2];
  const int64_t hw = w->img[1] * w->img[2], KW = w->k[2], sw = w->s[2];
  /* each kernel column's valid output range is the same on every row */
  int64_t lo_hi[2 * DW_MAX_KW], ilo = 0, ihi = OW;
  const bool cached = KW <= DW_MAX_KW;
  for (int64_t kw = 0; cached && kw < KW; kw++) {
    cpu_nn_valid_range(kw * w->d[2] - w->p[2], sw, w->img[2], OW, &lo_hi[2 * kw], &lo_hi[2 * kw + 1]);
    if (lo_hi[2 * kw] > ilo) ilo = lo_hi[2 * kw];
    if (lo_hi[2 * kw + 1] < ihi) ihi = lo_hi[2 * kw + 1];
  }
  const bool fused3 = KW == 3 && ilo < ihi;
  const int64_t o0 = -w->p[2], o1 = w->d[2] - w->p[2], o2 = 2 * w->d[2] - w->p[2];
#pragma omp parallel for num_threads(nt) if (planes * opl * kvol > CPU_NN_PAR_MIN_WORK) schedule(static)
  for (int64_t nc = 0; nc < planes; nc++) {
    const int64_t c = nc % channels;
    const float *src = x + nc * ipl, *wk = wt + c * kvol;
    const float b = bias ? bias[c] : 0.f;
    for (int64_t od = 0; od < w->pos[0]; od++) {
      for (int64_t oh = 0; oh < OH; oh++) {
        float *restrict drow = y + nc * opl + (od * OH + oh) * OW;
        for (int64_t ow = 0; ow < OW; ow++) drow[ow] = b;
        for (int64_t kd = 0; kd < w->k[0]; kd++) {
          int64_t id = od * w->s[0] - w->p[0] + kd * w->d[0];
          if (id < 0 || id >= w->img[0]) continue;
          for (int64_t kh = 0; kh < w->k[1]; kh++) {
            int64_t ih = oh * w->s[1] - w->p[1] + kh * w->d[1];
            if (ih < 0 || ih >= w->img[1]) continue;
            const float *restrict srow = src + id * hw + ih * w->img[2];
            const float *wrow = wk + (kd * w->k[1] + kh) * KW;
            if (fused3) {
              const float w0 = wrow[0], w1 = wrow[1], w2 = wrow[2];
              if (sw == 1) {
#pragma omp simd
                for (int64_t ow = ilo; ow < ihi; ow++)
                  drow[ow] += w0 * srow[ow + o0] + w1 * srow[ow + o1] + w2 * srow[ow + o2];
              } else {
#pragma omp simd
                for (int64_t ow = ilo; ow < ihi; ow++)
                  drow[ow] += w0 * srow[ow * sw + o0] + w1 * srow[ow * sw + o1] + w2 * srow[ow * sw + o2];
              }
            }
            for (int64_t kw = 0; kw < KW; kw++) {
              const float wv = wrow[kw];
              const int64_t off = kw * w->d[2] - w->p[2];
              int64_t lo, hi;
              if (cached)
                lo = lo_hi[2 * kw], hi = lo_hi[2 * kw + 1];
              else
                cpu_nn_valid_range(off, sw, w->img[2], OW, &lo, &hi);
              if (fused3) { /* only the border columns are left: [lo, ilo) and [ihi, hi) */
                for (int64_t ow = lo; ow < ilo; ow++) drow[ow] += wv * srow[ow * sw + off];
                for (int64_t ow = ihi; ow < hi; ow++) drow[ow] += wv * srow[ow * sw + off];
              } else if (sw == 1) {
#pragma omp simd
                for (int64_t ow = lo; ow < hi; ow++) drow[ow] += wv * srow[ow + off];
              } else {
#pragma omp simd
                for (int64_t ow = lo; ow < hi; ow++) drow[ow] += wv * srow[ow * sw + off];
              }
            }
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
#pragma omp simd
    for (int64_t i = 0; i < inner; i++) p[i] += b;
  }
}

/* BLAS takes int sizes. */
static onyx_status check_blas_dims(const ir_node *n, int64_t a, int64_t b, int64_t c)
{
  if (a > INT_MAX || b > INT_MAX || c > INT_MAX)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "matrix sizes %lld x %lld x %lld exceed BLAS's int range",
                    (long long)a, (long long)b, (long long)c);
  return ONYX_OK;
}

static onyx_status no_scratch(const ir_node *n, size_t bytes)
{
  return op_error(n, ONYX_ERR_NO_MEMORY, "cannot allocate %zu bytes of scratch", bytes);
}

/* Columns per tile: one tile per thread, at least 64 columns.  Measured on
 * ResNet18 (2 cores): one large sgemm per thread matches a whole-matrix sgemm
 * split across threads and beats L2-sized tiles (many small sgemm calls run
 * further from peak), and it needs one parallel region per conv instead of
 * three (im2col, sgemm, bias): fewer barriers to wait at on a busy machine. */
static int64_t conv_tile(int64_t out_sp, int nt)
{
  int64_t t = ((out_sp + nt - 1) / nt + 15) / 16 * 16;
  return t < 64 ? 64 : t;
}

/* One image and group of a Conv: Y_g[:, tile] = W_g * col(tile) (+ bias), tile by tile. */
static void conv_tiles(const float *x, const cpu_win3 *w, const float *wg, int64_t mg, int64_t K, bool direct,
                       int64_t tile, float *scratch, float *y, int64_t out_sp, const float *bias, int nt)
{
  const int64_t ntiles = (out_sp + tile - 1) / tile;
#pragma omp parallel for num_threads(nt) if (ntiles > 1 && mg * K * out_sp > CPU_NN_PAR_MIN_WORK)            \
    schedule(static, 1)
  for (int64_t t = 0; t < ntiles; t++) {
    int64_t lo = t * tile, cnt = out_sp - lo < tile ? out_sp - lo : tile;
    const float *src;
    int64_t ld;
    if (direct) { /* 1x1, stride 1, no padding: X's channels are the column matrix's rows */
      src = x + lo, ld = out_sp;
    } else {
      float *buf = scratch + (int64_t)omp_get_thread_num() * K * tile;
      im2col3(x, w, 0, K, lo, cnt, buf);
      src = buf, ld = cnt;
    }
    cpu_nn_sgemm(1, false, false, mg, cnt, K, 1.0f, wg, K, src, ld, 0.0f, y + lo, out_sp);
    if (bias)
      for (int64_t m = 0; m < mg; m++) {
        float b = bias[m], *row = y + m * out_sp + lo;
#pragma omp simd
        for (int64_t j = 0; j < cnt; j++) row[j] += b;
      }
  }
}

onyx_status cpu_conv(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  return cpu_conv_into(ctx, g, n, CPU_OUT(g, n, 0)->data);
}

onyx_status cpu_conv_into(cpu_ctx *ctx, const ir_graph *g, const ir_node *n, float *yd)
{
  const nn_conv_params *p = n->params;
  const ir_tensor *x = CPU_IN(g, n, 0), *w = CPU_IN(g, n, 1), *b = CPU_IN(g, n, 2);
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
  /* Output positions are cut into one column tile per thread: im2col of the
   * tile then its sgemm, in one region.  With too few positions for a tile per
   * thread the whole column matrix is built (rows split across threads) and the
   * sgemm split by output channels. */
  const int64_t tile = conv_tile(out_sp, nt);
  const bool tiled = (out_sp + tile - 1) / tile >= nt;
  size_t bytes = direct ? 0 : (size_t)(tiled ? nt * K * tile : K * out_sp) * sizeof(float);
  float *col = NULL;
  if (bytes && !(col = cpu_scratch(ctx, bytes))) return no_scratch(n, bytes);
  for (int64_t in = 0; in < N; in++) {
    for (int64_t gi = 0; gi < G; gi++) {
      const float *xg = xd + (in * C + gi * Cg) * in_sp, *wg = wd + gi * Mg * K;
      float *yg = yd + (in * M + gi * Mg) * out_sp;
      if (tiled) {
        conv_tiles(xg, &w3, wg, Mg, K, direct, tile, col, yg, out_sp, bd ? bd + gi * Mg : NULL, nt);
        continue;
      }
      const float *src = xg;
      if (!direct) {
#pragma omp parallel for num_threads(nt) if (K * out_sp > CPU_NN_PAR_MIN_WORK) schedule(static)
        for (int64_t r = 0; r < K; r++) im2col3(xg, &w3, r, r + 1, 0, out_sp, col + r * out_sp);
        src = col;
      }
      cpu_nn_sgemm(nt, false, false, Mg, out_sp, K, 1.0f, wg, K, src, out_sp, 0.0f, yg, out_sp);
      if (bd) add_bias(yg, bd + gi * Mg, 1, Mg, out_sp, nt);
    }
  }
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
        /* col [Mg*k x in_sp] = W_g^T [Mg*k x Cg] * X_g [Cg x in_sp]; W_g is rows gi*Cg.. of W viewed as C x
         * Mg*k */
        cpu_nn_sgemm(nt, true, false, R, in_sp, Cg, 1.0f, wd + gi * Cg * R, R,
                     xd + (in * C + gi * Cg) * in_sp, in_sp, 0.0f, col, in_sp);
        col2im3(col, Mg, &w3, yd + (in * M + gi * Mg) * out_sp, nt);
      }
    }
  }
  if (bd) add_bias(yd, bd, N, M, out_sp, nt);
  return ONYX_OK;
}
