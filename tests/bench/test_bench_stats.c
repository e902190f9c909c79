/* onyx bench's statistics against hand-computed values: nearest-rank
 * percentiles, median, population standard deviation and CoV, the summary
 * (latency = H2D + compute + D2H, throughput = inferences x batch / walltime)
 * and the warnings' thresholds. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "tools/bench.h"

#define NEAR(a, b) (fabs((double)(a) - (double)(b)) <= 1e-9 * (1 + fabs((double)(b))))

static bool has_warning(const bench_result *r, const char *kind)
{
  bench_summary s;
  bench_warning w[8];
  if (bench_summarise(r, &s)) return false;
  int n = bench_warnings(r, &s, w, 8);
  for (int i = 0; i < n; i++)
    if (!strcmp(w[i].kind, kind)) return true;
  return false;
}

static void test_stats(void)
{
  const double odd[] = {5, 1, 4, 2, 3};
  const double p[] = {0, 20, 40, 41, 50, 90, 100};
  bench_stats s;
  CHECK(bench_stats_compute(odd, 5, p, 7, &s) == 0);
  CHECK(s.n == 5 && s.min == 1 && s.max == 5 && s.sum == 15 && s.mean == 3 && s.median == 3);
  CHECK(NEAR(s.stddev, sqrt(2.0)));   /* (4 + 1 + 0 + 1 + 4) / 5 = 2 */
  CHECK(NEAR(s.cov, sqrt(2.0) / 3));
  /* rank = ceil(p/100 * 5): 0 -> 1 (min), 20 -> 1, 40 -> 2, 41 -> 3, 50 -> 3, 90 -> 5, 100 -> 5 */
  CHECK(s.value[0] == 1 && s.value[1] == 1 && s.value[2] == 2 && s.value[3] == 3 && s.value[4] == 3 &&
        s.value[5] == 5 && s.value[6] == 5);
  CHECK(odd[0] == 5); /* the input is not sorted in place */

  const double even[] = {40, 10, 30, 20};
  const double q[] = {25, 50, 75, 99};
  CHECK(bench_stats_compute(even, 4, q, 4, &s) == 0);
  CHECK(s.median == 25); /* the mean of the two middle values */
  CHECK(s.value[0] == 10 && s.value[1] == 20 && s.value[2] == 30 && s.value[3] == 40);
  CHECK(NEAR(s.stddev, sqrt(125.0)) && NEAR(s.cov, sqrt(125.0) / 25));

  double *big = malloc(1000 * sizeof(*big));
  for (int i = 0; i < 1000; i++) big[i] = 1000 - i; /* 1..1000, reversed */
  const double r[] = {90, 99, 99.9, 0.1};
  CHECK(bench_stats_compute(big, 1000, r, 4, &s) == 0);
  /* 99.9 % of 1000 is exactly 999: rank 999, not 1000 (no floating-point push-up) */
  CHECK(s.value[0] == 900 && s.value[1] == 990 && s.value[2] == 999 && s.value[3] == 1);
  CHECK(s.median == 500.5);
  free(big);

  CHECK(bench_stats_compute(NULL, 0, q, 4, &s) == 0 && s.n == 0 && s.mean == 0 && s.cov == 0);
  const double zero[] = {0, 0};
  CHECK(bench_stats_compute(zero, 2, NULL, 0, &s) == 0 && s.cov == 0); /* no division by a zero mean */
}

static void test_parse(void)
{
  double p[BENCH_MAX_PCT];
  CHECK(bench_parse_percentiles("90,95,99", p) == 3 && p[0] == 90 && p[1] == 95 && p[2] == 99);
  CHECK(bench_parse_percentiles("0,100,99.9", p) == 3 && p[2] == 99.9);
  const char *bad[] = {"", "90,", ",90", "101", "-1", "abc", "50,nan", "90;95", "9 0", "1e3",
                       "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int n = bench_parse_percentiles(bad[i], p);
    CHECK(n == -1);
    if (n != -1) fprintf(stderr, "  accepted '%s'\n", bad[i]);
  }
}

static bench_sample sample(double t, double h2d, double comp, double d2h, double enq)
{
  return (bench_sample){.enq_start = t, .enq_end = t + enq, .h2d_start = t, .h2d_end = t + h2d,
                        .compute_start = t + h2d, .compute_end = t + h2d + comp,
                        .d2h_start = t + h2d + comp, .d2h_end = t + h2d + comp + d2h};
}

static void test_summary(void)
{
  bench_config cfg = {.backend = ONYX_BACKEND_CUDA, .streams = 1, .graph = true, .transfers = true, .n_pct = 1,
                      .pct = {50}};
  bench_sample s[4];
  for (int i = 0; i < 4; i++) s[i] = sample(i * 0.5, 0.1, 1.0 + 0.25 * i, 0.2, 0.05);
  bench_result r = {.cfg = &cfg, .s = s, .n = 4, .walltime_ms = 2.0, .batch = 8};
  bench_summary sum;
  CHECK(bench_summarise(&r, &sum) == 0);
  CHECK(NEAR(sum.qps, 2000) && NEAR(sum.images_per_s, 16000)); /* 4 / 2 ms; x batch 8 */
  /* latency = 0.1 + compute + 0.2: 1.3, 1.55, 1.8, 2.05 */
  CHECK(NEAR(sum.latency.min, 1.3) && NEAR(sum.latency.max, 2.05) && NEAR(sum.latency.mean, 1.675));
  CHECK(NEAR(sum.latency.median, 1.675) && NEAR(sum.latency.value[0], 1.55));
  CHECK(NEAR(sum.total_compute_ms, 1.0 + 1.25 + 1.5 + 1.75));
  CHECK(NEAR(sum.h2d.mean, 0.1) && NEAR(sum.d2h.max, 0.2) && NEAR(sum.enqueue.median, 0.05));

  /* warnings at their thresholds */
  for (int i = 0; i < 4; i++) s[i] = sample(i, 0.1, 1.0, 0.1, 0.8);
  CHECK(!has_warning(&r, "enqueue-bound")); /* 0.8 is not over 0.8 x 1.0 */
  CHECK(!has_warning(&r, "unstable") && !has_warning(&r, "transfer-bound") && !has_warning(&r, "streams-latency"));
  for (int i = 0; i < 4; i++) s[i] = sample(i, 0.1, 1.0, 0.1, 0.81);
  CHECK(has_warning(&r, "enqueue-bound"));
  for (int i = 0; i < 4; i++) s[i] = sample(i, 1.0, 1.0, 0.1, 0.1);
  CHECK(has_warning(&r, "transfer-bound")); /* H2D >= compute */
  for (int i = 0; i < 4; i++) s[i] = sample(i, 0.1, 1.0, 1.0, 0.1);
  CHECK(has_warning(&r, "transfer-bound")); /* D2H >= compute */
  cfg.transfers = false;
  CHECK(!has_warning(&r, "transfer-bound"));
  /* compute 0.95, 1.05 (x2 each): CoV = 0.05 / 1 = 5 %; 0.98, 1.02: 2 % */
  for (int i = 0; i < 4; i++) s[i] = sample(i, 0.1, i % 2 ? 1.05 : 0.95, 0.1, 0.1);
  CHECK(has_warning(&r, "unstable"));
  for (int i = 0; i < 4; i++) s[i] = sample(i, 0.1, i % 2 ? 1.02 : 0.98, 0.1, 0.1);
  CHECK(!has_warning(&r, "unstable"));
  cfg.streams = 2;
  CHECK(has_warning(&r, "streams-latency"));
  cfg.backend = ONYX_BACKEND_CPU; /* no enqueue/transfer warnings on the CPU */
  for (int i = 0; i < 4; i++) s[i] = sample(i, 1.0, 1.0, 1.0, 2.0);
  CHECK(!has_warning(&r, "enqueue-bound") && !has_warning(&r, "transfer-bound"));
}

int main(int argc, char **argv)
{
  test_stats();
  test_parse();
  test_summary();
  return check_summary(argv[0]);
}
