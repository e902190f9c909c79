/* Parameters and geometry shared by the nn family (Conv, ConvTranspose, pools,
 * BatchNormalization, Gemm, MatMul): parsed once per node by ops/nn_*.c,
 * resolved against concrete input shapes by both shape inference and the
 * CPU kernels (a model's params are shared by sessions of different shapes,
 * so nothing shape-dependent is stored in them). */
#ifndef ONYX_OPS_NN_H
#define ONYX_OPS_NN_H

#include "ops/ops.h"

#define NN_MAX_SP (ONYX_MAX_DIMS - 2) /* spatial dims after N and C */
/* Largest kernel_shape, strides, dilations, pads, output_padding or output_shape
 * value: with tensor dims below 2^48 (graph_max_tensor_bytes), window arithmetic
 * then stays far from int64 overflow. */
#define NN_MAX_WINDOW_VALUE INT32_MAX

typedef enum nn_auto_pad {
  NN_PAD_NOTSET = 0,
  NN_PAD_SAME_UPPER,
  NN_PAD_SAME_LOWER,
  NN_PAD_VALID,
} nn_auto_pad;

/* Sliding-window attributes as written in the node; a count of -1 is absent. */
typedef struct nn_window {
  int n_kernel, n_strides, n_dilations, n_pads;
  int64_t kernel[NN_MAX_SP], strides[NN_MAX_SP], dilations[NN_MAX_SP], pads[2 * NN_MAX_SP];
  nn_auto_pad auto_pad;
} nn_window;

/* A window resolved for one input shape. */
typedef struct nn_geom {
  int nsp;
  int64_t in[NN_MAX_SP], out[NN_MAX_SP], kernel[NN_MAX_SP], strides[NN_MAX_SP], dilations[NN_MAX_SP];
  int64_t pad_begin[NN_MAX_SP], pad_end[NN_MAX_SP];
} nn_geom;

typedef struct nn_conv_params {
  nn_window win;
  int64_t group;
  /* ConvTranspose only */
  int n_output_padding, n_output_shape;
  int64_t output_padding[NN_MAX_SP], output_shape[ONYX_MAX_DIMS];
} nn_conv_params;

typedef struct nn_pool_params {
  nn_window win;
  bool ceil_mode;
  bool count_include_pad;
  int storage_order; /* MaxPool Indices: 0 row major, 1 column major */
} nn_pool_params;

typedef struct nn_gemm_params {
  float alpha, beta;
  bool trans_a, trans_b;
} nn_gemm_params;

typedef struct nn_bn_params {
  float epsilon;
  bool spatial; /* opset < 9: spatial=0 gives per-element (C x D1 x ...) statistics */
} nn_bn_params;

/* Parses kernel_shape/strides/dilations/pads/auto_pad into w, checking values. */
onyx_status nn_parse_window(ir_node *n, nn_window *w);

/* Conv: x is NCD..., w is M x C/group x k...; fills g (validates shapes). */
onyx_status nn_conv_geom(const ir_node *n, const ir_tensor *x, const ir_tensor *w, nn_geom *g);
/* ConvTranspose: w is C x M/group x k...; pads may come out negative when output_shape asks for more. */
onyx_status nn_conv_transpose_geom(const ir_node *n, const ir_tensor *x, const ir_tensor *w, nn_geom *g);
/* MaxPool/AveragePool. */
onyx_status nn_pool_geom(const ir_node *n, const ir_tensor *x, nn_geom *g);

/* MatMul: the broadcast batch shape and the matrix sizes (after 1-D promotion). */
typedef struct nn_matmul_dims {
  int nbatch;
  int64_t batch[ONYX_MAX_DIMS];
  int64_t a_batch[ONYX_MAX_DIMS], b_batch[ONYX_MAX_DIMS]; /* right-aligned to nbatch, 1-padded */
  int64_t m, k, n;
  int out_ndim;
  int64_t out[ONYX_MAX_DIMS];
} nn_matmul_dims;
onyx_status nn_matmul_dims_of(const ir_node *n, const ir_tensor *a, const ir_tensor *b, nn_matmul_dims *d);

#endif
