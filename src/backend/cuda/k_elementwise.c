/* CUDA layers for the elementwise family (kernels/elementwise.cu): unary ops,
 * Clip, binary ops with broadcasting (legacy axis form included), Pow, Max/Min/
 * Sum, Where, Cast, Identity and Dropout.  Attribute handling follows
 * src/backend/cpu/elementwise*.c. */
#include <string.h>

#include "backend/cuda/k_common.h"
#include "backend/cuda/ops_kernels.h"
#include "ops/elementwise.h"

/* ---- Identity, and the reshape family: a device-to-device copy ----
 *
 * Nothing when the memory plan put the input in the output's place.  Row-major on both sides:
 * cudaMemcpyAsync.  Otherwise (a reformat between layouts, or a
 * reshape reading a channels-last input) a strided copy: element order is the row-major order
 * of the logical dims, so the side that is row-major is addressed by the other side's dims. */

typedef struct copy_state {
  bool strided;
  bool to_nhwc; /* input_to_nhwc(): its own kernel */
  size_t esz;
  cuda_strided c;
} copy_state;

static bool row_major(const cuda_tensor *t)
{
  int64_t s = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (t->dims[d] > 1 && t->strides[d] != s) return false;
    s *= t->dims[d];
  }
  return true;
}

/* Whether x -> y is a row-major FLOAT image of few channels becoming a channels-last FLOAT16 or FLOAT
 * tensor of the same dims (the input reformat of an FP16 or TF32 engine): cuda_f32_nchw_to_nhwc. */
static bool input_to_nhwc(const cuda_tensor *x, const cuda_tensor *y)
{
  return x->dtype == ONYX_DTYPE_FLOAT && (y->dtype == ONYX_DTYPE_FLOAT16 || y->dtype == ONYX_DTYPE_FLOAT) &&
         x->ndim == 4 && y->ndim == 4 && row_major(x) && cuda_tensor_channels_last(y) && y->dims[1] <= 8 &&
         memcmp(x->dims, y->dims, 4 * sizeof(int64_t)) == 0;
}

static onyx_status enqueue_to_nhwc(cuda_ctx *ctx, const cuda_layer *L)
{
  const int64_t *d = L->out[0].dims;
  return kc_launched(L, cuda_f32_nchw_to_nhwc(L->in[0].ptr, L->out[0].ptr, L->out[0].dtype == ONYX_DTYPE_FLOAT16,
                                              d[0], d[1], d[2] * d[3], ctx->stream));
}

static onyx_status copy_init(cuda_ctx *ctx, cuda_layer *L)
{
  copy_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  if (L->n_out < 1 || !L->out[0].ptr) return ONYX_OK;
  const cuda_tensor *x = &L->in[0], *y = &L->out[0];
  if (kc_bytes(x) != kc_bytes(y) || x->dtype != y->dtype)
    return cuda_layer_error(L, ONYX_ERR_INTERNAL, "input and output sizes differ");
  snprintf(L->kernel, sizeof(L->kernel), "cudaMemcpyAsync");
  if (x->ptr == y->ptr) { /* the memory plan placed the input in the output (plan.c, alias_views) */
    snprintf(L->kernel, sizeof(L->kernel), "onyx:view(in place)");
    return ONYX_OK;
  }
  if ((row_major(x) && row_major(y)) || kc_same_layout(x, y)) return ONYX_OK;
  if ((s->to_nhwc = input_to_nhwc(x, y))) {
    snprintf(L->kernel, sizeof(L->kernel), "onyx:nchw_to_nhwc");
    return ONYX_OK;
  }
  int64_t cs[ONYX_MAX_DIMS];
  s->strided = true;
  ONYX_TRY(kc_elem_size(L, x->dtype, &s->esz));
  bool same_dims = x->ndim == y->ndim && memcmp(x->dims, y->dims, (size_t)x->ndim * sizeof(int64_t)) == 0;
  if (same_dims) {
    kc_strided_plan(&s->c, x->ndim, x->dims, x->strides, 0, y->strides, 0);
  } else if (row_major(y)) {
    kc_contiguous(x->ndim, x->dims, cs);
    kc_strided_plan(&s->c, x->ndim, x->dims, x->strides, 0, cs, 0);
  } else if (row_major(x)) {
    kc_contiguous(y->ndim, y->dims, cs);
    kc_strided_plan(&s->c, y->ndim, y->dims, cs, 0, y->strides, 0);
  } else {
    return cuda_layer_error(L, ONYX_ERR_INTERNAL,
                            "a reshape between two channels-last tensors (layout pass)");
  }
  snprintf(L->kernel, sizeof(L->kernel), "onyx:strided_copy_%s",
           cuda_tensor_channels_last(y) ? "to_nhwc" : "to_nchw");
  return ONYX_OK;
}

static onyx_status copy_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const copy_state *s = L->state;
  if (L->n_out < 1 || !L->out[0].ptr || L->in[0].ptr == L->out[0].ptr) return ONYX_OK;
  if (s->to_nhwc) return enqueue_to_nhwc(ctx, L);
  if (s->strided)
    return kc_launched(L, cuda_copy_strided(s->esz, &s->c, L->in[0].ptr, L->out[0].ptr, ctx->stream));
  return kc_copy(ctx, L->out[0].ptr, L->in[0].ptr, kc_bytes(&L->out[0]));
}

const cuda_op_impl cuda_k_copy = {copy_init, copy_enqueue, kc_release};

/* ---- unary ---- */

typedef struct unary_state {
  cuda_unary_op op;
  float alpha, beta;
} unary_state;

static bool unary_op_of(int op, cuda_unary_op *u)
{
  switch (op) {
  case ONYX_OP_RELU: *u = CUDA_UN_RELU; return true;
  case ONYX_OP_LEAKY_RELU: *u = CUDA_UN_LEAKY_RELU; return true;
  case ONYX_OP_SIGMOID: *u = CUDA_UN_SIGMOID; return true;
  case ONYX_OP_TANH: *u = CUDA_UN_TANH; return true;
  case ONYX_OP_HARD_SIGMOID: *u = CUDA_UN_HARD_SIGMOID; return true;
  case ONYX_OP_HARD_SWISH: *u = CUDA_UN_HARD_SWISH; return true;
  case ONYX_OP_ELU: *u = CUDA_UN_ELU; return true;
  case ONYX_OP_SOFTPLUS: *u = CUDA_UN_SOFTPLUS; return true;
  case ONYX_OP_EXP: *u = CUDA_UN_EXP; return true;
  case ONYX_OP_LOG: *u = CUDA_UN_LOG; return true;
  case ONYX_OP_SQRT: *u = CUDA_UN_SQRT; return true;
  case ONYX_OP_RECIPROCAL: *u = CUDA_UN_RECIPROCAL; return true;
  case ONYX_OP_NEG: *u = CUDA_UN_NEG; return true;
  case ONYX_OP_ABS: *u = CUDA_UN_ABS; return true;
  case ONYX_OP_ERF: *u = CUDA_UN_ERF; return true;
  default: return false;
  }
}

static onyx_status unary_init(cuda_ctx *ctx, cuda_layer *L)
{
  const ir_node *n = L->node;
  onyx_dtype dt = L->in[0].dtype;
  unary_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  if (!unary_op_of(n->op, &s->op)) return cuda_layer_error(L, ONYX_ERR_INTERNAL, "not a unary op");
  bool ok = kc_is_float(dt) || (s->op == CUDA_UN_ABS && (kc_is_sint(dt) || kc_is_uint(dt))) ||
            ((s->op == CUDA_UN_RELU || s->op == CUDA_UN_NEG) && kc_is_sint(dt));
  if (!ok) return kc_bad_dtype(L, "input", dt);
  ONYX_TRY(kc_need_same_layout(L));
  const activation_params *p = n->params;
  if (p && (n->op == ONYX_OP_LEAKY_RELU || n->op == ONYX_OP_ELU || n->op == ONYX_OP_HARD_SIGMOID)) {
    s->alpha = p->alpha;
    s->beta = p->beta;
  }
  snprintf(L->kernel, sizeof(L->kernel), "onyx:unary_%s", n->op_type);
  return ONYX_OK;
}

static onyx_status unary_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const unary_state *s = L->state;
  return kc_launched(L, cuda_ew_unary(s->op, L->in[0].dtype, s->alpha, s->beta, L->in[0].ptr, L->out[0].ptr,
                                      cuda_tensor_numel(&L->out[0]), ctx->stream));
}

const cuda_op_impl cuda_k_unary = {unary_init, unary_enqueue, kc_release};

/* ---- Clip: bounds from attributes (opset < 11) or optional scalar inputs ---- */

static onyx_status clip_init(cuda_ctx *ctx, cuda_layer *L)
{
  onyx_dtype dt = L->in[0].dtype;
  if (!kc_is_numeric(dt)) return kc_bad_dtype(L, "input", dt);
  ONYX_TRY(kc_need_same_layout(L));
  for (int k = 1; k < L->n_in && k < 3; k++) {
    if (!L->in[k].ptr) continue;
    if (L->in[k].dtype != dt) return kc_bad_dtype(L, k == 1 ? "min" : "max", L->in[k].dtype);
    if (cuda_tensor_numel(&L->in[k]) != 1)
      return cuda_layer_error(L, ONYX_ERR_SHAPE, "input %d must hold one value, it holds %lld", k,
                              (long long)cuda_tensor_numel(&L->in[k]));
  }
  snprintf(L->kernel, sizeof(L->kernel), "onyx:clip");
  return ONYX_OK;
}

static onyx_status clip_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const clip_params *p = L->node->params;
  const void *lo = L->n_in > 1 ? L->in[1].ptr : NULL, *hi = L->n_in > 2 ? L->in[2].ptr : NULL;
  return kc_launched(L, cuda_ew_clip(L->in[0].dtype, L->in[0].ptr, L->out[0].ptr,
                                     cuda_tensor_numel(&L->out[0]), lo, hi, p && p->has_lo, p ? p->lo : 0,
                                     p && p->has_hi, p ? p->hi : 0, ctx->stream));
}

const cuda_op_impl cuda_k_clip = {clip_init, clip_enqueue, kc_release};

/* ---- binary: Add, Sub, Mul, Div, Equal, PRelu ---- */

typedef struct binary_state {
  cuda_binary_op op;
  cuda_bcast b;
} binary_state;

/* The broadcast of input 0 and input 1's effective shape (legacy axis, PRelu slope: trailing
 * 1s appended) to the output, every tensor through its own strides. */
static onyx_status binary_bcast(const cuda_layer *L, cuda_bcast *b)
{
  int nb;
  int64_t bd[ONYX_MAX_DIMS], bs[ONYX_MAX_DIMS];
  const ir_tensor *a = kc_in(L, 0);
  const cuda_tensor *b1 = &L->in[1];
  ONYX_TRY(binary_effective_shape(L->node, a, kc_in(L, 1), &nb, bd));
  for (int d = 0; d < nb; d++) bs[d] = d < b1->ndim ? b1->strides[d] : 1; /* appended dims have extent 1 */
  const int nd[2] = {L->in[0].ndim, nb};
  const int64_t *dims[2] = {L->in[0].dims, bd}, *strides[2] = {L->in[0].strides, bs};
  kc_bcast_plan(b, &L->out[0], 2, nd, dims, strides);
  return ONYX_OK;
}

static onyx_status binary_init(cuda_ctx *ctx, cuda_layer *L)
{
  const ir_node *n = L->node;
  onyx_dtype dt = L->in[0].dtype;
  binary_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  switch (n->op) {
  case ONYX_OP_ADD: s->op = CUDA_BIN_ADD; break;
  case ONYX_OP_SUB: s->op = CUDA_BIN_SUB; break;
  case ONYX_OP_MUL: s->op = CUDA_BIN_MUL; break;
  case ONYX_OP_DIV: s->op = CUDA_BIN_DIV; break;
  case ONYX_OP_EQUAL: s->op = CUDA_BIN_EQUAL; break;
  case ONYX_OP_PRELU: s->op = CUDA_BIN_PRELU; break;
  default: return cuda_layer_error(L, ONYX_ERR_INTERNAL, "not a binary op");
  }
  if (!kc_is_numeric(dt) && !(s->op == CUDA_BIN_EQUAL && dt == ONYX_DTYPE_BOOL))
    return kc_bad_dtype(L, "input", dt);
  if (L->in[1].dtype != dt) return kc_bad_dtype(L, "input 1", L->in[1].dtype);
  ONYX_TRY(binary_bcast(L, &s->b));
  snprintf(L->kernel, sizeof(L->kernel), "onyx:binary_%s%s", n->op_type, s->b.flat ? "_flat" : "");
  return ONYX_OK;
}

static onyx_status binary_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const binary_state *s = L->state;
  return kc_launched(L, cuda_ew_binary(s->op, L->in[0].dtype, &s->b, L->in[0].ptr, L->in[1].ptr,
                                       L->out[0].ptr, ctx->stream));
}

const cuda_op_impl cuda_k_binary = {binary_init, binary_enqueue, kc_release};

/* ---- Pow: an exponent of another type is first widened to double in the workspace ---- */

typedef struct pow_state {
  bool widen;
  cuda_bcast b;
} pow_state;

static onyx_status pow_init(cuda_ctx *ctx, cuda_layer *L)
{
  onyx_dtype base = L->in[0].dtype, ex = L->in[1].dtype;
  pow_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  if (!kc_is_numeric(base)) return kc_bad_dtype(L, "base", base);
  if (!kc_is_numeric(ex)) return kc_bad_dtype(L, "exponent", ex);
  s->widen = ex != base && ex != ONYX_DTYPE_DOUBLE;
  if (s->widen) L->workspace = (size_t)cuda_tensor_numel(&L->in[1]) * sizeof(double);
  ONYX_TRY(binary_bcast(L, &s->b));
  snprintf(L->kernel, sizeof(L->kernel), "onyx:pow");
  return ONYX_OK;
}

static onyx_status pow_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const pow_state *s = L->state;
  const void *e = L->in[1].ptr;
  onyx_dtype ex = L->in[1].dtype;
  if (s->widen) {
    ONYX_TRY(kc_launched(L, cuda_ew_cast(ex, ONYX_DTYPE_DOUBLE, e, ctx->workspace,
                                         cuda_tensor_numel(&L->in[1]), ctx->stream)));
    e = ctx->workspace;
    ex = ONYX_DTYPE_DOUBLE;
  }
  return kc_launched(L, cuda_ew_pow(L->in[0].dtype, ex, &s->b, L->in[0].ptr, e, L->out[0].ptr, ctx->stream));
}

const cuda_op_impl cuda_k_pow = {pow_init, pow_enqueue, kc_release};

/* ---- Max, Min, Sum: folded pairwise into the output (Y = in0 op in1, Y = Y op in2, ...) ---- */

typedef struct variadic_state {
  cuda_binary_op op;
  int steps;
  cuda_bcast b[]; /* steps of them */
} variadic_state;

static onyx_status variadic_init(cuda_ctx *ctx, cuda_layer *L)
{
  const ir_node *n = L->node;
  onyx_dtype dt = L->out[0].dtype;
  int steps = L->n_in - 1;
  variadic_state *s = kc_state(L, sizeof(*s) + (size_t)(steps > 0 ? steps : 0) * sizeof(cuda_bcast));
  if (!s) return ONYX_ERR_NO_MEMORY;
  s->op = n->op == ONYX_OP_MAX ? CUDA_BIN_MAX : n->op == ONYX_OP_MIN ? CUDA_BIN_MIN : CUDA_BIN_ADD;
  s->steps = steps > 0 ? steps : 0;
  if (!kc_is_numeric(dt)) return kc_bad_dtype(L, "input", dt);
  if (s->steps == 0) ONYX_TRY(kc_need_same_layout(L));
  const cuda_tensor *y = &L->out[0];
  for (int k = 1; k < L->n_in; k++) {
    const cuda_tensor *a = k == 1 ? &L->in[0] : y, *b = &L->in[k];
    if (!b->ptr || b->dtype != dt) return kc_bad_dtype(L, "input", b->dtype);
    const int nd[2] = {a->ndim, b->ndim};
    const int64_t *dims[2] = {a->dims, b->dims}, *strides[2] = {a->strides, b->strides};
    kc_bcast_plan(&s->b[k - 1], y, 2, nd, dims, strides);
  }
  snprintf(L->kernel, sizeof(L->kernel), "onyx:variadic_%s", n->op_type);
  return ONYX_OK;
}

static onyx_status variadic_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const variadic_state *s = L->state;
  if (s->steps == 0) return kc_copy(ctx, L->out[0].ptr, L->in[0].ptr, kc_bytes(&L->out[0])); /* same layout */
  for (int k = 1; k <= s->steps; k++) {
    const void *a = k == 1 ? L->in[0].ptr : L->out[0].ptr;
    ONYX_TRY(kc_launched(L, cuda_ew_binary(s->op, L->out[0].dtype, &s->b[k - 1], a, L->in[k].ptr,
                                           L->out[0].ptr, ctx->stream)));
  }
  return ONYX_OK;
}

const cuda_op_impl cuda_k_variadic = {variadic_init, variadic_enqueue, kc_release};

/* ---- Where: selects whole elements, by element size ---- */

typedef struct where_state {
  size_t esz;
  cuda_bcast b;
} where_state;

static onyx_status where_init(cuda_ctx *ctx, cuda_layer *L)
{
  where_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  if (L->in[0].dtype != ONYX_DTYPE_BOOL) return kc_bad_dtype(L, "condition", L->in[0].dtype);
  ONYX_TRY(kc_elem_size(L, L->out[0].dtype, &s->esz));
  const int nd[3] = {L->in[0].ndim, L->in[1].ndim, L->in[2].ndim};
  const int64_t *dims[3] = {L->in[0].dims, L->in[1].dims, L->in[2].dims};
  const int64_t *strides[3] = {L->in[0].strides, L->in[1].strides, L->in[2].strides};
  kc_bcast_plan(&s->b, &L->out[0], 3, nd, dims, strides);
  snprintf(L->kernel, sizeof(L->kernel), "onyx:where");
  return ONYX_OK;
}

static onyx_status where_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const where_state *s = L->state;
  return kc_launched(
      L, cuda_ew_where(s->esz, &s->b, L->in[0].ptr, L->in[1].ptr, L->in[2].ptr, L->out[0].ptr, ctx->stream));
}

const cuda_op_impl cuda_k_where = {where_init, where_enqueue, kc_release};

/* ---- Cast: flat when input and output share a layout, else through a strided copy's offsets ---- */

typedef struct cast_state {
  bool strided;
  bool to_nhwc; /* input_to_nhwc(): its own kernel */
  size_t esz;
  cuda_strided c;
} cast_state;

static onyx_status cast_init(cuda_ctx *ctx, cuda_layer *L)
{
  onyx_dtype from = L->in[0].dtype, to = L->out[0].dtype;
  cast_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  if (!kc_is_numeric(from) && from != ONYX_DTYPE_BOOL) return kc_bad_dtype(L, "input", from);
  if (!kc_is_numeric(to) && to != ONYX_DTYPE_BOOL) return kc_bad_dtype(L, "output", to);
  const cuda_tensor *x = &L->in[0], *y = &L->out[0];
  s->strided = !kc_same_layout(x, y);
  if (s->strided) {
    if (x->ndim != y->ndim || memcmp(x->dims, y->dims, (size_t)x->ndim * sizeof(int64_t)) != 0)
      return cuda_layer_error(L, ONYX_ERR_INTERNAL, "input and output shapes differ");
    ONYX_TRY(kc_elem_size(L, from, &s->esz));
    kc_strided_plan(&s->c, y->ndim, y->dims, x->strides, 0, y->strides, 0);
    s->to_nhwc = input_to_nhwc(x, y);
  }
  snprintf(L->kernel, sizeof(L->kernel), "%s%s", from == to && !s->strided ? "cudaMemcpyAsync" : "onyx:cast",
           !s->strided ? "" : cuda_tensor_channels_last(y) ? "_to_nhwc" : "_to_nchw");
  return ONYX_OK;
}

static onyx_status cast_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const cast_state *s = L->state;
  onyx_dtype from = L->in[0].dtype, to = L->out[0].dtype;
  if (s->to_nhwc) return enqueue_to_nhwc(ctx, L);
  if (s->strided) {
    if (from == to)
      return kc_launched(L, cuda_copy_strided(s->esz, &s->c, L->in[0].ptr, L->out[0].ptr, ctx->stream));
    return kc_launched(L, cuda_ew_cast_strided(from, to, &s->c, L->in[0].ptr, L->out[0].ptr, ctx->stream));
  }
  if (from == to) return kc_copy(ctx, L->out[0].ptr, L->in[0].ptr, kc_bytes(&L->out[0]));
  return kc_launched(
      L, cuda_ew_cast(from, to, L->in[0].ptr, L->out[0].ptr, cuda_tensor_numel(&L->out[0]), ctx->stream));
}

const cuda_op_impl cuda_k_cast = {cast_init, cast_enqueue, kc_release};

/* ---- Dropout (inference): Y = X, mask all ones ---- */

typedef struct dropout_state {
  size_t mask_esz;
  uint64_t one; /* the bits of 1 in the mask's dtype */
} dropout_state;

/* A constant scalar input's value; false when it is not a constant. */
static bool const_scalar(const ir_tensor *t, double *v)
{
  if (!t->is_const || !t->data) return false;
  if (ir_tensor_numel(t) > 0) *v = ir_tensor_get_f64(t, 0);
  return true;
}

static onyx_status dropout_init(cuda_ctx *ctx, cuda_layer *L)
{
  const ir_node *n = L->node;
  const dropout_params *p = n->params;
  dropout_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  double ratio = p ? p->ratio : 0.5, training = 0;
  const ir_tensor *rt = n->opset >= 12 ? kc_in(L, 1) : NULL, *tt = n->opset >= 12 ? kc_in(L, 2) : NULL;
  if (tt && !const_scalar(tt, &training))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED,
                            "training_mode input '%s' must be a constant on CUDA (training is not supported)",
                            tt->name);
  if (rt && training != 0 && !const_scalar(rt, &ratio))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "ratio input '%s' must be a constant in training mode",
                            rt->name);
  if (training != 0 && ratio > 0)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED,
                            "training-mode dropout (ratio %g) is random; onyx runs inference only", ratio);
  if (L->out[0].ptr && !kc_same_layout(&L->out[0], &L->in[0]))
    return cuda_layer_error(L, ONYX_ERR_INTERNAL, "output is not laid out as the input (layout pass)");
  if (L->n_out > 1 && L->out[1].ptr) { /* all ones: the mask's layout does not matter */
    switch (L->out[1].dtype) {
    case ONYX_DTYPE_BOOL: s->one = 1; break;
    case ONYX_DTYPE_FLOAT: s->one = 0x3f800000u; break;
    case ONYX_DTYPE_DOUBLE: s->one = 0x3ff0000000000000ull; break;
    case ONYX_DTYPE_FLOAT16: s->one = 0x3c00; break;
    default: return kc_bad_dtype(L, "mask", L->out[1].dtype);
    }
    s->mask_esz = onyx_dtype_size(L->out[1].dtype);
  }
  snprintf(L->kernel, sizeof(L->kernel), "onyx:dropout");
  return ONYX_OK;
}

static onyx_status dropout_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const dropout_state *s = L->state;
  ONYX_TRY(kc_copy(ctx, L->out[0].ptr, L->in[0].ptr, kc_bytes(&L->out[0])));
  if (!s->mask_esz) return ONYX_OK;
  return kc_launched(
      L, cuda_ew_fill(s->mask_esz, s->one, L->out[1].ptr, cuda_tensor_numel(&L->out[1]), ctx->stream));
}

const cuda_op_impl cuda_k_dropout = {dropout_init, dropout_enqueue, kc_release};
