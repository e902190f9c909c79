/* `onyx bench`: what a benchmark run is configured with and what it measured.
 * cmd_bench.c parses and orchestrates; bench_gpu.c / bench_cpu.c measure;
 * bench_output.c prints and exports (json-c); bench_report.c draws the HTML report. */
#ifndef ONYX_TOOLS_BENCH_H
#define ONYX_TOOLS_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "onyx.h"
#include "tools/bench_stats.h"

#define BENCH_COLD 5        /* inferences per context run one at a time first: the cold start */
#define BENCH_MAX_STREAMS 64

/* Thresholds of the warnings (documented in --explain). */
#define BENCH_ENQUEUE_BOUND 0.8   /* median enqueue > 0.8 x median GPU compute */
#define BENCH_UNSTABLE_COV 0.025  /* GPU compute CoV > 2.5 % */

typedef struct bench_config {
  onyx_backend backend;
  double warmup_ms;    /* --warmup */
  int iterations;      /* --iterations: at least this many timed inferences per stream */
  double duration_s;   /* --duration: and at least this long */
  int streams;
  bool graph, spin_wait, transfers;
  int n_pct;
  double pct[BENCH_MAX_PCT];
  int avg_runs;
  int device;
  bool profile;        /* a per-layer profile is wanted (--profile, --export-profile, --report) */
  int profile_iters;
} bench_config;

/* One input's data, bound to every context / the session. */
typedef struct bench_input {
  char *name;
  onyx_dtype dtype;
  int ndim;
  int64_t dims[ONYX_MAX_DIMS];
  void *data;
  size_t bytes;
} bench_input;

/* One timed inference.  Times in ms since the start of the timed phase, on
 * the host clock; GPU event times are placed on it through an event recorded
 * on an idle stream at the start.  With --no-transfers (or on the CPU) the
 * H2D and D2H stages are empty: start = end at the compute's edges. */
typedef struct bench_sample {
  int stream;
  double enq_start, enq_end;
  double h2d_start, h2d_end, compute_start, compute_end, d2h_start, d2h_end;
} bench_sample;

static inline double bench_h2d(const bench_sample *s) { return s->h2d_end - s->h2d_start; }
static inline double bench_compute(const bench_sample *s) { return s->compute_end - s->compute_start; }
static inline double bench_d2h(const bench_sample *s) { return s->d2h_end - s->d2h_start; }
/* latency = H2D + compute + D2H */
static inline double bench_latency(const bench_sample *s) { return bench_h2d(s) + bench_compute(s) + bench_d2h(s); }
static inline double bench_enqueue(const bench_sample *s) { return s->enq_end - s->enq_start; }

typedef struct bench_tensor {
  char *name;
  onyx_dtype dtype;
  int ndim;
  int64_t dims[ONYX_MAX_DIMS];
  char format[16];
  bool is_const;
} bench_tensor;

typedef struct bench_layer {
  char *name, *op_type, *kernel, *precision;
  int64_t tactic;
  int n_in, n_out;
  bench_tensor *in, *out;
  double *ms;  /* profile: one time per call */
  int calls;
} bench_layer;

typedef struct bench_output {
  char *name;
  onyx_dtype dtype;
  int ndim;
  int64_t dims[ONYX_MAX_DIMS];
  void *data;
} bench_output;

typedef struct bench_result {
  const bench_config *cfg;
  char model[512];       /* the model or engine path */
  char device_name[256]; /* GPU or "CPU" */
  char precision[16];
  int batch;
  bench_sample *s;       /* timed inferences, in completion order per stream */
  int n;
  double walltime_ms;    /* first timed enqueue to the completion of the last timed inference */
  /* cold start (stream 0's context) */
  double setup_ms;       /* engine build or load (0 when not measured) */
  bool setup_built;
  double create_ms;      /* context / session creation up to ready buffers */
  int n_cold;
  double cold_host_ms[BENCH_COLD]; /* host clock, enqueue to completion, one at a time */
  double cold_gpu_ms[BENCH_COLD];  /* H2D + compute + D2H of the same inferences (GPU) */
  bench_layer *layers;
  int n_layers;
  bench_output *outputs;
  int n_outputs;
  const bench_input *inputs; /* borrowed: for the bindings of --export-layer-info */
  int n_inputs;
} bench_result;

/* Summary statistics derived from the samples. */
typedef struct bench_summary {
  bench_stats latency, enqueue, h2d, compute, d2h;
  double qps, images_per_s;
  double total_compute_ms;
} bench_summary;

int bench_summarise(const bench_result *r, bench_summary *sum); /* 0 or -1 (out of memory) */

typedef struct bench_warning {
  const char *kind; /* "enqueue-bound", "transfer-bound", "unstable", "streams-latency" */
  char text[512];
} bench_warning;
/* Fills up to cap warnings; returns the count. */
int bench_warnings(const bench_result *r, const bench_summary *sum, bench_warning *w, int cap);

/* The plain-language explanation of the metrics, formulas and warnings. */
void bench_explain(FILE *f);

/* bench_output.c: text and JSON (json-c). Each returns 0 or prints an error and returns 1. */
void bench_print_summary(FILE *f, const bench_result *r, const bench_summary *sum);
void bench_print_profile(FILE *f, const bench_result *r);
void bench_print_averages(FILE *f, const bench_result *r);
int bench_print_json(FILE *f, const bench_result *r, const bench_summary *sum);
int bench_export_times(const char *path, const bench_result *r);
int bench_export_profile(const char *path, const bench_result *r);
int bench_export_layer_info(const char *path, const bench_result *r);
int bench_export_output(const char *path, const bench_result *r);
/* bench_report.c: the self-contained HTML report. */
int bench_report_html(const char *path, const bench_result *r, const bench_summary *sum);

/* bench_gpu.c (CUDA builds; elsewhere it refuses): selects --device before any
 * engine exists, then measures; bench_cpu.c: the same through onyx_session. */
int bench_gpu_select_device(int device, char *name, size_t cap);
int bench_gpu_run(const bench_config *cfg, onyx_engine *e, const bench_input *in, int n_in, bool want_outputs,
                  bool want_layers, bench_result *r);
int bench_cpu_run(const bench_config *cfg, const onyx_model *m, int opt_level, const bench_input *in, int n_in,
                  bool want_outputs,
                  bench_result *r);

void bench_result_free(bench_result *r);
/* The per-layer profile statistics (total, mean, median of a layer's calls). */
void bench_layer_stats(const bench_layer *L, double *total, double *mean, double *median);

#endif
