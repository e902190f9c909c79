// The classifier-head kernel (pool_gemm.h): channel sums in shared memory, one warp per output.
#include <cuda_fp16.h>
#include <stdint.h>

#include "backend/cuda/kernels/pool_gemm.h"

namespace {

constexpr int THREADS = CUDA_POOL_GEMM_THREADS;
constexpr int OUTS = CUDA_POOL_GEMM_OUTS;
constexpr int PART = CUDA_POOL_GEMM_PART;                                // slices' partial channel sums
constexpr int SUMS = CUDA_POOL_GEMM_SMEM / (int)sizeof(float) - PART; // channel sums of a group of images
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
  return h0.x * a.x + h0.y * a.y + h1.x * a.z + h1.y * a.w + h2.x * b.x + h2.y * b.y + h3.x * b.z +
         h3.y * b.w;
}
__device__ __forceinline__ float dot16(uint4 r, const float *s, float)
{
  const float4 a = reinterpret_cast<const float4 *>(s)[0];
  return __uint_as_float(r.x) * a.x + __uint_as_float(r.y) * a.y + __uint_as_float(r.z) * a.z +
         __uint_as_float(r.w) * a.w;
}

template <typename T> __host__ __device__ constexpr int per16() { return 16 / (int)sizeof(T); }

// VP elements of x from p as floats: one 16-byte load (VP > 1: p 16-byte aligned) or one element.
template <typename T, int VP> __device__ __forceinline__ void load(const T *p, float *v)
{
  if constexpr (VP == 1) {
    v[0] = to_float(*p);
  } else {
    const uint4 r = *reinterpret_cast<const uint4 *>(p);
    if constexpr (sizeof(T) == 2) {
      const __half2 *h = reinterpret_cast<const __half2 *>(&r);
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const float2 f = __half22float2(h[j]);
        v[2 * j] = f.x, v[2 * j + 1] = f.y;
      }
    } else {
      v[0] = __uint_as_float(r.x), v[1] = __uint_as_float(r.y), v[2] = __uint_as_float(r.z),
      v[3] = __uint_as_float(r.w);
    }
  }
}

// The channel sums of one image (xi) into si[0, kp), zeros past k.  Each thread takes VP adjacent
// channels (a group) over every S-th spatial element, S = THREADS / groups slices, so that a thread has
// a few loads in flight rather than hw one after another; the slices' partial sums meet in part[] and
// are added in slice order.  Ends with a barrier.
template <typename T, int VP>
__device__ void pool_image(const cuda_pool_gemm_args &a, const T *xi, float *si, float *part)
{
  const int groups = a.k / VP, kp = (a.k + per16<T>() - 1) / per16<T>() * per16<T>();
  const int slices = (int)max((int64_t)1, min((int64_t)(THREADS / max(groups, 1)), a.hw));
  float *dst = slices > 1 ? part : si; // one slice: straight into the sums
  for (int t = threadIdx.x; t < groups * slices; t += THREADS) {
    const int g = t % groups, sl = t / groups;
    const T *p = xi + (int64_t)g * VP * a.xs_k;
    float acc[VP] = {}, v[VP];
#pragma unroll 4
    for (int64_t q = sl; q < a.hw; q += slices) {
      load<T, VP>(p + q * a.xs_p, v);
#pragma unroll
      for (int j = 0; j < VP; j++) acc[j] += v[j];
    }
#pragma unroll
    for (int j = 0; j < VP; j++) dst[sl * a.k + g * VP + j] = acc[j];
  }
  for (int e = a.k + threadIdx.x; e < kp; e += THREADS) si[e] = 0.f;
  __syncthreads();
  if (slices > 1) {
    for (int e = threadIdx.x; e < a.k; e += THREADS) {
      float v = 0.f;
      for (int sl = 0; sl < slices; sl++) v += part[sl * a.k + e];
      si[e] = v;
    }
    __syncthreads();
  }
}

template <typename T, typename TY, int VP>
__global__ void __launch_bounds__(THREADS) pool_gemm_kernel(cuda_pool_gemm_args a)
{
  __shared__ __align__(16) float sums[SUMS];
  __shared__ float part[PART];
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
    for (int i = 0; i < ni; i++) pool_image<T, VP>(a, x + (int64_t)(i0 + i) * a.xs_n, sums + i * kp, part);
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
        if (lane == 0)
          static_cast<TY *>(a.y)[(int64_t)(i0 + i) * a.m + o] = from_float<TY>(acc * a.scale + a.bias[o]);
      }
    __syncthreads(); // the next group's sums overwrite these
  }
}

bool aligned(const void *p, unsigned bytes) { return !((uintptr_t)p % bytes); }

template <typename T, typename TY> cudaError_t launch(const cuda_pool_gemm_args *a, cudaStream_t stream)
{
  // channels side by side in memory, in whole 16-byte pieces: a thread loads a group of them at once
  constexpr int V = per16<T>();
  const bool vec = a->xs_k == 1 && a->k % V == 0 && a->xs_n % V == 0 && (a->hw == 1 || a->xs_p % V == 0) &&
                   aligned(a->x, 16);
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3((unsigned)((a->m + OUTS - 1) / OUTS));
  cfg.blockDim = dim3(THREADS);
  cfg.stream = stream;
  cudaLaunchAttribute at[1];
  at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  at[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = at;
  cfg.numAttrs = a->pdl ? 1 : 0;
  return vec ? cudaLaunchKernelEx(&cfg, pool_gemm_kernel<T, TY, V>, *a)
             : cudaLaunchKernelEx(&cfg, pool_gemm_kernel<T, TY, 1>, *a);
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
