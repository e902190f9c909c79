/* GlobalAveragePool + Flatten/Reshape + Gemm (+ Cast) -> FusedPoolGemm, for the CUDA backend's head
 * kernel (see pool_gemm.h). */
#include "engine/pool_gemm.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "graph/passes/pass_util.h"
#include "ops/elementwise.h"
#include "ops/fused.h"
#include "ops/shape.h"

typedef struct pg_match {
  int pool, flat, gemm; /* node indices */
  int cast;             /* the folded Cast's node index, -1 when none */
} pg_match;

/* A Cast from FLOAT16 to FLOAT that is the only reader of t (not a graph output): its node index, else -1. */
static int foldable_cast(const ir_graph *g, const pass_index *ix, int t)
{
  if (g->tensors[t].dtype != ONYX_DTYPE_FLOAT16 || !pass_single_use(ix, t)) return -1;
  const int ci = pass_consumers(ix, t)[0];
  const ir_node *c = &g->nodes[ci];
  if (!pass_node_runs(c) || c->op != ONYX_OP_CAST || c->n_in != 1 || c->in[0] != t || c->n_out != 1 ||
      c->out[0] < 0)
    return -1;
  if (((const cast_params *)c->params)->to != ONYX_DTYPE_FLOAT) return -1;
  return g->tensors[c->out[0]].dtype == ONYX_DTYPE_FLOAT ? ci : -1;
}

#define NEED(cond, why)                                                                                      \
  do {                                                                                                       \
    if (!(cond)) return (why);                                                                               \
  } while (0)

/* The checks, in order; NULL when node pi and its readers match (m filled). */
static const char *refusal(const ir_graph *g, const pass_index *ix, const pool_gemm_options *o, int pi,
                           pg_match *m)
{
  const ir_node *p = &g->nodes[pi];
  /* the pool */
  NEED(pass_node_runs(p) && p->op == ONYX_OP_GLOBAL_AVERAGE_POOL, "not a GlobalAveragePool");
  NEED(p->n_in == 1 && p->in[0] >= 0 && p->n_out == 1 && p->out[0] >= 0, "pool inputs/outputs");
  const ir_tensor *x = &g->tensors[p->in[0]];
  const int y = p->out[0];
  NEED(ir_shape_known(x) && x->ndim >= 3, "X of rank >= 3 with a known shape");
  const int64_t n = x->dims[0], k = x->dims[1];
  NEED(n <= o->max_batch, "batch within max_batch");
  NEED(k <= o->max_k, "channels within max_k");
  /* the Flatten or Reshape */
  NEED(pass_single_use(ix, y), "pool output read by one node only, not a graph output");
  const int fi = pass_consumers(ix, y)[0];
  const ir_node *f = &g->nodes[fi];
  NEED(pass_node_runs(f) && (f->op == ONYX_OP_FLATTEN || f->op == ONYX_OP_RESHAPE),
       "read by a Flatten or Reshape");
  NEED(f->in[0] == y && (f->n_in < 2 || f->in[1] != y) && f->n_out == 1 && f->out[0] >= 0,
       "Flatten/Reshape inputs/outputs");
  if (f->op == ONYX_OP_FLATTEN) {
    const int64_t axis = ((const axis_params *)f->params)->axis;
    NEED(axis == 1 || axis == 1 - (int64_t)x->ndim, "Flatten axis 1");
  }
  const int a = f->out[0];
  const ir_tensor *at = &g->tensors[a];
  NEED(ir_shape_known(at) && at->ndim == 2 && at->dims[0] == n && at->dims[1] == k, "flattened to N x K");
  /* the Gemm */
  NEED(pass_single_use(ix, a), "flattened output read by one node only, not a graph output");
  const int gi = pass_consumers(ix, a)[0];
  const ir_node *gm = &g->nodes[gi];
  NEED(pass_node_runs(gm) && gm->op == ONYX_OP_GEMM, "read by a Gemm");
  NEED(gm->n_in >= 2 && gm->in[0] == a && gm->in[1] >= 0 && gm->in[1] != a &&
           (gm->n_in < 3 || gm->in[2] != a) && gm->n_out == 1 && gm->out[0] >= 0,
       "read as the Gemm's A only");
  NEED(!((const nn_gemm_params *)gm->params)->trans_a, "transA 0");
  const int wi = gm->in[1], ci = gm->n_in > 2 ? gm->in[2] : -1, z = gm->out[0];
  NEED(pass_is_const(g, wi), "constant W");
  NEED(ci < 0 || pass_is_const(g, ci), "constant C");
  const ir_tensor *zt = &g->tensors[z];
  NEED(ir_shape_known(zt) && zt->ndim == 2, "Gemm output of a known shape");
  const int64_t mm = zt->dims[1];
  if (ci >= 0) {
    const ir_tensor *c = &g->tensors[ci];
    NEED((c->ndim == 1 && c->dims[0] == mm) || (c->ndim == 2 && c->dims[0] == 1 && c->dims[1] == mm),
         "C of shape [M] or [1, M]");
  }
  /* types */
  NEED(x->dtype == o->dtype, "X of the engine's type");
  NEED(g->tensors[wi].dtype == o->dtype && (ci < 0 || g->tensors[ci].dtype == o->dtype),
       "W and C of the engine's type");
  NEED(zt->dtype == o->dtype, "Gemm output of the engine's type");
  m->pool = pi, m->flat = fi, m->gemm = gi;
  m->cast = o->fold_cast ? foldable_cast(g, ix, z) : -1;
  return NULL;
}

#undef NEED

/* "a + b + c[ + d]" (malloc'd), NULL on allocation failure. */
static char *join_names(const ir_graph *g, const pg_match *m)
{
  const int idx[4] = {m->flat, m->gemm, m->cast, -1};
  char *s = onyx_strdup(g->nodes[m->pool].name);
  for (int k = 0; s && idx[k] >= 0; k++) {
    char *t = pass_join(s, g->nodes[idx[k]].name);
    free(s);
    s = t;
  }
  return s;
}

static onyx_status fuse(ir_graph *g, const pg_match *m)
{
  const ir_node *gm = &g->nodes[m->gemm];
  static const char *const copied[] = {"alpha", "beta", "transB"};
  const int in[3] = {g->nodes[m->pool].in[0], gm->in[1], gm->n_in > 2 ? gm->in[2] : -1};
  const int n_in = in[2] >= 0 ? 3 : 2;
  int na = 0;
  ir_attr *attrs = onyx_calloc(4, sizeof(ir_attr));
  char *name = join_names(g, m);
  if (!attrs || !name) goto oom;
  for (int k = 0; k < 3; k++) {
    const ir_attr *src = ir_attr_find(gm, copied[k]);
    if (!src) continue;
    if (!pass_attr_copy(&attrs[na], src)) goto oom;
    na++;
  }
  if (m->cast >= 0) {
    attrs[na].type = IR_ATTR_INT;
    attrs[na].i = ONYX_DTYPE_FLOAT;
    if (!(attrs[na].name = onyx_strdup("to"))) goto oom;
    na++;
  }
  const int last = m->cast >= 0 ? m->cast : m->gemm;
  onyx_status st = pass_replace_node(g, last, ONYX_OP_FUSED_POOL_GEMM, name, n_in, in, attrs, na);
  if (st == ONYX_OK) {
    pass_node_kill(g, m->pool);
    pass_node_kill(g, m->flat);
    if (last != m->gemm) pass_node_kill(g, m->gemm);
  }
  free(name);
  return st;
oom:
  pass_attrs_free(attrs, na);
  free(name);
  return onyx_error(ONYX_ERR_NO_MEMORY, "pool_gemm: out of memory fusing node '%s'", gm->name);
}

typedef struct pg_run {
  const pool_gemm_options *o;
  int n_fused;
} pg_run;

static onyx_status try_fuse(ir_graph *g, const pass_index *ix, int i, pass_log *log, void *arg, bool *hit)
{
  (void)log;
  pg_run *r = arg;
  pg_match m;
  if (refusal(g, ix, r->o, i, &m)) return ONYX_OK;
  ONYX_TRY(fuse(g, &m));
  *hit = true;
  r->n_fused++;
  return ONYX_OK;
}

onyx_status pool_gemm_fuse(ir_graph *g, const pool_gemm_options *o, int *n_fused)
{
  pg_run r = {o, 0};
  onyx_status st = pass_rewrite_nodes(g, NULL, try_fuse, &r);
  *n_fused = r.n_fused;
  return st;
}

const char *pool_gemm_refusal(const ir_graph *g, const pool_gemm_options *o, int pool)
{
  if (pool < 0 || pool >= g->n_nodes) return "no such node";
  pass_index ix;
  if (pass_index_build(g, &ix) != ONYX_OK) return "out of memory";
  pg_match m;
  const char *why = refusal(g, &ix, o, pool, &m);
  pass_index_free(&ix);
  return why;
}
