/* CUDA layers for Softmax/LogSoftmax, ReduceSum/Mean/Max, ArgMax and the
 * global pools (kernels/reduce.cu), following src/backend/cpu/reduce.c and
 * nn_pool.c. */
#include <string.h>

#include "backend/cuda/k_common.h"
#include "backend/cuda/kernels/reduce.h"
#include "backend/cuda/ops_kernels.h"
#include "common/util.h"
#include "ops/reduce.h"

/* ---- Softmax, LogSoftmax ---- */

typedef struct softmax_state {
  int64_t outer, len, inner;
} softmax_state;

static onyx_status softmax_init(cuda_ctx *ctx, cuda_layer *L)
{
  softmax_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  if (!kc_is_float(L->in[0].dtype)) return kc_bad_dtype(L, "input", L->in[0].dtype);
  ONYX_TRY(softmax_layout(L->node, kc_in(L, 0), &s->outer, &s->len, &s->inner));
  snprintf(L->kernel, sizeof(L->kernel), "onyx:softmax_%s",
           s->inner > 1     ? "lanes"
           : s->len <= 1024 ? "warp_rows"
                            : "block_rows");
  return ONYX_OK;
}

static onyx_status softmax_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const softmax_state *s = L->state;
  return kc_launched(L, cuda_softmax(L->in[0].dtype, L->node->op == ONYX_OP_LOG_SOFTMAX, L->in[0].ptr,
                                     L->out[0].ptr, s->outer, s->len, s->inner, ctx->stream));
}

const cuda_op_impl cuda_k_softmax = {softmax_init, softmax_enqueue, kc_release};

/* ---- reductions ---- */

/* The input as alternating runs of kept and reduced dims (size-1 dims dropped, neighbours of
 * one kind merged where their strides allow), outermost first, addressed through the input's
 * strides (row-major or channels-last). */
static void reduce_layout(int ndim, const int64_t *dims, const int64_t *strides, const bool *mask,
                          cuda_reduce_layout *R)
{
  memset(R, 0, sizeof(*R));
  R->n_out = R->n_red = 1;
  int last_kind = -1;
  int64_t min_stride = -1;
  for (int d = ndim - 1; d >= 0; d--) { /* innermost first; reversed below */
    int64_t sz = dims[d];
    if (sz == 1) continue;
    int kind = mask[d] ? 1 : 0;
    int64_t *size = kind ? R->rsize : R->ksize, *str = kind ? R->rstride : R->kstride;
    int *cnt = kind ? &R->nr : &R->nk;
    if (kind == last_kind && strides[d] == str[*cnt - 1] * size[*cnt - 1]) {
      size[*cnt - 1] *= sz;
    } else {
      size[*cnt] = sz;
      str[*cnt] = strides[d];
      (*cnt)++;
    }
    if (min_stride < 0 || strides[d] < min_stride) { /* the dim adjacent in memory decides the kernel */
      min_stride = strides[d];
      R->last_kept = !kind;
    }
    last_kind = kind;
    if (kind)
      R->n_red *= sz;
    else
      R->n_out *= sz;
  }
  for (int i = 0; i < R->nk / 2; i++) {
    int j = R->nk - 1 - i;
    int64_t t = R->ksize[i];
    R->ksize[i] = R->ksize[j], R->ksize[j] = t;
    t = R->kstride[i];
    R->kstride[i] = R->kstride[j], R->kstride[j] = t;
  }
  for (int i = 0; i < R->nr / 2; i++) {
    int j = R->nr - 1 - i;
    int64_t t = R->rsize[i];
    R->rsize[i] = R->rsize[j], R->rsize[j] = t;
    t = R->rstride[i];
    R->rstride[i] = R->rstride[j], R->rstride[j] = t;
  }
}

typedef struct reduce_state {
  bool noop;
  cuda_reduce_kind kind;
  cuda_reduce_layout R;
} reduce_state;

static onyx_status reduce_finish(cuda_layer *L, reduce_state *s)
{
  onyx_dtype dt = L->in[0].dtype;
  bool ints = dt == ONYX_DTYPE_INT32 || dt == ONYX_DTYPE_INT64;
  if (!kc_is_float(dt) && !ints) return kc_bad_dtype(L, "input", dt);
  if (s->R.n_red == 0 && s->kind == CUDA_RED_MEAN && ints)
    return cuda_layer_error(L, ONYX_ERR_SHAPE, "the integer mean of an empty set is undefined");
  snprintf(L->kernel, sizeof(L->kernel), "onyx:reduce_%s_%s",
           s->kind == CUDA_RED_MAX    ? "max"
           : s->kind == CUDA_RED_MEAN ? "mean"
                                      : "sum",
           s->noop          ? "copy"
           : s->R.last_kept ? "cols"
                            : "rows");
  return ONYX_OK;
}

static onyx_status reduce_init(cuda_ctx *ctx, cuda_layer *L)
{
  const ir_node *n = L->node;
  const cuda_tensor *x = &L->in[0];
  bool mask[ONYX_MAX_DIMS];
  reduce_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  ONYX_TRY(reduce_axes_mask(L->g, n, x->ndim, mask, &s->noop));
  s->kind = n->op == ONYX_OP_REDUCE_MAX    ? CUDA_RED_MAX
            : n->op == ONYX_OP_REDUCE_MEAN ? CUDA_RED_MEAN
                                           : CUDA_RED_SUM;
  reduce_layout(x->ndim, x->dims, x->strides, mask, &s->R);
  return reduce_finish(L, s);
}

/* GlobalAveragePool / GlobalMaxPool: the mean or max over every dim after N and C, from an
 * input in either layout into a row-major output (N, C, 1, ...). */
static onyx_status global_pool_init(cuda_ctx *ctx, cuda_layer *L)
{
  const cuda_tensor *x = &L->in[0];
  bool mask[ONYX_MAX_DIMS];
  reduce_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  if (x->dtype != ONYX_DTYPE_FLOAT && x->dtype != ONYX_DTYPE_FLOAT16)
    return kc_bad_dtype(L, "input", x->dtype);
  if (x->ndim < 2)
    return cuda_layer_error(L, ONYX_ERR_SHAPE, "input must be N x C x ..., got rank %d", x->ndim);
  for (int d = 0; d < x->ndim; d++) mask[d] = d >= 2;
  s->kind = L->node->op == ONYX_OP_GLOBAL_MAX_POOL ? CUDA_RED_MAX : CUDA_RED_MEAN;
  if (cuda_tensor_channels_last(&L->out[0]))
    return cuda_layer_error(L, ONYX_ERR_INTERNAL, "a channels-last output (layout pass)");
  reduce_layout(x->ndim, x->dims, x->strides, mask, &s->R);
  return reduce_finish(L, s);
}

static onyx_status reduce_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const reduce_state *s = L->state;
  if (s->noop) return kc_copy(ctx, L->out[0].ptr, L->in[0].ptr, kc_bytes(&L->in[0]));
  return kc_launched(L,
                     cuda_reduce(L->in[0].dtype, s->kind, &s->R, L->in[0].ptr, L->out[0].ptr, ctx->stream));
}

const cuda_op_impl cuda_k_reduce = {reduce_init, reduce_enqueue, kc_release};
const cuda_op_impl cuda_k_global_pool = {global_pool_init, reduce_enqueue, kc_release};

/* ---- ArgMax ---- */

typedef struct argmax_state {
  int64_t outer, len, inner;
} argmax_state;

static onyx_status argmax_init(cuda_ctx *ctx, cuda_layer *L)
{
  const argmax_params *p = L->node->params;
  const cuda_tensor *x = &L->in[0];
  int axis;
  argmax_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  if (!kc_is_float(x->dtype) && x->dtype != ONYX_DTYPE_INT32 && x->dtype != ONYX_DTYPE_INT64)
    return kc_bad_dtype(L, "input", x->dtype);
  ONYX_TRY(op_axis(L->node, p->axis, x->ndim, &axis));
  s->outer = onyx_numel(axis, x->dims);
  s->len = x->dims[axis];
  s->inner = onyx_numel(x->ndim - axis - 1, x->dims + axis + 1);
  snprintf(L->kernel, sizeof(L->kernel), "onyx:argmax");
  return ONYX_OK;
}

static onyx_status argmax_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const argmax_state *s = L->state;
  const argmax_params *p = L->node->params;
  return kc_launched(L, cuda_argmax(L->in[0].dtype, L->in[0].ptr, L->out[0].ptr, s->outer, s->len, s->inner,
                                    p->select_last_index, ctx->stream));
}

const cuda_op_impl cuda_k_argmax = {argmax_init, argmax_enqueue, kc_release};
