/* Conv + residual Add -> FusedConv(X, W, B, Z): y = conv(x, W) + B + Z.
 *
 * Applies when one input of an Add is a Conv's output that nothing else reads
 * (and is not a graph output), and the other input Z has exactly that output's
 * shape and type (no broadcasting: the fused kernel adds Z element by
 * element).  The fused node takes the Add's place and output; the Conv goes.
 * An activation after the Add is fused by pass_conv_act, which runs next. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "graph/passes/pass_util.h"
#include "ops/elementwise.h"

static bool same_shape(const ir_tensor *a, const ir_tensor *b)
{
  return a->dtype == b->dtype && a->ndim == b->ndim &&
         memcmp(a->dims, b->dims, (size_t)a->ndim * sizeof(int64_t)) == 0;
}

/* The index (0 or 1) of the Add's input that is a fusable Conv output, or -1. */
static int match(const ir_graph *g, const pass_index *ix, const ir_node *add)
{
  if (add->op != ONYX_OP_ADD || !pass_node_runs(add) || add->n_in != 2 || add->n_out != 1) return -1;
  const binary_params *bp = add->params;
  if (bp && bp->legacy) return -1;
  int a = add->in[0], b = add->in[1];
  if (a < 0 || b < 0 || a == b || !pass_is_float(g, a) || !pass_is_float(g, b)) return -1;
  if (!same_shape(&g->tensors[a], &g->tensors[b]) || !same_shape(&g->tensors[a], &g->tensors[add->out[0]]))
    return -1;
  /* prefer the later-made conv: the earlier one's output is then the residual, as in ResNet's shortcut convs
   */
  int best = -1, best_p = -1;
  for (int k = 0; k < 2; k++) {
    int t = add->in[k], p = g->tensors[t].producer;
    if (p < 0 || !pass_single_use(ix, t)) continue;
    const ir_node *c = &g->nodes[p];
    if (c->op != ONYX_OP_CONV || !pass_node_runs(c) || c->n_out != 1 || c->n_in < 2 || c->n_in > 3) continue;
    if (p > best_p) {
      best = k;
      best_p = p;
    }
  }
  return best;
}

static onyx_status fuse(ir_graph *g, int ai, int k, pass_log *log)
{
  const ir_node *add = &g->nodes[ai];
  int ci = g->tensors[add->in[k]].producer;
  const ir_node *c = &g->nodes[ci];
  int in[4] = {c->in[0], c->in[1], c->n_in > 2 ? c->in[2] : -1, add->in[1 - k]};
  char *name = pass_join(c->name, add->name), *ops = pass_join(pass_log_ops_of(log, c), add->op_type);
  ir_attr *attrs = onyx_calloc((size_t)(c->n_attrs ? c->n_attrs : 1), sizeof(ir_attr));
  onyx_status st = ONYX_OK;
  int na = 0;
  if (!name || !ops || !attrs) goto oom;
  for (; na < c->n_attrs; na++)
    if (!pass_attr_copy(&attrs[na], &c->attrs[na])) goto oom;
  st = pass_replace_node(g, ai, ONYX_OP_FUSED_CONV, name, 4, in, attrs, na);
  attrs = NULL; /* taken over */
  if (st == ONYX_OK) {
    pass_node_kill(g, ci);
    st = pass_log_add(log, "conv_add", name, ops);
  }
  goto out;
oom:
  st = onyx_error(ONYX_ERR_NO_MEMORY, "conv_add: out of memory fusing node '%s'", add->name);
  pass_attrs_free(attrs, na);
out:
  free(name);
  free(ops);
  return st;
}

static onyx_status try_fuse(ir_graph *g, const pass_index *ix, int i, pass_log *log, void *arg, bool *hit)
{
  (void)arg;
  int k = match(g, ix, &g->nodes[i]);
  if (!(*hit = k >= 0)) return ONYX_OK;
  return fuse(g, i, k, log);
}

onyx_status pass_conv_add(ir_graph *g, pass_log *log)
{
  return pass_rewrite_nodes(g, log, try_fuse, NULL);
}
