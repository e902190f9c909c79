// Small kernels around the library calls of the conv and gemm layers: the
// conv epilogue (bias, residual, activation), the window copy (pre-pad and
// crop) and Gemm's C broadcast.  See epilogue.h.
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "backend/cuda/kernels/act.cuh"
#include "backend/cuda/kernels/epilogue.h"

namespace
{

__device__ __forceinline__ float load(const float *p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __half *p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ void store(float *p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(__half *p, int64_t i, float v) { p[i] = __float2half(v); }

// Grid-stride loops; the grid is capped, the loop covers the rest.
unsigned grid_for(int64_t n, int block)
{
  int64_t g = (n + block - 1) / block;
  if (g > 65535LL * 8) g = 65535LL * 8;
  return (unsigned)(g < 1 ? 1 : g);
}

template <typename T>
__global__ void conv_epilogue_kernel(T *__restrict__ y, const T *__restrict__ bias, const T *__restrict__ z,
                                     int64_t total, int64_t channels, int64_t inner, cuda_act act,
                                     int channels_last)
{
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    float v = load(y, i);
    if (bias) v += load(bias, channels_last ? i % channels : (i / inner) % channels);
    if (z) v += load(z, i);
    store(y, i, activate(v, act));
  }
}

template <typename T>
cudaError_t conv_epilogue_launch(T *y, const T *bias, const T *z, int64_t outer, int64_t channels,
                                 int64_t inner, cuda_act act, int channels_last, cudaStream_t stream)
{
  const int64_t total = outer * channels * inner;
  if (total <= 0) return cudaSuccess;
  const int block = 256;
  conv_epilogue_kernel<T>
      <<<grid_for(total, block), block, 0, stream>>>(y, bias, z, total, channels, inner, act, channels_last);
  return cudaGetLastError();
}

// Channels-last FP16 with channels % 8 == 0: eight channels per thread, 16-byte loads and stores
// (the general kernel above does one element and a 64-bit division per thread).
__global__ void conv_epilogue_h8_kernel(uint4 *__restrict__ y, const uint4 *__restrict__ bias,
                                        const uint4 *__restrict__ z, int64_t vecs, int64_t cvec, cuda_act act)
{
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < vecs;
       i += (int64_t)gridDim.x * blockDim.x) {
    uint4 yv = y[i], bv = make_uint4(0, 0, 0, 0), zv = make_uint4(0, 0, 0, 0);
    if (bias) bv = bias[i % cvec];
    if (z) zv = z[i];
    __half *yh = reinterpret_cast<__half *>(&yv);
    const __half *bh = reinterpret_cast<const __half *>(&bv), *zh = reinterpret_cast<const __half *>(&zv);
#pragma unroll
    for (int k = 0; k < 8; k++)
      yh[k] = __float2half(activate(__half2float(yh[k]) + __half2float(bh[k]) + __half2float(zh[k]), act));
    y[i] = yv;
  }
}

struct win3 {
  int64_t dd[3], sd[3], off[3];
};

template <typename T>
__global__ void window_copy_kernel(T *__restrict__ dst, const T *__restrict__ src, const T *__restrict__ bias,
                                   int64_t total, int64_t channels, win3 w, int channels_last)
{
  const int64_t dvol = w.dd[0] * w.dd[1] * w.dd[2], svol = w.sd[0] * w.sd[1] * w.sd[2];
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t n, c, r; // i = ((n * C + c) * dvol + r), or channels-last (n * dvol + r) * C + c
    if (channels_last) {
      c = i % channels;
      n = i / channels / dvol;
      r = (i / channels) % dvol;
    } else {
      r = i % dvol;
      c = (i / dvol) % channels;
      n = i / dvol / channels;
    }
    const int64_t d2 = r % w.dd[2], d1 = (r / w.dd[2]) % w.dd[1], d0 = r / (w.dd[2] * w.dd[1]);
    const int64_t s0 = d0 - w.off[0], s1 = d1 - w.off[1], s2 = d2 - w.off[2];
    float v = 0.f;
    if (s0 >= 0 && s0 < w.sd[0] && s1 >= 0 && s1 < w.sd[1] && s2 >= 0 && s2 < w.sd[2]) {
      const int64_t sr = (s0 * w.sd[1] + s1) * w.sd[2] + s2;
      v = load(src, channels_last ? (n * svol + sr) * channels + c : (n * channels + c) * svol + sr);
    }
    if (bias) v += load(bias, c);
    store(dst, i, v);
  }
}

template <typename T>
cudaError_t window_copy_launch(T *dst, const T *src, const T *bias, int64_t n, int64_t c, const win3 &w,
                               int channels_last, cudaStream_t stream)
{
  const int64_t total = n * c * w.dd[0] * w.dd[1] * w.dd[2];
  if (total <= 0) return cudaSuccess;
  const int block = 256;
  window_copy_kernel<T>
      <<<grid_for(total, block), block, 0, stream>>>(dst, src, bias, total, c, w, channels_last);
  return cudaGetLastError();
}

template <typename T>
__global__ void broadcast2d_kernel(T *__restrict__ y, const T *__restrict__ c, int64_t m, int64_t n,
                                   int64_t rs, int64_t cs, float scale)
{
  const int64_t total = m * n;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x)
    store(y, i, scale * load(c, (i / n) * rs + (i % n) * cs));
}

template <typename T>
cudaError_t broadcast2d_launch(T *y, const T *c, int64_t m, int64_t n, int64_t rs, int64_t cs, float scale,
                               cudaStream_t stream)
{
  if (m <= 0 || n <= 0) return cudaSuccess;
  const int block = 256;
  broadcast2d_kernel<T><<<grid_for(m * n, block), block, 0, stream>>>(y, c, m, n, rs, cs, scale);
  return cudaGetLastError();
}

} // namespace

extern "C" cudaError_t cuda_conv_epilogue(void *y, const void *bias, const void *z, bool fp16, int64_t outer,
                                          int64_t channels, int64_t inner, cuda_act act, bool channels_last,
                                          cudaStream_t stream)
{
  const uintptr_t align = (uintptr_t)y | (uintptr_t)bias | (uintptr_t)z;
  if (fp16 && channels_last && channels % 8 == 0 && align % 16 == 0) {
    const int64_t vecs = outer * channels * inner / 8;
    if (vecs <= 0) return cudaSuccess;
    const int block = 256;
    conv_epilogue_h8_kernel<<<grid_for(vecs, block), block, 0, stream>>>(
        (uint4 *)y, (const uint4 *)bias, (const uint4 *)z, vecs, channels / 8, act);
    return cudaGetLastError();
  }
  if (fp16)
    return conv_epilogue_launch((__half *)y, (const __half *)bias, (const __half *)z, outer, channels, inner,
                                act, channels_last, stream);
  return conv_epilogue_launch((float *)y, (const float *)bias, (const float *)z, outer, channels, inner, act,
                              channels_last, stream);
}

extern "C" cudaError_t cuda_window_copy(void *dst, const void *src, const void *bias, bool fp16, int64_t n,
                                        int64_t c, const int64_t dst_dims[3], const int64_t src_dims[3],
                                        const int64_t off[3], bool channels_last, cudaStream_t stream)
{
  win3 w;
  for (int i = 0; i < 3; i++) w.dd[i] = dst_dims[i], w.sd[i] = src_dims[i], w.off[i] = off[i];
  if (fp16)
    return window_copy_launch((__half *)dst, (const __half *)src, (const __half *)bias, n, c, w,
                              channels_last, stream);
  return window_copy_launch((float *)dst, (const float *)src, (const float *)bias, n, c, w, channels_last,
                            stream);
}

extern "C" cudaError_t cuda_broadcast2d(void *y, const void *c, bool fp16, int64_t m, int64_t n, int64_t rs,
                                        int64_t cs, float scale, cudaStream_t stream)
{
  if (fp16) return broadcast2d_launch((__half *)y, (const __half *)c, m, n, rs, cs, scale, stream);
  return broadcast2d_launch((float *)y, (const float *)c, m, n, rs, cs, scale, stream);
}
