/* Placeholders for ops whose implementation has not landed: they refuse to
 * run with a clear error.  Removed once every op in ops.def is implemented. */
#include "backend/cpu/cpu.h"

onyx_status op_infer_pending(ir_graph *g, ir_node *n)
{
  return op_error(n, ONYX_ERR_UNSUPPORTED, "op '%s' is not implemented yet", n->op_type);
}

onyx_status cpu_pending(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  return op_error(n, ONYX_ERR_UNSUPPORTED, "op '%s' has no CPU kernel yet", n->op_type);
}
