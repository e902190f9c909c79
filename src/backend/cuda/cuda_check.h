/* Every CUDA runtime call goes through CUDA_CHECK, which reports the call,
 * file and line and converts the error into an onyx_status. */
#ifndef ONYX_BACKEND_CUDA_CHECK_H
#define ONYX_BACKEND_CUDA_CHECK_H

#include <cuda_runtime_api.h>

#include "common/status.h"

onyx_status cuda_status(cudaError_t err, const char *call, const char *file, int line);

/* The same as an expression, for code that must clean up before returning:
 * "if (st == ONYX_OK) st = CUDA_STATUS(cudaEventRecord(ev, s));" */
static inline onyx_status cuda_call_status(cudaError_t err, const char *call, const char *file, int line)
{
  return err == cudaSuccess ? ONYX_OK : cuda_status(err, call, file, line);
}
#define CUDA_STATUS(call) cuda_call_status((call), #call, __FILE__, __LINE__)

#define CUDA_CHECK(call)                                                   \
  do {                                                                     \
    cudaError_t cuda_err_ = (call);                                        \
    if (cuda_err_ != cudaSuccess) return cuda_status(cuda_err_, #call, __FILE__, __LINE__); \
  } while (0)

#endif
