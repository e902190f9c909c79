/* Many contexts on one engine from several host threads (label "gpu"; exits
 * 77 without a GPU).  One context's output is the reference; T threads each
 * create their own context on the same engine, bind different copies of the
 * same input and run it R times; every output must equal the reference bit
 * for bit (same engine, same tactics: a deterministic computation).  Also
 * checks a timing-cache rebuild: the second build of the same model with the
 * cache file takes less time than the first.
 *
 * usage: onyx_contexts_cuda MODEL.onnx [THREADS] [RUNS] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onyx.h"

typedef struct job {
  onyx_engine *e;
  const char *in_name, *out_name;
  const float *input;
  size_t in_n, out_n;
  const float *ref;
  int runs, mismatches, failed;
  char err[512]; /* onyx_last_error() is per thread: the worker copies it */
} job;

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs the engine once on input into out; 0 on success. */
static int run_once(onyx_context *c, const job *j, const float *input, float *out)
{
  if (onyx_context_set_binding(c, j->in_name, (void *)input, 0) != ONYX_OK ||
      onyx_context_set_binding(c, j->out_name, out, 0) != ONYX_OK || onyx_context_enqueue(c, NULL) != ONYX_OK ||
      onyx_context_synchronize(c) != ONYX_OK)
    return -1;
  return 0;
}

static void *worker(void *arg)
{
  job *j = arg;
  onyx_context *c = NULL;
  float *in = malloc(j->in_n * sizeof(float)), *out = malloc(j->out_n * sizeof(float));
  memcpy(in, j->input, j->in_n * sizeof(float)); /* a private copy: buffers differ per thread */
  if (onyx_context_create(j->e, &c) != ONYX_OK) {
    j->failed = 1;
    snprintf(j->err, sizeof(j->err), "%s", onyx_last_error());
    goto out;
  }
  for (int r = 0; r < j->runs; r++) {
    memset(out, 0xff, j->out_n * sizeof(float)); /* poison: every element must be written */
    if (run_once(c, j, in, out)) {
      j->failed = 1;
      snprintf(j->err, sizeof(j->err), "%s", onyx_last_error());
      break;
    }
    if (memcmp(out, j->ref, j->out_n * sizeof(float))) j->mismatches++;
  }
  if (!j->failed && !onyx_context_graph_active(c)) { /* a capture that failed fell back to launches */
    j->failed = 1;
    snprintf(j->err, sizeof(j->err), "the context did not capture a CUDA graph");
  }
out:
  onyx_context_free(c);
  free(in);
  free(out);
  return NULL;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.onnx [THREADS] [RUNS]\n", argv[0]);
    return 2;
  }
  if (!onyx_cuda_available()) {
    printf("no CUDA GPU: skipped\n");
    return 77;
  }
  int threads = argc > 2 ? atoi(argv[2]) : 4, runs = argc > 3 ? atoi(argv[3]) : 20, failures = 0;
  onyx_model *m;
  onyx_engine *e = NULL, *e2 = NULL;
  if (onyx_model_load(argv[1], &m) != ONYX_OK) {
    printf("FAIL load: %s\n", onyx_last_error());
    return 1;
  }
  onyx_tensor_info ti, to;
  onyx_model_input(m, 0, &ti);
  onyx_model_output(m, 0, &to);
  onyx_shape_range r = {.name = ti.name, .ndim = ti.ndim};
  size_t in_n = 1;
  for (int d = 0; d < ti.ndim; d++) {
    r.min[d] = r.opt[d] = r.max[d] = ti.dims[d] < 0 ? 2 : ti.dims[d];
    in_n *= (size_t)r.opt[d];
  }
  const char *cache = "/tmp/onyx_contexts_cuda.cache";
  remove(cache);
  onyx_build_options o;
  onyx_build_options_init(&o);
  o.n_shapes = 1;
  o.shapes = &r;
  o.timing_cache = cache;
  double t0 = now_s();
  if (onyx_engine_build(m, &o, &e) != ONYX_OK) {
    printf("FAIL build: %s\n", onyx_last_error());
    return 1;
  }
  double t1 = now_s();
  if (onyx_engine_build(m, &o, &e2) != ONYX_OK) {
    printf("FAIL rebuild with the timing cache: %s\n", onyx_last_error());
    failures++;
  }
  double t2 = now_s();
  printf("build %.3f s, rebuild with timing cache %.3f s (%.0f%%)\n", t1 - t0, t2 - t1, 100 * (t2 - t1) / (t1 - t0));
  if (!(t2 - t1 < t1 - t0)) {
    printf("FAIL the timing cache did not make the rebuild faster\n");
    failures++;
  }
  float *input = malloc(in_n * sizeof(float));
  uint64_t s = 99;
  for (size_t k = 0; k < in_n; k++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    input[k] = (float)((s >> 40) & 0xffff) / 65536.0f - 0.5f;
  }
  /* reference: one context, output size from the context */
  onyx_context *c0;
  job proto = {.e = e, .in_name = ti.name, .out_name = to.name, .input = input, .in_n = in_n, .runs = runs};
  if (onyx_context_create(e, &c0) != ONYX_OK ||
      onyx_context_set_input_shape(c0, ti.name, r.ndim, r.opt) != ONYX_OK) {
    printf("FAIL context: %s\n", onyx_last_error());
    return 1;
  }
  void *obuf;
  onyx_context_host_buffer(c0, to.name, &obuf);
  onyx_tensor_info oi;
  if (onyx_context_set_binding(c0, ti.name, input, 0) != ONYX_OK || onyx_context_enqueue(c0, NULL) != ONYX_OK ||
      onyx_context_synchronize(c0) != ONYX_OK || onyx_context_output(c0, 0, &oi) != ONYX_OK) {
    printf("FAIL reference run: %s\n", onyx_last_error());
    return 1;
  }
  size_t out_n = 1;
  for (int d = 0; d < oi.ndim; d++) out_n *= (size_t)oi.dims[d];
  float *ref = malloc(out_n * sizeof(float));
  memcpy(ref, obuf, out_n * sizeof(float));
  proto.out_n = out_n;
  proto.ref = ref;
  job *jobs = calloc((size_t)threads, sizeof(job));
  pthread_t *tid = calloc((size_t)threads, sizeof(pthread_t));
  for (int i = 0; i < threads; i++) {
    jobs[i] = proto;
    pthread_create(&tid[i], NULL, worker, &jobs[i]);
  }
  for (int i = 0; i < threads; i++) {
    pthread_join(tid[i], NULL);
    if (jobs[i].failed || jobs[i].mismatches) {
      printf("FAIL thread %d: %s, %d of %d runs differ from the reference\n", i,
             jobs[i].failed ? jobs[i].err : "ran", jobs[i].mismatches, runs);
      failures++;
    }
  }
  printf("%d threads x %d runs on one engine: %s\n", threads, runs, failures ? "FAILED" : "all outputs identical");
  onyx_context_free(c0);
  onyx_engine_free(e);
  onyx_engine_free(e2);
  onyx_model_free(m);
  free(input);
  free(ref);
  free(jobs);
  free(tid);
  return failures ? 1 : 0;
}
