/* Layer implementations backed by cuDNN and cuBLASLt. */
#ifndef ONYX_BACKEND_CUDA_OPS_LIBS_H
#define ONYX_BACKEND_CUDA_OPS_LIBS_H

#include "backend/cuda/cuda_backend.h"

#endif
