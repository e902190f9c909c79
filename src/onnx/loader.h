/* ONNX (protobuf) -> IR.  All validation of untrusted model bytes lives here. */
#ifndef ONYX_ONNX_LOADER_H
#define ONYX_ONNX_LOADER_H

#include "graph/ir.h"

/* Decodes and validates a model.  base_dir: directory for external data
 * (NULL: external data is refused).  On success *out is a graph whose nodes
 * are topologically sorted, whose ops are all known and whose attributes are
 * parsed. */
onyx_status onnx_load_graph(const void *data, size_t size, const char *base_dir, ir_graph **out);

/* Decodes a serialized TensorProto (as in the ONNX test data's .pb files)
 * into a standalone tensor (caller frees with ir_tensor_clear). */
onyx_status onnx_load_tensor(const void *data, size_t size, ir_tensor *out);


#endif
