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
