/* Out of device memory (label "gpu"; exits 77 without a GPU).  In one process:
 *
 *   warm-up   a small engine (x[N,8,32,32] -> Conv 3x3 -> Relu -> + x -> GlobalAveragePool
 *             -> Flatten), built for N in 1..4 and run at N = 2 against the CPU session;
 *             the device's free memory after it is the base level.
 *   round 1, 2:
 *     A  --workspace far beyond the card (1 PiB): the build clamps it to the free memory
 *        (a warning), succeeds, reports a workspace below the card's size, and runs right;
 *     B  a max batch whose input alone is twice the card: the build refuses it, naming the
 *        bytes of activations and the card's size;
 *     C  a max batch that fits the card, with all but 256 MiB of the device taken by this
 *        test: the context's first enqueue at that batch fails naming the arena's bytes;
 *        the memory is given back, and the same context then runs at N = 2 right;
 *     after each round, with everything freed, the free memory is back at the base level
 *     (round 1: within 64 MiB, as libraries may load kernels lazily; round 2: within 16 MiB of
 *     round 1, so nothing grows from one failure to the next).
 *
 * The host tensor limit (ONYX_MAX_TENSOR_BYTES) is raised so that B tests the device
 * check, not the host's.  usage: onyx_oom_test */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/status.h"
#include "model_builder.h"
#include "onyx.h"

#define CH 8
#define HW 32
#define SAMPLE_BYTES ((size_t)CH * HW * HW * sizeof(float))
#define MIB ((size_t)1 << 20)

static float frand(uint64_t *s)
{
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((*s >> 40) & 0xffff) / 32768.0f - 1.0f;
}

static onyx_model *make_model(void)
{
  static float w[CH * CH * 9], bias[CH];
  uint64_t s = 12345;
  for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) w[i] = 0.2f * frand(&s);
  for (int i = 0; i < CH; i++) bias[i] = 0.1f * frand(&s);
  mb *b = mb_new(13);
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "N,8,32,32");
  mb_init(b, "w", ONYX_DTYPE_FLOAT, "8,8,3,3", w);
  mb_init(b, "b", ONYX_DTYPE_FLOAT, "8", bias);
  Onnx__NodeProto *conv = mb_node(b, "Conv", "conv", "x,w,b", "c");
  mb_attr_ints(b, conv, "pads", 4, (int64_t[]){1, 1, 1, 1});
  mb_node(b, "Relu", "relu", "c", "r");
  mb_node(b, "Add", "residual", "r,x", "a");
  mb_node(b, "GlobalAveragePool", "gap", "a", "g");
  mb_node(b, "Flatten", "flatten", "g", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "N,8");
  onyx_model *m = NULL;
  if (!CHECK_OK(mb_load(b, &m))) m = NULL;
  mb_free(b);
  return m;
}

static size_t device_free(void)
{
  size_t f = 0, t = 0;
  if (cudaMemGetInfo(&f, &t) != cudaSuccess) return 0;
  return f;
}

static size_t device_total(void)
{
  size_t f = 0, t = 0;
  if (cudaMemGetInfo(&f, &t) != cudaSuccess) return 0;
  return t;
}

static onyx_status build(onyx_model *m, int64_t max_batch, size_t workspace, onyx_engine **e)
{
  onyx_shape_range r = {.name = "x", .ndim = 4, .min = {1, CH, HW, HW}, .opt = {2, CH, HW, HW},
                        .max = {max_batch, CH, HW, HW}};
  onyx_build_options o;
  onyx_build_options_init(&o);
  o.workspace = workspace;
  o.n_shapes = 1;
  o.shapes = &r;
  onyx_clear_error();
  return onyx_engine_build(m, &o, e);
}

/* Runs c at batch 2 on x and compares with the CPU's y; 1 if right. */
static int run_and_compare(onyx_context *c, const float *x, const float *want)
{
  float y[2 * CH];
  memset(y, 0xff, sizeof(y));
  if (!CHECK_OK(onyx_context_set_input_shape(c, "x", 4, (int64_t[]){2, CH, HW, HW})) ||
      !CHECK_OK(onyx_context_set_binding(c, "x", (void *)x, 0)) || !CHECK_OK(onyx_context_set_binding(c, "y", y, 0)) ||
      !CHECK_OK(onyx_context_enqueue(c, NULL)) || !CHECK_OK(onyx_context_synchronize(c)))
    return 0;
  double worst = 0;
  for (int i = 0; i < 2 * CH; i++) {
    double d = fabs((double)y[i] - (double)want[i]) / (1e-3 + fabs((double)want[i]));
    if (!(d <= worst)) worst = d; /* NaN counts */
  }
  CHECKF(worst < 1e-4, "engine output differs from the CPU by %.3g (relative)", worst);
  return worst < 1e-4;
}

/* Builds with these options, runs at batch 2 against the CPU, frees. */
static void build_and_run(onyx_model *m, int64_t max_batch, size_t workspace, const float *x, const float *want,
                          const char *what)
{
  onyx_engine *e = NULL;
  onyx_context *c = NULL;
  if (!CHECK_OK(build(m, max_batch, workspace, &e))) {
    fprintf(stderr, "  %s: %s\n", what, onyx_last_error());
    return;
  }
  onyx_engine_memory mem;
  if (CHECK_OK(onyx_engine_get_memory(e, &mem)))
    CHECKF(mem.workspace_bytes < device_total(), "%s: a workspace of %zu bytes on a %zu-byte card", what,
           mem.workspace_bytes, device_total());
  if (CHECK_OK(onyx_context_create(e, &c))) run_and_compare(c, x, want);
  onyx_context_free(c);
  onyx_engine_free(e);
  printf("%s: built and ran\n", what);
}

/* B: a max batch whose input alone is twice the card. */
static void max_batch_beyond_card(onyx_model *m)
{
  int64_t n = (int64_t)(2 * (device_total() / SAMPLE_BYTES) + 1);
  onyx_engine *e = (onyx_engine *)m; /* must come back NULL */
  if (CHECK_ERR(build(m, n, 0, &e), ONYX_ERR_NO_MEMORY, "largest input shapes", "bytes of activations",
                "more than the GPU's"))
    printf("max batch %lld refused at build: %s\n", (long long)n, onyx_last_error());
  CHECK(e == NULL);
}

/* CH: the arena of a batch that fits the card, while the device is almost full. */
static void context_out_of_memory(onyx_model *m, const float *x, const float *want)
{
  const int64_t n = (int64_t)((1024 * MIB) / SAMPLE_BYTES); /* a 1 GiB input: an arena of 2 GiB or more */
  onyx_engine *e = NULL;
  onyx_context *c = NULL;
  void *hog = NULL;
  float *big = NULL;
  if (!CHECK_OK(build(m, n, 0, &e)) || !CHECK_OK(onyx_context_create(e, &c))) {
    fprintf(stderr, "  %s\n", onyx_last_error());
    goto out;
  }
  /* take all but 256 MiB */
  size_t f = device_free(), take = f > 256 * MIB ? f - 256 * MIB : 0;
  while (take > 256 * MIB && cudaMalloc(&hog, take) != cudaSuccess) {
    (void)cudaGetLastError();
    hog = NULL;
    take -= 64 * MIB;
  }
  CHECKF(hog != NULL, "could not take the device's memory (%zu bytes free)", f);
  size_t elems = (size_t)n * SAMPLE_BYTES / sizeof(float);
  big = malloc(elems * sizeof(float));
  float *out = malloc((size_t)n * CH * sizeof(float));
  if (hog && big && out) {
    uint64_t s = 7;
    for (size_t i = 0; i < elems; i += 4096) big[i] = frand(&s); /* the values do not matter: it must not run */
    onyx_clear_error();
    onyx_status st = onyx_context_set_input_shape(c, "x", 4, (int64_t[]){n, CH, HW, HW});
    if (st == ONYX_OK) st = onyx_context_set_binding(c, "x", big, 0);
    if (st == ONYX_OK) st = onyx_context_set_binding(c, "y", out, 0);
    if (st == ONYX_OK) st = onyx_context_enqueue(c, NULL);
    if (CHECK_ERR(st, ONYX_ERR_NO_MEMORY, "-byte activation arena", "cudaMalloc"))
      printf("batch %lld with %zu MiB free refused at the first enqueue: %s\n", (long long)n,
             device_free() / MIB, onyx_last_error());
  }
  free(out);
  if (hog) cudaFree(hog);
  hog = NULL;
  /* the process goes on: the same context at a small batch */
  if (run_and_compare(c, x, want)) printf("the same context then ran at batch 2\n");
out:
  free(big);
  onyx_context_free(c);
  onyx_engine_free(e);
}

int main(int argc, char **argv)
{
  (void)argc;
  if (!onyx_cuda_available()) {
    printf("no CUDA GPU: skipped\n");
    return 77;
  }
  setenv("ONYX_MAX_TENSOR_BYTES", "17592186044416", 1); /* 16 TiB */
  onyx_model *m = make_model();
  if (!m) return check_summary(argv[0]);
  /* the CPU's answer at batch 2 */
  float x[2 * CH * HW * HW], want[2 * CH];
  uint64_t s = 2024;
  for (size_t i = 0; i < sizeof(x) / sizeof(x[0]); i++) x[i] = frand(&s);
  onyx_session *cpu = NULL;
  const void *out = NULL;
  onyx_tensor_info info;
  if (!CHECK_OK(onyx_session_create(m, NULL, &cpu)) ||
      !CHECK_OK(onyx_session_set_input(cpu, "x", ONYX_DTYPE_FLOAT, 4, (int64_t[]){2, CH, HW, HW}, x)) ||
      !CHECK_OK(onyx_session_run(cpu)) || !CHECK_OK(onyx_session_output(cpu, 0, &info, &out))) {
    onyx_session_free(cpu);
    onyx_model_free(m);
    return check_summary(argv[0]);
  }
  memcpy(want, out, sizeof(want));
  onyx_session_free(cpu);
  printf("device: %zu MiB, %zu MiB free at the start\n", device_total() / MIB, device_free() / MIB);

  build_and_run(m, 4, 0, x, want, "warm-up engine");
  const size_t base = device_free();
  size_t prev = base;
  for (int round = 1; round <= 2; round++) {
    build_and_run(m, 4, (size_t)1 << 50, x, want, "a 1 PiB workspace");
    max_batch_beyond_card(m);
    context_out_of_memory(m, x, want);
    build_and_run(m, 4, 0, x, want, "after the failures, a normal engine");
    size_t now = device_free(), ref = round == 1 ? base : prev, tol = (round == 1 ? 64 : 16) * MIB;
    long long diff = (long long)ref - (long long)now;
    printf("round %d: %zu MiB free, %+lld KiB against %s\n", round, now / MIB, -diff / 1024,
           round == 1 ? "the base" : "round 1");
    CHECKF(llabs(diff) <= (long long)tol, "round %d: free memory moved by %lld bytes (tolerance %zu)", round, diff,
           tol);
    prev = now;
  }
  onyx_model_free(m);
  return check_summary(argv[0]);
}
