// The classifier-head kernel (pool_gemm.h): channel sums in shared memory, one warp per output.
#include <cuda_fp16.h>
#include <stdint.h>

#include "backend/cuda/kernels/pool_gemm.h"

namespace {

constexpr int THREADS = CUDA_POOL_GEMM_THREADS;
constexpr int OUTS = CUDA_POOL_GEMM_OUTS;
constexpr int SUMS = CUDA_POOL_GEMM_SMEM / (int)sizeof(float);
constexpr int PRE = 4; // 16-byte pieces of its weight row a lane loads before the wait (K <= 1024 halves)

__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(float v) { return v; }
template <typename T> __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ __half from_float<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }

// Dot product of the 16 bytes r (8 halves or 4 floats) with the sums at s (16-byte aligned).
__device__ __forceinline__ float dot16(uint4 r, const float *s, __half)
{
  const __half2 *h = reinterpret_cast<const __half2 *>(&r);
  const float4 a = reinterpret_cast<const float4 *>(s)[0], b = reinterpret_cast<const float4 *>(s)[1];
  const float2 h0 = __half22float2(h[0]), h1 = __half22float2(h[1]), h2 = __half22float2(h[2]),
               h3 = __half22float2(h[3]);
  return h0.x * a.x + h0.y * a.y + h1.x * a.z + h1.y * a.w + h2.x * b.x + h2.y * b.y + h3.x * b.z + h3.y * b.w;
}
__device__ __forceinline__ float dot16(uint4 r, const float *s, float)
{
  const float4 a = reinterpret_cast<const float4 *>(s)[0];
  return __uint_as_float(r.x) * a.x + __uint_as_float(r.y) * a.y + __uint_as_float(r.z) * a.z +
         __uint_as_float(r.w) * a.w;
}

template <typename T> __host__ __device__ constexpr int per16() { return 16 / (int)sizeof(T); }

template <typename T, typename TY> __global__ void __launch_bounds__(THREADS) pool_gemm_kernel(cuda_pool_gemm_args a)
{
  __shared__ __align__(16) float sums[SUMS];
  constexpr int V = per16<T>();
  const int lane = threadIdx.x & 31, o = blockIdx.x * OUTS + (threadIdx.x >> 5);
  const bool has_out = o < a.m;
  const int kp = (a.k + V - 1) / V * V, nv = kp / V; // row length in elements and in 16-byte pieces
  const uint4 *row = reinterpret_cast<const uint4 *>(a.w) + (size_t)(has_out ? o : 0) * nv;
  // the weights are constants: load them while the previous kernel finishes
  uint4 pre[PRE];
#pragma unroll
  for (int j = 0; j < PRE; j++) {
    const int c = j * 32 + lane;
    pre[j] = has_out && c < nv ? __ldg(row + c) : make_uint4(0, 0, 0, 0);
  }
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory"); // x is the previous kernel's output
#endif
  const T *x = static_cast<const T *>(a.x);
  const int group = min(a.n, SUMS / kp); // images whose sums fit (covered: at least one)
  for (int i0 = 0; i0 < a.n; i0 += group) {
    const int ni = min(group, a.n - i0);
    for (int e = threadIdx.x; e < ni * kp; e += THREADS) {
      const int i = e / kp, k = e - i * kp;
      float s = 0.f;
      if (k < a.k) {
        const T *p = x + (int64_t)(i0 + i) * a.xs_n + (int64_t)k * a.xs_k;
#pragma unroll 8
        for (int64_t q = 0; q < a.hw; q++) s += to_float(p[q * a.xs_p]);
      }
      sums[e] = s;
    }
    __syncthreads();
    if (has_out)
      for (int i = 0; i < ni; i++) {
        const float *si = sums + i * kp;
        float acc = 0.f;
#pragma unroll
        for (int j = 0; j < PRE; j++) {
          const int c = j * 32 + lane;
          if (c < nv) acc += dot16(pre[j], si + c * V, T());
        }
        for (int c = PRE * 32 + lane; c < nv; c += 32) acc += dot16(__ldg(row + c), si + c * V, T());
#pragma unroll
        for (int off = 16; off; off >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, off);
        if (lane == 0) static_cast<TY *>(a.y)[(int64_t)(i0 + i) * a.m + o] = from_float<TY>(acc * a.scale + a.bias[o]);
      }
    __syncthreads(); // the next group's sums overwrite these
  }
}

bool aligned(const void *p, unsigned bytes) { return !((uintptr_t)p % bytes); }

template <typename T, typename TY> cudaError_t launch(const cuda_pool_gemm_args *a, cudaStream_t stream)
{
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3((unsigned)((a->m + OUTS - 1) / OUTS));
  cfg.blockDim = dim3(THREADS);
  cfg.stream = stream;
  cudaLaunchAttribute at[1];
  at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  at[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = at;
  cfg.numAttrs = a->pdl ? 1 : 0;
  return cudaLaunchKernelEx(&cfg, pool_gemm_kernel<T, TY>, *a);
}

} // namespace

extern "C" int cuda_pool_gemm_kp(int k, int is_half)
{
  const int v = is_half ? per16<__half>() : per16<float>();
  return (k + v - 1) / v * v;
}

extern "C" int cuda_pool_gemm_covered(const cuda_pool_gemm_args *a)
{
  if (!a || a->n < 1 || a->k < 1 || a->m < 1 || a->hw < 1 || a->k > CUDA_POOL_GEMM_MAX_K) return 0;
  if (a->xs_n < 0 || a->xs_k < 0 || a->xs_p < 0) return 0;
  const unsigned es = a->half ? 2 : 4, ys = a->y_float || !a->half ? 4 : 2;
  return aligned(a->x, es) && aligned(a->w, 16) && aligned(a->bias, 4) && aligned(a->y, ys) && a->x && a->w &&
         a->bias && a->y;
}

extern "C" cudaError_t cuda_pool_gemm(const cuda_pool_gemm_args *a, cudaStream_t stream)
{
  if (!cuda_pool_gemm_covered(a)) return cudaErrorInvalidValue;
  if (!a->half) return a->y_float ? launch<float, float>(a, stream) : cudaErrorInvalidValue;
  return a->y_float ? launch<__half, float>(a, stream) : launch<__half, __half>(a, stream);
}
