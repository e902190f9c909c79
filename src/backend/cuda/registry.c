/* cuda_ops[]: which ops the CUDA backend runs, and with what.  Each family of
 * implementations lists its entries in its own .inc file.  cuda_op_layouts[]:
 * what each implementation does with channels-last tensors (layouts.h). */
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/exec.h"
#include "backend/cuda/layouts.h"
#include "backend/cuda/ops_kernels.h"
#include "backend/cuda/ops_libs.h"

const cuda_op_impl *const cuda_ops[ONYX_OP_COUNT] = {
#include "backend/cuda/ops_kernels.inc"
#include "backend/cuda/ops_libs.inc"
};

bool cuda_op_supported(int op) { return op >= 0 && op < ONYX_OP_COUNT && cuda_ops[op] != NULL; }

/* UNIFORM: flat kernels over input and output alike, or kernels with a channels-last flag.
 * STRIDED: kernels that iterate the output in its physical order and read every input through
 * its own strides.  STRIDED_IN: the output is written row-major from inputs read by strides. */
const uint8_t cuda_op_layouts[ONYX_OP_COUNT] = {
    /* unary elementwise, Clip, Dropout: one flat pass over same-layout input and output */
    [ONYX_OP_RELU] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_LEAKY_RELU] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_SIGMOID] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_TANH] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_HARD_SIGMOID] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_HARD_SWISH] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_ELU] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_SOFTPLUS] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_EXP] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_LOG] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_SQRT] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_RECIPROCAL] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_NEG] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_ABS] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_ERF] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_CLIP] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_DROPOUT] = LAYOUT_CAP_UNIFORM,
    /* broadcasting elementwise */
    [ONYX_OP_ADD] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_SUB] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_MUL] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_DIV] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_PRELU] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_EQUAL] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_POW] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_MAX] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_MIN] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_SUM] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_WHERE] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_FUSED_POINTWISE] = LAYOUT_CAP_STRIDED,
    /* copies: Identity (the reformat itself) and Cast convert between layouts */
    [ONYX_OP_IDENTITY] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_CAST] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_CONCAT] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_SPLIT] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_TRANSPOSE] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_SLICE] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_EXPAND] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_PAD] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_RESIZE] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_UPSAMPLE] = LAYOUT_CAP_STRIDED,
    [ONYX_OP_FLATTEN] = LAYOUT_CAP_STRIDED_IN,
    [ONYX_OP_RESHAPE] = LAYOUT_CAP_STRIDED_IN,
    [ONYX_OP_SQUEEZE] = LAYOUT_CAP_STRIDED_IN,
    [ONYX_OP_UNSQUEEZE] = LAYOUT_CAP_STRIDED_IN,
    /* nn */
    [ONYX_OP_CONV] = LAYOUT_CAP_FILTER,
    [ONYX_OP_FUSED_CONV] = LAYOUT_CAP_FILTER,
    [ONYX_OP_FUSED_CONV_POOL] = LAYOUT_CAP_FILTER, /* made after the layout pass (engine/conv_pool.c) */
    [ONYX_OP_BATCH_NORMALIZATION] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_MAX_POOL] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_AVERAGE_POOL] = LAYOUT_CAP_UNIFORM,
    [ONYX_OP_GLOBAL_AVERAGE_POOL] = LAYOUT_CAP_STRIDED_IN,
    [ONYX_OP_GLOBAL_MAX_POOL] = LAYOUT_CAP_STRIDED_IN,
    [ONYX_OP_FUSED_POOL_GEMM] = LAYOUT_CAP_STRIDED_IN, /* made after the layout pass (engine/pool_gemm.c) */
    /* row-major only (0): ConvTranspose, Gemm, MatMul, Softmax, LogSoftmax, the reductions,
     * ArgMax, Gather, ConstantOfShape */
};
