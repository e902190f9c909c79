/* Layer implementations backed by onyx's own CUDA kernels (in kernels/). */
#ifndef ONYX_BACKEND_CUDA_OPS_KERNELS_H
#define ONYX_BACKEND_CUDA_OPS_KERNELS_H

#include "backend/cuda/cuda_backend.h"

#endif
