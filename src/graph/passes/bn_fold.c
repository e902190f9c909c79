/* BatchNormalization folded into the Conv before it.
 *
 *   BN(conv(x, W) + B) = conv(x, W * s) + (B - mean) * s + beta,  s = scale / sqrt(var + epsilon)
 *
 * per output channel.  Applies when the Conv's output is read only by the BN
 * (and is not a graph output), W, B (if any) and the four BN inputs are float
 * constants, and the statistics are one value per output channel.  The folded
 * weight and bias are new constants (computed in double): the original W may
 * be shared with other nodes and is never written.  epsilon is the node's
 * attribute (ONNX's default 1e-5 when absent).  The Conv keeps its place and
 * attributes, takes the BN's output and the name "conv + bn". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "graph/passes/pass_util.h"

static bool per_channel_const(const ir_graph *g, int t, int64_t m)
{
  return pass_is_const(g, t) && pass_is_float(g, t) && g->tensors[t].ndim == 1 && g->tensors[t].dims[0] == m;
}

/* The BN node that folds into Conv node ci, or -1. */
static int match(const ir_graph *g, const pass_index *ix, int ci)
{
  const ir_node *c = &g->nodes[ci];
  if (c->op != ONYX_OP_CONV || !pass_node_runs(c) || c->n_in < 2 || c->n_out != 1) return -1;
  int y = c->out[0], w = c->in[1], b = c->n_in > 2 ? c->in[2] : -1;
  if (!pass_single_use(ix, y) || !pass_is_float(g, y)) return -1;
  int bi = pass_consumers(ix, y)[0];
  const ir_node *bn = &g->nodes[bi];
  if (bn->op != ONYX_OP_BATCH_NORMALIZATION || !pass_node_runs(bn) || bn->n_in != 5 || bn->in[0] != y)
    return -1;
  for (int k = 1; k < bn->n_out; k++)
    if (bn->out[k] >= 0) return -1; /* training outputs */
  if (!pass_is_const(g, w) || !pass_is_float(g, w) || g->tensors[w].ndim < 1) return -1;
  int64_t m = g->tensors[w].dims[0];
  if (b >= 0 && !per_channel_const(g, b, m)) return -1;
  for (int k = 1; k < 5; k++)
    if (!per_channel_const(g, bn->in[k], m)) return -1;
  return bi;
}

static onyx_status fold(ir_graph *g, int ci, int bi, pass_log *log)
{
  ir_node *c = &g->nodes[ci], *bn = &g->nodes[bi];
  const ir_tensor *wt = &g->tensors[c->in[1]];
  const int has_b = c->n_in > 2 && c->in[2] >= 0;
  const int64_t m = wt->dims[0], per = m ? ir_tensor_numel(wt) / m : 0;
  const float *w = wt->data, *b = has_b ? g->tensors[c->in[2]].data : NULL;
  const float *scale = g->tensors[bn->in[1]].data, *beta = g->tensors[bn->in[2]].data;
  const float *mean = g->tensors[bn->in[3]].data, *var = g->tensors[bn->in[4]].data;
  const double eps = ir_attr_float(bn, "epsilon", 1e-5f);
  float *nw = onyx_malloc((size_t)(m * per > 0 ? m * per : 1) * sizeof(float));
  float *nb = onyx_malloc((size_t)(m > 0 ? m : 1) * sizeof(float));
  int *in = NULL;
  char *name = NULL, *ops = NULL;
  if (!nw || !nb) goto oom;
  for (int64_t o = 0; o < m; o++) {
    double s = (double)scale[o] / sqrt((double)var[o] + eps);
    for (int64_t j = 0; j < per; j++) nw[o * per + j] = (float)((double)w[o * per + j] * s);
    nb[o] = (float)(((has_b ? (double)b[o] : 0.0) - (double)mean[o]) * s + (double)beta[o]);
  }
  /* names and the grown input list first: nothing may fail after the graph changes */
  name = pass_join(c->name, bn->name);
  ops = pass_join(pass_log_ops_of(log, c), bn->op_type);
  in = onyx_malloc(3 * sizeof(int));
  if (!name || !ops || !in) goto oom;
  char base[256];
  snprintf(base, sizeof(base), "%.200s.bnfold", wt->name);
  int64_t wdims[ONYX_MAX_DIMS];
  int wnd = wt->ndim;
  memcpy(wdims, wt->dims, sizeof(wdims));
  int tw = pass_add_const(g, base, ONYX_DTYPE_FLOAT, wnd, wdims, nw); /* may move g->tensors */
  nw = NULL;
  if (tw < 0) goto fail;
  snprintf(base, sizeof(base), "%.200s.bias", g->tensors[tw].name);
  int tb = pass_add_const(g, base, ONYX_DTYPE_FLOAT, 1, &m, nb);
  nb = NULL;
  if (tb < 0) goto fail; /* the unused weight constant is released by dead-code elimination */
  in[0] = c->in[0];
  in[1] = tw;
  in[2] = tb;
  pass_node_absorb(g, ci, bi, in, 3, name);
  onyx_status st = pass_log_add(log, "bn_fold", name, ops);
  free(ops);
  pass_node_kill(g, bi);
  return st;
oom:
  onyx_error(ONYX_ERR_NO_MEMORY, "out of memory");
fail:
  free(nw);
  free(nb);
  free(in);
  free(name);
  free(ops);
  return onyx_error_context(ONYX_ERR_NO_MEMORY, "folding BatchNormalization node '%s' into Conv node '%s'",
                            g->nodes[bi].name, g->nodes[ci].name);
}

static onyx_status try_fold(ir_graph *g, const pass_index *ix, int i, pass_log *log, void *arg, bool *hit)
{
  (void)arg;
  int bi = match(g, ix, i);
  if (!(*hit = bi >= 0)) return ONYX_OK;
  return fold(g, i, bi, log);
}

onyx_status pass_bn_fold(ir_graph *g, pass_log *log)
{
  return pass_rewrite_nodes(g, log, try_fold, NULL);
}
