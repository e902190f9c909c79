/* Built only when nvcc was not found: the CUDA backend does not exist, and
 * every entry into it says so. */
#include "backend/cuda/exec.h"
#include "common/status.h"

int onyx_cuda_available(void) { return 0; }

onyx_status cuda_exec_create(const ir_graph *g, const cuda_exec_options *opt, cuda_exec **out)
{
  *out = NULL;
  return onyx_error(ONYX_ERR_UNSUPPORTED, "this onyx was built without CUDA (nvcc was not found at build time)");
}

onyx_status cuda_exec_run(cuda_exec *e, ir_graph *g)
{
  return onyx_error(ONYX_ERR_UNSUPPORTED, "this onyx was built without CUDA");
}

void cuda_exec_free(cuda_exec *e) {}

bool cuda_op_supported(int op) { return false; }

/* Engines and contexts need CUDA: the API exists and refuses. */
static onyx_status no_gpu(void)
{
  return onyx_error(ONYX_ERR_UNSUPPORTED, "engines need CUDA: this onyx was built without it (nvcc was not found)");
}

void onyx_build_options_init(onyx_build_options *o)
{
  *o = (onyx_build_options){.precision = ONYX_PRECISION_FP32, .workspace = (size_t)1 << 30, .opt_level = 3};
}
onyx_status onyx_engine_build(const onyx_model *m, const onyx_build_options *o, onyx_engine **out)
{
  if (out) *out = NULL;
  return no_gpu();
}
onyx_status onyx_engine_save(const onyx_engine *e, const char *path) { return no_gpu(); }
onyx_status onyx_engine_load(const char *path, onyx_engine **out)
{
  if (out) *out = NULL;
  return no_gpu();
}
void onyx_engine_free(onyx_engine *e) {}
int onyx_engine_num_layers(const onyx_engine *e) { return 0; }
onyx_status onyx_engine_layer(const onyx_engine *e, int i, onyx_layer_info *info) { return no_gpu(); }
int onyx_engine_num_inputs(const onyx_engine *e) { return 0; }
int onyx_engine_num_outputs(const onyx_engine *e) { return 0; }
onyx_status onyx_engine_input(const onyx_engine *e, int i, onyx_tensor_info *info) { return no_gpu(); }
onyx_status onyx_engine_output(const onyx_engine *e, int i, onyx_tensor_info *info) { return no_gpu(); }
onyx_status onyx_engine_get_memory(const onyx_engine *e, onyx_engine_memory *mem) { return no_gpu(); }
onyx_precision onyx_engine_precision(const onyx_engine *e) { return ONYX_PRECISION_FP32; }
onyx_status onyx_context_create(onyx_engine *e, onyx_context **out)
{
  if (out) *out = NULL;
  return no_gpu();
}
void onyx_context_free(onyx_context *c) {}
onyx_status onyx_context_set_input_shape(onyx_context *c, const char *name, int ndim, const int64_t *dims)
{
  return no_gpu();
}
onyx_status onyx_context_set_binding(onyx_context *c, const char *name, void *ptr, int on_device) { return no_gpu(); }
onyx_status onyx_context_host_buffer(onyx_context *c, const char *name, void **ptr) { return no_gpu(); }
onyx_status onyx_context_use_graph(onyx_context *c, int enable) { return no_gpu(); }
int onyx_context_graph_active(const onyx_context *c) { return 0; }
onyx_status onyx_context_enqueue(onyx_context *c, void *stream) { return no_gpu(); }
onyx_status onyx_context_synchronize(onyx_context *c) { return no_gpu(); }
onyx_status onyx_context_output(const onyx_context *c, int i, onyx_tensor_info *info) { return no_gpu(); }
onyx_status onyx_context_profile(onyx_context *c, int iters, onyx_layer_time *out, int cap, int *n)
{
  return no_gpu();
}
onyx_status onyx_engine_inspect(const char *path, onyx_engine **out)
{
  if (out) *out = NULL;
  return no_gpu();
}
const char *onyx_engine_target(const onyx_engine *e) { return ""; }
onyx_status onyx_engine_input_range(const onyx_engine *e, int i, onyx_shape_range *r) { return no_gpu(); }
onyx_status onyx_context_enqueue_staged(onyx_context *c, void *h2d_stream, void *compute_stream, void *d2h_stream,
                                        const onyx_stage_events *ev)
{
  return no_gpu();
}
onyx_status onyx_context_num_layers(onyx_context *c, int *n) { return no_gpu(); }
onyx_status onyx_context_layer(onyx_context *c, int i, onyx_layer_info *info, int *n_inputs, int *n_outputs)
{
  return no_gpu();
}
onyx_status onyx_context_layer_tensor(onyx_context *c, int i, int is_output, int k, onyx_layer_tensor *t)
{
  return no_gpu();
}
onyx_status onyx_context_profile_times(onyx_context *c, int iters, float *ms, size_t cap, int *n_layers)
{
  return no_gpu();
}
