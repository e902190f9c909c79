/* CUDA layers for BatchNormalization (inference), MaxPool and AveragePool
 * (kernels/pool.cu), following src/backend/cpu/nn_norm.c and nn_pool.c. */
#include "backend/cuda/k_common.h"
#include "backend/cuda/kernels/pool.h"
#include "backend/cuda/ops_kernels.h"
#include "common/util.h"
#include "ops/nn.h"

/* ---- BatchNormalization ---- */

typedef struct bn_state {
  int64_t N, C, inner;
  unsigned chan; /* bit k: statistic k (scale, B, mean, var) is per channel */
  bool channels_last;
} bn_state;

static onyx_status bn_init(cuda_ctx *ctx, cuda_layer *L)
{
  const cuda_tensor *x = &L->in[0];
  bn_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  if (x->dtype != ONYX_DTYPE_FLOAT && x->dtype != ONYX_DTYPE_FLOAT16)
    return kc_bad_dtype(L, "input", x->dtype);
  if (x->ndim < 2)
    return cuda_layer_error(L, ONYX_ERR_SHAPE, "input must be N x C x ..., got rank %d", x->ndim);
  s->N = x->dims[0];
  s->C = x->dims[1];
  s->inner = onyx_numel(x->ndim - 2, x->dims + 2);
  ONYX_TRY(kc_need_same_layout(L));
  s->channels_last = cuda_tensor_channels_last(x) || cuda_tensor_channels_last(&L->out[0]);
  for (int k = 0; k < 4; k++) {
    const cuda_tensor *t = &L->in[k + 1];
    if (!t->ptr || t->dtype != x->dtype) return kc_bad_dtype(L, "statistics", t->dtype);
    int64_t cnt = cuda_tensor_numel(t);
    if (cnt == s->C)
      s->chan |= 1u << k;
    else if (cnt != s->C * s->inner)
      return cuda_layer_error(L, ONYX_ERR_SHAPE, "input %d holds %lld values, needs %lld or %lld", k + 1,
                              (long long)cnt, (long long)s->C, (long long)(s->C * s->inner));
  }
  snprintf(L->kernel, sizeof(L->kernel), "onyx:batchnorm%s", s->channels_last ? "_nhwc" : "");
  return ONYX_OK;
}

static onyx_status bn_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const bn_state *s = L->state;
  const nn_bn_params *p = L->node->params;
  return kc_launched(L, cuda_batchnorm(L->in[0].dtype, L->in[0].ptr, L->out[0].ptr, L->in[1].ptr,
                                       L->in[2].ptr, L->in[3].ptr, L->in[4].ptr, p->epsilon, s->N, s->C,
                                       s->inner, s->chan, s->channels_last, ctx->stream));
}

const cuda_op_impl cuda_k_batch_normalization = {bn_init, bn_enqueue, kc_release};

/* ---- MaxPool, AveragePool ---- */

/* A 4-D tensor whose two layouts coincide in memory (C == 1 or H * W == 1). */
static bool layout_neutral(const cuda_tensor *t)
{
  return t->ndim == 4 && (t->dims[1] <= 1 || t->dims[2] * t->dims[3] <= 1);
}

static onyx_status pool_init(cuda_ctx *ctx, cuda_layer *L)
{
  const ir_node *n = L->node;
  const nn_pool_params *p = n->params;
  const ir_tensor *x = kc_in(L, 0);
  bool is_max = n->op == ONYX_OP_MAX_POOL;
  nn_geom gm;
  cuda_pool_geom *g = kc_state(L, sizeof(*g));
  if (!g) return ONYX_ERR_NO_MEMORY;
  onyx_dtype dt = L->in[0].dtype; /* the storage type (an FP16 engine stores float as FLOAT16) */
  bool ok = dt == ONYX_DTYPE_FLOAT || dt == ONYX_DTYPE_FLOAT16 ||
            (is_max && (dt == ONYX_DTYPE_INT8 || dt == ONYX_DTYPE_UINT8));
  if (!ok) return kc_bad_dtype(L, "input", dt);
  ONYX_TRY(nn_pool_geom(n, x, &gm));
  if (gm.nsp > 3)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "%d spatial dims are not supported (at most 3)", gm.nsp);
  int lead = 3 - gm.nsp;
  for (int i = 0; i < 3; i++) {
    int j = i - lead;
    g->img[i] = j < 0 ? 1 : gm.in[j];
    g->pos[i] = j < 0 ? 1 : gm.out[j];
    g->k[i] = j < 0 ? 1 : gm.kernel[j];
    g->s[i] = j < 0 ? 1 : gm.strides[j];
    g->d[i] = j < 0 ? 1 : gm.dilations[j];
    g->p[i] = j < 0 ? 0 : gm.pad_begin[j];
    g->pimg[i] = g->img[i] + (j < 0 ? 0 : gm.pad_begin[j] + gm.pad_end[j]);
  }
  g->planes = x->dims[0] * x->dims[1];
  g->channels = x->dims[1];
  g->count_include_pad = p->count_include_pad;
  g->storage_order = p->storage_order;
  /* X and Y share a layout (a tensor whose two layouts coincide goes with the other one);
   * Indices (INT64) stay row-major */
  bool in_cl = cuda_tensor_channels_last(&L->in[0]), out_cl = cuda_tensor_channels_last(&L->out[0]);
  if (in_cl != out_cl && !layout_neutral(&L->in[0]) && !layout_neutral(&L->out[0]))
    return cuda_layer_error(L, ONYX_ERR_INTERNAL, "input and output layouts differ (layout pass)");
  g->channels_last = in_cl || out_cl;
  snprintf(L->kernel, sizeof(L->kernel), "onyx:pool%dd_%s%s", gm.nsp, is_max ? "max" : "avg",
           g->channels_last ? "_nhwc" : "");
  return ONYX_OK;
}

static onyx_status pool_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const cuda_pool_geom *g = L->state;
  if (L->node->op == ONYX_OP_MAX_POOL) {
    int64_t *ind = L->n_out > 1 ? L->out[1].ptr : NULL;
    return kc_launched(L, cuda_pool_max(L->in[0].dtype, g, L->in[0].ptr, L->out[0].ptr, ind, ctx->stream));
  }
  return kc_launched(L, cuda_pool_avg(L->in[0].dtype, g, L->in[0].ptr, L->out[0].ptr, ctx->stream));
}

const cuda_op_impl cuda_k_pool = {pool_init, pool_enqueue, kc_release};
