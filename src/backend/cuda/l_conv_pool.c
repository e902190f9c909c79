/* FusedConvPool layer (ops/fused.h; made by engine/conv_pool.c in FP16 engines): ResNet's stem,
 * Conv 7x7/2/3 + bias + ReLU (or none) + MaxPool 3x3/2/1, in one kernel (kernels/conv_pool.cu)
 * that never writes the conv output.  It reads X (FLOAT: the engine's input Cast folded, or
 * FLOAT16) through its strides and writes Y as FLOAT16 channels-last.  init() packs the filter
 * into the kernel's layout and uploads it with the biases (as floats). */
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/k_common.h"
#include "backend/cuda/kernels/conv_pool.h"
#include "backend/cuda/ops_kernels.h"
#include "common/util.h"
#include "engine/conv_pool.h"
#include "ops/fused.h"

typedef struct conv_pool_state {
  cuda_conv_pool_args args; /* x and y are the context's, set at enqueue */
  void *filter;             /* device: packed FP16 filter */
  float *bias;              /* device: cout floats */
} conv_pool_state;

static void conv_pool_release(cuda_layer *L)
{
  conv_pool_state *s = L->state;
  if (s) {
    cudaFree(s->filter);
    cudaFree(s->bias);
  }
  kc_release(L);
}

/* The windows and activation the kernel covers: engine/conv_pool.c fuses nothing else, and a
 * FusedConvPool node made some other way is refused here. */
static onyx_status check_geometry(const cuda_layer *L, const nn_geom *c, const nn_geom *p)
{
  const fused_conv_pool_params *pp = L->node->params;
  if (pp->fc.conv.group != 1 || !conv_pool_windows(c, p))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED,
                            "only conv 7x7 / 2, pads 3, group 1 followed by MaxPool 3x3 / 2, pads 1 is supported");
  if (pp->fc.act != FUSED_ACT_NONE && pp->fc.act != FUSED_ACT_RELU)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "activation %s is not supported (Relu or none)",
                            fused_act_name(pp->fc.act));
  return ONYX_OK;
}

/* The filter (FLOAT16, as init() requires) packed and uploaded, the biases as floats (zeros without B). */
static onyx_status upload(const cuda_layer *L, conv_pool_state *s, const ir_tensor *w, const ir_tensor *b)
{
  const int cin = s->args.cin, cout = s->args.cout;
  size_t np = (size_t)cout * (size_t)cuda_conv_pool_kp(cin);
  uint16_t *packed = onyx_malloc(np * sizeof(uint16_t));
  float *bias = onyx_calloc((size_t)cout, sizeof(float));
  onyx_status st = ONYX_ERR_NO_MEMORY;
  if (!packed || !bias) goto out;
  cuda_conv_pool_pack(w->data, 1, w->layout == IR_LAYOUT_CHANNELS_LAST, cin, cout, packed);
  for (int k = 0; b && k < cout; k++) bias[k] = onyx_half_to_float(((const uint16_t *)b->data)[k]);
  st = kc_upload(L, &s->filter, packed, np * sizeof(uint16_t), "uploading the filter");
  if (st == ONYX_OK)
    st = kc_upload(L, (void **)&s->bias, bias, (size_t)cout * sizeof(float), "uploading the biases");
out:
  free(packed);
  free(bias);
  return st;
}

static onyx_status conv_pool_init(cuda_ctx *ctx, cuda_layer *L)
{
  const cuda_tensor *x = &L->in[0], *y = &L->out[0];
  const ir_tensor *w = kc_in(L, 1), *b = kc_in(L, 2);
  conv_pool_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  nn_geom cg, pg;
  ONYX_TRY(fused_conv_pool_geom(L->node, kc_in(L, 0), w, &cg, &pg));
  ONYX_TRY(check_geometry(L, &cg, &pg));
  if (x->dtype != ONYX_DTYPE_FLOAT && x->dtype != ONYX_DTYPE_FLOAT16) return kc_bad_dtype(L, "input", x->dtype);
  if (y->dtype != ONYX_DTYPE_FLOAT16 || w->dtype != ONYX_DTYPE_FLOAT16 || (b && b->dtype != ONYX_DTYPE_FLOAT16))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "W, B and Y must be float16 (FP16 engines), not %s, %s, %s",
                            onyx_dtype_name(w->dtype), b ? onyx_dtype_name(b->dtype) : "-",
                            onyx_dtype_name(y->dtype));
  if (!w->data || (b && !b->data))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "W and B must be constants");
  if (x->ndim != 4 || x->dims[1] < 1 || x->dims[1] > CUDA_CONV_POOL_CIN_MAX || y->ndim != 4 ||
      y->dims[1] % CUDA_CONV_POOL_COUT_STEP || !cuda_tensor_channels_last(y))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED,
                            "needs 1-%d input channels and a channels-last output of a multiple of %d channels",
                            CUDA_CONV_POOL_CIN_MAX, CUDA_CONV_POOL_COUT_STEP);
  if (x->dims[0] > INT32_MAX || x->dims[2] > INT32_MAX || x->dims[3] > INT32_MAX || y->dims[1] > INT32_MAX)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "tensor extents beyond 2^31 are not supported");
  cuda_conv_pool_args *a = &s->args;
  a->x_float = x->dtype == ONYX_DTYPE_FLOAT;
  memcpy(a->xs, x->strides, sizeof(a->xs));
  a->n = (int)x->dims[0];
  a->cin = (int)x->dims[1];
  a->h = (int)x->dims[2];
  a->w = (int)x->dims[3];
  a->relu = ((const fused_conv_pool_params *)L->node->params)->fc.act == FUSED_ACT_RELU;
  a->cout = (int)y->dims[1];
  a->ch = (int)cg.out[0];
  a->cw = (int)cg.out[1];
  a->ph = (int)y->dims[2];
  a->pw = (int)y->dims[3];
  a->sm_count = ctx->sm_count;
  if (a->ph != pg.out[0] || a->pw != pg.out[1])
    return cuda_layer_error(L, ONYX_ERR_INTERNAL, "output is %lldx%lld, the pool makes %lldx%lld",
                            (long long)a->ph, (long long)a->pw, (long long)pg.out[0], (long long)pg.out[1]);
  ONYX_TRY(upload(L, s, w, b));
  a->filter = s->filter;
  a->bias = s->bias;
  CUDA_LAYER_CHECK(L, cuda_conv_pool_prepare(a));
  snprintf(L->kernel, sizeof(L->kernel), "onyx:conv7x7s2_maxpool_nhwc");
  return ONYX_OK;
}

static onyx_status conv_pool_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const conv_pool_state *s = L->state;
  cuda_conv_pool_args a = s->args;
  a.x = L->in[0].ptr;
  a.y = L->out[0].ptr;
  return kc_launched(L, cuda_conv_pool(&a, ctx->stream));
}

const cuda_op_impl cuda_conv_pool_impl = {conv_pool_init, conv_pool_enqueue, conv_pool_release};
