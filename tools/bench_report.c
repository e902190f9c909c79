/* `onyx bench --report FILE.html`: one self-contained page (inline CSS and
 * SVG, nothing fetched) with the summary, a latency histogram, the
 * per-inference timeline (H2D / compute / D2H stacked) and per-layer times. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tools/bench.h"
#include "tools/cli_util.h"

#define W 920
#define H 300
#define ML 64 /* margins: left, right, top, bottom */
#define MR 16
#define MT 16
#define MB 44

static void esc(FILE *f, const char *s)
{
  for (; *s; s++) {
    switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc(*s, f);
    }
  }
}

/* A "nice" tick step (1, 2 or 5 x 10^k) giving about n ticks over range. */
static double tick_step(double range, int n)
{
  if (!(range > 0)) return 1;
  double raw = range / n, p = pow(10, floor(log10(raw))), m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void axes(FILE *f, double x0, double x1, double y0, double y1, const char *xlabel, const char *ylabel)
{
  double pw = W - ML - MR, ph = H - MT - MB;
  fprintf(f, "<line class='axis' x1='%d' y1='%d' x2='%d' y2='%d'/>", ML, H - MB, W - MR, H - MB);
  fprintf(f, "<line class='axis' x1='%d' y1='%d' x2='%d' y2='%d'/>", ML, MT, ML, H - MB);
  double sx = tick_step(x1 - x0, 8), sy = tick_step(y1 - y0, 5);
  for (double v = ceil(x0 / sx) * sx; v <= x1 + 1e-9 * sx; v += sx) {
    double x = ML + (x1 > x0 ? (v - x0) / (x1 - x0) : 0) * pw;
    fprintf(f, "<line class='tick' x1='%.1f' y1='%d' x2='%.1f' y2='%d'/><text x='%.1f' y='%d' text-anchor='middle'>%g</text>",
            x, H - MB, x, H - MB + 4, x, H - MB + 16, v);
  }
  for (double v = ceil(y0 / sy) * sy; v <= y1 + 1e-9 * sy; v += sy) {
    double y = H - MB - (y1 > y0 ? (v - y0) / (y1 - y0) : 0) * ph;
    fprintf(f, "<line class='grid' x1='%d' y1='%.1f' x2='%d' y2='%.1f'/><text x='%d' y='%.1f' text-anchor='end'>%g</text>",
            ML, y, W - MR, y, ML - 6, y + 4, v);
  }
  fprintf(f, "<text x='%d' y='%d' text-anchor='middle'>", ML + (W - ML - MR) / 2, H - 8);
  esc(f, xlabel);
  fprintf(f, "</text><text x='14' y='%d' text-anchor='middle' transform='rotate(-90 14 %d)'>", MT + (H - MT - MB) / 2,
          MT + (H - MT - MB) / 2);
  esc(f, ylabel);
  fprintf(f, "</text>");
}

static void histogram(FILE *f, const bench_result *r, const bench_summary *sum)
{
  enum { BINS = 40 };
  int count[BINS] = {0}, top = 1;
  double lo = sum->latency.min, hi = sum->latency.max;
  if (!(hi > lo)) hi = lo + (lo > 0 ? lo * 0.01 : 1e-3);
  double bw = (hi - lo) / BINS;
  for (int i = 0; i < r->n; i++) {
    int b = (int)((bench_latency(&r->s[i]) - lo) / bw);
    if (b < 0) b = 0;
    if (b >= BINS) b = BINS - 1;
    if (++count[b] > top) top = count[b];
  }
  double pw = W - ML - MR, ph = H - MT - MB;
  fprintf(f, "<svg id='histogram' class='chart' viewBox='0 0 %d %d' width='%d' height='%d' role='img'>", W, H, W, H);
  axes(f, lo, hi, 0, top, "latency (ms)", "inferences");
  for (int b = 0; b < BINS; b++) {
    if (!count[b]) continue;
    double x = ML + b * pw / BINS, h = ph * count[b] / top;
    fprintf(f, "<rect class='bar' x='%.1f' y='%.1f' width='%.1f' height='%.1f'><title>%.4f - %.4f ms: %d</title></rect>",
            x + 0.5, H - MB - h, pw / BINS - 1, h, lo + b * bw, lo + (b + 1) * bw, count[b]);
  }
  double marks[2] = {sum->latency.median, sum->latency.n_pct ? sum->latency.value[sum->latency.n_pct - 1] : NAN};
  const char *names[2] = {"median", "p"};
  for (int k = 0; k < 2; k++) {
    if (isnan(marks[k])) continue;
    double x = ML + (marks[k] - lo) / (hi - lo) * pw;
    bool right = x > W - MR - 150; /* near the right edge: the label goes left of the line */
    fprintf(f, "<line class='mark' x1='%.1f' y1='%d' x2='%.1f' y2='%d'/><text class='marklabel' x='%.1f' y='%d'%s>",
            x, MT, x, H - MB, right ? x - 3 : x + 3, MT + 10 + 12 * k, right ? " text-anchor='end'" : "");
    if (k) fprintf(f, "p%g %.4f ms", sum->latency.pct[sum->latency.n_pct - 1], marks[k]);
    else fprintf(f, "%s %.4f ms", names[k], marks[k]);
    fprintf(f, "</text>");
  }
  fprintf(f, "</svg>\n");
}

/* Up to 600 columns; above that each column is the mean of consecutive inferences. */
static void timeline(FILE *f, const bench_result *r)
{
  int n = r->n, group = n > 600 ? (n + 599) / 600 : 1, cols = (n + group - 1) / group;
  double top = 0;
  double (*v)[3] = calloc((size_t)(cols ? cols : 1), sizeof(*v));
  if (!v) return;
  for (int c = 0; c < cols; c++) {
    int m = 0;
    for (int i = c * group; i < n && i < (c + 1) * group; i++, m++) {
      v[c][0] += bench_h2d(&r->s[i]);
      v[c][1] += bench_compute(&r->s[i]);
      v[c][2] += bench_d2h(&r->s[i]);
    }
    for (int k = 0; k < 3; k++) v[c][k] /= m ? m : 1;
    double t = v[c][0] + v[c][1] + v[c][2];
    if (t > top) top = t;
  }
  if (!(top > 0)) top = 1;
  double pw = W - ML - MR, ph = H - MT - MB, cw = pw / (cols ? cols : 1);
  fprintf(f, "<svg id='timeline' class='chart' viewBox='0 0 %d %d' width='%d' height='%d' role='img'>", W, H, W, H);
  char xl[96];
  if (group > 1) snprintf(xl, sizeof(xl), "inference (each column: the mean of %d)", group);
  else snprintf(xl, sizeof(xl), "inference");
  axes(f, 0, n, 0, top, xl, "ms");
  static const char *const cls[3] = {"h2d", "compute", "d2h"};
  for (int c = 0; c < cols; c++) {
    double y = H - MB;
    for (int k = 0; k < 3; k++) {
      double h = ph * v[c][k] / top;
      if (h <= 0) continue;
      y -= h;
      fprintf(f, "<rect class='%s' x='%.2f' y='%.2f' width='%.2f' height='%.2f'><title>#%d %s %.4f ms</title></rect>",
              cls[k], ML + c * cw, y, cw > 1.5 ? cw - 0.5 : cw, h, c * group, cls[k], v[c][k]);
    }
  }
  fprintf(f, "</svg>\n");
  free(v);
}

static int by_total_desc(const void *a, const void *b)
{
  double x = ((const double *)a)[0], y = ((const double *)b)[0];
  return x > y ? -1 : x < y;
}

/* Horizontal bars of each layer's total profiled time, slowest first (40 at most). */
static void layers_chart(FILE *f, const bench_result *r)
{
  int n = r->n_layers, show = n < 40 ? n : 40;
  double (*t)[2] = calloc((size_t)(n ? n : 1), sizeof(*t)), all = 0;
  if (!t) return;
  for (int i = 0; i < n; i++) {
    double tot, mean, med;
    bench_layer_stats(&r->layers[i], &tot, &mean, &med);
    t[i][0] = tot;
    t[i][1] = i;
    all += tot;
  }
  qsort(t, (size_t)n, sizeof(*t), by_total_desc);
  int row = 18, left = 330, h = MT + row * show + 30;
  double top = n ? t[0][0] : 1, pw = W - left - 90;
  if (!(top > 0)) top = 1;
  fprintf(f, "<svg id='layers' class='chart' viewBox='0 0 %d %d' width='%d' height='%d' role='img'>", W, h, W, h);
  for (int k = 0; k < show; k++) {
    const bench_layer *L = &r->layers[(int)t[k][1]];
    double y = MT + k * row, w = pw * t[k][0] / top;
    char name[64];
    if (strlen(L->name) > 50) snprintf(name, sizeof(name), "%.47s...", L->name);
    else snprintf(name, sizeof(name), "%s", L->name);
    fprintf(f, "<text x='%d' y='%.1f' text-anchor='end'>", left - 6, y + 12);
    esc(f, name);
    fprintf(f, "</text><rect class='bar' x='%d' y='%.1f' width='%.2f' height='%d'><title>", left, y + 2, w, row - 4);
    esc(f, L->name);
    fprintf(f, " (%s, %s): %.4f ms over %d calls</title></rect>", L->op_type, L->kernel, t[k][0], L->calls);
    fprintf(f, "<text x='%.1f' y='%.1f'>%.1f%%</text>", left + w + 4, y + 12, all > 0 ? 100 * t[k][0] / all : 0.0);
  }
  fprintf(f, "<text x='%d' y='%d'>total %.4f ms per %d calls of each of %d layers%s</text>", left, MT + row * show + 18,
          all, n ? r->layers[0].calls : 0, n, n > show ? " (the 40 slowest shown)" : "");
  fprintf(f, "</svg>\n");
  free(t);
}

static void stats_row(FILE *f, const char *name, const bench_stats *s)
{
  fprintf(f, "<tr><th>%s</th><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td>", name, s->min, s->median, s->mean,
          s->max);
  for (int k = 0; k < s->n_pct; k++) fprintf(f, "<td>%.4f</td>", s->value[k]);
  fprintf(f, "</tr>\n");
}

int bench_report_html(const char *path, const bench_result *r, const bench_summary *sum)
{
  FILE *f = fopen(path, "w");
  if (!f) {
    cli_error("cannot write '%s'", path);
    return 1;
  }
  const bench_config *cfg = r->cfg;
  bool gpu = cfg->backend == ONYX_BACKEND_CUDA;
  fprintf(f, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>onyx bench: ");
  esc(f, r->model);
  fprintf(f, "</title>\n<style>\n"
             "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:960px}\n"
             "h1{font-size:20px}h2{font-size:16px;margin-top:28px}\n"
             "table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #ddd}\n"
             "th:first-child{text-align:left}.warn{color:#a40}\n"
             "svg.chart{font-size:11px;background:#fafafa;border:1px solid #eee}\n"
             ".axis{stroke:#444}.tick{stroke:#444}.grid{stroke:#e4e4e4}.bar{fill:#4a7fb5}\n"
             ".h2d{fill:#6baed6}.compute{fill:#31a354}.d2h{fill:#fd8d3c}\n"
             ".mark{stroke:#c00;stroke-dasharray:4 3}.marklabel{fill:#c00}\n"
             ".key span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}\n"
             "</style></head><body>\n<h1>onyx bench: ");
  esc(f, r->model);
  fprintf(f, "</h1>\n<p>");
  esc(f, r->device_name);
  fprintf(f, ", backend %s, precision %s, batch %d", gpu ? "cuda" : "cpu", r->precision, r->batch);
  if (gpu)
    fprintf(f, ", %d stream(s), CUDA graph %s, transfers %s", cfg->streams, cfg->graph ? "on" : "off",
            cfg->transfers ? "on" : "off");
  fprintf(f, ". %d timed inferences in %.3f s after %g ms of warm-up.</p>\n", r->n, r->walltime_ms / 1e3,
          cfg->warmup_ms);

  fprintf(f, "<h2>Performance summary</h2>\n<p>Throughput: <b>%.5g qps</b>, %.5g images/s. Total host walltime "
             "%.4f s, total %s compute time %.4f s.</p>\n<table id='summary'><tr><th>ms</th><th>min</th><th>median</th>"
             "<th>mean</th><th>max</th>",
          sum->qps, sum->images_per_s, r->walltime_ms / 1e3, gpu ? "GPU" : "CPU", sum->total_compute_ms / 1e3);
  for (int k = 0; k < sum->latency.n_pct; k++) fprintf(f, "<th>p%g</th>", sum->latency.pct[k]);
  fprintf(f, "</tr>\n");
  stats_row(f, "Latency", &sum->latency);
  if (gpu) {
    stats_row(f, "Enqueue Time", &sum->enqueue);
    if (cfg->transfers) stats_row(f, "H2D Latency", &sum->h2d);
    stats_row(f, "GPU Compute Time", &sum->compute);
    if (cfg->transfers) stats_row(f, "D2H Latency", &sum->d2h);
  } else {
    stats_row(f, "Compute Time", &sum->compute);
  }
  fprintf(f, "</table>\n<p>Compute time coefficient of variation: %.3g %%. Latency = H2D + compute + D2H; "
             "percentiles are nearest-rank.</p>\n", 100 * sum->compute.cov);
  bench_warning w[8];
  int nw = bench_warnings(r, sum, w, 8);
  if (nw) {
    fprintf(f, "<ul id='warnings'>\n");
    for (int i = 0; i < nw; i++) {
      fprintf(f, "<li class='warn'>");
      esc(f, w[i].text);
      fprintf(f, "</li>\n");
    }
    fprintf(f, "</ul>\n");
  }

  fprintf(f, "<h2>Cold start vs steady state</h2>\n<table id='cold'><tr><th>%s creation</th><td>%.3f ms</td></tr>\n",
          gpu ? "Context" : "Session", r->create_ms);
  for (int i = 0; i < r->n_cold; i++)
    fprintf(f, "<tr><th>Inference %d%s</th><td>%.3f ms</td></tr>\n", i + 1, i ? "" : " (first after creation)",
            r->cold_host_ms[i]);
  fprintf(f, "<tr><th>Steady-state median latency</th><td>%.3f ms</td></tr></table>\n", sum->latency.median);

  fprintf(f, "<h2>Latency histogram</h2>\n");
  histogram(f, r, sum);
  fprintf(f, "<h2>Per-inference timeline</h2>\n<p class='key'><span class='h2d' style='background:#6baed6'></span>H2D"
             "<span style='background:#31a354'></span>compute<span style='background:#fd8d3c'></span>D2H</p>\n");
  timeline(f, r);
  fprintf(f, "<h2>Per-layer time</h2>\n");
  if (r->n_layers && r->layers[0].calls)
    layers_chart(f, r);
  else
    fprintf(f, "<p id='layers-none'>No per-layer profile: %s.</p>\n",
            gpu ? "it is made with the report on the CUDA backend; this run had none"
                : "per-layer times come from the CUDA backend (--backend cuda)");
  fprintf(f, "<p><small>Made by onyx %s. Every number is defined in <code>onyx bench --explain</code>.</small></p>\n"
             "</body></html>\n",
          onyx_version_string());
  if (fclose(f) != 0) {
    cli_error("cannot write '%s'", path);
    return 1;
  }
  return 0;
}
