/* Helpers shared by the host side of onyx's own CUDA layers. */
#include "backend/cuda/k_common.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

bool kc_is_float(onyx_dtype dt)
{
  return dt == ONYX_DTYPE_FLOAT || dt == ONYX_DTYPE_FLOAT16 || dt == ONYX_DTYPE_DOUBLE;
}

bool kc_is_sint(onyx_dtype dt)
{
  return dt == ONYX_DTYPE_INT8 || dt == ONYX_DTYPE_INT16 || dt == ONYX_DTYPE_INT32 || dt == ONYX_DTYPE_INT64;
}

bool kc_is_uint(onyx_dtype dt)
{
  return dt == ONYX_DTYPE_UINT8 || dt == ONYX_DTYPE_UINT16 || dt == ONYX_DTYPE_UINT32 ||
         dt == ONYX_DTYPE_UINT64;
}

bool kc_is_numeric(onyx_dtype dt) { return kc_is_float(dt) || kc_is_sint(dt) || kc_is_uint(dt); }

onyx_status kc_bad_dtype(const cuda_layer *L, const char *what, onyx_dtype dt)
{
  return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "%s of type %s is not supported on CUDA", what,
                          onyx_dtype_name(dt));
}

onyx_status kc_elem_size(const cuda_layer *L, onyx_dtype dt, size_t *esz)
{
  *esz = dt == ONYX_DTYPE_STRING ? 0 : onyx_dtype_size(dt);
  if (*esz == 1 || *esz == 2 || *esz == 4 || *esz == 8) return ONYX_OK;
  return kc_bad_dtype(L, "data", dt);
}

void *kc_state(cuda_layer *L, size_t size)
{
  L->state = onyx_calloc(1, size);
  return L->state;
}

void kc_release(cuda_layer *L)
{
  free(L->state);
  L->state = NULL;
}

onyx_status kc_launched_at(const cuda_layer *L, cudaError_t entry, const char *file, int line)
{
  if (entry != cudaSuccess)
    return cuda_layer_error(L, ONYX_ERR_INTERNAL, "kernel %s refused its arguments at %s:%d (%s)", L->kernel, file,
                            line, cudaGetErrorString(entry));
  return cuda_launch_check_at(L, L->kernel, file, line);
}

onyx_status kc_upload(const cuda_layer *L, void **dev, const void *host, size_t bytes, const char *what)
{
  cudaError_t e = cudaMalloc(dev, bytes);
  if (e == cudaSuccess) e = cudaMemcpy(*dev, host, bytes, cudaMemcpyHostToDevice);
  return e == cudaSuccess ? ONYX_OK : cuda_layer_call_error(L, e, what, __FILE__, __LINE__);
}

onyx_status kc_copy(const cuda_ctx *ctx, void *dst, const void *src, size_t bytes)
{
  if (!bytes || dst == src) return ONYX_OK;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
  return ONYX_OK;
}

size_t kc_bytes(const cuda_tensor *t) { return (size_t)cuda_tensor_numel(t) * onyx_dtype_size(t->dtype); }

void kc_contiguous(int ndim, const int64_t *dims, int64_t *strides)
{
  int64_t s = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    strides[d] = s;
    s *= dims[d];
  }
}

void kc_broadcast_strides(int out_ndim, const int64_t *out_dims, int in_ndim, const int64_t *in_dims,
                          int64_t *strides)
{
  int64_t s = 1;
  for (int d = out_ndim - 1; d >= 0; d--) {
    int j = d - (out_ndim - in_ndim);
    if (j < 0) {
      strides[d] = 0;
      continue;
    }
    strides[d] = (in_dims[j] == 1 && out_dims[d] != 1) ? 0 : s;
    s *= in_dims[j];
  }
}

/* Merges the dims of a broadcast whose per-input strides (0 where broadcast) are given in
 * iteration order; the last dim is the fastest. */
static void bcast_merge(cuda_bcast *b, int ndim, const int64_t *dims, int nin,
                        const int64_t (*full)[ONYX_MAX_DIMS])
{
  memset(b, 0, sizeof(*b));
  b->nin = nin;
  b->n = 1;
  for (int d = 0; d < ndim; d++) {
    b->n *= dims[d];
    if (dims[d] == 1) continue; /* every input has extent 1 here */
    int m = b->ndim - 1;
    bool merge = m >= 0;
    for (int k = 0; merge && k < nin; k++) merge = b->str[k][m] == full[k][d] * dims[d];
    if (merge) {
      b->dims[m] *= dims[d];
      for (int k = 0; k < nin; k++) b->str[k][m] = full[k][d];
    } else {
      b->dims[b->ndim] = dims[d];
      for (int k = 0; k < nin; k++) b->str[k][b->ndim] = full[k][d];
      b->ndim++;
    }
  }
  if (b->ndim == 0) { /* a scalar, or all ones */
    b->ndim = 1;
    b->dims[0] = 1;
  }
  b->flat = b->ndim == 1;
  for (int k = 0; k < nin; k++) b->flat = b->flat && (b->str[k][0] == 0 || b->str[k][0] == 1);
  b->small = b->n <= INT32_MAX;
}

void cuda_bcast_init(cuda_bcast *b, int out_ndim, const int64_t *out_dims, int nin, const int *in_ndim,
                     const int64_t *const *in_dims)
{
  int64_t full[CUDA_BCAST_MAX_IN][ONYX_MAX_DIMS];
  for (int k = 0; k < nin; k++) kc_broadcast_strides(out_ndim, out_dims, in_ndim[k], in_dims[k], full[k]);
  bcast_merge(b, out_ndim, out_dims, nin, (const int64_t(*)[ONYX_MAX_DIMS])full);
}

void kc_bcast_plan(cuda_bcast *b, const cuda_tensor *y, int nin, const int *in_ndim,
                   const int64_t *const *in_dims, const int64_t *const *in_strides)
{
  int perm[ONYX_MAX_DIMS];
  int64_t dims[ONYX_MAX_DIMS], full[CUDA_BCAST_MAX_IN][ONYX_MAX_DIMS];
  kc_phys_order(y, perm);
  for (int i = 0; i < y->ndim; i++) dims[i] = y->dims[perm[i]];
  for (int k = 0; k < nin; k++)
    for (int i = 0; i < y->ndim; i++) {
      int d = perm[i], j = d - (y->ndim - in_ndim[k]);
      full[k][i] = (j < 0 || (in_dims[k][j] == 1 && y->dims[d] != 1)) ? 0 : in_strides[k][j];
    }
  bcast_merge(b, y->ndim, dims, nin, (const int64_t(*)[ONYX_MAX_DIMS])full);
}

void kc_phys_order(const cuda_tensor *t, int *perm)
{
  static const int cl[4] = {0, 2, 3, 1};
  for (int d = 0; d < t->ndim; d++) perm[d] = cuda_tensor_channels_last(t) ? cl[d] : d;
}

bool kc_same_layout(const cuda_tensor *a, const cuda_tensor *b)
{
  if (a->ndim != b->ndim) return false;
  for (int d = 0; d < a->ndim; d++)
    if (a->dims[d] != b->dims[d] || (a->dims[d] > 1 && a->strides[d] != b->strides[d])) return false;
  return true;
}

onyx_status kc_need_same_layout(const cuda_layer *L)
{
  if (L->n_out > 0 && L->out[0].ptr && !kc_same_layout(&L->out[0], &L->in[0]))
    return cuda_layer_error(L, ONYX_ERR_INTERNAL, "output 0 is not laid out as input 0 (layout pass)");
  return ONYX_OK;
}

bool kc_layer_channels_last(const cuda_layer *L)
{
  for (int k = 0; k < L->n_in; k++)
    if (cuda_tensor_channels_last(&L->in[k])) return true;
  for (int k = 0; k < L->n_out; k++)
    if (cuda_tensor_channels_last(&L->out[k])) return true;
  return false;
}

void kc_strided_plan(cuda_strided *c, int ndim, const int64_t *dims, const int64_t *src_str, int64_t src_base,
                     const int64_t *dst_str, int64_t dst_base)
{
  int order[ONYX_MAX_DIMS];
  int64_t d2[ONYX_MAX_DIMS], s2[ONYX_MAX_DIMS], t2[ONYX_MAX_DIMS];
  for (int d = 0; d < ndim; d++) order[d] = d;
  for (int i = 1; i < ndim; i++) /* stable insertion sort, largest destination stride first */
    for (int j = i; j > 0 && dst_str[order[j - 1]] < dst_str[order[j]]; j--) {
      int tmp = order[j];
      order[j] = order[j - 1];
      order[j - 1] = tmp;
    }
  for (int i = 0; i < ndim; i++) {
    d2[i] = dims[order[i]];
    s2[i] = src_str[order[i]];
    t2[i] = dst_str[order[i]];
  }
  cuda_strided_init(c, ndim, d2, s2, src_base, t2, dst_base);
}

void cuda_strided_init(cuda_strided *c, int ndim, const int64_t *dims, const int64_t *src_str,
                       int64_t src_base, const int64_t *dst_str, int64_t dst_base)
{
  memset(c, 0, sizeof(*c));
  c->src_base = src_base;
  c->dst_base = dst_base;
  c->n = 1;
  for (int d = 0; d < ndim; d++) {
    c->n *= dims[d];
    if (dims[d] == 1) continue;
    int m = c->ndim - 1;
    if (m >= 0 && c->src_str[m] == src_str[d] * dims[d] && c->dst_str[m] == dst_str[d] * dims[d]) {
      c->dims[m] *= dims[d];
      c->src_str[m] = src_str[d];
      c->dst_str[m] = dst_str[d];
    } else {
      c->dims[c->ndim] = dims[d];
      c->src_str[c->ndim] = src_str[d];
      c->dst_str[c->ndim] = dst_str[d];
      c->ndim++;
    }
  }
  if (c->ndim == 0) {
    c->ndim = 1;
    c->dims[0] = 1;
  }
  c->small = c->n <= INT32_MAX;
}

uint64_t kc_scalar_bits(onyx_dtype dt, double v)
{
  union {
    uint64_t u;
    float f;
    double d;
    uint16_t h;
    uint8_t u8;
    int8_t i8;
    uint16_t u16;
    int16_t i16;
    uint32_t u32;
    int32_t i32;
    int64_t i64;
  } b = {0};
  switch (dt) {
  case ONYX_DTYPE_FLOAT: b.f = (float)v; break;
  case ONYX_DTYPE_DOUBLE: b.d = v; break;
  case ONYX_DTYPE_FLOAT16: b.h = onyx_float_to_half((float)v); break;
  case ONYX_DTYPE_BOOL: b.u8 = v != 0; break;
  case ONYX_DTYPE_UINT8: b.u8 = (uint8_t)v; break;
  case ONYX_DTYPE_INT8: b.i8 = (int8_t)v; break;
  case ONYX_DTYPE_UINT16: b.u16 = (uint16_t)v; break;
  case ONYX_DTYPE_INT16: b.i16 = (int16_t)v; break;
  case ONYX_DTYPE_UINT32: b.u32 = (uint32_t)v; break;
  case ONYX_DTYPE_INT32: b.i32 = (int32_t)v; break;
  case ONYX_DTYPE_UINT64: b.u = (uint64_t)v; break;
  case ONYX_DTYPE_INT64: b.i64 = (int64_t)v; break;
  default: break;
  }
  return b.u;
}
