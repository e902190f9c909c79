/* GPU test of channels-last FP16 and TF32 engines (label "gpu"; exits 77 without a GPU).
 *
 * The small conv graphs of tests/engine/layout_graphs.c (concat, split,
 * resize, max/avg/global pools, batchnorm, clip, residual adds, depthwise and
 * asymmetric pads, per-channel broadcasts, reshape/transpose heads, pad, SE
 * blocks, a 4-D output, a shared filter) are built as FP16 engines through the
 * public API and run through a context (CUDA graph replay on the second run):
 *   - against the CPU session on the same inputs (FP32): cosine > 0.9999 and
 *     max |err| <= 2e-2 of the output's scale;
 *   - against the same engine built row-major (ONYX_NHWC=0): cosine >
 *     0.9999 (the two differ only in layouts and cuDNN's algorithms);
 *   - the engine really runs channels-last: as many layers with ":nhwc" in
 *     their kernel as the layout pass stores KRSC filters, and as many
 *     reformat layers as it inserts (layout_graphs.c's expectations);
 *   - built again with ONYX_CONV_GEMM=1 (every 1x1 conv the GEMM form can run
 *     runs as a cuBLASLt GEMM, l_conv.c): the same tolerances against the CPU,
 *     as many "cublasLt:conv1x1" layers as layout_graphs.c expects, and the
 *     engine saved and loaded again gives bit-identical outputs (the recorded
 *     GEMM tactics are set up again on load); the same with ONYX_CONV_SPLITK=1
 *     (every conv onyx's split-K kernel covers runs it: "onyx:conv_splitk"
 *     layers, none on GPUs older than sm_90);
 *   - as a TF32 engine built with ONYX_NHWC=all (every node that can run
 *     channels-last does; the cost model alone keeps these small graphs
 *     mostly row-major in TF32, where the input needs a reformat launch):
 *     against the CPU, cosine > 0.99999 and max |err| <= 5e-3 of the scale,
 *     against the TF32 engine built row-major (ONYX_NHWC=0) cosine > 0.99999,
 *     and at least as many conv layers run channels-last (cuDNN's NHWC
 *     format, or the GEMM form) as in the FP16 engine, and at least one
 *     (convs on [N, C, 1, 1] maps, whose layouts coincide, stay row-major);
 *     built again with ONYX_CONV_GEMM=1 too, the same against the CPU, and
 *     its 1x1 convs run as TF32 cuBLASLt GEMMs;
 *   - pairs of layers on a second stream (plan.h): as many side-stream layers as
 *     layout_graphs.c expects pairs (the engine's and a context's listings), and
 *     the engine saved and loaded gives bit-identical outputs run with pairs
 *     (CUDA graph and launched layer by layer) and with ONYX_CONCURRENT=0 (no
 *     side-stream layer then);
 *   - ResNet's stem (graphs "stem..."): conv 7x7/2 + MaxPool 3x3/2 run as one layer, the input Cast folded
 *     into it unless another node reads the input, and the same outputs built with ONYX_CONV_POOL=0;
 *   - built with ONYX_PAIR_CHECK=alt (graphs with pairs: each paired layer takes its tactic of another
 *     family, cuda_runner_check_pairs): outputs against the CPU, the downsample graph runs at least one
 *     other kernel, and save / load gives the same kernels and bit-identical outputs;
 *   - classifier heads (graphs "head..."): GlobalAveragePool + Flatten/Reshape + Gemm (+ the output Cast)
 *     run as one FusedPoolGemm layer at batches up to 8 in FP16 (channels-last and row-major input) and
 *     TF32 engines, none at batch 9, and the same outputs built with ONYX_POOL_GEMM=0.
 * usage: onyx_nhwc_tests [-v] [--filter SUBSTRING] */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/cuda/kernels/conv_splitk.h"
#include "layout_graphs.h"
#include "onyx.h"

#define MAX_IO 4

static int failures, verbose;

static uint64_t rng = 0x51ed2701a3c4e5b7ull;
static float frand(void)
{
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((double)(rng >> 11) / 9007199254740992.0) * 2.f - 1.f;
}

static int64_t numel(const onyx_tensor_info *t)
{
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->dims[d];
  return n;
}

typedef struct io {
  int n_in, n_out;
  onyx_tensor_info in[MAX_IO], out[MAX_IO];
  void *in_data[MAX_IO];
  float *ref[MAX_IO];
} io;

static void io_free(io *x)
{
  for (int i = 0; i < MAX_IO; i++) {
    free(x->in_data[i]);
    free(x->ref[i]);
  }
}

/* One buffer per output of x (zeroed), and their release. */
static void outs_alloc(const io *x, float **o)
{
  for (int i = 0; i < x->n_out; i++) o[i] = calloc((size_t)numel(&x->out[i]) + 1, sizeof(float));
}

static void outs_free(float **o)
{
  for (int i = 0; i < MAX_IO; i++) free(o[i]);
}

static int make_inputs(onyx_model *m, io *x)
{
  x->n_in = onyx_model_num_inputs(m);
  x->n_out = onyx_model_num_outputs(m);
  if (x->n_in > MAX_IO || x->n_out > MAX_IO) return -1;
  for (int i = 0; i < x->n_in; i++) {
    onyx_model_input(m, i, &x->in[i]);
    int64_t n = numel(&x->in[i]);
    if (x->in[i].dtype == ONYX_DTYPE_BOOL) {
      uint8_t *b = malloc((size_t)n + 1);
      for (int64_t k = 0; k < n; k++) b[k] = frand() > 0;
      x->in_data[i] = b;
    } else {
      float *f = malloc((size_t)(n + 1) * sizeof(float));
      for (int64_t k = 0; k < n; k++) f[k] = frand();
      x->in_data[i] = f;
    }
  }
  for (int i = 0; i < x->n_out; i++) onyx_model_output(m, i, &x->out[i]);
  return 0;
}

static int cpu_reference(onyx_model *m, io *x)
{
  onyx_session *s;
  if (onyx_session_create(m, NULL, &s) != ONYX_OK) return -1;
  for (int i = 0; i < x->n_in; i++)
    if (onyx_session_set_input(s, x->in[i].name, x->in[i].dtype, x->in[i].ndim, x->in[i].dims,
                               x->in_data[i]) != ONYX_OK)
      goto fail;
  if (onyx_session_run(s) != ONYX_OK) goto fail;
  for (int i = 0; i < x->n_out; i++) {
    onyx_tensor_info t;
    const void *d;
    onyx_session_output(s, i, &t, &d);
    if (numel(&t) != numel(&x->out[i]) || t.dtype != ONYX_DTYPE_FLOAT) goto fail;
    x->ref[i] = malloc((size_t)(numel(&t) + 1) * sizeof(float));
    memcpy(x->ref[i], d, (size_t)numel(&t) * sizeof(float));
  }
  onyx_session_free(s);
  return 0;
fail:
  onyx_session_free(s);
  return -1;
}

/* Runs an engine twice (the second run replays the captured graph, unless use_graph is 0); outputs into
 * got; *side (when not NULL) gets the number of the context's layers on the side stream. */
static onyx_status run_engine_opts(onyx_engine *e, const io *x, float **got, int use_graph, int *side)
{
  onyx_context *c = NULL;
  onyx_status st = onyx_context_create(e, &c);
  if (st == ONYX_OK) st = onyx_context_use_graph(c, use_graph);
  for (int i = 0; st == ONYX_OK && i < x->n_in; i++)
    st = onyx_context_set_binding(c, x->in[i].name, x->in_data[i], 0);
  for (int i = 0; st == ONYX_OK && i < x->n_out; i++)
    st = onyx_context_set_binding(c, x->out[i].name, got[i], 0);
  for (int rep = 0; st == ONYX_OK && rep < 2; rep++) { /* the second run replays the captured graph */
    st = onyx_context_enqueue(c, NULL);
    if (st == ONYX_OK) st = onyx_context_synchronize(c);
  }
  int n = 0;
  if (side && st == ONYX_OK) st = onyx_context_num_layers(c, &n);
  for (int i = 0; side && st == ONYX_OK && i < n; i++) {
    onyx_layer_info li;
    st = onyx_context_layer(c, i, &li, NULL, NULL);
    if (i == 0) *side = 0;
    *side += st == ONYX_OK && li.side_stream;
  }
  onyx_context_free(c);
  return st;
}

static onyx_status run_engine(onyx_engine *e, const io *x, float **got)
{
  return run_engine_opts(e, x, got, 1, NULL);
}

/* Builds an engine of precision p with the environment knobs `knobs` ("NAME=VALUE NAME=VALUE ...", or
 * NULL) set during the build and runs it; outputs into got. */
static onyx_engine *build_run(onyx_model *m, const io *x, onyx_precision p, const char *knobs, float **got)
{
  onyx_build_options o;
  onyx_build_options_init(&o);
  o.precision = p;
  char names[4][64];
  int n_knobs = 0;
  for (const char *k = knobs; k && *k && n_knobs < 4;) {
    const char *eq = strchr(k, '='), *end = strchr(k, ' ');
    if (!end) end = k + strlen(k);
    char value[64];
    snprintf(names[n_knobs], sizeof(names[0]), "%.*s", (int)(eq - k), k);
    snprintf(value, sizeof(value), "%.*s", (int)(end - eq - 1), eq + 1);
    setenv(names[n_knobs++], value, 1);
    k = *end ? end + 1 : end;
  }
  onyx_engine *e = NULL;
  onyx_status st = onyx_engine_build(m, &o, &e);
  for (int i = 0; i < n_knobs; i++) unsetenv(names[i]);
  if (st == ONYX_OK) st = run_engine(e, x, got);
  if (st != ONYX_OK) {
    printf("  engine%s%s: %s\n", knobs ? " built with " : "", knobs ? knobs : "", onyx_last_error());
    onyx_engine_free(e);
    return NULL;
  }
  return e;
}

typedef struct cmp {
  double cosine, err_scale;
} cmp;

static cmp compare(const float *ref, const float *got, int64_t n)
{
  double scale = 0, err = 0, dot = 0, na = 0, nb = 0;
  for (int64_t i = 0; i < n; i++) {
    scale = fmax(scale, fabs(ref[i]));
    double d = fabs((double)ref[i] - got[i]);
    if (!(d <= err)) err = isnan(d) ? INFINITY : d;
    dot += (double)ref[i] * got[i];
    na += (double)ref[i] * ref[i];
    nb += (double)got[i] * got[i];
  }
  cmp c = {(na > 0 && nb > 0) ? dot / sqrt(na * nb) : (na == nb ? 1.0 : 0.0), err / (scale > 0 ? scale : 1)};
  return c;
}

static void fail(const char *name, const char *what)
{
  failures++;
  printf("FAIL %s: %s\n", name, what);
}

static int count_kernels(const onyx_engine *e, const char *what)
{
  int n = 0, layers = onyx_engine_num_layers(e);
  for (int i = 0; i < layers; i++) {
    onyx_layer_info li;
    if (onyx_engine_layer(e, i, &li) == ONYX_OK && strstr(li.kernel, what)) n++;
  }
  return n;
}

static int count_ops(const onyx_engine *e, const char *op_type)
{
  int n = 0, layers = onyx_engine_num_layers(e);
  for (int i = 0; i < layers; i++) {
    onyx_layer_info li;
    if (onyx_engine_layer(e, i, &li) == ONYX_OK && !strcmp(li.op_type, op_type)) n++;
  }
  return n;
}

static int count_side(const onyx_engine *e)
{
  int n = 0, layers = onyx_engine_num_layers(e);
  for (int i = 0; i < layers; i++) {
    onyx_layer_info li;
    if (onyx_engine_layer(e, i, &li) == ONYX_OK && li.side_stream) n++;
  }
  return n;
}

static bool same_outputs(const io *x, float **a, float **b)
{
  for (int i = 0; i < x->n_out; i++)
    if (memcmp(a[i], b[i], (size_t)numel(&x->out[i]) * sizeof(float))) return false;
  return true;
}

/* Pairs of layers on the side stream: e (built with them, its outputs in got) against itself saved and
 * loaded, run with pairs (a CUDA graph, then layer by layer) and with ONYX_CONCURRENT=0. */
static void run_lanes(const layout_graph *lg, onyx_engine *e, const io *x, float **got)
{
  float *again[MAX_IO] = {0}, *eager[MAX_IO] = {0}, *serial[MAX_IO] = {0};
  onyx_engine *back = NULL, *back0 = NULL;
  char path[] = "/tmp/onyx_nhwc_lanes_XXXXXX";
  int fd = mkstemp(path), side_ctx = -1, side_serial = -1;
  outs_alloc(x, again);
  outs_alloc(x, eager);
  outs_alloc(x, serial);
  int n_side = count_side(e);
  printf("  %d layers on the side stream\n", n_side);
  if (lg->expect_pairs >= 0 && n_side != lg->expect_pairs) fail(lg->name, "side-stream layer count");
  if (fd < 0 || onyx_engine_save(e, path) != ONYX_OK || onyx_engine_load(path, &back) != ONYX_OK ||
      run_engine_opts(back, x, again, 1, &side_ctx) != ONYX_OK ||
      run_engine_opts(back, x, eager, 0, NULL) != ONYX_OK) {
    printf("  save / load / run: %s\n", onyx_last_error());
    fail(lg->name, "pairs: engine save / load / run failed");
    goto out;
  }
  setenv("ONYX_CONCURRENT", "0", 1); /* read where plans are made: the loaded engine's contexts */
  onyx_status st = onyx_engine_load(path, &back0);
  if (st == ONYX_OK) st = run_engine_opts(back0, x, serial, 1, &side_serial);
  int listed_serial = st == ONYX_OK ? count_side(back0) : -1;
  unsetenv("ONYX_CONCURRENT");
  if (st != ONYX_OK) {
    printf("  ONYX_CONCURRENT=0: %s\n", onyx_last_error());
    fail(lg->name, "pairs: the engine loaded with ONYX_CONCURRENT=0 failed");
    goto out;
  }
  bool ok = same_outputs(x, got, again) && same_outputs(x, got, eager) && same_outputs(x, got, serial);
  bool counts = count_side(back) == n_side && side_ctx == n_side && side_serial == 0 && listed_serial == 0;
  printf("  saved and loaded: with pairs (graph, layer by layer) and ONYX_CONCURRENT=0: %s; side-stream "
         "layers listed %d, in a context %d, without pairs %d / %d  %s\n",
         ok ? "bit-identical" : "DIFFERENT", count_side(back), side_ctx, side_serial, listed_serial,
         counts ? "ok" : "FAIL");
  if (!ok) fail(lg->name, "pairs: outputs differ from the engine run without pairs");
  if (!counts) fail(lg->name, "pairs: side-stream layer counts");
out:
  if (fd >= 0) {
    close(fd);
    unlink(path);
  }
  outs_free(again);
  outs_free(eager);
  outs_free(serial);
  onyx_engine_free(back);
  onyx_engine_free(back0);
}

/* The graph built with one conv form forced where it can run (knob: ONYX_CONV_GEMM=1, the cuBLASLt GEMM form
 * of 1x1 convs, or ONYX_CONV_SPLITK=1, onyx's split-K kernel; l_conv.c), or with another build knob: outputs
 * against the CPU, the number of layers whose kernel names the form (expect, when >= 0), at least
 * min_changed layers whose kernel differs from base's (when base is not NULL), and a save / load round trip
 * (the recorded tactics set up again: the same kernels, bit-identical outputs). */
static void run_knob_engine(const layout_graph *lg, onyx_model *m, const io *x, const char *form,
                            const char *knob, const char *kernel, int expect, const onyx_engine *base,
                            int min_changed)
{
  float *got[MAX_IO] = {0}, *again[MAX_IO] = {0};
  onyx_engine *e = NULL, *back = NULL;
  char path[] = "/tmp/onyx_nhwc_form_XXXXXX";
  int fd = mkstemp(path);
  outs_alloc(x, got);
  outs_alloc(x, again);
  e = build_run(m, x, ONYX_PRECISION_FP16, knob, got);
  if (!e || fd < 0) {
    fail(lg->name, "forced-form engine build or run failed");
    goto out;
  }
  for (int i = 0; i < x->n_out; i++) {
    cmp c = compare(x->ref[i], got[i], numel(&x->out[i]));
    bool ok = c.cosine > 0.9999 && c.err_scale <= 2e-2;
    printf("  %-4s %s form vs cpu: cosine %.7f err/scale %.2e  %s\n", x->out[i].name, form, c.cosine,
           c.err_scale, ok ? "ok" : "FAIL");
    if (!ok) fail(lg->name, "forced-form outputs differ");
  }
  int n_form = count_kernels(e, kernel);
  printf("  %d convs as %s\n", n_form, kernel);
  if (expect >= 0 && n_form != expect) fail(lg->name, "forced-form conv count");
  if (base) {
    int changed = 0, n = onyx_engine_num_layers(e);
    for (int i = 0; i < n && n == onyx_engine_num_layers(base); i++) {
      onyx_layer_info a, b;
      if (onyx_engine_layer(e, i, &a) == ONYX_OK && onyx_engine_layer(base, i, &b) == ONYX_OK)
        changed += strcmp(a.kernel, b.kernel) != 0;
    }
    printf("  %d layers run another kernel than the default build's\n", changed);
    if (changed < min_changed) fail(lg->name, "no layer took its alternative");
  }
  if (onyx_engine_save(e, path) != ONYX_OK || onyx_engine_load(path, &back) != ONYX_OK ||
      run_engine(back, x, again) != ONYX_OK) {
    printf("  save / load: %s\n", onyx_last_error());
    fail(lg->name, "forced-form engine save / load / run failed");
    goto out;
  }
  bool same = count_kernels(back, kernel) == n_form && same_outputs(x, got, again);
  printf("  saved and loaded: %s\n", same ? "bit-identical, same kernels" : "DIFFERENT");
  if (!same) fail(lg->name, "forced-form engine differs after save / load");
out:
  if (fd >= 0) {
    close(fd);
    unlink(path);
  }
  outs_free(got);
  outs_free(again);
  onyx_engine_free(e);
  onyx_engine_free(back);
}

static void run_forced_form(const layout_graph *lg, onyx_model *m, const io *x, const char *form,
                            const char *knob, const char *kernel, int expect)
{
  run_knob_engine(lg, m, x, form, knob, kernel, expect, NULL, 0);
}

/* ResNet's stem (graphs "stem..."): e (its outputs in got) runs the conv and the pool as one layer
 * (l_conv_pool.c) whose input Cast is folded unless another node reads the input ("..._shared_..."); built
 * with ONYX_CONV_POOL=0 they run apart, with the Cast, and the outputs agree. */
static void run_stem(const layout_graph *lg, onyx_engine *e, onyx_model *m, const io *x, float **got)
{
  if (strncmp(lg->name, "stem", 4)) return;
  float *apart[MAX_IO] = {0};
  outs_alloc(x, apart);
  const bool shared = strstr(lg->name, "shared") != NULL;
  onyx_engine *e1 = build_run(m, x, ONYX_PRECISION_FP16, "ONYX_CONV_POOL=0", apart);
  if (!e1) {
    fail(lg->name, "engine built with ONYX_CONV_POOL=0 failed");
    goto out;
  }
  int fused = count_kernels(e, "conv7x7s2_maxpool"), fused1 = count_kernels(e1, "conv7x7s2_maxpool");
  int folded = count_ops(e1, "Cast") - count_ops(e, "Cast");
  printf("  fused stem layers: %d (%d with ONYX_CONV_POOL=0), input Casts folded: %d, layers %d (%d)\n", fused,
         fused1, folded, onyx_engine_num_layers(e), onyx_engine_num_layers(e1));
  if (fused != 1 || fused1 != 0) fail(lg->name, "fused stem layer count");
  if (folded != (shared ? 0 : 1)) fail(lg->name, "input Cast folded (only when the conv alone reads it)");
  for (int i = 0; i < x->n_out; i++) {
    cmp c = compare(apart[i], got[i], numel(&x->out[i]));
    bool ok = c.cosine > 0.9999 && c.err_scale <= 1e-2;
    printf("  %-4s fused vs apart: cosine %.7f err/scale %.2e  %s\n", x->out[i].name, c.cosine, c.err_scale,
           ok ? "ok" : "FAIL");
    if (!ok) fail(lg->name, "fused and unfused stems differ");
  }
out:
  outs_free(apart);
  onyx_engine_free(e1);
}

/* Classifier heads (graphs "head..."): as many FusedPoolGemm layers as layout_graphs.c expects in e and
 * e0 (FP16, channels-last and row-major), none built with ONYX_POOL_GEMM=0, whose outputs are within the
 * same tolerances of the CPU's and close to e's (got). */
static void run_head(const layout_graph *lg, onyx_engine *e, onyx_engine *e0, onyx_model *m, const io *x,
                     float **got)
{
  int n = count_ops(e, "FusedPoolGemm"), n0 = count_ops(e0, "FusedPoolGemm");
  if (n || n0 || lg->expect_pool_gemm) printf("  %d fused head layers (row-major engine: %d)\n", n, n0);
  if (n != lg->expect_pool_gemm || n0 != lg->expect_pool_gemm) fail(lg->name, "fused head layer count");
  if (!lg->expect_pool_gemm) return;
  float *apart[MAX_IO] = {0};
  outs_alloc(x, apart);
  onyx_engine *ea = build_run(m, x, ONYX_PRECISION_FP16, "ONYX_POOL_GEMM=0", apart);
  if (!ea) {
    fail(lg->name, "engine built with ONYX_POOL_GEMM=0 failed");
    goto out;
  }
  if (count_ops(ea, "FusedPoolGemm")) fail(lg->name, "a head fused with ONYX_POOL_GEMM=0");
  for (int i = 0; i < x->n_out; i++) {
    int64_t k = numel(&x->out[i]);
    cmp c = compare(x->ref[i], apart[i], k), cc = compare(apart[i], got[i], k);
    bool ok = c.cosine > 0.9999 && c.err_scale <= 2e-2 && cc.cosine > 0.9999 && cc.err_scale <= 5e-3;
    printf("  %-4s head apart (ONYX_POOL_GEMM=0) vs cpu: cosine %.7f err/scale %.2e | fused vs apart: %.7f %.2e  "
           "%s\n",
           x->out[i].name, c.cosine, c.err_scale, cc.cosine, cc.err_scale, ok ? "ok" : "FAIL");
    if (!ok) fail(lg->name, "fused head against the head apart");
  }
out:
  outs_free(apart);
  onyx_engine_free(ea);
}

/* The graph as a TF32 engine, every node that can run channels-last doing so (ONYX_NHWC=all), against
 * the CPU and against the TF32 engine kept row-major. */
static void run_tf32(const layout_graph *lg, onyx_model *m, const io *x, int fp16_nhwc_convs)
{
  float *cl[MAX_IO] = {0}, *rowm[MAX_IO] = {0}, *gemm[MAX_IO] = {0};
  onyx_engine *e = NULL, *e0 = NULL, *eg = NULL;
  outs_alloc(x, cl);
  outs_alloc(x, rowm);
  outs_alloc(x, gemm);
  e = build_run(m, x, ONYX_PRECISION_TF32, "ONYX_NHWC=all", cl);
  e0 = build_run(m, x, ONYX_PRECISION_TF32, "ONYX_NHWC=0", rowm);
  eg = build_run(m, x, ONYX_PRECISION_TF32, "ONYX_NHWC=all ONYX_CONV_GEMM=1", gemm);
  if (!e || !e0 || !eg) {
    fail(lg->name, "TF32 engine build or run failed");
    goto out;
  }
  for (int i = 0; i < x->n_out; i++) {
    int64_t n = numel(&x->out[i]);
    cmp c = compare(x->ref[i], cl[i], n), cc = compare(rowm[i], cl[i], n), cg = compare(x->ref[i], gemm[i], n);
    bool ok = c.cosine > 0.99999 && c.err_scale <= 5e-3 && cc.cosine > 0.99999 && cg.cosine > 0.99999 &&
              cg.err_scale <= 5e-3;
    printf("  %-4s tf32 nhwc vs cpu: cosine %.7f err/scale %.2e | vs tf32 row-major: %.7f | gemm form vs cpu: "
           "%.7f %.2e  %s\n",
           x->out[i].name, c.cosine, c.err_scale, cc.cosine, cg.cosine, cg.err_scale, ok ? "ok" : "FAIL");
    if (!ok) fail(lg->name, "TF32 outputs differ");
  }
  int convs = 0, nhwc = 0, layers = onyx_engine_num_layers(e);
  for (int i = 0; i < layers; i++) {
    onyx_layer_info li;
    if (onyx_engine_layer(e, i, &li) != ONYX_OK || !strstr(li.op_type, "Conv")) continue;
    convs++;
    nhwc += strstr(li.kernel, ":nhwc") != NULL;
    if (verbose) printf("    %-14s %-48s %s\n", li.op_type, li.name, li.kernel);
  }
  int n_gemm = count_kernels(eg, "cublasLt:conv1x1");
  printf("  tf32: %d of %d convs NHWC; %d convs as cuBLASLt GEMMs with ONYX_CONV_GEMM=1\n", nhwc, convs, n_gemm);
  if (nhwc < 1 || nhwc < fp16_nhwc_convs) fail(lg->name, "TF32 convs not channels-last with ONYX_NHWC=all");
  if (lg->expect_gemm > 0 && n_gemm < lg->expect_gemm) fail(lg->name, "TF32 GEMM-form conv count");
  if (count_ops(e, "FusedPoolGemm") != lg->expect_pool_gemm) fail(lg->name, "TF32 fused head layer count");
out:
  outs_free(cl);
  outs_free(rowm);
  outs_free(gemm);
  onyx_engine_free(e);
  onyx_engine_free(e0);
  onyx_engine_free(eg);
}

static void run_graph(const layout_graph *lg)
{
  printf("%s (%s)\n", lg->name, lg->what);
  mb *b = lg->build();
  onyx_model *m = NULL;
  onyx_status st = mb_load(b, &m);
  mb_free(b);
  io x;
  memset(&x, 0, sizeof(x));
  float *nhwc[MAX_IO] = {0}, *rowm[MAX_IO] = {0};
  onyx_engine *e = NULL, *e0 = NULL;
  if (st != ONYX_OK || make_inputs(m, &x) != 0 || cpu_reference(m, &x) != 0) {
    fail(lg->name, onyx_last_error());
    goto out;
  }
  outs_alloc(&x, nhwc);
  outs_alloc(&x, rowm);
  e = build_run(m, &x, ONYX_PRECISION_FP16, NULL, nhwc);
  e0 = build_run(m, &x, ONYX_PRECISION_FP16, "ONYX_NHWC=0", rowm);
  if (!e || !e0) {
    fail(lg->name, "engine build or run failed");
    goto out;
  }
  for (int i = 0; i < x.n_out; i++) {
    int64_t n = numel(&x.out[i]);
    cmp c = compare(x.ref[i], nhwc[i], n), c0 = compare(x.ref[i], rowm[i], n),
        cc = compare(rowm[i], nhwc[i], n);
    bool ok = c.cosine > 0.9999 && c.err_scale <= 2e-2 && cc.cosine > 0.9999;
    printf(
        "  %-4s nhwc vs cpu: cosine %.7f err/scale %.2e | row-major vs cpu: %.7f %.2e | nhwc vs row-major: "
        "%.7f  %s\n",
        x.out[i].name, c.cosine, c.err_scale, c0.cosine, c0.err_scale, cc.cosine, ok ? "ok" : "FAIL");
    if (!ok) fail(lg->name, "outputs differ");
  }
  int nhwc_layers = 0, reformats = 0, n = onyx_engine_num_layers(e);
  for (int i = 0; i < n; i++) {
    onyx_layer_info li;
    if (onyx_engine_layer(e, i, &li) != ONYX_OK) continue;
    if (strstr(li.kernel, ":nhwc")) nhwc_layers++;
    if (!strcmp(li.op_type, "Identity") && strstr(li.kernel, "strided_copy_to_")) reformats++;
    if (verbose)
      printf("    %-14s %-48s %s%s\n", li.op_type, li.name, li.kernel, li.side_stream ? "  ||" : "");
  }
  nhwc_layers += count_kernels(e, "conv7x7s2_maxpool"); /* a channels-last conv too (run_stem) */
  printf("  %d layers, %d convs NHWC, %d reformats\n", n, nhwc_layers, reformats);
  if (lg->expect_filters >= 0 && nhwc_layers != lg->expect_filters) fail(lg->name, "NHWC conv count");
  if (lg->expect_reformats >= 0 && reformats != lg->expect_reformats) fail(lg->name, "reformat count");
  run_lanes(lg, e, &x, nhwc);
  run_stem(lg, e, m, &x, nhwc);
  run_head(lg, e, e0, m, &x, nhwc);
  run_forced_form(lg, m, &x, "gemm", "ONYX_CONV_GEMM=1", "cublasLt:conv1x1", lg->expect_gemm);
  /* the split-K kernel needs sm_90's clusters: on older GPUs no conv may run it */
  run_forced_form(lg, m, &x, "split-K", "ONYX_CONV_SPLITK=1", "onyx:conv_splitk",
                  cuda_conv_splitk_supported() ? lg->expect_splitk : 0);
  /* pairs whose layers take their other-family tactic (cuda_runner_check_pairs): the downsample graph's
   * 1x1/2 shortcut has the GEMM form and cuDNN */
  if (lg->expect_pairs > 0)
    run_knob_engine(lg, m, &x, "pair alternatives", "ONYX_PAIR_CHECK=alt", "", -1, e,
                    !strcmp(lg->name, "downsample"));
  run_tf32(lg, m, &x, nhwc_layers);
out:
  outs_free(nhwc);
  outs_free(rowm);
  onyx_engine_free(e);
  onyx_engine_free(e0);
  io_free(&x);
  onyx_model_free(m);
}

int main(int argc, char **argv)
{
  const char *filter = NULL;
  for (int a = 1; a < argc; a++) {
    if (!strcmp(argv[a], "-v"))
      verbose = 1;
    else if (!strcmp(argv[a], "--filter") && a + 1 < argc)
      filter = argv[++a];
  }
  if (!onyx_cuda_available()) {
    printf("no CUDA GPU: skipped\n");
    return 77;
  }
  int ran = 0;
  for (int i = 0; i < n_layout_graphs; i++) {
    if (filter && !strstr(layout_graphs[i].name, filter)) continue;
    run_graph(&layout_graphs[i]);
    ran++;
  }
  printf("%d graphs, %d failures\n", ran, failures);
  return failures ? 1 : 0;
}
