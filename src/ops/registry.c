/* The op table built from ops.def, its lookup, and helpers shared by ops. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ops/ops.h"

const op_def op_table[ONYX_OP_COUNT] = {
#define OP(id, onnx_name, parse, infer, cpu) [ONYX_OP_##id] = {onnx_name, parse, infer},
#include "ops/ops.def"
#undef OP
};

/* Which ops are onyx-internal (OP_INTERNAL in ops.def, domain "onyx"): the
 * same list read a second time, so the op table itself needs no domain field. */
static const bool op_internal[ONYX_OP_COUNT] = {
#define OP(id, onnx_name, parse, infer, cpu) [ONYX_OP_##id] = false,
#define OP_INTERNAL(id, onnx_name, parse, infer, cpu) [ONYX_OP_##id] = true,
#include "ops/ops.def"
#undef OP_INTERNAL
#undef OP
};

const char *op_domain(int op) { return op >= 0 && op < ONYX_OP_COUNT && op_internal[op] ? ONYX_OP_DOMAIN : ""; }

int op_lookup(const char *domain, const char *op_type)
{
  bool internal = domain && strcmp(domain, ONYX_OP_DOMAIN) == 0;
  if (!internal && domain && domain[0] && strcmp(domain, "ai.onnx") != 0) return -1;
  for (int i = 0; i < ONYX_OP_COUNT; i++)
    if (op_internal[i] == internal && strcmp(op_table[i].name, op_type) == 0) return i;
  return -1;
}

onyx_status op_parse_none(ir_node *n) { return ONYX_OK; }

onyx_status op_error(const ir_node *n, onyx_status s, const char *fmt, ...)
{
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return onyx_error(s, "%s node '%s': %s", n->op_type, n->name, msg);
}

void *op_params_alloc(ir_node *n, size_t size)
{
  free(n->params);
  n->params = onyx_calloc(1, size);
  return n->params;
}

onyx_status op_need_input(ir_graph *g, const ir_node *n, int i, ir_tensor **t)
{
  ir_tensor *x = ir_in(g, n, i);
  if (!x) return op_error(n, ONYX_ERR_INVALID_MODEL, "input %d is required but missing", i);
  if (!ir_shape_known(x))
    return op_error(n, ONYX_ERR_SHAPE, "shape of input %d ('%s') is not known", i, x->name);
  *t = x;
  return ONYX_OK;
}

onyx_status op_const_ints(ir_graph *g, const ir_node *n, int i, int64_t *out, int cap, int *count)
{
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, i, &x));
  if (!x->is_const) x->value_wanted = true; /* a session may specialise on a graph input's value */
  if (!x->is_const || !x->data)
    return op_error(n, ONYX_ERR_UNSUPPORTED,
                    "input %d ('%s') must be a constant (data-dependent shapes are not supported)",
                    i, x->name);
  switch (x->dtype) {
  case ONYX_DTYPE_INT64:
  case ONYX_DTYPE_INT32:
  case ONYX_DTYPE_INT16:
  case ONYX_DTYPE_INT8:
  case ONYX_DTYPE_UINT8: break;
  default:
    return op_error(n, ONYX_ERR_SHAPE, "input %d ('%s') must be an integer tensor, not %s", i,
                    x->name, onyx_dtype_name(x->dtype));
  }
  int64_t cnt = ir_tensor_numel(x);
  if (cnt > cap)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "input %d ('%s') has %lld values, at most %d supported",
                    i, x->name, (long long)cnt, cap);
  for (int64_t k = 0; k < cnt; k++) out[k] = ir_tensor_get_i64(x, k);
  *count = (int)cnt;
  return ONYX_OK;
}

onyx_status op_axis(const ir_node *n, int64_t axis, int rank, int *out)
{
  if (axis < -rank || axis >= rank || (rank == 0 && axis != 0))
    return op_error(n, ONYX_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return ONYX_OK;
}

onyx_status op_broadcast_shape(const ir_node *n, int na, const int64_t *a, int nb, const int64_t *b,
                               int *nout, int64_t *out)
{
  int nr = na > nb ? na : nb;
  for (int i = 0; i < nr; i++) {
    int ia = i - (nr - na), ib = i - (nr - nb);
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      char sa[128], sb[128];
      return op_error(n, ONYX_ERR_SHAPE, "shapes %s and %s cannot be broadcast (dimension %d: %lld vs %lld)",
                      onyx_dims_str(na, a, sa, sizeof(sa)), onyx_dims_str(nb, b, sb, sizeof(sb)), i,
                      (long long)da, (long long)db);
    }
  }
  *nout = nr;
  return ONYX_OK;
}

onyx_status op_infer_same_as_input(ir_graph *g, ir_node *n)
{
  ir_tensor *x;
  ONYX_TRY(op_need_input(g, n, 0, &x));
  ir_tensor *y = ir_out(g, n, 0);
  if (y) ir_tensor_set(y, x->dtype, x->ndim, x->dims);
  return ONYX_OK;
}
