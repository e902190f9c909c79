/* Statistics of `onyx bench` (formulas in `onyx bench --explain` and README):
 *   median        middle value of the sorted samples; mean of the two middle ones for an even count
 *   percentile(p) nearest rank: the ceil(p/100 * n)-th smallest sample (1-based); p = 0 gives the minimum
 *   CoV           population standard deviation / mean: sqrt(sum((x - mean)^2) / n) / mean */
#ifndef ONYX_TOOLS_BENCH_STATS_H
#define ONYX_TOOLS_BENCH_STATS_H

#define BENCH_MAX_PCT 16

typedef struct bench_stats {
  int n;
  double min, max, mean, median, sum;
  double stddev; /* population */
  double cov;    /* stddev / mean (0 when the mean is 0) */
  int n_pct;
  double pct[BENCH_MAX_PCT];   /* the percentiles asked for */
  double value[BENCH_MAX_PCT]; /* their values */
} bench_stats;

/* Nearest-rank percentile of sorted[0..n) (n >= 1, 0 <= p <= 100). */
double bench_percentile(const double *sorted, int n, double p);
/* Statistics of x[0..n) (not modified); n may be 0 (all fields 0).  Returns 0, or -1 if out of memory. */
int bench_stats_compute(const double *x, int n, const double *pcts, int n_pcts, bench_stats *out);
/* Parses "90,95,99" (each 0..100, at most BENCH_MAX_PCT): count, or -1 if malformed. */
int bench_parse_percentiles(const char *s, double *out);

#endif
