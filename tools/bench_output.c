/* `onyx bench` text output and JSON (summary and trtexec-compatible exports), with json-c. */
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tools/bench.h"
#include "tools/cli_util.h"

static void print_stats_line(FILE *f, const char *label, const bench_stats *s, const char *unit)
{
  fprintf(f, "%s: min = %.5g %s, max = %.5g %s, mean = %.5g %s, median = %.5g %s", label, s->min, unit, s->max, unit,
          s->mean, unit, s->median, unit);
  for (int k = 0; k < s->n_pct; k++) fprintf(f, ", percentile(%g%%) = %.5g %s", s->pct[k], s->value[k], unit);
  fprintf(f, "\n");
}

static const char *backend_name(const bench_result *r)
{
  return r->cfg->backend == ONYX_BACKEND_CUDA ? "cuda" : "cpu";
}

void bench_print_summary(FILE *f, const bench_result *r, const bench_summary *sum)
{
  const bench_config *cfg = r->cfg;
  bool gpu = cfg->backend == ONYX_BACKEND_CUDA;
  fprintf(f, "=== Benchmark ===\n");
  fprintf(f, "Model: %s", r->model);
  if (r->setup_ms > 0) fprintf(f, " (engine %s in %.1f ms)", r->setup_built ? "built" : "loaded", r->setup_ms);
  fprintf(f, "\nDevice: %s, backend %s, precision %s, batch %d", r->device_name, backend_name(r), r->precision,
          r->batch);
  if (gpu)
    fprintf(f, ", %d stream%s, CUDA graph %s, transfers %s, spin-wait %s", cfg->streams, cfg->streams > 1 ? "s" : "",
            cfg->graph ? "on" : "off", cfg->transfers ? "on" : "off", cfg->spin_wait ? "on" : "off");
  fprintf(f, "\nTimed: %d inferences in %.3f s, after %g ms of warm-up\n", r->n, r->walltime_ms / 1e3,
          cfg->warmup_ms);

  fprintf(f, "\n=== Cold start vs steady state ===\n");
  fprintf(f, "%s creation (%s): %.3f ms\n", gpu ? "Context" : "Session",
          gpu ? "layers, device buffers, pinned staging" : "shape inference, constant folding, buffers", r->create_ms);
  if (r->n_cold) {
    fprintf(f, "First inference after %s creation: %.3f ms (host clock, enqueue to completion", gpu ? "context" : "session",
            r->cold_host_ms[0]);
    if (gpu) fprintf(f, "; its GPU stages took %.3f ms", r->cold_gpu_ms[0]);
    fprintf(f, ")\n");
    if (r->n_cold > 1) {
      fprintf(f, "Inferences 2-%d (not warmed up):", r->n_cold);
      for (int i = 1; i < r->n_cold; i++) fprintf(f, "%s %.3f", i > 1 ? "," : "", r->cold_host_ms[i]);
      fprintf(f, " ms\n");
    }
    if (sum->latency.n)
      fprintf(f, "Steady state: median latency %.3f ms (the first inference took %.2f x that)\n", sum->latency.median,
              sum->latency.median > 0 ? r->cold_host_ms[0] / sum->latency.median : 0.0);
  }

  fprintf(f, "\n=== Performance summary ===\n");
  fprintf(f, "Throughput: %.5g qps, %.5g images/s (batch %d)\n", sum->qps, sum->images_per_s, r->batch);
  print_stats_line(f, "Latency", &sum->latency, "ms");
  if (gpu) {
    print_stats_line(f, "Enqueue Time", &sum->enqueue, "ms");
    if (cfg->transfers) print_stats_line(f, "H2D Latency", &sum->h2d, "ms");
    else fprintf(f, "H2D Latency: not measured (--no-transfers)\n");
    print_stats_line(f, "GPU Compute Time", &sum->compute, "ms");
    if (cfg->transfers) print_stats_line(f, "D2H Latency", &sum->d2h, "ms");
    else fprintf(f, "D2H Latency: not measured (--no-transfers)\n");
  } else {
    fprintf(f, "Enqueue Time, H2D Latency, D2H Latency: none on the CPU backend (runs are synchronous, in host memory)\n");
    print_stats_line(f, "Compute Time", &sum->compute, "ms");
  }
  fprintf(f, "Total Host Walltime: %.5g s\n", r->walltime_ms / 1e3);
  fprintf(f, "Total %s Compute Time: %.5g s\n", gpu ? "GPU" : "CPU", sum->total_compute_ms / 1e3);
  fprintf(f, "%s Compute Time: coefficient of variation = %.3g %%\n", gpu ? "GPU" : "CPU", 100 * sum->compute.cov);
  bench_warning w[8];
  int nw = bench_warnings(r, sum, w, 8);
  if (nw) fprintf(f, "\nWarnings:\n");
  for (int i = 0; i < nw; i++) fprintf(f, "  * %s\n", w[i].text);
  fprintf(f, "\n(onyx bench --explain says what each number means and how it is computed)\n");
}

void bench_print_averages(FILE *f, const bench_result *r)
{
  int k = r->cfg->avg_runs;
  fprintf(f, "\n=== Averages over %d consecutive inferences (stream 0) ===\n", k);
  int i = 0;
  while (i < r->n) {
    double lat = 0, comp = 0, enq = 0;
    int m = 0;
    for (; i < r->n && m < k; i++) {
      if (r->s[i].stream) continue;
      lat += bench_latency(&r->s[i]);
      comp += bench_compute(&r->s[i]);
      enq += bench_enqueue(&r->s[i]);
      m++;
    }
    if (m && r->cfg->backend == ONYX_BACKEND_CUDA)
      fprintf(f, "Average on %d runs - GPU latency: %.5g ms - Host latency: %.5g ms (enqueue %.5g ms)\n", m, comp / m,
              lat / m, enq / m);
    else if (m)
      fprintf(f, "Average on %d runs - latency: %.5g ms\n", m, lat / m);
  }
}

void bench_print_profile(FILE *f, const bench_result *r)
{
  double all = 0;
  for (int i = 0; i < r->n_layers; i++) {
    double t, a, m;
    bench_layer_stats(&r->layers[i], &t, &a, &m);
    all += t;
  }
  fprintf(f, "\n=== Profile (%d layers, %d calls each, a separate run) ===\n", r->n_layers,
          r->n_layers ? r->layers[0].calls : 0);
  fprintf(f, "%10s %12s %12s %12s %7s  %-16s %s\n", "calls", "total (ms)", "average (ms)", "median (ms)", "%",
          "op", "layer (fused ONNX nodes)");
  for (int i = 0; i < r->n_layers; i++) {
    const bench_layer *L = &r->layers[i];
    double t, a, m;
    bench_layer_stats(L, &t, &a, &m);
    fprintf(f, "%10d %12.4f %12.5f %12.5f %6.2f%%  %-16s %s\n", L->calls, t, a, m, all > 0 ? 100 * t / all : 0.0,
            L->op_type, L->name);
  }
  fprintf(f, "%10s %12.4f %12s %12s %6.2f%%  total\n", "", all, "", "", all > 0 ? 100.0 : 0.0);
}

/* ---- JSON ------------------------------------------------------------------ */

static json_object *jstats(const bench_stats *s)
{
  json_object *o = json_object_new_object(), *p = json_object_new_object();
  json_object_object_add(o, "min", json_object_new_double(s->min));
  json_object_object_add(o, "max", json_object_new_double(s->max));
  json_object_object_add(o, "mean", json_object_new_double(s->mean));
  json_object_object_add(o, "median", json_object_new_double(s->median));
  json_object_object_add(o, "stddev", json_object_new_double(s->stddev));
  json_object_object_add(o, "cov", json_object_new_double(s->cov));
  for (int k = 0; k < s->n_pct; k++) {
    char key[32];
    snprintf(key, sizeof(key), "%g", s->pct[k]);
    json_object_object_add(p, key, json_object_new_double(s->value[k]));
  }
  json_object_object_add(o, "percentiles", p);
  return o;
}

static int write_json(const char *path, json_object *o)
{
  int rc = 0;
  if (json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) != 0) {
    cli_error("cannot write '%s': %s", path, json_util_get_last_err());
    rc = 1;
  }
  json_object_put(o);
  return rc;
}

int bench_print_json(FILE *f, const bench_result *r, const bench_summary *sum)
{
  const bench_config *cfg = r->cfg;
  bool gpu = cfg->backend == ONYX_BACKEND_CUDA;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "model", json_object_new_string(r->model));
  json_object_object_add(o, "backend", json_object_new_string(backend_name(r)));
  json_object_object_add(o, "device", json_object_new_string(r->device_name));
  json_object_object_add(o, "precision", json_object_new_string(r->precision));
  json_object_object_add(o, "batch", json_object_new_int(r->batch));
  json_object_object_add(o, "streams", json_object_new_int(cfg->streams));
  json_object_object_add(o, "graph", json_object_new_boolean(gpu && cfg->graph));
  json_object_object_add(o, "transfers", json_object_new_boolean(gpu && cfg->transfers));
  json_object_object_add(o, "spin_wait", json_object_new_boolean(gpu && cfg->spin_wait));
  json_object_object_add(o, "warmup_ms", json_object_new_double(cfg->warmup_ms));
  json_object_object_add(o, "inferences", json_object_new_int(r->n));
  json_object_object_add(o, "walltime_s", json_object_new_double(r->walltime_ms / 1e3));
  json_object *tp = json_object_new_object();
  json_object_object_add(tp, "qps", json_object_new_double(sum->qps));
  json_object_object_add(tp, "images_per_s", json_object_new_double(sum->images_per_s));
  json_object_object_add(o, "throughput", tp);
  json_object_object_add(o, "latency_ms", jstats(&sum->latency));
  json_object_object_add(o, "enqueue_ms", gpu ? jstats(&sum->enqueue) : NULL);
  json_object_object_add(o, "h2d_ms", gpu && cfg->transfers ? jstats(&sum->h2d) : NULL);
  json_object_object_add(o, "compute_ms", jstats(&sum->compute));
  json_object_object_add(o, "d2h_ms", gpu && cfg->transfers ? jstats(&sum->d2h) : NULL);
  json_object_object_add(o, "total_compute_s", json_object_new_double(sum->total_compute_ms / 1e3));
  json_object *cold = json_object_new_object(), *first = json_object_new_array();
  json_object_object_add(cold, "setup_ms", json_object_new_double(r->setup_ms));
  json_object_object_add(cold, "create_ms", json_object_new_double(r->create_ms));
  for (int i = 0; i < r->n_cold; i++) json_object_array_add(first, json_object_new_double(r->cold_host_ms[i]));
  json_object_object_add(cold, "first_inferences_ms", first);
  json_object_object_add(cold, "steady_median_ms", json_object_new_double(sum->latency.median));
  json_object_object_add(o, "cold_start", cold);
  bench_warning w[8];
  int nw = bench_warnings(r, sum, w, 8);
  json_object *wa = json_object_new_array();
  for (int i = 0; i < nw; i++) {
    json_object *x = json_object_new_object();
    json_object_object_add(x, "kind", json_object_new_string(w[i].kind));
    json_object_object_add(x, "message", json_object_new_string(w[i].text));
    json_object_array_add(wa, x);
  }
  json_object_object_add(o, "warnings", wa);
  json_object *avg = json_object_new_array();
  for (int i = 0; i < r->n;) { /* --avg-runs groups of stream 0 */
    double lat = 0, comp = 0, enq = 0;
    int m = 0;
    for (; i < r->n && m < cfg->avg_runs; i++) {
      if (r->s[i].stream) continue;
      lat += bench_latency(&r->s[i]);
      comp += bench_compute(&r->s[i]);
      enq += bench_enqueue(&r->s[i]);
      m++;
    }
    if (!m) continue;
    json_object *x = json_object_new_object();
    json_object_object_add(x, "runs", json_object_new_int(m));
    json_object_object_add(x, "latency_ms", json_object_new_double(lat / m));
    json_object_object_add(x, "compute_ms", json_object_new_double(comp / m));
    json_object_object_add(x, "enqueue_ms", json_object_new_double(enq / m));
    json_object_array_add(avg, x);
  }
  json_object_object_add(o, "averages", avg);
  if (r->n_layers && r->layers[0].calls) {
    json_object *pl = json_object_new_array();
    for (int i = 0; i < r->n_layers; i++) {
      double t, a, m;
      bench_layer_stats(&r->layers[i], &t, &a, &m);
      json_object *x = json_object_new_object();
      json_object_object_add(x, "name", json_object_new_string(r->layers[i].name));
      json_object_object_add(x, "op", json_object_new_string(r->layers[i].op_type));
      json_object_object_add(x, "median_ms", json_object_new_double(m));
      json_object_array_add(pl, x);
    }
    json_object_object_add(o, "profile", pl);
  }
  fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(o);
  return 0;
}

int bench_export_times(const char *path, const bench_result *r)
{
  json_object *a = json_object_new_array();
  for (int i = 0; i < r->n; i++) {
    const bench_sample *s = &r->s[i];
    json_object *x = json_object_new_object();
    json_object_object_add(x, "startEnqMs", json_object_new_double(s->enq_start));
    json_object_object_add(x, "endEnqMs", json_object_new_double(s->enq_end));
    json_object_object_add(x, "startH2dMs", json_object_new_double(s->h2d_start));
    json_object_object_add(x, "endH2dMs", json_object_new_double(s->h2d_end));
    json_object_object_add(x, "startComputeMs", json_object_new_double(s->compute_start));
    json_object_object_add(x, "endComputeMs", json_object_new_double(s->compute_end));
    json_object_object_add(x, "startD2hMs", json_object_new_double(s->d2h_start));
    json_object_object_add(x, "endD2hMs", json_object_new_double(s->d2h_end));
    json_object_object_add(x, "h2dMs", json_object_new_double(bench_h2d(s)));
    json_object_object_add(x, "computeMs", json_object_new_double(bench_compute(s)));
    json_object_object_add(x, "d2hMs", json_object_new_double(bench_d2h(s)));
    json_object_object_add(x, "latencyMs", json_object_new_double(bench_latency(s)));
    json_object_object_add(x, "stream", json_object_new_int(s->stream));
    json_object_array_add(a, x);
  }
  return write_json(path, a);
}

int bench_export_profile(const char *path, const bench_result *r)
{
  json_object *a = json_object_new_array(), *c = json_object_new_object();
  json_object_object_add(c, "count", json_object_new_int(r->n_layers ? r->layers[0].calls : 0));
  json_object_array_add(a, c);
  double all = 0;
  for (int i = 0; i < r->n_layers; i++) {
    double t, m, md;
    bench_layer_stats(&r->layers[i], &t, &m, &md);
    all += t;
  }
  for (int i = 0; i < r->n_layers; i++) {
    double t, m, md;
    bench_layer_stats(&r->layers[i], &t, &m, &md);
    json_object *x = json_object_new_object();
    json_object_object_add(x, "name", json_object_new_string(r->layers[i].name));
    json_object_object_add(x, "timeMs", json_object_new_double(t));
    json_object_object_add(x, "averageMs", json_object_new_double(m));
    json_object_object_add(x, "medianMs", json_object_new_double(md));
    json_object_object_add(x, "percentage", json_object_new_double(all > 0 ? 100 * t / all : 0));
    json_object_array_add(a, x);
  }
  return write_json(path, a);
}

static const char *trt_dtype(onyx_dtype t)
{
  switch (t) {
  case ONYX_DTYPE_FLOAT: return "FP32";
  case ONYX_DTYPE_FLOAT16: return "FP16";
  case ONYX_DTYPE_DOUBLE: return "FP64";
  case ONYX_DTYPE_INT64: return "Int64";
  case ONYX_DTYPE_INT32: return "Int32";
  case ONYX_DTYPE_INT8: return "Int8";
  case ONYX_DTYPE_UINT8: return "UInt8";
  case ONYX_DTYPE_BOOL: return "Bool";
  default: return onyx_dtype_name(t);
  }
}

static json_object *jtensor(const bench_tensor *t)
{
  json_object *x = json_object_new_object(), *d = json_object_new_array();
  char fmt[96];
  const char *layout = !strcmp(t->format, "linear") ? "Row major linear"
                       : !strcmp(t->format, "nhwc") ? "Channel last (NHWC)"
                                                    : "Strided";
  snprintf(fmt, sizeof(fmt), "%s %s", layout, trt_dtype(t->dtype));
  json_object_object_add(x, "Name", json_object_new_string(t->name));
  json_object_object_add(x, "Location", json_object_new_string(t->is_const ? "Constant" : "Device"));
  for (int k = 0; k < t->ndim; k++) json_object_array_add(d, json_object_new_int64(t->dims[k]));
  json_object_object_add(x, "Dimensions", d);
  json_object_object_add(x, "Format/Datatype", json_object_new_string(fmt));
  json_object_object_add(x, "Datatype", json_object_new_string(onyx_dtype_name(t->dtype)));
  json_object_object_add(x, "Format", json_object_new_string(t->format));
  return x;
}

int bench_export_layer_info(const char *path, const bench_result *r)
{
  json_object *o = json_object_new_object(), *layers = json_object_new_array(), *b = json_object_new_array();
  for (int i = 0; i < r->n_layers; i++) {
    const bench_layer *L = &r->layers[i];
    json_object *x = json_object_new_object(), *in = json_object_new_array(), *out = json_object_new_array();
    json_object_object_add(x, "Name", json_object_new_string(L->name));
    json_object_object_add(x, "LayerType", json_object_new_string(L->op_type));
    for (int k = 0; k < L->n_in; k++)
      if (L->in[k].name[0]) json_object_array_add(in, jtensor(&L->in[k]));
    for (int k = 0; k < L->n_out; k++) json_object_array_add(out, jtensor(&L->out[k]));
    json_object_object_add(x, "Inputs", in);
    json_object_object_add(x, "Outputs", out);
    json_object_object_add(x, "TacticName", json_object_new_string(L->kernel));
    if (L->tactic != INT64_MIN) {
      char tv[32];
      snprintf(tv, sizeof(tv), "0x%016" PRIx64, (uint64_t)L->tactic);
      json_object_object_add(x, "TacticValue", json_object_new_string(tv));
    } else {
      json_object_object_add(x, "TacticValue", NULL);
    }
    json_object_object_add(x, "Precision", json_object_new_string(L->precision));
    json_object_array_add(layers, x);
  }
  json_object_object_add(o, "Layers", layers);
  for (int i = 0; i < r->n_inputs; i++) json_object_array_add(b, json_object_new_string(r->inputs[i].name));
  for (int i = 0; i < r->n_outputs; i++) json_object_array_add(b, json_object_new_string(r->outputs[i].name));
  json_object_object_add(o, "Bindings", b);
  return write_json(path, o);
}

static json_object *jvalue(onyx_dtype dt, const void *data, int64_t i)
{
  switch (dt) {
  case ONYX_DTYPE_FLOAT: return json_object_new_double(((const float *)data)[i]);
  case ONYX_DTYPE_DOUBLE: return json_object_new_double(((const double *)data)[i]);
  case ONYX_DTYPE_FLOAT16: return json_object_new_double(onyx_half_to_float(((const uint16_t *)data)[i]));
  case ONYX_DTYPE_BOOL: return json_object_new_boolean(((const uint8_t *)data)[i] != 0);
  case ONYX_DTYPE_UINT8: return json_object_new_int64(((const uint8_t *)data)[i]);
  case ONYX_DTYPE_INT8: return json_object_new_int64(((const int8_t *)data)[i]);
  case ONYX_DTYPE_UINT16: return json_object_new_int64(((const uint16_t *)data)[i]);
  case ONYX_DTYPE_INT16: return json_object_new_int64(((const int16_t *)data)[i]);
  case ONYX_DTYPE_UINT32: return json_object_new_int64(((const uint32_t *)data)[i]);
  case ONYX_DTYPE_INT32: return json_object_new_int64(((const int32_t *)data)[i]);
  case ONYX_DTYPE_UINT64: return json_object_new_uint64(((const uint64_t *)data)[i]);
  case ONYX_DTYPE_INT64: return json_object_new_int64(((const int64_t *)data)[i]);
  default: return NULL;
  }
}

int bench_export_output(const char *path, const bench_result *r)
{
  json_object *a = json_object_new_array();
  for (int i = 0; i < r->n_outputs; i++) {
    const bench_output *t = &r->outputs[i];
    json_object *x = json_object_new_object(), *v = json_object_new_array();
    char dims[256];
    json_object_object_add(x, "name", json_object_new_string(t->name));
    json_object_object_add(x, "dimensions", json_object_new_string(cli_dims_str(t->ndim, t->dims, dims, sizeof(dims))));
    int64_t n = onyx_numel(t->ndim, t->dims);
    for (int64_t k = 0; k < n; k++) json_object_array_add(v, jvalue(t->dtype, t->data, k));
    json_object_object_add(x, "values", v);
    json_object_array_add(a, x);
  }
  return write_json(path, a);
}
