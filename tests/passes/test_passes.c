/* Graph passes on small hand-made models: the structure after each pass (node
 * count, op kinds, fused names joined by " + ") and the numbers (the optimised
 * graph and the original, both on the CPU backend, seeded random inputs, within
 * atol 1e-5 + rtol 1e-4).  Also the fused ops loaded directly (domain "onyx")
 * against their unfused equivalents, and their malformed forms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"
#include "model_builder.h"
#include "ops/fused.h"

#define F ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define ATOL 1e-5
#define RTOL 1e-4

static uint64_t seed_counter = 1;

/* An initializer of random values in [lo, hi). */
static void rand_init(mb *b, const char *name, const char *shape, float lo, float hi)
{
  int64_t n = 1;
  for (const char *p = shape; *p;) {
    n *= strtoll(p, (char **)&p, 10);
    if (*p == ',') p++;
  }
  float *v = malloc((size_t)(n ? n : 1) * sizeof(float));
  h_fill(v, n, seed_counter++ * 1000003u, lo, hi);
  mb_init(b, name, F, shape, v);
  free(v);
}

static void const_init(mb *b, const char *name, const char *shape, float v)
{
  mb_init(b, name, F, shape, &v);
}

static void attr_floats(mb *b, Onnx__NodeProto *n, const char *name, size_t count, const float *v)
{
  mb_attr_float(b, n, name, 0.f);
  Onnx__AttributeProto *a = n->attribute[n->n_attribute - 1];
  a->has_f = 0;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
  a->n_floats = count;
  a->floats = mb_alloc(b, (count ? count : 1) * sizeof(float));
  memcpy(a->floats, v, count * sizeof(float));
}

static void pads1(mb *b, Onnx__NodeProto *n)
{
  static const int64_t p[4] = {1, 1, 1, 1};
  mb_attr_ints(b, n, "pads", 4, p);
}

/* A model, its graph prepared (ref) and prepared + optimised (opt), both run. */
typedef struct trial {
  onyx_model *m;
  ir_graph *ref, *opt;
  pass_log log;
  cpu_ctx cpu;
  double max_abs;
} trial;

static void trial_free(trial *t)
{
  ir_graph_free(t->ref);
  ir_graph_free(t->opt);
  onyx_model_free(t->m);
  pass_log_free(&t->log);
  cpu_ctx_free(&t->cpu);
  memset(t, 0, sizeof(*t));
}

/* Loads b, optimises at level, runs both graphs, checks the outputs agree.  1 on success. */
static int trial_run(mb *b, int level, const char *what, trial *t)
{
  memset(t, 0, sizeof(*t));
  pass_log_init(&t->log);
  cpu_ctx_init(&t->cpu, 0);
  if (!CHECK_OK(mb_load(b, &t->m))) return 0;
  t->ref = h_prepare(t->m, &t->cpu);
  t->opt = h_prepare(t->m, &t->cpu);
  CHECK(t->ref && t->opt);
  if (!t->ref || !t->opt) return 0;
  if (!CHECK_OK(graph_optimize(t->opt, level, &t->log))) return 0;
  h_inputs in;
  int ok = h_inputs_make(t->ref, 42 + seed_counter, &in) == 0 && h_run(t->ref, &t->cpu, &in) == 0 &&
           h_run(t->opt, &t->cpu, &in) == 0;
  CHECK(ok);
  if (ok) {
    double mr;
    int64_t bad = h_compare(t->ref, t->opt, ATOL, RTOL, &t->max_abs, &mr);
    if (bad != 0)
      fprintf(stderr, "%s: %lld output values differ (max abs %g)\n", what, (long long)bad, t->max_abs);
    CHECK_EQ_I64(bad, 0);
  }
  h_inputs_free(&in);
  return ok;
}

/* The node of g named name has op op (and exists). */
static int check_node(const ir_graph *g, const char *name, int op, const char *what)
{
  int i = h_find_node(g, name);
  if (i < 0) {
    fprintf(stderr, "%s: no node named '%s'; nodes are:\n", what, name);
    for (int k = 0; k < g->n_nodes; k++)
      fprintf(stderr, "  %s '%s'\n", g->nodes[k].op_type, g->nodes[k].name);
  }
  CHECK(i >= 0);
  if (i >= 0) CHECK_EQ_I64(g->nodes[i].op, op);
  return i;
}

/* ---- Identity / Dropout ---- */

static void test_identity(void)
{
  mb *b = mb_new(13);
  mb_input(b, "x", F, "1,4,5,5");
  mb_node(b, "Relu", "relu", "x", "r");
  mb_node(b, "Identity", "id1", "r", "i1");
  mb_node(b, "Add", "add", "i1,x", "a");
  mb_node(b, "Identity", "id_out", "a", "y"); /* y is a graph output: its name must survive */
  mb_node(b, "Identity", "id_in", "x", "y2"); /* input straight to output: kept */
  mb_node(b, "Dropout", "drop", "a", "d");
  mb_node(b, "Relu", "relu2", "d", "y3");
  mb_node(b, "Dropout", "drop_mask", "r", "d2,m2"); /* its mask is an output: kept */
  mb_node(b, "Neg", "neg", "d2", "y4");
  mb_output(b, "y", F, "1,4,5,5");
  mb_output(b, "y2", F, "1,4,5,5");
  mb_output(b, "y3", F, "1,4,5,5");
  mb_output(b, "y4", F, "1,4,5,5");
  mb_output(b, "m2", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, "1,4,5,5");
  trial t;
  if (trial_run(b, ONYX_OPT_BASIC, "identity", &t)) {
    CHECK_EQ_I64(h_count_op(t.opt, ONYX_OP_IDENTITY), 1);
    CHECK_EQ_I64(h_count_op(t.opt, ONYX_OP_DROPOUT), 1);
    CHECK(h_find_node(t.opt, "id_in") >= 0);
    CHECK(h_find_node(t.opt, "drop_mask") >= 0);
    CHECK_EQ_I64(t.opt->n_nodes, 6);
    CHECK_EQ_I64(pass_log_count(&t.log, "identity_elim"), 3);
    /* "add" now writes the graph output y itself */
    int y = ir_find_tensor(t.opt, "y");
    CHECK(y >= 0 && t.opt->outputs[0] == y);
    int add = check_node(t.opt, "add", ONYX_OP_ADD, "identity");
    if (add >= 0 && y >= 0) CHECK_EQ_I64(t.opt->nodes[add].out[0], y);
    int relu2 = check_node(t.opt, "relu2", ONYX_OP_RELU, "identity");
    if (relu2 >= 0 && y >= 0) CHECK_EQ_I64(t.opt->nodes[relu2].in[0], y);
  }
  trial_free(&t);
  mb_free(b);
}

/* ---- BatchNormalization folding ---- */

static void bn_params(mb *b, const char *prefix, const char *c)
{
  char n[64];
  snprintf(n, sizeof(n), "%s_s", prefix);
  rand_init(b, n, c, 0.5f, 1.5f);
  snprintf(n, sizeof(n), "%s_b", prefix);
  rand_init(b, n, c, -1.f, 1.f);
  snprintf(n, sizeof(n), "%s_m", prefix);
  rand_init(b, n, c, -0.5f, 0.5f);
  snprintf(n, sizeof(n), "%s_v", prefix);
  rand_init(b, n, c, 0.2f, 2.f);
}

static void test_bn_fold(void)
{
  mb *b = mb_new(13);
  mb_input(b, "x", F, "1,3,8,8");
  rand_init(b, "W", "4,3,3,3", -1.f, 1.f);
  rand_init(b, "B", "4", -1.f, 1.f);
  bn_params(b, "bn1", "4");
  bn_params(b, "bn2", "4");
  bn_params(b, "bn3", "4");
  Onnx__NodeProto *c1 = mb_node(b, "Conv", "conv1", "x,W,B", "c1");
  pads1(b, c1);
  Onnx__NodeProto *n1 = mb_node(b, "BatchNormalization", "bn1", "c1,bn1_s,bn1_b,bn1_m,bn1_v", "y1");
  mb_attr_float(b, n1, "epsilon", 0.25f); /* far from the default: a hard-coded epsilon would show */
  Onnx__NodeProto *c2 = mb_node(b, "Conv", "conv2", "x,W", "c2"); /* shares W, no bias */
  static const int64_t s2[2] = {2, 2};
  mb_attr_ints(b, c2, "strides", 2, s2);
  mb_node(b, "BatchNormalization", "bn2", "c2,bn2_s,bn2_b,bn2_m,bn2_v", "y2");
  mb_node(b, "Conv", "conv3", "x,W,B", "c3"); /* its output is also a graph output: no fold */
  mb_node(b, "BatchNormalization", "bn3", "c3,bn3_s,bn3_b,bn3_m,bn3_v", "y3");
  mb_output(b, "y1", F, NULL);
  mb_output(b, "y2", F, NULL);
  mb_output(b, "y3", F, NULL);
  mb_output(b, "c3", F, NULL);
  trial t;
  if (trial_run(b, ONYX_OPT_FUSE, "bn_fold", &t)) {
    CHECK_EQ_I64(pass_log_count(&t.log, "bn_fold"), 2);
    CHECK_EQ_I64(h_count_op(t.opt, ONYX_OP_BATCH_NORMALIZATION), 1);
    CHECK_EQ_I64(h_count_op(t.opt, ONYX_OP_CONV), 3);
    CHECK_EQ_I64(t.opt->n_nodes, 4);
    int i1 = check_node(t.opt, "conv1 + bn1", ONYX_OP_CONV, "bn_fold");
    int i2 = check_node(t.opt, "conv2 + bn2", ONYX_OP_CONV, "bn_fold");
    check_node(t.opt, "bn3", ONYX_OP_BATCH_NORMALIZATION, "bn_fold");
    int w = ir_find_tensor(t.m->g, "W");
    if (i1 >= 0 && i2 >= 0 && w >= 0) {
      /* each fold made its own weight; the shared original is untouched */
      CHECK(t.opt->nodes[i1].in[1] != w && t.opt->nodes[i2].in[1] != w);
      CHECK(t.opt->nodes[i1].in[1] != t.opt->nodes[i2].in[1]);
      CHECK_EQ_I64(t.opt->nodes[i2].n_in, 3);                   /* a bias was added */
      CHECK(t.opt->tensors[w].data == t.m->g->tensors[w].data); /* conv3 still reads the original */
    }
    if (t.log.n > 0) CHECK(strcmp(t.log.entries[0].ops, "Conv + BatchNormalization") == 0);
  }
  trial_free(&t);
  mb_free(b);
}

/* The weight the model holds is never written: compare against a copy taken before optimising. */
static void test_bn_shared_weight_untouched(void)
{
  mb *b = mb_new(13);
  mb_input(b, "x", F, "1,2,5,5");
  rand_init(b, "W", "3,2,1,1", -1.f, 1.f);
  bn_params(b, "bn", "3");
  mb_node(b, "Conv", "conv", "x,W", "c");
  mb_node(b, "BatchNormalization", "bn", "c,bn_s,bn_b,bn_m,bn_v", "y");
  mb_node(b, "Conv", "conv_plain", "x,W", "y2");
  mb_output(b, "y", F, NULL);
  mb_output(b, "y2", F, NULL);
  onyx_model *m = NULL;
  if (CHECK_OK(mb_load(b, &m))) {
    cpu_ctx cpu;
    cpu_ctx_init(&cpu, 0);
    int w = ir_find_tensor(m->g, "W");
    float before[6];
    memcpy(before, m->g->tensors[w].data, sizeof(before));
    ir_graph *g = h_prepare(m, &cpu);
    CHECK(g != NULL);
    if (g) {
      CHECK_OK(graph_optimize(g, ONYX_OPT_POINTWISE, NULL));
      CHECK(memcmp(before, m->g->tensors[w].data, sizeof(before)) == 0);
      int plain = check_node(g, "conv_plain", ONYX_OP_CONV, "shared weight");
      if (plain >= 0) CHECK_EQ_I64(g->nodes[plain].in[1], w);
      check_node(g, "conv + bn", ONYX_OP_CONV, "shared weight");
    }
    ir_graph_free(g);
    cpu_ctx_free(&cpu);
  }
  onyx_model_free(m);
  mb_free(b);
}

/* ---- Conv + activation ---- */

typedef struct act_case {
  const char *label;
  int opset;
  const char *act; /* expected "activation" attribute */
  int n_params;
  float params[2];        /* expected "activation_params" */
  const char *fused_name; /* expected node name */
  const char *ops;        /* expected log ops */
} act_case;

static void build_act(mb *b, const act_case *c)
{
  const char *l = c->label;
  if (!strcmp(l, "relu")) mb_node(b, "Relu", "act", "c", "y");
  if (!strcmp(l, "leaky")) mb_attr_float(b, mb_node(b, "LeakyRelu", "act", "c", "y"), "alpha", 0.2f);
  if (!strcmp(l, "relu6")) {
    const_init(b, "lo", "", 0.f);
    const_init(b, "hi", "", 6.f);
    mb_node(b, "Clip", "act", "c,lo,hi", "y");
  }
  if (!strcmp(l, "clip_min_only")) {
    const_init(b, "lo", "", -0.25f);
    mb_node(b, "Clip", "act", "c,lo", "y");
  }
  if (!strcmp(l, "clip_attr")) {
    Onnx__NodeProto *n = mb_node(b, "Clip", "act", "c", "y");
    mb_attr_float(b, n, "min", -0.5f);
    mb_attr_float(b, n, "max", 0.5f);
  }
  if (!strcmp(l, "sigmoid")) mb_node(b, "Sigmoid", "act", "c", "y");
  if (!strcmp(l, "tanh")) mb_node(b, "Tanh", "act", "c", "y");
  if (!strcmp(l, "hardswish")) mb_node(b, "HardSwish", "act", "c", "y");
  if (!strcmp(l, "hardsigmoid")) {
    Onnx__NodeProto *n = mb_node(b, "HardSigmoid", "act", "c", "y");
    mb_attr_float(b, n, "alpha", 0.3f);
    mb_attr_float(b, n, "beta", 0.4f);
  }
  if (!strcmp(l, "silu")) {
    mb_node(b, "Sigmoid", "sig", "c", "s");
    mb_node(b, "Mul", "mul", "c,s", "y");
  }
  if (!strcmp(l, "silu_swapped")) {
    mb_node(b, "Sigmoid", "sig", "c", "s");
    mb_node(b, "Mul", "mul", "s,c", "y");
  }
  if (!strcmp(l, "hardsigmoid_x")) {
    Onnx__NodeProto *n = mb_node(b, "HardSigmoid", "sig", "c", "s");
    mb_attr_float(b, n, "alpha", 1.f / 6.f);
    mb_attr_float(b, n, "beta", 0.5f);
    mb_node(b, "Mul", "mul", "s,c", "y");
  }
}

static void test_conv_act(void)
{
  static const act_case cases[] = {
      {"relu", 13, "Relu", 0, {0}, "conv + act", "Conv + Relu"},
      {"leaky", 13, "LeakyRelu", 1, {0.2f}, "conv + act", "Conv + LeakyRelu"},
      {"relu6", 13, "Clip", 2, {0.f, 6.f}, "conv + act", "Conv + Clip"},
      {"clip_min_only", 13, "Clip", 2, {-0.25f, INFINITY}, "conv + act", "Conv + Clip"},
      {"clip_attr", 6, "Clip", 2, {-0.5f, 0.5f}, "conv + act", "Conv + Clip"},
      {"sigmoid", 13, "Sigmoid", 0, {0}, "conv + act", "Conv + Sigmoid"},
      {"tanh", 13, "Tanh", 0, {0}, "conv + act", "Conv + Tanh"},
      {"hardswish", 14, "HardSwish", 0, {0}, "conv + act", "Conv + HardSwish"},
      {"hardsigmoid", 13, "HardSigmoid", 2, {0.3f, 0.4f}, "conv + act", "Conv + HardSigmoid"},
      {"silu", 13, "SiLU", 0, {0}, "conv + sig + mul", "Conv + Sigmoid + Mul"},
      {"silu_swapped", 13, "SiLU", 0, {0}, "conv + sig + mul", "Conv + Sigmoid + Mul"},
      {"hardsigmoid_x",
       13,
       "HardSwish",
       2,
       {1.f / 6.f, 0.5f},
       "conv + sig + mul",
       "Conv + HardSigmoid + Mul"},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    const act_case *c = &cases[k];
    for (int dw = 0; dw < 2; dw++) { /* dense and depthwise convs */
      mb *b = mb_new(c->opset);
      mb_input(b, "x", F, "1,4,7,7");
      rand_init(b, "W", dw ? "4,1,3,3" : "5,4,3,3", -1.f, 1.f);
      rand_init(b, "B", dw ? "4" : "5", -0.5f, 0.5f);
      Onnx__NodeProto *cv = mb_node(b, "Conv", "conv", "x,W,B", "c");
      pads1(b, cv);
      if (dw) mb_attr_int(b, cv, "group", 4);
      build_act(b, c);
      mb_output(b, "y", F, NULL);
      trial t;
      if (trial_run(b, ONYX_OPT_FUSE, c->label, &t)) {
        CHECK_EQ_I64(t.opt->n_nodes, 1);
        int i = check_node(t.opt, c->fused_name, ONYX_OP_FUSED_CONV, c->label);
        if (i >= 0) {
          const ir_node *n = &t.opt->nodes[i];
          CHECK(strcmp(n->domain, "onyx") == 0 && strcmp(n->op_type, "FusedConv") == 0);
          CHECK(strcmp(ir_attr_string(n, "activation", ""), c->act) == 0);
          const ir_attr *ap = ir_attr_find(n, "activation_params");
          CHECK_EQ_I64(ap ? (int64_t)ap->n : 0, c->n_params);
          for (int p = 0; ap && p < c->n_params && p < (int)ap->n; p++) CHECK(ap->floats[p] == c->params[p]);
          CHECK_EQ_I64(ir_attr_int(n, "group", 1), dw ? 4 : 1);
        }
        CHECK(t.log.n == 1 && strcmp(t.log.entries[0].ops, c->ops) == 0 &&
              strcmp(t.log.entries[0].pass, "conv_act") == 0);
      } else {
        fprintf(stderr, "conv_act case %s failed\n", c->label);
      }
      trial_free(&t);
      mb_free(b);
    }
  }
}

static void test_conv_act_refused(void)
{
  /* conv output is also a graph output */
  mb *b = mb_new(13);
  mb_input(b, "x", F, "1,2,5,5");
  rand_init(b, "W", "3,2,3,3", -1.f, 1.f);
  mb_node(b, "Conv", "conv", "x,W", "c");
  mb_node(b, "Relu", "relu", "c", "y");
  mb_node(b, "Conv", "conv2", "x,W", "c2");
  mb_node(b, "Relu", "relu2", "c2", "y2");
  mb_node(b, "Add", "add2", "c2,y2", "y3"); /* c2 has a second reader */
  mb_node(b, "Conv", "conv3", "x,W", "c3");
  mb_node(b, "Sigmoid", "sig3", "c3", "s3");
  mb_node(b, "Mul", "mul3", "c3,s3", "y4");
  mb_node(b, "Neg", "neg3", "s3", "y5"); /* the gate has a second reader: not SiLU */
  mb_output(b, "y", F, NULL);
  mb_output(b, "c", F, NULL);
  mb_output(b, "y3", F, NULL);
  mb_output(b, "y4", F, NULL);
  mb_output(b, "y5", F, NULL);
  trial t;
  if (trial_run(b, ONYX_OPT_FUSE, "conv_act refused", &t)) {
    CHECK_EQ_I64(h_count_op(t.opt, ONYX_OP_FUSED_CONV), 0);
    CHECK_EQ_I64(h_count_op(t.opt, ONYX_OP_CONV), 3);
    CHECK_EQ_I64(pass_log_count(&t.log, NULL), 0);
  }
  trial_free(&t);
  mb_free(b);
}

/* ---- Conv + Add (+ activation) ---- */

static void test_conv_add(void)
{
  mb *b = mb_new(13);
  mb_input(b, "x", F, "1,4,6,6");
  rand_init(b, "W", "4,4,3,3", -1.f, 1.f);
  rand_init(b, "B", "4", -1.f, 1.f);
  rand_init(b, "W2", "4,4,3,3", -1.f, 1.f);
  rand_init(b, "zc", "4,1,1", -1.f, 1.f);
  bn_params(b, "bn", "4");
  /* residual + Relu */
  pads1(b, mb_node(b, "Conv", "conv", "x,W,B", "c"));
  mb_node(b, "Add", "add", "c,x", "a");
  mb_node(b, "Relu", "relu", "a", "y");
  /* BN, residual first in the Add, Relu */
  pads1(b, mb_node(b, "Conv", "convb", "y,W2", "cb"));
  mb_node(b, "BatchNormalization", "bnb", "cb,bn_s,bn_b,bn_m,bn_v", "nb");
  mb_node(b, "Add", "addb", "y,nb", "ab");
  mb_node(b, "Relu", "relub", "ab", "yb");
  /* residual without activation, from a graph input */
  pads1(b, mb_node(b, "Conv", "convc", "yb,W", "cc"));
  mb_node(b, "Add", "addc", "cc,x", "yc");
  /* broadcast constant addend: not a residual, a bias (pass_conv_bias) */
  pads1(b, mb_node(b, "Conv", "convd", "yc,W", "cd"));
  mb_node(b, "Add", "addd", "cd,zc", "yd");
  /* two convs into one Add: the later one fuses, the earlier is Z */
  pads1(b, mb_node(b, "Conv", "conve1", "x,W", "ce1"));
  pads1(b, mb_node(b, "Conv", "conve2", "x,W2,B", "ce2"));
  mb_node(b, "Add", "adde", "ce1,ce2", "ye");
  mb_output(b, "yd", F, NULL);
  mb_output(b, "ye", F, NULL);
  trial t;
  if (trial_run(b, ONYX_OPT_FUSE, "conv_add", &t)) {
    int i = check_node(t.opt, "conv + add + relu", ONYX_OP_FUSED_CONV, "conv_add");
    if (i >= 0) {
      CHECK_EQ_I64(t.opt->nodes[i].n_in, 4);
      CHECK_EQ_I64(t.opt->nodes[i].in[3], ir_find_tensor(t.opt, "x"));
      CHECK(strcmp(ir_attr_string(&t.opt->nodes[i], "activation", ""), "Relu") == 0);
    }
    i = check_node(t.opt, "convb + bnb + addb + relub", ONYX_OP_FUSED_CONV, "conv_add");
    if (i >= 0) CHECK_EQ_I64(t.opt->nodes[i].in[3], ir_find_tensor(t.opt, "y"));
    i = check_node(t.opt, "convc + addc", ONYX_OP_FUSED_CONV, "conv_add");
    if (i >= 0) CHECK(ir_attr_find(&t.opt->nodes[i], "activation") == NULL);
    check_node(t.opt, "convd + addd", ONYX_OP_CONV, "conv_add");
    check_node(t.opt, "conve1", ONYX_OP_CONV, "conv_add");
    check_node(t.opt, "conve2 + adde", ONYX_OP_FUSED_CONV, "conv_add");
    CHECK_EQ_I64(t.opt->n_nodes, 6);
    CHECK_EQ_I64(pass_log_count(&t.log, "conv_bias"), 1);
    bool found = false;
    for (int k = 0; k < t.log.n; k++)
      if (!strcmp(t.log.entries[k].node, "convb + bnb + addb + relub"))
        found = !strcmp(t.log.entries[k].ops, "Conv + BatchNormalization + Add + Relu");
    CHECK(found);
    CHECK_EQ_I64(pass_log_count(&t.log, "conv_add"), 4);
  }
  trial_free(&t);
  mb_free(b);
}

/* ---- Conv + Add(per-channel constant): the bias folded ---- */

static void test_conv_bias(void)
{
  /* the legacy form (opset 6: broadcast=1, axis=1) as CNTK writes it, then Relu */
  mb *b = mb_new(6);
  mb_input(b, "x", F, "1,2,6,6");
  rand_init(b, "W", "4,2,3,3", -1.f, 1.f);
  rand_init(b, "K", "4", -1.f, 1.f);
  rand_init(b, "Kw", "1,1,6", -1.f, 1.f);
  rand_init(b, "B", "4", -1.f, 1.f);
  const_init(b, "s", "", 0.75f);
  mb_node(b, "Conv", "conv", "x,W", "c");
  Onnx__NodeProto *a = mb_node(b, "Add", "add", "c,K", "a");
  mb_attr_int(b, a, "broadcast", 1);
  mb_attr_int(b, a, "axis", 1);
  mb_node(b, "Relu", "relu", "a", "y");
  /* a scalar onto a conv with a bias */
  mb_node(b, "Conv", "conv2", "y,W2,B", "c2");
  rand_init(b, "W2", "4,4,1,1", -1.f, 1.f);
  Onnx__NodeProto *a2 = mb_node(b, "Add", "add2", "c2,s", "y2");
  mb_attr_int(b, a2, "broadcast", 1);
  /* per-column, not per-channel: stays an Add */
  pads1(b, mb_node(b, "Conv", "conv3", "x,W", "c3"));
  Onnx__NodeProto *a3 = mb_node(b, "Add", "add3", "c3,Kw", "y3");
  mb_attr_int(b, a3, "broadcast", 1);
  mb_output(b, "y2", F, NULL);
  mb_output(b, "y3", F, NULL);
  trial t;
  if (trial_run(b, ONYX_OPT_FUSE, "conv_bias", &t)) {
    check_node(t.opt, "conv + add + relu", ONYX_OP_FUSED_CONV, "conv_bias");
    int i = check_node(t.opt, "conv2 + add2", ONYX_OP_CONV, "conv_bias");
    if (i >= 0) CHECK(t.opt->nodes[i].in[2] != ir_find_tensor(t.opt, "B")); /* a new bias, B untouched */
    check_node(t.opt, "conv3", ONYX_OP_CONV, "conv_bias");
    check_node(t.opt, "add3", ONYX_OP_ADD, "conv_bias");
    CHECK_EQ_I64(t.opt->n_nodes, 4);
    CHECK_EQ_I64(pass_log_count(&t.log, "conv_bias"), 2);
  }
  trial_free(&t);
  mb_free(b);
}

/* ---- pointwise chains ---- */

static void test_pointwise(void)
{
  mb *b = mb_new(13);
  mb_input(b, "x", F, "2,3,4,5");
  mb_input(b, "z", F, "5");
  const_init(b, "s", "", 1.7f);
  rand_init(b, "c", "3,1,1", -1.f, 1.f);
  rand_init(b, "t", "1,3,4,5", -1.f, 1.f);
  rand_init(b, "d", "4,1", 1.f, 2.f);
  rand_init(b, "slope", "3,1,1", 0.f, 0.5f);
  const_init(b, "lo", "", 0.2f);
  const_init(b, "hi", "", 0.7f);
  /* a chain with a scalar, a per-channel constant and Clip bounds */
  mb_node(b, "Mul", "mul", "x,s", "m");
  mb_node(b, "Add", "add", "m,c", "a");
  mb_node(b, "Sigmoid", "sig", "a", "g");
  mb_node(b, "Clip", "clip", "g,lo,hi", "y");
  /* SiLU on a graph input */
  mb_node(b, "Sigmoid", "sig2", "x", "s2");
  mb_node(b, "Mul", "mul2", "x,s2", "y2");
  /* a value with two readers ends a chain */
  mb_node(b, "Relu", "relu", "x", "r");
  mb_node(b, "Exp", "exp", "r", "e");
  mb_node(b, "Neg", "neg", "r", "n");
  mb_node(b, "Add", "add3", "e,n", "y3");
  /* many kinds, broadcast inputs of several shapes */
  mb_node(b, "Sub", "sub", "x,t", "u1");
  mb_node(b, "Div", "div", "u1,d", "u2");
  mb_attr_float(b, mb_node(b, "LeakyRelu", "leaky", "u2", "u3"), "alpha", 0.3f);
  mb_node(b, "Max", "max", "u3,z", "u4");
  mb_node(b, "Tanh", "tanh", "u4", "u5");
  mb_node(b, "PRelu", "prelu", "u5,slope", "u6");
  mb_node(b, "Abs", "abs", "u6", "u7");
  mb_node(b, "Sqrt", "sqrt", "u7", "u8");
  Onnx__NodeProto *hs = mb_node(b, "HardSigmoid", "hsig", "u8", "u9");
  mb_attr_float(b, hs, "alpha", 0.4f);
  mb_node(b, "Min", "min", "u9,x", "y4");
  /* many kernel blocks (512 elements) on several threads, broadcast inputs crossing block starts */
  mb_input(b, "x2", F, "3,5,67,41");
  rand_init(b, "c2", "5,1,1", -1.f, 1.f);
  rand_init(b, "r2", "67,1", -1.f, 1.f);
  mb_node(b, "Mul", "mul5", "x2,c2", "v1");
  mb_node(b, "Add", "add5", "r2,v1", "v2");
  mb_node(b, "Relu", "relu5", "v2", "y5");
  mb_output(b, "y", F, NULL);
  mb_output(b, "y5", F, NULL);
  mb_output(b, "y2", F, NULL);
  mb_output(b, "y3", F, NULL);
  mb_output(b, "y4", F, NULL);
  trial t;
  if (trial_run(b, ONYX_OPT_POINTWISE, "pointwise", &t)) {
    int i = check_node(t.opt, "mul + add + sig + clip", ONYX_OP_FUSED_POINTWISE, "pointwise");
    if (i >= 0) {
      CHECK_EQ_I64(t.opt->nodes[i].n_in, 3);
      const ir_attr *p = ir_attr_find(&t.opt->nodes[i], "program");
      CHECK(p && p->n == 16);
    }
    i = check_node(t.opt, "sig2 + mul2", ONYX_OP_FUSED_POINTWISE, "pointwise");
    if (i >= 0) CHECK_EQ_I64(t.opt->nodes[i].n_in, 1);
    check_node(t.opt, "relu", ONYX_OP_RELU, "pointwise");
    check_node(t.opt, "neg", ONYX_OP_NEG, "pointwise");
    check_node(t.opt, "exp + add3", ONYX_OP_FUSED_POINTWISE, "pointwise");
    check_node(t.opt, "sub + div + leaky + max + tanh + prelu + abs + sqrt + hsig + min",
               ONYX_OP_FUSED_POINTWISE, "pointwise");
    check_node(t.opt, "mul5 + add5 + relu5", ONYX_OP_FUSED_POINTWISE, "pointwise");
    CHECK_EQ_I64(t.opt->n_nodes, 7);
    CHECK_EQ_I64(pass_log_count(&t.log, "pointwise"), 5);
  }
  trial_free(&t);
  mb_free(b);
}

/* ---- dead code ---- */

static void test_dce(void)
{
  mb *b = mb_new(13);
  mb_input(b, "x", F, "2,3,4");
  mb_node(b, "Relu", "unused", "x", "r"); /* nothing reads r */
  mb_node(b, "Neg", "neg", "x", "y");
  mb_node(b, "Shape", "shape", "x", "sh"); /* folded at prepare */
  rand_init(b, "k", "2,3,4", -1.f, 1.f);
  mb_node(b, "Reshape", "reshape", "k,sh", "kr"); /* folded too: both inputs known */
  mb_node(b, "Add", "add", "y,kr", "y2");
  mb_output(b, "y2", F, NULL);
  mb_output(b, "sh", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, NULL); /* a folded value as a graph output */
  trial t;
  if (trial_run(b, ONYX_OPT_BASIC, "dce", &t)) {
    CHECK_EQ_I64(t.opt->n_nodes, 2);
    check_node(t.opt, "neg", ONYX_OP_NEG, "dce");
    check_node(t.opt, "add", ONYX_OP_ADD, "dce");
    CHECK_EQ_I64(pass_log_count(&t.log, "dce"), 1);
    int sh = ir_find_tensor(t.opt, "sh"), kr = ir_find_tensor(t.opt, "kr");
    CHECK(sh >= 0 && t.opt->tensors[sh].data != NULL && t.opt->tensors[sh].is_const);
    CHECK(kr >= 0 && t.opt->tensors[kr].data != NULL);
    CHECK(kr >= 0 && t.opt->tensors[kr].producer == -1);
    if (sh >= 0 && t.opt->tensors[sh].data) {
      const int64_t *v = t.opt->tensors[sh].data;
      CHECK(v[0] == 2 && v[1] == 3 && v[2] == 4);
    }
  }
  trial_free(&t);
  mb_free(b);
}

/* ---- the fused ops named directly in a model (domain "onyx") ---- */

/* Loads a and b and compares their outputs on the same random inputs. */
static void compare_models(mb *a, mb *b, const char *what)
{
  onyx_model *ma = NULL, *mb2 = NULL;
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 0);
  if (CHECK_OK(mb_load(a, &ma)) && CHECK_OK(mb_load(b, &mb2))) {
    ir_graph *ga = h_prepare(ma, &cpu), *gb = h_prepare(mb2, &cpu);
    h_inputs in = {0};
    CHECK(ga && gb);
    if (ga && gb && h_inputs_make(ga, 7, &in) == 0) {
      CHECK(h_run(ga, &cpu, &in) == 0 && h_run(gb, &cpu, &in) == 0);
      double ma_, mr;
      int64_t bad = h_compare(ga, gb, ATOL, RTOL, &ma_, &mr);
      if (bad) fprintf(stderr, "%s: %lld values differ (max abs %g)\n", what, (long long)bad, ma_);
      CHECK_EQ_I64(bad, 0);
    }
    h_inputs_free(&in);
    ir_graph_free(ga);
    ir_graph_free(gb);
  }
  onyx_model_free(ma);
  onyx_model_free(mb2);
  cpu_ctx_free(&cpu);
}

static mb *fused_conv_model(const char *act, int n_params, const float *params, const char *domain)
{
  mb *b = mb_new(13);
  mb_opset(b, "onyx", 1);
  mb_input(b, "x", F, "1,3,6,6");
  mb_input(b, "z", F, "1,4,3,3");
  seed_counter = 500;
  rand_init(b, "W", "4,3,3,3", -1.f, 1.f);
  rand_init(b, "B", "4", -1.f, 1.f);
  Onnx__NodeProto *n = mb_node(b, "FusedConv", "fc", "x,W,B,z", "y");
  n->domain = mb_str(b, domain);
  static const int64_t s[2] = {2, 2};
  mb_attr_ints(b, n, "strides", 2, s);
  pads1(b, n);
  if (act) mb_attr_string(b, n, "activation", act);
  if (n_params) attr_floats(b, n, "activation_params", (size_t)n_params, params);
  mb_output(b, "y", F, NULL);
  return b;
}

static void test_fused_ops_direct(void)
{
  /* FusedConv with Z and Clip against Conv + Add + Clip */
  const float clip[2] = {-0.3f, 0.4f};
  mb *f = fused_conv_model("Clip", 2, clip, "onyx");
  mb *r = mb_new(13);
  mb_input(r, "x", F, "1,3,6,6");
  mb_input(r, "z", F, "1,4,3,3");
  seed_counter = 500;
  rand_init(r, "W", "4,3,3,3", -1.f, 1.f);
  rand_init(r, "B", "4", -1.f, 1.f);
  Onnx__NodeProto *cv = mb_node(r, "Conv", "conv", "x,W,B", "c");
  static const int64_t s[2] = {2, 2};
  mb_attr_ints(r, cv, "strides", 2, s);
  pads1(r, cv);
  mb_node(r, "Add", "add", "c,z", "a");
  const_init(r, "lo", "", -0.3f);
  const_init(r, "hi", "", 0.4f);
  mb_node(r, "Clip", "clip", "a,lo,hi", "y");
  mb_output(r, "y", F, NULL);
  compare_models(f, r, "FusedConv vs Conv + Add + Clip");
  mb_free(f);
  mb_free(r);

  /* malformed FusedConv nodes */
  onyx_model *m = NULL;
  f = fused_conv_model("Gelu", 0, NULL, "onyx");
  CHECK_ERR(mb_load(f, &m), ONYX_ERR_UNSUPPORTED, "FusedConv node 'fc'", "Gelu");
  mb_free(f);
  f = fused_conv_model("Clip", 0, NULL, "onyx");
  CHECK_ERR(mb_load(f, &m), ONYX_ERR_INVALID_MODEL, "FusedConv node 'fc'", "activation_params");
  mb_free(f);
  f = fused_conv_model("Relu", 1, clip, "onyx");
  CHECK_ERR(mb_load(f, &m), ONYX_ERR_INVALID_MODEL, "FusedConv node 'fc'", "no activation_params");
  mb_free(f);
  f = fused_conv_model("Relu", 0, NULL, ""); /* internal ops are not ONNX ops */
  CHECK_ERR(mb_load(f, &m), ONYX_ERR_UNSUPPORTED, "FusedConv", "not supported");
  mb_free(f);
  CHECK(m == NULL);

  /* FusedPointwise: x * sigmoid(x) + one, clipped, against the unfused ops */
  for (int bad = 0; bad < 3; bad++) {
    mb *p = mb_new(13);
    mb_opset(p, "onyx", 1);
    mb_input(p, "x", F, "2,3,4");
    const_init(p, "one", "", 1.f);
    Onnx__NodeProto *n = mb_node(p, "FusedPointwise", "fp", "x,one", "y");
    n->domain = mb_str(p, "onyx");
    int64_t prog[16] = {FPW_SIGMOID, 0, -1, -1, FPW_MUL, 0, 2, -1, FPW_ADD, 3, 1, -1, FPW_CLIP, 4, -1, 0};
    if (bad == 1) prog[5] = 3; /* reads its own result */
    if (bad == 2) prog[12] = 999;
    mb_attr_ints(p, n, "program", 16, prog);
    const float cl[2] = {0.9f, 1.6f};
    attr_floats(p, n, "constants", 2, cl);
    mb_output(p, "y", F, NULL);
    if (bad) {
      CHECK_ERR(mb_load(p, &m), ONYX_ERR_INVALID_MODEL, "FusedPointwise node 'fp'", "instruction");
      mb_free(p);
      continue;
    }
    mb *q = mb_new(13);
    mb_input(q, "x", F, "2,3,4");
    const_init(q, "one", "", 1.f);
    const_init(q, "lo", "", 0.9f);
    const_init(q, "hi", "", 1.6f);
    mb_node(q, "Sigmoid", "s", "x", "s");
    mb_node(q, "Mul", "m", "x,s", "m");
    mb_node(q, "Add", "a", "m,one", "a");
    mb_node(q, "Clip", "c", "a,lo,hi", "y");
    mb_output(q, "y", F, NULL);
    compare_models(p, q, "FusedPointwise vs unfused");
    mb_free(p);
    mb_free(q);
  }
}

/* The session runs the passes when asked (opt_level) and gives the same outputs. */
static void test_session_opt_level(void)
{
  mb *b = mb_new(13);
  mb_input(b, "x", F, "1,3,6,6");
  rand_init(b, "W", "4,3,3,3", -1.f, 1.f);
  bn_params(b, "bn", "4");
  pads1(b, mb_node(b, "Conv", "conv", "x,W", "c"));
  mb_node(b, "BatchNormalization", "bn", "c,bn_s,bn_b,bn_m,bn_v", "n");
  mb_node(b, "Sigmoid", "sig", "n", "s");
  mb_node(b, "Mul", "mul", "n,s", "y");
  mb_output(b, "y", F, NULL);
  onyx_model *m = NULL;
  if (CHECK_OK(mb_load(b, &m))) {
    float x[108];
    h_fill(x, 108, 99, -1.f, 1.f);
    const int64_t dims[4] = {1, 3, 6, 6};
    float *out[2] = {NULL, NULL};
    onyx_cost cost[2];
    for (int lvl = 0; lvl < 2; lvl++) {
      onyx_session_options o;
      onyx_session_options_init(&o);
      CHECK_EQ_I64(o.opt_level, 0);
      o.opt_level = lvl ? ONYX_OPT_POINTWISE : 0;
      onyx_session *s = NULL;
      onyx_tensor_info info;
      const void *data;
      if (CHECK_OK(onyx_session_create(m, &o, &s)) &&
          CHECK_OK(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 4, dims, x)) &&
          CHECK_OK(onyx_session_run(s)) && CHECK_OK(onyx_session_output(s, 0, &info, &data)) &&
          CHECK_OK(onyx_session_cost(s, &cost[lvl]))) {
        out[lvl] = malloc(144 * sizeof(float));
        memcpy(out[lvl], data, 144 * sizeof(float));
        CHECK(strcmp(info.name, "y") == 0);
      }
      onyx_session_free(s);
    }
    if (out[0] && out[1]) {
      int bad = 0;
      for (int i = 0; i < 144; i++) bad += !(fabsf(out[0][i] - out[1][i]) <= ATOL + RTOL * fabsf(out[0][i]));
      CHECK_EQ_I64(bad, 0);
      CHECK_EQ_I64(cost[0].n_nodes, 4);
      CHECK_EQ_I64(cost[1].n_nodes, 1);
      CHECK_EQ_I64(cost[0].macs, cost[1].macs);
    }
    free(out[0]);
    free(out[1]);
  }
  onyx_model_free(m);
  mb_free(b);
}

int main(int argc, char **argv)
{
  (void)argc;
  test_identity();
  test_bn_fold();
  test_bn_shared_weight_untouched();
  test_conv_act();
  test_conv_act_refused();
  test_conv_add();
  test_conv_bias();
  test_pointwise();
  test_dce();
  test_fused_ops_direct();
  test_session_opt_level();
  return check_summary(argv[0]);
}
