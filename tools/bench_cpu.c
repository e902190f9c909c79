/* `onyx bench --backend cpu`: the same phases through an onyx_session, timed
 * with the host clock around each onyx_session_run (synchronous: that is the
 * compute time and the latency; there are no copies). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "tools/bench.h"
#include "tools/cli_util.h"

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int grow(bench_result *r, int *cap)
{
  if (r->n < *cap) return 0;
  int c = *cap ? 2 * *cap : 1024;
  bench_sample *p = realloc(r->s, (size_t)c * sizeof(*p));
  if (!p) return -1;
  r->s = p;
  *cap = c;
  return 0;
}

static int collect_outputs(const onyx_model *m, onyx_session *s, bench_result *r)
{
  int n = onyx_model_num_outputs(m);
  if (!(r->outputs = calloc((size_t)(n ? n : 1), sizeof(*r->outputs)))) return -1;
  for (int i = 0; i < n; i++) {
    onyx_tensor_info ti;
    const void *data;
    if (onyx_session_output(s, i, &ti, &data) != ONYX_OK) return 1;
    bench_output *o = &r->outputs[r->n_outputs++];
    size_t bytes = (size_t)onyx_numel(ti.ndim, ti.dims) * onyx_dtype_size(ti.dtype);
    o->name = strdup(ti.name);
    o->data = malloc(bytes ? bytes : 1);
    if (!o->name || !o->data) return -1;
    if (bytes) memcpy(o->data, data, bytes);
    o->dtype = ti.dtype;
    o->ndim = ti.ndim;
    memcpy(o->dims, ti.dims, sizeof(o->dims));
  }
  return 0;
}

int bench_cpu_run(const bench_config *cfg, const onyx_model *m, int opt_level, const bench_input *in, int n_in,
                  bool want_outputs, bench_result *r)
{
  onyx_session *s = NULL;
  onyx_session_options o;
  onyx_session_options_init(&o);
  o.backend = ONYX_BACKEND_CPU;
  o.opt_level = opt_level;
  int rc = 1, cap = 0;
  double t0 = now_ms();
  if (onyx_session_create(m, &o, &s) != ONYX_OK) goto err;
  for (int i = 0; i < n_in; i++)
    if (onyx_session_set_input(s, in[i].name, in[i].dtype, in[i].ndim, in[i].dims, in[i].data ? in[i].data : "") !=
        ONYX_OK)
      goto err;
  if (onyx_session_prepare(s) != ONYX_OK) goto err;
  r->create_ms = now_ms() - t0;
  r->n_cold = BENCH_COLD;
  for (int k = 0; k < BENCH_COLD; k++) { /* cold start: the first runs after the session is ready */
    double a = now_ms();
    if (onyx_session_run(s) != ONYX_OK) goto err;
    r->cold_host_ms[k] = r->cold_gpu_ms[k] = now_ms() - a;
  }
  double w0 = now_ms();
  while (now_ms() - w0 < cfg->warmup_ms)
    if (onyx_session_run(s) != ONYX_OK) goto err;
  double start = now_ms(), end = start;
  while (r->n < cfg->iterations || end - start < cfg->duration_s * 1e3) {
    if (grow(r, &cap)) goto oom;
    double a = now_ms();
    if (onyx_session_run(s) != ONYX_OK) goto err;
    end = now_ms();
    a -= start;
    double b = end - start;
    r->s[r->n++] = (bench_sample){.stream = 0, .enq_start = a, .enq_end = b, .h2d_start = a, .h2d_end = a,
                                  .compute_start = a, .compute_end = b, .d2h_start = b, .d2h_end = b};
  }
  r->walltime_ms = end - start;
  if (want_outputs) {
    int orc = collect_outputs(m, s, r);
    if (orc < 0) goto oom;
    if (orc) goto err;
  }
  rc = 0;
  goto out;
oom:
  cli_error("out of memory");
  goto out;
err:
  cli_error("%s", onyx_last_error());
out:
  onyx_session_free(s);
  return rc;
}
