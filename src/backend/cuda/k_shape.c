/* CUDA layers for data movement (kernels/copy.cu): Transpose, Concat, Split,
 * Slice and Expand as strided gather copies, Pad, Gather and ConstantOfShape.
 * Flatten/Reshape/Squeeze/Unsqueeze are plain copies (cuda_k_copy).  The
 * geometry comes from the same resolvers the CPU kernels use (ops/shape.h). */
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/k_common.h"
#include "backend/cuda/ops_kernels.h"
#include "common/util.h"
#include "ops/shape.h"

/* Copies planned at init, run in order: one per input (Concat) or output (Split), or one. */
typedef struct strided_state {
  size_t esz;
  int count;
  struct {
    int in, out; /* tensor slots of the layer */
    cuda_strided c;
  } copy[];
} strided_state;

static strided_state *strided_alloc(cuda_layer *L, int count, onyx_dtype dt, onyx_status *st)
{
  strided_state *s = kc_state(L, sizeof(*s) + (size_t)(count > 0 ? count : 0) * sizeof(s->copy[0]));
  if (!s) {
    *st = ONYX_ERR_NO_MEMORY;
    return NULL;
  }
  *st = kc_elem_size(L, dt, &s->esz);
  return *st == ONYX_OK ? s : NULL;
}

static onyx_status strided_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const strided_state *s = L->state;
  for (int i = 0; i < s->count; i++) {
    const void *src = L->in[s->copy[i].in].ptr;
    void *dst = L->out[s->copy[i].out].ptr;
    ONYX_TRY(kc_launched(L, cuda_copy_strided(s->esz, &s->copy[i].c, src, dst, ctx->stream)));
  }
  return ONYX_OK;
}

/* One copy from input 0 to output 0: the view (dims, src strides, base) written into the
 * output through its strides (row-major or channels-last). */
static onyx_status single_copy(cuda_layer *L, const char *name, const int64_t *dims, const int64_t *src_str,
                               int64_t base)
{
  onyx_status st;
  strided_state *s = strided_alloc(L, 1, L->in[0].dtype, &st);
  if (!s) return st;
  const cuda_tensor *y = &L->out[0];
  s->count = y->ptr ? 1 : 0;
  kc_strided_plan(&s->copy[0].c, y->ndim, dims, src_str, base, y->strides, 0);
  snprintf(L->kernel, sizeof(L->kernel), "onyx:strided_copy_%s", name);
  return ONYX_OK;
}

/* ---- Transpose ---- */

static onyx_status transpose_init(cuda_ctx *ctx, cuda_layer *L)
{
  const ir_tensor *x = kc_in(L, 0);
  const int64_t *xs = L->in[0].strides;
  int perm[ONYX_MAX_DIMS];
  int64_t s[ONYX_MAX_DIMS];
  ONYX_TRY(transpose_resolve(L->node, x, perm));
  for (int d = 0; d < x->ndim; d++) s[d] = xs[perm[d]];
  return single_copy(L, "transpose", L->out[0].dims, s, 0);
}

const cuda_op_impl cuda_k_transpose = {transpose_init, strided_enqueue, kc_release};

/* ---- Slice ---- */

static onyx_status slice_init(cuda_ctx *ctx, cuda_layer *L)
{
  const ir_tensor *x = kc_in(L, 0);
  int64_t start[ONYX_MAX_DIMS], step[ONYX_MAX_DIMS], count[ONYX_MAX_DIMS], xs[ONYX_MAX_DIMS];
  ONYX_TRY(slice_resolve(L->g, L->node, x, start, step, count));
  memcpy(xs, L->in[0].strides, sizeof(xs));
  int64_t base = 0;
  for (int d = 0; d < x->ndim; d++) { /* an empty slice copies nothing: its base does not matter */
    base += start[d] * xs[d];
    xs[d] *= step[d];
  }
  return single_copy(L, "slice", count, xs, base);
}

const cuda_op_impl cuda_k_slice = {slice_init, strided_enqueue, kc_release};

/* ---- Expand ---- */

static onyx_status expand_init(cuda_ctx *ctx, cuda_layer *L)
{
  const cuda_tensor *x = &L->in[0], *y = &L->out[0];
  int64_t s[ONYX_MAX_DIMS];
  for (int d = 0; d < y->ndim; d++) { /* x's strides, right-aligned, 0 where it broadcasts */
    int j = d - (y->ndim - x->ndim);
    s[d] = (j < 0 || (x->dims[j] == 1 && y->dims[d] != 1)) ? 0 : x->strides[j];
  }
  return single_copy(L, "expand", y->dims, s, 0);
}

const cuda_op_impl cuda_k_expand = {expand_init, strided_enqueue, kc_release};

/* ---- Concat: one copy per input into its slice of the output ---- */

/* Whether input x already is its slice of y (at element index `at` of the axis): the memory plan put it
 * there (plan.c, concat without copies), so its producer wrote the output directly. */
static bool in_place(const cuda_tensor *x, const cuda_tensor *y, int axis, int64_t at, size_t esz)
{
  if (cuda_tensor_channels_last(x) != cuda_tensor_channels_last(y) ||
      (char *)x->ptr != (char *)y->ptr + (size_t)(at * y->strides[axis]) * esz)
    return false;
  for (int d = 0; d < y->ndim; d++) /* one block: every dim laid out outside the axis is 1 */
    if (d != axis && y->strides[d] > y->strides[axis] && y->dims[d] != 1) return false;
  return true;
}

static onyx_status concat_init(cuda_ctx *ctx, cuda_layer *L)
{
  const axis_params *p = L->node->params;
  const cuda_tensor *y = &L->out[0];
  onyx_status st;
  int axis;
  strided_state *s = strided_alloc(L, L->n_in, y->dtype, &st);
  if (!s) return st;
  snprintf(L->kernel, sizeof(L->kernel), "onyx:strided_copy_concat");
  if (!y->ptr) return ONYX_OK;
  ONYX_TRY(op_axis(L->node, p->axis, y->ndim, &axis));
  const int64_t *ys = y->strides; /* each input and the output through their own strides */
  int64_t at = 0;
  int n_in_place = 0;
  for (int i = 0; i < L->n_in; i++) {
    const cuda_tensor *x = &L->in[i];
    if (!x->ptr || x->dtype != y->dtype || x->ndim != y->ndim)
      return cuda_layer_error(L, ONYX_ERR_SHAPE, "input %d does not fit the output", i);
    if (cuda_tensor_numel(x) > 0 && in_place(x, y, axis, at, s->esz)) {
      n_in_place++;
    } else if (cuda_tensor_numel(x) > 0) {
      s->copy[s->count].in = i;
      s->copy[s->count].out = 0;
      kc_strided_plan(&s->copy[s->count].c, x->ndim, x->dims, x->strides, 0, ys, at * ys[axis]);
      s->count++;
    }
    at += x->dims[axis];
  }
  if (n_in_place)
    snprintf(L->kernel, sizeof(L->kernel), "onyx:concat(%d of %d in place)", n_in_place, L->n_in);
  return ONYX_OK;
}

const cuda_op_impl cuda_k_concat = {concat_init, strided_enqueue, kc_release};

/* ---- Split: one copy per output from its slice of the input ---- */

static onyx_status split_init(cuda_ctx *ctx, cuda_layer *L)
{
  const ir_tensor *x = kc_in(L, 0);
  onyx_status st;
  int axis;
  strided_state *s = strided_alloc(L, L->n_out, L->in[0].dtype, &st);
  if (!s) return st;
  int64_t *sizes = onyx_malloc((size_t)L->n_out * sizeof(*sizes));
  if (!sizes) return ONYX_ERR_NO_MEMORY;
  st = split_resolve(L->g, L->node, x, &axis, sizes);
  if (st == ONYX_OK) {
    const int64_t *xs = L->in[0].strides; /* the input and each output through their own strides */
    int64_t dims[ONYX_MAX_DIMS], at = 0;
    memcpy(dims, x->dims, sizeof(dims));
    for (int i = 0; i < L->n_out; i++) {
      const cuda_tensor *y = &L->out[i];
      dims[axis] = sizes[i];
      if (y->ptr && cuda_tensor_numel(y) > 0) {
        s->copy[s->count].in = 0;
        s->copy[s->count].out = i;
        kc_strided_plan(&s->copy[s->count].c, x->ndim, dims, xs, at * xs[axis], y->strides, 0);
        s->count++;
      }
      at += sizes[i];
    }
  }
  free(sizes);
  snprintf(L->kernel, sizeof(L->kernel), "onyx:strided_copy_split");
  return st;
}

const cuda_op_impl cuda_k_split = {split_init, strided_enqueue, kc_release};

/* ---- Pad ---- */

typedef struct pad_state {
  size_t esz;
  cuda_pad p;
  uint64_t value;  /* the constant, when not an input */
  int value_input; /* input index of a device constant, or -1 */
} pad_state;

static onyx_status pad_init(cuda_ctx *ctx, cuda_layer *L)
{
  const pad_params *p = L->node->params;
  const ir_tensor *x = kc_in(L, 0);
  int64_t pads[2 * ONYX_MAX_DIMS];
  pad_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  ONYX_TRY(kc_elem_size(L, L->in[0].dtype, &s->esz));
  ONYX_TRY(pad_resolve(L->g, L->node, x, pads));
  int r = x->ndim, order[ONYX_MAX_DIMS];
  s->p.ndim = r;
  s->p.mode = p->mode == PAD_REFLECT ? CUDA_PAD_REFLECT
              : p->mode == PAD_EDGE  ? CUDA_PAD_EDGE
                                     : CUDA_PAD_CONSTANT;
  s->p.n = cuda_tensor_numel(&L->out[0]);
  /* the output is written densely in its memory order: the dims are listed in that order, and
   * the input is read through its own strides (the pad is separable per dim) */
  kc_phys_order(&L->out[0], order);
  for (int i = 0; i < r; i++) {
    int d = order[i];
    s->p.in[i] = x->dims[d];
    s->p.in_str[i] = L->in[0].strides[d];
    s->p.out[i] = L->out[0].dims[d];
    s->p.begin[i] = pads[d];
  }
  s->value_input = -1;
  if (p->from_attrs) {
    s->value = kc_scalar_bits(L->in[0].dtype, p->value);
  } else if (L->n_in > 2 && L->in[2].ptr && cuda_tensor_numel(&L->in[2]) > 0) {
    if (L->in[2].dtype != L->in[0].dtype) return kc_bad_dtype(L, "constant_value", L->in[2].dtype);
    s->value_input = 2;
  }
  if (!L->out[0].ptr) s->p.n = 0;
  snprintf(L->kernel, sizeof(L->kernel), "onyx:pad");
  return ONYX_OK;
}

static onyx_status pad_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const pad_state *s = L->state;
  const void *vdev = s->value_input >= 0 ? L->in[s->value_input].ptr : NULL;
  return kc_launched(L,
                     cuda_copy_pad(s->esz, &s->p, L->in[0].ptr, L->out[0].ptr, vdev, s->value, ctx->stream));
}

const cuda_op_impl cuda_k_pad = {pad_init, pad_enqueue, kc_release};

/* ---- Gather ---- */

typedef struct gather_state {
  size_t esz;
  int64_t outer, dim, cnt, inner;
} gather_state;

static onyx_status gather_init(cuda_ctx *ctx, cuda_layer *L)
{
  const axis_params *p = L->node->params;
  const ir_tensor *x = kc_in(L, 0), *ind = kc_in(L, 1);
  int axis;
  gather_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  ONYX_TRY(kc_elem_size(L, L->in[0].dtype, &s->esz));
  if (ind->dtype != ONYX_DTYPE_INT64 && ind->dtype != ONYX_DTYPE_INT32)
    return kc_bad_dtype(L, "indices", ind->dtype);
  ONYX_TRY(op_axis(L->node, p->axis, x->ndim, &axis));
  s->outer = onyx_numel(axis, x->dims);
  s->dim = x->dims[axis];
  s->inner = onyx_numel(x->ndim - axis - 1, x->dims + axis + 1);
  s->cnt = ir_tensor_numel(ind);
  if (ind->is_const &&
      ind->data) /* constant indices are checked now (run-time ones out of range give zeros) */
    for (int64_t j = 0; j < s->cnt; j++) {
      int64_t k = ir_tensor_get_i64(ind, j);
      if (k < -s->dim || k >= s->dim)
        return cuda_layer_error(L, ONYX_ERR_INVALID_ARG,
                                "index %lld is out of range for axis %d of size %lld", (long long)k, axis,
                                (long long)s->dim);
    }
  if (!L->out[0].ptr) s->cnt = 0;
  snprintf(L->kernel, sizeof(L->kernel), "onyx:gather");
  return ONYX_OK;
}

static onyx_status gather_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const gather_state *s = L->state;
  return kc_launched(L, cuda_copy_gather(s->esz, L->in[1].dtype == ONYX_DTYPE_INT64, s->outer, s->dim, s->cnt,
                                         s->inner, L->in[0].ptr, L->in[1].ptr, L->out[0].ptr, ctx->stream));
}

const cuda_op_impl cuda_k_gather = {gather_init, gather_enqueue, kc_release};

/* ---- ConstantOfShape (when not folded) ---- */

typedef struct fill_state {
  size_t esz;
  uint64_t value;
} fill_state;

static onyx_status constant_of_shape_init(cuda_ctx *ctx, cuda_layer *L)
{
  const constant_of_shape_params *p = L->node->params;
  fill_state *s = kc_state(L, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  ONYX_TRY(kc_elem_size(L, L->out[0].dtype, &s->esz));
  memcpy(&s->value, p->value, s->esz); /* little-endian: the element's bytes are the low bytes */
  snprintf(L->kernel, sizeof(L->kernel), "onyx:fill");
  return ONYX_OK;
}

static onyx_status constant_of_shape_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const fill_state *s = L->state;
  if (!L->out[0].ptr) return ONYX_OK;
  return kc_launched(
      L, cuda_ew_fill(s->esz, s->value, L->out[0].ptr, cuda_tensor_numel(&L->out[0]), ctx->stream));
}

const cuda_op_impl cuda_k_constant_of_shape = {constant_of_shape_init, constant_of_shape_enqueue, kc_release};
