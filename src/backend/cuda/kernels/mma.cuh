// Tensor-core primitives shared by onyx's implicit-GEMM kernels (included by .cu
// files only; the instructions need sm_80, callers guard their bodies for older targets).
#ifndef ONYX_BACKEND_CUDA_KERNELS_MMA_CUH
#define ONYX_BACKEND_CUDA_KERNELS_MMA_CUH

#include <cuda_runtime.h>
#include <stdint.h>

// d += a (16 x 16, row-major FP16) * b (16 x 8, column-major FP16), float accumulation; the fragments
// in mma.sync's register layout.
static __device__ __forceinline__ void mma16816(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                                uint32_t b0, uint32_t b1)
{
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
               "{%0,%1,%2,%3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

static __device__ __forceinline__ uint32_t smem_addr(const void *p)
{
  return (uint32_t)__cvta_generic_to_shared(p);
}

// Four 8 x 8 FP16 matrices from shared memory; lanes 8i..8i+7 give the row addresses of matrix i.
static __device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr)
{
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

#endif
