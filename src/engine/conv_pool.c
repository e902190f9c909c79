/* (Fused)Conv + MaxPool -> FusedConvPool, for the CUDA backend's stem kernel (see conv_pool.h). */
#include "engine/conv_pool.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "graph/passes/pass_util.h"
#include "ops/fused.h"

typedef struct cp_match {
  int conv, pool; /* node indices */
  int cast;       /* the folded Cast's node index, -1 when none */
  int x;          /* the fused node's input 0: X, or the folded Cast's input */
} cp_match;

static bool is_layout(const ir_graph *g, int t, const conv_pool_options *o)
{
  return g->tensors[t].layout == (o->channels_last ? IR_LAYOUT_CHANNELS_LAST : IR_LAYOUT_ROW_MAJOR);
}

static bool window_is(const nn_geom *gm, int64_t k, int64_t s, int64_t p)
{
  for (int i = 0; i < gm->nsp; i++)
    if (gm->kernel[i] != k || gm->strides[i] != s || gm->dilations[i] != 1 || gm->pad_begin[i] != p ||
        gm->pad_end[i] != p)
      return false;
  return gm->nsp == 2;
}

bool conv_pool_windows(const nn_geom *conv, const nn_geom *pool)
{
  return window_is(conv, 7, 2, 3) && window_is(pool, 3, 2, 1);
}

/* A Cast from FLOAT to FLOAT16 producing t that the fold may remove: its node index, else -1. */
static int foldable_cast(const ir_graph *g, const pass_index *ix, int t)
{
  int pi = g->tensors[t].producer;
  if (pi < 0 || pi >= g->n_nodes) return -1;
  const ir_node *c = &g->nodes[pi];
  if (!pass_node_runs(c) || c->op != ONYX_OP_CAST || c->n_in != 1 || c->n_out != 1 || c->out[0] != t) return -1;
  if (c->in[0] < 0 || g->tensors[c->in[0]].dtype != ONYX_DTYPE_FLOAT) return -1;
  if (g->tensors[t].dtype != ONYX_DTYPE_FLOAT16 || !pass_single_use(ix, t)) return -1;
  return pi;
}

#define NEED(cond, why)                                                                                      \
  do {                                                                                                       \
    if (!(cond)) return (why);                                                                               \
  } while (0)

/* The checks, in order; NULL when node ci and its reader match (m filled). */
static const char *refusal(const ir_graph *g, const pass_index *ix, const conv_pool_options *o, int ci,
                           cp_match *m)
{
  const ir_node *c = &g->nodes[ci];
  /* the producer */
  NEED(pass_node_runs(c) && (c->op == ONYX_OP_CONV || c->op == ONYX_OP_FUSED_CONV), "not a Conv or FusedConv");
  NEED(c->n_out == 1 && c->out[0] >= 0 && c->n_in >= 2 && c->in[0] >= 0 && c->in[1] >= 0, "conv inputs/outputs");
  NEED(c->n_in <= 3 || c->in[3] < 0, "Z input");
  if (c->op == ONYX_OP_FUSED_CONV) {
    fused_act a = ((const fused_conv_params *)c->params)->act;
    NEED(a == FUSED_ACT_NONE || a == FUSED_ACT_RELU, "activation not none or Relu");
  }
  const ir_tensor *x = &g->tensors[c->in[0]], *w = &g->tensors[c->in[1]];
  const int bi = c->n_in > 2 ? c->in[2] : -1, y = c->out[0];
  NEED(ir_shape_known(x) && x->ndim == 4 && ir_shape_known(w) && w->ndim == 4, "2-D");
  NEED(((const nn_conv_params *)c->params)->group == 1, "group 1");
  nn_geom cg;
  NEED(nn_conv_geom(c, x, w, &cg) == ONYX_OK, "conv geometry");
  NEED(w->dims[2] == 7 && w->dims[3] == 7, "kernel 7x7");
  NEED(window_is(&cg, 7, 2, 3), "strides 2 2, pads 3 3 3 3, dilations 1");
  NEED(x->dims[1] >= 1 && x->dims[1] <= 4, "1..4 input channels");
  NEED(w->dims[0] > 0 && w->dims[0] % 64 == 0, "output channels a multiple of 64");
  NEED(pass_is_const(g, c->in[1]), "constant W");
  NEED(bi < 0 || pass_is_const(g, bi), "constant B");
  /* the MaxPool */
  NEED(!ix->is_output[y] && pass_n_consumers(ix, y) == 1, "conv output read by the pool only");
  const int pi = pass_consumers(ix, y)[0];
  const ir_node *p = &g->nodes[pi];
  NEED(pass_node_runs(p) && p->op == ONYX_OP_MAX_POOL, "read by a MaxPool");
  NEED(p->n_in == 1 && p->in[0] == y && p->n_out == 1 && p->out[0] >= 0, "MaxPool without Indices");
  NEED(!((const nn_pool_params *)p->params)->ceil_mode, "ceil_mode 0");
  nn_geom pg;
  NEED(nn_pool_geom(p, &g->tensors[y], &pg) == ONYX_OK, "pool geometry");
  NEED(window_is(&pg, 3, 2, 1), "pool kernel 3x3, strides 2 2, pads 1 1 1 1, dilations 1");
  /* types and layouts */
  const int z = p->out[0];
  NEED(w->dtype == o->dtype && (bi < 0 || g->tensors[bi].dtype == o->dtype), "W and B of the engine's type");
  NEED(g->tensors[y].dtype == o->dtype && g->tensors[z].dtype == o->dtype, "output of the engine's type");
  NEED(is_layout(g, y, o) && is_layout(g, z, o), "conv and pool outputs in the engine's layout");
  m->conv = ci, m->pool = pi, m->cast = -1, m->x = c->in[0];
  if (o->fold_cast && (m->cast = foldable_cast(g, ix, c->in[0])) >= 0) m->x = g->nodes[m->cast].in[0];
  NEED(m->cast >= 0 || x->dtype == o->dtype, "X of the engine's type");
  return NULL;
}

#undef NEED

static onyx_status fuse(ir_graph *g, const cp_match *m)
{
  const ir_node *c = &g->nodes[m->conv], *p = &g->nodes[m->pool];
  nn_geom pg;
  ONYX_TRY(nn_pool_geom(p, &g->tensors[c->out[0]], &pg));
  const int64_t kernel[2] = {pg.kernel[0], pg.kernel[1]}, strides[2] = {pg.strides[0], pg.strides[1]};
  const int64_t pads[4] = {pg.pad_begin[0], pg.pad_begin[1], pg.pad_end[0], pg.pad_end[1]};
  int in[3] = {m->x, c->in[1], c->n_in > 2 ? c->in[2] : -1};
  const int n_in = in[2] >= 0 ? 3 : 2;
  onyx_status st = ONYX_OK;
  int na = 0;
  ir_attr *attrs = onyx_calloc((size_t)c->n_attrs + 3, sizeof(ir_attr));
  char *name = pass_join(c->name, p->name);
  if (!attrs || !name) goto oom;
  for (int k = 0; k < c->n_attrs; k++, na++)
    if (!pass_attr_copy(&attrs[na], &c->attrs[k])) goto oom;
  if (!pass_attr_ints(&attrs[na], "pool_kernel_shape", kernel, 2)) goto oom;
  na++;
  if (!pass_attr_ints(&attrs[na], "pool_strides", strides, 2)) goto oom;
  na++;
  if (!pass_attr_ints(&attrs[na], "pool_pads", pads, 4)) goto oom;
  na++;
  st = pass_replace_node(g, m->pool, ONYX_OP_FUSED_CONV_POOL, name, n_in, in, attrs, na);
  attrs = NULL; /* taken over */
  if (st == ONYX_OK) {
    pass_node_kill(g, m->conv);
    if (m->cast >= 0) pass_node_kill(g, m->cast);
  }
  free(name);
  return st;
oom:
  pass_attrs_free(attrs, na);
  free(name);
  return onyx_error(ONYX_ERR_NO_MEMORY, "conv_pool: out of memory fusing node '%s'", c->name);
}

typedef struct cp_run {
  const conv_pool_options *o;
  int n_fused;
} cp_run;

static onyx_status try_fuse(ir_graph *g, const pass_index *ix, int i, pass_log *log, void *arg, bool *hit)
{
  (void)log;
  cp_run *r = arg;
  cp_match m;
  if (refusal(g, ix, r->o, i, &m)) return ONYX_OK;
  ONYX_TRY(fuse(g, &m));
  *hit = true;
  r->n_fused++;
  return ONYX_OK;
}

onyx_status conv_pool_fuse(ir_graph *g, const conv_pool_options *o, int *n_fused)
{
  cp_run r = {o, 0};
  onyx_status st = pass_rewrite_nodes(g, NULL, try_fuse, &r);
  *n_fused = r.n_fused;
  return st;
}

const char *conv_pool_refusal(const ir_graph *g, const conv_pool_options *o, int conv)
{
  if (conv < 0 || conv >= g->n_nodes) return "no such node";
  pass_index ix;
  if (pass_index_build(g, &ix) != ONYX_OK) return "out of memory";
  cp_match m;
  const char *why = refusal(g, &ix, o, conv, &m);
  pass_index_free(&ix);
  return why;
}
