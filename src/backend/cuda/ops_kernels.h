/* Layer implementations backed by onyx's own CUDA kernels (in kernels/).
 * Host sides: k_elementwise.c, k_shape.c, k_nn.c, k_reduce.c, k_resize.c, k_pointwise.c, l_conv_pool.c. */
#ifndef ONYX_BACKEND_CUDA_OPS_KERNELS_H
#define ONYX_BACKEND_CUDA_OPS_KERNELS_H

#include "backend/cuda/cuda_backend.h"

/* k_elementwise.c */
extern const cuda_op_impl cuda_k_copy; /* Identity, Flatten, Reshape, Squeeze, Unsqueeze */
extern const cuda_op_impl cuda_k_unary;
extern const cuda_op_impl cuda_k_clip;
extern const cuda_op_impl cuda_k_binary; /* Add, Sub, Mul, Div, Equal, PRelu */
extern const cuda_op_impl cuda_k_pow;
extern const cuda_op_impl cuda_k_variadic; /* Max, Min, Sum */
extern const cuda_op_impl cuda_k_where;
extern const cuda_op_impl cuda_k_cast;
extern const cuda_op_impl cuda_k_dropout;
/* k_shape.c */
extern const cuda_op_impl cuda_k_transpose;
extern const cuda_op_impl cuda_k_slice;
extern const cuda_op_impl cuda_k_expand;
extern const cuda_op_impl cuda_k_concat;
extern const cuda_op_impl cuda_k_split;
extern const cuda_op_impl cuda_k_pad;
extern const cuda_op_impl cuda_k_gather;
extern const cuda_op_impl cuda_k_constant_of_shape;
/* k_nn.c */
extern const cuda_op_impl cuda_k_batch_normalization;
extern const cuda_op_impl cuda_k_pool; /* MaxPool, AveragePool */
/* k_reduce.c */
extern const cuda_op_impl cuda_k_softmax; /* Softmax, LogSoftmax */
extern const cuda_op_impl cuda_k_reduce;  /* ReduceMean, ReduceSum, ReduceMax */
extern const cuda_op_impl cuda_k_global_pool;
extern const cuda_op_impl cuda_k_argmax;
/* k_resize.c */
extern const cuda_op_impl cuda_k_resize; /* Resize, Upsample */
/* k_pointwise.c */
extern const cuda_op_impl cuda_fused_pointwise_impl; /* FusedPointwise (graph passes) */
/* l_conv_pool.c */
extern const cuda_op_impl cuda_conv_pool_impl; /* FusedConvPool (engine/conv_pool.c) */
/* l_pool_gemm.c */
extern const cuda_op_impl cuda_pool_gemm_impl; /* FusedPoolGemm (engine/pool_gemm.c) */

#endif
