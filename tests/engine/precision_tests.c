/* FP16 conversion of a prepared graph (src/engine/precision.c), GPU-free:
 * activations and weights become FLOAT16, graph I/O stays FLOAT behind Casts,
 * subnormal weights are counted with their layers named, and a layer whose
 * weights overflow FP16 stays FP32 with Casts around it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../unit/model_builder.h"
#include "engine/precision.h"
#include "runtime/model.h"


#include "../unit/check.h"

static const ir_node *find_node(const ir_graph *g, const char *name)
{
  for (int i = 0; i < g->n_nodes; i++)
    if (!strcmp(g->nodes[i].name, name)) return &g->nodes[i];
  return NULL;
}

static int count_op(const ir_graph *g, int op)
{
  int n = 0;
  for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i].op == op;
  return n;
}

/* x -> Conv(w1: ordinary, one subnormal value) -> Relu -> Conv(w2: one value 1e6) -> y */
static onyx_model *build(void)
{
  mb *b = mb_new(13);
  float w1[4 * 3 * 3 * 3], w2[2 * 4];
  for (int i = 0; i < 108; i++) w1[i] = 0.01f * (float)(i % 7) - 0.03f;
  w1[5] = 1e-6f; /* below FP16's smallest normal (6.1e-5) */
  for (int i = 0; i < 8; i++) w2[i] = 0.5f;
  w2[3] = 1e6f; /* beyond FP16's range */
  mb_input(b, "x", 1, "1,3,8,8");
  mb_output(b, "y", 1, "1,2,6,6");
  mb_init(b, "w1", 1, "4,3,3,3", w1);
  mb_init(b, "w2", 1, "2,4,1,1", w2);
  mb_node(b, "Conv", "conv1", "x,w1", "c1");
  mb_node(b, "Relu", "relu1", "c1", "r1");
  mb_node(b, "Conv", "conv2", "r1,w2", "y");
  onyx_model *m = NULL;
  onyx_status st = mb_load(b, &m);
  mb_free(b);
  CHECKF(st == ONYX_OK, "load: %s", onyx_last_error());
  return m;
}

int main(void)
{
  onyx_model *m = build();
  if (!m) return 1;
  ir_graph *g = ir_graph_clone(m->g);
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 1);
  CHECKF(graph_prepare(g, &cpu) == ONYX_OK, "prepare: %s", onyx_last_error());
  precision_report r;
  CHECKF(precision_convert_fp16(g, &r) == ONYX_OK, "convert: %s", onyx_last_error());

  /* graph I/O stays FLOAT */
  CHECKF(g->tensors[g->inputs[0]].dtype == ONYX_DTYPE_FLOAT, "input dtype");
  CHECKF(g->tensors[g->outputs[0]].dtype == ONYX_DTYPE_FLOAT, "output dtype");
  /* conv1 and relu run in FP16 */
  const ir_node *c1 = find_node(g, "conv1"), *c2 = find_node(g, "conv2");
  CHECKF(c1 && g->tensors[c1->in[0]].dtype == ONYX_DTYPE_FLOAT16, "conv1 reads FLOAT16 x (through a Cast)");
  CHECKF(c1 && g->tensors[c1->in[1]].dtype == ONYX_DTYPE_FLOAT16, "conv1's weights are FLOAT16");
  CHECKF(c1 && g->tensors[c1->out[0]].dtype == ONYX_DTYPE_FLOAT16, "conv1 writes FLOAT16");
  /* conv2's weights overflow: it stays FP32, reading relu's FLOAT16 output through a Cast */
  CHECKF(r.n_fp32_layers == 1 && !strcmp(r.fp32_layers[0], "conv2"), "fp32 layers: %d (%s)", r.n_fp32_layers,
        r.n_fp32_layers ? r.fp32_layers[0] : "");
  CHECKF(c2 && g->tensors[c2->in[1]].dtype == ONYX_DTYPE_FLOAT, "conv2 keeps FLOAT weights");
  CHECKF(c2 && g->tensors[c2->in[0]].dtype == ONYX_DTYPE_FLOAT, "conv2 reads FLOAT");
  CHECKF(c2 && ((const float *)g->tensors[c2->in[1]].data)[3] == 1e6f, "conv2's weights unchanged");
  /* casts: x -> fp16, relu's output -> fp32; conv2 writes y directly */
  CHECKF(count_op(g, ONYX_OP_CAST) == 2, "%d Casts, expected 2", count_op(g, ONYX_OP_CAST));
  CHECKF(r.casts_added == 2, "report: %d casts", r.casts_added);
  /* the subnormal weight is counted and its layer named */
  CHECKF(r.subnormal == 1 && r.n_subnormal_layers == 1 && !strcmp(r.subnormal_layers[0], "conv1"),
        "subnormal %lld in %d layers", (long long)r.subnormal, r.n_subnormal_layers);
  CHECKF(r.weights_converted == 108, "converted %lld weights", (long long)r.weights_converted);
  /* still a valid, sorted graph: every input produced before its reader */
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_in; k++) {
      int t = g->nodes[i].in[k];
      CHECKF(t < 0 || g->tensors[t].producer < i, "node %s reads %s before it is made", g->nodes[i].name,
            g->tensors[t].name);
    }
  cpu_ctx_free(&cpu);
  ir_graph_free(g);
  onyx_model_free(m);
  printf("%s\n", check_failures_ ? "precision: FAILED" : "precision: all checks passed");
  return check_failures_ ? 1 : 0;
}
