// Small-batch convolution with the reduction split over a thread-block cluster (conv_splitk.h).
//
// Grid (split, pixel tiles, channel tiles), clusters of (split, 1, 1): the blocks of a cluster share one
// 64-pixel x 32-channel output tile and take consecutive shares of its K steps (a step: one filter tap,
// 32 input channels).  Per block:
//   1. every step's filter slice (32 x 32) and im2col input slice (64 x 32, zeros outside the image) is
//      copied into shared memory with cp.async, the filter first and before griddepcontrol.wait: with
//      programmatic dependent launch the block starts while the previous kernel finishes and only the
//      input copies wait for it;
//   2. four warps, 16 pixels x 32 channels each, run mma.sync m16n8k16 (FP16 in, float accumulate) over
//      the steps; 64-byte rows of 16-byte chunks, the chunk index XORed with (row / 2) % 4 so that the
//      8 rows an ldmatrix reads fall in different banks;
//   3. the float partial tile goes to shared memory; after a cluster barrier, block r of the cluster
//      adds the rows r * 64 / split .. of all the cluster's partial tiles (in rank order: the result
//      does not depend on timing), applies bias, residual and activation, and stores FP16; a second
//      barrier keeps every block's shared memory alive until its peers have read it.
#include <cooperative_groups.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "backend/cuda/kernels/act.cuh"
#include "backend/cuda/kernels/conv_splitk.h"
#include "backend/cuda/kernels/mma.cuh"

namespace cg = cooperative_groups;

namespace {

constexpr int BM = 64, BN = 32, BK = CUDA_CONV_SPLITK_CH, THREADS = 128;
constexpr int A_BYTES = BM * BK * 2, B_BYTES = BN * BK * 2, STEP_BYTES = A_BYTES + B_BYTES;
constexpr int RST = BN + 8;                    // floats per row of the partial tile
constexpr int RED_BYTES = BM * RST * 4;
constexpr int MAX_SMEM = CUDA_CONV_SPLITK_MAX_STEPS * STEP_BYTES;
static_assert(BK == 32 && THREADS == 2 * BM && THREADS == 4 * BN, "one A row pair and one B row per thread group");
static_assert(RED_BYTES <= MAX_SMEM && MAX_SMEM <= 227 * 1024, "shared memory");

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900
// Byte offset of 16-byte chunk ch (0-3) of row r in a tile of 64-byte rows, swizzled (see the top).
__device__ __forceinline__ uint32_t swz(int r, int ch) { return (uint32_t)(r * 64 + ((ch ^ ((r >> 1) & 3)) << 4)); }
#endif

__global__ void __launch_bounds__(THREADS) conv_splitk_kernel(const cuda_conv_splitk_args p, int steps)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
  __trap(); // clusters need sm_90: cuda_conv_splitk_supported() keeps such builds from launching it
#else
  extern __shared__ __align__(128) unsigned char smem[];
  cg::cluster_group cluster = cg::this_cluster();
  const int rank = (int)cluster.block_rank(), split = (int)cluster.num_blocks();
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int P = p.n * p.oh * p.ow, p0 = blockIdx.y * BM, m0 = blockIdx.z * BN;
  const int cchunks = p.c / BK, total = p.kh * p.kw * cchunks, K = p.kh * p.kw * p.c;
  const int t0 = rank * steps, nsteps = max(0, min(total, t0 + steps) - t0);
  const uint32_t base = smem_addr(smem);
  const int ch = tid & 3; // the 16-byte chunk of a row this thread copies

  { // 1. the filter: one row of the 32 per thread group of 4 (m0 + tid / 4), every step
    const int r = tid >> 2;
    const __half *src = (const __half *)p.filter + (size_t)(m0 + r) * K + (size_t)t0 * BK + ch * 8;
    for (int i = 0; i < nsteps; i++) cp_async16(base + i * STEP_BYTES + A_BYTES + swz(r, ch), src + i * BK, true);
  }
  asm volatile("griddepcontrol.wait;\n" ::: "memory"); // x and z are the previous kernels' outputs
  for (int half = 0; half < 2; half++) { // the input: rows tid / 4 and tid / 4 + 32
    const int r = (tid >> 2) + 32 * half, pix = p0 + r;
    const bool live = pix < P;
    int n = 0, oy = 0, ox = 0;
    if (live) {
      n = pix / (p.oh * p.ow);
      const int rem = pix - n * p.oh * p.ow;
      oy = rem / p.ow;
      ox = rem - oy * p.ow;
    }
    const int iy0 = oy * p.sh - p.pt, ix0 = ox * p.sw - p.pl;
    const __half *xb = (const __half *)p.x + (size_t)n * p.h * p.w * p.c + ch * 8;
    int tap = t0 / cchunks, c0 = (t0 - tap * cchunks) * BK;
    for (int i = 0; i < nsteps; i++) {
      const int ky = tap / p.kw, kx = tap - ky * p.kw, iy = iy0 + ky * p.dh, ix = ix0 + kx * p.dw;
      const bool ok = live && iy >= 0 && iy < p.h && ix >= 0 && ix < p.w;
      cp_async16(base + i * STEP_BYTES + swz(r, ch), ok ? xb + ((size_t)iy * p.w + ix) * p.c + c0 : p.x, ok);
      if ((c0 += BK) == p.c) c0 = 0, tap++;
    }
  }
  cp_async_wait_all();
  __syncthreads();

  // 2. warp w: pixels 16w .. 16w + 15, all 32 channels (four n8 tiles)
  float acc[4][4] = {};
  for (int i = 0; i < nsteps; i++) {
    const uint32_t a_base = base + i * STEP_BYTES, b_base = a_base + A_BYTES;
#pragma unroll
    for (int kk = 0; kk < 2; kk++) { // the two k16 halves of a step
      uint32_t a[4], b0[4], b1[4];
      ldmatrix_x4(a, a_base + swz(warp * 16 + (lane & 15), kk * 2 + (lane >> 4)));
      const int br = (lane & 7) + ((lane >> 4) << 3), bc = kk * 2 + ((lane >> 3) & 1);
      ldmatrix_x4(b0, b_base + swz(br, bc));      // channels 0-15
      ldmatrix_x4(b1, b_base + swz(16 + br, bc)); // channels 16-31
      mma16816(acc[0], a[0], a[1], a[2], a[3], b0[0], b0[1]);
      mma16816(acc[1], a[0], a[1], a[2], a[3], b0[2], b0[3]);
      mma16816(acc[2], a[0], a[1], a[2], a[3], b1[0], b1[1]);
      mma16816(acc[3], a[0], a[1], a[2], a[3], b1[2], b1[3]);
    }
  }

  // 3. the partial tile into shared memory (over the staged steps), then the cluster's sum
  __syncthreads();
  float *red = (float *)smem;
  const int g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int j = 0; j < 4; j++) {
    *(float2 *)&red[(warp * 16 + g) * RST + j * 8 + 2 * t] = make_float2(acc[j][0], acc[j][1]);
    *(float2 *)&red[(warp * 16 + g + 8) * RST + j * 8 + 2 * t] = make_float2(acc[j][2], acc[j][3]);
  }
  cluster.sync();
  const int rows = BM / split;
  for (int e = tid; e < rows * (BN / 2); e += THREADS) {
    const int r = rank * rows + e / (BN / 2), col = e % (BN / 2) * 2, pix = p0 + r;
    float2 s = make_float2(0.f, 0.f);
    for (int q = 0; q < split; q++) {
      const float2 v = *(const float2 *)&cluster.map_shared_rank(red, q)[r * RST + col];
      s.x += v.x;
      s.y += v.y;
    }
    if (pix >= P) continue;
    const size_t o = (size_t)pix * p.m + m0 + col;
    if (p.bias) {
      const float2 b = __half22float2(*(const __half2 *)((const __half *)p.bias + m0 + col));
      s.x += b.x;
      s.y += b.y;
    }
    if (p.z) {
      const float2 z = __half22float2(*(const __half2 *)((const __half *)p.z + o));
      s.x += z.x;
      s.y += z.y;
    }
    *(__half2 *)((__half *)p.y + o) = __floats2half2_rn(activate(s.x, p.act), activate(s.y, p.act));
  }
  cluster.sync();
#endif
}

int steps_per_block(const cuda_conv_splitk_args *a)
{
  const int total = a->kh * a->kw * (a->c / BK);
  return (total + a->split - 1) / a->split;
}

bool aligned16(const void *p) { return !((uintptr_t)p & 15); }

} // namespace

extern "C" int cuda_conv_splitk_supported(void)
{
  cudaFuncAttributes fa;
  int dev = 0, major = 0;
  return cudaFuncGetAttributes(&fa, conv_splitk_kernel) == cudaSuccess && fa.binaryVersion >= 90 &&
         cudaGetDevice(&dev) == cudaSuccess &&
         cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) == cudaSuccess && major >= 9;
}

extern "C" int cuda_conv_splitk_covered(const cuda_conv_splitk_args *a)
{
  if (!a || a->n < 1 || a->h < 1 || a->w < 1 || a->oh < 1 || a->ow < 1 || a->kh < 1 || a->kw < 1) return 0;
  if (a->c < BK || a->c % BK || a->m < BN || a->m % BN) return 0;
  if (a->sh < 1 || a->sw < 1 || a->dh < 1 || a->dw < 1 || a->pt < 0 || a->pl < 0) return 0;
  if (a->split != 1 && a->split != 2 && a->split != 4 && a->split != 8) return 0;
  const int64_t P = (int64_t)a->n * a->oh * a->ow, X = (int64_t)a->n * a->h * a->w * a->c;
  if (P > INT32_MAX || X > INT32_MAX || (P + BM - 1) / BM > 65535 || a->m / BN > 65535) return 0;
  if ((int64_t)a->kh * a->kw * a->c > INT32_MAX / BN) return 0;
  if (steps_per_block(a) > CUDA_CONV_SPLITK_MAX_STEPS) return 0;
  return aligned16(a->x) && aligned16(a->filter) && aligned16(a->y) && aligned16(a->z) && !((uintptr_t)a->bias & 3);
}

extern "C" cudaError_t cuda_conv_splitk_prepare(void)
{
  return cudaFuncSetAttribute(conv_splitk_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, MAX_SMEM);
}

extern "C" cudaError_t cuda_conv_splitk(const cuda_conv_splitk_args *a, cudaStream_t stream)
{
  if (!cuda_conv_splitk_covered(a)) return cudaErrorInvalidValue;
  const int steps = steps_per_block(a);
  const int64_t P = (int64_t)a->n * a->oh * a->ow;
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3((unsigned)a->split, (unsigned)((P + BM - 1) / BM), (unsigned)(a->m / BN));
  cfg.blockDim = dim3(THREADS);
  cfg.dynamicSmemBytes = (size_t)max(steps * STEP_BYTES, RED_BYTES);
  cfg.stream = stream;
  cudaLaunchAttribute at[2];
  at[0].id = cudaLaunchAttributeClusterDimension;
  at[0].val.clusterDim.x = (unsigned)a->split;
  at[0].val.clusterDim.y = 1;
  at[0].val.clusterDim.z = 1;
  at[1].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  at[1].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = at;
  cfg.numAttrs = 2;
  return cudaLaunchKernelEx(&cfg, conv_splitk_kernel, *a, steps);
}
