/* FP16 engines: float activations and weights are stored as FLOAT16, the
 * engine's inputs and outputs stay FLOAT (Cast layers at the edges). */
#include "engine/precision.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ops/elementwise.h"

#define FP16_MAX 65504.0f
#define FP16_MIN_NORMAL 6.103515625e-05f

/* Inputs that ONNX types as float whatever the data type (Resize roi/scales,
 * Upsample scales): they stay FLOAT. */
static bool float_parameter(const ir_graph *g, int t)
{
  for (int i = 0; i < g->n_nodes; i++) {
    const ir_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_in; k++) {
      if (n->in[k] != t) continue;
      if (n->op == ONYX_OP_RESIZE && (k == 1 || k == 2)) return true;
      if (n->op == ONYX_OP_UPSAMPLE && k == 1) return true;
    }
  }
  return false;
}

static onyx_status convert_constant(ir_tensor *t, precision_report *r)
{
  int64_t n = ir_tensor_numel(t);
  uint16_t *h = onyx_malloc((size_t)(n ? n : 1) * sizeof(uint16_t));
  if (!h) return ONYX_ERR_NO_MEMORY;
  const float *f = t->data;
  for (int64_t i = 0; i < n; i++) {
    float a = fabsf(f[i]);
    if (a > FP16_MAX && isfinite(f[i])) r->overflow++;
    else if (a != 0.f && a < FP16_MIN_NORMAL) r->subnormal++;
    h[i] = onyx_float_to_half(f[i]);
  }
  if (t->owns_data) free(t->data);
  t->data = h;
  t->owns_data = true;
  t->dtype = ONYX_DTYPE_FLOAT16;
  r->weights_converted += n;
  return ONYX_OK;
}

/* Adds a Cast node src -> dst (to = dtype of dst). */
static onyx_status add_cast(ir_graph *g, int src, int dst, const char *name)
{
  ir_node n;
  memset(&n, 0, sizeof(n));
  n.name = onyx_strdup(name);
  n.op_type = onyx_strdup("Cast");
  n.domain = onyx_strdup("");
  n.in = onyx_malloc(sizeof(int));
  n.out = onyx_malloc(sizeof(int));
  n.attrs = onyx_calloc(1, sizeof(ir_attr));
  if (!n.name || !n.op_type || !n.domain || !n.in || !n.out || !n.attrs || !(n.attrs[0].name = onyx_strdup("to"))) {
    ir_node_clear(&n);
    return ONYX_ERR_NO_MEMORY;
  }
  n.op = ONYX_OP_CAST;
  n.opset = 13;
  n.n_in = n.n_out = n.n_attrs = 1;
  n.owns_node_data = true; /* its attrs and params are freed with it, also in a cloned graph */
  n.in[0] = src;
  n.out[0] = dst;
  n.attrs[0].type = IR_ATTR_INT;
  n.attrs[0].i = g->tensors[dst].dtype;
  onyx_status st = op_table[ONYX_OP_CAST].parse(&n);
  if (st == ONYX_OK && ir_add_node(g, &n) < 0) st = ONYX_ERR_NO_MEMORY;
  if (st != ONYX_OK) ir_node_clear(&n);
  return st;
}

/* A FLOAT16 twin of tensor t named "<t>:fp16"; returns its index or -1. */
static int add_half_twin(ir_graph *g, int t)
{
  char name[512];
  snprintf(name, sizeof(name), "%s:fp16", g->tensors[t].name);
  int h = ir_add_tensor(g, name);
  if (h < 0) return -1;
  const ir_tensor *src = &g->tensors[t]; /* re-read: ir_add_tensor may move the array */
  ir_tensor_set(&g->tensors[h], ONYX_DTYPE_FLOAT16, src->ndim, src->dims);
  return h;
}

static void replace_uses(ir_graph *g, int from, int to, int skip_node)
{
  for (int i = 0; i < g->n_nodes; i++) {
    if (i == skip_node) continue;
    for (int k = 0; k < g->nodes[i].n_in; k++)
      if (g->nodes[i].in[k] == from) g->nodes[i].in[k] = to;
  }
}

/* A FLOAT twin "<t>:fp32" of a FLOAT16 tensor; returns its index or -1. */
static int add_float_twin(ir_graph *g, int t)
{
  char name[512];
  snprintf(name, sizeof(name), "%s:fp32", g->tensors[t].name);
  int f = ir_get_or_add_tensor(g, name);
  if (f < 0) return -1;
  const ir_tensor *src = &g->tensors[t];
  ir_tensor_set(&g->tensors[f], ONYX_DTYPE_FLOAT, src->ndim, src->dims);
  return f;
}

/* Whether one of n's float constants holds a finite value beyond FP16's range. */
static bool overflows_fp16(const ir_graph *g, const ir_node *n)
{
  for (int k = 0; k < n->n_in; k++) {
    int t = n->in[k];
    if (t < 0) continue;
    const ir_tensor *x = &g->tensors[t];
    if (!x->is_const || !x->data || x->dtype != ONYX_DTYPE_FLOAT || float_parameter(g, t)) continue;
    const float *f = x->data;
    for (int64_t i = 0; i < ir_tensor_numel(x); i++)
      if (isfinite(f[i]) && fabsf(f[i]) > FP16_MAX) return true;
  }
  return false;
}

static void note_name(char (*names)[PRECISION_NAME_MAX], int *count, const char *name)
{
  for (int i = 0; i < *count && i < PRECISION_NAMES; i++)
    if (!strcmp(names[i], name)) return;
  if (*count < PRECISION_NAMES) snprintf(names[*count], PRECISION_NAME_MAX, "%s", name);
  (*count)++;
}

/* A node kept in FP32 reads FLOAT16 activations through Casts to FLOAT, and
 * FP16 consumers read its FLOAT outputs through Casts to FLOAT16. */
static onyx_status isolate_fp32_node(ir_graph *g, int ni, const bool *keep, int n_orig, precision_report *r)
{
  for (int k = 0; k < g->nodes[ni].n_in; k++) {
    int t = g->nodes[ni].in[k];
    if (t < 0 || g->tensors[t].dtype != ONYX_DTYPE_FLOAT16) continue;
    int f = add_float_twin(g, t);
    if (f < 0) return ONYX_ERR_NO_MEMORY;
    g->nodes[ni].in[k] = f;
    if (g->tensors[f].producer < 0) { /* first node of the island to read t */
      char name[512];
      snprintf(name, sizeof(name), "%s:to_fp32", g->tensors[t].name);
      ONYX_TRY(add_cast(g, t, f, name));
      g->tensors[f].producer = g->n_nodes - 1;
      r->casts_added++;
    }
  }
  for (int k = 0; k < g->nodes[ni].n_out; k++) {
    int t = g->nodes[ni].out[k];
    if (t < 0 || g->tensors[t].dtype != ONYX_DTYPE_FLOAT) continue;
    bool half_reader = false; /* Casts added so far read FLOAT16 tensors only: the original nodes decide */
    for (int j = 0; j < n_orig && !half_reader; j++)
      for (int m = 0; m < g->nodes[j].n_in && !keep[j]; m++)
        if (g->nodes[j].in[m] == t) half_reader = true;
    if (!half_reader) continue;
    int h = add_half_twin(g, t);
    if (h < 0) return ONYX_ERR_NO_MEMORY;
    for (int j = 0; j < n_orig; j++)
      if (!keep[j])
        for (int m = 0; m < g->nodes[j].n_in; m++)
          if (g->nodes[j].in[m] == t) g->nodes[j].in[m] = h;
    char name[512];
    snprintf(name, sizeof(name), "%s:to_fp16", g->tensors[t].name);
    ONYX_TRY(add_cast(g, t, h, name));
    r->casts_added++;
  }
  return ONYX_OK;
}

onyx_status precision_convert_fp16(ir_graph *g, precision_report *r)
{
  memset(r, 0, sizeof(*r));
  int n_tensors = g->n_tensors, n_nodes = g->n_nodes;
  onyx_status st = ONYX_OK;
  bool *keep = onyx_calloc((size_t)n_nodes + 1, sizeof(bool));     /* nodes that stay FP32 */
  bool *stay = onyx_calloc((size_t)n_tensors + 1, sizeof(bool));   /* tensors that stay FLOAT */
  if (!keep || !stay) {
    st = ONYX_ERR_NO_MEMORY;
    goto out;
  }
  for (int i = 0; i < n_nodes; i++) {
    const ir_node *n = &g->nodes[i];
    if (n->folded || !overflows_fp16(g, n)) continue;
    keep[i] = true;
    note_name(r->fp32_layers, &r->n_fp32_layers, n->name);
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] >= 0 && g->tensors[n->in[k]].is_const) stay[n->in[k]] = true;
    for (int k = 0; k < n->n_out; k++)
      if (n->out[k] >= 0) stay[n->out[k]] = true;
  }
  for (int t = 0; t < n_tensors; t++) {
    ir_tensor *x = &g->tensors[t];
    if (x->dtype != ONYX_DTYPE_FLOAT || stay[t] || ir_is_graph_io(g, t) || float_parameter(g, t)) continue;
    if (x->is_const && x->data) {
      int64_t before = r->subnormal;
      if ((st = convert_constant(x, r)) != ONYX_OK) goto out;
      if (r->subnormal > before) /* name the layers that read it */
        for (int i = 0; i < n_nodes; i++)
          for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == t) note_name(r->subnormal_layers, &r->n_subnormal_layers, g->nodes[i].name);
    } else {
      x->dtype = ONYX_DTYPE_FLOAT16;
    }
  }
  for (int i = 0; i < n_nodes && st == ONYX_OK; i++)
    if (keep[i]) st = isolate_fp32_node(g, i, keep, n_nodes, r);
  if (st != ONYX_OK) goto out;
  /* edges: FLOAT graph inputs are cast to FLOAT16 for their FP16 consumers ... */
  for (int i = 0; i < g->n_inputs; i++) {
    int t = g->inputs[i];
    if (g->tensors[t].dtype != ONYX_DTYPE_FLOAT) continue;
    int h = add_half_twin(g, t);
    if (h < 0) {
      st = ONYX_ERR_NO_MEMORY;
      goto out;
    }
    for (int j = 0; j < n_nodes; j++) /* the FP32 nodes read it as it is */
      if (!keep[j])
        for (int m = 0; m < g->nodes[j].n_in; m++)
          if (g->nodes[j].in[m] == t) g->nodes[j].in[m] = h;
    char name[512];
    snprintf(name, sizeof(name), "%s:to_fp16", g->tensors[t].name);
    if ((st = add_cast(g, t, h, name)) != ONYX_OK) goto out;
    r->casts_added++;
  }
  /* ... and FLOAT graph outputs computed in FLOAT16 are cast back */
  for (int i = 0; i < g->n_outputs; i++) {
    int t = g->outputs[i];
    ir_tensor *y = &g->tensors[t];
    if (y->dtype != ONYX_DTYPE_FLOAT || y->is_const || y->producer < 0 || y->producer >= n_nodes ||
        keep[y->producer])
      continue;
    bool is_input = false;
    for (int k = 0; k < g->n_inputs; k++) is_input |= g->inputs[k] == t;
    if (is_input) continue;
    int p = y->producer;
    int h = add_half_twin(g, t);
    if (h < 0) {
      st = ONYX_ERR_NO_MEMORY;
      goto out;
    }
    for (int k = 0; k < g->nodes[p].n_out; k++)
      if (g->nodes[p].out[k] == t) g->nodes[p].out[k] = h;
    replace_uses(g, t, h, -1);
    char name[512];
    snprintf(name, sizeof(name), "%s:to_fp32", g->tensors[t].name);
    if ((st = add_cast(g, h, t, name)) != ONYX_OK) goto out;
    r->casts_added++;
  }
  st = graph_toposort(g);
out:
  free(keep);
  free(stay);
  return st;
}
