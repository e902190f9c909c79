/* FusedPoolGemm and the rewrite that makes it (engine/pool_gemm.c), without a GPU:
 * - classifier heads (GlobalAveragePool + Flatten or Reshape + Gemm; batch 1 and 3, 64 and 100
 *   channels, 7x7, 1x1, 5x3 and 3-D spatial sizes, transB 0 and 1, C absent, [M] or [1, M], alpha and
 *   beta not 1) fused after graph_optimize, run on the CPU backend against the unfused graph (and
 *   after an engine-file round trip of the fused one);
 * - heads outside the kernel's coverage (batch above max_batch, the pool's or the Flatten's output
 *   read twice or a graph output, Flatten axis 0, a Reshape not to N x K, transA 1, W a graph input,
 *   C of shape [N, M]): not fused, for the expected reason, and still the same numbers;
 * - FP16 engine graphs (precision_convert_fp16, then the channels-last layout pass): the output Cast
 *   folded into the fused node (FLOAT Y, attribute "to") or kept; the CPU kernel's refusal of FLOAT16;
 * - FusedPoolGemm named directly (domain "onyx"): against GlobalAveragePool + Flatten + Gemm, and
 *   malformed attributes and inputs;
 * - the head of MobileNetV2 (GlobalAveragePool + a Reshape whose shape is computed + Gemm), when the
 *   model is given on the command line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/util.h"
#include "engine/layout.h"
#include "engine/pool_gemm.h"
#include "harness.h"
#include "model_builder.h"
#include "ops/fused.h"
#ifdef ONYX_HAVE_CUDA
#include "backend/cuda/layouts.h"
#endif

#define F ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define I64 ONNX__TENSOR_PROTO__DATA_TYPE__INT64
#define ATOL 1e-5
#define RTOL 1e-5

static uint64_t seed_counter = 1;
static const pool_gemm_options fp32_opts = {
    .dtype = ONYX_DTYPE_FLOAT, .max_batch = 8, .max_k = 4096, .fold_cast = true};

/* A FLOAT initializer of seeded random values in [-1, 1). */
static void rand_init(mb *b, const char *name, int ndim, const int64_t *dims)
{
  char shape[64] = "";
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    n *= dims[i];
    snprintf(shape + strlen(shape), sizeof(shape) - strlen(shape), i ? ",%lld" : "%lld", (long long)dims[i]);
  }
  float *v = malloc((size_t)(n ? n : 1) * sizeof(float));
  h_fill(v, n, seed_counter++ * 1000003u, -1.f, 1.f);
  mb_init(b, name, F, shape, v);
  free(v);
}

/* Runs a and b on the same random inputs and compares their outputs. */
static void run_compare(ir_graph *a, ir_graph *b, cpu_ctx *cpu, const char *what)
{
  CHECKF(h_same_outputs(a, b, cpu, 4242 + seed_counter, ATOL, RTOL, what), "%s: outputs differ", what);
}

/* The live node of an op, -1 if none. */
static int find_op(const ir_graph *g, int op)
{
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op == op) return i;
  return -1;
}

/* ---- heads: GlobalAveragePool + Flatten/Reshape + Gemm ---- */

typedef struct head {
  int n, k, m;
  int nsp;
  int64_t sp[3];    /* spatial dims */
  bool reshape;     /* Reshape (to shape[0..2)) instead of Flatten (axis) */
  int64_t axis;     /* Flatten */
  int64_t shape[2]; /* Reshape's target (0 and -1 as ONNX reads them) */
  bool trans_a, trans_b;
  int c;             /* C: 0 absent, 1 [M], 2 [1, M], 3 [rows of A, M] */
  float alpha, beta; /* 0: attribute absent */
  bool w_input;      /* W a graph input */
  bool pool_out;     /* the pool's output also a graph output */
  bool pool_reader;  /* a Relu also reads the pool's output (a second graph output) */
  bool flat_reader;  /* a Relu also reads the flattened output (a second graph output) */
  bool conv;         /* X made by a 3x3 Conv from a 3-channel input (channels-last in the layout pass) */
} head;

static head plain_head(int n, int k, int m, int h, int w)
{
  return (head){.n = n, .k = k, .m = m, .nsp = 2, .sp = {h, w}, .axis = 1, .trans_b = true, .c = 1};
}

/* The shape [a0, a1] the Flatten/Reshape gives the pooled N x K x 1 x ... tensor. */
static void flat_dims(const head *s, int64_t *a)
{
  const int r = 2 + s->nsp;
  const int64_t total = (int64_t)s->n * s->k;
  if (!s->reshape) {
    const int64_t axis = s->axis < 0 ? s->axis + r : s->axis;
    a[0] = axis == 0 ? 1 : axis == 1 ? s->n : total;
    a[1] = total / a[0];
  } else { /* 0 copies the input's dim, -1 takes the rest */
    a[0] = s->shape[0] == 0 ? s->n : s->shape[0];
    a[1] = s->shape[1] == 0 ? s->k : s->shape[1];
    if (a[0] == -1) a[0] = total / a[1];
    if (a[1] == -1) a[1] = total / a[0];
  }
}

static mb *head_model(const head *s)
{
  char shape[96];
  int len = snprintf(shape, sizeof(shape), "%d,%d", s->n, s->conv ? 3 : s->k);
  for (int i = 0; i < s->nsp; i++)
    len += snprintf(shape + len, sizeof(shape) - (size_t)len, ",%lld", (long long)s->sp[i]);
  mb *b = mb_new(13);
  mb_input(b, "x", F, shape);
  const char *x = "x";
  if (s->conv) {
    const int64_t wd[4] = {s->k, 3, 3, 3}, pads[4] = {1, 1, 1, 1};
    rand_init(b, "W0", 4, wd);
    mb_attr_ints(b, mb_node(b, "Conv", "conv", "x,W0", "xc"), "pads", 4, pads);
    x = "xc";
  }
  mb_node(b, "GlobalAveragePool", "pool", x, "p");
  if (s->pool_out) mb_output(b, "p", F, NULL);
  if (s->pool_reader) {
    mb_node(b, "Relu", "side", "p", "p2");
    mb_output(b, "p2", F, NULL);
  }
  if (s->reshape) {
    mb_init(b, "shape", I64, "2", s->shape);
    mb_node(b, "Reshape", "flat", "p,shape", "a");
  } else {
    mb_attr_int(b, mb_node(b, "Flatten", "flat", "p", "a"), "axis", s->axis);
  }
  if (s->flat_reader) {
    mb_node(b, "Relu", "side", "a", "a2");
    mb_output(b, "a2", F, NULL);
  }
  int64_t a[2];
  flat_dims(s, a);
  const int64_t rows = s->trans_a ? a[1] : a[0], kk = s->trans_a ? a[0] : a[1];
  const int64_t wd[2] = {s->trans_b ? s->m : kk, s->trans_b ? kk : s->m};
  if (s->w_input) {
    snprintf(shape, sizeof(shape), "%lld,%lld", (long long)wd[0], (long long)wd[1]);
    mb_input(b, "W", F, shape);
  } else {
    rand_init(b, "W", 2, wd);
  }
  const int64_t cd[2] = {s->c == 3 ? rows : 1, s->m};
  if (s->c) rand_init(b, "C", s->c == 1 ? 1 : 2, s->c == 1 ? cd + 1 : cd);
  Onnx__NodeProto *g = mb_node(b, "Gemm", "gemm", s->c ? "a,W,C" : "a,W", "y");
  if (s->trans_a) mb_attr_int(b, g, "transA", 1);
  mb_attr_int(b, g, "transB", s->trans_b);
  if (s->alpha != 0.f) mb_attr_float(b, g, "alpha", s->alpha);
  if (s->beta != 0.f) mb_attr_float(b, g, "beta", s->beta);
  mb_output(b, "y", F, NULL);
  return b;
}

/* Builds the head, optimises a copy, fuses it ({FLOAT, 8, fold}) and compares it with the original.
 * want_refusal NULL: exactly one FusedPoolGemm is expected; else no fusion, for this reason. */
static void head_case(const head *s, const char *want_refusal, const char *what)
{
  mb *b = head_model(s);
  onyx_model *m = NULL;
  ir_graph *ref = NULL, *opt = NULL;
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 0);
  if (!CHECK_OK(mb_load(b, &m))) goto out;
  ref = h_prepare(m, &cpu);
  opt = h_prepare(m, &cpu);
  CHECKF(ref && opt, "%s: prepare failed", what);
  if (!ref || !opt || !CHECK_OK(graph_optimize(opt, ONYX_OPT_POINTWISE, NULL))) goto out;
  const int pool = find_op(opt, ONYX_OP_GLOBAL_AVERAGE_POOL), nodes = opt->n_nodes;
  const char *why = pool >= 0 ? pool_gemm_refusal(opt, &fp32_opts, pool) : "no pool node";
  if (want_refusal)
    CHECKF(why && strcmp(why, want_refusal) == 0, "%s: refused for '%s', expected '%s'", what,
           why ? why : "(fused)", want_refusal);
  else
    CHECKF(!why, "%s: refused for '%s'", what, why);
  int n_fused = -1;
  CHECK_OK(pool_gemm_fuse(opt, &fp32_opts, &n_fused));
  const int want = want_refusal ? 0 : 1;
  CHECKF(n_fused == want, "%s: %d fused, expected %d", what, n_fused, want);
  CHECK_EQ_I64(h_count_op(opt, ONYX_OP_FUSED_POOL_GEMM), want);
  CHECK_EQ_I64(h_count_op(opt, ONYX_OP_GLOBAL_AVERAGE_POOL), 1 - want);
  CHECK_EQ_I64(h_count_op(opt, ONYX_OP_FLATTEN) + h_count_op(opt, ONYX_OP_RESHAPE), 1 - want);
  CHECK_EQ_I64(h_count_op(opt, ONYX_OP_GEMM), 1 - want);
  CHECK_EQ_I64(opt->n_nodes, nodes - 2 * want);
  if (want) {
    const int i = h_find_node(opt, "pool + flat + gemm");
    CHECKF(i >= 0 && opt->nodes[i].op == ONYX_OP_FUSED_POOL_GEMM, "%s: no FusedPoolGemm 'pool + flat + gemm'",
           what);
    if (i >= 0) {
      const ir_node *n = &opt->nodes[i];
      const fused_pool_gemm_params *p = n->params;
      CHECK_EQ_I64(n->out[0], opt->outputs[0]); /* the Gemm's output tensor "y" */
      CHECK_EQ_I64(opt->tensors[n->in[0]].producer, s->conv ? find_op(opt, ONYX_OP_CONV) : -1);
      CHECK_EQ_I64(n->n_in, s->c ? 3 : 2);
      CHECK(p->gemm.trans_b == s->trans_b && !p->gemm.trans_a && p->to == ONYX_DTYPE_UNDEFINED);
      CHECK(p->gemm.alpha == (s->alpha != 0.f ? s->alpha : 1.f) &&
            p->gemm.beta == (s->beta != 0.f ? s->beta : 1.f));
      CHECK(ir_attr_find(n, "to") == NULL && ir_attr_find(n, "transA") == NULL);
      CHECK(i == opt->n_nodes - 1 || s->pool_reader || s->flat_reader);
    }
  }
  run_compare(ref, opt, &cpu, what);
  if (want) /* the fused node as an engine file stores it: parsed again from its attributes */
    CHECKF(h_roundtrip_same(m, opt, ONYX_OP_FUSED_POOL_GEMM, 1, &cpu, 4242 + seed_counter, ATOL, RTOL, what),
           "%s: engine round trip", what);
out:
  ir_graph_free(ref);
  ir_graph_free(opt);
  onyx_model_free(m);
  cpu_ctx_free(&cpu);
  mb_free(b);
}

static void test_heads(void)
{
  const struct {
    int n, k, m, nsp;
    int64_t sp[3];
  } sizes[] = {
      {1, 64, 10, 2, {7, 7}}, {3, 100, 37, 2, {5, 3}}, {1, 100, 16, 2, {1, 1}}, {3, 64, 9, 3, {3, 4, 5}}};
  for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
    for (int v = 0; v < 4; v++) {
      head s = plain_head(sizes[z].n, sizes[z].k, sizes[z].m, 1, 1);
      s.nsp = sizes[z].nsp;
      memcpy(s.sp, sizes[z].sp, sizeof(s.sp));
      s.trans_b = v % 2 == 0;
      s.c = (int)((z + (size_t)v) % 3);
      if (v >= 2) s.alpha = 0.75f, s.beta = -1.5f;
      if (v == 1) { /* Reshape to [N, K] */
        s.reshape = true;
        s.shape[0] = s.n, s.shape[1] = s.k;
      } else if (v == 3) { /* Reshape [0, -1] or [-1, K], resolved to [N, K] by prepare */
        s.reshape = true;
        s.shape[0] = z % 2 ? 0 : -1, s.shape[1] = z % 2 ? -1 : s.k;
      } else if (v == 2) {
        s.axis = -1 - s.nsp; /* axis 1 counted from the end */
      }
      static const char *const cs[3] = {"absent", "[M]", "[1, M]"};
      char what[200], sp[32], flat[48];
      int len = 0;
      for (int i = 0; i < s.nsp; i++)
        len += snprintf(sp + len, sizeof(sp) - (size_t)len, i ? "x%lld" : "%lld", (long long)s.sp[i]);
      if (s.reshape)
        snprintf(flat, sizeof(flat), "Reshape [%lld, %lld]", (long long)s.shape[0], (long long)s.shape[1]);
      else
        snprintf(flat, sizeof(flat), "Flatten axis %lld", (long long)s.axis);
      snprintf(what, sizeof(what), "head %dx%dx%s -> %d, %s, transB %d, C %s, alpha %g beta %g", s.n, s.k, sp,
               s.m, flat, s.trans_b, cs[s.c], s.alpha, s.beta);
      head_case(&s, NULL, what);
    }
  }
  head s = plain_head(1, 32, 8, 4, 4);
  s.conv = true;
  head_case(&s, NULL, "head after a Conv");
}

static void test_not_fused(void)
{
  head s = plain_head(9, 64, 10, 7, 7);
  head_case(&s, "batch within max_batch", "batch 9");
  s = plain_head(3, 64, 10, 7, 7);
  s.pool_out = true;
  head_case(&s, "pool output read by one node only, not a graph output", "pool output also a graph output");
  s = plain_head(3, 64, 10, 7, 7);
  s.pool_reader = true;
  head_case(&s, "pool output read by one node only, not a graph output", "pool output read twice");
  s = plain_head(3, 64, 10, 1, 1);
  s.axis = 0; /* [1, 3 * 64] */
  head_case(&s, "Flatten axis 1", "Flatten axis 0");
  s = plain_head(1, 64, 10, 5, 3);
  s.axis = 2 - 4; /* axis 2 of the rank-4 pool output: [1 * 64, 1] */
  head_case(&s, "Flatten axis 1", "Flatten axis -2");
  s = plain_head(3, 64, 10, 5, 3);
  s.reshape = true;
  s.shape[0] = 6, s.shape[1] = 32;
  head_case(&s, "flattened to N x K", "Reshape to [6, 32]");
  s = plain_head(3, 64, 10, 5, 3);
  s.trans_a = true; /* A^T is 64 x 3: W of 3 rows */
  s.trans_b = false;
  head_case(&s, "transA 0", "transA 1");
  s = plain_head(3, 64, 10, 5, 3);
  s.w_input = true;
  head_case(&s, "constant W", "W a graph input");
  s = plain_head(3, 64, 10, 5, 3);
  s.c = 3;
  head_case(&s, "C of shape [M] or [1, M]", "C of shape [N, M]");
  s = plain_head(3, 64, 10, 5, 3);
  s.flat_reader = true;
  head_case(&s, "flattened output read by one node only, not a graph output", "flattened output read twice");
}

/* ---- FP16 engines: precision conversion, layout pass, then the rewrite ---- */

/* A stand-in for cuda_op_layouts[] (the ops of the head), so that this runs without the CUDA backend. */
static uint8_t head_caps[ONYX_OP_COUNT];


/* caps NULL: no layout pass. */
static void fp16_case(const uint8_t *caps, const char *caps_name)
{
  head s = plain_head(2, 64, 24, 6, 5);
  s.conv = caps != NULL;
  s.c = 1, s.alpha = 0.5f;
  mb *b = head_model(&s);
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
    const int y = g->outputs[0], casts = h_count_op(g, ONYX_OP_CAST);
    CHECKF(casts == 2, "%s: %d Casts after the FP16 conversion, expected 2 (input and output)", caps_name,
           casts);
    const int pool = find_op(g, ONYX_OP_GLOBAL_AVERAGE_POOL), gemm = find_op(g, ONYX_OP_GEMM);
    CHECK(pool >= 0 && gemm >= 0);
    if (pool < 0 || gemm < 0) break;
    const int x = g->nodes[pool].in[0], z = g->nodes[gemm].out[0];
    if (caps) CHECK_EQ_I64(g->tensors[x].layout, IR_LAYOUT_CHANNELS_LAST);
    pool_gemm_options o = {.dtype = ONYX_DTYPE_FLOAT, .max_batch = 8, .max_k = 4096, .fold_cast = fold};
    const char *why = pool_gemm_refusal(g, &o, pool);
    CHECKF(why && strcmp(why, "X of the engine's type") == 0, "%s: FLOAT refusal '%s'", caps_name,
           why ? why : "(fused)");
    o.dtype = ONYX_DTYPE_FLOAT16;
    o.max_batch = 1;
    why = pool_gemm_refusal(g, &o, pool);
    CHECKF(why && strcmp(why, "batch within max_batch") == 0, "%s: batch refusal '%s'", caps_name,
           why ? why : "(fused)");
    o.max_batch = 2;
    o.max_k = 63; /* the head's channels: 64 */
    why = pool_gemm_refusal(g, &o, pool);
    CHECKF(why && strcmp(why, "channels within max_k") == 0, "%s: channel refusal '%s'", caps_name,
           why ? why : "(fused)");
    o.max_k = 64;
    int n_fused = -1;
    if (!CHECK_OK(pool_gemm_fuse(g, &o, &n_fused))) break;
    CHECKF(n_fused == 1, "%s, fold_cast %d: %d fused", caps_name, fold, n_fused);
    CHECK_EQ_I64(h_count_op(g, ONYX_OP_CAST), fold ? 1 : 2);
    CHECK_EQ_I64(h_count_op(g, ONYX_OP_GLOBAL_AVERAGE_POOL) + h_count_op(g, ONYX_OP_FLATTEN) +
                     h_count_op(g, ONYX_OP_GEMM),
                 0);
    const int fi = find_op(g, ONYX_OP_FUSED_POOL_GEMM);
    CHECKF(fi >= 0, "%s: no fused node", caps_name);
    if (fi < 0) break;
    const ir_node *n = &g->nodes[fi];
    const fused_pool_gemm_params *p = n->params;
    const ir_attr *to = ir_attr_find(n, "to");
    CHECKF(strncmp(n->name, "pool + flat + gemm", 18) == 0 && (fold ? n->name[18] == ' ' : n->name[18] == 0),
           "%s, fold_cast %d: fused node named '%s'", caps_name, fold, n->name);
    CHECK_EQ_I64(n->in[0], x);
    CHECK_EQ_I64(n->out[0], fold ? y : z);
    CHECK_EQ_I64(g->tensors[n->out[0]].dtype, fold ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_FLOAT16);
    CHECK_EQ_I64(g->tensors[n->in[1]].dtype, ONYX_DTYPE_FLOAT16);
    CHECK_EQ_I64(p->to, fold ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_UNDEFINED);
    CHECK(fold ? to && to->type == IR_ATTR_INT && to->i == ONYX_DTYPE_FLOAT : to == NULL);
    const int64_t want[2] = {2, 24};
    CHECK(g->tensors[n->out[0]].ndim == 2 && memcmp(g->tensors[n->out[0]].dims, want, sizeof(want)) == 0);
    /* nodes stay in topological order */
    for (int i = 0; i < g->n_nodes; i++)
      for (int k = 0; k < g->nodes[i].n_in; k++) {
        int t = g->nodes[i].in[k];
        CHECKF(t < 0 || g->tensors[t].producer < i, "%s: node %d reads '%s' made by node %d", caps_name, i,
               g->tensors[t].name, g->tensors[t].producer);
      }
    /* the CPU kernel takes FLOAT only (it checks the types before reading any buffer) */
    CHECK_ERR(cpu_kernels[ONYX_OP_FUSED_POOL_GEMM](&cpu, g, n), ONYX_ERR_UNSUPPORTED,
              "FusedPoolGemm node 'pool + flat + gemm", "float32 only");
  }
out:
  ir_graph_free(g);
  onyx_model_free(m);
  cpu_ctx_free(&cpu);
  mb_free(b);
}

static void test_fp16(void)
{
  fp16_case(NULL, "no layout pass");
  head_caps[ONYX_OP_CONV] = head_caps[ONYX_OP_FUSED_CONV] = LAYOUT_CAP_FILTER;
  head_caps[ONYX_OP_GLOBAL_AVERAGE_POOL] = LAYOUT_CAP_STRIDED_IN;
  head_caps[ONYX_OP_CAST] = head_caps[ONYX_OP_IDENTITY] = LAYOUT_CAP_STRIDED;
  fp16_case(head_caps, "head layout table");
#ifdef ONYX_HAVE_CUDA
  fp16_case(cuda_op_layouts, "cuda_op_layouts");
#endif
}

/* ---- FusedPoolGemm named directly (domain "onyx") ---- */

typedef struct fpg_spec {
  const char *inputs;  /* "x,W,C" */
  const char *x_shape; /* "2,6,3,4" */
  int64_t w_dims[2], c_dims[2];
  int c_ndim;
  int64_t trans_a, trans_b, to; /* -1: attribute absent */
} fpg_spec;

static mb *fpg_model(const fpg_spec *f, bool fused)
{
  mb *b = mb_new(13);
  mb_input(b, "x", F, f->x_shape);
  mb_input(b, "z", F, "1");
  seed_counter = 900;
  rand_init(b, "W", 2, f->w_dims);
  rand_init(b, "C", f->c_ndim, f->c_dims);
  Onnx__NodeProto *n;
  if (fused) {
    mb_opset(b, "onyx", 1);
    n = mb_node(b, "FusedPoolGemm", "fpg", f->inputs, "y");
    n->domain = mb_str(b, "onyx");
    if (f->to >= 0) mb_attr_int(b, n, "to", f->to);
  } else {
    mb_node(b, "GlobalAveragePool", "pool", "x", "p");
    mb_node(b, "Flatten", "flat", "p", "a");
    n = mb_node(b, "Gemm", "gemm", "a,W,C", "y");
  }
  if (f->trans_a >= 0) mb_attr_int(b, n, "transA", f->trans_a);
  if (f->trans_b >= 0) mb_attr_int(b, n, "transB", f->trans_b);
  mb_attr_float(b, n, "alpha", -0.5f);
  mb_attr_float(b, n, "beta", 2.f);
  mb_output(b, "y", F, NULL);
  return b;
}

static const fpg_spec fpg_good = {"x,W,C", "2,6,3,4", {5, 6}, {1, 5}, 2, -1, 1, -1};

static void test_direct(void)
{
  /* against GlobalAveragePool + Flatten + Gemm: transB 1 with C [1, M], transB 0 with C [M] and "to" FLOAT */
  fpg_spec good[2] = {fpg_good, fpg_good};
  good[1].w_dims[0] = 6, good[1].w_dims[1] = 5, good[1].c_ndim = 1, good[1].c_dims[0] = 5;
  good[1].x_shape = "3,6,2,1,3", good[1].trans_b = 0, good[1].to = ONYX_DTYPE_FLOAT;
  for (int i = 0; i < 2; i++) {
    mb *f = fpg_model(&good[i], true), *r = fpg_model(&good[i], false);
    onyx_model *ma = NULL, *mr = NULL;
    cpu_ctx cpu;
    cpu_ctx_init(&cpu, 0);
    if (CHECK_OK(mb_load(f, &ma)) && CHECK_OK(mb_load(r, &mr))) {
      ir_graph *gr = h_prepare(mr, &cpu), *gf = h_prepare(ma, &cpu);
      CHECK(gr && gf);
      if (gr && gf) {
        const ir_tensor *y = &gf->tensors[gf->outputs[0]];
        CHECK(y->ndim == 2 && y->dims[0] == (i ? 3 : 2) && y->dims[1] == 5 && y->dtype == ONYX_DTYPE_FLOAT);
        run_compare(gr, gf, &cpu,
                    i ? "FusedPoolGemm (transB 0, to FLOAT) vs GlobalAveragePool + Flatten + Gemm"
                      : "FusedPoolGemm (transB 1) vs GlobalAveragePool + Flatten + Gemm");
      }
      ir_graph_free(gr);
      ir_graph_free(gf);
    }
    onyx_model_free(ma);
    onyx_model_free(mr);
    cpu_ctx_free(&cpu);
    mb_free(f);
    mb_free(r);
  }

  /* malformed nodes: clear errors naming the node */
  const struct {
    const char *what;
    onyx_status st;
    const char *msg;
  } bad[] = {
      {"transA 1", ONYX_ERR_INVALID_MODEL, "transA must be 0"},
      {"transB 2", ONYX_ERR_INVALID_MODEL, "transB must be 0 or 1"},
      {"to INT64", ONYX_ERR_UNSUPPORTED, "must be float or float16"},
      {"to FLOAT16 with FLOAT weights", ONYX_ERR_SHAPE, "output type float16"},
      {"W rows differ from X's channels", ONYX_ERR_SHAPE, "has 7 rows"},
      {"C of shape [2, M]", ONYX_ERR_SHAPE, "must be [5] or [1, 5]"},
      {"X of rank 2", ONYX_ERR_SHAPE, "rank >= 3"},
      {"4 inputs", ONYX_ERR_INVALID_MODEL, "has 4 inputs"},
  };
  const int nb = (int)(sizeof(bad) / sizeof(bad[0]));
  fpg_spec specs[8];
  for (int i = 0; i < nb; i++) specs[i] = fpg_good;
  specs[0].trans_a = 1;
  specs[1].trans_b = 2;
  specs[2].to = 7;
  specs[3].to = ONYX_DTYPE_FLOAT16;
  specs[4].w_dims[1] = 7;
  specs[5].c_dims[0] = 2;
  specs[6].x_shape = "2,6";
  specs[7].inputs = "x,W,C,z";
  for (int i = 0; i < nb; i++) {
    mb *b = fpg_model(&specs[i], true);
    onyx_model *m = NULL;
    onyx_status st = mb_load(b, &m);
    if (!CHECK_ERR(st, bad[i].st, "FusedPoolGemm node 'fpg'", bad[i].msg))
      fprintf(stderr, "  (case: %s)\n", bad[i].what);
    CHECK(m == NULL || st == ONYX_OK);
    onyx_model_free(m);
    mb_free(b);
  }
}

/* ---- a real model's head ---- */

static void test_model(const char *path)
{
  if (!path) {
    printf("skipped: MobileNetV2's head (mobilenetv2_fp32_from_qdq.onnx not found: see "
           "tests/passes/CMakeLists.txt)\n");
    return;
  }
  onyx_model *m = NULL;
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 0);
  ir_graph *ref = NULL, *opt = NULL;
  if (!CHECK_OK(onyx_model_load(path, &m))) goto out;
  ref = h_prepare(m, &cpu);
  opt = h_prepare(m, &cpu);
  CHECK(ref && opt);
  /* both optimised: the comparison sees the fusion only */
  if (!ref || !opt || !CHECK_OK(graph_optimize(ref, ONYX_OPT_POINTWISE, NULL)) ||
      !CHECK_OK(graph_optimize(opt, ONYX_OPT_POINTWISE, NULL)))
    goto out;
  const int pool = find_op(opt, ONYX_OP_GLOBAL_AVERAGE_POOL);
  CHECK(pool >= 0 && h_count_op(opt, ONYX_OP_GLOBAL_AVERAGE_POOL) == 1);
  if (pool < 0) goto out;
  const char *why = pool_gemm_refusal(opt, &fp32_opts, pool);
  CHECKF(!why, "%s: refused for '%s'", path, why);
  int n_fused = -1;
  CHECK_OK(pool_gemm_fuse(opt, &fp32_opts, &n_fused));
  CHECK_EQ_I64(n_fused, 1);
  CHECK_EQ_I64(h_count_op(opt, ONYX_OP_FUSED_POOL_GEMM), 1);
  CHECK_EQ_I64(h_count_op(opt, ONYX_OP_GLOBAL_AVERAGE_POOL) + h_count_op(opt, ONYX_OP_RESHAPE) +
                   h_count_op(opt, ONYX_OP_GEMM),
               0);
  CHECK_EQ_I64(opt->n_nodes, ref->n_nodes - 2);
  const int fi = find_op(opt, ONYX_OP_FUSED_POOL_GEMM);
  if (fi >= 0) {
    printf("MobileNetV2: fused '%s'\n", opt->nodes[fi].name);
    CHECK_EQ_I64(opt->nodes[fi].out[0], opt->outputs[0]);
  }
  run_compare(ref, opt, &cpu, "MobileNetV2 head");
out:
  ir_graph_free(ref);
  ir_graph_free(opt);
  onyx_model_free(m);
  cpu_ctx_free(&cpu);
}

int main(int argc, char **argv)
{
  test_heads();
  test_not_fused();
  test_fp16();
  test_direct();
  test_model(argc > 1 ? argv[1] : NULL);
  return check_summary(argv[0]);
}
