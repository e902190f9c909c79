/* CPU kernel for FusedPointwise (ops/fused.h): the program is interpreted one
 * block of output elements at a time, each instruction running over the whole
 * block, so the per-element cost is a plain loop like the unfused kernels'.
 * Every expression matches the unfused CPU kernel's, in float. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "backend/cpu/elementwise.h"
#include "ops/fused.h"

#define FPW_BLOCK 512

/* How an input is read for a block of output elements. */
typedef enum { IN_FULL, IN_SCALAR, IN_STRIDED } in_mode;

static void run_instr(const fpw_instr *ins, const float *consts, const float *a, const float *b, float *o,
                      int64_t cnt)
{
  const float c0 = ins->c >= 0 ? consts[ins->c] : 0.f;
  const float c1 = ins->c >= 0 && fpw_n_consts(ins->op) > 1 ? consts[ins->c + 1] : 0.f;
#define LOOP(EXPR)                                                                                           \
  for (int64_t i = 0; i < cnt; i++) {                                                                        \
    const float x = a[i];                                                                                    \
    o[i] = (EXPR);                                                                                           \
  }                                                                                                          \
  break
#define LOOP2(EXPR)                                                                                          \
  for (int64_t i = 0; i < cnt; i++) {                                                                        \
    const float x = a[i], y = b[i];                                                                          \
    o[i] = (EXPR);                                                                                           \
  }                                                                                                          \
  break
  switch (ins->op) {
  case FPW_ADD: LOOP2(x + y);
  case FPW_SUB: LOOP2(x - y);
  case FPW_MUL: LOOP2(x * y);
  case FPW_DIV: LOOP2(x / y);
  case FPW_MAX: LOOP2((x > y || x != x) ? x : y);
  case FPW_MIN: LOOP2((x < y || x != x) ? x : y);
  case FPW_PRELU: LOOP2(x < 0 ? x * y : x);
  case FPW_RELU: LOOP(x > 0 ? x : 0.f);
  case FPW_LEAKY_RELU: LOOP(x >= 0 ? x : c0 * x);
  case FPW_SIGMOID: LOOP(1.f / (1.f + expf(-x)));
  case FPW_TANH: LOOP(tanhf(x));
  case FPW_HARD_SIGMOID: LOOP(fmaxf(0.f, fminf(1.f, c0 * x + c1)));
  case FPW_HARD_SWISH: LOOP(x * fmaxf(0.f, fminf(1.f, x * (float)(1.0 / 6.0) + 0.5f)));
  case FPW_CLIP: /* ONNX: min > max makes every element max */
    if (c0 > c1) {
      for (int64_t i = 0; i < cnt; i++) o[i] = c1;
      break;
    }
    LOOP(x < c0 ? c0 : x > c1 ? c1 : x);
  case FPW_ELU: LOOP(x >= 0 ? x : c0 * expm1f(x));
  case FPW_SOFTPLUS: LOOP(x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x)));
  case FPW_EXP: LOOP(expf(x));
  case FPW_LOG: LOOP(logf(x));
  case FPW_SQRT: LOOP(sqrtf(x));
  case FPW_RECIPROCAL: LOOP(1.f / x);
  case FPW_NEG: LOOP(-x);
  case FPW_ABS: LOOP(fabsf(x));
  case FPW_ERF: LOOP(erff(x));
  default: break; /* parse rejected unknown opcodes */
  }
#undef LOOP
#undef LOOP2
}

/* dst[j] = x[offset of output element e0 + j], for an input broadcast with these strides. */
static void gather(const float *x, int ndim, const int64_t *dims, const int64_t *strides, int64_t e0,
                   int64_t cnt, float *dst)
{
  int64_t idx[ONYX_MAX_DIMS], off = 0, r = e0;
  for (int d = ndim - 1; d >= 0; d--) {
    idx[d] = dims[d] ? r % dims[d] : 0;
    r = dims[d] ? r / dims[d] : 0;
    off += idx[d] * strides[d];
  }
  for (int64_t j = 0; j < cnt; j++) {
    dst[j] = x[off];
    for (int d = ndim - 1; d >= 0; d--) { /* next index, odometer style */
      off += strides[d];
      if (++idx[d] < dims[d]) break;
      off -= idx[d] * strides[d];
      idx[d] = 0;
    }
  }
}

onyx_status cpu_fused_pointwise(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const fused_pointwise_params *p = n->params;
  ir_tensor *y = CPU_OUT(g, n, 0);
  const int nin = n->n_in, nv = nin + p->n_instr;
  const int64_t total = ir_tensor_numel(y);
  in_mode mode[FPW_MAX_IN];
  int64_t strides[FPW_MAX_IN][ONYX_MAX_DIMS];
  const float *data[FPW_MAX_IN];
  for (int i = 0; i < nin; i++) {
    const ir_tensor *x = CPU_IN(g, n, i);
    if (x->dtype != ONYX_DTYPE_FLOAT) return ew_bad_dtype(n, x->dtype);
    int64_t cnt = ir_tensor_numel(x);
    data[i] = x->data;
    mode[i] = cnt == total ? IN_FULL : cnt == 1 ? IN_SCALAR : IN_STRIDED;
    if (mode[i] == IN_STRIDED) cpu_broadcast_strides(y->ndim, y->dims, x->ndim, x->dims, strides[i]);
  }
  if (total == 0) return ONYX_OK;
  const int64_t nblocks = (total + FPW_BLOCK - 1) / FPW_BLOCK;
  int nt = ew_threads(ctx, total * p->n_instr);
  if (nt > nblocks) nt = (int)nblocks;
  size_t bytes = (size_t)nt * (size_t)nv * FPW_BLOCK * sizeof(float);
  float *scratch = cpu_scratch(ctx, bytes);
  if (!scratch) return op_error(n, ONYX_ERR_NO_MEMORY, "cannot allocate %zu bytes of scratch", bytes);
  float *out = y->data;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t blk = 0; blk < nblocks; blk++) {
    float *buf = scratch + (size_t)omp_get_thread_num() * (size_t)nv * FPW_BLOCK;
    const float *v[FPW_MAX_IN + FPW_MAX_INSTR];
    const int64_t e0 = blk * FPW_BLOCK, cnt = total - e0 < FPW_BLOCK ? total - e0 : FPW_BLOCK;
    for (int i = 0; i < nin; i++) {
      float *slot = buf + (size_t)i * FPW_BLOCK;
      switch (mode[i]) {
      case IN_FULL: v[i] = data[i] + e0; break;
      case IN_SCALAR:
        for (int64_t j = 0; j < cnt; j++) slot[j] = data[i][0];
        v[i] = slot;
        break;
      case IN_STRIDED:
        gather(data[i], y->ndim, y->dims, strides[i], e0, cnt, slot);
        v[i] = slot;
        break;
      }
    }
    for (int k = 0; k < p->n_instr; k++) {
      const fpw_instr *ins = &p->instr[k];
      float *o = k == p->n_instr - 1 ? out + e0 : buf + (size_t)(nin + k) * FPW_BLOCK;
      run_instr(ins, p->consts, v[ins->a], ins->b >= 0 ? v[ins->b] : NULL, o, cnt);
      v[nin + k] = o;
    }
  }
  return ONYX_OK;
}
