// Resize/Upsample: one thread per output element over precomputed per-dim taps.
#include "backend/cuda/kernels/kcommon.cuh"
#include "backend/cuda/kernels/resize.h"

// Output coordinates of element i; true when any is outside the input (tf_crop_and_resize).
__device__ __forceinline__ bool resize_coords(const cuda_resize_geom &g, int64_t i, int64_t *o,
                                              const uint8_t *outside)
{
  bool out = false;
  for (int d = g.ndim - 1; d >= 0; d--) {
    o[d] = i % g.out[d];
    i /= g.out[d];
    if (g.any_outside && outside[g.at[d] + o[d]]) out = true;
  }
  return out;
}

template <typename E>
static __global__ void resize_nearest_kernel(cuda_resize_geom g, const E *__restrict__ x, E *__restrict__ y,
                                             const int64_t *__restrict__ off,
                                             const uint8_t *__restrict__ outside)
{
  const E extra = (E)g.extrapolation;
  K_LOOP(i, g.n)
  {
    int64_t o[ONYX_MAX_DIMS];
    if (resize_coords(g, i, o, outside)) {
      y[i] = extra;
      continue;
    }
    int64_t src = 0;
    for (int d = 0; d < g.ndim; d++) src += off[(g.at[d] + o[d]) * CUDA_RESIZE_TAPS];
    y[i] = x[src];
  }
}

template <typename T> __device__ __forceinline__ float extra_value(uint64_t bits);
template <> __device__ __forceinline__ float extra_value<float>(uint64_t bits)
{
  return __uint_as_float((unsigned)bits);
}
template <> __device__ __forceinline__ float extra_value<__half>(uint64_t bits)
{
  return __half2float(__ushort_as_half((unsigned short)bits));
}

template <typename T>
static __global__ void resize_interp_kernel(cuda_resize_geom g, const T *__restrict__ x, T *__restrict__ y,
                                            const int64_t *__restrict__ off, const float *__restrict__ w,
                                            const uint8_t *__restrict__ outside)
{
  const float extra = extra_value<T>(g.extrapolation);
  int64_t combos = 1;
  for (int d = 0; d < g.ndim; d++) combos *= g.k[d];
  K_LOOP(i, g.n)
  {
    int64_t o[ONYX_MAX_DIMS];
    if (resize_coords(g, i, o, outside)) {
      y[i] = k_st<T>(extra);
      continue;
    }
    float acc = 0.f;
    for (int64_t c = 0; c < combos; c++) { // every combination of the dims' taps
      int64_t rem = c, src = 0;
      float wt = 1.f;
      for (int d = g.ndim - 1; d >= 0; d--) {
        int t = (int)(rem % g.k[d]);
        rem /= g.k[d];
        int64_t e = (g.at[d] + o[d]) * CUDA_RESIZE_TAPS + t;
        src += off[e];
        wt *= w[e];
      }
      acc += wt * k_ld(x[src]);
    }
    y[i] = k_st<T>(acc);
  }
}

extern "C" cudaError_t cuda_resize_nearest(size_t esz, const cuda_resize_geom *g, const void *x, void *y,
                                           const int64_t *off, const uint8_t *outside, cudaStream_t stream)
{
  if (g->n <= 0) return cudaSuccess;
  unsigned grid = k_grid(g->n);
  switch (esz) {
#define N_(SZ, E)                                                                                            \
  case SZ:                                                                                                   \
    resize_nearest_kernel<E><<<grid, K_BLOCK, 0, stream>>>(*g, (const E *)x, (E *)y, off, outside);          \
    break;
    N_(1, uint8_t)
    N_(2, uint16_t)
    N_(4, uint32_t)
    N_(8, uint64_t)
#undef N_
  default: return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}

extern "C" cudaError_t cuda_resize_interp(onyx_dtype dt, const cuda_resize_geom *g, const void *x, void *y,
                                          const int64_t *off, const float *w, const uint8_t *outside,
                                          cudaStream_t stream)
{
  if (g->n <= 0) return cudaSuccess;
  unsigned grid = k_grid(g->n);
  switch (dt) {
  case ONYX_DTYPE_FLOAT:
    resize_interp_kernel<float>
        <<<grid, K_BLOCK, 0, stream>>>(*g, (const float *)x, (float *)y, off, w, outside);
    break;
  case ONYX_DTYPE_FLOAT16:
    resize_interp_kernel<__half>
        <<<grid, K_BLOCK, 0, stream>>>(*g, (const __half *)x, (__half *)y, off, w, outside);
    break;
  default: return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}
