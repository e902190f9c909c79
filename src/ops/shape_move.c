/* Attribute parsing and shape inference for data-movement ops: Transpose,
 * Concat, Split, Slice, Pad, Gather.  The resolvers here are shared with the
 * CPU kernels. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ops/shape.h"

/* Shape-determining inputs are constant at run time too (prepare required
 * it), so kernels may read them through the same helper. */
static onyx_status const_ints(const ir_graph *g, const ir_node *n, int i, int64_t *out, int cap, int *count)
{
  return op_const_ints((ir_graph *)g, n, i, out, cap, count);
}

/* ---- Transpose ------------------------------------------------------------ */
onyx_status op_parse_transpose(ir_node *n)
{
  transpose_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  int k = ir_attr_ints(n, "perm", p->perm, ONYX_MAX_DIMS);
  if (k > ONYX_MAX_DIMS)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "perm has %d entries, at most %d supported", k, ONYX_MAX_DIMS);
  p->n_perm = k;
  return ONYX_OK;
}

onyx_status transpose_resolve(const ir_node *n, const ir_tensor *x, int *perm)
{
  const transpose_params *p = n->params;
  int r = x->ndim;
  if (p->n_perm < 0) {
    for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
    return ONYX_OK;
  }
  if (p->n_perm != r)
    return op_error(n, ONYX_ERR_SHAPE, "perm has %d entries but the input has rank %d", p->n_perm, r);
  unsigned seen = 0;
  for (int i = 0; i < r; i++) {
    int64_t v = p->perm[i];
    if (v < 0 || v >= r || (seen >> v) & 1)
      return op_error(n, ONYX_ERR_SHAPE, "perm is not a permutation of 0..%d", r - 1);
    seen |= 1u << v;
    perm[i] = (int)v;
  }
  return ONYX_OK;
}

onyx_status op_infer_transpose(ir_graph *g, ir_node *n)
{
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  int perm[ONYX_MAX_DIMS];
  int64_t out[ONYX_MAX_DIMS];
  ONYX_TRY(transpose_resolve(n, x, perm));
  for (int i = 0; i < x->ndim; i++) out[i] = x->dims[perm[i]];
  shape_set_out(g, n, 0, x->dtype, x->ndim, out);
  return ONYX_OK;
}

/* ---- Concat --------------------------------------------------------------- */
onyx_status op_infer_concat(ir_graph *g, ir_node *n)
{
  const axis_params *p = n->params;
  ir_tensor *x0;
  if (n->n_in < 1) return op_error(n, ONYX_ERR_INVALID_MODEL, "has no inputs");
  ONYX_TRY(op_need_input(g, n, 0, &x0));
  if (x0->ndim == 0) return op_error(n, ONYX_ERR_SHAPE, "cannot concatenate scalars");
  int axis;
  ONYX_TRY(op_axis(n, p->axis, x0->ndim, &axis));
  int64_t out[ONYX_MAX_DIMS];
  memcpy(out, x0->dims, (size_t)x0->ndim * sizeof(*out));
  out[axis] = 0;
  for (int i = 0; i < n->n_in; i++) {
    ir_tensor *x;
    ONYX_TRY(op_need_input(g, n, i, &x));
    if (x->dtype != x0->dtype)
      return op_error(n, ONYX_ERR_SHAPE, "input %d is %s, input 0 is %s", i, onyx_dtype_name(x->dtype),
                      onyx_dtype_name(x0->dtype));
    bool fits = x->ndim == x0->ndim;
    for (int d = 0; fits && d < x->ndim; d++) fits = d == axis || x->dims[d] == x0->dims[d];
    if (!fits) {
      char a[160], b[160];
      return op_error(n, ONYX_ERR_SHAPE, "input %d of shape %s does not fit input 0 of shape %s on axis %d", i,
                      onyx_dims_str(x->ndim, x->dims, a, sizeof(a)),
                      onyx_dims_str(x0->ndim, x0->dims, b, sizeof(b)), axis);
    }
    if (x->dims[axis] > INT64_MAX - out[axis]) /* each is below 2^48, but there may be many */
      return op_error(n, ONYX_ERR_SHAPE, "the concatenated axis %d would be too large", axis);
    out[axis] += x->dims[axis];
  }
  shape_set_out(g, n, 0, x0->dtype, x0->ndim, out);
  return ONYX_OK;
}

/* ---- Split ---------------------------------------------------------------- */
onyx_status op_parse_split(ir_node *n)
{
  const ir_attr *a = n->opset < 13 ? ir_attr_find(n, "split") : NULL;
  int k = a && a->type == IR_ATTR_INTS ? (int)a->n : a && a->type == IR_ATTR_INT ? 1 : -1;
  split_params *p = op_params_alloc(n, sizeof(*p) + (size_t)(k > 0 ? k : 0) * sizeof(int64_t));
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->axis = ir_attr_int(n, "axis", 0);
  p->n_split = k;
  if (k > 0) ir_attr_ints(n, "split", p->split, k);
  if (n->opset >= 18) {
    p->num_outputs = ir_attr_int(n, "num_outputs", 0);
    if (ir_attr_find(n, "num_outputs") && p->num_outputs < 1)
      return op_error(n, ONYX_ERR_INVALID_MODEL, "num_outputs must be positive");
  }
  if (n->n_out < 1) return op_error(n, ONYX_ERR_INVALID_MODEL, "has no outputs");
  return ONYX_OK;
}

onyx_status split_resolve(const ir_graph *g, const ir_node *n, const ir_tensor *x, int *axis, int64_t *sizes)
{
  const split_params *p = n->params;
  if (x->ndim == 0) return op_error(n, ONYX_ERR_SHAPE, "cannot split a scalar");
  ONYX_TRY(op_axis(n, p->axis, x->ndim, axis));
  int64_t dim = x->dims[*axis];
  int k = -1;
  if (p->n_split >= 0) {
    k = p->n_split;
    memcpy(sizes, p->split, (size_t)(k < n->n_out ? k : n->n_out) * sizeof(*sizes));
  } else if ((n->opset >= 13 || n->opset < 2) && ir_in(g, n, 1)) { /* Split-1 also took an input */
    const ir_tensor *s = ir_in(g, n, 1);
    if (ir_tensor_numel(s) != n->n_out)
      return op_error(n, ONYX_ERR_SHAPE, "'split' has %lld values for %d outputs", (long long)ir_tensor_numel(s),
                      n->n_out);
    ONYX_TRY(const_ints(g, n, 1, sizes, n->n_out, &k));
  }
  if (k >= 0) {
    if (k != n->n_out) return op_error(n, ONYX_ERR_SHAPE, "'split' has %d values for %d outputs", k, n->n_out);
    int64_t sum = 0;
    for (int i = 0; i < k; i++) {
      if (sizes[i] < 0) return op_error(n, ONYX_ERR_SHAPE, "split[%d] is negative", i);
      if (sizes[i] > dim - sum)
        return op_error(n, ONYX_ERR_SHAPE, "split sizes add up to more than axis %d's size %lld", *axis,
                        (long long)dim);
      sum += sizes[i];
    }
    if (sum != dim)
      return op_error(n, ONYX_ERR_SHAPE, "split sizes add up to %lld, but axis %d has size %lld", (long long)sum,
                      *axis, (long long)dim);
    return ONYX_OK;
  }
  int64_t chunk;
  if (p->num_outputs > 0) { /* opset 18: ceil-sized chunks, the last one smaller */
    if (p->num_outputs != n->n_out)
      return op_error(n, ONYX_ERR_SHAPE, "num_outputs is %lld but the node has %d outputs",
                      (long long)p->num_outputs, n->n_out);
    chunk = (dim + n->n_out - 1) / n->n_out;
  } else {
    if (dim % n->n_out)
      return op_error(n, ONYX_ERR_SHAPE, "axis %d of size %lld does not split evenly into %d outputs", *axis,
                      (long long)dim, n->n_out);
    chunk = dim / n->n_out;
  }
  int64_t left = dim;
  for (int i = 0; i < n->n_out; i++) {
    sizes[i] = left < chunk ? left : chunk;
    left -= sizes[i];
  }
  return ONYX_OK;
}

onyx_status op_infer_split(ir_graph *g, ir_node *n)
{
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  int64_t *sizes = onyx_malloc((size_t)n->n_out * sizeof(*sizes));
  if (!sizes) return ONYX_ERR_NO_MEMORY;
  int axis;
  onyx_status st = split_resolve(g, n, x, &axis, sizes);
  if (st == ONYX_OK) {
    int64_t d[ONYX_MAX_DIMS];
    memcpy(d, x->dims, (size_t)x->ndim * sizeof(*d));
    for (int i = 0; i < n->n_out; i++) {
      d[axis] = sizes[i];
      shape_set_out(g, n, i, x->dtype, x->ndim, d);
    }
  }
  free(sizes);
  return st;
}

/* ---- Slice ---------------------------------------------------------------- */
onyx_status op_parse_slice(ir_node *n)
{
  slice_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->n_axes = -1;
  if (n->opset >= 10) return ONYX_OK;
  p->from_attrs = true;
  int ks = ir_attr_ints(n, "starts", p->starts, ONYX_MAX_DIMS);
  int ke = ir_attr_ints(n, "ends", p->ends, ONYX_MAX_DIMS);
  p->n_axes = ir_attr_ints(n, "axes", p->axes, ONYX_MAX_DIMS);
  if (ks < 0 || ke < 0) return op_error(n, ONYX_ERR_INVALID_MODEL, "attributes 'starts' and 'ends' are required");
  if (ks != ke || (p->n_axes >= 0 && p->n_axes != ks))
    return op_error(n, ONYX_ERR_INVALID_MODEL, "starts, ends and axes have different lengths");
  if (ks > ONYX_MAX_DIMS)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%d slice axes, at most %d supported", ks, ONYX_MAX_DIMS);
  p->n = ks;
  return ONYX_OK;
}

onyx_status slice_resolve(const ir_graph *g, const ir_node *n, const ir_tensor *x, int64_t *start, int64_t *step,
                          int64_t *count)
{
  const slice_params *p = n->params;
  int r = x->ndim;
  int64_t st[ONYX_MAX_DIMS], en[ONYX_MAX_DIMS], ax[ONYX_MAX_DIMS], sp[ONYX_MAX_DIMS];
  int k, ke, ka = -1, ks = -1;
  if (p->from_attrs) {
    k = ke = p->n;
    memcpy(st, p->starts, sizeof(st));
    memcpy(en, p->ends, sizeof(en));
    ka = p->n_axes;
    memcpy(ax, p->axes, sizeof(ax));
  } else {
    ONYX_TRY(const_ints(g, n, 1, st, ONYX_MAX_DIMS, &k));
    ONYX_TRY(const_ints(g, n, 2, en, ONYX_MAX_DIMS, &ke));
    if (ir_in(g, n, 3)) ONYX_TRY(const_ints(g, n, 3, ax, ONYX_MAX_DIMS, &ka));
    if (ir_in(g, n, 4)) ONYX_TRY(const_ints(g, n, 4, sp, ONYX_MAX_DIMS, &ks));
  }
  if (ke != k || (ka >= 0 && ka != k) || (ks >= 0 && ks != k))
    return op_error(n, ONYX_ERR_SHAPE, "starts, ends, axes and steps have different lengths");
  for (int d = 0; d < r; d++) {
    start[d] = 0;
    step[d] = 1;
    count[d] = x->dims[d];
  }
  unsigned seen = 0;
  for (int i = 0; i < k; i++) {
    int a;
    if (ka >= 0) ONYX_TRY(op_axis(n, ax[i], r, &a));
    else if (i < r) a = i;
    else return op_error(n, ONYX_ERR_SHAPE, "%d starts for an input of rank %d", k, r);
    if ((seen >> a) & 1) return op_error(n, ONYX_ERR_SHAPE, "axis %d is repeated", a);
    seen |= 1u << a;
    int64_t s = st[i], e = en[i], t = ks >= 0 ? sp[i] : 1, D = x->dims[a], c;
    if (t == 0) return op_error(n, ONYX_ERR_SHAPE, "step for axis %d is 0", a);
    if (s < 0) s += D;
    if (e < 0) e += D;
    if (t > 0) { /* clamp to [0, D] */
      s = s < 0 ? 0 : s > D ? D : s;
      e = e < 0 ? 0 : e > D ? D : e;
      c = e > s ? (e - s - 1) / t + 1 : 0;
    } else { /* clamp start to [0, D-1], end to [-1, D-1] */
      s = s < 0 ? 0 : s > D - 1 ? D - 1 : s;
      e = e < -1 ? -1 : e > D - 1 ? D - 1 : e;
      c = s > e ? (s - e - 1) / (t == INT64_MIN ? INT64_MAX : -t) + 1 : 0;
    }
    if (D == 0) c = 0, s = 0;
    if (c <= 1) t = 1; /* any step picks the same element; keeps kernel strides small */
    start[a] = s;
    step[a] = t;
    count[a] = c;
  }
  return ONYX_OK;
}

onyx_status op_infer_slice(ir_graph *g, ir_node *n)
{
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  int64_t start[ONYX_MAX_DIMS], step[ONYX_MAX_DIMS], count[ONYX_MAX_DIMS];
  ONYX_TRY(slice_resolve(g, n, x, start, step, count));
  shape_set_out(g, n, 0, x->dtype, x->ndim, count);
  return ONYX_OK;
}

/* ---- Pad ------------------------------------------------------------------ */
onyx_status op_parse_pad(ir_node *n)
{
  pad_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  const char *mode = ir_attr_string(n, "mode", "constant");
  if (strcmp(mode, "constant") == 0) p->mode = PAD_CONSTANT;
  else if (strcmp(mode, "reflect") == 0) p->mode = PAD_REFLECT;
  else if (strcmp(mode, "edge") == 0) p->mode = PAD_EDGE;
  else return op_error(n, ONYX_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
  if (n->opset >= 11) return ONYX_OK;
  p->from_attrs = true;
  const char *name = n->opset < 2 ? "paddings" : "pads";
  int k = ir_attr_ints(n, name, p->pads, 2 * ONYX_MAX_DIMS);
  if (k < 0) return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute '%s' is required", name);
  if (k > 2 * ONYX_MAX_DIMS) return op_error(n, ONYX_ERR_UNSUPPORTED, "'%s' has %d values, too many", name, k);
  p->n_pads = k;
  p->value = ir_attr_float(n, "value", 0.f);
  return ONYX_OK;
}

onyx_status pad_resolve(const ir_graph *g, const ir_node *n, const ir_tensor *x, int64_t *pads)
{
  const pad_params *p = n->params;
  int r = x->ndim, k;
  int64_t v[2 * ONYX_MAX_DIMS], axes[ONYX_MAX_DIMS];
  if (p->from_attrs) {
    k = p->n_pads;
    memcpy(v, p->pads, sizeof(v));
  } else {
    ONYX_TRY(const_ints(g, n, 1, v, 2 * ONYX_MAX_DIMS, &k));
  }
  int na = r;
  for (int i = 0; i < r; i++) axes[i] = i;
  if (!p->from_attrs && n->opset >= 18 && ir_in(g, n, 3)) ONYX_TRY(const_ints(g, n, 3, axes, ONYX_MAX_DIMS, &na));
  if (k != 2 * na) return op_error(n, ONYX_ERR_SHAPE, "pads has %d values for %d axes", k, na);
  for (int i = 0; i < 2 * r; i++) pads[i] = 0;
  unsigned seen = 0;
  for (int i = 0; i < na; i++) {
    int a;
    ONYX_TRY(op_axis(n, axes[i], r, &a));
    if ((seen >> a) & 1) return op_error(n, ONYX_ERR_SHAPE, "axis %d is repeated", a);
    seen |= 1u << a;
    pads[a] = v[i];
    pads[r + a] = v[na + i];
    const int64_t lim = (int64_t)1 << 48; /* far beyond any tensor; keeps the sums below exact */
    if (pads[a] > lim || pads[a] < -lim || pads[r + a] > lim || pads[r + a] < -lim)
      return op_error(n, ONYX_ERR_SHAPE, "pads for axis %d are out of range", a);
  }
  for (int a = 0; a < r; a++) {
    int64_t d = x->dims[a] + pads[a] + pads[r + a];
    if (d < 0) return op_error(n, ONYX_ERR_SHAPE, "pads remove more than axis %d holds", a);
    if (p->mode != PAD_CONSTANT && (pads[a] > 0 || pads[r + a] > 0) && x->dims[a] == 0)
      return op_error(n, ONYX_ERR_SHAPE, "cannot %s-pad empty axis %d", p->mode == PAD_EDGE ? "edge" : "reflect",
                      a);
  }
  return ONYX_OK;
}

onyx_status op_infer_pad(ir_graph *g, ir_node *n)
{
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  int64_t pads[2 * ONYX_MAX_DIMS], out[ONYX_MAX_DIMS];
  ONYX_TRY(pad_resolve(g, n, x, pads));
  for (int a = 0; a < x->ndim; a++) out[a] = x->dims[a] + pads[a] + pads[x->ndim + a];
  const ir_tensor *v = n->opset >= 11 ? ir_in(g, n, 2) : NULL;
  if (v && ir_shape_known(v) && ir_tensor_numel(v) > 0 && v->dtype != x->dtype)
    return op_error(n, ONYX_ERR_SHAPE, "constant_value is %s but the input is %s", onyx_dtype_name(v->dtype),
                    onyx_dtype_name(x->dtype));
  shape_set_out(g, n, 0, x->dtype, x->ndim, out);
  return ONYX_OK;
}

/* ---- Gather --------------------------------------------------------------- */
onyx_status op_infer_gather(ir_graph *g, ir_node *n)
{
  const axis_params *p = n->params;
  ir_tensor *x, *idx;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  ONYX_TRY(op_need_input(g, n, 1, &idx));
  if (idx->dtype != ONYX_DTYPE_INT64 && idx->dtype != ONYX_DTYPE_INT32)
    return op_error(n, ONYX_ERR_SHAPE, "indices must be int32 or int64, not %s", onyx_dtype_name(idx->dtype));
  if (x->ndim == 0) return op_error(n, ONYX_ERR_SHAPE, "cannot gather from a scalar");
  int axis;
  ONYX_TRY(op_axis(n, p->axis, x->ndim, &axis));
  int r = x->ndim - 1 + idx->ndim;
  if (r > ONYX_MAX_DIMS)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "output rank %d is above the supported %d", r, ONYX_MAX_DIMS);
  int64_t out[ONYX_MAX_DIMS];
  int k = 0;
  for (int i = 0; i < axis; i++) out[k++] = x->dims[i];
  for (int i = 0; i < idx->ndim; i++) out[k++] = idx->dims[i];
  for (int i = axis + 1; i < x->ndim; i++) out[k++] = x->dims[i];
  shape_set_out(g, n, 0, x->dtype, r, out);
  return ONYX_OK;
}
