#include "backend/cuda/plan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nvtx3/nvToolsExt.h>

#include "common/util.h"
#include "engine/tactics.h"
#include "engine/memplan.h"
#include "ops/ops.h"
#include "ops/shape.h"

#define NOWHERE SIZE_MAX

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t align256(size_t x) { return (x + 255) / 256 * 256; }

void cuda_plan_retain(cuda_plan *p) { __atomic_add_fetch(&p->refs, 1, __ATOMIC_SEQ_CST); }

void cuda_plan_release(cuda_plan *p)
{
  if (!p || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_SEQ_CST) > 0) return;
  if (p->d_weights) cudaFree(p->d_weights);
  free(p->steps);
  free(p->offset);
  free(p->w_offset);
  free(p->side);
  free(p->parent);
  ir_graph_free(p->g);
  free(p);
}

/* ---- lanes: pairs of steps that run concurrently ------------------------------ */

/* Whether node b reads a tensor node a writes (a runs before b: b never writes what a reads). */
static bool reads_output_of(const ir_node *b, const ir_node *a)
{
  for (int k = 0; k < b->n_in; k++)
    for (int j = 0; b->in[k] >= 0 && j < a->n_out; j++)
      if (b->in[k] == a->out[j]) return true;
  return false;
}

/* Pairs, greedily in step order: step s runs on the side stream beside step s - 1 when it reads nothing
 * s - 1 writes and s - 1 is in no pair yet.  Each step's outputs are its own tensors (one producer per
 * tensor), so a pair's tensors can share bytes only through the arena, which the liveness below keeps
 * apart, or through aliases (views, Concat inputs), which need a reader of the aliased tensor between
 * the two: there is none between neighbours.  ONYX_CONCURRENT=0: no pairs (A/B measurements). */
static void choose_pairs(cuda_plan *p)
{
  const char *knob = getenv("ONYX_CONCURRENT");
  p->n_side = 0;
  for (int s = 0; s < p->n_steps; s++) p->side[s] = 0;
  if (knob && !strcmp(knob, "0")) return;
  for (int s = 1; s < p->n_steps; s++) {
    if (p->side[s - 1]) continue;
    if (reads_output_of(&p->g->nodes[p->steps[s]], &p->g->nodes[p->steps[s - 1]])) continue;
    p->side[s] = 1;
    p->n_side++;
  }
}

/* Whether the part of t at index `at` of dim `axis` onwards is one block of memory: every dim before
 * the axis in memory order (NCHW, or NHWC for channels-last 4-D tensors) is 1. */
static bool slice_contiguous(const ir_tensor *t, int axis)
{
  static const int cl_order[4] = {0, 2, 3, 1};
  bool cl = t->ndim == 4 && t->layout == IR_LAYOUT_CHANNELS_LAST;
  for (int m = 0; m < t->ndim; m++) {
    int d = cl ? cl_order[m] : m;
    if (d == axis) return true;
    if (t->dims[d] != 1) return false;
  }
  return false;
}

/* Concat without copies: an input that a step produces and nothing but this Concat reads, whose
 * slice of the output is one block at a MEMPLAN_ALIGN-aligned offset, is placed inside the output
 * (its producer writes there; the Concat layer sees it in place and copies nothing for it).  The
 * output then lives from the first such producer on.  parent[t] / at[t]: the tensor t lies in and
 * its byte offset there (-1: none). */
static void alias_concats(const cuda_plan *p, memplan_item *items, const int *uses, int *parent, size_t *at)
{
  const ir_graph *g = p->g;
  for (int s = 0; s < p->n_steps; s++) {
    const ir_node *n = &g->nodes[p->steps[s]];
    int y = n->n_out > 0 ? n->out[0] : -1, axis;
    if (n->op != ONYX_OP_CONCAT || y < 0 || !n->params) continue;
    const ir_tensor *Y = &g->tensors[y];
    if (op_axis(n, ((const axis_params *)n->params)->axis, Y->ndim, &axis) != ONYX_OK ||
        !slice_contiguous(Y, axis))
      continue;
    size_t inner = ir_tensor_bytes(Y) / (size_t)(Y->dims[axis] > 0 ? Y->dims[axis] : 1), off = 0;
    for (int k = 0; k < n->n_in; k++) {
      int x = n->in[k];
      if (x < 0) break;
      const ir_tensor *X = &g->tensors[x];
      size_t bytes = ir_tensor_bytes(X);
      if (!X->is_const && uses[x] == 1 && items[x].first >= 0 && parent[x] < 0 && !ir_is_graph_io(g, x) &&
          X->dtype == Y->dtype && X->layout == Y->layout && X->ndim == Y->ndim && off % MEMPLAN_ALIGN == 0 &&
          bytes == inner * (size_t)X->dims[axis]) {
        parent[x] = y;
        at[x] = off;
        int r = y; /* the buffer all of them lie in (the output may lie in a view's, alias_views) */
        while (parent[r] >= 0) r = parent[r];
        if (items[x].first < items[r].first) items[r].first = items[x].first;
        items[x].size = 0;
      }
      off += bytes;
    }
  }
}

/* Whether t's bytes are in row-major order of its dims (row-major, or a channels-last 4-D tensor
 * whose two layouts coincide: C == 1 or H * W == 1). */
static bool bytes_row_major(const ir_tensor *t)
{
  return t->layout != IR_LAYOUT_CHANNELS_LAST ||
         (t->ndim == 4 && (t->dims[1] <= 1 || t->dims[2] * t->dims[3] <= 1));
}

/* Views without copies: the reshape family (Identity, Flatten, Reshape, Squeeze, Unsqueeze) between two
 * tensors whose bytes are the same sequence is a plain copy; when a step produces the input, nothing
 * else reads it and neither is graph I/O, the input is placed in the output's memory (offset 0) and the
 * layer (k_elementwise.c, copy) sees it in place and copies nothing.  Run before alias_concats, so that
 * a view may then lie inside a concat buffer with its input. */
static void alias_views(const cuda_plan *p, memplan_item *items, const int *uses, int *parent, size_t *at)
{
  const ir_graph *g = p->g;
  for (int s = 0; s < p->n_steps; s++) {
    const ir_node *n = &g->nodes[p->steps[s]];
    if (n->op != ONYX_OP_IDENTITY && n->op != ONYX_OP_FLATTEN && n->op != ONYX_OP_RESHAPE &&
        n->op != ONYX_OP_SQUEEZE && n->op != ONYX_OP_UNSQUEEZE)
      continue;
    int x = n->n_in > 0 ? n->in[0] : -1, y = n->n_out > 0 ? n->out[0] : -1;
    if (x < 0 || y < 0) continue;
    const ir_tensor *X = &g->tensors[x], *Y = &g->tensors[y];
    if (X->is_const || uses[x] != 1 || items[x].first < 0 || parent[x] >= 0 || ir_is_graph_io(g, x) ||
        ir_is_graph_io(g, y) || X->dtype != Y->dtype || ir_tensor_bytes(X) != ir_tensor_bytes(Y) ||
        !bytes_row_major(X) || !bytes_row_major(Y))
      continue;
    parent[x] = y;
    at[x] = 0;
    if (items[x].first < items[y].first) items[y].first = items[x].first;
    items[x].size = 0;
  }
}

/* Whether tensor a lies inside tensor b's memory (up a's chain of views and concats). */
static bool lies_in(const int *parent, int a, int b)
{
  for (int r = parent[a]; r >= 0; r = parent[r])
    if (r == b) return true;
  return false;
}

/* Lifetimes in time points: a step, or a pair of steps (which run at once) as one.  items[t].first: the
 * time point that writes t (-1: a graph input, live from the start); items[t].last: the last one that
 * reads it (graph outputs: n_times, to the end).  uses[t]: how many step inputs read t.  Sizes are left
 * to the caller.  Returns the number of time points. */
static int liveness(const cuda_plan *p, memplan_item *items, bool *used, int *uses)
{
  const ir_graph *g = p->g;
  int nt = g->n_tensors, time = -1;
  for (int t = 0; t < nt; t++) {
    items[t].first = items[t].last = -1;
    used[t] = false;
    uses[t] = 0;
  }
  for (int s = 0; s < p->n_steps; s++) {
    if (!p->side || !p->side[s]) time++; /* a side step shares its predecessor's time point */
    const ir_node *n = &g->nodes[p->steps[s]];
    for (int k = 0; k < n->n_in; k++) {
      int t = n->in[k];
      if (t < 0 || g->tensors[t].is_const) continue;
      used[t] = true;
      uses[t]++;
      if (items[t].last < time) items[t].last = time;
    }
    for (int k = 0; k < n->n_out; k++) {
      int t = n->out[k];
      if (t < 0) continue;
      used[t] = true;
      items[t].first = time;
      if (items[t].last < time) items[t].last = time;
    }
  }
  int n_times = time + 1;
  for (int i = 0; i < g->n_inputs; i++) {
    int t = g->inputs[i];
    used[t] = true;
    items[t].first = -1;
    if (items[t].last < 0) items[t].last = 0;
  }
  for (int i = 0; i < g->n_outputs; i++) {
    int t = g->outputs[i];
    if (g->tensors[t].is_const) continue;
    used[t] = true;
    items[t].last = n_times;
  }
  return n_times;
}

/* Whether tensors a and b (of a plan whose offsets are set) have bytes in common in the arena. */
static bool share_bytes(const cuda_plan *p, int a, int b)
{
  const ir_graph *g = p->g;
  if (a < 0 || b < 0 || g->tensors[a].is_const || g->tensors[b].is_const) return false;
  size_t na = ir_tensor_bytes(&g->tensors[a]), nb = ir_tensor_bytes(&g->tensors[b]);
  if (!na || !nb || p->offset[a] == NOWHERE || p->offset[b] == NOWHERE) return false;
  return p->offset[a] < p->offset[b] + nb && p->offset[b] < p->offset[a] + na;
}

/* A pair's hazard: a tensor that step w writes sharing bytes with one that step o reads or writes. */
static onyx_status check_pair(const cuda_plan *p, int w, int o)
{
  const ir_graph *g = p->g;
  const ir_node *nw = &g->nodes[p->steps[w]], *no = &g->nodes[p->steps[o]];
  for (int j = 0; j < nw->n_out; j++)
    for (int side = 0; side < 2; side++) {
      int cnt = side ? no->n_out : no->n_in;
      const int *ts = side ? no->out : no->in;
      for (int k = 0; k < cnt; k++) {
        if (nw->out[j] >= 0 && nw->out[j] == ts[k])
          return onyx_error(ONYX_ERR_INTERNAL,
                            "lanes: step %d ('%s') %s '%s', which step %d ('%s') beside it writes", o,
                            no->name, side ? "writes" : "reads", g->tensors[ts[k]].name, w, nw->name);
        if (share_bytes(p, nw->out[j], ts[k]))
          return onyx_error(ONYX_ERR_INTERNAL,
                            "memory plan: steps %d ('%s') and %d ('%s') run concurrently, but '%s' written "
                            "by the first shares bytes with '%s' %s by the second",
                            w, nw->name, o, no->name, g->tensors[nw->out[j]].name, g->tensors[ts[k]].name,
                            side ? "written" : "read");
      }
    }
  return ONYX_OK;
}

/* Checked because a wrong alias or a wrong pair would corrupt results silently.  Lifetimes are each
 * tensor's own (before an alias lowered its buffer's first time point). */
onyx_status cuda_plan_check(const cuda_plan *p)
{
  const ir_graph *g = p->g;
  int nt = g->n_tensors;
  memplan_item *items = onyx_calloc((size_t)nt + 1, sizeof(*items));
  bool *used = onyx_calloc((size_t)nt + 1, sizeof(bool));
  int *uses = onyx_calloc((size_t)nt + 1, sizeof(int));
  onyx_status st = ONYX_ERR_NO_MEMORY;
  if (!items || !used || !uses) goto out;
  st = ONYX_OK;
  liveness(p, items, used, uses);
  for (int s = 1; st == ONYX_OK && s < p->n_steps; s++) {
    if (!p->side || !p->side[s]) continue;
    if (p->side[s - 1]) {
      st = onyx_error(ONYX_ERR_INTERNAL, "lanes: steps %d and %d are both side steps (a pair is a main and a "
                      "side step)", s - 1, s);
      break;
    }
    st = check_pair(p, s - 1, s);
    if (st == ONYX_OK) st = check_pair(p, s, s - 1);
  }
  for (int a = 0; st == ONYX_OK && a < nt; a++) {
    if (!used[a]) continue;
    for (int b = a + 1; b < nt; b++) {
      if (!used[b] || !share_bytes(p, a, b)) continue;
      if (items[a].first > items[b].last || items[b].first > items[a].last) continue;
      if (lies_in(p->parent, a, b) || lies_in(p->parent, b, a)) continue;
      st = onyx_error(ONYX_ERR_INTERNAL,
                      "memory plan: tensors '%s' (time points %d-%d) and '%s' (%d-%d) share bytes while both "
                      "are live",
                      g->tensors[a].name, items[a].first, items[a].last, g->tensors[b].name, items[b].first,
                      items[b].last);
      break;
    }
  }
out:
  free(items);
  free(used);
  free(uses);
  return st;
}

/* Arena offsets by liveness (pairs as one time point), with views and Concat inputs in place. */
static onyx_status plan_memory(cuda_plan *p)
{
  const ir_graph *g = p->g;
  int nt = g->n_tensors;
  memplan_item *items = onyx_calloc((size_t)nt + 1, sizeof(*items));
  bool *used = onyx_calloc((size_t)nt + 1, sizeof(bool));
  int *uses = onyx_calloc((size_t)nt + 1, sizeof(int)), *parent = p->parent;
  size_t *at = onyx_calloc((size_t)nt + 1, sizeof(size_t));
  onyx_status st = ONYX_ERR_NO_MEMORY;
  if (!items || !used || !uses || !at) goto out;
  for (int t = 0; t < nt; t++) parent[t] = -1;
  liveness(p, items, used, uses);
  for (int t = 0; t < nt; t++) items[t].size = used[t] ? ir_tensor_bytes(&g->tensors[t]) : 0;
  const char *knob = getenv("ONYX_CONCAT_IN_PLACE"); /* 0: every Concat and view copies (A/B measurements) */
  if (!(knob && !strcmp(knob, "0"))) {
    alias_views(p, items, uses, parent, at);
    alias_concats(p, items, uses, parent, at);
  }
  st = memplan_assign(items, nt, &p->arena_size);
  for (int t = 0; st == ONYX_OK && t < nt; t++) {
    if (!used[t]) {
      p->offset[t] = NOWHERE;
      continue;
    }
    size_t off = 0; /* up the chain of concats this tensor lies in */
    int r = t;
    for (; parent[r] >= 0; r = parent[r]) off += at[r];
    p->offset[t] = items[r].offset + off;
  }
  if (st == ONYX_OK) st = cuda_plan_check(p);
out:
  free(items);
  free(used);
  free(uses);
  free(at);
  return st;
}

/* Every constant a step reads goes into one device allocation: offsets and size. */
static void place_weights(cuda_plan *p)
{
  const ir_graph *g = p->g;
  size_t total = 0;
  for (int s = 0; s < p->n_steps; s++) {
    const ir_node *n = &g->nodes[p->steps[s]];
    for (int k = 0; k < n->n_in; k++) {
      int t = n->in[k];
      if (t < 0 || !g->tensors[t].is_const || p->w_offset[t] != NOWHERE) continue;
      p->w_offset[t] = total;
      total += align256(ir_tensor_bytes(&g->tensors[t]) ? ir_tensor_bytes(&g->tensors[t]) : 1);
    }
  }
  p->weights_size = total;
}

static onyx_status upload_weights(cuda_plan *p)
{
  const ir_graph *g = p->g;
  size_t total = p->weights_size;
  if (!total) return ONYX_OK;
  unsigned char *host = onyx_calloc(1, total);
  if (!host) return ONYX_ERR_NO_MEMORY;
  for (int t = 0; t < g->n_tensors; t++)
    if (p->w_offset[t] != NOWHERE && g->tensors[t].data)
      memcpy(host + p->w_offset[t], g->tensors[t].data, ir_tensor_bytes(&g->tensors[t]));
  cudaError_t err = cudaMalloc(&p->d_weights, total);
  if (err == cudaSuccess) err = cudaMemcpy(p->d_weights, host, total, cudaMemcpyHostToDevice);
  free(host);
  if (err != cudaSuccess) return cuda_status(err, "uploading weights", __FILE__, __LINE__);
  return ONYX_OK;
}

/* Steps, arena and weight placement, without touching the device. */
static onyx_status plan_layout(cuda_plan *p)
{
  const ir_graph *g = p->g;
  p->steps = onyx_malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(int));
  p->side = onyx_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), 1);
  p->offset = onyx_malloc((size_t)(g->n_tensors ? g->n_tensors : 1) * sizeof(size_t));
  p->w_offset = onyx_malloc((size_t)(g->n_tensors ? g->n_tensors : 1) * sizeof(size_t));
  p->parent = onyx_malloc((size_t)(g->n_tensors ? g->n_tensors : 1) * sizeof(int));
  if (!p->steps || !p->side || !p->offset || !p->w_offset || !p->parent) return ONYX_ERR_NO_MEMORY;
  for (int t = 0; t < g->n_tensors; t++) p->offset[t] = p->w_offset[t] = NOWHERE;
  for (int i = 0; i < g->n_nodes; i++)
    if (!g->nodes[i].folded) p->steps[p->n_steps++] = i;
  choose_pairs(p);
  ONYX_TRY(plan_memory(p));
  place_weights(p);
  return ONYX_OK;
}

onyx_status cuda_plan_create_host(ir_graph *g, cuda_plan **out)
{
  *out = NULL;
  cuda_plan *p = onyx_calloc(1, sizeof(*p));
  if (!p) {
    ir_graph_free(g);
    return ONYX_ERR_NO_MEMORY;
  }
  p->g = g;
  p->refs = 1;
  onyx_status st = plan_layout(p);
  if (st != ONYX_OK) {
    cuda_plan_release(p);
    return st;
  }
  *out = p;
  return ONYX_OK;
}

onyx_status cuda_plan_create(ir_graph *g, cuda_plan **out)
{
  cuda_plan *p;
  ONYX_TRY(cuda_plan_create_host(g, &p));
  onyx_status st = upload_weights(p);
  if (st != ONYX_OK) {
    cuda_plan_release(p);
    return st;
  }
  *out = p;
  return ONYX_OK;
}

onyx_status cuda_plan_measure(const ir_graph *g, size_t *arena_bytes, size_t *weight_bytes)
{
  cuda_plan p = {.g = (ir_graph *)g}; /* read only: plan_layout writes the plan's own arrays */
  onyx_status st = plan_layout(&p);
  *arena_bytes = p.arena_size;
  *weight_bytes = p.weights_size;
  free(p.steps);
  free(p.side);
  free(p.offset);
  free(p.w_offset);
  free(p.parent);
  return st;
}

/* ---- runner ----------------------------------------------------------------- */

void *cuda_runner_tensor(const cuda_runner *r, int t)
{
  const cuda_plan *p = r->plan;
  if (t < 0) return NULL;
  if (p->w_offset[t] != NOWHERE) return (char *)p->d_weights + p->w_offset[t];
  if (p->offset[t] != NOWHERE) return (char *)r->arena + p->offset[t];
  return NULL;
}

static onyx_status ctx_init(cuda_ctx *c)
{
  struct cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDevice(&c->device));
  CUDA_CHECK(cudaGetDeviceProperties(&prop, c->device));
  c->sm_count = prop.multiProcessorCount;
  CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
  CUDNN_CHECK(cudnnCreate(&c->cudnn));
  CUDNN_CHECK(cudnnSetStream(c->cudnn, c->stream));
  CUBLAS_CHECK(cublasLtCreate(&c->lt));
  return ONYX_OK;
}

static void ctx_free(cuda_ctx *c)
{
  if (c->workspace) cudaFree(c->workspace);
  if (c->lt) cublasLtDestroy(c->lt);
  if (c->cudnn) cudnnDestroy(c->cudnn);
  if (c->stream) cudaStreamDestroy(c->stream);
  memset(c, 0, sizeof(*c));
}

static onyx_status alloc_workspace(cuda_ctx *c)
{
  if (!c->workspace_size) return ONYX_OK;
  /* zeroed once too: cuDNN's NHWC padding kernels read lanes past a staged input's end (seen by
   * initcheck on UltraFace FP16); what they read is then defined */
  cudaError_t err = cudaMalloc(&c->workspace, c->workspace_size);
  if (err == cudaSuccess) err = cudaMemset(c->workspace, 0, c->workspace_size);
  if (err != cudaSuccess)
    return onyx_error_context(cuda_status(err, "cudaMalloc", __FILE__, __LINE__),
                              "allocating %zu bytes of workspace", c->workspace_size);
  return ONYX_OK;
}

static void put_tensor_sig(char *buf, size_t cap, size_t *off, const cuda_tensor *t)
{
  *off += (size_t)snprintf(buf + *off, *off < cap ? cap - *off : 0, "%s[", onyx_dtype_name(t->dtype));
  for (int d = 0; d < t->ndim && *off < cap; d++)
    *off += (size_t)snprintf(buf + *off, cap - *off, d ? ",%lld" : "%lld", (long long)t->dims[d]);
  if (*off < cap) /* "cl": channels-last (a different tactic from the row-major layer) */
    *off += (size_t)snprintf(buf + *off, cap - *off, "]%s", cuda_tensor_channels_last(t) ? "cl" : "");
}

static uint64_t attrs_digest(const ir_node *n)
{
  uint64_t h = 1469598103934665603ull;
#define MIX(p, len)                                                           \
  for (size_t m_ = 0; m_ < (size_t)(len); m_++) h = (h ^ ((const unsigned char *)(p))[m_]) * 1099511628211ull
  for (int i = 0; i < n->n_attrs; i++) {
    const ir_attr *a = &n->attrs[i];
    MIX(a->name, strlen(a->name));
    MIX(&a->type, sizeof(a->type));
    MIX(&a->i, sizeof(a->i));
    MIX(&a->f, sizeof(a->f));
    if (a->s) MIX(a->s, strlen(a->s));
    if (a->ints) MIX(a->ints, a->n * sizeof(int64_t));
    if (a->floats) MIX(a->floats, a->n * sizeof(float));
  }
#undef MIX
  return h;
}

void cuda_layer_signature(const cuda_layer *L, char *buf, size_t cap)
{
  size_t off = (size_t)snprintf(buf, cap, "%s|", L->node->op_type);
  for (int k = 0; k < L->n_in && off < cap; k++) {
    if (L->in[k].ptr || L->in[k].ndim) put_tensor_sig(buf, cap, &off, &L->in[k]);
    if (off < cap) buf[off++] = ',';
  }
  if (off < cap) off += (size_t)snprintf(buf + off, cap - off, "->");
  for (int k = 0; k < L->n_out && off < cap; k++) put_tensor_sig(buf, cap, &off, &L->out[k]);
  if (off < cap)
    snprintf(buf + off, cap - off, "|a:%016llx|%s", (unsigned long long)attrs_digest(L->node),
             L->opts->allow_tf32 ? "tf32" : "strict");
  buf[cap - 1] = '\0';
}

static void describe(const ir_tensor *x, void *ptr, cuda_tensor *ct)
{
  ct->dtype = x->dtype;
  ct->ndim = x->ndim;
  ct->layout = x->ndim == 4 ? x->layout : IR_LAYOUT_ROW_MAJOR;
  memcpy(ct->dims, x->dims, (size_t)x->ndim * sizeof(int64_t));
  cuda_tensor_set_strides(ct); /* channels-last: N, C, H, W at H*W*C, 1, W*C, C */
  ct->ptr = ptr;
}

/* Sets up layer L for node n: with tactic (not CUDA_TACTIC_UNSET) that tactic; else the cache's for its
 * signature, or (tune) the fastest, which goes into the cache. */
static onyx_status layer_init(cuda_runner *r, cuda_layer *L, const ir_node *n, tactic_cache *cache,
                              artifact_cache *artifacts, bool store_artifacts, bool tune, int64_t tactic)
{
  const ir_graph *g = r->plan->g;
  const cuda_op_impl *impl = cuda_ops[n->op];
  if (!impl)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "%s node '%s': op '%s' has no CUDA implementation", n->op_type, n->name,
                      n->op_type);
  L->g = g;
  L->node = n;
  L->opts = &r->opts;
  L->tactic = CUDA_TACTIC_UNSET;
  L->alt_tactic[0] = L->alt_tactic[1] = CUDA_TACTIC_UNSET;
  L->artifacts = artifacts;
  L->store_artifacts = artifacts && store_artifacts;
  L->n_in = n->n_in;
  L->n_out = n->n_out;
  L->in = onyx_calloc((size_t)(n->n_in ? n->n_in : 1), sizeof(cuda_tensor));
  L->out = onyx_calloc((size_t)(n->n_out ? n->n_out : 1), sizeof(cuda_tensor));
  if (!L->in || !L->out) return ONYX_ERR_NO_MEMORY;
  for (int k = 0; k < n->n_in; k++)
    if (n->in[k] >= 0) describe(&g->tensors[n->in[k]], cuda_runner_tensor(r, n->in[k]), &L->in[k]);
  for (int k = 0; k < n->n_out; k++)
    if (n->out[k] >= 0) describe(&g->tensors[n->out[k]], cuda_runner_tensor(r, n->out[k]), &L->out[k]);
  char sig[TACTIC_SIG_MAX];
  cuda_layer_signature(L, sig, sizeof(sig));
  const tactic_entry *te = cache && tactic == CUDA_TACTIC_UNSET ? tactic_cache_find(cache, sig) : NULL;
  L->tune = tune && !te && tactic == CUDA_TACTIC_UNSET;
  if (te) L->tactic = te->tactic;
  if (tactic != CUDA_TACTIC_UNSET) L->tactic = tactic;
  ONYX_TRY(impl->init(&r->ctx, L));
  if (cache && (L->tune || tactic != CUDA_TACTIC_UNSET))
    ONYX_TRY(tactic_cache_put(cache, sig, L->tactic, L->workspace, L->kernel));
  return ONYX_OK;
}

onyx_status cuda_runner_init(cuda_runner *r, cuda_plan *p, const cuda_build_opts *o, tactic_cache *cache,
                             artifact_cache *artifacts, bool store_artifacts, bool tune)
{
  memset(r, 0, sizeof(*r));
  cuda_plan_retain(p);
  r->plan = p;
  r->opts = *o;
  onyx_status st = ctx_init(&r->ctx);
  if (st != ONYX_OK) goto fail;
  if (p->arena_size) {
    /* zeroed once: the tactic search at build reads activations before any inference wrote them
     * (and compute-sanitizer's initcheck would rightly call that a read of uninitialised memory) */
    cudaError_t err = cudaMalloc(&r->arena, p->arena_size);
    if (err == cudaSuccess) err = cudaMemset(r->arena, 0, p->arena_size);
    if (err != cudaSuccess) {
      st = onyx_error_context(cuda_status(err, "cudaMalloc", __FILE__, __LINE__),
                              "allocating the %zu-byte activation arena", p->arena_size);
      goto fail;
    }
  }
  if (p->n_side) { /* pairs: a side stream with its own handles (workspace below), fork/join events */
    if ((st = ctx_init(&r->side)) != ONYX_OK) goto fail;
    if ((st = CUDA_STATUS(cudaEventCreateWithFlags(&r->fork, cudaEventDisableTiming))) != ONYX_OK) goto fail;
    if ((st = CUDA_STATUS(cudaEventCreateWithFlags(&r->join, cudaEventDisableTiming))) != ONYX_OK) goto fail;
  }
  if (tune) { /* a build: no layer may ask for more workspace than is free (7/8 of it: staging and tables too) */
    size_t free_b = 0, total_b = 0;
    if ((st = CUDA_STATUS(cudaMemGetInfo(&free_b, &total_b))) != ONYX_OK) goto fail;
    if (r->opts.workspace_limit > free_b - free_b / 8) r->opts.workspace_limit = free_b - free_b / 8;
  }
  r->layers = onyx_calloc((size_t)(p->n_steps ? p->n_steps : 1), sizeof(cuda_layer));
  if (!r->layers) {
    st = ONYX_ERR_NO_MEMORY;
    goto fail;
  }
  double t0 = now_s(), shown = 0;
  bool progress = false; /* a build that takes over a second says how far it is (4 times a second) */
  for (int s = 0; s < p->n_steps; s++) {
    cuda_layer *L = &r->layers[r->n_layers++];
    if ((st = layer_init(r, L, &p->g->nodes[p->steps[s]], cache, artifacts, store_artifacts, tune,
                         CUDA_TACTIC_UNSET)) != ONYX_OK)
      goto fail;
    /* init() ran on the main context (tactic timing on its stream), which must fit every layer anyway:
     * profiling runs them all there; a side step's layer runs on the side context's workspace */
    if (L->workspace > r->ctx.workspace_size) r->ctx.workspace_size = L->workspace;
    if (p->side[s] && L->workspace > r->side.workspace_size) r->side.workspace_size = L->workspace;
    double el = now_s() - t0;
    if (tune && el > 1.0 && (el - shown >= 0.25 || s + 1 == p->n_steps)) {
      fprintf(stderr, "\ronyx: timing tactics: layer %d/%d, %.1f s", s + 1, p->n_steps, el);
      progress = true;
      shown = el;
    }
  }
  if (progress) fprintf(stderr, "\n");
  if ((st = alloc_workspace(&r->ctx)) != ONYX_OK || (st = alloc_workspace(&r->side)) != ONYX_OK) goto fail;
  return ONYX_OK;
fail:
  cuda_runner_free(r);
  return st;
}

void cuda_runner_free(cuda_runner *r)
{
  for (int i = 0; i < r->n_layers; i++) {
    cuda_layer *L = &r->layers[i];
    const cuda_op_impl *impl = L->node ? cuda_ops[L->node->op] : NULL;
    if (impl && impl->release) impl->release(L);
    free(L->in);
    free(L->out);
  }
  free(r->layers);
  if (r->arena) cudaFree(r->arena);
  if (r->fork) cudaEventDestroy(r->fork);
  if (r->join) cudaEventDestroy(r->join);
  ctx_free(&r->side);
  ctx_free(&r->ctx);
  if (r->plan) cuda_plan_release(r->plan);
  memset(r, 0, sizeof(*r));
}

static onyx_status enqueue_layer(cuda_ctx *ctx, const cuda_layer *L)
{
  nvtxRangePushA(L->node->name); /* Nsight Systems shows the layer names */
  onyx_status st = cuda_ops[L->node->op]->enqueue(ctx, L);
  nvtxRangePop();
  return st;
}

onyx_status cuda_runner_enqueue(cuda_runner *r)
{
  const unsigned char *side = r->plan->side;
  for (int i = 0; i < r->n_layers; i++) {
    if (!r->serial && i + 1 < r->n_layers && side[i + 1]) { /* a pair: i on main, i + 1 on the side stream */
      CUDA_CHECK(cudaEventRecord(r->fork, r->ctx.stream));
      CUDA_CHECK(cudaStreamWaitEvent(r->side.stream, r->fork, 0));
      ONYX_TRY(enqueue_layer(&r->side, &r->layers[i + 1]));
      CUDA_CHECK(cudaEventRecord(r->join, r->side.stream));
      ONYX_TRY(enqueue_layer(&r->ctx, &r->layers[i]));
      CUDA_CHECK(cudaStreamWaitEvent(r->ctx.stream, r->join, 0));
      i++;
      continue;
    }
    ONYX_TRY(enqueue_layer(&r->ctx, &r->layers[i]));
  }
  return ONYX_OK;
}

static int cmp_float(const void *a, const void *b)
{
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}

/* ---- tactics of paired layers, checked in the whole graph ---- */

#define PAIR_WARMUP 5
#define PAIR_REPLAYS 41
#define PAIR_GAIN 0.99f /* an alternative is kept when the whole graph is at least 1 % faster with it */

/* The whole inference captured as a CUDA graph on the main stream (run once before, outside the capture:
 * what libraries make lazily), *ms the median of PAIR_REPLAYS replays after warm-up. */
static onyx_status runner_ms(cuda_runner *r, float *ms)
{
  cudaGraph_t graph = NULL;
  cudaGraphExec_t exec = NULL;
  cudaEvent_t ev[2] = {NULL, NULL};
  float t[PAIR_REPLAYS];
  onyx_status st = cuda_runner_enqueue(r);
  if (st == ONYX_OK) st = CUDA_STATUS(cudaStreamSynchronize(r->ctx.stream));
  if (st != ONYX_OK) return st;
  CUDA_CHECK(cudaStreamBeginCapture(r->ctx.stream, cudaStreamCaptureModeThreadLocal));
  st = cuda_runner_enqueue(r);
  cudaError_t e = cudaStreamEndCapture(r->ctx.stream, &graph);
  if (st == ONYX_OK) st = CUDA_STATUS(e);
  if (st == ONYX_OK) st = CUDA_STATUS(cudaGraphInstantiate(&exec, graph, 0));
  if (st == ONYX_OK) st = CUDA_STATUS(cudaEventCreate(&ev[0]));
  if (st == ONYX_OK) st = CUDA_STATUS(cudaEventCreate(&ev[1]));
  for (int i = 0; st == ONYX_OK && i < PAIR_WARMUP; i++)
    st = CUDA_STATUS(cudaGraphLaunch(exec, r->ctx.stream));
  for (int i = 0; st == ONYX_OK && i < PAIR_REPLAYS; i++) {
    st = CUDA_STATUS(cudaEventRecord(ev[0], r->ctx.stream));
    if (st == ONYX_OK) st = CUDA_STATUS(cudaGraphLaunch(exec, r->ctx.stream));
    if (st == ONYX_OK) st = CUDA_STATUS(cudaEventRecord(ev[1], r->ctx.stream));
    if (st == ONYX_OK) st = CUDA_STATUS(cudaEventSynchronize(ev[1]));
    if (st == ONYX_OK) st = CUDA_STATUS(cudaEventElapsedTime(&t[i], ev[0], ev[1]));
  }
  if (st == ONYX_OK) {
    qsort(t, PAIR_REPLAYS, sizeof(float), cmp_float);
    *ms = t[PAIR_REPLAYS / 2];
  }
  for (int i = 0; i < 2; i++)
    if (ev[i]) cudaEventDestroy(ev[i]);
  if (exec) cudaGraphExecDestroy(exec);
  if (graph) cudaGraphDestroy(graph);
  return st;
}

/* Room for bytes of workspace in c (reallocated when it had less). */
static onyx_status grow_workspace(cuda_ctx *c, size_t bytes)
{
  if (bytes <= c->workspace_size) return ONYX_OK;
  cudaFree(c->workspace);
  c->workspace = NULL;
  c->workspace_size = bytes;
  return alloc_workspace(c);
}

/* Layer i set up again with tactic (its cache entry too). */
static onyx_status relayer(cuda_runner *r, int i, tactic_cache *cache, artifact_cache *artifacts,
                           int64_t tactic)
{
  cuda_layer *L = &r->layers[i];
  const ir_node *n = L->node;
  const cuda_op_impl *impl = cuda_ops[n->op];
  if (impl->release) impl->release(L);
  free(L->in);
  free(L->out);
  memset(L, 0, sizeof(*L));
  ONYX_TRY(layer_init(r, L, n, cache, artifacts, artifacts != NULL, false, tactic));
  ONYX_TRY(grow_workspace(&r->ctx, L->workspace));
  return r->plan->side[i] ? grow_workspace(&r->side, L->workspace) : ONYX_OK;
}

/* Whether no other layer has layer i's signature (tactics are recorded per signature). */
static bool unique_signature(const cuda_runner *r, int i)
{
  char a[TACTIC_SIG_MAX], b[TACTIC_SIG_MAX];
  cuda_layer_signature(&r->layers[i], a, sizeof(a));
  for (int j = 0; j < r->n_layers; j++) {
    if (j == i) continue;
    cuda_layer_signature(&r->layers[j], b, sizeof(b));
    if (!strcmp(a, b)) return false;
  }
  return true;
}

onyx_status cuda_runner_check_pairs(cuda_runner *r, tactic_cache *cache, artifact_cache *artifacts)
{
  const cuda_plan *p = r->plan;
  const char *knob = getenv("ONYX_PAIR_CHECK");
  const bool off = knob && !strcmp(knob, "0"), always = knob && !strcmp(knob, "alt");
  if (!p->n_side || r->serial || off) return ONYX_OK;
  float base = 0.f;
  bool timed = false;
  for (int i = 0; i < r->n_layers; i++) {
    const bool paired = p->side[i] || (i + 1 < r->n_layers && p->side[i + 1]);
    const int64_t alt[2] = {r->layers[i].alt_tactic[0], r->layers[i].alt_tactic[1]};
    int64_t best = r->layers[i].tactic;
    if (!paired || alt[0] == CUDA_TACTIC_UNSET || !unique_signature(r, i)) continue;
    if (!timed && !always) ONYX_TRY(runner_ms(r, &base));
    timed = true;
    for (int a = 0; a < 2 && alt[a] != CUDA_TACTIC_UNSET; a++) {
      float t = 0.f;
      ONYX_TRY(relayer(r, i, cache, artifacts, alt[a]));
      if (!always) ONYX_TRY(runner_ms(r, &t));
      if (always || t < base * PAIR_GAIN) { /* another family, faster by more than noise */
        base = t, best = alt[a];
        if (always) break;
      }
    }
    if (r->layers[i].tactic != best) ONYX_TRY(relayer(r, i, cache, artifacts, best));
  }
  return ONYX_OK;
}

/* Serial on the main stream: a pair's two layers are timed one after the other, each on its own (the
 * main context's workspace fits every layer). */
onyx_status cuda_runner_profile(cuda_runner *r, int iters, float *ms)
{
  int n = r->n_layers;
  onyx_status st = ONYX_OK;
  cudaEvent_t *ev = onyx_calloc((size_t)n + 1, sizeof(cudaEvent_t));
  float *t = onyx_calloc((size_t)n * (size_t)iters + 1, sizeof(float));
  if (!ev || !t) {
    st = ONYX_ERR_NO_MEMORY;
    goto out;
  }
  for (int i = 0; i <= n && st == ONYX_OK; i++) st = CUDA_STATUS(cudaEventCreate(&ev[i]));
  for (int it = 0; it < iters && st == ONYX_OK; it++) {
    st = CUDA_STATUS(cudaEventRecord(ev[0], r->ctx.stream));
    for (int i = 0; i < n && st == ONYX_OK; i++) {
      st = cuda_ops[r->layers[i].node->op]->enqueue(&r->ctx, &r->layers[i]);
      if (st == ONYX_OK) st = CUDA_STATUS(cudaEventRecord(ev[i + 1], r->ctx.stream));
    }
    if (st == ONYX_OK) st = CUDA_STATUS(cudaEventSynchronize(ev[n]));
    for (int i = 0; i < n && st == ONYX_OK; i++)
      st = CUDA_STATUS(cudaEventElapsedTime(&t[(size_t)i * iters + it], ev[i], ev[i + 1]));
  }
  for (int i = 0; i < n && st == ONYX_OK; i++) {
    qsort(&t[(size_t)i * iters], (size_t)iters, sizeof(float), cmp_float);
    ms[i] = t[(size_t)i * iters + iters / 2];
  }
out:
  for (int i = 0; ev && i <= n; i++)
    if (ev[i]) cudaEventDestroy(ev[i]);
  free(ev);
  free(t);
  return st;
}
