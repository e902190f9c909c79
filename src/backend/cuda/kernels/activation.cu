// Pointwise activation kernels (the first of the CUDA backend's own kernels).
#include <cuda_runtime.h>
#include <stdint.h>

static __global__ void relu_f32_kernel(const float *__restrict__ x, float *__restrict__ y, int64_t n)
{
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = x[i] > 0.f ? x[i] : 0.f;
}

static cudaError_t relu_f32_launch(const float *x, float *y, int64_t n, cudaStream_t stream)
{
  if (n <= 0) return cudaSuccess;
  const int block = 256;
  int64_t grid = (n + block - 1) / block;
  if (grid > 65535 * 8) grid = 65535 * 8;
  relu_f32_kernel<<<(unsigned)grid, block, 0, stream>>>(x, y, n);
  return cudaGetLastError();
}

extern "C" cudaError_t cuda_relu_f32(const float *x, float *y, int64_t n, cudaStream_t stream)
{
  return relu_f32_launch(x, y, n, stream);
}
