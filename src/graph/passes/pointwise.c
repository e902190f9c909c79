/* Chains of elementwise ops -> FusedPointwise (one kernel over the chain).
 *
 * A chain starts at a float elementwise node and grows while the last node's
 * output is read by exactly one node (and is not a graph output) that is
 * elementwise too and makes an output of the same shape: every intermediate
 * then lives only inside the fused kernel.  Other inputs of the chain's nodes
 * (graph inputs, constants such as scalars or per-channel values, outputs of
 * other nodes) become inputs of the fused node, broadcast to the chain's
 * shape.  Chains of one node are left alone.  The fused node takes the last
 * node's place and output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "graph/passes/pass_util.h"
#include "ops/elementwise.h"
#include "ops/fused.h"

/* The FusedPointwise instruction for node u (opcode and up to 2 constants), 0 if u cannot join. */
static int opcode_of(const ir_graph *g, const ir_node *u, float *cst, int *n_cst)
{
  *n_cst = 0;
  if (!pass_node_runs(u) || u->n_out != 1 || !pass_is_float(g, u->out[0])) return 0;
  for (int k = 0; k < u->n_in; k++)
    if (u->in[k] < 0 ? u->op != ONYX_OP_CLIP : !pass_is_float(g, u->in[k])) return 0;
  const activation_params *ap = u->params;
  const binary_params *bp = u->params;
  switch (u->op) {
  case ONYX_OP_ADD:
  case ONYX_OP_SUB:
  case ONYX_OP_MUL:
  case ONYX_OP_DIV:
    if (u->n_in != 2 || (bp && bp->legacy)) return 0;
    return u->op == ONYX_OP_ADD   ? FPW_ADD
           : u->op == ONYX_OP_SUB ? FPW_SUB
           : u->op == ONYX_OP_MUL ? FPW_MUL
                                  : FPW_DIV;
  case ONYX_OP_PRELU: return u->n_in == 2 && u->opset >= 7 ? FPW_PRELU : 0;
  case ONYX_OP_SUM: return u->n_in == 2 ? FPW_ADD : 0;
  case ONYX_OP_MAX: return u->n_in == 2 ? FPW_MAX : 0;
  case ONYX_OP_MIN: return u->n_in == 2 ? FPW_MIN : 0;
  case ONYX_OP_RELU: return FPW_RELU;
  case ONYX_OP_SIGMOID: return FPW_SIGMOID;
  case ONYX_OP_TANH: return FPW_TANH;
  case ONYX_OP_HARD_SWISH: return FPW_HARD_SWISH;
  case ONYX_OP_SOFTPLUS: return FPW_SOFTPLUS;
  case ONYX_OP_EXP: return FPW_EXP;
  case ONYX_OP_LOG: return FPW_LOG;
  case ONYX_OP_SQRT: return FPW_SQRT;
  case ONYX_OP_RECIPROCAL: return FPW_RECIPROCAL;
  case ONYX_OP_NEG: return FPW_NEG;
  case ONYX_OP_ABS: return FPW_ABS;
  case ONYX_OP_ERF: return FPW_ERF;
  case ONYX_OP_LEAKY_RELU:
  case ONYX_OP_ELU:
    cst[0] = ap->alpha;
    *n_cst = 1;
    return u->op == ONYX_OP_ELU ? FPW_ELU : FPW_LEAKY_RELU;
  case ONYX_OP_HARD_SIGMOID:
    cst[0] = ap->alpha;
    cst[1] = ap->beta;
    *n_cst = 2;
    return FPW_HARD_SIGMOID;
  case ONYX_OP_CLIP: {
    const clip_params *cp = u->params;
    cst[0] = cp && cp->has_lo ? cp->lo : -INFINITY;
    cst[1] = cp && cp->has_hi ? cp->hi : INFINITY;
    if (u->n_in < 1 || u->in[0] < 0 || u->n_in > 3) return 0;
    for (int k = 1; k < u->n_in; k++) {
      int b = u->in[k];
      if (b < 0) continue;
      if (!pass_is_const(g, b) || ir_tensor_numel(&g->tensors[b]) != 1) return 0;
      cst[k - 1] = (float)ir_tensor_get_f64(&g->tensors[b], 0);
      if (isnan(cst[k - 1])) return 0;
    }
    *n_cst = 2;
    return FPW_CLIP;
  }
  default: return 0;
  }
}

/* Inputs of u that the fused node reads (Clip's bounds become constants). */
static int data_inputs(const ir_node *u) { return u->op == ONYX_OP_CLIP ? 1 : u->n_in; }

static bool same_shape(const ir_tensor *a, const ir_tensor *b)
{
  return a->ndim == b->ndim && memcmp(a->dims, b->dims, (size_t)a->ndim * sizeof(int64_t)) == 0;
}

typedef struct chain {
  int nodes[FPW_MAX_INSTR];
  int n;
  int inputs[FPW_MAX_IN]; /* external tensors, in first-use order */
  int n_in;
} chain;

static int find(const int *v, int n, int x)
{
  for (int i = 0; i < n; i++)
    if (v[i] == x) return i;
  return -1;
}

/* Whether node u's outputs feed the chain (u is one of its nodes). */
static int chain_pos_of_tensor(const ir_graph *g, const chain *c, int t)
{
  for (int i = 0; i < c->n; i++)
    if (g->nodes[c->nodes[i]].out[0] == t) return i;
  return -1;
}

/* Adds u's external inputs to c; false when that would exceed FPW_MAX_IN. */
static bool add_inputs(const ir_graph *g, chain *c, const ir_node *u)
{
  chain save = *c;
  for (int k = 0; k < data_inputs(u); k++) {
    int t = u->in[k];
    if (chain_pos_of_tensor(g, c, t) >= 0 || find(c->inputs, c->n_in, t) >= 0) continue;
    if (c->n_in == FPW_MAX_IN) {
      *c = save;
      return false;
    }
    c->inputs[c->n_in++] = t;
  }
  return true;
}

static void grow(const ir_graph *g, const pass_index *ix, const bool *taken, int start, chain *c)
{
  float cst[2];
  int ncst;
  c->n = 0;
  c->n_in = 0;
  if (!opcode_of(g, &g->nodes[start], cst, &ncst) || !add_inputs(g, c, &g->nodes[start])) return;
  c->nodes[c->n++] = start;
  while (c->n < FPW_MAX_INSTR) {
    int y = g->nodes[c->nodes[c->n - 1]].out[0];
    if (!pass_single_use(ix, y)) break;
    int u = pass_consumers(ix, y)[0];
    const ir_node *un = &g->nodes[u];
    if (taken[u] || !opcode_of(g, un, cst, &ncst) || !same_shape(&g->tensors[un->out[0]], &g->tensors[y]))
      break;
    if (!add_inputs(g, c, un)) break;
    c->nodes[c->n++] = u;
  }
}

static onyx_status fuse(ir_graph *g, const chain *c, pass_log *log)
{
  int64_t prog[4 * FPW_MAX_INSTR];
  float consts[FPW_MAX_CONSTS];
  int n_consts = 0;
  char *name = NULL, *ops = NULL;
  ir_attr *attrs = onyx_calloc(2, sizeof(ir_attr));
  int na = 0;
  onyx_status st = ONYX_OK;
  if (!attrs) goto oom;
  for (int i = 0; i < c->n; i++) {
    const ir_node *u = &g->nodes[c->nodes[i]];
    float cst[2];
    int ncst;
    int64_t *w = prog + 4 * i;
    w[0] = opcode_of(g, u, cst, &ncst);
    w[1] = w[2] = w[3] = -1;
    for (int k = 0; k < data_inputs(u) && k < 2; k++) {
      int t = u->in[k], pos = chain_pos_of_tensor(g, c, t);
      w[1 + k] = pos >= 0 && pos < i ? c->n_in + pos : find(c->inputs, c->n_in, t);
    }
    if (ncst) {
      w[3] = n_consts;
      for (int k = 0; k < ncst; k++) consts[n_consts++] = cst[k];
    }
    char *n2 = name ? pass_join(name, u->name) : onyx_strdup(u->name);
    char *o2 = ops ? pass_join(ops, pass_log_ops_of(log, u)) : onyx_strdup(pass_log_ops_of(log, u));
    free(name);
    free(ops);
    name = n2;
    ops = o2;
    if (!name || !ops) goto oom;
  }
  if (!pass_attr_ints(&attrs[na], "program", prog, (size_t)(4 * c->n))) goto oom;
  na++;
  if (n_consts) {
    if (!pass_attr_floats(&attrs[na], "constants", consts, (size_t)n_consts)) goto oom;
    na++;
  }
  const int last = c->nodes[c->n - 1];
  st = pass_replace_node(g, last, ONYX_OP_FUSED_POINTWISE, name, c->n_in, c->inputs, attrs, na);
  attrs = NULL; /* taken over */
  if (st == ONYX_OK) {
    for (int i = 0; i < c->n - 1; i++) pass_node_kill(g, c->nodes[i]);
    st = pass_log_add(log, "pointwise", name, ops);
  }
  goto out;
oom:
  st = onyx_error(ONYX_ERR_NO_MEMORY, "pointwise: out of memory fusing a chain");
  pass_attrs_free(attrs, na);
out:
  free(name);
  free(ops);
  return st;
}

onyx_status pass_pointwise(ir_graph *g, pass_log *log)
{
  onyx_status st = ONYX_OK;
  bool changed = false;
  bool *taken = onyx_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof(bool));
  if (!taken) return onyx_error(ONYX_ERR_NO_MEMORY, "pointwise: out of memory");
  pass_index ix;
  if ((st = pass_index_build(g, &ix)) != ONYX_OK) {
    free(taken);
    return st;
  }
  for (int i = 0; i < g->n_nodes && st == ONYX_OK; i++) {
    if (taken[i]) continue;
    chain c;
    grow(g, &ix, taken, i, &c);
    for (int k = 0; k < c.n; k++) taken[c.nodes[k]] = true;
    if (c.n < 2) continue;
    st = fuse(g, &c, log);
    changed = true;
    pass_index_free(&ix);
    if (st == ONYX_OK) st = pass_index_build(g, &ix);
  }
  pass_index_free(&ix);
  free(taken);
  if (changed) pass_compact(g);
  return st;
}
