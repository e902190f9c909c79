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
 *   Every element is computed in float exactly as the unfused CPU kernels do. */
#ifndef ONYX_OPS_FUSED_H
#define ONYX_OPS_FUSED_H

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

/* Operands (1 or 2) of an opcode, 0 if it is not one. */
int fpw_arity(int opcode);
/* Constants an opcode takes from "constants". */
int fpw_n_consts(int opcode);
/* "Add", "Sigmoid", ... (the ONNX op it computes), "?" if unknown. */
const char *fpw_name(int opcode);

#endif
