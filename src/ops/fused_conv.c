/* FusedConv (domain "onyx"): attribute parsing and shape inference.  Conv's
 * own parser and shape inference do the convolution part (the params start
 * with Conv's); the attributes are described in ops/fused.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ops/fused.h"

static const char *const act_names[FUSED_ACT_COUNT] = {
    [FUSED_ACT_NONE] = "",
    [FUSED_ACT_RELU] = "Relu",
    [FUSED_ACT_LEAKY_RELU] = "LeakyRelu",
    [FUSED_ACT_CLIP] = "Clip",
    [FUSED_ACT_SIGMOID] = "Sigmoid",
    [FUSED_ACT_SILU] = "SiLU",
    [FUSED_ACT_HARD_SWISH] = "HardSwish",
    [FUSED_ACT_HARD_SIGMOID] = "HardSigmoid",
    [FUSED_ACT_TANH] = "Tanh",
};

const char *fused_act_name(fused_act a) { return a >= 0 && a < FUSED_ACT_COUNT ? act_names[a] : "?"; }

/* Reads "activation_params" into out (defaults kept for absent trailing values). */
static onyx_status act_params(ir_node *n, int want, bool required, float *out)
{
  const ir_attr *a = ir_attr_find(n, "activation_params");
  if (!a) {
    if (required)
      return op_error(n, ONYX_ERR_INVALID_MODEL, "activation %s needs %d activation_params",
                      ir_attr_string(n, "activation", ""), want);
    return ONYX_OK;
  }
  if (a->type != IR_ATTR_FLOATS || (int)a->n != want)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "activation %s takes %d activation_params (floats), got %zu",
                    ir_attr_string(n, "activation", ""), want, a->type == IR_ATTR_FLOATS ? a->n : (size_t)0);
  for (int i = 0; i < want; i++) {
    if (isnan(a->floats[i])) return op_error(n, ONYX_ERR_INVALID_MODEL, "activation_params[%d] is NaN", i);
    out[i] = a->floats[i];
  }
  return ONYX_OK;
}

onyx_status op_parse_fused_conv(ir_node *n)
{
  ONYX_TRY(op_parse_conv(n)); /* leaves nn_conv_params in n->params */
  fused_conv_params *p = onyx_calloc(1, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  memcpy(&p->conv, n->params, sizeof(p->conv));
  free(n->params);
  n->params = p;
  const ir_attr *act = ir_attr_find(n, "activation");
  if (act && act->type != IR_ATTR_STRING)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute 'activation' must be a string");
  const char *name = act && act->s ? act->s : "";
  int a = -1;
  for (int i = 0; i < FUSED_ACT_COUNT; i++)
    if (strcmp(name, act_names[i]) == 0) a = i;
  if (a < 0) return op_error(n, ONYX_ERR_UNSUPPORTED, "unknown activation '%s'", name);
  p->act = (fused_act)a;
  float v[2] = {0.f, 0.f};
  switch (p->act) {
  case FUSED_ACT_LEAKY_RELU:
    v[0] = 0.01f;
    ONYX_TRY(act_params(n, 1, false, v));
    break;
  case FUSED_ACT_CLIP: ONYX_TRY(act_params(n, 2, true, v)); break;
  case FUSED_ACT_HARD_SIGMOID:
    v[0] = 0.2f;
    v[1] = 0.5f;
    ONYX_TRY(act_params(n, 2, false, v));
    break;
  case FUSED_ACT_HARD_SWISH:
    v[0] = (float)(1.0 / 6.0);
    v[1] = 0.5f;
    ONYX_TRY(act_params(n, 2, false, v));
    break;
  default:
    if (ir_attr_find(n, "activation_params"))
      return op_error(n, ONYX_ERR_INVALID_MODEL, "activation '%s' takes no activation_params", name);
  }
  p->alpha = v[0];
  p->beta = v[1];
  if (n->n_in > 4)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "has %d inputs, at most 4 (X, W, B, Z)", n->n_in);
  return ONYX_OK;
}

onyx_status op_infer_fused_conv(ir_graph *g, ir_node *n)
{
  ONYX_TRY(op_infer_conv(g, n));
  ir_tensor *y = ir_out(g, n, 0), *z = ir_in(g, n, 3);
  if (!z) return ONYX_OK;
  if (!ir_shape_known(z)) return op_error(n, ONYX_ERR_SHAPE, "shape of Z ('%s') is not known", z->name);
  if (z->dtype != y->dtype || z->ndim != y->ndim ||
      memcmp(z->dims, y->dims, (size_t)y->ndim * sizeof(int64_t)) != 0) {
    char sz[160], sy[160];
    return op_error(n, ONYX_ERR_SHAPE, "Z '%s' (%s %s) must have the output's type and shape (%s %s)",
                    z->name, onyx_dtype_name(z->dtype), onyx_dims_str(z->ndim, z->dims, sz, sizeof(sz)),
                    onyx_dtype_name(y->dtype), onyx_dims_str(y->ndim, y->dims, sy, sizeof(sy)));
  }
  return ONYX_OK;
}
