/* CUDA device discovery (the CUDA backend proper lands with the GPU engine). */
#include "backend/cuda/cuda_check.h"

onyx_status cuda_status(cudaError_t err, const char *call, const char *file, int line)
{
  onyx_status s = err == cudaErrorMemoryAllocation ? ONYX_ERR_NO_MEMORY : ONYX_ERR_BACKEND;
  return onyx_error(s, "%s failed at %s:%d: %s (%s)", call, file, line, cudaGetErrorString(err),
                    cudaGetErrorName(err));
}

int onyx_cuda_available(void)
{
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError(); /* no driver or no device: clear the sticky error */
    return 0;
  }
  return n > 0;
}
