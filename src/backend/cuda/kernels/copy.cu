// Data movement: the strided gather copy, Pad and Gather, by element size.
#include "backend/cuda/kernels/copy.h"
#include "backend/cuda/kernels/kcommon.cuh"

template <typename E>
static __global__ void strided_kernel(cuda_strided c, const E *__restrict__ src, E *__restrict__ dst)
{
  K_LOOP(i, c.n)
  {
    int64_t so, dof;
    k_strided_offsets(c, i, &so, &dof);
    dst[dof] = src[so];
  }
}

extern "C" cudaError_t cuda_copy_strided(size_t esz, const cuda_strided *c, const void *src, void *dst,
                                         cudaStream_t stream)
{
  if (c->n <= 0) return cudaSuccess;
  unsigned g = k_grid(c->n);
  switch (esz) {
  case 1: strided_kernel<uint8_t><<<g, K_BLOCK, 0, stream>>>(*c, (const uint8_t *)src, (uint8_t *)dst); break;
  case 2:
    strided_kernel<uint16_t><<<g, K_BLOCK, 0, stream>>>(*c, (const uint16_t *)src, (uint16_t *)dst);
    break;
  case 4:
    strided_kernel<uint32_t><<<g, K_BLOCK, 0, stream>>>(*c, (const uint32_t *)src, (uint32_t *)dst);
    break;
  case 8:
    strided_kernel<uint64_t><<<g, K_BLOCK, 0, stream>>>(*c, (const uint64_t *)src, (uint64_t *)dst);
    break;
  default: return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}

// Input index for output index i along a dim of size dim with begin pad b; -1: the constant.
__device__ __forceinline__ int64_t pad_source(int mode, int64_t i, int64_t b, int64_t dim)
{
  int64_t k = i - b;
  if (k >= 0 && k < dim) return k;
  if (mode == CUDA_PAD_CONSTANT) return -1;
  if (mode == CUDA_PAD_EDGE) return k < 0 ? 0 : dim - 1;
  if (dim == 1) return 0;
  int64_t period = 2 * (dim - 1); // reflect without repeating the edge
  k %= period;
  if (k < 0) k += period;
  return k < dim ? k : period - k;
}

template <typename E>
static __global__ void pad_kernel(cuda_pad p, const E *__restrict__ src, E *__restrict__ dst, const E *vdev,
                                  E vdef)
{
  E value = vdev ? *vdev : vdef;
  K_LOOP(i, p.n)
  {
    int64_t r = i, off = 0;
    bool constant = false;
    for (int d = p.ndim - 1; d >= 0; d--) {
      int64_t idx = r % p.out[d];
      r /= p.out[d];
      int64_t k = pad_source(p.mode, idx, p.begin[d], p.in[d]);
      if (k < 0)
        constant = true;
      else
        off += k * p.in_str[d];
    }
    dst[i] = constant ? value : src[off];
  }
}

extern "C" cudaError_t cuda_copy_pad(size_t esz, const cuda_pad *p, const void *src, void *dst,
                                     const void *value_dev, uint64_t value, cudaStream_t stream)
{
  if (p->n <= 0) return cudaSuccess;
  unsigned g = k_grid(p->n);
  switch (esz) {
#define P(SZ, E)                                                                                             \
  case SZ:                                                                                                   \
    pad_kernel<E><<<g, K_BLOCK, 0, stream>>>(*p, (const E *)src, (E *)dst, (const E *)value_dev, (E)value);  \
    break;
    P(1, uint8_t)
    P(2, uint16_t)
    P(4, uint32_t)
    P(8, uint64_t)
#undef P
  default: return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}

template <typename E, typename I>
static __global__ void gather_kernel(const E *__restrict__ src, const I *__restrict__ ind,
                                     E *__restrict__ dst, int64_t outer, int64_t dim, int64_t cnt,
                                     int64_t inner)
{
  const int64_t n = outer * cnt * inner;
  K_LOOP(i, n)
  {
    int64_t in = i % inner, r = i / inner, j = r % cnt, o = r / cnt;
    int64_t k = (int64_t)ind[j];
    if (k < 0) k += dim;
    dst[i] = (k >= 0 && k < dim) ? src[(o * dim + k) * inner + in] : (E)0;
  }
}

extern "C" cudaError_t cuda_copy_gather(size_t esz, int indices_int64, int64_t outer, int64_t dim,
                                        int64_t cnt, int64_t inner, const void *src, const void *indices,
                                        void *dst, cudaStream_t stream)
{
  int64_t n = outer * cnt * inner;
  if (n <= 0) return cudaSuccess;
  unsigned g = k_grid(n);
  switch (esz * 2 + (indices_int64 ? 1 : 0)) {
#define G(SZ, E)                                                                                             \
  case SZ * 2:                                                                                               \
    gather_kernel<E, int32_t><<<g, K_BLOCK, 0, stream>>>((const E *)src, (const int32_t *)indices, (E *)dst, \
                                                         outer, dim, cnt, inner);                            \
    break;                                                                                                   \
  case SZ * 2 + 1:                                                                                           \
    gather_kernel<E, int64_t><<<g, K_BLOCK, 0, stream>>>((const E *)src, (const int64_t *)indices, (E *)dst, \
                                                         outer, dim, cnt, inner);                            \
    break;
    G(1, uint8_t)
    G(2, uint16_t)
    G(4, uint32_t)
    G(8, uint64_t)
#undef G
  default: return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}
