/* Public session API: a model specialised to concrete input shapes.
 *
 * prepare() clones the model's graph, fixes the input shapes, infers every
 * shape, folds constants and allocates one buffer per remaining tensor;
 * run() copies inputs in and calls each node's kernel.  A change of input
 * shape re-prepares.
 *
 * A graph input whose value shape inference needs (Resize's sizes, Reshape's
 * shape, ... when they are graph inputs) is specialised on: once its data is
 * set, prepare treats it as a constant, and a new value re-prepares. */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "backend/cuda/exec.h"
#include "common/util.h"
#include "graph/passes/passes.h"
#include "graph/prepare.h"
#include "ops/fused.h"
#include "runtime/model.h"

typedef struct session_input {
  int ndim;
  int64_t dims[ONYX_MAX_DIMS];
  bool shape_set;
  void *data; /* copy of the caller's data, NULL until set */
  size_t bytes;
  bool specialised; /* its value is baked into the prepared graph */
} session_input;

struct onyx_session {
  const onyx_model *model;
  onyx_session_options opt;
  session_input *inputs; /* one per graph input */
  ir_graph *g;           /* prepared clone, NULL when stale */
  cuda_exec *cuda;       /* the prepared graph on the GPU (CUDA backend), NULL otherwise */
  cpu_ctx cpu;
};

void onyx_session_options_init(onyx_session_options *opt)
{
  memset(opt, 0, sizeof(*opt));
  opt->backend = ONYX_BACKEND_CPU;
}


onyx_status onyx_session_create(const onyx_model *m, const onyx_session_options *opt, onyx_session **out)
{
  if (!m || !out) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_session_create: NULL argument");
  *out = NULL;
  onyx_session_options def;
  onyx_session_options_init(&def);
  if (!opt) opt = &def;
  if (opt->backend == ONYX_BACKEND_CUDA && !onyx_cuda_available())
    return onyx_error(ONYX_ERR_UNSUPPORTED, "the CUDA backend needs a CUDA GPU and a build with CUDA; none is available");
  if ((unsigned)opt->backend >= ONYX_BACKEND_COUNT)
    return onyx_error(ONYX_ERR_INVALID_ARG, "unknown backend %d", (int)opt->backend);
  onyx_session *s = onyx_calloc(1, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  s->model = m;
  s->opt = *opt;
  cpu_ctx_init(&s->cpu, opt->num_threads);
  s->inputs = onyx_calloc((size_t)(m->g->n_inputs ? m->g->n_inputs : 1), sizeof(session_input));
  if (!s->inputs) {
    onyx_session_free(s);
    return ONYX_ERR_NO_MEMORY;
  }
  *out = s;
  return ONYX_OK;
}

/* Drops the prepared graph (and its GPU copy): the next run prepares again. */
static void session_invalidate(onyx_session *s)
{
  cuda_exec_free(s->cuda);
  s->cuda = NULL;
  ir_graph_free(s->g);
  s->g = NULL;
}

void onyx_session_free(onyx_session *s)
{
  if (!s) return;
  for (int i = 0; s->inputs && i < s->model->g->n_inputs; i++) free(s->inputs[i].data);
  free(s->inputs);
  session_invalidate(s);
  cpu_ctx_free(&s->cpu);
  free(s);
}

static int find_input(const onyx_session *s, const char *name)
{
  const ir_graph *g = s->model->g;
  for (int i = 0; i < g->n_inputs; i++)
    if (strcmp(g->tensors[g->inputs[i]].name, name) == 0) return i;
  return -1;
}

static onyx_status check_shape(const ir_tensor *decl, int ndim, const int64_t *dims)
{
  char want[160], got[160];
  if (ndim < 0 || ndim > ONYX_MAX_DIMS)
    return onyx_error(ONYX_ERR_SHAPE, "input '%s': rank %d is out of range", decl->name, ndim);
  if (ndim != decl->ndim)
    return onyx_error(ONYX_ERR_SHAPE, "input '%s' expects rank %d (shape %s), got rank %d (shape %s)", decl->name,
                      decl->ndim, onyx_dims_str(decl->ndim, decl->dims, want, sizeof(want)), ndim,
                      onyx_dims_str(ndim, dims, got, sizeof(got)));
  for (int d = 0; d < ndim; d++) {
    if (dims[d] < 0)
      return onyx_error(ONYX_ERR_SHAPE, "input '%s': dimension %d is negative (%lld)", decl->name, d,
                        (long long)dims[d]);
    if (decl->dims[d] >= 0 && decl->dims[d] != dims[d])
      return onyx_error(ONYX_ERR_SHAPE, "input '%s' expects shape %s, got %s (dimension %d must be %lld)",
                        decl->name, onyx_dims_str(decl->ndim, decl->dims, want, sizeof(want)),
                        onyx_dims_str(ndim, dims, got, sizeof(got)), d, (long long)decl->dims[d]);
  }
  return ONYX_OK;
}

onyx_status onyx_session_set_input_shape(onyx_session *s, const char *name, int ndim, const int64_t *dims)
{
  if (!s || !name || (!dims && ndim > 0))
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_session_set_input_shape: NULL argument");
  int i = find_input(s, name);
  if (i < 0) return onyx_error(ONYX_ERR_INVALID_ARG, "the model has no input named '%s'", name);
  const ir_tensor *decl = &s->model->g->tensors[s->model->g->inputs[i]];
  ONYX_TRY(check_shape(decl, ndim, dims));
  session_input *in = &s->inputs[i];
  bool same = in->shape_set && in->ndim == ndim && memcmp(in->dims, dims, (size_t)ndim * sizeof(int64_t)) == 0;
  if (same) return ONYX_OK;
  in->ndim = ndim;
  memcpy(in->dims, dims, (size_t)ndim * sizeof(int64_t));
  in->shape_set = true;
  session_invalidate(s); /* shapes changed: prepare again */
  return ONYX_OK;
}

static onyx_status allocate_buffers(ir_graph *g)
{
  for (int i = 0; i < g->n_tensors; i++) {
    ir_tensor *t = &g->tensors[i];
    /* graph inputs point at the session's copy of the caller's data at run time */
    if (t->is_const || t->data || t->ndim < 0 || t->producer < 0) continue;
    t->data = onyx_calloc(1, ir_tensor_bytes(t));
    if (!t->data) return onyx_error_context(ONYX_ERR_NO_MEMORY, "allocating tensor '%s'", t->name);
    t->owns_data = true;
  }
  return ONYX_OK;
}

/* One attempt at preparing g, a fresh clone of the model's graph. */
static onyx_status prepare_once(onyx_session *s, ir_graph *g)
{
  const ir_graph *src = s->model->g;
  for (int i = 0; i < src->n_inputs; i++) {
    ir_tensor *t = &g->tensors[g->inputs[i]];
    session_input *in = &s->inputs[i];
    if (in->shape_set) {
      t->ndim = in->ndim;
      memcpy(t->dims, in->dims, (size_t)in->ndim * sizeof(int64_t));
    } else if (!ir_shape_known(t)) {
      char d[160];
      return onyx_error(ONYX_ERR_SHAPE, "input '%s' has symbolic shape %s: set its shape or data first", t->name,
                        onyx_dims_str(t->ndim, t->dims, d, sizeof(d)));
    }
    if (in->specialised) {
      t->data = in->data; /* borrowed: set_input re-prepares before this value changes */
      t->is_const = true;
    }
  }
  ONYX_TRY(graph_prepare(g, &s->cpu));
  if (s->opt.opt_level > 0) ONYX_TRY(graph_optimize(g, s->opt.opt_level, NULL));
  return allocate_buffers(g);
}

onyx_status onyx_session_prepare(onyx_session *s)
{
  if (!s) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_session_prepare: NULL session");
  if (s->g) return ONYX_OK;
  const ir_graph *src = s->model->g;
  for (;;) {
    ir_graph *g = ir_graph_clone(src);
    if (!g) return ONYX_ERR_NO_MEMORY;
    onyx_status st = prepare_once(s, g);
    if (st == ONYX_OK && s->opt.backend == ONYX_BACKEND_CUDA) {
      cuda_exec_options co = {.allow_tf32 = false, .tune = true, .workspace_limit = (size_t)1 << 30};
      st = cuda_exec_create(g, &co, &s->cuda);
    }
    if (st == ONYX_OK) {
      s->g = g;
      return ONYX_OK;
    }
    /* shape inference wanted the value of these inputs: specialise on those whose data is set, retry */
    bool retry = false;
    for (int i = 0; i < src->n_inputs; i++) {
      session_input *in = &s->inputs[i];
      const ir_tensor *t = &g->tensors[g->inputs[i]];
      if (!t->value_wanted || in->specialised) continue;
      if (in->data) in->specialised = retry = true;
      else st = onyx_error_context(st, "input '%s' is a shape input: set its data before preparing", t->name);
    }
    ir_graph_free(g);
    if (!retry) return st;
  }
}

onyx_status onyx_session_set_input(onyx_session *s, const char *name, onyx_dtype dtype, int ndim,
                                   const int64_t *dims, const void *data)
{
  if (!s || !name || !data) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_session_set_input: NULL argument");
  int i = find_input(s, name);
  if (i < 0) return onyx_error(ONYX_ERR_INVALID_ARG, "the model has no input named '%s'", name);
  const ir_tensor *decl = &s->model->g->tensors[s->model->g->inputs[i]];
  if (dtype != decl->dtype)
    return onyx_error(ONYX_ERR_SHAPE, "input '%s' expects %s data, got %s", name, onyx_dtype_name(decl->dtype),
                      onyx_dtype_name(dtype));
  ONYX_TRY(onyx_session_set_input_shape(s, name, ndim, dims));
  size_t bytes = (size_t)onyx_numel(ndim, dims) * onyx_dtype_size(dtype);
  session_input *in = &s->inputs[i];
  if (in->specialised && s->g && (bytes > in->bytes || memcmp(in->data, data, bytes) != 0)) {
    session_invalidate(s); /* a value the prepared graph was specialised on changes */
  }
  if (bytes > in->bytes || !in->data) {
    void *p = onyx_malloc(bytes);
    if (!p) return ONYX_ERR_NO_MEMORY;
    free(in->data);
    in->data = p;
    in->bytes = bytes;
  }
  if (bytes) memcpy(in->data, data, bytes);
  return ONYX_OK;
}

onyx_status onyx_session_run(onyx_session *s)
{
  if (!s) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_session_run: NULL session");
  const ir_graph *src = s->model->g;
  for (int i = 0; i < src->n_inputs; i++)
    if (!s->inputs[i].data)
      return onyx_error(ONYX_ERR_INVALID_ARG, "input '%s' was not set", src->tensors[src->inputs[i]].name);
  ONYX_TRY(onyx_session_prepare(s));
  ir_graph *g = s->g;
  for (int i = 0; i < g->n_inputs; i++) g->tensors[g->inputs[i]].data = s->inputs[i].data;
  if (s->cuda) return cuda_exec_run(s->cuda, g);
  for (int i = 0; i < g->n_nodes; i++) {
    const ir_node *n = &g->nodes[i];
    if (n->folded) continue;
    onyx_status st = cpu_kernels[n->op](&s->cpu, g, n);
    if (st != ONYX_OK) return st;
  }
  return ONYX_OK;
}

onyx_status onyx_session_output(const onyx_session *s, int i, onyx_tensor_info *info, const void **data)
{
  if (!s || !info) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_session_output: NULL argument");
  if (i < 0 || i >= s->model->g->n_outputs)
    return onyx_error(ONYX_ERR_INVALID_ARG, "the model has no output %d", i);
  if (!s->g) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_session_output: the session has not run");
  const ir_tensor *t = &s->g->tensors[s->g->outputs[i]];
  model_tensor_info(t, info);
  if (data) *data = t->data;
  return ONYX_OK;
}

onyx_status onyx_session_input(const onyx_session *s, int i, onyx_tensor_info *info)
{
  if (!s || !info) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_session_input: NULL argument");
  if (i < 0 || i >= s->model->g->n_inputs) return onyx_error(ONYX_ERR_INVALID_ARG, "the model has no input %d", i);
  if (!s->g) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_session_input: the session is not prepared");
  model_tensor_info(&s->g->tensors[s->g->inputs[i]], info);
  return ONYX_OK;
}

onyx_status onyx_session_cost(const onyx_session *s, onyx_cost *cost)
{
  if (!s || !cost) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_session_cost: NULL argument");
  if (!s->g) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_session_cost: the session is not prepared");
  memset(cost, 0, sizeof(*cost));
  const ir_graph *g = s->g;
  for (int i = 0; i < g->n_nodes; i++) {
    const ir_node *n = &g->nodes[i];
    if (n->folded) continue;
    cost->n_nodes++;
    const ir_tensor *y = ir_out(g, n, 0), *a = ir_in(g, n, 0), *w = ir_in(g, n, 1);
    int64_t ny = y ? ir_tensor_numel(y) : 0, macs = 0;
    switch (n->op) {
    case ONYX_OP_CONV: /* each output element: Cin/group * kernel MACs */
    case ONYX_OP_FUSED_CONV:
      if (w) macs = ny * (onyx_numel(w->ndim - 1, w->dims + 1));
      break;
    case ONYX_OP_FUSED_CONV_POOL: { /* the conv's MACs; the pool's compares are not counted */
      nn_geom cg;
      if (w && a && fused_conv_pool_geom(n, a, w, &cg, NULL) == ONYX_OK)
        macs = a->dims[0] * w->dims[0] * cg.out[0] * cg.out[1] * onyx_numel(w->ndim - 1, w->dims + 1);
      break;
    }
    case ONYX_OP_CONV_TRANSPOSE: /* each input element scatters Cout/group * kernel MACs */
      if (w && a) macs = ir_tensor_numel(a) * onyx_numel(w->ndim - 1, w->dims + 1);
      break;
    case ONYX_OP_GEMM: /* Y is MxN; K is A's other dimension */
      if (a && y && y->dims[0] > 0) macs = ny * (ir_tensor_numel(a) / y->dims[0]);
      break;
    case ONYX_OP_MAT_MUL:
      if (a && a->ndim >= 1) macs = ny * a->dims[a->ndim - 1];
      break;
    case ONYX_OP_FUSED_POOL_GEMM: /* the Gemm's MACs (K = X's channels); the mean's adds are not counted */
      if (a && a->ndim >= 2) macs = ny * a->dims[1];
      break;
    default: break;
    }
    cost->macs += macs;
    cost->flops += macs ? 2 * macs : ny;
  }
  for (int i = 0; i < g->n_tensors; i++)
    if (!g->tensors[i].is_const && g->tensors[i].data) cost->activation_bytes += (int64_t)ir_tensor_bytes(&g->tensors[i]);
  return ONYX_OK;
}
