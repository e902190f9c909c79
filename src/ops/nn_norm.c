/* Attribute parsing and shape inference for BatchNormalization (inference only). */
#include "common/util.h"
#include "ops/nn.h"

onyx_status op_parse_batch_normalization(ir_node *n)
{
  nn_bn_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->epsilon = ir_attr_float(n, "epsilon", 1e-5f);
  if (!(p->epsilon >= 0.f))
    return op_error(n, ONYX_ERR_INVALID_MODEL, "epsilon %g must be >= 0", (double)p->epsilon);
  p->spatial = true;
  if (n->opset < 9) {
    int64_t sp = ir_attr_int(n, "spatial", 1);
    if (sp != 0 && sp != 1)
      return op_error(n, ONYX_ERR_INVALID_MODEL, "spatial must be 0 or 1, not %lld", (long long)sp);
    p->spatial = sp == 1;
  }
  /* opset < 7 'is_test' and opset < 6 'consumed_inputs' only mattered to
   * training frameworks; an inference engine computes the same Y either way. */
  if (n->opset >= 14) {
    int64_t tm = ir_attr_int(n, "training_mode", 0);
    if (tm == 1)
      return op_error(n, ONYX_ERR_UNSUPPORTED,
                      "training_mode=1 (batch statistics and running-stat updates) is not supported: "
                      "onyx runs inference only");
    if (tm != 0)
      return op_error(n, ONYX_ERR_INVALID_MODEL, "training_mode must be 0 or 1, not %lld", (long long)tm);
  }
  return ONYX_OK;
}

onyx_status op_infer_batch_normalization(ir_graph *g, ir_node *n)
{
  const nn_bn_params *p = n->params;
  static const char *const names[] = {"X", "scale", "B", "mean", "var"};
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  if (x->ndim < 2) return op_error(n, ONYX_ERR_SHAPE, "input must be N x C x ..., got rank %d", x->ndim);
  for (int i = 1; i < 5; i++) {
    ir_tensor *t;
    ONYX_TRY(op_need_input(g, n, i, &t));
    if (t->dtype != x->dtype)
      return op_error(n, ONYX_ERR_SHAPE, "%s has type %s, X has %s", names[i], onyx_dtype_name(t->dtype),
                      onyx_dtype_name(x->dtype));
    bool per_channel = t->ndim == 1 && t->dims[0] == x->dims[1];
    bool per_element = !p->spatial && t->ndim == x->ndim - 1;
    for (int d = 0; per_element && d < t->ndim; d++) per_element = t->dims[d] == x->dims[d + 1];
    if (!per_channel && !per_element) {
      char st[160], sx[160];
      return op_error(n, ONYX_ERR_SHAPE, "%s shape %s does not fit X %s (needs [%lld]%s)", names[i],
                      onyx_dims_str(t->ndim, t->dims, st, sizeof(st)),
                      onyx_dims_str(x->ndim, x->dims, sx, sizeof(sx)), (long long)x->dims[1],
                      p->spatial ? "" : " or X's shape without N");
    }
  }
  for (int k = 1; k < n->n_out; k++)
    if (ir_out(g, n, k))
      return op_error(
          n, ONYX_ERR_UNSUPPORTED,
          "output %d (running/saved statistics) is only produced in training, which onyx does not support",
          k);
  ir_tensor_set(ir_out(g, n, 0), x->dtype, x->ndim, x->dims);
  return ONYX_OK;
}
