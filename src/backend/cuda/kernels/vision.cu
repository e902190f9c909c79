// Image pipeline kernels: one pass from a decoded RGB8 image to a model input,
// and a detector's candidates, score sort and class-wise NMS (kernels/vision.h).
// dev/cuda/vision_emu/run.sh runs these kernel bodies on the host against the
// CPU reference; it cuts them out from '#define PREP_TX' to 'static void
// prep_launch' and from '#define DET_BLOCK' to the first det entry.
#include "backend/cuda/kernels/kcommon.cuh"
#include "backend/cuda/kernels/vision.h"

/* ---- preprocessing --------------------------------------------------------
 *
 * Output pixel (ox, oy) shows resized pixel (ox - off_x, oy - off_y), or the
 * pad level outside the resized image; every channel is then (level - mean) *
 * inv_std, stored CHW.  The resize is computed exactly as image.c's
 * image_resize_bilinear (PIL's BILINEAR): the same 22-bit fixed-point weights,
 * built from the same double-precision expressions (every double operation is
 * an explicit round-to-nearest intrinsic, so that nvcc cannot contract a
 * multiply and an add into an FMA that the host code does not have), a
 * horizontal sum rounded to 8 bits per source row, then the vertical sum
 * rounded to 8 bits.  The two passes are fused: a thread computes, for each of
 * its output pixel's source rows, that row's horizontal sum, so the levels
 * equal the CPU's bit for bit and the values differ from prep_apply's only by
 * float rounding of the normalisation (bound: 0 gray levels; the test allows
 * one gray level, times inv_std).
 *
 * Blocks are 32 x 8 output pixels (a warp is 32 consecutive pixels of a row:
 * its stores to each plane are coalesced).  The block first computes the taps
 * of its 32 columns and 8 rows into shared memory; when they do not fit (a
 * downscale by more than about 150), each thread computes the weights it needs
 * as it goes (the same values, slower). */

#define PREP_TX 32
#define PREP_TY 8
#define PREP_BITS 22 /* image.c's RS_BITS */
#define PREP_SMEM_MAX (48 * 1024)

// One axis of the resample, as image.c's axis_init sets it up (on the host, in plain C, like there).
struct prep_axis {
  int in, max_taps;
  double scale, fscale; // the support equals fscale
};

static prep_axis prep_axis_make(int in, int out)
{
  prep_axis a;
  a.in = in;
  a.scale = (double)in / out;
  a.fscale = a.scale > 1.0 ? a.scale : 1.0;
  a.max_taps = (int)ceil(a.fscale) * 2 + 1;
  return a;
}

// The taps of output coordinate i: input lo .. lo + n - 1, the triangle's centre and the sum of its values.
struct prep_span {
  int lo, n;
  double centre, sum;
};

// triangle((j - centre + 0.5) / fscale) for input index j, as image.c's axis_init.
__device__ __forceinline__ double prep_tri(const prep_axis &a, int j, double centre)
{
  double x = fabs(__ddiv_rn(__dadd_rn(__dsub_rn((double)j, centre), 0.5), a.fscale));
  return x < 1.0 ? __dsub_rn(1.0, x) : 0.0;
}

__device__ prep_span prep_span_at(const prep_axis &a, int i)
{
  prep_span s;
  s.centre = __dmul_rn((double)i + 0.5, a.scale);
  int lo = (int)__dadd_rn(__dsub_rn(s.centre, a.fscale), 0.5);
  int hi = (int)__dadd_rn(__dadd_rn(s.centre, a.fscale), 0.5);
  if (lo < 0) lo = 0;
  if (hi > a.in) hi = a.in;
  int n = hi - lo;
  if (n > a.max_taps) n = a.max_taps;
  double sum = 0.0;
  for (int k = 0; k < n; k++) sum = __dadd_rn(sum, prep_tri(a, lo + k, s.centre));
  s.lo = lo;
  s.n = n;
  s.sum = sum;
  return s;
}

// The fixed-point weight of tap k (image.c: floor(w / sum * 2^22 + 0.5)); never negative.
__device__ __forceinline__ uint32_t prep_weight(const prep_axis &a, const prep_span &s, int k)
{
  double v = s.sum > 0.0 ? __ddiv_rn(prep_tri(a, s.lo + k, s.centre), s.sum) : 0.0;
  return (uint32_t)floor(__dadd_rn(__dmul_rn(v, (double)(1 << PREP_BITS)), 0.5));
}

// Weights are at most 2^22 + taps / 2 in total per pixel, so 255 * that + 2^21 stays far below 2^32.
__device__ __forceinline__ uint32_t prep_round8(uint32_t acc)
{
  uint32_t v = acc >> PREP_BITS;
  return v > 255u ? 255u : v;
}

template <typename T, bool CACHED>
static __global__ void __launch_bounds__(PREP_TX *PREP_TY)
    prep_kernel(prep_plan p, prep_axis ax, prep_axis ay, const uint8_t *__restrict__ src, T *__restrict__ dst)
{
  // CACHED: [32] column first tap, [32] column taps, [8] row first tap, [8] row taps,
  // [32 * ax.max_taps] column weights, [8 * ay.max_taps] row weights
  extern __shared__ uint32_t prep_smem[];
  uint32_t *xlo = prep_smem, *xn = xlo + PREP_TX, *ylo = xn + PREP_TX, *yn = ylo + PREP_TY;
  uint32_t *xw = yn + PREP_TY, *yw = xw + (size_t)PREP_TX * ax.max_taps;
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int ox = blockIdx.x * PREP_TX + tx, oy = blockIdx.y * PREP_TY + ty;
  const int sx = ox - p.off_x, sy = oy - p.off_y; // in the resized image
  if (CACHED) {
    const int tid = ty * PREP_TX + tx;
    if (tid < PREP_TX) { // warp 0: the block's columns
      const int c = blockIdx.x * PREP_TX + tid - p.off_x;
      if (c >= 0 && c < p.rs_w) {
        const prep_span s = prep_span_at(ax, c);
        xlo[tid] = (uint32_t)s.lo;
        xn[tid] = (uint32_t)s.n;
        for (int k = 0; k < s.n; k++) xw[(size_t)tid * ax.max_taps + k] = prep_weight(ax, s, k);
      }
    } else if (tid < PREP_TX + PREP_TY) { // 8 lanes of warp 1: the block's rows
      const int r = tid - PREP_TX, row = blockIdx.y * PREP_TY + r - p.off_y;
      if (row >= 0 && row < p.rs_h) {
        const prep_span s = prep_span_at(ay, row);
        ylo[r] = (uint32_t)s.lo;
        yn[r] = (uint32_t)s.n;
        for (int k = 0; k < s.n; k++) yw[(size_t)r * ay.max_taps + k] = prep_weight(ay, s, k);
      }
    }
    __syncthreads();
  }
  if (ox >= p.out_w || oy >= p.out_h) return;

  float level[3] = {p.pad, p.pad, p.pad};
  if (sx >= 0 && sx < p.rs_w && sy >= 0 && sy < p.rs_h) {
    int fx, nx, fy, ny;
    prep_span spx, spy;
    if (CACHED) {
      fx = (int)xlo[tx];
      nx = (int)xn[tx];
      fy = (int)ylo[ty];
      ny = (int)yn[ty];
    } else {
      spx = prep_span_at(ax, sx);
      spy = prep_span_at(ay, sy);
      fx = spx.lo;
      nx = spx.n;
      fy = spy.lo;
      ny = spy.n;
    }
    const uint32_t *wx = xw + (size_t)tx * ax.max_taps, *wy = yw + (size_t)ty * ay.max_taps;
    const uint32_t half = 1u << (PREP_BITS - 1);
    uint32_t a0 = half, a1 = half, a2 = half;
    for (int ky = 0; ky < ny; ky++) {
      const uint8_t *q = src + ((size_t)(fy + ky) * (size_t)p.src_w + (size_t)fx) * 3;
      uint32_t h0 = half, h1 = half, h2 = half;
      for (int kx = 0; kx < nx; kx++, q += 3) {
        const uint32_t w = CACHED ? wx[kx] : prep_weight(ax, spx, kx);
        h0 += q[0] * w;
        h1 += q[1] * w;
        h2 += q[2] * w;
      }
      const uint32_t w = CACHED ? wy[ky] : prep_weight(ay, spy, ky);
      a0 += prep_round8(h0) * w;
      a1 += prep_round8(h1) * w;
      a2 += prep_round8(h2) * w;
    }
    level[0] = (float)prep_round8(a0);
    level[1] = (float)prep_round8(a1);
    level[2] = (float)prep_round8(a2);
  }
  const size_t plane = (size_t)p.out_w * (size_t)p.out_h, o = (size_t)oy * (size_t)p.out_w + (size_t)ox;
  for (int c = 0; c < 3; c++) dst[c * plane + o] = k_st<T>((level[c] - p.mean[c]) * p.inv_std[c]);
}

template <typename T>
static void prep_launch(const prep_plan *p, const uint8_t *src, T *dst, cudaStream_t stream)
{
  const prep_axis ax = prep_axis_make(p->src_w, p->rs_w), ay = prep_axis_make(p->src_h, p->rs_h);
  const dim3 block(PREP_TX, PREP_TY);
  const dim3 grid((unsigned)((p->out_w + PREP_TX - 1) / PREP_TX), (unsigned)((p->out_h + PREP_TY - 1) / PREP_TY));
  const size_t smem = sizeof(uint32_t) * (2 * PREP_TX + 2 * PREP_TY + (size_t)PREP_TX * ax.max_taps +
                                          (size_t)PREP_TY * ay.max_taps);
  if (smem <= PREP_SMEM_MAX)
    prep_kernel<T, true><<<grid, block, smem, stream>>>(*p, ax, ay, src, dst);
  else
    prep_kernel<T, false><<<grid, block, 0, stream>>>(*p, ax, ay, src, dst);
}

extern "C" cudaError_t cuda_vision_prep(const prep_plan *p, const uint8_t *src, void *dst, onyx_dtype dt,
                                        cudaStream_t stream)
{
  switch (dt) {
  case ONYX_DTYPE_FLOAT: prep_launch(p, src, (float *)dst, stream); break;
  case ONYX_DTYPE_FLOAT16: prep_launch(p, src, (__half *)dst, stream); break;
  default: return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}

/* ---- detector post-processing ---------------------------------------------
 *
 * Two kernels, both enqueue-only (no host round trip; the count stays on the
 * device):
 *   candidates  one thread per anchor: best class (the first of equal scores),
 *               score, box in input pixels; each block of 256 anchors compacts
 *               its candidates in anchor order (warp ballots) at the front of
 *               its staging records and writes their number.
 *   select      one block of 256 threads: prefix sum of the block counts, then
 *               one 64-bit key per candidate among the first cap in anchor
 *               order (high half: the score mapped to an unsigned integer that
 *               orders descending; low half: the staging index, which orders
 *               like the anchor), a bitonic sort of the keys (shared memory up
 *               to 2048 keys, else global scratch), and the greedy NMS in score
 *               order, 256 candidates at a time: each is first tested against
 *               the boxes already kept, then a 256 x 256 bit matrix of the
 *               chunk's own suppressions is resolved in order by one warp.
 * The keys are distinct, so the order is det_nms's stable sort; the IoU is
 * det_nms's formula with every rounding step explicit. */

#define DET_BLOCK CUDA_DET_BLOCK
#define DET_WORDS (DET_BLOCK / 32)

template <typename T>
static __global__ void __launch_bounds__(DET_BLOCK)
    det_candidates_kernel(det_layout l, const T *__restrict__ boxes, const T *__restrict__ scores, float in_w,
                          float in_h, float conf, det_box *__restrict__ staging, int *__restrict__ blk_cnt)
{
  __shared__ int s_warp[DET_WORDS];
  const int a = blockIdx.x * DET_BLOCK + threadIdx.x;
  const int n = l.n_anchors, nc = l.n_classes;
  det_box b;
  bool keep = false;
  if (a < n) {
    float best;
    int cls = 0;
    if (l.fmt == DET_YOLOV8) { // (4 + C) x N: element (k, a) at k * N + a
      const T *col = boxes + a;
      best = k_ld(col[(size_t)4 * n]);
      for (int c = 1; c < nc; c++) {
        const float v = k_ld(col[(size_t)(4 + c) * n]);
        if (v > best) {
          best = v;
          cls = c;
        }
      }
      const float cx = k_ld(col[0]), cy = k_ld(col[(size_t)n]), w = k_ld(col[(size_t)2 * n]),
                  h = k_ld(col[(size_t)3 * n]);
      b.x1 = cx - 0.5f * w;
      b.y1 = cy - 0.5f * h;
      b.x2 = cx + 0.5f * w;
      b.y2 = cy + 0.5f * h;
    } else if (l.fmt == DET_YOLOV5) { // N x (5 + C): cx, cy, w, h, objectness, classes
      const T *row = boxes + (size_t)a * (size_t)(5 + nc);
      best = k_ld(row[5]);
      for (int c = 1; c < nc; c++) {
        const float v = k_ld(row[5 + c]);
        if (v > best) {
          best = v;
          cls = c;
        }
      }
      best = k_ld(row[4]) * best;
      const float cx = k_ld(row[0]), cy = k_ld(row[1]), w = k_ld(row[2]), h = k_ld(row[3]);
      b.x1 = cx - 0.5f * w;
      b.y1 = cy - 0.5f * h;
      b.x2 = cx + 0.5f * w;
      b.y2 = cy + 0.5f * h;
    } else { // SSD: boxes N x 4 normalised x1, y1, x2, y2; scores N x C (class 0 the background if any)
      const int c0 = l.background ? 1 : 0;
      const T *row = scores + (size_t)a * (size_t)nc;
      best = k_ld(row[c0]);
      for (int c = c0 + 1; c < nc; c++) {
        const float v = k_ld(row[c]);
        if (v > best) {
          best = v;
          cls = c - c0;
        }
      }
      const T *bx = boxes + (size_t)a * 4;
      b.x1 = k_ld(bx[0]) * in_w;
      b.y1 = k_ld(bx[1]) * in_h;
      b.x2 = k_ld(bx[2]) * in_w;
      b.y2 = k_ld(bx[3]) * in_h;
    }
    b.score = best;
    b.cls = cls;
    keep = best > conf;
  }
  // compaction in anchor order: rank within the warp from the ballot, the warps' counts before it
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const unsigned m = __ballot_sync(0xffffffffu, keep);
  if (lane == 0) s_warp[warp] = __popc(m);
  __syncthreads();
  int base = 0, total = 0;
  for (int w = 0; w < DET_WORDS; w++) {
    const int c = s_warp[w];
    base += w < warp ? c : 0;
    total += c;
  }
  if (keep) staging[(size_t)blockIdx.x * DET_BLOCK + base + __popc(m & ((1u << lane) - 1u))] = b;
  if (threadIdx.x == 0) blk_cnt[blockIdx.x] = total;
}

// An unsigned key that orders like the score, descending (-0 and +0 are equal scores).
__device__ __forceinline__ uint32_t det_score_key(float s)
{
  uint32_t u = __float_as_uint(s == 0.f ? 0.f : s);
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u); // ascending with the score
  return ~u;
}

// IoU as det_nms computes it: areas from x2 - x1 and y2 - y1, inter / (area_a + area_b - inter), 0 when
// the union is not positive.  Explicit roundings (no FMA contraction); symmetric in a and b.
__device__ __forceinline__ float det_iou(const det_box &a, const det_box &b)
{
  const float iw = fmaxf(__fsub_rn(fminf(a.x2, b.x2), fmaxf(a.x1, b.x1)), 0.f);
  const float ih = fmaxf(__fsub_rn(fminf(a.y2, b.y2), fmaxf(a.y1, b.y1)), 0.f);
  const float inter = __fmul_rn(iw, ih);
  const float area_a = __fmul_rn(__fsub_rn(a.x2, a.x1), __fsub_rn(a.y2, a.y1));
  const float area_b = __fmul_rn(__fsub_rn(b.x2, b.x1), __fsub_rn(b.y2, b.y1));
  const float uni = __fsub_rn(__fadd_rn(area_a, area_b), inter);
  return uni > 0.f ? __fdiv_rn(inter, uni) : 0.f;
}

// Exclusive prefix sum of v over the block (DET_BLOCK threads); *total gets the sum.  All threads call it.
__device__ __forceinline__ int det_block_scan(int v, int *total, int *s_warp)
{
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int x = v;
  for (int o = 1; o < 32; o <<= 1) {
    const int y = __shfl_up_sync(0xffffffffu, x, o);
    if (lane >= o) x += y;
  }
  __syncthreads(); // s_warp may still be read by the previous call
  if (lane == 31) s_warp[warp] = x;
  __syncthreads();
  int base = 0, sum = 0;
  for (int w = 0; w < DET_WORDS; w++) {
    const int c = s_warp[w];
    base += w < warp ? c : 0;
    sum += c;
  }
  *total = sum;
  return base + x - v;
}

static __global__ void __launch_bounds__(DET_BLOCK)
    det_select_kernel(int blocks, int cap, const det_box *__restrict__ staging, const int *__restrict__ blk_cnt,
                      unsigned long long *gkeys, float thr, int max_det, det_box *out, int *count)
{
  __shared__ int s_off[CUDA_DET_MAX_BLOCKS + 1];
  __shared__ unsigned long long s_keys[CUDA_DET_SORT_SMEM];
  __shared__ det_box s_box[DET_BLOCK];
  __shared__ uint32_t s_mask[DET_BLOCK * DET_WORDS];
  __shared__ uint32_t s_removed[DET_WORDS];
  __shared__ int s_warp[DET_WORDS];
  __shared__ int s_kept;
  const int t = threadIdx.x;

  // 1. where each block's candidates start in anchor order
  int total = 0;
  for (int b0 = 0; b0 < blocks; b0 += DET_BLOCK) {
    const int b = b0 + t;
    int sum;
    const int ex = det_block_scan(b < blocks ? blk_cnt[b] : 0, &sum, s_warp);
    if (b < blocks) s_off[b] = total + ex;
    total += sum;
  }
  if (t == 0) s_off[blocks] = total;
  __syncthreads();
  const int n = total < cap ? total : cap;
  if (n == 0) {
    if (t == 0) *count = 0;
    return;
  }

  // 2. keys of candidates 0 .. n-1 (anchor order), padded to a power of two with the largest key
  int np = 1;
  while (np < n) np <<= 1;
  unsigned long long *keys = np <= CUDA_DET_SORT_SMEM ? s_keys : gkeys;
  for (int r = t; r < np; r += DET_BLOCK) {
    unsigned long long key = ~0ull;
    if (r < n) { // the block holding candidate r: the last one starting at or before r
      int lo = 0, hi = blocks - 1;
      while (lo < hi) {
        const int mid = (lo + hi + 1) >> 1;
        if (s_off[mid] <= r)
          lo = mid;
        else
          hi = mid - 1;
      }
      const uint32_t i = (uint32_t)lo * DET_BLOCK + (uint32_t)(r - s_off[lo]);
      key = ((unsigned long long)det_score_key(staging[i].score) << 32) | i;
    }
    keys[r] = key;
  }
  __syncthreads();

  // 3. bitonic sort, ascending (global keys: __syncthreads orders the block's global accesses too)
  for (int k = 2; k <= np; k <<= 1) {
    for (int j = k >> 1; j > 0; j >>= 1) {
      for (int q = t; q < np / 2; q += DET_BLOCK) {
        const int lo = 2 * j * (q / j) + q % j, hi = lo + j; // lo has bit j clear
        const bool up = (lo & k) == 0;
        const unsigned long long x = keys[lo], y = keys[hi];
        if ((x > y) == up) {
          keys[lo] = y;
          keys[hi] = x;
        }
      }
      __syncthreads();
    }
  }

  // 4. greedy NMS in score order, DET_BLOCK candidates at a time
  int kept = 0;
  for (int c0 = 0; c0 < n && kept < max_det; c0 += DET_BLOCK) {
    const int m = n - c0 < DET_BLOCK ? n - c0 : DET_BLOCK;
    det_box me;
    bool sup = true;
    if (t < m) {
      me = staging[(uint32_t)keys[c0 + t]];
      sup = false;
      for (int k = 0; k < kept && !sup; k++) {
        const det_box o = out[k];
        sup = o.cls == me.cls && det_iou(o, me) > thr;
      }
      s_box[t] = me;
    }
    const unsigned sb = __ballot_sync(0xffffffffu, sup);
    if ((t & 31) == 0) s_removed[t >> 5] = sb;
    __syncthreads();
    // row t: bit u when candidate u (later in the chunk, same class) overlaps candidate t by more than thr
    for (int w = 0; w < DET_WORDS; w++) {
      uint32_t bits = 0;
      if (t < m) {
        const int u0 = t + 1 > 32 * w ? t + 1 : 32 * w, u1 = m < 32 * w + 32 ? m : 32 * w + 32;
        for (int u = u0; u < u1; u++) {
          const det_box o = s_box[u];
          if (o.cls == me.cls && det_iou(me, o) > thr) bits |= 1u << (u - 32 * w);
        }
      }
      s_mask[t * DET_WORDS + w] = bits;
    }
    __syncthreads();
    if (t < 32) { // warp 0 walks the chunk in order; lane w < DET_WORDS holds removed bits 32 w ..
      uint32_t rem = t < DET_WORDS ? s_removed[t] : 0u;
      int k = kept;
      for (int u = 0; u < m && k < max_det; u++) {
        const uint32_t word = __shfl_sync(0xffffffffu, rem, u >> 5);
        if (!((word >> (u & 31)) & 1u)) {
          if (t < DET_WORDS) rem |= s_mask[u * DET_WORDS + t];
          if (t == 0) out[k] = s_box[u];
          k++;
        }
      }
      if (t == 0) s_kept = k;
    }
    __syncthreads();
    kept = s_kept;
  }
  if (t == 0) *count = kept;
}

extern "C" cudaError_t cuda_vision_det_candidates(const det_layout *l, const void *boxes, const void *scores,
                                                  onyx_dtype dt, int in_w, int in_h, float conf,
                                                  det_box *staging, int *blk_cnt, cudaStream_t stream)
{
  const unsigned grid = (unsigned)((l->n_anchors + DET_BLOCK - 1) / DET_BLOCK);
  switch (dt) {
  case ONYX_DTYPE_FLOAT:
    det_candidates_kernel<float><<<grid, DET_BLOCK, 0, stream>>>(
        *l, (const float *)boxes, (const float *)scores, (float)in_w, (float)in_h, conf, staging, blk_cnt);
    break;
  case ONYX_DTYPE_FLOAT16:
    det_candidates_kernel<__half><<<grid, DET_BLOCK, 0, stream>>>(
        *l, (const __half *)boxes, (const __half *)scores, (float)in_w, (float)in_h, conf, staging, blk_cnt);
    break;
  default: return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}

extern "C" cudaError_t cuda_vision_det_select(int blocks, int cap, const det_box *staging, const int *blk_cnt,
                                              unsigned long long *gkeys, float iou, int max_det, det_box *out,
                                              int *count, cudaStream_t stream)
{
  if (blocks < 1 || blocks > CUDA_DET_MAX_BLOCKS || cap < 1 || max_det < 1) return cudaErrorInvalidValue;
  det_select_kernel<<<1, DET_BLOCK, 0, stream>>>(blocks, cap, staging, blk_cnt, gkeys, iou, max_det, out, count);
  return cudaSuccess;
}
