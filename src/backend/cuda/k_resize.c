/* CUDA layer for Resize and Upsample (kernels/resize.cu).  The plan (output
 * dims, scales, roi) comes from resize_make_plan, as on the CPU; init turns it
 * into per-dim tap tables (offset, weight, outside flag per output coordinate,
 * from resize_dim_taps, as on the CPU) and uploads them once.
 * Nearest, linear and cubic in every coordinate transformation the CPU
 * supports.  Input and output may each be row-major or channels-last. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/k_common.h"
#include "backend/cuda/kernels/resize.h"
#include "backend/cuda/ops_kernels.h"
#include "common/util.h"
#include "ops/reduce.h"

#define MAX_COMBOS 1024 /* tap combinations per output element */

_Static_assert(CUDA_RESIZE_TAPS >= RESIZE_MAX_TAPS, "the device tables hold every tap of a coordinate");

typedef struct resize_state {
  bool interp; /* false: a gather (every dim has one tap of weight 1) */
  size_t esz;
  cuda_resize_geom g;
  void *dev; /* the tables: offsets, then weights, then outside flags */
  int64_t *off;
  float *w;
  uint8_t *outside;
} resize_state;

static void resize_release(cuda_layer *L)
{
  resize_state *s = L->state;
  if (s && s->dev) cudaFree(s->dev);
  kc_release(L);
}

static onyx_status resize_init(cuda_ctx *ctx, cuda_layer *L)
{
  const resize_params *p = L->node->params;
  const cuda_tensor *x = &L->in[0];
  resize_plan plan;
  resize_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  ONYX_TRY(kc_elem_size(L, x->dtype, &s->esz));
  ONYX_TRY(resize_make_plan(L->g, L->node, &plan));
  int nd = plan.ndim;
  cuda_resize_geom *g = &s->g;
  g->ndim = nd;
  g->n = onyx_numel(nd, plan.out);
  int64_t coords = 0;
  for (int d = 0; d < nd; d++) {
    g->out[d] = plan.out[d];
    g->at[d] = coords;
    coords += plan.out[d];
  }
  if (g->n == 0) return ONYX_OK;
  size_t n_tap = (size_t)coords * CUDA_RESIZE_TAPS;
  size_t bytes = n_tap * (sizeof(int64_t) + sizeof(float)) + (size_t)coords;
  unsigned char *host = onyx_calloc(1, bytes);
  if (!host) return ONYX_ERR_NO_MEMORY;
  int64_t *off = (int64_t *)host;
  float *w = (float *)(off + n_tap);
  uint8_t *outside = (uint8_t *)(w + n_tap);
  int64_t combos = 1;
  for (int d = nd - 1; d >= 0; d--) { /* taps address the input through its strides (any layout) */
    int64_t a = g->at[d];
    g->k[d] = resize_dim_taps(p, &plan, d, x->dims[d], x->strides[d], CUDA_RESIZE_TAPS,
                              off + a * CUDA_RESIZE_TAPS, w + a * CUDA_RESIZE_TAPS, outside + a);
    combos *= g->k[d];
  }
  /* the kernel writes y[i] for the i-th output element in memory: list the dims in the output's
   * memory order (the taps of each dim are independent of the order) */
  int order[ONYX_MAX_DIMS];
  cuda_resize_geom lg = *g;
  kc_phys_order(&L->out[0], order);
  for (int i = 0; i < nd; i++) {
    g->out[i] = lg.out[order[i]];
    g->at[i] = lg.at[order[i]];
    g->k[i] = lg.k[order[i]];
  }
  for (int64_t c = 0; c < coords; c++) g->any_outside = g->any_outside || outside[c];
  s->interp = combos > 1;
  g->extrapolation = kc_scalar_bits(x->dtype, p->extrapolation);
  onyx_status st = ONYX_OK;
  if (s->interp && x->dtype != ONYX_DTYPE_FLOAT && x->dtype != ONYX_DTYPE_FLOAT16)
    st = kc_bad_dtype(L, "input (interpolated)", x->dtype);
  else if (combos > MAX_COMBOS)
    st = cuda_layer_error(L, ONYX_ERR_UNSUPPORTED,
                          "interpolating over %d dimensions at once is not supported", nd);
  if (st == ONYX_OK) st = kc_upload(L, &s->dev, host, bytes, "uploading the resize tables");
  free(host);
  ONYX_TRY(st);
  s->off = s->dev;
  s->w = (float *)(s->off + n_tap);
  s->outside = (uint8_t *)(s->w + n_tap);
  snprintf(L->kernel, sizeof(L->kernel), "onyx:resize_%s", s->interp ? "interp" : "gather");
  return ONYX_OK;
}

static onyx_status resize_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const resize_state *s = L->state;
  if (s->g.n == 0) return ONYX_OK;
  if (!s->interp)
    return kc_launched(
        L, cuda_resize_nearest(s->esz, &s->g, L->in[0].ptr, L->out[0].ptr, s->off, s->outside, ctx->stream));
  return kc_launched(L, cuda_resize_interp(L->in[0].dtype, &s->g, L->in[0].ptr, L->out[0].ptr, s->off, s->w,
                                           s->outside, ctx->stream));
}

const cuda_op_impl cuda_k_resize = {resize_init, resize_enqueue, resize_release};
