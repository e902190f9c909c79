/* Attribute parsing and shape inference for shape/data-movement ops. */
#include <string.h>

#include "common/util.h"
#include "ops/ops.h"

/* Constant: the value comes from one attribute; non-tensor forms are stored
 * in the params (flat, with the data after the header). */
typedef struct constant_params {
  onyx_dtype dtype;
  int ndim;
  int64_t dims[1];
  const ir_tensor *tensor; /* 'value' attribute (owned by the node's attrs), or NULL */
  _Alignas(8) unsigned char data[];
} constant_params;

onyx_status op_parse_constant(ir_node *n)
{
  const ir_attr *a = NULL;
  for (int i = 0; i < n->n_attrs; i++) {
    if (a) return op_error(n, ONYX_ERR_INVALID_MODEL, "has more than one value attribute");
    a = &n->attrs[i];
  }
  if (!a) return op_error(n, ONYX_ERR_INVALID_MODEL, "has no value attribute");
  size_t count = 0, esz = 0;
  onyx_dtype dt = ONYX_DTYPE_UNDEFINED;
  int ndim = 0;
  if (strcmp(a->name, "value") == 0 && a->type == IR_ATTR_TENSOR) {
    constant_params *p = op_params_alloc(n, sizeof(*p));
    if (!p) return ONYX_ERR_NO_MEMORY;
    p->tensor = a->t;
    return ONYX_OK;
  } else if (strcmp(a->name, "value_float") == 0 && a->type == IR_ATTR_FLOAT) {
    dt = ONYX_DTYPE_FLOAT, count = 1, esz = 4;
  } else if (strcmp(a->name, "value_floats") == 0 && a->type == IR_ATTR_FLOATS) {
    dt = ONYX_DTYPE_FLOAT, count = a->n, esz = 4, ndim = 1;
  } else if (strcmp(a->name, "value_int") == 0 && a->type == IR_ATTR_INT) {
    dt = ONYX_DTYPE_INT64, count = 1, esz = 8;
  } else if (strcmp(a->name, "value_ints") == 0 && a->type == IR_ATTR_INTS) {
    dt = ONYX_DTYPE_INT64, count = a->n, esz = 8, ndim = 1;
  } else {
    return op_error(n, ONYX_ERR_UNSUPPORTED, "value attribute '%s' is not supported", a->name);
  }
  constant_params *p = op_params_alloc(n, sizeof(*p) + count * esz);
  if (!p) return ONYX_ERR_NO_MEMORY;
  p->dtype = dt;
  p->ndim = ndim;
  p->dims[0] = (int64_t)count;
  if (a->type == IR_ATTR_FLOAT) memcpy(p->data, &a->f, 4);
  else if (a->type == IR_ATTR_INT) memcpy(p->data, &a->i, 8);
  else if (a->type == IR_ATTR_FLOATS && count) memcpy(p->data, a->floats, count * 4);
  else if (count) memcpy(p->data, a->ints, count * 8);
  return ONYX_OK;
}

onyx_status op_infer_constant(ir_graph *g, ir_node *n)
{
  const constant_params *p = n->params;
  ir_tensor *y = ir_out(g, n, 0);
  if (!y) return ONYX_OK;
  if (p->tensor) {
    ir_tensor_set(y, p->tensor->dtype, p->tensor->ndim, p->tensor->dims);
    y->data = p->tensor->data;
  } else {
    ir_tensor_set(y, p->dtype, p->ndim, p->dims);
    y->data = (void *)p->data;
  }
  y->owns_data = false; /* the value lives in the node's attributes/params */
  y->is_const = true;
  return ONYX_OK;
}
