// Device-side helpers shared by onyx's own kernels (included by .cu files only).
//
// Storage types: float, __half (math in float), double, and the integer types.
// KAcc<T>::type is the type arithmetic runs in; k_ld widens a stored element to
// it and k_st<T> narrows a result back (round to nearest even for half).
#ifndef ONYX_BACKEND_CUDA_KERNELS_KCOMMON_CUH
#define ONYX_BACKEND_CUDA_KERNELS_KCOMMON_CUH

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "backend/cuda/kernels/copy.h"
#include "onyx.h"

#define K_BLOCK 256

// Blocks for a grid-stride loop over n items (n > 0).
static inline unsigned k_grid(int64_t n, int block = K_BLOCK)
{
  int64_t g = (n + block - 1) / block;
  if (g > ((int64_t)1 << 20)) g = (int64_t)1 << 20;
  return g < 1 ? 1u : (unsigned)g;
}

#define K_LOOP(i, n)                                                                                         \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n);                                  \
       i += (int64_t)gridDim.x * blockDim.x)

template <typename T> struct KAcc {
  typedef T type;
};
template <> struct KAcc<__half> {
  typedef float type;
};

template <typename T> __device__ __forceinline__ T k_ld(T v) { return v; }
__device__ __forceinline__ float k_ld(__half v) { return __half2float(v); }

template <typename T> __device__ __forceinline__ T k_st(typename KAcc<T>::type v) { return (T)v; }
template <> __device__ __forceinline__ __half k_st<__half>(float v) { return __float2half_rn(v); }

// Lowest and highest values of a storage type, in its arithmetic type.
template <typename T> struct KLim;
#define K_LIM(T, LO, HI)                                                                                     \
  template <> struct KLim<T> {                                                                               \
    static __device__ __forceinline__ typename KAcc<T>::type lo() { return LO; }                             \
    static __device__ __forceinline__ typename KAcc<T>::type hi() { return HI; }                             \
  };
K_LIM(float, -INFINITY, INFINITY)
K_LIM(__half, -INFINITY, INFINITY)
K_LIM(double, -INFINITY, INFINITY)
K_LIM(int8_t, INT8_MIN, INT8_MAX)
K_LIM(int16_t, INT16_MIN, INT16_MAX)
K_LIM(int32_t, INT32_MIN, INT32_MAX)
K_LIM(int64_t, INT64_MIN, INT64_MAX)
K_LIM(uint8_t, 0, UINT8_MAX)
K_LIM(uint16_t, 0, UINT16_MAX)
K_LIM(uint32_t, 0, UINT32_MAX)
K_LIM(uint64_t, 0, UINT64_MAX)
#undef K_LIM

// Storage types by dtype: X(ONYX_DTYPE_x, C type).
#define K_FLOAT_TYPES(X)                                                                                     \
  X(ONYX_DTYPE_FLOAT, float)                                                                                 \
  X(ONYX_DTYPE_FLOAT16, __half)                                                                              \
  X(ONYX_DTYPE_DOUBLE, double)
#define K_SINT_TYPES(X)                                                                                      \
  X(ONYX_DTYPE_INT8, int8_t)                                                                                 \
  X(ONYX_DTYPE_INT16, int16_t)                                                                               \
  X(ONYX_DTYPE_INT32, int32_t)                                                                               \
  X(ONYX_DTYPE_INT64, int64_t)
#define K_UINT_TYPES(X)                                                                                      \
  X(ONYX_DTYPE_UINT8, uint8_t)                                                                               \
  X(ONYX_DTYPE_UINT16, uint16_t)                                                                             \
  X(ONYX_DTYPE_UINT32, uint32_t)                                                                             \
  X(ONYX_DTYPE_UINT64, uint64_t)
#define K_NUM_TYPES(X) K_FLOAT_TYPES(X) K_SINT_TYPES(X) K_UINT_TYPES(X)

// Source and destination offsets of element i of a strided copy (cuda_strided, copy.h).
__device__ __forceinline__ void k_strided_offsets(const cuda_strided &c, int64_t i, int64_t *src,
                                                  int64_t *dst)
{
  int64_t so = c.src_base, dof = c.dst_base;
  if (c.small) {
    uint32_t r = (uint32_t)i;
    for (int d = c.ndim - 1; d >= 0; d--) {
      uint32_t dim = (uint32_t)c.dims[d], q = r / dim, idx = r - q * dim;
      r = q;
      so += (int64_t)idx * c.src_str[d];
      dof += (int64_t)idx * c.dst_str[d];
    }
  } else {
    int64_t r = i;
    for (int d = c.ndim - 1; d >= 0; d--) {
      int64_t dim = c.dims[d], q = r / dim, idx = r - q * dim;
      r = q;
      so += idx * c.src_str[d];
      dof += idx * c.dst_str[d];
    }
  }
  *src = so;
  *dst = dof;
}

// Warp and block reductions with a combining functor.
template <typename A, typename F> __device__ __forceinline__ A k_warp_reduce(A v, F f)
{
  for (int o = 16; o > 0; o >>= 1) v = f(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// All threads of the block get the result; blockDim.x is a multiple of 32, at most 1024.
template <typename A, typename F> __device__ A k_block_reduce(A v, F f, A *shared /* [32] */)
{
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = k_warp_reduce(v, f);
  __syncthreads(); // shared may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = shared[0];
  for (int w = 1; w < nw; w++) v = f(v, shared[w]);
  return v;
}

#endif
