#include "tools/bench_stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double bench_percentile(const double *sorted, int n, double p)
{
  /* rank = ceil(p/100 * n), computed so that p*n/100 landing on an integer is not pushed up by rounding */
  double exact = p * (double)n / 100.0;
  long rank = (long)ceil(exact - 1e-9 * (double)n);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return sorted[rank - 1];
}

int bench_stats_compute(const double *x, int n, const double *pcts, int n_pcts, bench_stats *out)
{
  memset(out, 0, sizeof(*out));
  if (n_pcts > BENCH_MAX_PCT) n_pcts = BENCH_MAX_PCT;
  out->n_pct = n_pcts;
  for (int k = 0; k < n_pcts; k++) out->pct[k] = pcts[k];
  if (n <= 0) return 0;
  double *s = malloc((size_t)n * sizeof(*s));
  if (!s) return -1;
  memcpy(s, x, (size_t)n * sizeof(*s));
  qsort(s, (size_t)n, sizeof(*s), cmp_double);
  out->n = n;
  out->min = s[0];
  out->max = s[n - 1];
  for (int i = 0; i < n; i++) out->sum += s[i];
  out->mean = out->sum / n;
  out->median = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
  double var = 0;
  for (int i = 0; i < n; i++) var += (s[i] - out->mean) * (s[i] - out->mean);
  out->stddev = sqrt(var / n);
  out->cov = out->mean != 0 ? out->stddev / out->mean : 0;
  for (int k = 0; k < n_pcts; k++) out->value[k] = bench_percentile(s, n, pcts[k]);
  free(s);
  return 0;
}

int bench_parse_percentiles(const char *s, double *out)
{
  int n = 0;
  const char *p = s;
  if (!*p) return -1;
  for (;;) {
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    if (end == p || errno || !(v >= 0 && v <= 100) || n >= BENCH_MAX_PCT) return -1;
    out[n++] = v;
    if (*end == '\0') return n;
    if (*end != ',' || !end[1]) return -1;
    p = end + 1;
  }
}
