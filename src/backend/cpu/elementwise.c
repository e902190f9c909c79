/* CPU elementwise kernels: shared machinery, and the data-movement ops
 * (Identity, Dropout, Cast, Where).  Unary ops are in elementwise_unary.c,
 * binary and variadic ones in elementwise_binary.c. */
#include "backend/cpu/elementwise.h"

#include <omp.h>
#include <string.h>

int ew_threads(const cpu_ctx *ctx, int64_t work)
{
  if (work < EW_PAR_MIN) return 1;
  int nt = ctx->num_threads > 0 ? ctx->num_threads : omp_get_max_threads();
  return nt > 0 ? nt : 1;
}

onyx_status ew_bad_dtype(const ir_node *n, onyx_dtype dt)
{
  return op_error(n, ONYX_ERR_UNSUPPORTED, "%s tensors are not supported", onyx_dtype_name(dt));
}

void ew_iter_init(ew_iter *it, int out_ndim, const int64_t *out_dims, int nin, const int *in_ndim,
                  const int64_t *const *in_dims)
{
  int64_t full[EW_MAX_IN][ONYX_MAX_DIMS];
  for (int k = 0; k < nin; k++) cpu_broadcast_strides(out_ndim, out_dims, in_ndim[k], in_dims[k], full[k]);
  it->nin = nin;
  it->ndim = 0;
  for (int d = 0; d < out_ndim; d++) {
    if (out_dims[d] == 1) continue; /* every input has extent 1 here: no effect on offsets */
    int m = it->ndim - 1;
    bool merge = m >= 0;
    for (int k = 0; merge && k < nin; k++) merge = it->strides[k][m] == full[k][d] * out_dims[d];
    if (merge) {
      it->dims[m] *= out_dims[d];
      for (int k = 0; k < nin; k++) it->strides[k][m] = full[k][d];
    } else {
      it->dims[it->ndim] = out_dims[d];
      for (int k = 0; k < nin; k++) it->strides[k][it->ndim] = full[k][d];
      it->ndim++;
    }
  }
  if (it->ndim == 0) { /* a scalar, or all ones */
    it->ndim = 1;
    it->dims[0] = 1;
    for (int k = 0; k < nin; k++) it->strides[k][0] = 0;
  }
  it->inner = it->dims[it->ndim - 1];
  it->outer = 1;
  for (int d = 0; d < it->ndim - 1; d++) it->outer *= it->dims[d];
  if (it->inner == 0) it->outer = 0;
}

/* ---- float16: widen to float, compute, narrow ---- */

static void half_to_float_n(const uint16_t *src, float *dst, int64_t cnt, int nt)
{
  EW_PARFOR(cnt, i) dst[i] = onyx_half_to_float(src[i]);
}

static void float_to_half_n(const float *src, uint16_t *dst, int64_t cnt, int nt)
{
  EW_PARFOR(cnt, i) dst[i] = onyx_float_to_half(src[i]);
}

onyx_status ew_run(cpu_ctx *ctx, const ir_graph *g, const ir_node *n, ew_impl impl)
{
  const ir_tensor *in[EW_MAX_IO];
  ir_tensor *out[EW_MAX_IO];
  ir_tensor wide[2 * EW_MAX_IO]; /* float copies of float16 tensors */
  if (n->n_in > EW_MAX_IO || n->n_out > EW_MAX_IO)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "more than %d inputs or outputs", EW_MAX_IO);
  size_t bytes = 0;
  for (int i = 0; i < n->n_in; i++) {
    in[i] = ir_in(g, n, i);
    if (in[i] && in[i]->dtype == ONYX_DTYPE_FLOAT16) bytes += (size_t)ir_tensor_numel(in[i]) * sizeof(float);
  }
  for (int i = 0; i < n->n_out; i++) {
    out[i] = ir_out(g, n, i);
    if (out[i] && out[i]->dtype == ONYX_DTYPE_FLOAT16)
      bytes += (size_t)ir_tensor_numel(out[i]) * sizeof(float);
  }
  if (bytes == 0) return impl(ctx, n, in, out);

  char *buf = onyx_malloc(bytes);
  if (!buf) return op_error(n, ONYX_ERR_NO_MEMORY, "no memory for float16 widening (%zu bytes)", bytes);
  size_t used = 0;
  for (int i = 0; i < n->n_in; i++) {
    if (!in[i] || in[i]->dtype != ONYX_DTYPE_FLOAT16) continue;
    int64_t cnt = ir_tensor_numel(in[i]);
    wide[i] = *in[i];
    wide[i].dtype = ONYX_DTYPE_FLOAT;
    wide[i].data = buf + used;
    used += (size_t)cnt * sizeof(float);
    half_to_float_n(in[i]->data, wide[i].data, cnt, ew_threads(ctx, cnt));
    in[i] = &wide[i];
  }
  ir_tensor *orig[EW_MAX_IO];
  for (int i = 0; i < n->n_out; i++) {
    orig[i] = out[i];
    if (!out[i] || out[i]->dtype != ONYX_DTYPE_FLOAT16) continue;
    ir_tensor *w = &wide[EW_MAX_IO + i];
    *w = *out[i];
    w->dtype = ONYX_DTYPE_FLOAT;
    w->data = buf + used;
    used += (size_t)ir_tensor_numel(out[i]) * sizeof(float);
    out[i] = w;
  }
  onyx_status st = impl(ctx, n, in, out);
  for (int i = 0; st == ONYX_OK && i < n->n_out; i++) {
    if (out[i] == orig[i]) continue;
    int64_t cnt = ir_tensor_numel(orig[i]);
    float_to_half_n(out[i]->data, orig[i]->data, cnt, ew_threads(ctx, cnt));
  }
  free(buf);
  return st;
}

/* ---- Identity, Dropout ---- */

onyx_status cpu_identity(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  if (y->data != x->data) memcpy(y->data, x->data, ir_tensor_bytes(x));
  return ONYX_OK;
}

/* Inference: Y = X and the mask is all ones; training mode with ratio > 0
 * would be random, which onyx refuses rather than pretend. */
onyx_status cpu_dropout(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *x = CPU_IN(g, n, 0), *ratio_t = CPU_IN(g, n, 1), *train_t = CPU_IN(g, n, 2);
  ir_tensor *y = CPU_OUT(g, n, 0), *mask = CPU_OUT(g, n, 1);
  const dropout_params *p = n->params;
  double ratio = p ? p->ratio : 0.5;
  bool training = false;
  if (n->opset >= 12) {
    if (ratio_t && ir_tensor_numel(ratio_t) > 0) ratio = ir_tensor_get_f64(ratio_t, 0);
    if (train_t && ir_tensor_numel(train_t) > 0) training = ir_tensor_get_i64(train_t, 0) != 0;
  }
  if (training && ratio > 0)
    return op_error(n, ONYX_ERR_UNSUPPORTED,
                    "training-mode dropout (ratio %g) is random; onyx runs inference only", ratio);
  if (y->data != x->data) memcpy(y->data, x->data, ir_tensor_bytes(x));
  if (!mask) return ONYX_OK;
  int64_t cnt = ir_tensor_numel(mask);
  switch (mask->dtype) {
  case ONYX_DTYPE_BOOL: memset(mask->data, 1, (size_t)cnt); break;
  case ONYX_DTYPE_FLOAT:
    for (int64_t i = 0; i < cnt; i++) ((float *)mask->data)[i] = 1.f;
    break;
  case ONYX_DTYPE_DOUBLE:
    for (int64_t i = 0; i < cnt; i++) ((double *)mask->data)[i] = 1.0;
    break;
  case ONYX_DTYPE_FLOAT16:
    for (int64_t i = 0; i < cnt; i++) ((uint16_t *)mask->data)[i] = 0x3c00; /* 1.0 */
    break;
  default: return ew_bad_dtype(n, mask->dtype);
  }
  return ONYX_OK;
}

/* ---- Cast: one loop per (source, destination) pair ---- */

/* The Cast type list: X(DTYPE, C type, load, store, ...): load(v) reads a
 * source element as a plain C value, store(T, v) converts one to T. */
#define LD_PLAIN(v) (v)
#define LD_HALF(v) onyx_half_to_float(v)
#define ST_PLAIN(T, v) ((T)(v))
#define ST_BOOL(T, v) ((T)((v) != 0))
#define ST_HALF(T, v) onyx_float_to_half((float)(v))
#define CAST_TYPES_SRC(X, ...)                                  \
  X(FLOAT, float, LD_PLAIN, ST_PLAIN, __VA_ARGS__)       \
  X(DOUBLE, double, LD_PLAIN, ST_PLAIN, __VA_ARGS__)     \
  X(FLOAT16, uint16_t, LD_HALF, ST_HALF, __VA_ARGS__)    \
  X(BOOL, uint8_t, LD_PLAIN, ST_BOOL, __VA_ARGS__)       \
  X(INT8, int8_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)       \
  X(INT16, int16_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)     \
  X(INT32, int32_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)     \
  X(INT64, int64_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)     \
  X(UINT8, uint8_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)     \
  X(UINT16, uint16_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)   \
  X(UINT32, uint32_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)   \
  X(UINT64, uint64_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)
/* the same list again: a macro cannot expand itself inside its own expansion */
#define CAST_TYPES_DST(X, ...)                                  \
  X(FLOAT, float, LD_PLAIN, ST_PLAIN, __VA_ARGS__)       \
  X(DOUBLE, double, LD_PLAIN, ST_PLAIN, __VA_ARGS__)     \
  X(FLOAT16, uint16_t, LD_HALF, ST_HALF, __VA_ARGS__)    \
  X(BOOL, uint8_t, LD_PLAIN, ST_BOOL, __VA_ARGS__)       \
  X(INT8, int8_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)       \
  X(INT16, int16_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)     \
  X(INT32, int32_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)     \
  X(INT64, int64_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)     \
  X(UINT8, uint8_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)     \
  X(UINT16, uint16_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)   \
  X(UINT32, uint32_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)   \
  X(UINT64, uint64_t, LD_PLAIN, ST_PLAIN, __VA_ARGS__)

#define CAST_DST_CASE(DE, DT, DLD, DST, ST_, SLD)                                                            \
  case ONYX_DTYPE_##DE: {                                                                                    \
    DT *o = y->data;                                                                                         \
    EW_PARFOR(cnt, i) o[i] = DST(DT, SLD(a[i]));                                                             \
    return ONYX_OK;                                                                                          \
  }
#define CAST_SRC_CASE(SE, ST_, SLD, SST, unused)                                                             \
  case ONYX_DTYPE_##SE: {                                                                                    \
    const ST_ *a = x->data;                                                                                  \
    switch (y->dtype) {                                                                                      \
      CAST_TYPES_DST(CAST_DST_CASE, ST_, SLD)                                                                \
    default: return ew_bad_dtype(n, y->dtype);                                                               \
    }                                                                                                        \
  }

onyx_status cpu_cast(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *x = CPU_IN(g, n, 0);
  ir_tensor *y = CPU_OUT(g, n, 0);
  int64_t cnt = ir_tensor_numel(x);
  int nt = ew_threads(ctx, cnt);
  if (x->dtype == y->dtype) {
    if (y->data != x->data) memcpy(y->data, x->data, ir_tensor_bytes(x));
    return ONYX_OK;
  }
  switch (x->dtype) {
    CAST_TYPES_SRC(CAST_SRC_CASE, 0)
  default: return ew_bad_dtype(n, x->dtype);
  }
}

/* ---- Where: selects whole elements, so one loop per element size ---- */

#define WHERE_LOOP(T)                                                                                        \
  do {                                                                                                       \
    const uint8_t *c = cond->data;                                                                           \
    const T *a = xa->data, *b = xb->data;                                                                    \
    T *o = y->data;                                                                                          \
    const int64_t inner = it.inner, nblk = (inner + EW_BLOCK - 1) / EW_BLOCK;                                \
    const int64_t sc = it.strides[0][it.ndim - 1], sx = it.strides[1][it.ndim - 1];                          \
    const int64_t sy = it.strides[2][it.ndim - 1];                                                           \
    EW_PARFOR(it.outer * nblk, t)                                                                            \
    {                                                                                                        \
      int64_t r = t / nblk, j0 = (t % nblk) * EW_BLOCK, off[EW_MAX_IN];                                      \
      int64_t j1 = j0 + EW_BLOCK < inner ? j0 + EW_BLOCK : inner;                                            \
      ew_iter_row(&it, r, off);                                                                              \
      const uint8_t *cr = c + off[0];                                                                        \
      const T *ar = a + off[1], *br = b + off[2];                                                            \
      T *orow = o + r * inner;                                                                               \
      for (int64_t j = j0; j < j1; j++) orow[j] = cr[j * sc] ? ar[j * sx] : br[j * sy];                      \
    }                                                                                                        \
  } while (0)

onyx_status cpu_where(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *cond = CPU_IN(g, n, 0), *xa = CPU_IN(g, n, 1), *xb = CPU_IN(g, n, 2);
  ir_tensor *y = CPU_OUT(g, n, 0);
  ew_iter it;
  const int nd[3] = {cond->ndim, xa->ndim, xb->ndim};
  const int64_t *dims[3] = {cond->dims, xa->dims, xb->dims};
  ew_iter_init(&it, y->ndim, y->dims, 3, nd, dims);
  int nt = ew_threads(ctx, ir_tensor_numel(y));
  switch (onyx_dtype_size(y->dtype)) {
  case 1: WHERE_LOOP(uint8_t); break;
  case 2: WHERE_LOOP(uint16_t); break;
  case 4: WHERE_LOOP(uint32_t); break;
  case 8: WHERE_LOOP(uint64_t); break;
  default: return ew_bad_dtype(n, y->dtype);
  }
  return ONYX_OK;
}
