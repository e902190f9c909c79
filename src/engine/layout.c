/* The channels-last layout pass of FP16 and TF32 engines (see layout.h).
 *
 * Nodes are sorted into kinds by their op's capability: ROW (needs row-major),
 * MODE (UNIFORM/FILTER with feature maps: runs in one layout, the choice of
 * the pass), STRIDED and STRIDED_IN.  A tensor's layout follows from its
 * producer: MODE writes its mode, ROW and STRIDED_IN row-major, STRIDED what
 * its consumers want most.  A choice of modes has a cost (reformats, convs
 * left row-major, strided ops crossing layouts); the search starts with every
 * MODE node channels-last and flips groups of connected MODE nodes, then
 * single nodes, while that lowers the cost. */
#include "engine/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "graph/prepare.h"

enum { ROW = 0, CL = 1 }; /* layouts as ir_layout */
enum { K_SKIP, K_ROW, K_MODE, K_STRIDED, K_STRIDED_IN };

#define LAUNCH_COST 65536.0 /* a reformat's launch, in elements: prefer fewer, larger reformats */
#define MAX_ROUNDS 16

typedef struct use {
  int node, slot;
} use;

typedef struct lctx {
  ir_graph *g;
  onyx_dtype dtype; /* the feature maps' storage type */
  int nn, nt;
  uint8_t *kind, *mode;  /* per node */
  bool *filter;          /* per node: FILTER cap (input 1 is a filter) */
  bool *feature, *fixed; /* per tensor: a non-constant feature map; one that must stay row-major */
  uint8_t *lay;          /* per tensor: layout under the current modes */
  int *first;            /* consumers of t: uses[first[t] .. first[t + 1]) */
  use *uses;
  int *uf; /* union-find over nodes */
} lctx;

bool layout_is_feature_map(const ir_tensor *t, onyx_dtype dtype)
{
  return t->ndim == 4 && t->dtype == dtype && t->dims[0] > 0 && t->dims[1] > 1 &&
         t->dims[2] > 0 && t->dims[3] > 0 && t->dims[2] * t->dims[3] > 1;
}

static double numel(const lctx *c, int t) { return (double)ir_tensor_numel(&c->g->tensors[t]); }

/* A UNIFORM/FILTER node can choose its layout: its filter (if any) is a constant 4-D tensor of the
 * feature maps' type, no other constant input is a feature map, and it touches a feature map. */
static bool mode_eligible(const lctx *c, int i)
{
  const ir_graph *g = c->g;
  const ir_node *n = &g->nodes[i];
  bool touches = false;
  for (int k = 0; k < n->n_in; k++) {
    int t = n->in[k];
    if (t < 0) continue;
    const ir_tensor *x = &g->tensors[t];
    if (c->filter[i] && k == 1) {
      if (!x->is_const || !x->data || x->ndim != 4 || x->dtype != c->dtype) return false;
      continue;
    }
    if (x->is_const && layout_is_feature_map(x, c->dtype)) return false;
    touches |= c->feature[t];
  }
  for (int k = 0; k < n->n_out; k++)
    if (n->out[k] >= 0) touches |= c->feature[n->out[k]];
  return touches;
}

static onyx_status ctx_init(lctx *c, ir_graph *g, const uint8_t *caps, onyx_dtype dtype)
{
  memset(c, 0, sizeof(*c));
  c->g = g;
  c->dtype = dtype;
  c->nn = g->n_nodes;
  c->nt = g->n_tensors;
  size_t nn = (size_t)(c->nn ? c->nn : 1), nt = (size_t)c->nt + 1;
  c->kind = onyx_calloc(nn, 1);
  c->mode = onyx_calloc(nn, 1);
  c->filter = onyx_calloc(nn, sizeof(bool));
  c->uf = onyx_calloc(nn, sizeof(int));
  c->feature = onyx_calloc(nt, sizeof(bool));
  c->fixed = onyx_calloc(nt, sizeof(bool));
  c->lay = onyx_calloc(nt, 1);
  c->first = onyx_calloc(nt + 1, sizeof(int));
  if (!c->kind || !c->mode || !c->filter || !c->uf || !c->feature || !c->fixed || !c->lay || !c->first)
    return ONYX_ERR_NO_MEMORY;
  for (int t = 0; t < c->nt; t++) {
    const ir_tensor *x = &g->tensors[t];
    c->feature[t] = !x->is_const && layout_is_feature_map(x, dtype);
    c->fixed[t] = c->feature[t] && (ir_is_graph_io(g, t) || x->producer < 0);
  }
  int total = 0;
  for (int i = 0; i < c->nn; i++) {
    const ir_node *n = &g->nodes[i];
    if (n->folded) continue;
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] >= 0) c->first[n->in[k] + 1]++, total++;
  }
  for (int t = 0; t < c->nt; t++) c->first[t + 1] += c->first[t];
  c->uses = onyx_malloc((size_t)(total ? total : 1) * sizeof(use));
  int *cursor = onyx_calloc(nt, sizeof(int));
  if (!c->uses || !cursor) {
    free(cursor);
    return ONYX_ERR_NO_MEMORY;
  }
  for (int i = 0; i < c->nn; i++) {
    const ir_node *n = &g->nodes[i];
    if (n->folded) continue;
    for (int k = 0; k < n->n_in; k++) {
      int t = n->in[k];
      if (t >= 0) c->uses[c->first[t] + cursor[t]++] = (use){i, k};
    }
  }
  free(cursor);
  for (int i = 0; i < c->nn; i++) {
    const ir_node *n = &g->nodes[i];
    int cap = (n->op >= 0 && n->op < ONYX_OP_COUNT) ? caps[n->op] : LAYOUT_CAP_ROW_MAJOR;
    c->filter[i] = cap == LAYOUT_CAP_FILTER;
    if (n->folded)
      c->kind[i] = K_SKIP;
    else if (cap == LAYOUT_CAP_STRIDED)
      c->kind[i] = K_STRIDED;
    else if (cap == LAYOUT_CAP_STRIDED_IN)
      c->kind[i] = K_STRIDED_IN;
    else if ((cap == LAYOUT_CAP_UNIFORM || cap == LAYOUT_CAP_FILTER) && mode_eligible(c, i))
      c->kind[i] = K_MODE;
    else
      c->kind[i] = K_ROW;
    c->mode[i] = c->kind[i] == K_MODE ? CL : ROW;
  }
  return ONYX_OK;
}

static void ctx_free(lctx *c)
{
  free(c->kind);
  free(c->mode);
  free(c->filter);
  free(c->uf);
  free(c->feature);
  free(c->fixed);
  free(c->lay);
  free(c->first);
  free(c->uses);
}

/* The layout a consumer needs for its input, or -1 when it reads either. */
static int demand(const lctx *c, int node)
{
  if (c->kind[node] == K_ROW) return ROW;
  if (c->kind[node] == K_MODE) return c->mode[node];
  return -1;
}

/* The node's first feature-map output, or -1. */
static int feature_output(const lctx *c, int node)
{
  const ir_node *n = &c->g->nodes[node];
  for (int k = 0; k < n->n_out; k++)
    if (n->out[k] >= 0 && c->feature[n->out[k]]) return n->out[k];
  return -1;
}

/* Sets c->lay for the current modes and returns their cost. */
static double evaluate(lctx *c)
{
  const ir_graph *g = c->g;
  for (int t = 0; t < c->nt; t++) {
    if (!c->feature[t]) continue;
    int p = g->tensors[t].producer;
    c->lay[t] = (!c->fixed[t] && p >= 0 && c->kind[p] == K_MODE) ? c->mode[p] : ROW;
  }
  for (int i = c->nn - 1; i >= 0; i--) { /* STRIDED writers, consumers first */
    if (c->kind[i] != K_STRIDED) continue;
    const ir_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_out; k++) {
      int t = n->out[k];
      if (t < 0 || !c->feature[t] || c->fixed[t]) continue;
      double want[2] = {0, 0};
      for (int u = c->first[t]; u < c->first[t + 1]; u++) {
        int node = c->uses[u].node, d = demand(c, node);
        if (d >= 0) {
          want[d] += numel(c, t);
        } else if (c->kind[node] == K_STRIDED) {
          int o = feature_output(c, node);
          if (o >= 0) want[c->lay[o]] += numel(c, t) / 2;
        }
      }
      c->lay[t] = want[CL] > want[ROW] ? CL : ROW;
    }
  }
  double cost = 0;
  for (int t = 0; t < c->nt; t++) {
    if (!c->feature[t]) continue;
    bool need[2] = {false, false};
    for (int u = c->first[t]; u < c->first[t + 1]; u++) {
      int d = demand(c, c->uses[u].node);
      if (d >= 0) need[d] = true;
    }
    for (int l = 0; l < 2; l++)
      if (need[l] && l != c->lay[t]) cost += numel(c, t) + LAUNCH_COST;
    int p = g->tensors[t].producer;
    if (c->fixed[t] && p >= 0 && c->kind[p] == K_MODE && c->mode[p] == CL) cost += numel(c, t) + LAUNCH_COST;
  }
  for (int i = 0; i < c->nn; i++) {
    const ir_node *n = &g->nodes[i];
    if (c->kind[i] == K_STRIDED) {
      int o = feature_output(c, i);
      for (int k = 0; o >= 0 && k < n->n_in; k++) {
        int t = n->in[k];
        if (t >= 0 && c->feature[t] && c->lay[t] != c->lay[o]) cost += numel(c, t) / 2;
      }
    } else if (c->kind[i] == K_MODE && c->filter[i] && c->mode[i] == ROW) {
      for (int k = 0; k < n->n_in; k++) /* cuDNN's own transposes of a row-major tensor-core conv */
        if (k != 1 && n->in[k] >= 0 && c->feature[n->in[k]]) cost += numel(c, n->in[k]);
      for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && c->feature[n->out[k]]) cost += numel(c, n->out[k]);
    }
  }
  return cost;
}

static int uf_find(int *uf, int x)
{
  while (uf[x] != x) x = uf[x] = uf[uf[x]];
  return x;
}

/* MODE nodes joined by a feature map between them, in the same mode. */
static void groups(lctx *c)
{
  for (int i = 0; i < c->nn; i++) c->uf[i] = i;
  for (int t = 0; t < c->nt; t++) {
    int p = c->g->tensors[t].producer;
    if (!c->feature[t] || p < 0 || c->kind[p] != K_MODE) continue;
    for (int u = c->first[t]; u < c->first[t + 1]; u++) {
      int q = c->uses[u].node;
      if (c->kind[q] == K_MODE && c->mode[q] == c->mode[p]) c->uf[uf_find(c->uf, q)] = uf_find(c->uf, p);
    }
  }
}

static void flip_group(lctx *c, int root)
{
  for (int i = 0; i < c->nn; i++)
    if (c->kind[i] == K_MODE && uf_find(c->uf, i) == root) c->mode[i] ^= 1;
}

static void search(lctx *c)
{
  double best = evaluate(c);
  for (int round = 0; round < MAX_ROUNDS; round++) {
    bool changed = false;
    groups(c);
    for (int i = 0; i < c->nn; i++) {
      if (c->kind[i] != K_MODE || uf_find(c->uf, i) != i) continue;
      flip_group(c, i);
      double cost = evaluate(c);
      if (cost < best - 0.5) {
        best = cost;
        changed = true;
      } else {
        flip_group(c, i);
      }
    }
    for (int i = 0; i < c->nn; i++) {
      if (c->kind[i] != K_MODE) continue;
      c->mode[i] ^= 1;
      double cost = evaluate(c);
      if (cost < best - 0.5) {
        best = cost;
        changed = true;
      } else {
        c->mode[i] ^= 1;
      }
    }
    if (!changed) break;
  }
  evaluate(c);
}

/* ---- rewriting the graph ---------------------------------------------------- */

/* A new tensor "<base><suffix>" (made unique) shaped like t with layout lay; its index or -1. */
static int add_twin(ir_graph *g, int t, const char *suffix, int lay)
{
  char name[600];
  snprintf(name, sizeof(name), "%s%s", g->tensors[t].name, suffix);
  for (int k = 2; ir_find_tensor(g, name) >= 0; k++)
    snprintf(name, sizeof(name), "%s%s_%d", g->tensors[t].name, suffix, k);
  int h = ir_add_tensor(g, name);
  if (h < 0) return -1;
  const ir_tensor *src = &g->tensors[t]; /* re-read: ir_add_tensor may move the array */
  ir_tensor_set(&g->tensors[h], src->dtype, src->ndim, src->dims);
  g->tensors[h].layout = (uint8_t)lay;
  return h;
}

/* Appends an Identity node src -> dst (a reformat when their layouts differ). */
static onyx_status add_reformat(ir_graph *g, int src, int dst)
{
  ir_node n;
  memset(&n, 0, sizeof(n));
  char name[600];
  snprintf(name, sizeof(name), "%s:to_%s", g->tensors[src].name,
           g->tensors[dst].layout == CL ? "nhwc" : "nchw");
  n.name = onyx_strdup(name);
  n.op_type = onyx_strdup("Identity");
  n.domain = onyx_strdup("");
  n.in = onyx_malloc(sizeof(int));
  n.out = onyx_malloc(sizeof(int));
  if (!n.name || !n.op_type || !n.domain || !n.in || !n.out) {
    ir_node_clear(&n);
    return ONYX_ERR_NO_MEMORY;
  }
  n.op = ONYX_OP_IDENTITY;
  n.opset = 16;
  n.n_in = n.n_out = 1;
  n.in[0] = src;
  n.out[0] = dst;
  n.owns_node_data = true;
  onyx_status st = op_table[ONYX_OP_IDENTITY].parse(&n);
  if (st == ONYX_OK && ir_add_node(g, &n) < 0) st = ONYX_ERR_NO_MEMORY;
  if (st != ONYX_OK) ir_node_clear(&n);
  return st;
}

/* KCRS -> KRSC (M, C, kh, kw) -> (M, kh, kw, C), elements of esz bytes. */
static void *to_krsc(const ir_tensor *w, size_t esz)
{
  const int64_t M = w->dims[0], C = w->dims[1], R = w->dims[2], S = w->dims[3];
  const int64_t n = M * C * R * S;
  char *out = onyx_malloc((size_t)(n > 0 ? n : 1) * esz);
  if (!out) return NULL;
  const char *in = w->data;
  for (int64_t m = 0; m < M; m++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t r = 0; r < R; r++)
        for (int64_t s = 0; s < S; s++)
          memcpy(out + (size_t)(((m * R + r) * S + s) * C + c) * esz,
                 in + (size_t)(((m * C + c) * R + r) * S + s) * esz, esz);
  return out;
}

/* The filters of channels-last convs: in place when only such convs read them, else a twin. */
static onyx_status transpose_filters(lctx *c, layout_report *rep)
{
  ir_graph *g = c->g;
  int *twin = onyx_malloc((size_t)(c->nt ? c->nt : 1) * sizeof(int));
  if (!twin) return ONYX_ERR_NO_MEMORY;
  for (int t = 0; t < c->nt; t++) twin[t] = -1;
  onyx_status st = ONYX_OK;
  for (int i = 0; i < c->nn && st == ONYX_OK; i++) {
    if (c->kind[i] != K_MODE || !c->filter[i] || c->mode[i] != CL) continue;
    int w = g->nodes[i].in[1];
    if (twin[w] < 0) {
      bool shared = false;
      for (int u = c->first[w]; u < c->first[w + 1]; u++) {
        int q = c->uses[u].node;
        shared |= !(c->kind[q] == K_MODE && c->filter[q] && c->mode[q] == CL && c->uses[u].slot == 1);
      }
      shared |= ir_is_graph_io(g, w);
      void *data = to_krsc(&g->tensors[w], onyx_dtype_size(c->dtype));
      if (!data) {
        st = ONYX_ERR_NO_MEMORY;
        break;
      }
      int h = w;
      if (shared && (h = add_twin(g, w, ":krsc", CL)) < 0) {
        free(data);
        st = ONYX_ERR_NO_MEMORY;
        break;
      }
      ir_tensor *x = &g->tensors[h];
      if (x->owns_data) free(x->data);
      x->data = data;
      x->owns_data = true;
      x->is_const = true;
      x->layout = CL;
      twin[w] = h;
      rep->filters++;
    }
    g->nodes[i].in[1] = twin[w];
  }
  free(twin);
  return st;
}

/* Rewires the uses of t (original consumers) that need layout l to a reformatted twin. */
static onyx_status reformat_uses(lctx *c, int t, int l, int src, layout_report *rep)
{
  ir_graph *g = c->g;
  int h = -1;
  for (int u = c->first[t]; u < c->first[t + 1]; u++) {
    int q = c->uses[u].node, k = c->uses[u].slot;
    if (demand(c, q) != l || g->nodes[q].in[k] != t) continue;
    if (h < 0) {
      if ((h = add_twin(g, t, l == CL ? ":nhwc" : ":nchw", l)) < 0) return ONYX_ERR_NO_MEMORY;
      ONYX_TRY(add_reformat(g, src, h));
      rep->reformats++;
    }
    g->nodes[q].in[k] = h;
  }
  return ONYX_OK;
}

static onyx_status rewrite(lctx *c, layout_report *rep)
{
  ir_graph *g = c->g;
  for (int t = 0; t < c->nt; t++) {
    if (!c->feature[t] || c->fixed[t]) continue;
    g->tensors[t].layout = c->lay[t];
    if (c->lay[t] == CL) rep->channels_last++;
  }
  for (int i = 0; i < c->nn; i++)
    if (c->kind[i] == K_MODE && c->mode[i] == CL) rep->nodes_channels_last++;
  /* a row-major graph output written by a channels-last node: the node writes a twin */
  for (int t = 0; t < c->nt; t++) {
    int p = g->tensors[t].producer;
    if (!c->feature[t] || !c->fixed[t] || p < 0 || c->kind[p] != K_MODE || c->mode[p] != CL) continue;
    int h = add_twin(g, t, ":nhwc", CL);
    if (h < 0) return ONYX_ERR_NO_MEMORY;
    ir_node *n = &g->nodes[p];
    for (int k = 0; k < n->n_out; k++)
      if (n->out[k] == t) n->out[k] = h;
    ONYX_TRY(add_reformat(g, h, t));
    rep->reformats++;
    for (int u = c->first[t]; u < c->first[t + 1]; u++)
      if (demand(c, c->uses[u].node) == CL) g->nodes[c->uses[u].node].in[c->uses[u].slot] = h;
  }
  for (int t = 0; t < c->nt; t++) {
    if (!c->feature[t]) continue;
    for (int l = 0; l < 2; l++)
      if (l != c->lay[t]) ONYX_TRY(reformat_uses(c, t, l, t, rep));
  }
  return transpose_filters(c, rep);
}

onyx_status layout_assign_nhwc(ir_graph *g, const uint8_t caps[ONYX_OP_COUNT], const layout_options *o,
                               layout_report *rep)
{
  layout_report local;
  if (!rep) rep = &local;
  memset(rep, 0, sizeof(*rep));
  ONYX_TRY(graph_toposort(g));
  lctx c;
  onyx_status st = ctx_init(&c, g, caps, o->dtype);
  if (st == ONYX_OK) {
    if (o->all)
      evaluate(&c); /* every MODE node starts channels-last */
    else
      search(&c);
    st = rewrite(&c, rep);
  }
  ctx_free(&c);
  if (st != ONYX_OK) return st;
  return graph_toposort(g);
}
