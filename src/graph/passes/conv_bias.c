/* Conv + Add(per-channel constant) -> Conv with that constant in its bias.
 *
 * Exporters that keep the bias out of the Conv (CNTK's MNIST, some Caffe
 * conversions) write Add(conv(x, W), K) with K of shape [M, 1, 1] (or a
 * scalar, or the legacy broadcast=1/axis form).  When the Conv's output is read
 * only by that Add (and is not a graph output), K is a float constant and
 * adding it does not grow the output, the Conv takes B' = B + K (a new
 * constant; B and K are never written), the Add's output and the name
 * "conv + add"; the Add goes.  Then pass_conv_act can fuse what follows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "graph/passes/pass_util.h"
#include "ops/elementwise.h"

/* The per-channel view of K against the conv output y: true when K (of numpy shape kd[0..kn)) holds one
 * value per channel of y (or one in all), written to *stride (0: a single value, 1: one per channel). */
static bool per_channel(const ir_tensor *y, int kn, const int64_t *kd, int *stride)
{
  if (kn > y->ndim || y->ndim < 2) return false;
  *stride = 0;
  for (int d = 0; d < kn; d++) {
    int yd = d + (y->ndim - kn); /* right-aligned */
    if (kd[d] == 1) continue;
    if (yd != 1 || kd[d] != y->dims[1]) return false;
    *stride = 1;
  }
  return true;
}

/* The Add input index (0 or 1) holding the conv output, or -1. */
static int match(const ir_graph *g, const pass_index *ix, const ir_node *add, int *stride)
{
  if (add->op != ONYX_OP_ADD || !pass_node_runs(add) || add->n_in != 2 || add->n_out != 1) return -1;
  const binary_params *bp = add->params;
  for (int k = 0; k < 2; k++) {
    int t = add->in[k], kt = add->in[1 - k];
    if (t < 0 || kt < 0 || t == kt || !pass_single_use(ix, t) || !pass_is_float(g, t)) continue;
    if (!pass_is_const(g, kt) || !pass_is_float(g, kt)) continue;
    int p = g->tensors[t].producer;
    if (p < 0) continue;
    const ir_node *c = &g->nodes[p];
    if (c->op != ONYX_OP_CONV || !pass_node_runs(c) || c->n_out != 1 || c->n_in < 2 || c->n_in > 3) continue;
    const ir_tensor *y = &g->tensors[t], *kv = &g->tensors[kt];
    int kn = kv->ndim;
    int64_t kd[ONYX_MAX_DIMS];
    memcpy(kd, kv->dims, sizeof(kd));
    if (bp && bp->legacy) { /* the legacy form broadcasts the second input onto the first only */
      if (k != 0 || binary_effective_shape(add, y, kv, &kn, kd) != ONYX_OK) {
        onyx_clear_error();
        continue;
      }
    }
    if (per_channel(y, kn, kd, stride)) return k;
  }
  return -1;
}

static onyx_status fold(ir_graph *g, int ai, int k, int stride, pass_log *log)
{
  const ir_node *add = &g->nodes[ai];
  const int ci = g->tensors[add->in[k]].producer;
  ir_node *c = &g->nodes[ci];
  const ir_tensor *kt = &g->tensors[add->in[1 - k]];
  const int64_t m = g->tensors[c->out[0]].dims[1];
  const float *kv = kt->data, *b = c->n_in > 2 && c->in[2] >= 0 ? g->tensors[c->in[2]].data : NULL;
  float *nb = onyx_malloc((size_t)(m > 0 ? m : 1) * sizeof(float));
  int *in = onyx_malloc(3 * sizeof(int));
  char *name = pass_join(c->name, add->name), *ops = pass_join(pass_log_ops_of(log, c), add->op_type);
  onyx_status st = ONYX_OK;
  if (!nb || !in || !name || !ops) {
    free(nb);
    st = onyx_error(ONYX_ERR_NO_MEMORY, "conv_bias: out of memory");
    goto out;
  }
  for (int64_t o = 0; o < m; o++) nb[o] = (b ? b[o] : 0.f) + kv[stride ? o : 0];
  char base[256];
  snprintf(base, sizeof(base), "%.200s.bias", c->name);
  int tb = pass_add_const(g, base, ONYX_DTYPE_FLOAT, 1, &m, nb); /* takes nb */
  if (tb < 0) {
    st = onyx_error_context(ONYX_ERR_NO_MEMORY, "conv_bias: adding a constant");
    goto out;
  }
  in[0] = c->in[0];
  in[1] = c->in[1];
  in[2] = tb;
  pass_node_absorb(g, ci, ai, in, 3, name);
  in = NULL;
  name = NULL;
  st = pass_log_add(log, "conv_bias", c->name, ops);
  pass_node_kill(g, ai);
out:
  free(in);
  free(name);
  free(ops);
  return st;
}

static onyx_status try_fold(ir_graph *g, const pass_index *ix, int i, pass_log *log, void *arg, bool *hit)
{
  (void)arg;
  int stride, k = match(g, ix, &g->nodes[i], &stride);
  if (!(*hit = k >= 0)) return ONYX_OK;
  return fold(g, i, k, stride, log);
}

onyx_status pass_conv_bias(ir_graph *g, pass_log *log)
{
  return pass_rewrite_nodes(g, log, try_fold, NULL);
}
