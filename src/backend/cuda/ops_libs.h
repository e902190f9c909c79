/* Layer implementations backed by cuDNN and cuBLASLt. */
#ifndef ONYX_BACKEND_CUDA_OPS_LIBS_H
#define ONYX_BACKEND_CUDA_OPS_LIBS_H

#include "backend/cuda/cuda_backend.h"

/* l_conv.c: cuDNN convolution forward / backward data */
extern const cuda_op_impl cuda_conv_impl;
extern const cuda_op_impl cuda_conv_transpose_impl;
extern const cuda_op_impl cuda_fused_conv_impl; /* FusedConv: conv + bias + activation + residual */
/* l_gemm.c: cuBLASLt */
extern const cuda_op_impl cuda_gemm_impl;
extern const cuda_op_impl cuda_mat_mul_impl;

/* lt.c: cuBLASLt helpers */
/* A column-major rows x cols layout (ld = rows), strided-batched when batch > 1. */
onyx_status cuda_lt_layout(cublasLtMatrixLayout_t *l, cudaDataType_t t, int64_t rows, int64_t cols,
                           int32_t batch, int64_t stride);
/* Largest power of two <= 256 dividing a byte offset. */
uint32_t cuda_lt_offset_align(int64_t bytes);
/* min(align, alignment of p); NULL leaves align as it is. */
uint32_t cuda_lt_ptr_align(const void *p, uint32_t align);
/* cuBLASLt's ranked algorithms for op on these layouts (C and D share lc), at most cap, within ws_limit
 * bytes of workspace, for pointers aligned to align bytes (A, B, C and D alike). */
cublasStatus_t cuda_lt_heuristics(cuda_ctx *ctx, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t la,
                                  cublasLtMatrixLayout_t lb, cublasLtMatrixLayout_t lc, uint64_t ws_limit,
                                  uint32_t align, int cap, cublasLtMatmulHeuristicResult_t *h, int *nh);

#endif
