/* The CUDA backend: how a node of a prepared (and optimised) graph becomes a
 * *layer* that runs on the GPU.
 *
 * Like the CPU backend it is a table indexed by onyx_op (cuda_ops[]); a NULL
 * entry means the op has no CUDA implementation, and the builder's error names
 * the node and op.  Each implementation has three phases:
 *
 *   init()     build or load time, once per layer and engine: check that the
 *              layer's dtypes/shapes/attributes are supported, choose a tactic
 *              (timing candidates when L->tune is set, otherwise using
 *              L->tactic as recorded in the engine), compute the workspace,
 *              create descriptors and upload per-layer constants.  Slow work
 *              belongs here.
 *   enqueue()  run time: launches on ctx->stream only.  No allocation, no
 *              synchronisation, no descriptor creation, nothing that would
 *              break CUDA graph capture.
 *   release()  frees what init() created (may be called after a failed init).
 *
 * Tensors are described by cuda_tensor: a device pointer, the storage dtype
 * (FLOAT, FLOAT16 for FP16 activations/weights, INT64/INT32/BOOL/... for index
 * and mask data), logical dims in ONNX order, and element strides: row-major, or
 * for a channels-last feature map of an FP16 or TF32 engine (layout IR_LAYOUT_CHANNELS_LAST,
 * set by engine/layout.c) dims N, C, H, W with strides H*W*C, 1, W*C, C.  Which
 * layouts an implementation accepts is declared in cuda_op_layouts[] (layouts.h);
 * a layer whose tensors it was not promised must refuse them in init(). */
#ifndef ONYX_BACKEND_CUDA_BACKEND_H
#define ONYX_BACKEND_CUDA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "backend/cuda/cuda_check.h"
#include "engine/artifacts.h"
#include "graph/ir.h"
#include "ops/ops.h"

#define CUDA_TACTIC_UNSET INT64_MIN

typedef struct cuda_tensor {
  onyx_dtype dtype;
  int ndim;
  int64_t dims[ONYX_MAX_DIMS];
  int64_t strides[ONYX_MAX_DIMS]; /* in elements */
  uint8_t layout;                 /* ir_layout: IR_LAYOUT_CHANNELS_LAST only for 4-D tensors */
  void *ptr;                      /* device address (NULL for an omitted optional input) */
} cuda_tensor;

/* Per execution context: handles and the stream every layer enqueues on. */
typedef struct cuda_ctx {
  int device;
  int sm_count;
  cudaStream_t stream;
  cudnnHandle_t cudnn;
  cublasLtHandle_t lt;
  void *workspace; /* shared by all layers of the context (they run in order) */
  size_t workspace_size;
} cuda_ctx;

/* Build-time settings a layer's init() may consult. */
typedef struct cuda_build_opts {
  bool allow_tf32;        /* TF32 math for FP32 conv/gemm */
  bool fp16;              /* FP16 engine: float activations/weights stored as FLOAT16 */
  size_t workspace_limit; /* bytes a layer may ask for */
} cuda_build_opts;

typedef struct cuda_layer {
  const ir_graph *g;
  const ir_node *node; /* possibly a fused node ("conv1 + bn1 + relu1") */
  int n_in, n_out;
  cuda_tensor *in, *out; /* n_in / n_out entries, same order as the node's */
  const cuda_build_opts *opts;
  bool tune;             /* init(): time candidates and pick the fastest */
  int64_t tactic;        /* chosen (or recorded) tactic; CUDA_TACTIC_UNSET before init */
  int64_t alt_tactic[2]; /* tuning: the fastest tactics of other forms (a conv: other kernel families),
                          * faster first, for cuda_runner_check_pairs; CUDA_TACTIC_UNSET when none */
  size_t workspace;      /* bytes of ctx->workspace this layer needs */
  char kernel[64];       /* what runs: "cudnn:IMPLICIT_PRECOMP_GEMM", "onyx:pool2d_max", ... */
  void *state;           /* op-specific, owned by the implementation */
  /* Code generated for the layer (FusedPointwise's NVRTC cubins), by key
   * (artifacts.h): init() looks its code up here before making it, and
   * stores what it made when store_artifacts is set (an engine build: the
   * engine file carries them).  NULL: nothing cached, always make it. */
  artifact_cache *artifacts;
  bool store_artifacts;
} cuda_layer;

typedef struct cuda_op_impl {
  onyx_status (*init)(cuda_ctx *ctx, cuda_layer *L);
  onyx_status (*enqueue)(cuda_ctx *ctx, const cuda_layer *L);
  void (*release)(cuda_layer *L);
} cuda_op_impl;

/* Indexed by onyx_op; NULL = unsupported on CUDA. */
extern const cuda_op_impl *const cuda_ops[ONYX_OP_COUNT];

/* Error helpers: prefix "<Op> node '<name>' (cuda): ". */
onyx_status cuda_layer_error(const cuda_layer *L, onyx_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Checks that input 0 is float32 or float16, and every other bound input and output 0 the same
 * type; *half (set only on success) says float16. */
onyx_status cuda_layer_float_io(const cuda_layer *L, bool *half);
/* Checks a launch (cudaGetLastError) and names the layer, the kernel and where it was launched. */
onyx_status cuda_launch_check_at(const cuda_layer *L, const char *kernel, const char *file, int line);
#define cuda_launch_check(L, kernel) cuda_launch_check_at((L), (kernel), __FILE__, __LINE__)
/* A failed CUDA call of a layer (a kernel entry point, a copy): names the layer, call, file and line. */
onyx_status cuda_layer_call_error(const cuda_layer *L, cudaError_t err, const char *call, const char *file,
                                  int line);
#define CUDA_LAYER_CHECK(L, call)                                                        \
  do {                                                                                   \
    cudaError_t cuda_lerr_ = (call);                                                     \
    if (cuda_lerr_ != cudaSuccess) return cuda_layer_call_error((L), cuda_lerr_, #call, __FILE__, __LINE__); \
  } while (0)

/* cuDNN / cuBLASLt checks in the style of CUDA_CHECK. */
onyx_status cudnn_status(cudnnStatus_t st, const char *call, const char *file, int line);
onyx_status cublas_status(cublasStatus_t st, const char *call, const char *file, int line);
#define CUDNN_CHECK(call)                                                   \
  do {                                                                      \
    cudnnStatus_t cudnn_st_ = (call);                                       \
    if (cudnn_st_ != CUDNN_STATUS_SUCCESS) return cudnn_status(cudnn_st_, #call, __FILE__, __LINE__); \
  } while (0)
#define CUBLAS_CHECK(call)                                                  \
  do {                                                                      \
    cublasStatus_t cublas_st_ = (call);                                     \
    if (cublas_st_ != CUBLAS_STATUS_SUCCESS) return cublas_status(cublas_st_, #call, __FILE__, __LINE__); \
  } while (0)

/* Contiguous row-major strides for dims. */
void cuda_tensor_contiguous(cuda_tensor *t);
/* Strides for t->layout: row-major, or channels-last (4-D: H*W*C, 1, W*C, C). */
void cuda_tensor_set_strides(cuda_tensor *t);
/* Whether t is a channels-last 4-D tensor. */
bool cuda_tensor_channels_last(const cuda_tensor *t);
int64_t cuda_tensor_numel(const cuda_tensor *t);

#endif
