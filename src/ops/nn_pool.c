/* Attribute parsing and shape inference for MaxPool, AveragePool and the global pools. */
#include "common/util.h"
#include "ops/nn.h"

static onyx_status parse_flag(ir_node *n, const char *name, bool *out)
{
  int64_t v = ir_attr_int(n, name, 0);
  if (v != 0 && v != 1)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "%s must be 0 or 1, not %lld", name, (long long)v);
  *out = v == 1;
  return ONYX_OK;
}

static onyx_status parse_pool(ir_node *n, nn_pool_params **out)
{
  nn_pool_params *p = op_params_alloc(n, sizeof(*p));
  if (!p) return ONYX_ERR_NO_MEMORY;
  ONYX_TRY(nn_parse_window(n, &p->win));
  if (p->win.n_kernel < 1) return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute kernel_shape is required");
  ONYX_TRY(parse_flag(n, "ceil_mode", &p->ceil_mode));
  *out = p;
  return ONYX_OK;
}

onyx_status op_parse_max_pool(ir_node *n)
{
  nn_pool_params *p;
  ONYX_TRY(parse_pool(n, &p));
  int64_t so = ir_attr_int(n, "storage_order", 0);
  if (so != 0 && so != 1)
    return op_error(n, ONYX_ERR_INVALID_MODEL,
                    "storage_order must be 0 (row major) or 1 (column major), not %lld", (long long)so);
  p->storage_order = (int)so;
  return ONYX_OK;
}

onyx_status op_parse_average_pool(ir_node *n)
{
  nn_pool_params *p;
  ONYX_TRY(parse_pool(n, &p));
  return parse_flag(n, "count_include_pad", &p->count_include_pad);
}

onyx_status op_infer_pool(ir_graph *g, ir_node *n)
{
  ir_tensor *x;
  nn_geom gm;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  ONYX_TRY(nn_pool_geom(n, x, &gm));
  int64_t dims[ONYX_MAX_DIMS] = {x->dims[0], x->dims[1]};
  for (int i = 0; i < gm.nsp; i++) dims[i + 2] = gm.out[i];
  ir_tensor_set(ir_out(g, n, 0), x->dtype, x->ndim, dims);
  ir_tensor *idx = ir_out(g, n, 1);
  if (idx) {
    if (n->op != ONYX_OP_MAX_POOL) return op_error(n, ONYX_ERR_INVALID_MODEL, "has more than one output");
    ir_tensor_set(idx, ONYX_DTYPE_INT64, x->ndim, dims);
  }
  return ONYX_OK;
}

onyx_status op_infer_global_pool(ir_graph *g, ir_node *n)
{
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  if (x->ndim < 2) return op_error(n, ONYX_ERR_SHAPE, "input must be N x C x D1 x ..., got rank %d", x->ndim);
  int64_t dims[ONYX_MAX_DIMS];
  for (int i = 0; i < x->ndim; i++) dims[i] = i < 2 ? x->dims[i] : 1;
  ir_tensor_set(ir_out(g, n, 0), x->dtype, x->ndim, dims);
  return ONYX_OK;
}
