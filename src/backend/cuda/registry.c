/* cuda_ops[]: which ops the CUDA backend runs, and with what.  Each family of
 * implementations lists its entries in its own .inc file. */
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/exec.h"
#include "backend/cuda/ops_kernels.h"
#include "backend/cuda/ops_libs.h"

const cuda_op_impl *const cuda_ops[ONYX_OP_COUNT] = {
#include "backend/cuda/ops_kernels.inc"
#include "backend/cuda/ops_libs.inc"
};

bool cuda_op_supported(int op) { return op >= 0 && op < ONYX_OP_COUNT && cuda_ops[op] != NULL; }
