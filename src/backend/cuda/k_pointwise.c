/* FusedPointwise layer: the program is checked and uploaded once in init. */
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/k_common.h"
#include "backend/cuda/kernels/pointwise.h"
#include "backend/cuda/ops_kernels.h"
#include "common/util.h"
#include "ops/fused.h"

_Static_assert(CUDA_FPW_MAX_IN >= FPW_MAX_IN && CUDA_FPW_MAX_INSTR >= FPW_MAX_INSTR &&
                   CUDA_FPW_MAX_DIMS >= ONYX_MAX_DIMS,
               "the CUDA program must hold any FusedPointwise program");

typedef struct fpw_state {
  cuda_fpw_prog *dev;
  cuda_fpw_ptrs ptrs;
  int64_t total;
} fpw_state;

static bool float_storage(onyx_dtype t) { return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_FLOAT16; }

static onyx_status fpw_init(cuda_ctx *ctx, cuda_layer *L)
{
  const fused_pointwise_params *p = L->node->params;
  const cuda_tensor *y = &L->out[0];
  if (L->n_in > CUDA_FPW_MAX_IN || p->n_instr < 1)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "%d inputs, %d instructions", L->n_in, p->n_instr);
  if (!float_storage(y->dtype))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "output type %s", onyx_dtype_name(y->dtype));
  fpw_state *s = onyx_calloc(1, sizeof(*s));
  cuda_fpw_prog *prog = onyx_calloc(1, sizeof(*prog));
  if (!s || !prog) {
    free(s);
    free(prog);
    return ONYX_ERR_NO_MEMORY;
  }
  L->state = s;
  prog->n_in = L->n_in;
  prog->n_instr = p->n_instr;
  prog->ndim = y->ndim;
  prog->half_out = y->dtype == ONYX_DTYPE_FLOAT16;
  prog->total = s->total = cuda_tensor_numel(y);
  /* the kernel writes element e of the output's memory: dims in that order (channels-last or
   * row-major), each input read through its own strides (0 where it broadcasts) */
  int order[ONYX_MAX_DIMS];
  kc_phys_order(y, order);
  for (int i = 0; i < y->ndim; i++) prog->out_dims[i] = y->dims[order[i]];
  onyx_status st = ONYX_OK;
  for (int i = 0; i < L->n_in && st == ONYX_OK; i++) {
    const cuda_tensor *x = &L->in[i];
    if (!float_storage(x->dtype)) {
      st = cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "input %d type %s", i, onyx_dtype_name(x->dtype));
      break;
    }
    prog->half_in[i] = x->dtype == ONYX_DTYPE_FLOAT16;
    for (int k = 0; k < y->ndim; k++) {
      int d = order[k], j = d - (y->ndim - x->ndim);
      prog->in_strides[i][k] = (j < 0 || (x->dims[j] == 1 && y->dims[d] != 1)) ? 0 : x->strides[j];
    }
    s->ptrs.in[i] = x->ptr;
  }
  for (int k = 0; k < p->n_instr && st == ONYX_OK; k++) {
    const fpw_instr *ins = &p->instr[k];
    prog->instr[k][0] = ins->op;
    prog->instr[k][1] = ins->a;
    prog->instr[k][2] = ins->b;
    for (int c = 0; c < fpw_n_consts(ins->op) && c < 2; c++) prog->consts[k][c] = p->consts[ins->c + c];
  }
  s->ptrs.out = y->ptr;
  if (st == ONYX_OK) {
    cudaError_t err = cudaMalloc((void **)&s->dev, sizeof(*prog));
    if (err == cudaSuccess) err = cudaMemcpy(s->dev, prog, sizeof(*prog), cudaMemcpyHostToDevice);
    if (err != cudaSuccess) st = cuda_status(err, "uploading a FusedPointwise program", __FILE__, __LINE__);
  }
  free(prog);
  snprintf(L->kernel, sizeof(L->kernel), "onyx:pointwise[%d]", p->n_instr);
  return st;
}

static onyx_status fpw_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const fpw_state *s = L->state;
  if (cuda_fused_pointwise(s->dev, s->total, s->ptrs, ctx->stream) != cudaSuccess)
    return cuda_launch_check(L, "fused_pointwise");
  return ONYX_OK;
}

static void fpw_release(cuda_layer *L)
{
  fpw_state *s = L->state;
  if (s && s->dev) cudaFree(s->dev);
  free(s);
  L->state = NULL;
}

const cuda_op_impl cuda_fused_pointwise_impl = {fpw_init, fpw_enqueue, fpw_release};
