/* onyx bench (MODEL.onnx [build flags] | --engine FILE) [options]
 * Benchmarks an engine (or the CPU backend) the way trtexec does and explains
 * the numbers; see usage() and bench_explain() for every option and formula. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "io/npy.h"
#include "onyx.h"
#include "tools/bench.h"
#include "tools/cli_util.h"
#include "tools/commands.h"

static void usage(FILE *f)
{
  fprintf(f,
    "usage: onyx bench (MODEL.onnx [build flags] | --engine FILE) [options]\n"
    "\n"
    "Measures an engine as trtexec does: CUDA events around the input copy (H2D), the layers and the output\n"
    "copy (D2H) of every inference, on three streams; the host clock around each enqueue; two inferences in\n"
    "flight; warm-up discarded.  Prints a performance summary, the cold start beside the steady state, and\n"
    "warnings when the numbers are bound by something other than the GPU's work.\n"
    "\n"
    "What runs:\n"
    "  MODEL.onnx             an engine is built here (build flags as `onyx build` takes them: --fp32|--tf32|\n"
    "                         --fp16, --workspace SIZE, --opt-level N, --timing-cache FILE, --min-shapes,\n"
    "                         --opt-shapes, --max-shapes SPEC, --verbose); with --backend cpu, a session\n"
    "  --engine FILE          a saved engine (`onyx build`)\n"
    "  --backend cpu|cuda     cuda (default) or the CPU backend (host clock around each run; no copies)\n"
    "  --device N             the CUDA device (default 0)\n"
    "  --batch N              the first dimension of inputs whose first dimension is symbolic\n"
    "  --shapes NAME:DIMS,... input shapes to run (within the engine's range; default: the opt shapes)\n"
    "  --load-inputs NAME:FILE,...  input data from .npy or raw little-endian files (repeatable)\n"
    "  --seed N               seed of the random inputs not loaded (default 0; as `onyx run` makes them)\n"
    "How long:\n"
    "  --warmup MS            warm-up, discarded (default 200)\n"
    "  --iterations N         at least N timed inferences per stream (default 10)\n"
    "  --duration S           and at least S seconds (default 3); the run ends when both are met\n"
    "How:\n"
    "  --streams N            N contexts on N streams, each fed by its own host thread (default 1)\n"
    "  --graph, --no-graph    replay the layers as one CUDA graph (default) or launch them one by one\n"
    "  --spin-wait, --no-spin-wait  poll for completion (default: block in the driver)\n"
    "  --transfers, --no-transfers  time H2D and D2H copies (default) or the compute alone (the inputs are\n"
    "                         then copied once, in the cold start)\n"
    "Output:\n"
    "  --percentile P,...     percentiles to report (default 90,95,99; each 0..100)\n"
    "  --avg-runs N           also print the mean of each N consecutive inferences (JSON: always, N = 10)\n"
    "  --json                 print the summary as JSON instead of text\n"
    "  --explain              explain every number (also below); alone, print the explanation and exit\n"
    "  --profile              per-layer times (name with fused ONNX nodes, calls, total, average, median, %%)\n"
    "                         from a separate run of max(--iterations, 50) inferences\n"
    "  --export-times FILE    per-inference times, trtexec's --exportTimes fields\n"
    "  --export-profile FILE  per-layer times, trtexec's --exportProfile fields\n"
    "  --export-layer-info FILE  layers with their type, tensors (dims, dtype, layout), tactic, precision\n"
    "  --export-output FILE   the outputs of one inference, trtexec's --exportOutput fields\n"
    "  --report FILE.html     one self-contained page: summary, latency histogram, per-inference timeline,\n"
    "                         per-layer times\n"
    "Nsight Systems shows NVTX ranges for every stage (onyx H2D / compute / D2H, enqueue, warm-up, timed,\n"
    "profile) and every layer (its fused node names).\n\n");
}

typedef struct args {
  const char *path, *engine, *shapes, *pct;
  const char *times, *profile_out, *layer_info, *output, *report;
  char **load;          /* NAME:FILE lists */
  int n_load;
  bench_config cfg;
  cli_build_args build;
  uint64_t seed;
  int batch;            /* 0: not given */
  bool json, explain, profile, avg_given, backend_given;
  const char *cuda_only; /* first option given that needs the GPU */
} args;

static int parse_int(const char *opt, const char *v, long lo, long hi, int *out)
{
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (!*v || *end || errno || x < lo || x > hi)
    return cli_fail("onyx bench: bad %s '%s': expected an integer from %ld to %ld", opt, v, lo, hi);
  *out = (int)x;
  return 0;
}

static int parse_num(const char *opt, const char *v, double hi, double *out)
{
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (!*v || *end || errno || !(x >= 0 && x <= hi))
    return cli_fail("onyx bench: bad %s '%s': expected a number from 0 to %g", opt, v, hi);
  *out = x;
  return 0;
}

static bool is(const char *a, const char *b) { return !strcmp(a, b); }

static int parse_args(int argc, char **argv, args *A)
{
  bench_config *c = &A->cfg;
  c->backend = ONYX_BACKEND_CUDA;
  c->warmup_ms = 200;
  c->iterations = 10;
  c->duration_s = 3;
  c->streams = 1;
  c->graph = c->transfers = true;
  c->avg_runs = 10;
  c->n_pct = 3;
  c->pct[0] = 90, c->pct[1] = 95, c->pct[2] = 99;
  cli_build_args_init(&A->build);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int flag = cli_build_flag("bench", argc, argv, &i, &A->build);
    if (flag == 2) return 2;
    if (flag) continue;
    if (is(a, "--help") || is(a, "-h")) {
      usage(stdout);
      bench_explain(stdout);
      return -1;
    } else if (is(a, "--json")) {
      A->json = true;
    } else if (is(a, "--explain")) {
      A->explain = true;
    } else if (is(a, "--profile")) {
      A->profile = true;
      if (!A->cuda_only) A->cuda_only = a;
    } else if (is(a, "--graph") || is(a, "--no-graph")) {
      c->graph = is(a, "--graph");
      if (!A->cuda_only) A->cuda_only = a;
    } else if (is(a, "--spin-wait") || is(a, "--no-spin-wait")) {
      c->spin_wait = is(a, "--spin-wait");
      if (!A->cuda_only) A->cuda_only = a;
    } else if (is(a, "--transfers") || is(a, "--no-transfers")) {
      c->transfers = is(a, "--transfers");
      if (!A->cuda_only) A->cuda_only = a;
    } else if (is(a, "--warmup") || is(a, "--iterations") || is(a, "--duration") || is(a, "--batch") ||
               is(a, "--shapes") || is(a, "--streams") || is(a, "--percentile") || is(a, "--avg-runs") ||
               is(a, "--load-inputs") || is(a, "--seed") || is(a, "--device") || is(a, "--backend") ||
               is(a, "--engine") || is(a, "--export-times") || is(a, "--export-profile") ||
               is(a, "--export-layer-info") || is(a, "--export-output") || is(a, "--report")) {
      if (++i >= argc) return cli_fail("onyx bench: %s needs a value", a);
      const char *v = argv[i];
      int rc = 0;
      if (!*v) return cli_fail("onyx bench: %s is empty", a);
      if (is(a, "--warmup")) rc = parse_num(a, v, 3.6e6, &c->warmup_ms);
      else if (is(a, "--duration")) rc = parse_num(a, v, 86400, &c->duration_s);
      else if (is(a, "--iterations")) rc = parse_int(a, v, 1, 100000000, &c->iterations);
      else if (is(a, "--batch")) rc = parse_int(a, v, 1, 1 << 20, &A->batch);
      else if (is(a, "--avg-runs")) rc = parse_int(a, v, 1, 1000000, &c->avg_runs), A->avg_given = true;
      else if (is(a, "--streams")) {
        rc = parse_int(a, v, 1, BENCH_MAX_STREAMS, &c->streams);
        if (!A->cuda_only && c->streams > 1) A->cuda_only = a;
      } else if (is(a, "--device")) {
        rc = parse_int(a, v, 0, 1024, &c->device);
        if (!A->cuda_only) A->cuda_only = a;
      } else if (is(a, "--shapes")) {
        if (A->shapes) return cli_fail("onyx bench: --shapes given twice (list all inputs in one: a:1x3,b:2)");
        A->shapes = v;
      } else if (is(a, "--percentile")) {
        int n = bench_parse_percentiles(v, c->pct);
        if (n < 0)
          return cli_fail("onyx bench: bad --percentile '%s': expected numbers from 0 to 100 separated by commas "
                          "(at most %d), such as 90,95,99", v, BENCH_MAX_PCT);
        c->n_pct = n;
      } else if (is(a, "--load-inputs")) {
        A->load[A->n_load++] = argv[i];
      } else if (is(a, "--seed")) {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (*end || errno || v[0] == '-')
          return cli_fail("onyx bench: bad --seed '%s': expected a non-negative integer", v);
        A->seed = x;
      } else if (is(a, "--backend")) {
        if (is(v, "cpu")) c->backend = ONYX_BACKEND_CPU;
        else if (is(v, "cuda")) c->backend = ONYX_BACKEND_CUDA;
        else return cli_fail("onyx bench: bad --backend '%s': expected cpu or cuda", v);
        A->backend_given = true;
      } else if (is(a, "--engine")) {
        if (A->engine) return cli_fail("onyx bench: --engine given twice");
        A->engine = v;
      } else if (is(a, "--export-times")) A->times = v;
      else if (is(a, "--export-profile")) {
        A->profile_out = v;
        if (!A->cuda_only) A->cuda_only = a;
      } else if (is(a, "--export-layer-info")) {
        A->layer_info = v;
        if (!A->cuda_only) A->cuda_only = a;
      } else if (is(a, "--export-output")) A->output = v;
      else A->report = v;
      if (rc) return rc;
    } else if (a[0] == '-' && a[1]) {
      usage(stderr);
      return cli_fail("onyx bench: unknown option '%s'", a);
    } else if (!A->path) {
      A->path = a;
    } else {
      return cli_fail("onyx bench: more than one model given ('%s')", a);
    }
  }
  if (!A->path && !A->engine) {
    if (A->explain) {
      bench_explain(stdout);
      return -1;
    }
    usage(stderr);
    return cli_fail("onyx bench: no model given (MODEL.onnx or --engine FILE)");
  }
  if (A->path && A->engine) return cli_fail("onyx bench: give a model or --engine, not both");
  if (A->engine && A->backend_given && c->backend == ONYX_BACKEND_CPU)
    return cli_fail("onyx bench: --engine runs on the GPU; --backend cpu takes an ONNX model");
  if (A->engine && A->build.given) return cli_fail("onyx bench: build flags (--fp16, ...) need a model, not --engine");
  if (c->backend == ONYX_BACKEND_CPU) {
    if (A->cuda_only) return cli_fail("onyx bench: %s needs --backend cuda", A->cuda_only);
    bool only_opt_level = A->build.given == 0 ||
                          (A->build.o.precision == ONYX_PRECISION_FP32 && !A->build.o.timing_cache &&
                           !A->build.min_shapes && !A->build.opt_shapes && !A->build.max_shapes);
    if (!only_opt_level)
      return cli_fail("onyx bench: engine build flags need --backend cuda (the CPU backend takes --opt-level)");
  }
  c->profile = c->backend == ONYX_BACKEND_CUDA && (A->profile || A->profile_out || A->report);
  c->profile_iters = c->iterations > 50 ? c->iterations : 50;
  return 0;
}

typedef struct io_list {
  int n;
  const char **names;
  onyx_tensor_info *decl;
} io_list;

/* The NAME:FILE of --load-inputs for input name, or NULL. */
static const char *load_file(const args *A, const char *name, int *dup)
{
  const char *found = NULL;
  *dup = 0;
  size_t len = strlen(name);
  for (int k = 0; k < A->n_load; k++) {
    const char *p = A->load[k];
    while (*p) {
      const char *comma = strchr(p, ',');
      size_t item = comma ? (size_t)(comma - p) : strlen(p);
      if (item > len && !strncmp(p, name, len) && p[len] == ':') {
        if (found) *dup = 1;
        found = p + len + 1; /* up to the next comma (file names with commas are not supported) */
      }
      p += item + (comma ? 1 : 0);
    }
  }
  return found;
}

/* Every --load-inputs item must be NAME:FILE with NAME an input. */
static int check_loads(const args *A, const io_list *io)
{
  for (int k = 0; k < A->n_load; k++) {
    const char *p = A->load[k];
    while (*p) {
      const char *comma = strchr(p, ',');
      size_t item = comma ? (size_t)(comma - p) : strlen(p);
      const char *colon = memchr(p, ':', item);
      if (!colon || colon == p || colon + 1 == p + item)
        return cli_fail("onyx bench: bad --load-inputs '%.*s': expected NAME:FILE", (int)item, p);
      size_t nl = (size_t)(colon - p);
      int found = 0, dup;
      for (int i = 0; i < io->n && !found; i++) found = strlen(io->names[i]) == nl && !strncmp(io->names[i], p, nl);
      if (!found) return cli_fail("onyx bench: --load-inputs names '%.*s', which is not an input", (int)nl, p);
      char name[256];
      snprintf(name, sizeof(name), "%.*s", (int)nl, p);
      load_file(A, name, &dup);
      if (dup) return cli_fail("onyx bench: --load-inputs gives '%s' twice", name);
      p += item + (comma ? 1 : 0);
    }
  }
  return 0;
}

static void inputs_free(bench_input *in, int n)
{
  for (int i = 0; in && i < n; i++) {
    free(in[i].name);
    free(in[i].data);
  }
  free(in);
}

/* Final shapes and data of every input.  Returns 0 or an exit code. */
static int make_inputs(const args *A, const io_list *io, onyx_engine *e, bench_input **out)
{
  cli_shape *shapes = NULL;
  int n_shapes = 0, rc = cli_shapes_parse_names(A->shapes, io->names, io->n, &shapes, &n_shapes);
  if (rc) return rc;
  bench_input *in = calloc((size_t)(io->n ? io->n : 1), sizeof(*in));
  uint64_t rng = A->seed;
  bool batch_used = false;
  rc = 1;
  if (!in) goto oom;
  for (int i = 0; i < io->n; i++) {
    const onyx_tensor_info *d = &io->decl[i];
    bench_input *x = &in[i];
    if (!(x->name = strdup(d->name))) goto oom;
    x->dtype = d->dtype;
    const cli_shape *sh = cli_shapes_find(shapes, n_shapes, d->name);
    onyx_shape_range range;
    if (sh) {
      x->ndim = sh->ndim;
      memcpy(x->dims, sh->dims, sizeof(x->dims));
    } else if (e && onyx_engine_input_range(e, i, &range) == ONYX_OK) {
      x->ndim = range.ndim;
      memcpy(x->dims, range.opt, sizeof(x->dims));
    } else if (d->ndim < 0) {
      rc = cli_fail("onyx bench: input '%s' has no declared rank: give its shape with --shapes", d->name);
      goto out;
    } else {
      x->ndim = d->ndim;
      for (int k = 0; k < d->ndim; k++) x->dims[k] = d->dims[k] < 0 ? 1 : d->dims[k];
    }
    if (!sh && A->batch && d->ndim > 0 && d->dims[0] < 0) {
      x->dims[0] = A->batch;
      batch_used = true;
    }
    int dup;
    const char *spec = load_file(A, d->name, &dup);
    if (spec) {
      char path[4096];
      const char *comma = strchr(spec, ',');
      snprintf(path, sizeof(path), "%.*s", (int)(comma ? comma - spec : (long)strlen(spec)), spec);
      npy_array a = {0};
      size_t len = strlen(path);
      onyx_status st = len > 4 && !strcmp(path + len - 4, ".npy") ? npy_read(path, &a)
                                                                   : raw_read(path, x->dtype, x->ndim, x->dims, &a);
      if (st != ONYX_OK) {
        cli_error("%s", onyx_last_error());
        goto out;
      }
      bool same = a.ndim == x->ndim && !memcmp(a.dims, x->dims, (size_t)x->ndim * sizeof(int64_t));
      if (a.dtype != x->dtype || (sh && !same)) {
        char b1[160], b2[160];
        cli_error("input '%s' is %s %s but '%s' holds %s %s", d->name, onyx_dtype_name(x->dtype),
                  cli_dims_str(x->ndim, x->dims, b1, sizeof(b1)), path, onyx_dtype_name(a.dtype),
                  cli_dims_str(a.ndim, a.dims, b2, sizeof(b2)));
        npy_array_free(&a);
        goto out;
      }
      x->ndim = a.ndim; /* a .npy fixes the shape of an input --shapes leaves open */
      memcpy(x->dims, a.dims, sizeof(x->dims));
      x->data = a.data;
      x->bytes = a.nbytes;
      continue;
    }
    int64_t n = onyx_numel(x->ndim, x->dims), bytes;
    size_t es = onyx_dtype_size(x->dtype);
    if (!es || n < 0 || onyx_mul_overflow_i64(n, (int64_t)es, &bytes)) {
      cli_error("input '%s': cannot make random %s data of this shape; give it with --load-inputs", d->name,
                onyx_dtype_name(x->dtype));
      goto out;
    }
    if (!(x->data = malloc(bytes ? (size_t)bytes : 1))) goto oom;
    x->bytes = (size_t)bytes;
    if (cli_fill_random(x->dtype, x->data, n, &rng) != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      goto out;
    }
  }
  if (A->batch && !batch_used) {
    rc = cli_fail("onyx bench: --batch %d: no input left to --shapes has a symbolic first dimension; give the "
                  "shapes with --shapes", A->batch);
    goto out;
  }
  rc = 0;
  goto out;
oom:
  cli_error("out of memory");
out:
  cli_shapes_free(shapes, n_shapes);
  if (rc) inputs_free(in, io->n);
  else *out = in;
  return rc;
}

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Builds the engine: --min/opt/max-shapes ranges where given, the run shapes elsewhere. */
static int build_engine(const args *A, const onyx_model *m, const bench_input *in, int n_in, onyx_engine **e)
{
  onyx_shape_range ranges[8];
  int n = 0;
  if (n_in > 8) return cli_fail("onyx bench: engines take at most 8 inputs, the model has %d", n_in);
  int rc = cli_build_ranges("bench", m, NULL, &A->build, ranges, 8, &n);
  if (rc) return rc;
  for (int i = 0; i < n_in; i++) {
    bool named = false;
    for (int k = 0; k < n && !named; k++) named = !strcmp(ranges[k].name, in[i].name);
    if (named) continue;
    onyx_shape_range *r = &ranges[n++];
    memset(r, 0, sizeof(*r));
    r->name = in[i].name;
    r->ndim = in[i].ndim;
    memcpy(r->min, in[i].dims, sizeof(r->min));
    memcpy(r->opt, in[i].dims, sizeof(r->opt));
    memcpy(r->max, in[i].dims, sizeof(r->max));
  }
  onyx_build_options o = A->build.o;
  o.shapes = ranges;
  o.n_shapes = n;
  if (onyx_engine_build(m, &o, e) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    return 1;
  }
  return 0;
}

int cmd_bench(int argc, char **argv)
{
  args A;
  memset(&A, 0, sizeof(A));
  A.load = calloc((size_t)argc + 1, sizeof(*A.load));
  if (!A.load) return cli_fail("out of memory");
  int rc = parse_args(argc, argv, &A);
  onyx_model *m = NULL;
  onyx_engine *e = NULL;
  bench_input *in = NULL;
  io_list io = {0};
  bench_result r;
  memset(&r, 0, sizeof(r));
  r.cfg = &A.cfg;
  if (rc) {
    rc = rc < 0 ? 0 : rc;
    goto out;
  }
  if (cli_parse_only) goto out; /* rc is 0 */
  rc = 1;
  bool gpu = A.cfg.backend == ONYX_BACKEND_CUDA;
  snprintf(r.model, sizeof(r.model), "%s", A.engine ? A.engine : A.path);
  snprintf(r.device_name, sizeof(r.device_name), "CPU");
  if (gpu && bench_gpu_select_device(A.cfg.device, r.device_name, sizeof(r.device_name))) goto out;
  double t0 = now_ms();
  if (A.engine) {
    if (onyx_engine_load(A.engine, &e) != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      goto out;
    }
    r.setup_ms = now_ms() - t0;
  } else if (onyx_model_load(A.path, &m) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    goto out;
  }
  io.n = e ? onyx_engine_num_inputs(e) : onyx_model_num_inputs(m);
  io.names = calloc((size_t)io.n + 1, sizeof(*io.names));
  io.decl = calloc((size_t)io.n + 1, sizeof(*io.decl));
  if (!io.names || !io.decl) {
    cli_error("out of memory");
    goto out;
  }
  for (int i = 0; i < io.n; i++) {
    if (e) onyx_engine_input(e, i, &io.decl[i]);
    else onyx_model_input(m, i, &io.decl[i]);
    io.names[i] = io.decl[i].name;
  }
  if ((rc = check_loads(&A, &io)) || (rc = make_inputs(&A, &io, e, &in))) goto out;
  rc = 1;
  r.batch = io.n && in[0].ndim > 0 ? (int)in[0].dims[0] : 1;
  if (gpu && !e) {
    fprintf(stderr, "onyx: building the engine...\n");
    t0 = now_ms();
    if ((rc = build_engine(&A, m, in, io.n, &e))) goto out;
    rc = 1;
    r.setup_ms = now_ms() - t0;
    r.setup_built = true;
  }
  static const char *const prec[] = {"fp32", "tf32", "fp16"};
  snprintf(r.precision, sizeof(r.precision), "%s", gpu ? prec[onyx_engine_precision(e)] : "fp32");
  fprintf(stderr, "onyx: benchmarking: %g ms warm-up, then at least %d inferences and %g s...\n", A.cfg.warmup_ms,
          A.cfg.iterations, A.cfg.duration_s);
  r.inputs = in;
  r.n_inputs = io.n;
  /* the layer info names the outputs among the bindings: they come with one more inference */
  bool want_out = A.output || A.layer_info;
  if (gpu ? bench_gpu_run(&A.cfg, e, in, io.n, want_out, A.layer_info != NULL, &r)
          : bench_cpu_run(&A.cfg, m, A.build.o.opt_level, in, io.n, want_out, &r))
    goto out;
  bench_summary sum;
  if (bench_summarise(&r, &sum)) {
    cli_error("out of memory");
    goto out;
  }
  if (A.json) {
    bench_print_json(stdout, &r, &sum);
  } else {
    bench_print_summary(stdout, &r, &sum);
    if (A.avg_given) bench_print_averages(stdout, &r);
    if (A.profile) bench_print_profile(stdout, &r);
    if (A.explain) {
      printf("\n");
      bench_explain(stdout);
    }
  }
  int bad = 0;
  if (A.times) bad |= bench_export_times(A.times, &r);
  if (A.profile_out) bad |= bench_export_profile(A.profile_out, &r);
  if (A.layer_info) bad |= bench_export_layer_info(A.layer_info, &r);
  if (A.output) bad |= bench_export_output(A.output, &r);
  if (A.report) bad |= bench_report_html(A.report, &r, &sum);
  rc = bad ? 1 : 0;
out:
  bench_result_free(&r);
  inputs_free(in, io.n);
  free(io.names);
  free(io.decl);
  onyx_engine_free(e);
  onyx_model_free(m);
  free(A.load);
  return rc;
}
