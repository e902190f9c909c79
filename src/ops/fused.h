/* onyx-internal fused ops (domain "onyx", listed in ops/def/fused.def): made
 * by graph passes (src/graph/passes), run by the CPU backend like any op, and
 * lowered by the CUDA backend to fused library calls or generated kernels.
 *
 * FusedPointwise: a chain of elementwise float ops as one node.
 *   Inputs: 1..FPW_MAX_IN float tensors, each broadcastable (numpy rules) to
 *   the output shape, which is their common broadcast shape.
 *   Attribute "program" (ints): 4 per instruction: opcode, a, b, c.
 *     Values are numbered in SSA form: 0..n_in-1 are the inputs, n_in + k is
 *     the result of instruction k.  a and b are value numbers (b is -1 for a
 *     unary op) and must name an input or an earlier instruction; c is the
 *     index of the op's first constant in "constants" (-1 when it has none).
 *     The output is the last instruction's result.
 *   Attribute "constants" (floats): LeakyRelu/Elu alpha, HardSigmoid alpha and
 *   beta, Clip min and max (+-inf when absent).
 *   Every element is computed in float exactly as the unfused CPU kernels do.
 *
 * FusedConv: y = act(conv(X, W) + B + Z).
 *   Inputs: X, W, optional B (as Conv's), optional Z (the residual: exactly
 *   the output's shape).  Attributes: Conv's, plus "activation" (string,
 *   absent for none): "Relu", "LeakyRelu", "Clip", "Sigmoid", "SiLU"
 *   (x * sigmoid(x)), "HardSwish", "HardSigmoid", "Tanh"; and
 *   "activation_params" (floats): LeakyRelu [alpha] (0.01), Clip [min, max]
 *   (required; -inf/inf for an absent bound; Relu6 is Clip [0, 6]),
 *   HardSigmoid [alpha, beta] (0.2, 0.5), HardSwish [alpha, beta] (1/6, 0.5):
 *   x * max(0, min(1, alpha * x + beta)), which also covers x * HardSigmoid(x).
 *
 * FusedConvPool: y = MaxPool(act(conv(X, W) + B)), 2-D only (X is N x C x H x W).
 *   Inputs: X, W, optional B (as Conv's; no Z).  Attributes: FusedConv's (Conv's,
 *   "activation", "activation_params"), plus the pool's: "pool_kernel_shape"
 *   (ints, required, 2 values), "pool_strides" (ints, 2 values, default 1 1),
 *   "pool_pads" (ints, 4 values: begin h, begin w, end h, end w; default 0;
 *   each below the kernel size as ONNX requires).  The pool is MaxPool with
 *   dilations 1 and ceil_mode 0: a window's max over its taps inside the conv
 *   output (pads are -infinity), pooled size floor((H + pb + pe - k) / s) + 1.
 *   Types: W, B and Y share one float type T (FLOAT or FLOAT16); X is T, or
 *   FLOAT when T is FLOAT16 (X is then rounded to FLOAT16 first: a folded
 *   input Cast), so Y's type is W's.  Made by engine/conv_pool.c (CUDA
 *   engines); the CPU kernel takes FLOAT only.
 *
 * FusedPoolGemm: Y = alpha * mean(X) op(W) + beta * C, a classifier head
 *   (GlobalAveragePool + Flatten + Gemm) as one node.
 *   Inputs: X (N x K x D1 x ... x Dn, n >= 1), W (Gemm's B: M x K with
 *   transB 1, K x M with transB 0), optional C (Gemm's C: [M] or [1, M]).
 *   mean(X) is N x K, each value the average of its channel's D1 x ... x Dn
 *   elements.  Attributes: Gemm's "alpha", "beta" (1, 1), "transB" (0);
 *   "to" (int, optional): Y's type, W's type by default, FLOAT when W is
 *   FLOAT16 (a folded output Cast).  Types: X, W and C share one float type
 *   T (FLOAT or FLOAT16).  Made by engine/pool_gemm.c (CUDA engines); the
 *   CPU kernel takes FLOAT only. */
#ifndef ONYX_OPS_FUSED_H
#define ONYX_OPS_FUSED_H

#include "ops/nn.h"
#include "ops/ops.h"

#define FPW_MAX_IN 16
#define FPW_MAX_INSTR 64
#define FPW_MAX_CONSTS (2 * FPW_MAX_INSTR)

/* Opcodes are stored in engine files: never renumber, only append. */
typedef enum fpw_opcode {
  /* binary */
  FPW_ADD = 1,
  FPW_SUB = 2,
  FPW_MUL = 3,
  FPW_DIV = 4,
  FPW_MAX = 5,
  FPW_MIN = 6,
  FPW_PRELU = 7, /* a < 0 ? b * a : a */
  /* unary */
  FPW_RELU = 32,
  FPW_LEAKY_RELU = 33, /* 1 constant: alpha */
  FPW_SIGMOID = 34,
  FPW_TANH = 35,
  FPW_HARD_SIGMOID = 36, /* 2 constants: alpha, beta */
  FPW_HARD_SWISH = 37,
  FPW_CLIP = 38, /* 2 constants: min, max */
  FPW_ELU = 39,  /* 1 constant: alpha */
  FPW_SOFTPLUS = 40,
  FPW_EXP = 41,
  FPW_LOG = 42,
  FPW_SQRT = 43,
  FPW_RECIPROCAL = 44,
  FPW_NEG = 45,
  FPW_ABS = 46,
  FPW_ERF = 47,
} fpw_opcode;

typedef struct fpw_instr {
  int op, a, b, c;
} fpw_instr;

typedef struct fused_pointwise_params {
  int n_instr, n_consts;
  fpw_instr instr[FPW_MAX_INSTR];
  float consts[FPW_MAX_CONSTS];
} fused_pointwise_params;

typedef enum fused_act {
  FUSED_ACT_NONE = 0,
  FUSED_ACT_RELU,
  FUSED_ACT_LEAKY_RELU,
  FUSED_ACT_CLIP,
  FUSED_ACT_SIGMOID,
  FUSED_ACT_SILU,
  FUSED_ACT_HARD_SWISH,
  FUSED_ACT_HARD_SIGMOID,
  FUSED_ACT_TANH,
  FUSED_ACT_COUNT
} fused_act;

typedef struct fused_conv_params {
  nn_conv_params conv; /* first: Conv's geometry helpers and CPU kernel read n->params as nn_conv_params */
  fused_act act;
  float alpha, beta; /* LeakyRelu alpha; Clip min, max; HardSigmoid/HardSwish alpha, beta */
} fused_conv_params;

typedef struct fused_conv_pool_params {
  fused_conv_params fc; /* first: code reading n->params as fused_conv_params / nn_conv_params works */
  int64_t pool_kernel[2], pool_strides[2];
  int64_t pool_pads[4]; /* begin h, begin w, end h, end w */
} fused_conv_pool_params;

typedef struct fused_pool_gemm_params {
  nn_gemm_params gemm; /* trans_a is always false */
  onyx_dtype to;       /* Y's type; ONYX_DTYPE_UNDEFINED (0): W's */
} fused_pool_gemm_params;

/* FusedConvPool's geometry for inputs x and w: the conv's (Conv's checks) in *conv, the pool's
 * (over the conv output) in *pool; pool may be NULL.  Errors name the node. */
onyx_status fused_conv_pool_geom(const ir_node *n, const ir_tensor *x, const ir_tensor *w, nn_geom *conv,
                                 nn_geom *pool);

/* The "activation" attribute's value for an activation ("" for none). */
const char *fused_act_name(fused_act a);

/* Operands (1 or 2) of an opcode, 0 if it is not one. */
int fpw_arity(int opcode);
/* Constants an opcode takes from "constants". */
int fpw_n_consts(int opcode);
/* "Add", "Sigmoid", ... (the ONNX op it computes), "?" if unknown. */
const char *fpw_name(int opcode);

#endif
