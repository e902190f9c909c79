/* Generated FusedPointwise kernels on the GPU (label "gpu"; exits 77 without
 * one).  A model with four pointwise chains (x*sigmoid(x)+y; a per-channel
 * bias, scale, Clip and LeakyRelu; HardSwish, Sub, Abs, +1, Sqrt; and Tanh, Mul,
 * Add on a 105-element tensor, so the 4-wide path has a tail) is run:
 *   1. on the CPU backend (the reference) and the CUDA session backend;
 *   2. as FP32 and FP16 engines: the pointwise layers must run "nvrtc:"
 *      kernels, NVRTC compiles during the build, the outputs match the CPU
 *      (FP32 1e-5 + 1e-5 relative; FP16 2e-2 + 2e-2);
 *   3. each engine saved and loaded again as a new engine: its contexts'
 *      layers (onyx_context_profile) run "nvrtc:" kernels with no NVRTC
 *      compilation at all (the cubins came from the file), and the outputs
 *      equal the built engine's bit for bit;
 *   4. with ONYX_NVRTC=0, the interpreter ("onyx:pointwise") gives the same
 *      results within the tolerance.
 * usage: onyx_nvrtc_cuda [SCRATCH_DIR] */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_builder.h"
#include "onyx.h"

#include "backend/cuda/nvrtc.h"

#define F ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define N_IN 3
#define N_OUT 4

static const char *in_names[N_IN] = {"x", "y", "z"};
static const int64_t in_dims[N_IN][4] = {{2, 16, 12, 12}, {2, 16, 12, 12}, {3, 5, 7, 0}};
static const int in_rank[N_IN] = {4, 4, 3};

static int64_t numel(int r, const int64_t *d)
{
  int64_t n = 1;
  for (int i = 0; i < r; i++) n *= d[i];
  return n;
}

static void fill(float *v, int64_t n, uint64_t seed)
{
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (int64_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = (float)(-2.0 + 4.0 * (double)(s >> 11) / (double)(1ull << 53));
  }
}

static onyx_model *make_model(void)
{
  mb *b = mb_new(13);
  mb_input(b, "x", F, "2,16,12,12");
  mb_input(b, "y", F, "2,16,12,12");
  mb_input(b, "z", F, "3,5,7");
  float bias[16], scale = 0.75f, lo = -0.25f, hi = 1.5f, one = 1.f;
  fill(bias, 16, 99);
  mb_init(b, "bias", F, "1,16,1,1", bias);
  mb_init(b, "scale", F, "", &scale);
  mb_init(b, "lo", F, "", &lo);
  mb_init(b, "hi", F, "", &hi);
  mb_init(b, "one", F, "", &one);
  /* chain 1: x * sigmoid(x) + y */
  mb_node(b, "Sigmoid", "sig", "x", "s1");
  mb_node(b, "Mul", "silu", "x,s1", "m1");
  mb_node(b, "Add", "add_y", "m1,y", "out1");
  /* chain 2: leaky(clip((x + bias) * scale)) */
  mb_node(b, "Add", "add_bias", "x,bias", "a2");
  mb_node(b, "Mul", "mul_scale", "a2,scale", "m2");
  mb_node(b, "Clip", "clip", "m2,lo,hi", "c2");
  Onnx__NodeProto *lr = mb_node(b, "LeakyRelu", "leaky", "c2", "out2");
  mb_attr_float(b, lr, "alpha", 0.1f);
  /* chain 3: sqrt(|hardswish(y) - x| + 1) (+1: FP16 inputs' rounding must not meet sqrt's slope at 0) */
  mb_node(b, "HardSwish", "hswish", "y", "h3");
  mb_node(b, "Sub", "sub_x", "h3,x", "d3");
  mb_node(b, "Abs", "abs", "d3", "a3");
  mb_node(b, "Add", "add_one3", "a3,one", "p3");
  mb_node(b, "Sqrt", "sqrt", "p3", "out3");
  /* chain 4: tanh(z) * z + 1 on 105 elements */
  mb_node(b, "Tanh", "tanh", "z", "t4");
  mb_node(b, "Mul", "mul_z", "t4,z", "m4");
  mb_node(b, "Add", "add_one", "m4,one", "out4");
  for (int i = 1; i <= N_OUT; i++) {
    char nm[8];
    snprintf(nm, sizeof(nm), "out%d", i);
    mb_output(b, nm, F, NULL);
  }
  onyx_model *m = NULL;
  if (mb_load(b, &m) != ONYX_OK) fprintf(stderr, "model: %s\n", onyx_last_error());
  mb_free(b);
  return m;
}

typedef struct outputs {
  float *v[N_OUT];
  int64_t n[N_OUT];
} outputs;

static void outputs_free(outputs *o)
{
  for (int i = 0; i < N_OUT; i++) free(o->v[i]);
  memset(o, 0, sizeof(*o));
}

static int run_session(const onyx_model *m, onyx_backend be, float *const *in, outputs *o)
{
  onyx_session_options opt;
  onyx_session_options_init(&opt);
  opt.backend = be;
  opt.opt_level = 3;
  onyx_session *s = NULL;
  int rc = -1;
  if (onyx_session_create(m, &opt, &s) != ONYX_OK) goto out;
  for (int i = 0; i < N_IN; i++)
    if (onyx_session_set_input(s, in_names[i], ONYX_DTYPE_FLOAT, in_rank[i], in_dims[i], in[i]) != ONYX_OK)
      goto out;
  if (onyx_session_run(s) != ONYX_OK) goto out;
  for (int i = 0; i < N_OUT; i++) {
    onyx_tensor_info info;
    const void *data;
    if (onyx_session_output(s, i, &info, &data) != ONYX_OK) goto out;
    o->n[i] = numel(info.ndim, info.dims);
    o->v[i] = malloc((size_t)o->n[i] * sizeof(float));
    memcpy(o->v[i], data, (size_t)o->n[i] * sizeof(float));
  }
  rc = 0;
out:
  if (rc)
    fprintf(stderr, "session (%s): %s\n", be == ONYX_BACKEND_CUDA ? "cuda" : "cpu", onyx_last_error());
  onyx_session_free(s);
  return rc;
}

/* Runs a context of e once; with kernels: how many FusedPointwise layers run
 * kernels starting with prefix (from onyx_context_profile), -1 on failure. */
static int run_engine(onyx_engine *e, float *const *in, const outputs *ref, outputs *o, const char *prefix,
                      int *n_fused)
{
  onyx_context *c = NULL;
  int rc = -1;
  *n_fused = 0;
  if (onyx_context_create(e, &c) != ONYX_OK) goto out;
  for (int i = 0; i < N_IN; i++)
    if (onyx_context_set_binding(c, in_names[i], in[i], 0) != ONYX_OK) goto out;
  for (int i = 0; i < N_OUT; i++) {
    char nm[8];
    snprintf(nm, sizeof(nm), "out%d", i + 1);
    o->n[i] = ref->n[i];
    o->v[i] = malloc((size_t)o->n[i] * sizeof(float));
    memset(o->v[i], 0xff, (size_t)o->n[i] * sizeof(float)); /* NaN poison: every element must be written */
    if (onyx_context_set_binding(c, nm, o->v[i], 0) != ONYX_OK) goto out;
  }
  if (onyx_context_enqueue(c, NULL) != ONYX_OK || onyx_context_synchronize(c) != ONYX_OK) goto out;
  onyx_layer_time lt[64];
  int n = 0;
  if (onyx_context_profile(c, 3, lt, 64, &n) != ONYX_OK) goto out;
  for (int i = 0; i < n && i < 64; i++) {
    if (strcmp(lt[i].op_type, "FusedPointwise") != 0) continue;
    printf("  layer %-40s %s\n", lt[i].name, lt[i].kernel);
    *n_fused += strncmp(lt[i].kernel, prefix, strlen(prefix)) == 0;
  }
  rc = 0;
out:
  if (rc) fprintf(stderr, "engine run: %s\n", onyx_last_error());
  onyx_context_free(c);
  return rc;
}

static int64_t compare(const char *what, const outputs *ref, const outputs *got, double atol, double rtol)
{
  int64_t bad = 0;
  double worst = 0;
  for (int i = 0; i < N_OUT; i++) {
    if (got->n[i] != ref->n[i] || !got->v[i]) return -1;
    for (int64_t k = 0; k < ref->n[i]; k++) {
      double r = ref->v[i][k], g = got->v[i][k], d = fabs(r - g);
      if (!(d <= atol + rtol * fabs(r))) {
        if (bad++ < 5) fprintf(stderr, "%s: out%d[%lld]: cpu %.8g, gpu %.8g\n", what, i + 1, (long long)k, r, g);
      }
      if (d > worst || d != d) worst = d;
    }
  }
  printf("%s: max abs difference %.3g, %lld mismatches\n", what, worst, (long long)bad);
  return bad;
}

static bool identical(const outputs *a, const outputs *b)
{
  for (int i = 0; i < N_OUT; i++)
    if (a->n[i] != b->n[i] || memcmp(a->v[i], b->v[i], (size_t)a->n[i] * sizeof(float)) != 0) return false;
  return true;
}

/* Builds, checks, saves, loads, checks again. */
static void engine_round(const onyx_model *m, onyx_precision prec, float *const *in, const outputs *ref,
                         const char *scratch)
{
  const bool fp16 = prec == ONYX_PRECISION_FP16;
  const double tol = fp16 ? 2e-2 : 1e-5;
  const char *tag = fp16 ? "fp16" : "fp32";
  onyx_build_options o;
  onyx_build_options_init(&o);
  o.precision = prec;
  onyx_engine *e = NULL;
  int before = cuda_nvrtc_compiles();
  if (!CHECK_OK(onyx_engine_build(m, &o, &e))) return;
  int compiled = cuda_nvrtc_compiles() - before;
  printf("%s build: %d NVRTC compilations\n", tag, compiled);
  CHECK(compiled >= 4); /* one per chain: their shapes or programs differ */
  int listed = 0;
  for (int i = 0; i < onyx_engine_num_layers(e); i++) {
    onyx_layer_info li;
    if (onyx_engine_layer(e, i, &li) == ONYX_OK && strcmp(li.op_type, "FusedPointwise") == 0)
      listed += strncmp(li.kernel, "nvrtc:", 6) == 0;
  }
  CHECK_EQ_I64(listed, 4);
  outputs built = {0}, loaded = {0};
  int n_fused = 0;
  CHECK(run_engine(e, in, ref, &built, "nvrtc:", &n_fused) == 0);
  CHECK_EQ_I64(n_fused, 4);
  char what[64];
  snprintf(what, sizeof(what), "%s engine (built)", tag);
  CHECK_EQ_I64(compare(what, ref, &built, tol, tol), 0);
  char path[512];
  snprintf(path, sizeof(path), "%s/nvrtc_%s.engine", scratch, tag);
  CHECK_OK(onyx_engine_save(e, path));
  onyx_engine_free(e);
  e = NULL;

  before = cuda_nvrtc_compiles();
  if (CHECK_OK(onyx_engine_load(path, &e))) {
    CHECK(run_engine(e, in, ref, &loaded, "nvrtc:", &n_fused) == 0);
    CHECK_EQ_I64(n_fused, 4);
    CHECK_EQ_I64(cuda_nvrtc_compiles() - before, 0); /* the cubins came from the file */
    printf("%s engine loaded: %d NVRTC compilations\n", tag, cuda_nvrtc_compiles() - before);
    snprintf(what, sizeof(what), "%s engine (loaded)", tag);
    CHECK_EQ_I64(compare(what, ref, &loaded, tol, tol), 0);
    CHECK(identical(&built, &loaded));
  }
  onyx_engine_free(e);
  outputs_free(&built);
  outputs_free(&loaded);
}

int main(int argc, char **argv)
{
  const char *scratch = argc > 1 ? argv[1] : "/tmp";
  if (!onyx_cuda_available()) {
    printf("no CUDA device: skipped\n");
    return 77;
  }
  onyx_model *m = make_model();
  if (!m) return 1;
  float *in[N_IN];
  for (int i = 0; i < N_IN; i++) {
    int64_t n = numel(in_rank[i], in_dims[i]);
    in[i] = malloc((size_t)n * sizeof(float));
    fill(in[i], n, 7 + (uint64_t)i);
  }
  outputs ref = {0}, sess = {0};
  CHECK(run_session(m, ONYX_BACKEND_CPU, in, &ref) == 0);
  if (ref.v[0]) {
    CHECK(run_session(m, ONYX_BACKEND_CUDA, in, &sess) == 0);
    if (sess.v[0]) CHECK_EQ_I64(compare("cuda session", &ref, &sess, 1e-5, 1e-5), 0);
    engine_round(m, ONYX_PRECISION_FP32, in, &ref, scratch);
    engine_round(m, ONYX_PRECISION_FP16, in, &ref, scratch);
    /* the interpreter, forced */
    setenv("ONYX_NVRTC", "0", 1);
    onyx_build_options o;
    onyx_build_options_init(&o);
    onyx_engine *e = NULL;
    int before = cuda_nvrtc_compiles();
    if (CHECK_OK(onyx_engine_build(m, &o, &e))) {
      outputs interp = {0};
      int n_fused = 0;
      CHECK(run_engine(e, in, &ref, &interp, "onyx:pointwise", &n_fused) == 0);
      CHECK_EQ_I64(n_fused, 4);
      CHECK_EQ_I64(cuda_nvrtc_compiles() - before, 0);
      CHECK_EQ_I64(compare("interpreter engine", &ref, &interp, 1e-5, 1e-5), 0);
      outputs_free(&interp);
    }
    onyx_engine_free(e);
    unsetenv("ONYX_NVRTC");
  }
  outputs_free(&ref);
  outputs_free(&sess);
  for (int i = 0; i < N_IN; i++) free(in[i]);
  onyx_model_free(m);
  return check_summary(argv[0]);
}
