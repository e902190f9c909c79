/* A prepared graph on the GPU: one device buffer per tensor, one layer per
 * node that was not folded.  Layers are initialised once (tactics chosen,
 * descriptors created); a run only copies and launches. */
#include "backend/cuda/exec.h"

#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_backend.h"
#include "common/util.h"

struct cuda_exec {
  cuda_ctx ctx;
  cuda_build_opts opts;
  void **dev;          /* per tensor: device buffer or NULL */
  int n_tensors;
  cuda_layer *layers;
  int n_layers;
};

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

void cuda_exec_free(cuda_exec *e)
{
  if (!e) return;
  for (int i = 0; i < e->n_layers; i++) {
    cuda_layer *L = &e->layers[i];
    const cuda_op_impl *impl = cuda_ops[L->node->op];
    if (impl && impl->release) impl->release(L);
    free(L->in);
    free(L->out);
  }
  free(e->layers);
  for (int i = 0; e->dev && i < e->n_tensors; i++)
    if (e->dev[i]) cudaFree(e->dev[i]);
  free(e->dev);
  ctx_free(&e->ctx);
  free(e);
}

/* Device buffer for tensor t (constants uploaded once). */
static onyx_status tensor_buffer(cuda_exec *e, const ir_graph *g, int t)
{
  if (e->dev[t]) return ONYX_OK;
  const ir_tensor *x = &g->tensors[t];
  size_t bytes = ir_tensor_bytes(x);
  CUDA_CHECK(cudaMalloc(&e->dev[t], bytes ? bytes : 1));
  if (x->is_const && bytes) CUDA_CHECK(cudaMemcpy(e->dev[t], x->data, bytes, cudaMemcpyHostToDevice));
  return ONYX_OK;
}

static void describe(const ir_tensor *x, void *ptr, cuda_tensor *ct)
{
  ct->dtype = x->dtype;
  ct->ndim = x->ndim;
  memcpy(ct->dims, x->dims, (size_t)x->ndim * sizeof(int64_t));
  cuda_tensor_contiguous(ct);
  ct->ptr = ptr;
}

static onyx_status layer_init(cuda_exec *e, const ir_graph *g, const ir_node *n, cuda_layer *L,
                              const cuda_exec_options *opt)
{
  const cuda_op_impl *impl = cuda_ops[n->op];
  if (!impl)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "%s node '%s': op '%s' has no CUDA implementation yet", n->op_type,
                      n->name, n->op_type);
  L->g = g;
  L->node = n;
  L->opts = &e->opts;
  L->tune = opt->tune;
  L->tactic = CUDA_TACTIC_UNSET;
  L->n_in = n->n_in;
  L->n_out = n->n_out;
  L->in = onyx_calloc((size_t)(n->n_in ? n->n_in : 1), sizeof(cuda_tensor));
  L->out = onyx_calloc((size_t)(n->n_out ? n->n_out : 1), sizeof(cuda_tensor));
  if (!L->in || !L->out) return ONYX_ERR_NO_MEMORY;
  for (int k = 0; k < n->n_in; k++) {
    if (n->in[k] < 0) continue;
    ONYX_TRY(tensor_buffer(e, g, n->in[k]));
    describe(&g->tensors[n->in[k]], e->dev[n->in[k]], &L->in[k]);
  }
  for (int k = 0; k < n->n_out; k++) {
    if (n->out[k] < 0) continue;
    ONYX_TRY(tensor_buffer(e, g, n->out[k]));
    describe(&g->tensors[n->out[k]], e->dev[n->out[k]], &L->out[k]);
  }
  return impl->init(&e->ctx, L);
}

onyx_status cuda_exec_create(const ir_graph *g, const cuda_exec_options *opt, cuda_exec **out)
{
  *out = NULL;
  cuda_exec *e = onyx_calloc(1, sizeof(*e));
  if (!e) return ONYX_ERR_NO_MEMORY;
  onyx_status st;
  e->opts.allow_tf32 = opt->allow_tf32;
  e->opts.workspace_limit = opt->workspace_limit;
  e->n_tensors = g->n_tensors;
  e->dev = onyx_calloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof(void *));
  e->layers = onyx_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof(cuda_layer));
  if (!e->dev || !e->layers) {
    st = ONYX_ERR_NO_MEMORY;
    goto fail;
  }
  if ((st = ctx_init(&e->ctx)) != ONYX_OK) goto fail;
  for (int i = 0; i < g->n_inputs; i++)
    if ((st = tensor_buffer(e, g, g->inputs[i])) != ONYX_OK) goto fail;
  for (int i = 0; i < g->n_nodes; i++) {
    const ir_node *n = &g->nodes[i];
    if (n->folded) continue;
    cuda_layer *L = &e->layers[e->n_layers++];
    if ((st = layer_init(e, g, n, L, opt)) != ONYX_OK) goto fail;
    if (L->workspace > e->ctx.workspace_size) e->ctx.workspace_size = L->workspace;
  }
  if (e->ctx.workspace_size) {
    cudaError_t err = cudaMalloc(&e->ctx.workspace, e->ctx.workspace_size);
    if (err != cudaSuccess) {
      st = cuda_status(err, "cudaMalloc(workspace)", __FILE__, __LINE__);
      goto fail;
    }
  }
  *out = e;
  return ONYX_OK;
fail:
  cuda_exec_free(e);
  return st;
}

onyx_status cuda_exec_run(cuda_exec *e, ir_graph *g)
{
  cudaStream_t s = e->ctx.stream;
  for (int i = 0; i < g->n_inputs; i++) {
    const ir_tensor *t = &g->tensors[g->inputs[i]];
    size_t bytes = ir_tensor_bytes(t);
    if (bytes) CUDA_CHECK(cudaMemcpyAsync(e->dev[g->inputs[i]], t->data, bytes, cudaMemcpyHostToDevice, s));
  }
  for (int i = 0; i < e->n_layers; i++) {
    const cuda_layer *L = &e->layers[i];
    ONYX_TRY(cuda_ops[L->node->op]->enqueue(&e->ctx, L));
  }
  for (int i = 0; i < g->n_outputs; i++) {
    int t = g->outputs[i];
    ir_tensor *x = &g->tensors[t];
    size_t bytes = ir_tensor_bytes(x);
    if (x->is_const || !e->dev[t] || !bytes) continue; /* folded: the host value is the answer */
    CUDA_CHECK(cudaMemcpyAsync(x->data, e->dev[t], bytes, cudaMemcpyDeviceToHost, s));
  }
  CUDA_CHECK(cudaStreamSynchronize(s));
  return ONYX_OK;
}
