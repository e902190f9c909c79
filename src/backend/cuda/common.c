/* Error helpers and small utilities shared by CUDA layer implementations. */
#include <stdarg.h>
#include <stdio.h>

#include "backend/cuda/cuda_backend.h"

onyx_status cuda_layer_error(const cuda_layer *L, onyx_status s, const char *fmt, ...)
{
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return onyx_error(s, "%s node '%s' (cuda): %s", L->node->op_type, L->node->name, msg);
}

onyx_status cuda_layer_float_io(const cuda_layer *L, bool *half)
{
  onyx_dtype t = L->in[0].dtype;
  if (t != ONYX_DTYPE_FLOAT && t != ONYX_DTYPE_FLOAT16)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "%s input is not supported (float32 and float16 only)",
                            onyx_dtype_name(t));
  for (int k = 1; k < L->n_in; k++)
    if (L->in[k].ptr && L->in[k].dtype != t)
      return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "input %d has type %s, input 0 has %s", k,
                              onyx_dtype_name(L->in[k].dtype), onyx_dtype_name(t));
  if (L->out[0].dtype != t)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "output type %s differs from input type %s",
                            onyx_dtype_name(L->out[0].dtype), onyx_dtype_name(t));
  *half = t == ONYX_DTYPE_FLOAT16;
  return ONYX_OK;
}

onyx_status cuda_launch_check_at(const cuda_layer *L, const char *kernel, const char *file, int line)
{
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess) return ONYX_OK;
  return cuda_layer_error(L, ONYX_ERR_BACKEND, "launching %s failed at %s:%d: %s (%s)", kernel, file, line,
                          cudaGetErrorString(err), cudaGetErrorName(err));
}

onyx_status cuda_layer_call_error(const cuda_layer *L, cudaError_t err, const char *call, const char *file,
                                  int line)
{
  onyx_status s = err == cudaErrorMemoryAllocation ? ONYX_ERR_NO_MEMORY : ONYX_ERR_BACKEND;
  return cuda_layer_error(L, s, "%s failed at %s:%d: %s (%s)", call, file, line, cudaGetErrorString(err),
                          cudaGetErrorName(err));
}

onyx_status cudnn_status(cudnnStatus_t st, const char *call, const char *file, int line)
{
  onyx_status s = st == CUDNN_STATUS_ALLOC_FAILED ? ONYX_ERR_NO_MEMORY
                  : st == CUDNN_STATUS_NOT_SUPPORTED ? ONYX_ERR_UNSUPPORTED
                                                     : ONYX_ERR_BACKEND;
  return onyx_error(s, "%s failed at %s:%d: %s", call, file, line, cudnnGetErrorString(st));
}

onyx_status cublas_status(cublasStatus_t st, const char *call, const char *file, int line)
{
  onyx_status s = st == CUBLAS_STATUS_ALLOC_FAILED ? ONYX_ERR_NO_MEMORY
                  : st == CUBLAS_STATUS_NOT_SUPPORTED ? ONYX_ERR_UNSUPPORTED
                                                      : ONYX_ERR_BACKEND;
  return onyx_error(s, "%s failed at %s:%d: cuBLAS status %d", call, file, line, (int)st);
}

void cuda_tensor_contiguous(cuda_tensor *t)
{
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    t->strides[i] = s;
    s *= t->dims[i];
  }
}

int64_t cuda_tensor_numel(const cuda_tensor *t)
{
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
  return n;
}

void cuda_tensor_set_strides(cuda_tensor *t)
{
  if (t->layout != IR_LAYOUT_CHANNELS_LAST || t->ndim != 4) {
    cuda_tensor_contiguous(t);
    return;
  }
  const int64_t C = t->dims[1], H = t->dims[2], W = t->dims[3];
  t->strides[0] = H * W * C;
  t->strides[1] = 1;
  t->strides[2] = W * C;
  t->strides[3] = C;
}

bool cuda_tensor_channels_last(const cuda_tensor *t)
{
  return t->ndim == 4 && t->layout == IR_LAYOUT_CHANNELS_LAST;
}
