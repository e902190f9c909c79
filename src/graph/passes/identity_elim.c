/* Identity / Dropout elimination.
 *
 * Identity, and Dropout in inference (no training_mode input, or a constant
 * false one) whose mask output nothing reads, copy X to Y.  Readers of Y are
 * pointed at X and the node goes.  When Y is a graph output its name must
 * survive: then X's producer is made to write Y directly (and X's other
 * readers read Y), which is only done when X is an ordinary intermediate (made
 * by a node that runs, not a graph input or output, not a constant);
 * otherwise the node stays. */
#include "graph/passes/pass_util.h"

/* Whether a Dropout node copies its input: inference mode known at build time. */
static bool dropout_is_copy(const ir_graph *g, const pass_index *ix, const ir_node *n)
{
  if (n->n_in > 2 && n->in[2] >= 0) {
    const ir_tensor *tm = &g->tensors[n->in[2]];
    if (!pass_is_const(g, n->in[2]) || ir_tensor_numel(tm) != 1 || ir_tensor_get_i64(tm, 0) != 0)
      return false;
  }
  int mask = n->n_out > 1 ? n->out[1] : -1;
  return mask < 0 || (!ix->is_output[mask] && pass_n_consumers(ix, mask) == 0);
}

onyx_status pass_identity_elim(ir_graph *g, pass_log *log)
{
  pass_index ix;
  ONYX_TRY(pass_index_build(g, &ix));
  onyx_status st = ONYX_OK;
  bool changed = false;
  for (int i = 0; i < g->n_nodes && st == ONYX_OK; i++) {
    ir_node *n = &g->nodes[i];
    if (!pass_node_runs(n) || n->n_in < 1 || n->n_out < 1) continue;
    if (n->op != ONYX_OP_IDENTITY && !(n->op == ONYX_OP_DROPOUT && dropout_is_copy(g, &ix, n))) continue;
    int x = n->in[0], y = n->out[0];
    if (x < 0 || y < 0) continue;
    if (ix.is_output[y]) {
      int p = g->tensors[x].producer;
      if (ix.is_output[x] || p < 0 || p >= i || !pass_node_runs(&g->nodes[p])) continue;
      bool is_input = false;
      for (int k = 0; k < g->n_inputs; k++) is_input = is_input || g->inputs[k] == x;
      if (is_input || g->tensors[x].is_const) continue;
      ir_node *pn = &g->nodes[p];
      for (int k = 0; k < pn->n_out; k++)
        if (pn->out[k] == x) pn->out[k] = y;
      g->tensors[y].producer = p;
      g->tensors[x].producer = -1;
      pass_replace_uses(g, x, y); /* X's other readers, and this node (dead next) */
    } else {
      pass_replace_uses(g, y, x);
    }
    st = pass_log_add(log, "identity_elim", n->name, n->op_type);
    pass_node_kill(g, i);
    changed = true;
  }
  pass_index_free(&ix);
  if (changed) pass_compact(g);
  return st;
}
