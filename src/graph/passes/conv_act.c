/* Conv (+ bias, + residual) + activation -> FusedConv with that activation.
 *
 * The producer is a Conv, or a FusedConv without an activation (the result of
 * pass_conv_add); its output must be read by nothing but the pattern (and not
 * be a graph output).  Patterns:
 *   Relu, LeakyRelu, Sigmoid, Tanh, HardSwish, HardSigmoid, Clip (constant
 *   bounds: Relu6 and friends)                      -> that activation
 *   y * Sigmoid(y)      (SiLU as YOLO exports write it) -> SiLU
 *   y * HardSigmoid(y)  (HardSwish as a pair)           -> HardSwish(alpha, beta)
 * The fused node takes the last node's place and output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "graph/passes/pass_util.h"
#include "ops/elementwise.h"
#include "ops/fused.h"

typedef struct act_match {
  int conv;     /* node index of the Conv/FusedConv */
  int nodes[2]; /* the activation's nodes, in order */
  int n_nodes;
  fused_act act;
  float params[2];
  int n_params;
} act_match;

static bool is_producer(const ir_graph *g, int ci)
{
  const ir_node *c = &g->nodes[ci];
  if (!pass_node_runs(c) || c->n_out != 1) return false;
  if (c->op == ONYX_OP_CONV) return true;
  return c->op == ONYX_OP_FUSED_CONV && ((const fused_conv_params *)c->params)->act == FUSED_ACT_NONE;
}

/* A unary activation node reading t: its fused form, or false. */
static bool unary_act(const ir_graph *g, const ir_node *u, int t, act_match *m)
{
  if (!pass_node_runs(u) || u->n_in < 1 || u->in[0] != t || u->n_out != 1 || !pass_is_float(g, u->out[0]))
    return false;
  const activation_params *ap = u->params; /* LeakyRelu, HardSigmoid */
  m->n_params = 0;
  switch (u->op) {
  case ONYX_OP_RELU: m->act = FUSED_ACT_RELU; return u->n_in == 1;
  case ONYX_OP_SIGMOID: m->act = FUSED_ACT_SIGMOID; return u->n_in == 1;
  case ONYX_OP_TANH: m->act = FUSED_ACT_TANH; return u->n_in == 1;
  case ONYX_OP_HARD_SWISH: m->act = FUSED_ACT_HARD_SWISH; return u->n_in == 1;
  case ONYX_OP_LEAKY_RELU:
    m->act = FUSED_ACT_LEAKY_RELU;
    m->params[0] = ap->alpha;
    m->n_params = 1;
    return u->n_in == 1;
  case ONYX_OP_HARD_SIGMOID:
    m->act = FUSED_ACT_HARD_SIGMOID;
    m->params[0] = ap->alpha;
    m->params[1] = ap->beta;
    m->n_params = 2;
    return u->n_in == 1;
  case ONYX_OP_CLIP: {
    const clip_params *cp = u->params;
    float lo = -INFINITY, hi = INFINITY;
    if (cp && cp->has_lo) lo = cp->lo;
    if (cp && cp->has_hi) hi = cp->hi;
    for (int k = 1; k < u->n_in && k < 3; k++) {
      int b = u->in[k];
      if (b < 0) continue;
      if (!pass_is_const(g, b) || ir_tensor_numel(&g->tensors[b]) != 1) return false;
      float v = (float)ir_tensor_get_f64(&g->tensors[b], 0);
      if (isnan(v)) return false;
      if (k == 1)
        lo = v;
      else
        hi = v;
    }
    if (u->n_in > 3) return false;
    m->act = FUSED_ACT_CLIP;
    m->params[0] = lo;
    m->params[1] = hi;
    m->n_params = 2;
    return true;
  }
  default: return false;
  }
}

static bool match(const ir_graph *g, const pass_index *ix, int ci, act_match *m)
{
  if (!is_producer(g, ci)) return false;
  int y = g->nodes[ci].out[0];
  if (y < 0 || ix->is_output[y] || !pass_is_float(g, y)) return false;
  m->conv = ci;
  int nc = pass_n_consumers(ix, y);
  const int *cons = pass_consumers(ix, y);
  if (nc == 1) {
    m->nodes[0] = cons[0];
    m->n_nodes = 1;
    return unary_act(g, &g->nodes[cons[0]], y, m);
  }
  if (nc != 2) return false;
  /* y * Sigmoid(y) or y * HardSigmoid(y): the gate comes first in node order */
  const ir_node *s = &g->nodes[cons[0]], *mul = &g->nodes[cons[1]];
  if (s->op != ONYX_OP_SIGMOID && s->op != ONYX_OP_HARD_SIGMOID) return false;
  if (!unary_act(g, s, y, m) || !pass_single_use(ix, s->out[0])) return false;
  if (mul->op != ONYX_OP_MUL || !pass_node_runs(mul) || mul->n_in != 2 || mul->n_out != 1) return false;
  const binary_params *bp = mul->params;
  if (bp && bp->legacy) return false;
  int gate = s->out[0];
  if (!((mul->in[0] == y && mul->in[1] == gate) || (mul->in[0] == gate && mul->in[1] == y))) return false;
  if (m->act == FUSED_ACT_SIGMOID) {
    m->act = FUSED_ACT_SILU;
    m->n_params = 0;
  } else {
    m->act = FUSED_ACT_HARD_SWISH; /* x * HardSigmoid(x; alpha, beta) */
  }
  m->nodes[0] = cons[0];
  m->nodes[1] = cons[1];
  m->n_nodes = 2;
  return true;
}

static onyx_status fuse(ir_graph *g, const act_match *m, pass_log *log)
{
  const ir_node *c = &g->nodes[m->conv];
  const int last = m->nodes[m->n_nodes - 1];
  char *name = NULL, *ops = NULL;
  ir_attr *attrs = onyx_calloc((size_t)c->n_attrs + 2, sizeof(ir_attr));
  int na = 0;
  onyx_status st = ONYX_OK;
  if (!attrs || !(name = onyx_strdup(c->name)) || !(ops = onyx_strdup(pass_log_ops_of(log, c)))) goto oom;
  for (int k = 0; k < m->n_nodes; k++) {
    const ir_node *u = &g->nodes[m->nodes[k]];
    char *n2 = pass_join(name, u->name), *o2 = pass_join(ops, u->op_type);
    free(name);
    free(ops);
    name = n2;
    ops = o2;
    if (!name || !ops) goto oom;
  }
  for (int k = 0; k < c->n_attrs; k++) {
    if (strcmp(c->attrs[k].name, "activation") == 0 || strcmp(c->attrs[k].name, "activation_params") == 0)
      continue;
    if (!pass_attr_copy(&attrs[na], &c->attrs[k])) goto oom;
    na++;
  }
  if (!pass_attr_string(&attrs[na], "activation", fused_act_name(m->act))) goto oom;
  na++;
  if (m->n_params) {
    if (!pass_attr_floats(&attrs[na], "activation_params", m->params, (size_t)m->n_params)) goto oom;
    na++;
  }
  int in[4] = {-1, -1, -1, -1};
  for (int k = 0; k < c->n_in && k < 4; k++) in[k] = c->in[k];
  int n_in = c->n_in > 4 ? 4 : c->n_in;
  st = pass_replace_node(g, last, ONYX_OP_FUSED_CONV, name, n_in, in, attrs, na);
  attrs = NULL; /* taken over */
  if (st == ONYX_OK) {
    pass_node_kill(g, m->conv);
    for (int k = 0; k < m->n_nodes - 1; k++) pass_node_kill(g, m->nodes[k]);
    st = pass_log_add(log, "conv_act", name, ops);
  }
  goto out;
oom:
  st = onyx_error(ONYX_ERR_NO_MEMORY, "conv_act: out of memory fusing node '%s'", c->name);
  pass_attrs_free(attrs, na);
out:
  free(name);
  free(ops);
  return st;
}

static onyx_status try_fuse(ir_graph *g, const pass_index *ix, int i, pass_log *log, void *arg, bool *hit)
{
  (void)arg;
  act_match m;
  if (!(*hit = match(g, ix, i, &m))) return ONYX_OK;
  return fuse(g, &m, log);
}

onyx_status pass_conv_act(ir_graph *g, pass_log *log)
{
  return pass_rewrite_nodes(g, log, try_fuse, NULL);
}
