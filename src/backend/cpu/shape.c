/* CPU kernels for shape and data-movement ops.  They move elements by size
 * only, so every dtype (float, int64 shape data, bool, fp16...) works. */
#include <string.h>

#include "backend/cpu/cpu.h"
#include "common/util.h"
#include "ops/shape.h"

/* Constant's value is bound by shape inference; nothing to compute. */
onyx_status cpu_constant(cpu_ctx *ctx, const ir_graph *g, const ir_node *n) { return ONYX_OK; }

/* Contiguous element strides of a shape. */
static void contiguous_strides(int r, const int64_t *dims, int64_t *strides)
{
  int64_t s = 1;
  for (int d = r - 1; d >= 0; d--) {
    strides[d] = s;
    s *= dims[d];
  }
}

#define STRIDED_ROW(T)                                          \
  do {                                                          \
    const T *s_ = (const T *)src + off;                         \
    T *d_ = (T *)dst + o;                                       \
    for (int64_t j = 0; j < inner; j++) d_[j] = s_[j * st];     \
  } while (0)

/* Writes the view of src with shape dims and element strides (may be negative
 * or 0) contiguously into dst. */
static void copy_strided(size_t esz, int r, const int64_t *dims, const void *src, int64_t base,
                         const int64_t *strides, void *dst)
{
  int64_t total = onyx_numel(r, dims);
  if (total <= 0) return;
  int64_t inner = r ? dims[r - 1] : 1, st = r ? strides[r - 1] : 0;
  int64_t idx[ONYX_MAX_DIMS] = {0}, off = base;
  for (int64_t o = 0; o < total; o += inner) {
    switch (esz) {
    case 1: STRIDED_ROW(uint8_t); break;
    case 2: STRIDED_ROW(uint16_t); break;
    case 4: STRIDED_ROW(uint32_t); break;
    case 8: STRIDED_ROW(uint64_t); break;
    default:
      for (int64_t j = 0; j < inner; j++)
        memcpy((char *)dst + (size_t)(o + j) * esz, (const char *)src + (size_t)(off + j * st) * esz, esz);
    }
    for (int d = r - 2; d >= 0; d--) { /* advance the outer index */
      off += strides[d];
      if (++idx[d] < dims[d]) break;
      off -= strides[d] * dims[d];
      idx[d] = 0;
    }
  }
}

/* Flatten, Reshape, Squeeze, Unsqueeze: same elements, new shape. */
onyx_status cpu_reshape_copy(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  if (!y) return ONYX_OK;
  size_t bytes = ir_tensor_bytes(x);
  if (bytes != ir_tensor_bytes(y)) return op_error(n, ONYX_ERR_INTERNAL, "input and output sizes differ");
  if (bytes && y->data != x->data) memcpy(y->data, x->data, bytes);
  return ONYX_OK;
}

onyx_status cpu_shape(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  ir_tensor *y = CPU_OUT(g, n, 0);
  return y ? shape_op_values(n, CPU_IN(g, n, 0), y->data) : ONYX_OK;
}

onyx_status cpu_transpose(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  size_t esz;
  int perm[ONYX_MAX_DIMS];
  int64_t xs[ONYX_MAX_DIMS], s[ONYX_MAX_DIMS];
  if (!y) return ONYX_OK;
  ONYX_TRY(shape_elem_size(n, x->dtype, &esz));
  ONYX_TRY(transpose_resolve(n, x, perm));
  contiguous_strides(x->ndim, x->dims, xs);
  for (int d = 0; d < x->ndim; d++) s[d] = xs[perm[d]];
  copy_strided(esz, y->ndim, y->dims, x->data, 0, s, y->data);
  return ONYX_OK;
}

/* Elements before axis (outer) and after it (inner). */
static void outer_inner(const ir_tensor *x, int axis, int64_t *outer, int64_t *inner)
{
  *outer = 1;
  *inner = 1;
  for (int d = 0; d < axis; d++) *outer *= x->dims[d];
  for (int d = axis + 1; d < x->ndim; d++) *inner *= x->dims[d];
}

onyx_status cpu_concat(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const axis_params *p = n->params;
  ir_tensor *y = CPU_OUT(g, n, 0);
  size_t esz;
  int axis;
  int64_t outer, inner;
  if (!y) return ONYX_OK;
  ONYX_TRY(shape_elem_size(n, y->dtype, &esz));
  ONYX_TRY(op_axis(n, p->axis, y->ndim, &axis));
  outer_inner(y, axis, &outer, &inner);
  char *dst = y->data;
  for (int64_t o = 0; o < outer; o++)
    for (int i = 0; i < n->n_in; i++) {
      const ir_tensor *x = CPU_IN(g, n, i);
      size_t chunk = (size_t)(x->dims[axis] * inner) * esz;
      if (!chunk) continue;
      memcpy(dst, (const char *)x->data + (size_t)o * chunk, chunk);
      dst += chunk;
    }
  return ONYX_OK;
}

onyx_status cpu_split(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *x = CPU_IN(g, n, 0);
  size_t esz;
  int axis;
  int64_t outer, inner;
  ONYX_TRY(shape_elem_size(n, x->dtype, &esz));
  int64_t *sizes = cpu_scratch(ctx, (size_t)n->n_out * sizeof(*sizes));
  if (!sizes) return ONYX_ERR_NO_MEMORY;
  ONYX_TRY(split_resolve(g, n, x, &axis, sizes));
  outer_inner(x, axis, &outer, &inner);
  size_t row = (size_t)(x->dims[axis] * inner) * esz, at = 0;
  for (int i = 0; i < n->n_out; i++) {
    ir_tensor *y = CPU_OUT(g, n, i);
    size_t chunk = (size_t)(sizes[i] * inner) * esz;
    if (y && chunk)
      for (int64_t o = 0; o < outer; o++)
        memcpy((char *)y->data + (size_t)o * chunk, (const char *)x->data + (size_t)o * row + at, chunk);
    at += chunk;
  }
  return ONYX_OK;
}

onyx_status cpu_slice(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  size_t esz;
  int64_t start[ONYX_MAX_DIMS], step[ONYX_MAX_DIMS], count[ONYX_MAX_DIMS], xs[ONYX_MAX_DIMS];
  if (!y) return ONYX_OK;
  ONYX_TRY(shape_elem_size(n, x->dtype, &esz));
  ONYX_TRY(slice_resolve(g, n, x, start, step, count));
  contiguous_strides(x->ndim, x->dims, xs);
  int64_t base = 0;
  for (int d = 0; d < x->ndim; d++) {
    if (count[d] == 0) return ONYX_OK;
    base += start[d] * xs[d];
    xs[d] *= step[d];
  }
  copy_strided(esz, x->ndim, count, x->data, base, xs, y->data);
  return ONYX_OK;
}

/* Stores v converted to dtype dt at dst (Pad's opset < 11 float 'value'). */
static void store_scalar(onyx_dtype dt, double v, void *dst)
{
  switch (dt) {
  case ONYX_DTYPE_FLOAT: *(float *)dst = (float)v; break;
  case ONYX_DTYPE_DOUBLE: *(double *)dst = v; break;
  case ONYX_DTYPE_FLOAT16: *(uint16_t *)dst = onyx_float_to_half((float)v); break;
  case ONYX_DTYPE_BOOL: *(uint8_t *)dst = v != 0; break;
  case ONYX_DTYPE_UINT8: *(uint8_t *)dst = (uint8_t)v; break;
  case ONYX_DTYPE_INT8: *(int8_t *)dst = (int8_t)v; break;
  case ONYX_DTYPE_UINT16: *(uint16_t *)dst = (uint16_t)v; break;
  case ONYX_DTYPE_INT16: *(int16_t *)dst = (int16_t)v; break;
  case ONYX_DTYPE_UINT32: *(uint32_t *)dst = (uint32_t)v; break;
  case ONYX_DTYPE_INT32: *(int32_t *)dst = (int32_t)v; break;
  case ONYX_DTYPE_UINT64: *(uint64_t *)dst = (uint64_t)v; break;
  case ONYX_DTYPE_INT64: *(int64_t *)dst = (int64_t)v; break;
  default: break;
  }
}

/* Input index for output index i along an axis of size dim with begin pad b;
 * -1 means the constant value. */
static int64_t pad_source(pad_mode mode, int64_t i, int64_t b, int64_t dim)
{
  int64_t k = i - b;
  if (k >= 0 && k < dim) return k;
  if (mode == PAD_CONSTANT) return -1;
  if (mode == PAD_EDGE) return k < 0 ? 0 : dim - 1;
  if (dim == 1) return 0;
  int64_t period = 2 * (dim - 1); /* reflect without repeating the edge, as numpy does */
  k %= period;
  if (k < 0) k += period;
  return k < dim ? k : period - k;
}

onyx_status cpu_pad(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const pad_params *p = n->params;
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  size_t esz;
  int64_t pads[2 * ONYX_MAX_DIMS], xs[ONYX_MAX_DIMS], idx[ONYX_MAX_DIMS] = {0};
  _Alignas(8) unsigned char value[16] = {0};
  if (!y) return ONYX_OK;
  ONYX_TRY(shape_elem_size(n, x->dtype, &esz));
  ONYX_TRY(pad_resolve(g, n, x, pads));
  if (p->from_attrs) {
    store_scalar(x->dtype, p->value, value);
  } else {
    const ir_tensor *v = ir_in(g, n, 2);
    if (v && ir_tensor_numel(v) > 0) memcpy(value, v->data, esz);
  }
  int r = x->ndim;
  contiguous_strides(r, x->dims, xs);
  int64_t total = ir_tensor_numel(y);
  char *dst = y->data;
  const char *src = x->data;
  for (int64_t o = 0; o < total; o++) {
    int64_t off = 0;
    for (int d = 0; d < r && off >= 0; d++) {
      int64_t k = pad_source(p->mode, idx[d], pads[d], x->dims[d]);
      off = k < 0 ? -1 : off + k * xs[d];
    }
    memcpy(dst + (size_t)o * esz, off < 0 ? (const char *)value : src + (size_t)off * esz, esz);
    for (int d = r - 1; d >= 0; d--) {
      if (++idx[d] < y->dims[d]) break;
      idx[d] = 0;
    }
  }
  return ONYX_OK;
}

onyx_status cpu_gather(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const axis_params *p = n->params;
  const ir_tensor *x = CPU_IN(g, n, 0), *ind = CPU_IN(g, n, 1);
  ir_tensor *y = CPU_OUT(g, n, 0);
  size_t esz;
  int axis;
  int64_t outer, inner;
  if (!y) return ONYX_OK;
  ONYX_TRY(shape_elem_size(n, x->dtype, &esz));
  ONYX_TRY(op_axis(n, p->axis, x->ndim, &axis));
  outer_inner(x, axis, &outer, &inner);
  int64_t dim = x->dims[axis], cnt = ir_tensor_numel(ind);
  size_t row = (size_t)inner * esz;
  char *dst = y->data;
  for (int64_t j = 0; j < cnt; j++) { /* check every index once, before copying */
    int64_t k = ind->dtype == ONYX_DTYPE_INT64 ? ((const int64_t *)ind->data)[j] : ((const int32_t *)ind->data)[j];
    if (k < -dim || k >= dim)
      return op_error(n, ONYX_ERR_INVALID_ARG, "index %lld is out of range for axis %d of size %lld", (long long)k,
                      axis, (long long)dim);
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < cnt; j++) {
      int64_t k = ind->dtype == ONYX_DTYPE_INT64 ? ((const int64_t *)ind->data)[j] : ((const int32_t *)ind->data)[j];
      if (k < 0) k += dim;
      if (row) memcpy(dst, (const char *)x->data + (size_t)(o * dim + k) * row, row);
      dst += row;
    }
  return ONYX_OK;
}

onyx_status cpu_constant_of_shape(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const constant_of_shape_params *p = n->params;
  ir_tensor *y = CPU_OUT(g, n, 0);
  size_t esz;
  if (!y) return ONYX_OK;
  ONYX_TRY(shape_elem_size(n, y->dtype, &esz));
  int64_t total = ir_tensor_numel(y);
  for (int64_t i = 0; i < total; i++) memcpy((char *)y->data + (size_t)i * esz, p->value, esz);
  return ONYX_OK;
}

onyx_status cpu_expand(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  size_t esz;
  int64_t s[ONYX_MAX_DIMS];
  if (!y) return ONYX_OK;
  ONYX_TRY(shape_elem_size(n, x->dtype, &esz));
  cpu_broadcast_strides(y->ndim, y->dims, x->ndim, x->dims, s);
  copy_strided(esz, y->ndim, y->dims, x->data, 0, s, y->data);
  return ONYX_OK;
}
