/* The op table: the single source of truth for which ONNX ops onyx knows.
 *
 * Each family file in ops/def/ lists its ops as
 *   OP(ENUM_ID, "OnnxName", parse_fn, infer_fn, cpu_kernel_fn)
 * parse_fn:  validates attributes (opset-aware) and fills node->params; may be op_parse_none.
 * infer_fn:  sets output dtypes and shapes from the inputs (whose values are
 *            available when they are constant); must not read non-constant data.
 * cpu_kernel_fn: the reference kernel in backend/cpu.
 * Backends keep arrays indexed by onyx_op; a NULL entry means unsupported. */
#ifndef ONYX_OPS_OPS_H
#define ONYX_OPS_OPS_H

#include "common/status.h"
#include "graph/ir.h"

typedef enum onyx_op {
#define OP(id, name, parse, infer, cpu) ONYX_OP_##id,
#include "ops/ops.def"
#undef OP
  ONYX_OP_COUNT
} onyx_op;

typedef onyx_status (*op_parse_fn)(ir_node *n);
typedef onyx_status (*op_infer_fn)(ir_graph *g, ir_node *n);

typedef struct op_def {
  const char *name;
  op_parse_fn parse;
  op_infer_fn infer;
} op_def;

extern const op_def op_table[ONYX_OP_COUNT];

/* Index into op_table, or -1 if (domain, op_type) is not an op onyx knows.
 * Internal ops (ops/def/fused.def) match only for domain ONYX_OP_DOMAIN;
 * ONNX ops only for "" or "ai.onnx". */
int op_lookup(const char *domain, const char *op_type);
#define ONYX_OP_DOMAIN "onyx"
/* ONYX_OP_DOMAIN for an internal op, "" for an ONNX op. */
const char *op_domain(int op);

/* Declarations of every parse and infer function named in the table. */
#define OP(id, name, parse, infer, cpu) \
  onyx_status parse(ir_node *n);        \
  onyx_status infer(ir_graph *g, ir_node *n);
#include "ops/ops.def"
#undef OP

/* ---- helpers for parse/infer functions ---- */
/* A node has no attributes to parse. */
onyx_status op_parse_none(ir_node *n);
/* Error with the node named: "Conv node 'conv1': <message>". */
onyx_status op_error(const ir_node *n, onyx_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Allocates zeroed params of the given size into n->params. */
void *op_params_alloc(ir_node *n, size_t size);
/* Checks that input i is present with a known shape; returns it. */
onyx_status op_need_input(ir_graph *g, const ir_node *n, int i, ir_tensor **t);
/* Input i must be present, constant and integer: its values are copied to out (cap). */
onyx_status op_const_ints(ir_graph *g, const ir_node *n, int i, int64_t *out, int cap, int *count);
/* Normalises an axis in [-rank, rank) to [0, rank). */
onyx_status op_axis(const ir_node *n, int64_t axis, int rank, int *out);
/* Multidirectional (numpy) broadcast of two shapes. */
onyx_status op_broadcast_shape(const ir_node *n, int na, const int64_t *a, int nb, const int64_t *b,
                               int *nout, int64_t *out);
/* Output 0 gets the dtype and shape of input 0. */
onyx_status op_infer_same_as_input(ir_graph *g, ir_node *n);

#endif
