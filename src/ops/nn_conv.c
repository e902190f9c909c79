/* Attribute parsing and shape inference for Conv and ConvTranspose. */
#include "common/util.h"
#include "ops/nn.h"

static onyx_status parse_conv_common(ir_node *n, nn_conv_params **out)
{
  nn_conv_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  ONYX_TRY(nn_parse_window(n, &p->win));
  p->group = ir_attr_int(n, "group", 1);
  if (p->group < 1)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "group %lld must be >= 1", (long long)p->group);
  p->n_output_padding = p->n_output_shape = -1;
  *out = p;
  return ONYX_OK;
}

onyx_status op_parse_conv(ir_node *n)
{
  nn_conv_params *p;
  return parse_conv_common(n, &p);
}

onyx_status op_parse_conv_transpose(ir_node *n)
{
  nn_conv_params *p;
  ONYX_TRY(parse_conv_common(n, &p));
  p->n_output_padding = ir_attr_ints(n, "output_padding", p->output_padding, NN_MAX_SP);
  if (p->n_output_padding > NN_MAX_SP)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "output_padding has %d values, at most %d supported",
                    p->n_output_padding, NN_MAX_SP);
  for (int i = 0; i < p->n_output_padding; i++)
    if (p->output_padding[i] < 0)
      return op_error(n, ONYX_ERR_INVALID_MODEL, "output_padding value %lld must be >= 0",
                      (long long)p->output_padding[i]);
    else if (p->output_padding[i] > NN_MAX_WINDOW_VALUE)
      return op_error(n, ONYX_ERR_UNSUPPORTED, "output_padding value %lld is above the supported %d",
                      (long long)p->output_padding[i], NN_MAX_WINDOW_VALUE);
  p->n_output_shape = ir_attr_ints(n, "output_shape", p->output_shape, ONYX_MAX_DIMS);
  if (p->n_output_shape > ONYX_MAX_DIMS)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "output_shape has %d values, at most %d supported",
                    p->n_output_shape, ONYX_MAX_DIMS);
  for (int i = 0; i < p->n_output_shape; i++)
    if (p->output_shape[i] < 1)
      return op_error(n, ONYX_ERR_INVALID_MODEL, "output_shape value %lld must be >= 1",
                      (long long)p->output_shape[i]);
    else if (p->output_shape[i] > NN_MAX_WINDOW_VALUE)
      return op_error(n, ONYX_ERR_UNSUPPORTED, "output_shape value %lld is above the supported %d",
                      (long long)p->output_shape[i], NN_MAX_WINDOW_VALUE);
  return ONYX_OK;
}

/* Checks W's dtype and the optional bias B (1-D of m values). */
static onyx_status check_weight_bias(ir_graph *g, const ir_node *n, const ir_tensor *x, const ir_tensor *w,
                                     int64_t m)
{
  if (w->dtype != x->dtype)
    return op_error(n, ONYX_ERR_SHAPE, "weight type %s differs from input type %s", onyx_dtype_name(w->dtype),
                    onyx_dtype_name(x->dtype));
  ir_tensor *b = ir_in(g, n, 2);
  if (!b) return ONYX_OK;
  if (!ir_shape_known(b)) return op_error(n, ONYX_ERR_SHAPE, "shape of bias '%s' is not known", b->name);
  if (b->dtype != x->dtype)
    return op_error(n, ONYX_ERR_SHAPE, "bias type %s differs from input type %s", onyx_dtype_name(b->dtype),
                    onyx_dtype_name(x->dtype));
  if (b->ndim != 1 || b->dims[0] != m) {
    char sb[160];
    return op_error(n, ONYX_ERR_SHAPE, "bias shape %s must be [%lld] (one value per output channel)",
                    onyx_dims_str(b->ndim, b->dims, sb, sizeof(sb)), (long long)m);
  }
  return ONYX_OK;
}

onyx_status op_infer_conv(ir_graph *g, ir_node *n)
{
  ir_tensor *x, *w;
  nn_geom gm;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  ONYX_TRY(op_need_input(g, n, 1, &w));
  ONYX_TRY(nn_conv_geom(n, x, w, &gm));
  ONYX_TRY(check_weight_bias(g, n, x, w, w->dims[0]));
  int64_t dims[ONYX_MAX_DIMS] = {x->dims[0], w->dims[0]};
  for (int i = 0; i < gm.nsp; i++) dims[i + 2] = gm.out[i];
  ir_tensor_set(ir_out(g, n, 0), x->dtype, x->ndim, dims);
  return ONYX_OK;
}

onyx_status op_infer_conv_transpose(ir_graph *g, ir_node *n)
{
  const nn_conv_params *p = n->params;
  ir_tensor *x, *w;
  nn_geom gm;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  ONYX_TRY(op_need_input(g, n, 1, &w));
  ONYX_TRY(nn_conv_transpose_geom(n, x, w, &gm));
  int64_t m = w->dims[1] * p->group;
  ONYX_TRY(check_weight_bias(g, n, x, w, m));
  int64_t dims[ONYX_MAX_DIMS] = {x->dims[0], m};
  for (int i = 0; i < gm.nsp; i++) dims[i + 2] = gm.out[i];
  ir_tensor_set(ir_out(g, n, 0), x->dtype, x->ndim, dims);
  return ONYX_OK;
}
