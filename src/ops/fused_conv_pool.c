/* FusedConvPool (domain "onyx"): attribute parsing, geometry and shape
 * inference.  FusedConv's parser does the conv and activation part (the
 * params start with FusedConv's); the attributes are described in ops/fused.h. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ops/fused.h"

/* Reads the ints attribute name: exactly want values, each in [min, NN_MAX_WINDOW_VALUE]. */
static onyx_status pool_ints(ir_node *n, const char *name, int want, int64_t min, bool required, int64_t *out)
{
  const ir_attr *a = ir_attr_find(n, name);
  if (!a) {
    if (required) return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute '%s' (%d ints) is required", name, want);
    return ONYX_OK;
  }
  if (a->type != IR_ATTR_INTS)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute '%s' must be a list of %d ints", name, want);
  if ((int64_t)a->n != want)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute '%s' has %zu values, it takes %d (2-D pool)", name,
                    a->n, want);
  for (int i = 0; i < want; i++) {
    if (a->ints[i] < min)
      return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute '%s' has value %lld at index %d (must be >= %lld)",
                      name, (long long)a->ints[i], i, (long long)min);
    if (a->ints[i] > NN_MAX_WINDOW_VALUE)
      return op_error(n, ONYX_ERR_UNSUPPORTED, "attribute '%s' has value %lld at index %d (at most %d supported)",
                      name, (long long)a->ints[i], i, NN_MAX_WINDOW_VALUE);
    out[i] = a->ints[i];
  }
  return ONYX_OK;
}

onyx_status op_parse_fused_conv_pool(ir_node *n)
{
  if (n->n_in > 3)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "has %d inputs, at most 3 (X, W, B): it takes no Z input",
                    n->n_in);
  ONYX_TRY(op_parse_fused_conv(n)); /* leaves fused_conv_params in n->params */
  fused_conv_pool_params *p = onyx_calloc(1, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  memcpy(&p->fc, n->params, sizeof(p->fc));
  free(n->params);
  n->params = p;
  p->pool_strides[0] = p->pool_strides[1] = 1;
  ONYX_TRY(pool_ints(n, "pool_kernel_shape", 2, 1, true, p->pool_kernel));
  ONYX_TRY(pool_ints(n, "pool_strides", 2, 1, false, p->pool_strides));
  ONYX_TRY(pool_ints(n, "pool_pads", 4, 0, false, p->pool_pads));
  for (int i = 0; i < 2; i++)
    if (p->pool_pads[i] >= p->pool_kernel[i] || p->pool_pads[i + 2] >= p->pool_kernel[i])
      return op_error(n, ONYX_ERR_INVALID_MODEL,
                      "pool_pads (%lld, %lld) on spatial dim %d must be smaller than the pool kernel %lld",
                      (long long)p->pool_pads[i], (long long)p->pool_pads[i + 2], i,
                      (long long)p->pool_kernel[i]);
  return ONYX_OK;
}

onyx_status fused_conv_pool_geom(const ir_node *n, const ir_tensor *x, const ir_tensor *w, nn_geom *conv,
                                 nn_geom *pool)
{
  const fused_conv_pool_params *p = n->params;
  if (x->ndim != 4)
    return op_error(n, ONYX_ERR_SHAPE, "input must be N x C x H x W (2-D only), got rank %d", x->ndim);
  ONYX_TRY(nn_conv_geom(n, x, w, conv));
  if (!pool) return ONYX_OK;
  memset(pool, 0, sizeof(*pool));
  pool->nsp = 2;
  for (int i = 0; i < 2; i++) {
    int64_t in = conv->out[i], k = p->pool_kernel[i], s = p->pool_strides[i];
    int64_t pb = p->pool_pads[i], pe = p->pool_pads[i + 2], span = in + pb + pe - k;
    if (span < 0)
      return op_error(n, ONYX_ERR_SHAPE,
                      "pool kernel %lld is larger than the padded conv output (%lld + %lld + %lld) on spatial "
                      "dim %d",
                      (long long)k, (long long)in, (long long)pb, (long long)pe, i);
    pool->in[i] = in, pool->kernel[i] = k, pool->strides[i] = s, pool->dilations[i] = 1;
    pool->pad_begin[i] = pb, pool->pad_end[i] = pe;
    pool->out[i] = span / s + 1;
  }
  return ONYX_OK;
}

static bool is_float_type(onyx_dtype t) { return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_FLOAT16; }

onyx_status op_infer_fused_conv_pool(ir_graph *g, ir_node *n)
{
  ir_tensor *x, *w, *b = ir_in(g, n, 2);
  nn_geom cg, pg;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  ONYX_TRY(op_need_input(g, n, 1, &w));
  const onyx_dtype t = w->dtype;
  if (!is_float_type(t))
    return op_error(n, ONYX_ERR_SHAPE, "weight type %s is not float or float16", onyx_dtype_name(t));
  if (x->dtype != t && !(x->dtype == ONYX_DTYPE_FLOAT && t == ONYX_DTYPE_FLOAT16))
    return op_error(n, ONYX_ERR_SHAPE, "input type %s must be the weight type %s (or float with float16 weights)",
                    onyx_dtype_name(x->dtype), onyx_dtype_name(t));
  ONYX_TRY(fused_conv_pool_geom(n, x, w, &cg, &pg));
  if (b) {
    if (!ir_shape_known(b)) return op_error(n, ONYX_ERR_SHAPE, "shape of bias '%s' is not known", b->name);
    if (b->dtype != t)
      return op_error(n, ONYX_ERR_SHAPE, "bias type %s differs from weight type %s", onyx_dtype_name(b->dtype),
                      onyx_dtype_name(t));
    if (b->ndim != 1 || b->dims[0] != w->dims[0]) {
      char sb[160];
      return op_error(n, ONYX_ERR_SHAPE, "bias shape %s must be [%lld] (one value per output channel)",
                      onyx_dims_str(b->ndim, b->dims, sb, sizeof(sb)), (long long)w->dims[0]);
    }
  }
  const int64_t dims[4] = {x->dims[0], w->dims[0], pg.out[0], pg.out[1]};
  ir_tensor_set(ir_out(g, n, 0), t, 4, dims);
  return ONYX_OK;
}
