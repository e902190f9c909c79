/* FusedConvPool and the rewrite that makes it (engine/conv_pool.c), without a GPU:
 * - ResNet stems (Conv 7x7/2/3 with 1..4 input and 64/128 output channels, odd image sizes,
 *   with and without Relu) fused after graph_optimize, run on the CPU backend against the
 *   unfused graph (and after an engine-file round trip of the fused one);
 * - graphs outside the kernel's coverage (5x5 kernel, stride 1, 2x2 pool, a second reader of
 *   the conv output, MaxPool with Indices, 32 output channels, 5 input channels): not fused,
 *   for the expected reason, and still the same numbers;
 * - FP16 engine graphs (precision_convert_fp16, then the channels-last layout pass): the input
 *   Cast folded into the fused node (FLOAT X, FLOAT16 channels-last Y), or kept;
 * - FusedConvPool named directly (domain "onyx"): a general geometry against Conv + LeakyRelu +
 *   MaxPool, malformed attributes and inputs, and the CPU kernel's refusal of FLOAT16. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/util.h"
#include "engine/conv_pool.h"
#include "engine/layout.h"
#include "harness.h"
#include "model_builder.h"
#include "ops/fused.h"
#ifdef ONYX_HAVE_CUDA
#include "backend/cuda/layouts.h"
#endif

#define F ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define F16 ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16
#define I64 ONNX__TENSOR_PROTO__DATA_TYPE__INT64
#define ATOL 1e-5
#define RTOL 1e-5

static uint64_t seed_counter = 1;

static int64_t shape_numel(const char *shape)
{
  int64_t n = 1;
  for (const char *p = shape; *p;) {
    n *= strtoll(p, (char **)&p, 10);
    if (*p == ',') p++;
  }
  return n;
}

/* An initializer of seeded random values in [lo, hi) (FLOAT, or FLOAT16 when half). */
static void rand_init(mb *b, const char *name, const char *shape, float lo, float hi, bool half)
{
  int64_t n = shape_numel(shape);
  float *v = malloc((size_t)(n ? n : 1) * sizeof(float));
  uint16_t *h = malloc((size_t)(n ? n : 1) * sizeof(uint16_t));
  h_fill(v, n, seed_counter++ * 1000003u, lo, hi);
  for (int64_t i = 0; i < n; i++) h[i] = onyx_float_to_half(v[i]);
  mb_init(b, name, half ? F16 : F, shape, half ? (const void *)h : (const void *)v);
  free(v);
  free(h);
}

static void ints2(mb *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
  const int64_t a[2] = {v, v};
  mb_attr_ints(b, n, name, 2, a);
}

static void ints4(mb *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
  const int64_t a[4] = {v, v, v, v};
  mb_attr_ints(b, n, name, 4, a);
}

/* ---- the stem: Conv (+ Relu) + MaxPool ---- */

typedef struct stem {
  int n, cin, h, w, cout;
  int k, stride, pad; /* conv */
  int pk, ps, pp;     /* pool */
  bool relu, bias, second_reader, indices;
} stem;

static stem resnet_stem(int n, int cin, int h, int w, int cout, bool relu)
{
  return (stem){n, cin, h, w, cout, 7, 2, 3, 3, 2, 1, relu, true, false, false};
}

static mb *stem_model(const stem *s)
{
  char shape[96];
  mb *b = mb_new(13);
  snprintf(shape, sizeof(shape), "%d,%d,%d,%d", s->n, s->cin, s->h, s->w);
  mb_input(b, "x", F, shape);
  snprintf(shape, sizeof(shape), "%d,%d,%d,%d", s->cout, s->cin, s->k, s->k);
  rand_init(b, "W", shape, -1.f, 1.f, false);
  snprintf(shape, sizeof(shape), "%d", s->cout);
  if (s->bias) rand_init(b, "B", shape, -1.f, 1.f, false);
  Onnx__NodeProto *c = mb_node(b, "Conv", "conv", s->bias ? "x,W,B" : "x,W", "c");
  ints2(b, c, "kernel_shape", s->k);
  ints2(b, c, "strides", s->stride);
  ints4(b, c, "pads", s->pad);
  const char *pin = "c";
  if (s->relu) {
    mb_node(b, "Relu", "relu", "c", "r");
    pin = "r";
  }
  if (s->second_reader) {
    mb_node(b, "Sigmoid", "side", pin, "y2");
    mb_output(b, "y2", F, NULL);
  }
  Onnx__NodeProto *p = mb_node(b, "MaxPool", "pool", pin, s->indices ? "y,idx" : "y");
  ints2(b, p, "kernel_shape", s->pk);
  ints2(b, p, "strides", s->ps);
  ints4(b, p, "pads", s->pp);
  mb_output(b, "y", F, NULL);
  if (s->indices) mb_output(b, "idx", I64, NULL);
  return b;
}

/* The live Conv/FusedConv of g, -1 if none. */
static int find_conv(const ir_graph *g)
{
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op == ONYX_OP_CONV || g->nodes[i].op == ONYX_OP_FUSED_CONV) return i;
  return -1;
}

/* Runs a and b on the same random inputs and compares their outputs. */
static void run_compare(ir_graph *a, ir_graph *b, cpu_ctx *cpu, const char *what)
{
  CHECKF(h_same_outputs(a, b, cpu, 4242 + seed_counter, ATOL, RTOL, what), "%s: outputs differ", what);
}

/* Builds the stem, optimises a copy, fuses it (FLOAT, row-major) and compares it with the original.
 * want_refusal NULL: exactly one FusedConvPool is expected; else no fusion, for this reason. */
static void stem_case(const stem *s, const char *want_refusal, const char *what)
{
  const conv_pool_options o = {.dtype = ONYX_DTYPE_FLOAT, .channels_last = false, .fold_cast = false};
  mb *b = stem_model(s);
  onyx_model *m = NULL;
  ir_graph *ref = NULL, *opt = NULL;
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 0);
  if (!CHECK_OK(mb_load(b, &m))) goto out;
  ref = h_prepare(m, &cpu);
  opt = h_prepare(m, &cpu);
  CHECKF(ref && opt, "%s: prepare failed", what);
  if (!ref || !opt || !CHECK_OK(graph_optimize(opt, ONYX_OPT_POINTWISE, NULL))) goto out;
  int conv = find_conv(opt);
  const char *why = conv >= 0 ? conv_pool_refusal(opt, &o, conv) : "no conv node";
  if (want_refusal)
    CHECKF(why && strcmp(why, want_refusal) == 0, "%s: refused for '%s', expected '%s'", what,
           why ? why : "(fused)", want_refusal);
  else
    CHECKF(!why, "%s: refused for '%s'", what, why);
  int n_fused = -1;
  CHECK_OK(conv_pool_fuse(opt, &o, &n_fused));
  const int want = want_refusal ? 0 : 1;
  CHECKF(n_fused == want, "%s: %d fused, expected %d", what, n_fused, want);
  CHECK_EQ_I64(h_count_op(opt, ONYX_OP_FUSED_CONV_POOL), want);
  CHECK_EQ_I64(h_count_op(opt, ONYX_OP_MAX_POOL), 1 - want);
  CHECK_EQ_I64(h_count_op(opt, ONYX_OP_CONV) + h_count_op(opt, ONYX_OP_FUSED_CONV), 1 - want);
  if (want) {
    const char *name = s->relu ? "conv + relu + pool" : "conv + pool";
    int i = h_find_node(opt, name);
    CHECKF(i >= 0 && opt->nodes[i].op == ONYX_OP_FUSED_CONV_POOL, "%s: no FusedConvPool '%s'", what, name);
    if (i >= 0) {
      const fused_conv_pool_params *p = opt->nodes[i].params;
      CHECK_EQ_I64(p->fc.act, s->relu ? FUSED_ACT_RELU : FUSED_ACT_NONE);
      CHECK_EQ_I64(opt->nodes[i].out[0], opt->outputs[0]); /* the pool's output tensor "y" */
      CHECK_EQ_I64(opt->nodes[i].in[0], opt->inputs[0]);
      CHECK_EQ_I64(opt->nodes[i].n_in, s->bias ? 3 : 2);
    }
  }
  run_compare(ref, opt, &cpu, what);
  if (want) /* the fused node as an engine file stores it: parsed again from its attributes */
    CHECKF(h_roundtrip_same(m, opt, ONYX_OP_FUSED_CONV_POOL, 1, &cpu, 4242 + seed_counter, ATOL, RTOL, what),
           "%s: engine round trip", what);
out:
  ir_graph_free(ref);
  ir_graph_free(opt);
  onyx_model_free(m);
  cpu_ctx_free(&cpu);
  mb_free(b);
}

static void test_stems(void)
{
  const struct {
    int n, cin, h, w, cout;
  } sizes[] = {{2, 3, 37, 45, 64}, {1, 1, 23, 17, 128}, {3, 4, 64, 64, 64}, {1, 2, 8, 9, 64}};
  for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
    for (int relu = 1; relu >= 0; relu--) { /* without Relu the conv outputs are negative too: -inf pads */
      stem s = resnet_stem(sizes[k].n, sizes[k].cin, sizes[k].h, sizes[k].w, sizes[k].cout, relu);
      s.bias = (k % 2 == 0) || relu;
      char what[128];
      snprintf(what, sizeof(what), "stem %dx%dx%dx%d -> %d%s%s", s.n, s.cin, s.h, s.w, s.cout,
               relu ? " + Relu" : "", s.bias ? "" : " (no bias)");
      stem_case(&s, NULL, what);
    }
  }
}

static void test_not_fused(void)
{
  stem s = resnet_stem(2, 3, 37, 45, 64, true);
  s.k = 5, s.pad = 2;
  stem_case(&s, "kernel 7x7", "kernel 5x5");
  s = resnet_stem(2, 3, 37, 45, 64, true);
  s.stride = 1;
  stem_case(&s, "strides 2 2, pads 3 3 3 3, dilations 1", "conv stride 1");
  s = resnet_stem(2, 3, 37, 45, 64, false);
  s.pk = 2, s.pp = 0;
  stem_case(&s, "pool kernel 3x3, strides 2 2, pads 1 1 1 1, dilations 1", "pool 2x2");
  s = resnet_stem(1, 3, 23, 17, 64, true);
  s.second_reader = true;
  stem_case(&s, "conv output read by the pool only", "conv output with a second reader");
  s = resnet_stem(1, 3, 23, 17, 64, false);
  s.second_reader = true;
  stem_case(&s, "conv output read by the pool only", "conv output with a second reader (no Relu)");
  s = resnet_stem(1, 3, 23, 17, 64, true);
  s.indices = true;
  stem_case(&s, "MaxPool without Indices", "MaxPool with Indices");
  s = resnet_stem(1, 3, 23, 17, 32, true);
  stem_case(&s, "output channels a multiple of 64", "32 output channels");
  s = resnet_stem(1, 5, 23, 17, 64, true);
  stem_case(&s, "1..4 input channels", "5 input channels");
}

/* ---- FP16 engines: precision conversion, layout pass, then the rewrite ---- */

/* A stand-in for cuda_op_layouts[] (the ops of the stem), so that this runs without the CUDA backend. */
static uint8_t stem_caps[ONYX_OP_COUNT];


static void fold_cast_case(const uint8_t *caps, const char *caps_name)
{
  stem s = resnet_stem(1, 3, 37, 45, 64, true);
  mb *b = stem_model(&s);
  onyx_model *m = NULL;
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 1);
  ir_graph *g = NULL;
  if (!CHECK_OK(mb_load(b, &m))) goto out;
  for (int fold = 1; fold >= 0; fold--) {
    ir_graph_free(g);
    if (!(g = h_fp16_graph(m, caps, &cpu))) {
      CHECKF(0, "%s: specialising for FP16 failed", caps_name);
      break;
    }
    const int x = g->inputs[0], casts = h_count_op(g, ONYX_OP_CAST);
    CHECKF(casts == 2, "%s: %d Casts after the FP16 conversion, expected 2 (input and output)", caps_name, casts);
    const int conv = find_conv(g);
    CHECK(conv >= 0);
    if (conv < 0) break;
    const int cast_out = g->nodes[conv].in[0];
    CHECKF(g->tensors[cast_out].producer >= 0 && g->nodes[g->tensors[cast_out].producer].op == ONYX_OP_CAST,
           "%s: the conv does not read a Cast", caps_name);
    /* a row-major engine's rewrite refuses a channels-last graph */
    conv_pool_options o = {.dtype = ONYX_DTYPE_FLOAT16, .channels_last = false, .fold_cast = fold};
    const char *why = conv_pool_refusal(g, &o, conv);
    CHECKF(why && strcmp(why, "conv and pool outputs in the engine's layout") == 0, "%s: row-major refusal '%s'",
           caps_name, why ? why : "(fused)");
    o.dtype = ONYX_DTYPE_FLOAT;
    o.channels_last = true;
    why = conv_pool_refusal(g, &o, conv);
    CHECKF(why && strcmp(why, "W and B of the engine's type") == 0, "%s: FLOAT refusal '%s'", caps_name,
           why ? why : "(fused)");
    o.dtype = ONYX_DTYPE_FLOAT16;
    int n_fused = -1;
    if (!CHECK_OK(conv_pool_fuse(g, &o, &n_fused))) break;
    CHECKF(n_fused == 1, "%s, fold_cast %d: %d fused", caps_name, fold, n_fused);
    CHECK_EQ_I64(h_count_op(g, ONYX_OP_CAST), fold ? 1 : 2);
    const int fi = h_find_node(g, "conv + relu + pool");
    CHECKF(fi >= 0 && g->nodes[fi].op == ONYX_OP_FUSED_CONV_POOL, "%s: no fused node", caps_name);
    if (fi < 0) break;
    ir_node *n = &g->nodes[fi];
    const ir_tensor *y = &g->tensors[n->out[0]], *w = &g->tensors[n->in[1]];
    CHECKF(n->in[0] == (fold ? x : cast_out), "%s, fold_cast %d: the fused node reads '%s'", caps_name, fold,
           g->tensors[n->in[0]].name);
    CHECK_EQ_I64(g->tensors[n->in[0]].dtype, fold ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_FLOAT16);
    CHECK_EQ_I64(y->dtype, ONYX_DTYPE_FLOAT16);
    CHECK_EQ_I64(y->layout, IR_LAYOUT_CHANNELS_LAST);
    CHECK_EQ_I64(w->dtype, ONYX_DTYPE_FLOAT16);
    CHECK_EQ_I64(w->layout, IR_LAYOUT_CHANNELS_LAST); /* KRSC, kept */
    /* the pooled size by the formulas: conv floor((H + 6 - 7) / 2) + 1, pool floor((H + 2 - 3) / 2) + 1 */
    const int64_t ch = (37 + 6 - 7) / 2 + 1, cw = (45 + 6 - 7) / 2 + 1;
    const int64_t want[4] = {1, 64, (ch + 2 - 3) / 2 + 1, (cw + 2 - 3) / 2 + 1};
    CHECK(y->ndim == 4 && memcmp(y->dims, want, sizeof(want)) == 0);
    /* shape inference again gives the same (Y's type from W even though X is FLOAT) */
    ir_tensor saved = *y;
    if (CHECK_OK(op_table[ONYX_OP_FUSED_CONV_POOL].infer(g, n))) {
      y = &g->tensors[n->out[0]];
      CHECK(y->dtype == saved.dtype && y->ndim == 4 && memcmp(y->dims, want, sizeof(want)) == 0);
    }
    /* nodes stay in topological order, the removed Cast's output is read by nobody */
    for (int i = 0; i < g->n_nodes; i++)
      for (int k = 0; k < g->nodes[i].n_in; k++) {
        int t = g->nodes[i].in[k];
        if (t < 0) continue;
        CHECKF(g->tensors[t].producer < i, "%s: node %d reads '%s' made by node %d", caps_name, i,
               g->tensors[t].name, g->tensors[t].producer);
        if (fold) CHECK(t != cast_out);
      }
  }
out:
  ir_graph_free(g);
  onyx_model_free(m);
  cpu_ctx_free(&cpu);
  mb_free(b);
}

static void test_fold_cast(void)
{
  stem_caps[ONYX_OP_CONV] = stem_caps[ONYX_OP_FUSED_CONV] = LAYOUT_CAP_FILTER;
  stem_caps[ONYX_OP_RELU] = stem_caps[ONYX_OP_MAX_POOL] = LAYOUT_CAP_UNIFORM;
  stem_caps[ONYX_OP_CAST] = stem_caps[ONYX_OP_IDENTITY] = LAYOUT_CAP_STRIDED;
  fold_cast_case(stem_caps, "stem layout table");
#ifdef ONYX_HAVE_CUDA
  fold_cast_case(cuda_op_layouts, "cuda_op_layouts");
#endif
}

/* ---- FusedConvPool named directly (domain "onyx") ---- */

typedef struct fcp_spec {
  const char *inputs;                      /* "x,W,B" */
  const char *x_shape;                     /* "1,3,11,10" */
  bool half_w;                             /* W and B FLOAT16 */
  bool half_x;                             /* X FLOAT16 */
  int n_kernel, n_strides, n_pads;         /* pool attribute lengths; 0: absent */
  int64_t kernel[4], strides[4], pads[4];
} fcp_spec;

static mb *fcp_model(const fcp_spec *f)
{
  mb *b = mb_new(13);
  mb_opset(b, "onyx", 1);
  mb_input(b, "x", f->half_x ? F16 : F, f->x_shape);
  mb_input(b, "z", F, "1,4,5,5");
  seed_counter = 900;
  rand_init(b, "W", "4,3,3,3", -1.f, 1.f, f->half_w);
  rand_init(b, "B", "4", -1.f, 1.f, f->half_w);
  Onnx__NodeProto *n = mb_node(b, "FusedConvPool", "fcp", f->inputs, "y");
  n->domain = mb_str(b, "onyx");
  ints4(b, n, "pads", 1);
  mb_attr_string(b, n, "activation", "LeakyRelu");
  if (f->n_kernel) mb_attr_ints(b, n, "pool_kernel_shape", (size_t)f->n_kernel, f->kernel);
  if (f->n_strides) mb_attr_ints(b, n, "pool_strides", (size_t)f->n_strides, f->strides);
  if (f->n_pads) mb_attr_ints(b, n, "pool_pads", (size_t)f->n_pads, f->pads);
  mb_output(b, "y", f->half_w ? F16 : F, NULL);
  return b;
}

static const fcp_spec fcp_good = {
    "x,W,B", "1,3,11,10", false, false, 2, 2, 4, {3, 2}, {2, 1}, {1, 0, 2, 1}};

static void test_direct(void)
{
  /* a general geometry (3x3/1/1 conv, pool 3x2 strides 2x1 asymmetric pads) against the unfused ops */
  mb *f = fcp_model(&fcp_good);
  mb *r = mb_new(13);
  mb_input(r, "x", F, fcp_good.x_shape);
  mb_input(r, "z", F, "1,4,5,5");
  seed_counter = 900;
  rand_init(r, "W", "4,3,3,3", -1.f, 1.f, false);
  rand_init(r, "B", "4", -1.f, 1.f, false);
  ints4(r, mb_node(r, "Conv", "conv", "x,W,B", "c"), "pads", 1);
  mb_attr_float(r, mb_node(r, "LeakyRelu", "act", "c", "a"), "alpha", 0.01f);
  Onnx__NodeProto *p = mb_node(r, "MaxPool", "pool", "a", "y");
  mb_attr_ints(r, p, "kernel_shape", 2, fcp_good.kernel);
  mb_attr_ints(r, p, "strides", 2, fcp_good.strides);
  mb_attr_ints(r, p, "pads", 4, fcp_good.pads);
  mb_output(r, "y", F, NULL);
  onyx_model *ma = NULL, *mr = NULL;
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 0);
  if (CHECK_OK(mb_load(f, &ma)) && CHECK_OK(mb_load(r, &mr))) {
    ir_graph *gr = h_prepare(mr, &cpu), *gf = h_prepare(ma, &cpu);
    CHECK(gr && gf);
    if (gr && gf) {
      const ir_tensor *y = &gf->tensors[gf->outputs[0]];
      const int64_t want[4] = {1, 4, (11 + 3 - 3) / 2 + 1, (10 + 1 - 2) / 1 + 1};
      CHECK(y->ndim == 4 && memcmp(y->dims, want, sizeof(want)) == 0);
      run_compare(gr, gf, &cpu, "FusedConvPool vs Conv + LeakyRelu + MaxPool");
    }
    ir_graph_free(gr);
    ir_graph_free(gf);
  }
  onyx_model_free(ma);
  onyx_model_free(mr);
  cpu_ctx_free(&cpu);
  mb_free(f);
  mb_free(r);

  /* malformed nodes: clear errors naming the node */
  const struct {
    const char *what;
    onyx_status st;
    const char *msg;
    fcp_spec f;
  } bad[] = {
      {"pool_strides 0", ONYX_ERR_INVALID_MODEL, "pool_strides", .f = fcp_good},
      {"pool_kernel_shape of 1 value", ONYX_ERR_INVALID_MODEL, "pool_kernel_shape", .f = fcp_good},
      {"no pool_kernel_shape", ONYX_ERR_INVALID_MODEL, "required", .f = fcp_good},
      {"pool_pads of 2 values", ONYX_ERR_INVALID_MODEL, "pool_pads", .f = fcp_good},
      {"pool pad as large as the kernel", ONYX_ERR_INVALID_MODEL, "smaller than the pool kernel", .f = fcp_good},
      {"negative pool pad", ONYX_ERR_INVALID_MODEL, "pool_pads", .f = fcp_good},
      {"a Z input", ONYX_ERR_INVALID_MODEL, "no Z", .f = fcp_good},
      {"3-D input", ONYX_ERR_SHAPE, "2-D only", .f = fcp_good},
      {"pool larger than the conv output", ONYX_ERR_SHAPE, "larger than the padded conv output", .f = fcp_good},
      {"FLOAT16 X under FLOAT W", ONYX_ERR_SHAPE, "input type", .f = fcp_good},
  };
  const int nb = (int)(sizeof(bad) / sizeof(bad[0]));
  fcp_spec specs[16];
  for (int i = 0; i < nb; i++) specs[i] = bad[i].f;
  specs[0].strides[1] = 0;
  specs[1].n_kernel = 1;
  specs[2].n_kernel = 0;
  specs[3].n_pads = 2;
  specs[4].pads[3] = 2; /* end pad of dim 1 = its kernel 2 */
  specs[5].pads[0] = -1;
  specs[6].inputs = "x,W,B,z";
  specs[7].x_shape = "1,3,5,5,5";
  specs[8].kernel[0] = 20, specs[8].pads[0] = 0, specs[8].pads[2] = 0;
  specs[9].half_x = true;
  for (int i = 0; i < nb; i++) {
    mb *b = fcp_model(&specs[i]);
    onyx_model *m = NULL;
    onyx_status st = mb_load(b, &m);
    if (!CHECK_ERR(st, bad[i].st, "FusedConvPool node 'fcp'", bad[i].msg))
      fprintf(stderr, "  (case: %s)\n", bad[i].what);
    CHECK(m == NULL || st == ONYX_OK);
    onyx_model_free(m);
    mb_free(b);
  }

  /* FLOAT16 weights: inference types Y from W (X FLOAT or FLOAT16), the CPU kernel refuses both */
  for (int hx = 0; hx < 2; hx++) {
    fcp_spec s = fcp_good;
    s.half_w = true;
    s.half_x = hx;
    mb *b = fcp_model(&s);
    onyx_model *m = NULL;
    cpu_ctx_init(&cpu, 1);
    ir_graph *g = NULL;
    if (CHECK_OK(mb_load(b, &m)) && (g = h_prepare(m, &cpu)) != NULL) {
      CHECK_EQ_I64(g->tensors[g->outputs[0]].dtype, ONYX_DTYPE_FLOAT16);
      for (int t = 0; t < g->n_tensors; t++) { /* buffers: random bits for the inputs, zeros elsewhere */
        ir_tensor *x = &g->tensors[t];
        if (x->is_const || x->data || !ir_shape_known(x)) continue;
        size_t bytes = ir_tensor_bytes(x);
        x->data = calloc(1, bytes ? bytes : 1);
        x->owns_data = true;
        if (x->data && x->producer < 0) {
          float *v = malloc((bytes / 2 + 1) * sizeof(float));
          if (v) {
            h_fill(v, (int64_t)(bytes / 2), 77, -1.f, 1.f);
            for (size_t k = 0; k < bytes / 2; k++) ((uint16_t *)x->data)[k] = onyx_float_to_half(v[k]);
            free(v);
          }
        }
      }
      const int fi = h_find_node(g, "fcp");
      CHECK(fi >= 0);
      if (fi >= 0)
        CHECK_ERR(cpu_kernels[ONYX_OP_FUSED_CONV_POOL](&cpu, g, &g->nodes[fi]), ONYX_ERR_UNSUPPORTED,
                  "FusedConvPool node 'fcp'", "float32 only");
    } else {
      CHECK(0);
    }
    ir_graph_free(g);
    onyx_model_free(m);
    cpu_ctx_free(&cpu);
    mb_free(b);
  }
}

int main(int argc, char **argv)
{
  (void)argc;
  test_stems();
  test_not_fused();
  test_fold_cast();
  test_direct();
  return check_summary(argv[0]);
}
