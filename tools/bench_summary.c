/* Summary statistics, warnings and the explanation of `onyx bench`. */
#include <stdlib.h>
#include <string.h>

#include "tools/bench.h"

int bench_summarise(const bench_result *r, bench_summary *sum)
{
  memset(sum, 0, sizeof(*sum));
  int n = r->n;
  double *x = malloc((size_t)(n ? n : 1) * sizeof(*x));
  if (!x) return -1;
  double (*const fn[5])(const bench_sample *) = {bench_latency, bench_enqueue, bench_h2d, bench_compute, bench_d2h};
  bench_stats *const dst[5] = {&sum->latency, &sum->enqueue, &sum->h2d, &sum->compute, &sum->d2h};
  int rc = 0;
  for (int k = 0; k < 5 && !rc; k++) {
    for (int i = 0; i < n; i++) x[i] = fn[k](&r->s[i]);
    rc = bench_stats_compute(x, n, r->cfg->pct, r->cfg->n_pct, dst[k]);
  }
  free(x);
  /* throughput = inferences x batch / walltime */
  if (r->walltime_ms > 0) {
    sum->qps = n / (r->walltime_ms / 1e3);
    sum->images_per_s = sum->qps * r->batch;
  }
  sum->total_compute_ms = sum->compute.sum;
  return rc;
}

int bench_warnings(const bench_result *r, const bench_summary *sum, bench_warning *w, int cap)
{
  int n = 0;
  bool gpu = r->cfg->backend == ONYX_BACKEND_CUDA;
  const char *what = gpu ? "GPU compute" : "compute";
#define ADD(k, ...)                                                    \
  do {                                                                 \
    if (n < cap) {                                                     \
      w[n].kind = k;                                                   \
      snprintf(w[n].text, sizeof(w[n].text), __VA_ARGS__);             \
      n++;                                                             \
    }                                                                  \
  } while (0)
  if (!r->n) return 0;
  if (gpu && sum->enqueue.median > BENCH_ENQUEUE_BOUND * sum->compute.median)
    ADD("enqueue-bound",
        "enqueue-bound: the median enqueue time (%.4f ms) is over %.1f x the median GPU compute time (%.4f ms): the "
        "host may not keep the GPU busy. %s",
        sum->enqueue.median, BENCH_ENQUEUE_BOUND, sum->compute.median,
        r->cfg->graph ? "A larger batch (--batch) gives the GPU more work per enqueue."
                      : "CUDA graphs (--graph) or a larger batch (--batch) cut the launch cost per inference.");
  if (gpu && r->cfg->transfers && sum->h2d.median >= sum->compute.median)
    ADD("transfer-bound",
        "transfer-bound: the median H2D latency (%.4f ms) is at least the median GPU compute time (%.4f ms): copying "
        "the inputs costs as much as the inference. Keep inputs on the GPU, or see --no-transfers for compute alone.",
        sum->h2d.median, sum->compute.median);
  if (gpu && r->cfg->transfers && sum->d2h.median >= sum->compute.median)
    ADD("transfer-bound",
        "transfer-bound: the median D2H latency (%.4f ms) is at least the median GPU compute time (%.4f ms): copying "
        "the outputs costs as much as the inference.",
        sum->d2h.median, sum->compute.median);
  if (sum->compute.cov > BENCH_UNSTABLE_COV)
    ADD("unstable",
        "unstable: the %s time varies with a coefficient of variation of %.2f %% (over %.1f %%): other work on the "
        "machine, clock changes or too short a run. %s",
        what, 100 * sum->compute.cov, 100 * BENCH_UNSTABLE_COV,
        gpu ? "Lock the GPU clocks, use --spin-wait, or run longer (--duration)."
            : "Run on an idle machine, pin the threads (OMP_PROC_BIND), or run longer (--duration).");
  if (r->cfg->streams > 1)
    ADD("streams-latency",
        "streams: with %d streams running at once, inferences share the GPU, so each one's latency includes time "
        "spent behind the other streams' work. Read throughput from this run and latency from a --streams 1 run.",
        r->cfg->streams);
#undef ADD
  return n;
}

void bench_layer_stats(const bench_layer *L, double *total, double *mean, double *median)
{
  bench_stats st;
  *total = *mean = *median = 0;
  if (bench_stats_compute(L->ms, L->calls, NULL, 0, &st)) return;
  *total = st.sum;
  *mean = st.mean;
  *median = st.median;
}

void bench_result_free(bench_result *r)
{
  free(r->s);
  for (int i = 0; i < r->n_layers; i++) {
    bench_layer *L = &r->layers[i];
    free(L->name);
    free(L->op_type);
    free(L->kernel);
    free(L->precision);
    for (int k = 0; L->in && k < L->n_in; k++) free(L->in[k].name);
    for (int k = 0; L->out && k < L->n_out; k++) free(L->out[k].name);
    free(L->in);
    free(L->out);
    free(L->ms);
  }
  free(r->layers);
  for (int i = 0; i < r->n_outputs; i++) {
    free(r->outputs[i].name);
    free(r->outputs[i].data);
  }
  free(r->outputs);
  r->s = NULL;
  r->layers = NULL;
  r->outputs = NULL;
  r->n = r->n_layers = r->n_outputs = 0;
}

void bench_explain(FILE *f)
{
  fprintf(f,
    "What the numbers mean\n"
    "  Every inference is timed in three stages on three CUDA streams, ordered by cross-stream waits:\n"
    "  the input copy (H2D), the layers (compute) and the output copy (D2H), each between two CUDA\n"
    "  events; the host clock times the enqueue call.  Two inferences are kept in flight per stream.\n"
    "  The warm-up (--warmup) and the cold-start inferences are never part of the statistics.  A context\n"
    "  has one set of device buffers: its next input copy overlaps this output copy but not the compute\n"
    "  (--streams 2 runs two contexts, so that one's copies overlap the other's compute).\n"
    "\n"
    "  Throughput        queries/s = timed inferences / Total Host Walltime; images/s = queries/s x batch\n"
    "                    (batch = the first dimension of the first input).\n"
    "  Latency           H2D Latency + GPU Compute Time + D2H Latency of one inference: how long one query\n"
    "                    takes from its input copy to its output copy on an otherwise idle path.\n"
    "  Enqueue Time      host time of the enqueue call (queueing copies and the CUDA graph, or every\n"
    "                    layer's launch with --no-graph).  The GPU runs asynchronously meanwhile.\n"
    "  H2D Latency       copying the inputs from pinned host memory to the GPU.\n"
    "  GPU Compute Time  running the layers on the GPU (the engine's actual work).\n"
    "  D2H Latency       copying the outputs back to pinned host memory.\n"
    "  Total Host Walltime    from the first timed enqueue to the completion of the last timed inference.\n"
    "  Total GPU Compute Time the sum of GPU Compute Time over the timed inferences.\n"
    "  On the CPU backend (--backend cpu) the host clock times each onyx_session_run: that is the compute\n"
    "  time and the latency; there are no copies and no asynchronous enqueue.\n"
    "\n"
    "  Statistics: min, max, mean over the timed inferences; median = the middle value (the mean of the\n"
    "  two middle values for an even count); percentile(p) = nearest rank: the ceil(p/100 x n)-th smallest\n"
    "  of n values (p = 0: the smallest); coefficient of variation (CoV) = population standard deviation\n"
    "  / mean = sqrt(sum((x - mean)^2) / n) / mean.\n"
    "\n"
    "  Cold start vs steady state: the first inference after a context is created pays for lazy work\n"
    "  (CUDA module loading, graph capture, caches, page faults); the next few are still faster than\n"
    "  steady state.  A script that times one call on a fresh context, or uses no warm-up, measures that.\n"
    "\n"
    "  Warnings and their thresholds:\n"
    "    enqueue-bound    median Enqueue Time > %.1f x median GPU Compute Time: the host cannot feed the GPU\n"
    "                     (use CUDA graphs, --graph, or a larger batch).\n"
    "    transfer-bound   median H2D or D2H Latency >= median GPU Compute Time: the copies cost as much as\n"
    "                     the inference.\n"
    "    unstable         CoV of GPU Compute Time > %.1f %%: the numbers are not repeatable as they stand.\n"
    "    streams          with --streams N > 1 the latency includes waiting behind other streams' work:\n"
    "                     read latency from a --streams 1 run.\n"
    "\n"
    "  --profile times each layer in a separate run (layer by layer, with events between layers), so it\n"
    "  does not perturb the numbers above; per-layer totals exceed GPU Compute Time by those gaps.\n",
    BENCH_ENQUEUE_BOUND, 100 * BENCH_UNSTABLE_COV);
}
