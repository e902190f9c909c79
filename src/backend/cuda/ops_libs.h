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

#endif
