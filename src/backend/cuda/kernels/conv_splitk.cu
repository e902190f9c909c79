// Small-batch convolution with the reduction split over a thread-block cluster (conv_splitk.h).
//
// Grid (split, pixel tiles, channel tiles), clusters of (split, 1, 1): the blocks of a cluster share one
// 64-pixel x 32-channel output tile and take consecutive shares of its K steps (a step: 32 input channels
// of one filter tap).  Per block:
//   1. the share's operands go to shared memory by the copy engine (cp.async.bulk, completing on one
//      mbarrier): each of the 32 filter rows in one copy, issued before griddepcontrol.wait (with
//      programmatic dependent launch the block starts while the previous kernel finishes); then each
//      pixel's input, one copy per filter tap the share spans, zeros stored where the tap falls outside
//      the image.  Rows are padded by 16 bytes, so the 8 rows an ldmatrix reads fall in different banks.
//      (16-byte cp.async per thread, tried first, took 11.4 us for ResNet18's batch-1 layer4 3x3 convs
//      against 8.4 us for the bulk copies, in dev/cuda/conv_splitk on an H200);
//   2. four warps, 16 pixels x 32 channels each, run mma.sync m16n8k16 (FP16 in, float accumulate) over
//      the share;
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
constexpr int BAR_BYTES = 16;                  // the copies' mbarrier, at the start
constexpr int STEP_BYTES = (BM + BN) * BK * 2; // operands of one step (rows padded by 16 bytes besides)
constexpr int RST = BN + 8;                    // floats per row of the partial tile
constexpr int RED_BYTES = BM * RST * 4;

// Shared memory bytes of a block with s steps.
constexpr int smem_bytes(int s)
{
  return BAR_BYTES + (s * STEP_BYTES + (BM + BN) * 16 > RED_BYTES ? s * STEP_BYTES + (BM + BN) * 16 : RED_BYTES);
}
constexpr int MAX_SMEM = smem_bytes(CUDA_CONV_SPLITK_MAX_STEPS);
static_assert(BK == 32 && THREADS >= BM + BN && THREADS == 4 * BN, "a copying thread per row; 4 warps of 32 channels");
static_assert(MAX_SMEM <= 227 * 1024, "shared memory");

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900
__device__ __forceinline__ void bar_init(uint32_t bar)
{
  asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;\nfence.mbarrier_init.release.cluster;\n" ::"r"(bar) : "memory");
}
// Announces bytes that bulk copies will deliver to the barrier's current phase.
__device__ __forceinline__ void bar_expect(uint32_t bar, uint32_t bytes)
{
  asm volatile("mbarrier.expect_tx.relaxed.cta.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void bar_arrive(uint32_t bar)
{
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void bar_wait0(uint32_t bar)
{
  uint32_t done;
  do {
    asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], 0;\nselp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done)
                 : "r"(bar)
                 : "memory");
  } while (!done);
}
// bytes (a multiple of 16) from global src to shared dst by the copy engine, completing on bar.
__device__ __forceinline__ void bulk_copy(uint32_t dst, const void *src, uint32_t bytes, uint32_t bar)
{
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(dst),
               "l"(src), "r"(bytes), "r"(bar)
               : "memory");
}
#endif

__global__ void __launch_bounds__(THREADS)
conv_splitk_kernel(const cuda_conv_splitk_args p, int steps, int early)
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
  const uint32_t bar = smem_addr(smem), a_base = bar + BAR_BYTES;
  const uint32_t rs = (uint32_t)nsteps * BK * 2 + 16; // row stride: rows 16 bytes apart mod 128 (no conflicts)
  const uint32_t b_base = a_base + BM * rs;

  // one wave: the next kernel's blocks may start now (up to their griddepcontrol.wait), requesting their
  // filters while this kernel runs.  Not with more blocks than multiprocessors: there the early blocks
  // crowd the later ones (dev/cuda/conv_splitk, layer2's 3x3 at split 8: 8.5 -> 9.6 us)
  if (early) asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
  if (tid == 0) bar_init(bar);
  __syncthreads();
  if (tid >= THREADS - BN && nsteps) { // 1. the filter: row tid - 96 of the block's 32, one copy
    const int r = tid - (THREADS - BN);
    bar_expect(bar, nsteps * BK * 2);
    bulk_copy(b_base + r * rs, (const __half *)p.filter + (size_t)(m0 + r) * K + (size_t)t0 * BK, nsteps * BK * 2,
              bar);
  }
  asm volatile("griddepcontrol.wait;\n" ::: "memory"); // x and z are the previous kernels' outputs
  if (tid < BM && p0 + tid < P && nsteps) { // the input: pixel row tid, one copy per filter tap its share spans
    const int pix = p0 + tid, n = pix / (p.oh * p.ow), rem = pix - n * p.oh * p.ow, oy = rem / p.ow;
    const int ox = rem - oy * p.ow, iy0 = oy * p.sh - p.pt, ix0 = ox * p.sw - p.pl;
    const __half *xb = (const __half *)p.x + (size_t)n * p.h * p.w * p.c;
    const int k_lo = t0 * BK, k_hi = (t0 + nsteps) * BK;
    for (int tap = k_lo / p.c; tap * p.c < k_hi; tap++) {
      const int lo = max(k_lo, tap * p.c), hi = min(k_hi, (tap + 1) * p.c);
      const int ky = tap / p.kw, kx = tap - ky * p.kw, iy = iy0 + ky * p.dh, ix = ix0 + kx * p.dw;
      const uint32_t dst = a_base + tid * rs + (lo - k_lo) * 2, bytes = (hi - lo) * 2;
      if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w) {
        bar_expect(bar, bytes);
        bulk_copy(dst, xb + ((size_t)iy * p.w + ix) * p.c + (lo - tap * p.c), bytes, bar);
      } else { // outside the image: zeros
        for (uint32_t o = 0; o < bytes; o += 16)
          asm volatile("st.shared.v4.u32 [%0], {%1, %1, %1, %1};\n" ::"r"(dst + o), "r"(0) : "memory");
      }
    }
  }
  __syncthreads(); // every copy announced, every zero stored
  if (tid == 0) bar_arrive(bar);
  bar_wait0(bar);

  // 2. warp w: pixels 16w .. 16w + 15, all 32 channels (four n8 tiles); rows beyond the output's pixels
  // hold stale shared memory: they only reach accumulator rows that are never stored
  float acc[4][4] = {};
  const uint32_t a_row = a_base + (warp * 16 + (lane & 15)) * rs + (lane >> 4) * 16;
  const int br = (lane & 7) + ((lane >> 4) << 3);
  const uint32_t b_row = b_base + br * rs + ((lane >> 3) & 1) * 16;
  for (int i = 0; i < 2 * nsteps; i++) { // k16 slices
    uint32_t a[4], b0[4], b1[4];
    ldmatrix_x4(a, a_row + i * 32);
    ldmatrix_x4(b0, b_row + i * 32);           // channels 0-15
    ldmatrix_x4(b1, b_row + 16 * rs + i * 32); // channels 16-31
    mma16816(acc[0], a[0], a[1], a[2], a[3], b0[0], b0[1]);
    mma16816(acc[1], a[0], a[1], a[2], a[3], b0[2], b0[3]);
    mma16816(acc[2], a[0], a[1], a[2], a[3], b1[0], b1[1]);
    mma16816(acc[3], a[0], a[1], a[2], a[3], b1[2], b1[3]);
  }

  // 3. the partial tile into shared memory (over the staged steps), then the cluster's sum
  __syncthreads();
  float *red = (float *)(smem + BAR_BYTES);
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
  const int64_t P = (int64_t)a->n * a->oh * a->ow, blocks = a->split * ((P + BM - 1) / BM) * (a->m / BN);
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3((unsigned)a->split, (unsigned)((P + BM - 1) / BM), (unsigned)(a->m / BN));
  cfg.blockDim = dim3(THREADS);
  cfg.dynamicSmemBytes = (size_t)smem_bytes(steps);
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
  return cudaLaunchKernelEx(&cfg, conv_splitk_kernel, *a, steps, (int)(blocks <= a->sm_count));
}
