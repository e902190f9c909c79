#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "engine/graph_io.h"
#include "engine/layout.h"
#include "engine/precision.h"

ir_graph *h_prepare(const onyx_model *m, cpu_ctx *cpu)
{
  ir_graph *g = ir_graph_clone(m->g);
  if (!g) return NULL;
  for (int i = 0; i < g->n_inputs; i++) {
    ir_tensor *t = &g->tensors[g->inputs[i]];
    for (int d = 0; d < t->ndim; d++)
      if (t->dims[d] < 0) t->dims[d] = 1;
  }
  if (graph_prepare(g, cpu) != ONYX_OK) {
    fprintf(stderr, "prepare failed: %s\n", onyx_last_error());
    ir_graph_free(g);
    return NULL;
  }
  return g;
}

void h_fill(float *v, int64_t n, uint64_t seed, float lo, float hi)
{
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (int64_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    double u = (double)(s >> 11) / (double)(1ull << 53);
    v[i] = (float)(lo + (hi - lo) * u);
  }
}

int h_inputs_make(const ir_graph *g, uint64_t seed, h_inputs *in)
{
  in->n = g->n_inputs;
  in->data = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof(float *));
  if (!in->data) return -1;
  for (int i = 0; i < g->n_inputs; i++) {
    const ir_tensor *t = &g->tensors[g->inputs[i]];
    if (t->dtype != ONYX_DTYPE_FLOAT) {
      fprintf(stderr, "input '%s' is %s: only float inputs are generated\n", t->name,
              onyx_dtype_name(t->dtype));
      return -1;
    }
    int64_t n = ir_tensor_numel(t);
    in->data[i] = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!in->data[i]) return -1;
    h_fill(in->data[i], n, seed + (uint64_t)i * 7919, -1.f, 1.f);
  }
  return 0;
}

void h_inputs_free(h_inputs *in)
{
  for (int i = 0; in->data && i < in->n; i++) free(in->data[i]);
  free(in->data);
  in->data = NULL;
}

int h_run(ir_graph *g, cpu_ctx *cpu, const h_inputs *in)
{
  for (int i = 0; i < g->n_tensors; i++) {
    ir_tensor *t = &g->tensors[i];
    if (t->is_const || t->data || t->ndim < 0 || t->producer < 0) continue;
    t->data = calloc(1, ir_tensor_bytes(t) ? ir_tensor_bytes(t) : 1);
    if (!t->data) return -1;
    t->owns_data = true;
  }
  for (int i = 0; i < g->n_inputs; i++) g->tensors[g->inputs[i]].data = in->data[i];
  for (int i = 0; i < g->n_nodes; i++) {
    const ir_node *n = &g->nodes[i];
    if (n->folded) continue;
    if (cpu_kernels[n->op](cpu, g, n) != ONYX_OK) {
      fprintf(stderr, "run failed: %s\n", onyx_last_error());
      return -1;
    }
  }
  return 0;
}

int64_t h_compare(const ir_graph *a, const ir_graph *b, double atol, double rtol, double *max_abs,
                  double *max_rel)
{
  int64_t bad = 0;
  *max_abs = *max_rel = 0;
  if (a->n_outputs != b->n_outputs) return -1;
  for (int o = 0; o < a->n_outputs; o++) {
    const ir_tensor *x = &a->tensors[a->outputs[o]], *y = &b->tensors[b->outputs[o]];
    int64_t n = ir_tensor_numel(x);
    if (strcmp(x->name, y->name) != 0 || n != ir_tensor_numel(y) || x->dtype != y->dtype || !x->data ||
        !y->data) {
      fprintf(stderr, "output %d: '%s' and '%s' do not match in name, size or type\n", o, x->name, y->name);
      return -1;
    }
    if (x->dtype != ONYX_DTYPE_FLOAT) { /* masks, shapes: exactly equal */
      if (memcmp(x->data, y->data, ir_tensor_bytes(x)) != 0) bad++;
      continue;
    }
    const float *p = x->data, *q = y->data;
    for (int64_t i = 0; i < n; i++) {
      double d = fabs((double)p[i] - (double)q[i]),
             r = d / (fabs((double)p[i]) > 1e-12 ? fabs((double)p[i]) : 1e-12);
      if (!(d <= atol + rtol * fabs((double)p[i]))) bad++;
      if (d > *max_abs || d != d) *max_abs = d;
      if (fabs((double)p[i]) > 1e-3 && r > *max_rel) *max_rel = r;
    }
  }
  return bad;
}

int h_count_op(const ir_graph *g, int op)
{
  int c = 0;
  for (int i = 0; i < g->n_nodes; i++) c += g->nodes[i].op == op;
  return c;
}

int h_find_node(const ir_graph *g, const char *name)
{
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].name && strcmp(g->nodes[i].name, name) == 0) return i;
  return -1;
}

ir_graph *h_engine_roundtrip(const ir_graph *g)
{
  eng_writer gw, ww;
  eng_writer_init(&gw);
  eng_writer_init(&ww);
  ir_graph *out = NULL;
  if (eng_graph_write(g, &gw, &ww) != ONYX_OK ||
      eng_graph_read(gw.data, gw.size, ww.data, ww.size, &out) != ONYX_OK) {
    fprintf(stderr, "engine round trip failed: %s\n", onyx_last_error());
    out = NULL;
  }
  eng_writer_free(&gw);
  eng_writer_free(&ww);
  return out;
}

int h_same_outputs(ir_graph *a, ir_graph *b, cpu_ctx *cpu, uint64_t seed, double atol, double rtol,
                   const char *what)
{
  h_inputs in = {0};
  int ok = h_inputs_make(a, seed, &in) == 0 && h_run(a, cpu, &in) == 0 && h_run(b, cpu, &in) == 0;
  if (!ok) printf("  %s: running the graphs failed\n", what);
  if (ok) {
    double ma, mr;
    int64_t bad = h_compare(a, b, atol, rtol, &ma, &mr);
    if (bad) printf("  %s: %lld output values differ (max abs %g, max rel %g)\n", what, (long long)bad, ma, mr);
    ok = bad == 0;
  }
  h_inputs_free(&in);
  return ok;
}

int h_roundtrip_same(const onyx_model *m, const ir_graph *fused, int op, int n_op, cpu_ctx *cpu, uint64_t seed,
                     double atol, double rtol, const char *what)
{
  ir_graph *rt = h_engine_roundtrip(fused), *ref = rt ? h_prepare(m, cpu) : NULL;
  int ok = rt && ref;
  if (!rt) printf("  %s: engine round trip failed\n", what);
  if (rt && h_count_op(rt, op) != n_op) {
    printf("  %s: %d nodes of the fused op after the engine round trip, expected %d\n", what, h_count_op(rt, op),
           n_op);
    ok = 0;
  }
  char w2[200];
  snprintf(w2, sizeof(w2), "%s (engine round trip)", what);
  if (ok) ok = h_same_outputs(ref, rt, cpu, seed, atol, rtol, w2);
  ir_graph_free(ref);
  ir_graph_free(rt);
  return ok;
}

ir_graph *h_fp16_graph(const onyx_model *m, const uint8_t *caps, cpu_ctx *cpu)
{
  ir_graph *g = h_prepare(m, cpu);
  if (!g) return NULL;
  precision_report pr;
  const layout_options lo = {.dtype = ONYX_DTYPE_FLOAT16, .all = true};
  onyx_status st = graph_optimize(g, ONYX_OPT_POINTWISE, NULL);
  if (st == ONYX_OK) st = precision_convert_fp16(g, &pr);
  if (st == ONYX_OK && caps) st = layout_assign_nhwc(g, caps, &lo, NULL);
  if (st != ONYX_OK) {
    printf("  specialising for FP16: %s\n", onyx_last_error());
    ir_graph_free(g);
    return NULL;
  }
  return g;
}
