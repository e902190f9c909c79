/* Writes the report and every JSON export of a made-up GPU benchmark (two
 * streams, three layers with hostile names, two outputs) into DIR, for
 * test_bench_files.py to check: the GPU-only parts of the output without a GPU.
 * usage: bench_report_tool DIR */
#include <stdlib.h>
#include <string.h>

#include "tools/bench.h"

static char *dup(const char *s) { return strdup(s); }

int main(int argc, char **argv)
{
  if (argc != 2) return 2;
  const char *dir = argv[1];
  bench_config cfg = {.backend = ONYX_BACKEND_CUDA, .warmup_ms = 200, .iterations = 10, .duration_s = 3,
                      .streams = 2, .graph = true, .transfers = true, .n_pct = 3, .pct = {90, 95, 99},
                      .avg_runs = 10, .profile = true, .profile_iters = 4};
  bench_result r = {.cfg = &cfg, .batch = 4, .create_ms = 12.5, .setup_ms = 1500, .setup_built = true, .n_cold = 5};
  snprintf(r.model, sizeof(r.model), "models/<net>&\"x\".onnx");
  snprintf(r.device_name, sizeof(r.device_name), "Made-up GPU (device 0)");
  snprintf(r.precision, sizeof(r.precision), "fp16");
  for (int k = 0; k < 5; k++) r.cold_host_ms[k] = r.cold_gpu_ms[k] = 40.0 / (k + 1);
  r.n = 1500; /* over the timeline's 600 columns */
  r.s = calloc((size_t)r.n, sizeof(*r.s));
  for (int i = 0; i < r.n; i++) {
    double t = i * 1.0, h = 0.05 + 0.01 * (i % 3), c = 0.8 + 0.1 * (i % 7), d = 0.02;
    r.s[i] = (bench_sample){.stream = i % 2, .enq_start = t, .enq_end = t + 0.03, .h2d_start = t + 0.01,
                            .h2d_end = t + 0.01 + h, .compute_start = t + 0.01 + h, .compute_end = t + 0.01 + h + c,
                            .d2h_start = t + 0.01 + h + c, .d2h_end = t + 0.01 + h + c + d};
  }
  r.walltime_ms = r.s[r.n - 1].d2h_end;
  const char *names[3] = {"conv1 + bn1 + relu1", "<script>alert(1)</script>", "fc"};
  const char *ops[3] = {"Conv", "MaxPool", "Gemm"};
  r.n_layers = 3;
  r.layers = calloc(3, sizeof(*r.layers));
  for (int i = 0; i < 3; i++) {
    bench_layer *L = &r.layers[i];
    L->name = dup(names[i]);
    L->op_type = dup(ops[i]);
    L->kernel = dup(i ? "onyx:kernel" : "cudnn:IMPLICIT_PRECOMP_GEMM");
    L->precision = dup("fp16");
    L->tactic = i ? INT64_MIN : 7;
    L->n_in = 2;
    L->n_out = 1;
    L->in = calloc(2, sizeof(*L->in));
    L->out = calloc(1, sizeof(*L->out));
    L->in[0] = (bench_tensor){.name = dup("x"), .dtype = ONYX_DTYPE_FLOAT16, .ndim = 4, .dims = {4, 3, 8, 8},
                              .format = "nhwc"};
    L->in[1] = (bench_tensor){.name = dup(i == 1 ? "" : "w"), .dtype = ONYX_DTYPE_FLOAT16, .ndim = 1, .dims = {3},
                              .format = "linear", .is_const = true};
    L->out[0] = (bench_tensor){.name = dup("y"), .dtype = ONYX_DTYPE_FLOAT, .ndim = 2, .dims = {4, 10},
                               .format = "linear"};
    L->calls = 4;
    L->ms = calloc(4, sizeof(*L->ms));
    for (int k = 0; k < 4; k++) L->ms[k] = (i + 1) * 0.1 + 0.01 * k; /* layer i: total 0.4(i+1) + 0.06 */
  }
  r.n_outputs = 2;
  r.outputs = calloc(2, sizeof(*r.outputs));
  r.outputs[0] = (bench_output){.name = dup("prob"), .dtype = ONYX_DTYPE_FLOAT, .ndim = 2, .dims = {1, 3}};
  r.outputs[0].data = malloc(3 * sizeof(float));
  memcpy(r.outputs[0].data, (float[]){0.25f, -1.5f, 3.0f}, 3 * sizeof(float));
  r.outputs[1] = (bench_output){.name = dup("idx"), .dtype = ONYX_DTYPE_INT64, .ndim = 1, .dims = {2}};
  r.outputs[1].data = malloc(2 * sizeof(int64_t));
  memcpy(r.outputs[1].data, (int64_t[]){7, -2}, 2 * sizeof(int64_t));

  bench_input in = {.name = "data", .dtype = ONYX_DTYPE_FLOAT, .ndim = 2, .dims = {4, 3}};
  r.inputs = &in;
  r.n_inputs = 1;
  bench_summary sum;
  if (bench_summarise(&r, &sum)) return 1;
  char path[4096];
  int rc = 0;
#define OUT(file) (snprintf(path, sizeof(path), "%s/%s", dir, file), path)
  rc |= bench_report_html(OUT("report.html"), &r, &sum);
  rc |= bench_export_times(OUT("times.json"), &r);
  rc |= bench_export_profile(OUT("profile.json"), &r);
  rc |= bench_export_layer_info(OUT("layers.json"), &r);
  rc |= bench_export_output(OUT("output.json"), &r);
  FILE *f = fopen(OUT("summary.json"), "w");
  if (!f) return 1;
  rc |= bench_print_json(f, &r, &sum);
  fclose(f);
  f = fopen(OUT("summary.txt"), "w");
  if (!f) return 1;
  bench_print_summary(f, &r, &sum);
  bench_print_profile(f, &r);
  bench_print_averages(f, &r);
  fclose(f);
  bench_result_free(&r);
  return rc;
}
