/* Public model API: load, validate, describe. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "common/util.h"
#include "graph/prepare.h"
#include "onnx/loader.h"
#include "runtime/model.h"

#define MAX_MODEL_BYTES ((size_t)2 << 30) /* protobuf's own 2 GiB message limit */

const char *onyx_version_string(void) { return "0.1.0"; }

void model_tensor_info(const ir_tensor *t, onyx_tensor_info *info)
{
  memset(info, 0, sizeof(*info));
  info->name = t->name;
  info->dtype = t->dtype;
  info->ndim = t->ndim;
  for (int i = 0; i < t->ndim && i < ONYX_MAX_DIMS; i++) {
    info->dims[i] = t->dims[i];
    info->dim_params[i] = t->dim_param[i];
  }
}

/* When every input shape is static, infer shapes now on a copy, so that a
 * model with inconsistent shapes is refused at load, not at first run (unless
 * shapes depend on an input's value). */
static onyx_status check_static_shapes(const ir_graph *g)
{
  for (int i = 0; i < g->n_inputs; i++)
    if (!ir_shape_known(&g->tensors[g->inputs[i]])) return ONYX_OK;
  ir_graph *c = ir_graph_clone(g);
  if (!c) return ONYX_ERR_NO_MEMORY;
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 0);
  onyx_status st = graph_prepare(c, &cpu);
  cpu_ctx_free(&cpu);
  /* a graph input used as a shape (Resize's sizes, ...) is known only at run */
  for (int i = 0; st != ONYX_OK && i < c->n_inputs; i++)
    if (c->tensors[c->inputs[i]].value_wanted) st = ONYX_OK;
  ir_graph_free(c);
  return st;
}

onyx_status model_from_graph(ir_graph *g, onyx_model **out)
{
  onyx_model *m = onyx_calloc(1, sizeof(*m));
  if (!m) {
    ir_graph_free(g);
    return ONYX_ERR_NO_MEMORY;
  }
  m->g = g;
  m->opset_domains = onyx_calloc((size_t)(g->n_opsets ? g->n_opsets : 1), sizeof(char *));
  m->opset_versions = onyx_calloc((size_t)(g->n_opsets ? g->n_opsets : 1), sizeof(int64_t));
  if (!m->opset_domains || !m->opset_versions) {
    onyx_model_free(m);
    return ONYX_ERR_NO_MEMORY;
  }
  for (int i = 0; i < g->n_opsets; i++) {
    m->opset_domains[i] = g->opsets[i].domain;
    m->opset_versions[i] = g->opsets[i].version;
  }
  /* parameters: initializers and Constant values */
  for (int i = 0; i < g->n_tensors; i++) {
    const ir_tensor *t = &g->tensors[i];
    if (!t->is_initializer) continue;
    m->n_params += ir_tensor_numel(t);
    m->param_bytes += (int64_t)ir_tensor_bytes(t);
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const ir_node *n = &g->nodes[i];
    if (n->op != ONYX_OP_CONSTANT) continue;
    for (int k = 0; k < n->n_attrs; k++)
      if (n->attrs[k].type == IR_ATTR_TENSOR) {
        m->n_params += ir_tensor_numel(n->attrs[k].t);
        m->param_bytes += (int64_t)ir_tensor_bytes(n->attrs[k].t);
      }
  }
  onyx_status st = check_static_shapes(g);
  if (st != ONYX_OK) {
    onyx_model_free(m);
    return st;
  }
  *out = m;
  return ONYX_OK;
}

onyx_status onyx_model_load_memory(const void *data, size_t size, const char *base_dir, onyx_model **out)
{
  if (!out || (!data && size)) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_model_load_memory: NULL argument");
  *out = NULL;
  ir_graph *g;
  ONYX_TRY(onnx_load_graph(data, size, base_dir, &g));
  return model_from_graph(g, out);
}

onyx_status onyx_model_load(const char *path, onyx_model **out)
{
  if (!path || !out) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_model_load: NULL argument");
  *out = NULL;
  void *buf;
  size_t size;
  ONYX_TRY(onyx_read_file(path, MAX_MODEL_BYTES, &buf, &size));
  char *dir_copy = onyx_strdup(path);
  if (!dir_copy) {
    free(buf);
    return ONYX_ERR_NO_MEMORY;
  }
  onyx_status st = onyx_model_load_memory(buf, size, dirname(dir_copy), out);
  free(dir_copy);
  free(buf);
  if (st != ONYX_OK) return onyx_error_context(st, "%s", path);
  return ONYX_OK;
}

void onyx_model_free(onyx_model *m)
{
  if (!m) return;
  ir_graph_free(m->g);
  free(m->opset_domains);
  free(m->opset_versions);
  free(m);
}

onyx_status onyx_model_get_meta(const onyx_model *m, onyx_model_meta *meta)
{
  if (!m || !meta) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_model_get_meta: NULL argument");
  memset(meta, 0, sizeof(*meta));
  meta->ir_version = m->g->ir_version;
  meta->producer_name = m->g->producer_name;
  meta->producer_version = m->g->producer_version;
  meta->graph_name = m->g->graph_name;
  meta->n_opsets = m->g->n_opsets;
  meta->opset_domains = m->opset_domains;
  meta->opset_versions = m->opset_versions;
  meta->n_nodes = m->g->n_nodes;
  meta->n_params = m->n_params;
  meta->param_bytes = m->param_bytes;
  meta->n_props = m->g->n_meta;
  meta->prop_keys = (const char *const *)m->g->meta_keys;
  meta->prop_values = (const char *const *)m->g->meta_values;
  return ONYX_OK;
}

int onyx_model_num_inputs(const onyx_model *m) { return m ? m->g->n_inputs : 0; }
int onyx_model_num_outputs(const onyx_model *m) { return m ? m->g->n_outputs : 0; }

onyx_status onyx_model_input(const onyx_model *m, int i, onyx_tensor_info *info)
{
  if (!m || !info || i < 0 || i >= m->g->n_inputs)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_model_input: no input %d", i);
  model_tensor_info(&m->g->tensors[m->g->inputs[i]], info);
  return ONYX_OK;
}

onyx_status onyx_model_output(const onyx_model *m, int i, onyx_tensor_info *info)
{
  if (!m || !info || i < 0 || i >= m->g->n_outputs)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_model_output: no output %d", i);
  model_tensor_info(&m->g->tensors[m->g->outputs[i]], info);
  return ONYX_OK;
}

onyx_status onyx_model_node(const onyx_model *m, int i, onyx_node_info *info)
{
  if (!m || !info || i < 0 || i >= m->g->n_nodes)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_model_node: no node %d", i);
  info->name = m->g->nodes[i].name;
  info->op_type = m->g->nodes[i].op_type;
  info->domain = m->g->nodes[i].domain;
  return ONYX_OK;
}
