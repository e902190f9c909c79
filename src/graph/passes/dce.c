/* Dead-code elimination.
 *
 * Walking the nodes backwards from the graph outputs: a node none of whose
 * outputs is read (by a kept node or as a graph output) goes.  Folded nodes
 * go too: prepare already computed their outputs, which stay in the graph as
 * constants for the nodes that read them, like initializers (a backend sees
 * only the nodes that run).  Finally the data of constants nothing reads any
 * more (the BatchNormalization statistics and weights a fold replaced, shape
 * subgraph intermediates) is released where the graph owns it. */
#include <stdlib.h>

#include "common/util.h"
#include "graph/passes/pass_util.h"

onyx_status pass_dce(ir_graph *g, pass_log *log)
{
  onyx_status st = ONYX_OK;
  bool *needed = onyx_calloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof(bool));
  if (!needed) return onyx_error(ONYX_ERR_NO_MEMORY, "dead-code elimination: out of memory");
  bool changed = false;
  for (int i = 0; i < g->n_outputs; i++) needed[g->outputs[i]] = true;
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    ir_node *n = &g->nodes[i];
    if (!pass_node_live(n)) continue;
    bool used = false;
    for (int k = 0; k < n->n_out; k++) used = used || (n->out[k] >= 0 && needed[n->out[k]]);
    if (used && !n->folded) {
      for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0) needed[n->in[k]] = true;
      continue;
    }
    if (!n->folded && st == ONYX_OK) st = pass_log_add(log, "dce", n->name, n->op_type);
    pass_node_kill(g, i);
    changed = true;
  }
  for (int t = 0; t < g->n_tensors; t++) {
    ir_tensor *x = &g->tensors[t];
    if (needed[t] || !x->is_const || !x->owns_data) continue;
    free(x->data);
    x->data = NULL;
    x->owns_data = false;
  }
  free(needed);
  if (changed) pass_compact(g);
  return st;
}
