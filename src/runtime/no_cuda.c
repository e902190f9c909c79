/* Built only when nvcc was not found: the CUDA backend does not exist. */
#include "onyx.h"

int onyx_cuda_available(void) { return 0; }
