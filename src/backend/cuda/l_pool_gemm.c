/* FusedPoolGemm layer (ops/fused.h; made by engine/pool_gemm.c): GlobalAveragePool + Flatten + Gemm
 * (+ the output Cast) in one kernel (kernels/pool_gemm.cu).  It reads X through its strides (any
 * layout whose spatial dims collapse into one stride) and writes Y row-major.  init() packs the
 * weights as M rows of X's type, 16-byte aligned, and uploads them with beta * C as floats. */
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/k_common.h"
#include "backend/cuda/kernels/pool_gemm.h"
#include "backend/cuda/ops_kernels.h"
#include "common/util.h"
#include "ops/fused.h"

typedef struct pool_gemm_state {
  cuda_pool_gemm_args args; /* x and y are the context's, set at enqueue */
  void *w;                  /* device: packed weights */
  float *bias;              /* device: m floats */
} pool_gemm_state;

static void pool_gemm_release(cuda_layer *L)
{
  pool_gemm_state *s = L->state;
  if (s) {
    cudaFree(s->w);
    cudaFree(s->bias);
  }
  kc_release(L);
}

/* The stride of X's spatial elements taken as one flat index: X's spatial dims (2 ..) must follow
 * each other in memory.  0 when there is one spatial element. */
static onyx_status spatial_stride(const cuda_layer *L, const cuda_tensor *x, int64_t *stride)
{
  int inner = -1; /* the innermost spatial dim of extent > 1 seen so far */
  *stride = 0;
  for (int d = x->ndim - 1; d >= 2; d--) {
    if (x->dims[d] == 1) continue;
    if (inner < 0)
      *stride = x->strides[d];
    else if (x->strides[d] != x->strides[inner] * x->dims[inner])
      return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "the input's spatial dims are not one run in memory");
    inner = d;
  }
  return ONYX_OK;
}

/* The weights as m rows of kp elements of X's type (W is m x k with transB, else k x m), the
 * biases as beta * C (zeros without C), uploaded. */
static onyx_status upload(const cuda_layer *L, pool_gemm_state *s, const ir_tensor *w, const ir_tensor *c)
{
  const fused_pool_gemm_params *p = L->node->params;
  const cuda_pool_gemm_args *a = &s->args;
  const int64_t k = a->k, m = a->m, kp = cuda_pool_gemm_kp(a->k, a->half);
  const size_t es = a->half ? 2 : 4, wbytes = (size_t)(m * kp) * es;
  char *packed = onyx_calloc((size_t)(m * kp), es);
  float *bias = onyx_calloc((size_t)m, sizeof(float));
  onyx_status st = ONYX_ERR_NO_MEMORY;
  if (!packed || !bias) goto out;
  for (int64_t o = 0; o < m; o++)
    for (int64_t j = 0; j < k; j++) {
      const int64_t from = p->gemm.trans_b ? o * k + j : j * m + o;
      memcpy(packed + (size_t)(o * kp + j) * es, (const char *)w->data + (size_t)from * es, es);
    }
  for (int64_t o = 0; c && p->gemm.beta != 0.f && o < m; o++)
    bias[o] = p->gemm.beta *
              (a->half ? onyx_half_to_float(((const uint16_t *)c->data)[o]) : ((const float *)c->data)[o]);
  st = kc_upload(L, &s->w, packed, wbytes, "uploading the weights");
  if (st == ONYX_OK)
    st = kc_upload(L, (void **)&s->bias, bias, (size_t)m * sizeof(float), "uploading the biases");
out:
  free(packed);
  free(bias);
  return st;
}

static onyx_status pool_gemm_init(cuda_ctx *ctx, cuda_layer *L)
{
  (void)ctx;
  const fused_pool_gemm_params *p = L->node->params;
  const cuda_tensor *x = &L->in[0], *y = &L->out[0];
  const ir_tensor *w = kc_in(L, 1), *c = kc_in(L, 2);
  pool_gemm_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  if (x->dtype != ONYX_DTYPE_FLOAT && x->dtype != ONYX_DTYPE_FLOAT16)
    return kc_bad_dtype(L, "input", x->dtype);
  const bool half = x->dtype == ONYX_DTYPE_FLOAT16;
  if (w->dtype != x->dtype || (c && c->dtype != x->dtype) ||
      (y->dtype != x->dtype && !(half && y->dtype == ONYX_DTYPE_FLOAT)))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED,
                            "W, C and Y must be of X's type %s (Y may be float), not %s, %s, %s",
                            onyx_dtype_name(x->dtype), onyx_dtype_name(w->dtype),
                            c ? onyx_dtype_name(c->dtype) : "-", onyx_dtype_name(y->dtype));
  if (!w->data || (c && !c->data))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "W and C must be constants");
  if (x->ndim < 3 || y->ndim != 2 || y->strides[1] != 1 || (y->dims[0] > 1 && y->strides[0] != y->dims[1]))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED,
                            "needs an input of rank >= 3 and a row-major N x M output");
  const int64_t hw = onyx_numel(x->ndim - 2, x->dims + 2);
  if (x->dims[0] > INT32_MAX || x->dims[1] > INT32_MAX || y->dims[1] > INT32_MAX || hw < 1)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "tensor extents beyond 2^31 or empty are not supported");
  cuda_pool_gemm_args *a = &s->args;
  a->n = (int)x->dims[0];
  a->k = (int)x->dims[1];
  a->m = (int)y->dims[1];
  a->hw = hw;
  a->xs_n = x->strides[0];
  a->xs_k = x->strides[1];
  ONYX_TRY(spatial_stride(L, x, &a->xs_p));
  a->scale = p->gemm.alpha / (float)hw;
  a->half = half;
  a->y_float = y->dtype == ONYX_DTYPE_FLOAT;
  int dev = 0, major = 0;
  CUDA_LAYER_CHECK(L, cudaGetDevice(&dev));
  CUDA_LAYER_CHECK(L, cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
  a->pdl = major >= 9;
  if (a->k > CUDA_POOL_GEMM_MAX_K)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "%d channels: at most %d are supported", a->k,
                            CUDA_POOL_GEMM_MAX_K);
  ONYX_TRY(upload(L, s, w, c));
  a->w = s->w;
  a->bias = s->bias;
  snprintf(L->kernel, sizeof(L->kernel), "onyx:pool_gemm");
  return ONYX_OK;
}

static onyx_status pool_gemm_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const pool_gemm_state *s = L->state;
  cuda_pool_gemm_args a = s->args;
  a.x = L->in[0].ptr;
  a.y = L->out[0].ptr;
  return kc_launched(L, cuda_pool_gemm(&a, ctx->stream));
}

const cuda_op_impl cuda_pool_gemm_impl = {pool_gemm_init, pool_gemm_enqueue, pool_gemm_release};
