#ifndef ONYX_RUNTIME_MODEL_H
#define ONYX_RUNTIME_MODEL_H

#include "graph/ir.h"

struct onyx_model {
  ir_graph *g;
  const char **opset_domains; /* views into g->opsets for onyx_model_meta */
  int64_t *opset_versions;
  int64_t n_params, param_bytes;
};

/* Fills info from a graph tensor (pointers stay owned by the graph). */
void model_tensor_info(const ir_tensor *t, onyx_tensor_info *info);

/* Wraps a graph (not from the ONNX loader: e.g. one read back from an engine file) as a model, with the
 * checks onyx_model_load does after loading.  Takes ownership of g, also on failure. */
onyx_status model_from_graph(ir_graph *g, onyx_model **out);

#endif
