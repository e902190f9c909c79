/* Attribute parsing and shape inference for Resize (opsets 10-19) and Upsample (7-10). */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "ops/reduce.h"

/* Largest output dimension a scale may produce (keeps the double -> int64 conversion defined). */
#define RESIZE_MAX_DIM ((double)((int64_t)1 << 40))

static onyx_status parse_enum(const ir_node *n, const char *attr, const char *def, const char *const *names,
                              int count, int *out)
{
  const char *s = ir_attr_string(n, attr, def);
  for (int i = 0; i < count; i++)
    if (names[i] && strcmp(s, names[i]) == 0) {
      *out = i;
      return ONYX_OK;
    }
  return op_error(n, ONYX_ERR_UNSUPPORTED, "%s '%s' is not supported", attr, s);
}

onyx_status op_parse_resize(ir_node *n)
{
  static const char *const modes[] = {[RESIZE_NEAREST] = "nearest", [RESIZE_LINEAR] = "linear",
                                      [RESIZE_CUBIC] = "cubic"};
  static const char *const coords[] = {
      [COORD_HALF_PIXEL] = "half_pixel",
      [COORD_HALF_PIXEL_SYMMETRIC] = "half_pixel_symmetric",
      [COORD_PYTORCH_HALF_PIXEL] = "pytorch_half_pixel",
      [COORD_ALIGN_CORNERS] = "align_corners",
      [COORD_ASYMMETRIC] = "asymmetric",
      [COORD_TF_HALF_PIXEL_FOR_NN] = "tf_half_pixel_for_nn",
      [COORD_TF_CROP_AND_RESIZE] = "tf_crop_and_resize",
  };
  static const char *const nearests[] = {[NEAREST_ROUND_PREFER_FLOOR] = "round_prefer_floor",
                                         [NEAREST_ROUND_PREFER_CEIL] = "round_prefer_ceil",
                                         [NEAREST_FLOOR] = "floor", [NEAREST_CEIL] = "ceil"};
  static const char *const aspects[] = {[ASPECT_STRETCH] = "stretch", [ASPECT_NOT_LARGER] = "not_larger",
                                        [ASPECT_NOT_SMALLER] = "not_smaller"};
  resize_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  bool upsample = n->op == ONYX_OP_UPSAMPLE;
  int v = 0;
  p->in_roi = p->in_scales = p->in_sizes = -1;
  /* Upsample-1 called linear 'bilinear' */
  if (strcmp(ir_attr_string(n, "mode", "nearest"), "bilinear") == 0) {
    p->mode = RESIZE_LINEAR;
  } else {
    ONYX_TRY(parse_enum(n, "mode", "nearest", modes, upsample || n->opset < 11 ? 2 : 3, &v));
    p->mode = v;
  }
  if (upsample || n->opset < 11) {
    /* one fixed transformation; ONNX leaves nearest rounding unspecified, this follows onnxruntime */
    p->coord = COORD_ASYMMETRIC;
    p->nearest = NEAREST_SIMPLE;
    if (upsample && n->opset < 9) {
      const ir_attr *a = ir_attr_find(n, "scales");
      if (!a || a->type != IR_ATTR_FLOATS)
        return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'scales' (floats) is required before opset 9");
      if (a->n > ONYX_MAX_DIMS)
        return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'scales' has %zu values, more than %d dimensions",
                        a->n, ONYX_MAX_DIMS);
      p->n_attr_scales = (int)a->n;
      memcpy(p->attr_scales, a->floats, a->n * sizeof(float));
    } else {
      p->in_scales = 1;
    }
    return ONYX_OK;
  }
  p->in_roi = 1, p->in_scales = 2, p->in_sizes = 3;
  ONYX_TRY(parse_enum(n, "coordinate_transformation_mode", "half_pixel", coords,
                      (int)ONYX_ARRAY_LEN(coords), &v));
  p->coord = v;
  if (p->coord == COORD_HALF_PIXEL_SYMMETRIC && n->opset < 19)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "half_pixel_symmetric needs opset 19");
  ONYX_TRY(parse_enum(n, "nearest_mode", "round_prefer_floor", nearests, 4, &v));
  p->nearest = v;
  p->cubic_a = ir_attr_float(n, "cubic_coeff_a", -0.75f);
  p->exclude_outside = ir_attr_int(n, "exclude_outside", 0) != 0;
  p->extrapolation = ir_attr_float(n, "extrapolation_value", 0.f);
  if (n->opset >= 18) {
    if (ir_attr_int(n, "antialias", 0) != 0 && p->mode != RESIZE_NEAREST)
      return op_error(n, ONYX_ERR_UNSUPPORTED, "antialias=1 (an antialiasing filter when downsampling) is not supported");
    ONYX_TRY(parse_enum(n, "keep_aspect_ratio_policy", "stretch", aspects, 3, &v));
    p->aspect = v;
    int cnt = ir_attr_ints(n, "axes", p->axes, ONYX_MAX_DIMS);
    const ir_attr *a = ir_attr_find(n, "axes");
    if (a && (a->type != IR_ATTR_INTS || a->n > ONYX_MAX_DIMS))
      return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'axes' must be at most %d ints", ONYX_MAX_DIMS);
    p->n_axes = cnt > 0 ? cnt : 0;
  }
  return ONYX_OK;
}

/* Input i as a constant of numel values (0 when absent or empty). */
static onyx_status const_input(const ir_graph *g, const ir_node *n, int i, const char *what,
                               const ir_tensor **out, int64_t *numel)
{
  const ir_tensor *t = i >= 0 ? ir_in(g, n, i) : NULL;
  *out = NULL;
  *numel = 0;
  if (!t) return ONYX_OK;
  if (!ir_shape_known(t)) return op_error(n, ONYX_ERR_SHAPE, "shape of %s input '%s' is not known", what, t->name);
  int64_t cnt = ir_tensor_numel(t);
  if (cnt == 0) return ONYX_OK;
  if (!t->is_const || !t->data)
    return op_error(n, ONYX_ERR_UNSUPPORTED,
                    "%s input '%s' must be a constant (data-dependent shapes are not supported)", what, t->name);
  *out = t;
  *numel = cnt;
  return ONYX_OK;
}

onyx_status resize_make_plan(const ir_graph *g, const ir_node *n, resize_plan *plan)
{
  const resize_params *p = n->params;
  const ir_tensor *x = ir_in(g, n, 0), *ts, *tz, *tr;
  int64_t ns, nz, nr;
  int r = x->ndim;
  char buf[160];
  if (r < 1) return op_error(n, ONYX_ERR_SHAPE, "input must have rank >= 1");
  ONYX_TRY(const_input(g, n, p->in_scales, "scales", &ts, &ns));
  ONYX_TRY(const_input(g, n, p->in_sizes, "sizes", &tz, &nz));
  if (p->n_attr_scales) ns = p->n_attr_scales;
  if (ns && nz) return op_error(n, ONYX_ERR_INVALID_MODEL, "only one of scales and sizes may be given");
  if (!ns && !nz) return op_error(n, ONYX_ERR_INVALID_MODEL, "one of scales and sizes must be given");
  if (ts && ts->dtype != ONYX_DTYPE_FLOAT)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "scales must be float, not %s", onyx_dtype_name(ts->dtype));
  if (tz && tz->dtype != ONYX_DTYPE_INT64)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "sizes must be int64, not %s", onyx_dtype_name(tz->dtype));

  /* the axes the scales/sizes/roi values refer to */
  int axes[ONYX_MAX_DIMS], na = p->n_axes ? p->n_axes : r;
  bool seen[ONYX_MAX_DIMS] = {false};
  for (int i = 0; i < na; i++) {
    if (!p->n_axes) axes[i] = i;
    else ONYX_TRY(op_axis(n, p->axes[i], r, &axes[i]));
    if (seen[axes[i]]) return op_error(n, ONYX_ERR_INVALID_MODEL, "axis %d is listed twice", axes[i]);
    seen[axes[i]] = true;
  }
  if ((ns ? ns : nz) != na)
    return op_error(n, ONYX_ERR_SHAPE, "%s has %lld values for %d axes (input shape %s)", ns ? "scales" : "sizes",
                    (long long)(ns ? ns : nz), na, onyx_dims_str(r, x->dims, buf, sizeof(buf)));

  plan->ndim = r;
  for (int d = 0; d < r; d++) {
    plan->out[d] = x->dims[d];
    plan->scale[d] = 1.0;
    plan->roi_start[d] = 0.0;
    plan->roi_end[d] = 1.0;
  }
  if (p->coord == COORD_TF_CROP_AND_RESIZE) {
    ONYX_TRY(const_input(g, n, p->in_roi, "roi", &tr, &nr));
    if (nr != 2 * na)
      return op_error(n, ONYX_ERR_SHAPE, "tf_crop_and_resize needs a roi of %d values, got %lld", 2 * na,
                      (long long)nr);
    for (int i = 0; i < na; i++) {
      plan->roi_start[axes[i]] = ir_tensor_get_f64(tr, i);
      plan->roi_end[axes[i]] = ir_tensor_get_f64(tr, na + i);
    }
  }
  if (ns) {
    for (int i = 0; i < na; i++) {
      int d = axes[i];
      double s = p->n_attr_scales ? p->attr_scales[i] : ir_tensor_get_f64(ts, i);
      if (!(s > 0) || isinf(s)) return op_error(n, ONYX_ERR_INVALID_MODEL, "scale %g for axis %d must be > 0", s, d);
      if (n->op == ONYX_OP_UPSAMPLE && s < 1)
        return op_error(n, ONYX_ERR_INVALID_MODEL, "Upsample scale %g for axis %d must be >= 1", s, d);
      double len = (double)x->dims[d] * s;
      if (p->coord == COORD_TF_CROP_AND_RESIZE) len *= plan->roi_end[d] - plan->roi_start[d];
      if (!(len < RESIZE_MAX_DIM))
        return op_error(n, ONYX_ERR_SHAPE, "scale %g makes axis %d too large", s, d);
      plan->scale[d] = s;
      plan->out[d] = len > 0 ? (int64_t)floor(len) : 0;
    }
    return ONYX_OK;
  }
  double sc[ONYX_MAX_DIMS], s_all = p->aspect == ASPECT_NOT_LARGER ? INFINITY : 0;
  for (int i = 0; i < na; i++) {
    int d = axes[i];
    int64_t size = ir_tensor_get_i64(tz, i);
    if (size < 0 || (double)size >= RESIZE_MAX_DIM)
      return op_error(n, ONYX_ERR_SHAPE, "size %lld for axis %d is out of range", (long long)size, d);
    if (x->dims[d] == 0 && size != 0)
      return op_error(n, ONYX_ERR_SHAPE, "cannot resize the empty axis %d to %lld", d, (long long)size);
    sc[i] = x->dims[d] ? (double)size / (double)x->dims[d] : 1.0;
    plan->out[d] = size;
    if (p->aspect == ASPECT_NOT_LARGER && sc[i] < s_all) s_all = sc[i];
    if (p->aspect == ASPECT_NOT_SMALLER && sc[i] > s_all) s_all = sc[i];
  }
  for (int i = 0; i < na; i++) {
    int d = axes[i];
    if (p->aspect != ASPECT_STRETCH) {
      sc[i] = s_all;
      plan->out[d] = (int64_t)floor(s_all * (double)x->dims[d] + 0.5);
    }
    plan->scale[d] = sc[i];
  }
  return ONYX_OK;
}

static void want_value(ir_graph *g, const ir_node *n, int i)
{
  ir_tensor *t = i >= 0 ? ir_in(g, n, i) : NULL;
  if (t && !t->is_const) t->value_wanted = true; /* a session may specialise on its value */
}

onyx_status op_infer_resize(ir_graph *g, ir_node *n)
{
  const resize_params *p = n->params;
  ir_tensor *x;
  resize_plan plan;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  if (p->mode != RESIZE_NEAREST && x->dtype != ONYX_DTYPE_FLOAT)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported for linear/cubic modes (float only)",
                    onyx_dtype_name(x->dtype));
  if (onyx_dtype_size(x->dtype) == 0 || x->dtype == ONYX_DTYPE_STRING)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported", onyx_dtype_name(x->dtype));
  if (p->coord == COORD_TF_CROP_AND_RESIZE && x->dtype != ONYX_DTYPE_FLOAT)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "tf_crop_and_resize supports float input only");
  want_value(g, n, p->in_scales);
  want_value(g, n, p->in_sizes);
  if (p->coord == COORD_TF_CROP_AND_RESIZE) want_value(g, n, p->in_roi);
  ONYX_TRY(resize_make_plan(g, n, &plan));
  ir_tensor_set(ir_out(g, n, 0), x->dtype, plan.ndim, plan.out);
  return ONYX_OK;
}
