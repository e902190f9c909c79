/* GPU compute time of an onyx engine (not a test): builds the engine, binds
 * device buffers (seeded random inputs), warms up, then times each enqueue
 * with CUDA events on the stream and prints one JSON line with the median,
 * min, mean and p90 over the timed iterations plus the build time.
 *
 * What is timed: one enqueue = the captured CUDA graph: device-to-device copies
 * of the inputs into the engine's arena and of the outputs out of it, and every
 * layer.  (Host transfers are not in it; `onyx bench` reports those apart.)
 *
 * usage: onyx_gpu_bench MODEL.onnx [--fp32|--tf32|--fp16] [--batch N] [--iters N] [--warmup-ms N]
 *                       [--name LABEL] [--opt-level N] [--engine-label LABEL] [--profile]
 * (--engine-label names the "engine" field, "onyx" by default: e.g. "onyx-nchw" for a run with
 * ONYX_NHWC=0, FP16 engines kept row-major)
 * --batch sets a symbolic leading dim of the first input; where that dim is fixed, --batch may only
 * repeat it (the throughput is computed from it), and without --batch the fixed value is used. */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

#define CHECK_CUDA(x)                                                                   \
  do {                                                                                  \
    cudaError_t e_ = (x);                                                               \
    if (e_ != cudaSuccess) {                                                            \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      exit(1);                                                                          \
    }                                                                                   \
  } while (0)
static int cmp_float(const void *a, const void *b)
{
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
  const char *path = NULL, *name = "model", *label = "onyx";
  onyx_build_options o;
  onyx_build_options_init(&o);
  int batch = 0, iters = 200, profile = 0, batch_given = 0;
  double warmup_ms = 500;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--fp32")) o.precision = ONYX_PRECISION_FP32;
    else if (!strcmp(argv[i], "--tf32")) o.precision = ONYX_PRECISION_TF32;
    else if (!strcmp(argv[i], "--fp16")) o.precision = ONYX_PRECISION_FP16;
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
      batch = atoi(argv[++i]);
      batch_given = 1;
    } else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--warmup-ms") && i + 1 < argc) warmup_ms = atof(argv[++i]);
    else if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
    else if (!strcmp(argv[i], "--opt-level") && i + 1 < argc) o.opt_level = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--profile")) profile = 1;
    else if (!strcmp(argv[i], "--engine-label") && i + 1 < argc) label = argv[++i];
    else path = argv[i];
  }
  if (!path || (batch_given && batch < 1) || iters < 1) {
    fprintf(stderr, "usage: onyx_gpu_bench MODEL.onnx [--fp32|--tf32|--fp16] [--batch N] [--iters N]\n");
    return 2;
  }
  onyx_model *m;
  CHECK_ONYX(onyx_model_load(path, &m));
  /* the first input's leading dim is the batch (fixed models must already have it) */
  onyx_shape_range r[8];
  int n_in = onyx_model_num_inputs(m);
  if (n_in > 0) {
    onyx_tensor_info t0;
    CHECK_ONYX(onyx_model_input(m, 0, &t0));
    int64_t fixed = t0.ndim > 0 ? t0.dims[0] : -1;
    if (fixed >= 0 && batch_given && fixed != batch) {
      fprintf(stderr, "onyx_gpu_bench: %s: input %s has a fixed batch of %lld, not --batch %d\n", path, t0.name,
              (long long)fixed, batch);
      onyx_model_free(m);
      return 2;
    }
    if (!batch_given) batch = fixed > 0 ? (int)fixed : 1;
  }
  o.n_shapes = 0;
  for (int i = 0; i < n_in && i < 8; i++) {
    onyx_tensor_info ti;
    onyx_model_input(m, i, &ti);
    onyx_shape_range *s = &r[o.n_shapes++];
    memset(s, 0, sizeof(*s));
    s->name = ti.name;
    s->ndim = ti.ndim;
    for (int d = 0; d < ti.ndim; d++) {
      int64_t v = ti.dims[d] >= 0 ? ti.dims[d] : 1;
      if (d == 0 && ti.dims[0] < 0) v = batch;
      s->min[d] = s->opt[d] = s->max[d] = v;
    }
  }
  o.shapes = r;
  double t0 = now_ms();
  onyx_engine *e;
  CHECK_ONYX(onyx_engine_build(m, &o, &e));
  double build_s = (now_ms() - t0) / 1e3;
  onyx_context *c;
  CHECK_ONYX(onyx_context_create(e, &c));
  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  uint64_t rng = 42;
  for (int i = 0; i < n_in; i++) {
    size_t n = 1;
    for (int d = 0; d < r[i].ndim; d++) n *= (size_t)r[i].opt[d];
    float *h = malloc(n * sizeof(float));
    for (size_t k = 0; k < n; k++) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      h[k] = (float)((rng >> 40) & 0xffff) / 65536.0f;
    }
    void *d;
    CHECK_CUDA(cudaMalloc(&d, n * sizeof(float)));
    CHECK_CUDA(cudaMemcpy(d, h, n * sizeof(float), cudaMemcpyHostToDevice));
    free(h);
    CHECK_ONYX(onyx_context_set_input_shape(c, r[i].name, r[i].ndim, r[i].opt));
    CHECK_ONYX(onyx_context_set_binding(c, r[i].name, d, 1));
  }
  CHECK_ONYX(onyx_context_enqueue(c, stream)); /* prepares; output shapes known after */
  CHECK_ONYX(onyx_context_synchronize(c));
  for (int i = 0; i < onyx_model_num_outputs(m); i++) {
    onyx_tensor_info ti;
    CHECK_ONYX(onyx_context_output(c, i, &ti));
    size_t n = 1;
    for (int d = 0; d < ti.ndim; d++) n *= (size_t)ti.dims[d];
    void *d;
    CHECK_CUDA(cudaMalloc(&d, n * sizeof(float) + 1));
    CHECK_ONYX(onyx_context_set_binding(c, ti.name, d, 1));
  }
  cudaEvent_t a, b;
  CHECK_CUDA(cudaEventCreate(&a));
  CHECK_CUDA(cudaEventCreate(&b));
  double w0 = now_ms();
  while (now_ms() - w0 < warmup_ms) {
    CHECK_ONYX(onyx_context_enqueue(c, stream));
    CHECK_CUDA(cudaStreamSynchronize(stream));
  }
  float *ms = malloc((size_t)iters * sizeof(float));
  double sum = 0;
  for (int it = 0; it < iters; it++) {
    CHECK_CUDA(cudaEventRecord(a, stream));
    CHECK_ONYX(onyx_context_enqueue(c, stream));
    CHECK_CUDA(cudaEventRecord(b, stream));
    CHECK_CUDA(cudaEventSynchronize(b));
    CHECK_CUDA(cudaEventElapsedTime(&ms[it], a, b));
    sum += ms[it];
  }
  qsort(ms, (size_t)iters, sizeof(float), cmp_float);
  static const char *const prec[] = {"fp32", "tf32", "fp16"};
  printf("{\"engine\":\"%s\",\"model\":\"%s\",\"precision\":\"%s\",\"batch\":%d,\"iters\":%d,"
         "\"median_ms\":%.4f,\"min_ms\":%.4f,\"mean_ms\":%.4f,\"p90_ms\":%.4f,\"images_per_s\":%.1f,"
         "\"build_s\":%.2f,\"layers\":%d}\n",
         label, name, prec[o.precision], batch, iters, ms[iters / 2], ms[0], sum / iters,
         ms[(iters * 9) / 10], batch * 1e3 / ms[iters / 2], build_s, onyx_engine_num_layers(e));
  free(ms);
  if (profile) { /* per-layer table on stderr, slowest first */
    onyx_layer_time lt[1024];
    int nl = 0;
    CHECK_ONYX(onyx_context_profile(c, 50, lt, 1024, &nl));
    if (nl > 1024) nl = 1024;
    double total = 0;
    for (int i = 0; i < nl; i++) total += lt[i].median_ms;
    for (int i = 0; i < nl; i++)
      for (int j = i + 1; j < nl; j++)
        if (lt[j].median_ms > lt[i].median_ms) {
          onyx_layer_time t = lt[i];
          lt[i] = lt[j];
          lt[j] = t;
        }
    fprintf(stderr, "%s %s batch %d: %d layers, sum of layer medians %.4f ms\n", name, prec[o.precision], batch, nl,
            total);
    for (int i = 0; i < nl && i < 25; i++)
      fprintf(stderr, "  %8.4f ms %5.1f%%  %-16s %-36s %.60s\n", lt[i].median_ms, 100 * lt[i].median_ms / total,
              lt[i].op_type, lt[i].kernel, lt[i].name);
  }
  onyx_context_free(c);
  onyx_engine_free(e);
  onyx_model_free(m);
  return 0;
}
