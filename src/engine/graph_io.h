/* An ir_graph as engine sections: the graph (structure, attributes) and the weights (constant data).
 *
 * Graph section (all little-endian; "str" is u32 length + bytes; "idx" is a u32 tensor index with
 * 0xffffffff for -1, an omitted input or output):
 *   u32 tag "GRPH" | u32 ENG_GRAPH_VERSION
 *   i64 ir_version | str producer_name | str producer_version | str graph_name
 *   u32 opset count, each: str domain | i64 version
 *   u32 tensor count, each a tensor record:
 *     str name | u32 dtype | u8 rank (0xff: unknown) | rank x i64 dim (-1: unknown)
 *     rank x (u8 has_dim_param [| str dim_param]) | u8 flags (ENG_TF_*)
 *     [ENG_TF_DATA: u64 offset | u64 size, into the weights section]
 *   u32 node count, each:
 *     str name | str op_type | str domain | i64 opset | u8 flags (bit 0: folded)
 *     u32 n_in, n_in x idx | u32 n_out, n_out x idx
 *     u32 attribute count, each: str name | u8 ir_attr_type | value:
 *       FLOAT f32 | INT i64 | STRING str | FLOATS u32 n, n x f32 | INTS u32 n, n x i64 |
 *       STRINGS u32 n, n x str | TENSOR a tensor record | UNDEFINED, OTHER nothing
 *   u32 graph input count, each u32 index | u32 graph output count, each u32 index
 *
 * Ops are stored by (domain, op_type) and looked up by name when read, never by onyx_op number (the
 * numbers change between builds); each node's parse() is run again to rebuild n->params.  Tensor
 * producers and the name hash are rebuilt, not stored.  Run-time buffers are not stored: a tensor's
 * data is stored only when it is constant (is_const with data).
 *
 * Weights section: the constant data, each blob at an offset that is a multiple of ENG_GRAPH_ALIGN from
 * the section start, zero padding between.  Tensors sharing one data pointer (a Constant's output and its
 * value attribute, a clone's borrowed initializers) share one blob: each array is stored once. */
#ifndef ONYX_ENGINE_GRAPH_IO_H
#define ONYX_ENGINE_GRAPH_IO_H

#include <stddef.h>

#include "engine/codec.h"
#include "graph/ir.h"

#define ENG_GRAPH_TAG 0x48505247u /* "GRPH" as little-endian bytes */
#define ENG_GRAPH_VERSION 1u
#define ENG_GRAPH_ALIGN 256u

/* Tensor record flags. */
enum {
  ENG_TF_CONST = 1u << 0,
  ENG_TF_INITIALIZER = 1u << 1,
  ENG_TF_VALUE_WANTED = 1u << 2,
  ENG_TF_DATA = 1u << 3, /* an offset and size into the weights section follow */
};

/* Appends g to graph_section and its constant data to weights_section (offsets are relative to the
 * start of weights_section, which should be empty or end 256-byte aligned).  A graph that breaks the
 * IR's own invariants (index out of range, constant data of unknown shape) is ONYX_ERR_INTERNAL.  On
 * failure the writers hold partial output: free them. */
onyx_status eng_graph_write(const ir_graph *g, eng_writer *graph_section, eng_writer *weights_section);

/* Rebuilds a graph from the two sections (untrusted bytes).  Every count, index, offset, size, dtype,
 * rank and flag is checked against the bytes present, and the structure against the IR's rules (unique
 * tensor names, one producer per tensor, nodes in topological order, folded nodes' outputs stored, graph
 * inputs not produced by a node); a violation is ONYX_ERR_PARSE naming the field, an op this build lacks
 * is ONYX_ERR_UNSUPPORTED naming node and op, and parse() refusals pass through.  Nothing is allocated
 * beyond what the bytes present can back.
 *
 * Constant data is copied out of weights into buffers the graph owns (the sections may be freed after).
 * Tensors that shared a blob share one copy again: one of them owns it (an attribute tensor before a
 * graph tensor), the others borrow it, so the whole graph must be freed together.
 *
 * Shapes and folded values are read as stored, not re-inferred or recomputed: the reader guarantees a
 * well-formed graph (every index in range, every stored array exactly the size its shape and dtype
 * say), not that the stored shapes agree with what the ops would infer.  The file's checksums guard
 * against corruption; a runtime that executes engines from untrusted sources must re-infer shapes
 * (graph_prepare on a clone whose folded values are dropped) rather than trust them. */
onyx_status eng_graph_read(const void *graph, size_t graph_size, const void *weights, size_t weights_size,
                           ir_graph **out);

#endif
