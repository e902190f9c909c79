/* FusedPointwise (domain "onyx"): attribute parsing and shape inference.
 * The program format is described in ops/fused.h. */
#include <math.h>

#include "common/util.h"
#include "ops/fused.h"

int fpw_arity(int opcode)
{
  switch (opcode) {
  case FPW_ADD:
  case FPW_SUB:
  case FPW_MUL:
  case FPW_DIV:
  case FPW_MAX:
  case FPW_MIN:
  case FPW_PRELU: return 2;
  case FPW_RELU:
  case FPW_LEAKY_RELU:
  case FPW_SIGMOID:
  case FPW_TANH:
  case FPW_HARD_SIGMOID:
  case FPW_HARD_SWISH:
  case FPW_CLIP:
  case FPW_ELU:
  case FPW_SOFTPLUS:
  case FPW_EXP:
  case FPW_LOG:
  case FPW_SQRT:
  case FPW_RECIPROCAL:
  case FPW_NEG:
  case FPW_ABS:
  case FPW_ERF: return 1;
  default: return 0;
  }
}

int fpw_n_consts(int opcode)
{
  switch (opcode) {
  case FPW_LEAKY_RELU:
  case FPW_ELU: return 1;
  case FPW_HARD_SIGMOID:
  case FPW_CLIP: return 2;
  default: return 0;
  }
}

const char *fpw_name(int opcode)
{
  switch (opcode) {
  case FPW_ADD: return "Add";
  case FPW_SUB: return "Sub";
  case FPW_MUL: return "Mul";
  case FPW_DIV: return "Div";
  case FPW_MAX: return "Max";
  case FPW_MIN: return "Min";
  case FPW_PRELU: return "PRelu";
  case FPW_RELU: return "Relu";
  case FPW_LEAKY_RELU: return "LeakyRelu";
  case FPW_SIGMOID: return "Sigmoid";
  case FPW_TANH: return "Tanh";
  case FPW_HARD_SIGMOID: return "HardSigmoid";
  case FPW_HARD_SWISH: return "HardSwish";
  case FPW_CLIP: return "Clip";
  case FPW_ELU: return "Elu";
  case FPW_SOFTPLUS: return "Softplus";
  case FPW_EXP: return "Exp";
  case FPW_LOG: return "Log";
  case FPW_SQRT: return "Sqrt";
  case FPW_RECIPROCAL: return "Reciprocal";
  case FPW_NEG: return "Neg";
  case FPW_ABS: return "Abs";
  case FPW_ERF: return "Erf";
  default: return "?";
  }
}

onyx_status op_parse_fused_pointwise(ir_node *n)
{
  fused_pointwise_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  const ir_attr *prog = ir_attr_find(n, "program"), *consts = ir_attr_find(n, "constants");
  if (!prog || prog->type != IR_ATTR_INTS || prog->n == 0 || prog->n % 4 != 0)
    return op_error(n, ONYX_ERR_INVALID_MODEL,
                    "attribute 'program' must be ints, 4 per instruction, at least one");
  if (prog->n / 4 > FPW_MAX_INSTR)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "program has %zu instructions, at most %d supported",
                    prog->n / 4, FPW_MAX_INSTR);
  if (consts && consts->type != IR_ATTR_FLOATS)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'constants' must be floats");
  size_t nc = consts ? consts->n : 0;
  if (nc > FPW_MAX_CONSTS)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%zu constants, at most %d supported", nc, FPW_MAX_CONSTS);
  if (n->n_in < 1 || n->n_in > FPW_MAX_IN)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "has %d inputs, 1 to %d supported", n->n_in, FPW_MAX_IN);
  if (n->n_out != 1) return op_error(n, ONYX_ERR_INVALID_MODEL, "must have one output, has %d", n->n_out);
  p->n_instr = (int)(prog->n / 4);
  p->n_consts = (int)nc;
  for (size_t i = 0; i < nc; i++) {
    if (isnan(consts->floats[i])) return op_error(n, ONYX_ERR_INVALID_MODEL, "constant %zu is NaN", i);
    p->consts[i] = consts->floats[i];
  }
  for (int k = 0; k < p->n_instr; k++) {
    const int64_t *w = prog->ints + 4 * k;
    int arity = fpw_arity((int)w[0]), ncon = fpw_n_consts((int)w[0]);
    int64_t avail = n->n_in + k; /* values defined before instruction k */
    if (arity == 0)
      return op_error(n, ONYX_ERR_INVALID_MODEL, "instruction %d: unknown opcode %lld", k, (long long)w[0]);
    if (w[1] < 0 || w[1] >= avail || (arity == 2 && (w[2] < 0 || w[2] >= avail)) ||
        (arity == 1 && w[2] != -1))
      return op_error(n, ONYX_ERR_INVALID_MODEL,
                      "instruction %d (%s): operands %lld, %lld do not name earlier values", k,
                      fpw_name((int)w[0]), (long long)w[1], (long long)w[2]);
    if (ncon ? (w[3] < 0 || w[3] + ncon > (int64_t)nc) : w[3] != -1)
      return op_error(n, ONYX_ERR_INVALID_MODEL, "instruction %d (%s): constant index %lld is out of range",
                      k, fpw_name((int)w[0]), (long long)w[3]);
    p->instr[k] = (fpw_instr){(int)w[0], (int)w[1], (int)w[2], (int)w[3]};
  }
  for (int i = 0; i < n->n_in; i++)
    if (n->in[i] < 0) return op_error(n, ONYX_ERR_INVALID_MODEL, "input %d is missing", i);
  return ONYX_OK;
}

onyx_status op_infer_fused_pointwise(ir_graph *g, ir_node *n)
{
  int nd = 0;
  int64_t dims[ONYX_MAX_DIMS];
  for (int i = 0; i < n->n_in; i++) {
    ir_tensor *x;
    ONYX_TRY(op_need_input(g, n, i, &x));
    if (x->dtype != ONYX_DTYPE_FLOAT)
      return op_error(n, ONYX_ERR_UNSUPPORTED, "input %d ('%s') is %s; only float tensors are supported", i,
                      x->name, onyx_dtype_name(x->dtype));
    int64_t prev[ONYX_MAX_DIMS];
    int np = nd;
    for (int d = 0; d < nd; d++) prev[d] = dims[d];
    ONYX_TRY(op_broadcast_shape(n, np, prev, x->ndim, x->dims, &nd, dims));
  }
  ir_tensor_set(ir_out(g, n, 0), ONYX_DTYPE_FLOAT, nd, dims);
  return ONYX_OK;
}
