/* A session's prepared graph on the GPU: a plan and one runner, with plain
 * (pageable, synchronous) copies in and out.  Engines and contexts are the
 * fast path; this serves onyx_session's CUDA backend and the op tests. */
#include "backend/cuda/exec.h"

#include <stdlib.h>

#include "backend/cuda/plan.h"
#include "common/util.h"

struct cuda_exec {
  cuda_runner runner;
  artifact_cache artifacts; /* its own: layers of one program and shapes compile once */
};

onyx_status cuda_exec_create(const ir_graph *g, const cuda_exec_options *opt, cuda_exec **out)
{
  *out = NULL;
  ir_graph *copy = ir_graph_clone(g); /* shares g's constant data: g must outlive the exec */
  if (!copy) return ONYX_ERR_NO_MEMORY;
  cuda_plan *plan;
  ONYX_TRY(cuda_plan_create(copy, &plan));
  cuda_exec *e = onyx_calloc(1, sizeof(*e));
  if (!e) {
    cuda_plan_release(plan);
    return ONYX_ERR_NO_MEMORY;
  }
  artifact_cache_init(&e->artifacts);
  cuda_build_opts o = {.allow_tf32 = opt->allow_tf32, .workspace_limit = opt->workspace_limit};
  onyx_status st = cuda_runner_init(&e->runner, plan, &o, NULL, &e->artifacts, true, opt->tune);
  cuda_plan_release(plan); /* the runner holds its own reference */
  if (st != ONYX_OK) {
    artifact_cache_free(&e->artifacts);
    free(e);
    return st;
  }
  *out = e;
  return ONYX_OK;
}

void cuda_exec_free(cuda_exec *e)
{
  if (!e) return;
  cuda_runner_free(&e->runner);
  artifact_cache_free(&e->artifacts);
  free(e);
}

onyx_status cuda_exec_run(cuda_exec *e, ir_graph *g)
{
  cuda_runner *r = &e->runner;
  cudaStream_t s = r->ctx.stream;
  for (int i = 0; i < g->n_inputs; i++) {
    const ir_tensor *t = &g->tensors[g->inputs[i]];
    void *d = cuda_runner_tensor(r, g->inputs[i]);
    size_t bytes = ir_tensor_bytes(t);
    if (d && bytes) CUDA_CHECK(cudaMemcpyAsync(d, t->data, bytes, cudaMemcpyHostToDevice, s));
  }
  ONYX_TRY(cuda_runner_enqueue(r));
  for (int i = 0; i < g->n_outputs; i++) {
    ir_tensor *x = &g->tensors[g->outputs[i]];
    void *d = cuda_runner_tensor(r, g->outputs[i]);
    size_t bytes = ir_tensor_bytes(x);
    if (x->is_const || !d || !bytes) continue; /* folded: the host value is the answer */
    CUDA_CHECK(cudaMemcpyAsync(x->data, d, bytes, cudaMemcpyDeviceToHost, s));
  }
  CUDA_CHECK(cudaStreamSynchronize(s));
  return ONYX_OK;
}
