/* `onyx bench` on the GPU: one context per stream, each in its own host
 * thread (the first in the caller's), timed as trtexec times:
 *   - per inference, CUDA events around the H2D copies, the layers and the D2H
 *     copies, each on its own stream, ordered by cross-stream waits
 *     (onyx_context_enqueue_staged), and the host clock around the enqueue call;
 *   - two inferences in flight per stream: the host enqueues the next one while
 *     the GPU runs the previous one, and waits only for the older of the two;
 *   - the first BENCH_COLD inferences run one at a time (the cold start), then
 *     --warmup ms of inferences, all discarded; then the timed phase until both
 *     --iterations and --duration are met.
 * Event times are placed on the host clock through an event recorded on an idle
 * stream at the start of the timed phase. */
#include "tools/bench.h"

#if ONYX_HAVE_CUDA
#include <cuda_runtime_api.h>
#include <nvtx3/nvToolsExt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "tools/cli_util.h"

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

enum { EV_H2D_S, EV_H2D_E, EV_C_S, EV_C_E, EV_D2H_S, EV_D2H_E, EV_N };

typedef struct slot {
  cudaEvent_t ev[EV_N];
  double enq_start, enq_end;
  bool active, tr; /* in flight; with transfers */
} slot;

/* A barrier that can be called off (when a stream's thread cannot start). */
typedef struct barrier {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int count, waiting;
  bool off;
} barrier;

static void barrier_wait(barrier *b)
{
  pthread_mutex_lock(&b->mu);
  if (++b->waiting >= b->count) pthread_cond_broadcast(&b->cv);
  while (b->waiting < b->count && !b->off) pthread_cond_wait(&b->cv, &b->mu);
  pthread_mutex_unlock(&b->mu);
}

static void barrier_call_off(barrier *b)
{
  pthread_mutex_lock(&b->mu);
  b->off = true;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

typedef struct worker {
  const bench_config *cfg;
  onyx_engine *e;
  const bench_input *in;
  int n_in, index;
  onyx_context *c;
  cudaStream_t h2d, d2h, mark;
  cudaEvent_t zero;
  slot slots[2];
  double zero_host, start, end;
  bench_sample *s;
  int n, cap;
  double create_ms, cold_host[BENCH_COLD], cold_gpu[BENCH_COLD];
  barrier *barrier;
  int *failed;
  int rc;
  char err[512];
} worker;

static int fail(worker *w, const char *what)
{
  snprintf(w->err, sizeof(w->err), "stream %d: %s", w->index, what);
  w->rc = 1;
  return 1;
}

#define W_CUDA(w, call)                                                                          \
  do {                                                                                           \
    cudaError_t e_ = (call);                                                                     \
    if (e_ != cudaSuccess) {                                                                     \
      char m_[256];                                                                              \
      snprintf(m_, sizeof(m_), "%s: %s", #call, cudaGetErrorString(e_));                         \
      return fail(w, m_);                                                                        \
    }                                                                                            \
  } while (0)
#define W_ONYX(w, call)                                                                          \
  do {                                                                                           \
    if ((call) != ONYX_OK) return fail(w, onyx_last_error());                                    \
  } while (0)

static int worker_setup(worker *w)
{
  const bench_config *cfg = w->cfg;
  W_CUDA(w, cudaSetDevice(cfg->device)); /* the current device is per host thread */
  double t0 = now_ms();
  W_ONYX(w, onyx_context_create(w->e, &w->c));
  for (int i = 0; i < w->n_in; i++)
    W_ONYX(w, onyx_context_set_input_shape(w->c, w->in[i].name, w->in[i].ndim, w->in[i].dims));
  for (int i = 0; i < w->n_in; i++) {
    void *p;
    W_ONYX(w, onyx_context_host_buffer(w->c, w->in[i].name, &p));
    if (w->in[i].bytes) memcpy(p, w->in[i].data, w->in[i].bytes);
  }
  W_ONYX(w, onyx_context_use_graph(w->c, cfg->graph));
  w->create_ms = now_ms() - t0;
  W_CUDA(w, cudaStreamCreateWithFlags(&w->h2d, cudaStreamNonBlocking));
  W_CUDA(w, cudaStreamCreateWithFlags(&w->d2h, cudaStreamNonBlocking));
  W_CUDA(w, cudaStreamCreateWithFlags(&w->mark, cudaStreamNonBlocking));
  /* blocking-sync events put the waiting thread to sleep; --spin-wait polls instead */
  unsigned flags = cfg->spin_wait ? cudaEventDefault : cudaEventBlockingSync;
  W_CUDA(w, cudaEventCreateWithFlags(&w->zero, flags));
  for (int k = 0; k < 2; k++)
    for (int e = 0; e < EV_N; e++) W_CUDA(w, cudaEventCreateWithFlags(&w->slots[k].ev[e], flags));
  return 0;
}

static void worker_free(worker *w)
{
  for (int k = 0; k < 2; k++)
    for (int e = 0; e < EV_N; e++)
      if (w->slots[k].ev[e]) cudaEventDestroy(w->slots[k].ev[e]);
  if (w->zero) cudaEventDestroy(w->zero);
  if (w->h2d) cudaStreamDestroy(w->h2d);
  if (w->d2h) cudaStreamDestroy(w->d2h);
  if (w->mark) cudaStreamDestroy(w->mark);
  onyx_context_free(w->c);
  free(w->s);
}

static int wait_event(worker *w, cudaEvent_t ev)
{
  if (!w->cfg->spin_wait) {
    W_CUDA(w, cudaEventSynchronize(ev));
    return 0;
  }
  cudaError_t err;
  while ((err = cudaEventQuery(ev)) == cudaErrorNotReady) {
  }
  W_CUDA(w, err);
  return 0;
}

/* tr: with the H2D and D2H stages (the cold start always copies, so that the
 * inputs are on the device even with --no-transfers). */
static int enqueue(worker *w, slot *sl, bool tr)
{
  onyx_stage_events ev = {tr ? sl->ev[EV_H2D_S] : NULL, tr ? sl->ev[EV_H2D_E] : NULL, sl->ev[EV_C_S],
                          sl->ev[EV_C_E],       tr ? sl->ev[EV_D2H_S] : NULL, tr ? sl->ev[EV_D2H_E] : NULL};
  sl->enq_start = now_ms();
  nvtxRangePushA("onyx enqueue");
  onyx_status st = onyx_context_enqueue_staged(w->c, tr ? w->h2d : NULL, NULL, tr ? w->d2h : NULL, &ev);
  nvtxRangePop();
  sl->enq_end = now_ms();
  if (st != ONYX_OK) return fail(w, onyx_last_error());
  sl->active = true;
  sl->tr = tr;
  return 0;
}

static int elapsed(worker *w, cudaEvent_t a, cudaEvent_t b, double *ms)
{
  float x;
  W_CUDA(w, cudaEventElapsedTime(&x, a, b));
  *ms = x;
  return 0;
}

/* Waits for the slot's inference; fills *s (host timeline) unless s is NULL. */
static int complete(worker *w, slot *sl, bench_sample *s)
{
  bool tr = sl->tr;
  cudaEvent_t *ev = sl->ev;
  if (wait_event(w, ev[tr ? EV_D2H_E : EV_C_E])) return 1;
  sl->active = false;
  if (!s) return 0;
  double c0, cd, h0 = 0, hd = 0, d0 = 0, dd = 0;
  if (elapsed(w, w->zero, ev[EV_C_S], &c0) || elapsed(w, ev[EV_C_S], ev[EV_C_E], &cd)) return 1;
  if (tr && (elapsed(w, w->zero, ev[EV_H2D_S], &h0) || elapsed(w, ev[EV_H2D_S], ev[EV_H2D_E], &hd) ||
             elapsed(w, w->zero, ev[EV_D2H_S], &d0) || elapsed(w, ev[EV_D2H_S], ev[EV_D2H_E], &dd)))
    return 1;
  s->stream = w->index;
  s->enq_start = sl->enq_start;
  s->enq_end = sl->enq_end;
  s->compute_start = w->zero_host + c0;
  s->compute_end = s->compute_start + cd; /* durations straight from their events: no float timeline rounding */
  s->h2d_start = tr ? w->zero_host + h0 : s->compute_start;
  s->h2d_end = s->h2d_start + hd;
  s->d2h_start = tr ? w->zero_host + d0 : s->compute_end;
  s->d2h_end = s->d2h_start + dd;
  return 0;
}

/* The stage times of one finished inference, for the cold start. */
static int stage_sum(worker *w, slot *sl, double *ms)
{
  double c, h = 0, d = 0;
  if (elapsed(w, sl->ev[EV_C_S], sl->ev[EV_C_E], &c)) return 1;
  if (sl->tr &&
      (elapsed(w, sl->ev[EV_H2D_S], sl->ev[EV_H2D_E], &h) || elapsed(w, sl->ev[EV_D2H_S], sl->ev[EV_D2H_E], &d)))
    return 1;
  *ms = h + c + d;
  return 0;
}

static int push_sample(worker *w, const bench_sample *s)
{
  if (w->n == w->cap) {
    int cap = w->cap ? 2 * w->cap : 4096;
    bench_sample *p = realloc(w->s, (size_t)cap * sizeof(*p));
    if (!p) return fail(w, "out of memory");
    w->s = p;
    w->cap = cap;
  }
  w->s[w->n++] = *s;
  return 0;
}

/* Two in flight: enqueue into slot i % 2 after completing what it held.
 * *count gets the number of inferences run. */
static int pipeline(worker *w, double until_ms, int min_count, bool keep, int *count)
{
  int i = 0;
  double t0 = now_ms();
  for (;; i++) {
    slot *sl = &w->slots[i % 2];
    if (sl->active) {
      bench_sample s;
      if (complete(w, sl, keep ? &s : NULL)) return 1;
      if (keep && push_sample(w, &s)) return 1;
    }
    if (i >= min_count && now_ms() - t0 >= until_ms) break;
    if (enqueue(w, sl, w->cfg->transfers)) return 1;
  }
  *count = i;
  for (int k = 0; k < 2; k++) { /* the older one first */
    slot *sl = &w->slots[(i + k) % 2];
    if (!sl->active) continue;
    bench_sample s;
    if (complete(w, sl, keep ? &s : NULL)) return 1;
    if (keep && push_sample(w, &s)) return 1;
  }
  return 0;
}

static void *worker_main(void *arg)
{
  worker *w = arg;
  const bench_config *cfg = w->cfg;
  int rc = worker_setup(w);
  for (int k = 0; !rc && k < BENCH_COLD; k++) { /* cold start: one at a time */
    double t0 = now_ms();
    rc = enqueue(w, &w->slots[0], true);
    if (!rc) rc = complete(w, &w->slots[0], NULL);
    w->cold_host[k] = now_ms() - t0;
    if (!rc) rc = stage_sum(w, &w->slots[0], &w->cold_gpu[k]);
  }
  int warm = 0;
  if (!rc) {
    nvtxRangePushA("onyx bench warm-up");
    double t0 = now_ms();
    rc = pipeline(w, cfg->warmup_ms, 0, false, &warm);
    nvtxRangePop();
    /* room for the timed samples, estimated from the warm-up's rate, so that
     * the timed loop rarely has to grow the array */
    double el = now_ms() - t0, want = cfg->iterations;
    if (warm && el > 0) want += 1.25 * warm / el * cfg->duration_s * 1e3;
    if (!rc && want < 1e8) {
      w->cap = (int)want + 64;
      if (!(w->s = malloc((size_t)w->cap * sizeof(*w->s)))) rc = fail(w, "out of memory");
    }
  }
  if (rc) __atomic_store_n(w->failed, 1, __ATOMIC_SEQ_CST);
  if (w->barrier) barrier_wait(w->barrier); /* every stream starts timing together */
  if (rc || __atomic_load_n(w->failed, __ATOMIC_SEQ_CST)) return NULL;
  /* the zero event, on an idle stream: its GPU time is the host time it was recorded at */
  double a = now_ms();
  cudaError_t err = cudaEventRecord(w->zero, w->mark);
  if (err == cudaSuccess) err = cudaEventSynchronize(w->zero);
  double b = now_ms();
  if (err != cudaSuccess) {
    fail(w, cudaGetErrorString(err));
    return NULL;
  }
  w->zero_host = 0.5 * (a + b);
  w->start = b;
  nvtxRangePushA("onyx bench timed");
  int timed;
  rc = pipeline(w, cfg->duration_s * 1e3, cfg->iterations, true, &timed);
  nvtxRangePop();
  w->end = now_ms();
  return NULL;
}

int bench_gpu_select_device(int device, char *name, size_t cap)
{
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    cli_error("no CUDA GPU is available (%s); --backend cpu benchmarks the CPU",
              err != cudaSuccess ? cudaGetErrorString(err) : "none found");
    return 1;
  }
  if (device >= count) {
    cli_error("--device %d: this machine has %d CUDA device%s (0..%d)", device, count, count > 1 ? "s" : "", count - 1);
    return 1;
  }
  struct cudaDeviceProp prop;
  if ((err = cudaSetDevice(device)) != cudaSuccess || (err = cudaGetDeviceProperties(&prop, device)) != cudaSuccess) {
    cli_error("cannot use CUDA device %d: %s", device, cudaGetErrorString(err));
    return 1;
  }
  snprintf(name, cap, "%s (device %d)", prop.name, device);
  return 0;
}

static char *dup_str(const char *s) { return strdup(s ? s : ""); }

/* Layer descriptions (and, when iters > 0, the raw profile) from stream 0's context. */
static int collect_layers(onyx_context *c, int iters, bench_result *r)
{
  int n;
  if (onyx_context_num_layers(c, &n) != ONYX_OK) goto err;
  if (!(r->layers = calloc((size_t)(n ? n : 1), sizeof(*r->layers)))) goto oom;
  r->n_layers = n;
  float *ms = NULL;
  if (iters > 0) {
    size_t cap = (size_t)n * (size_t)iters;
    int nl;
    if (!(ms = malloc((cap ? cap : 1) * sizeof(*ms)))) goto oom;
    nvtxRangePushA("onyx bench profile");
    onyx_status st = onyx_context_profile_times(c, iters, ms, cap, &nl);
    nvtxRangePop();
    if (st != ONYX_OK) {
      free(ms);
      goto err;
    }
  }
  for (int i = 0; i < n; i++) {
    bench_layer *L = &r->layers[i];
    onyx_layer_info li;
    int ni, no;
    if (onyx_context_layer(c, i, &li, &ni, &no) != ONYX_OK) goto err_ms;
    L->name = dup_str(li.name);
    L->op_type = dup_str(li.op_type);
    L->kernel = dup_str(li.kernel);
    L->precision = dup_str(li.precision);
    L->tactic = li.tactic;
    L->in = calloc((size_t)ni + 1, sizeof(*L->in));
    L->out = calloc((size_t)no + 1, sizeof(*L->out));
    if (!L->name || !L->op_type || !L->kernel || !L->precision || !L->in || !L->out) goto oom_ms;
    for (int io = 0; io < 2; io++)
      for (int k = 0; k < (io ? no : ni); k++) {
        onyx_layer_tensor t;
        bench_tensor *bt = io ? &L->out[k] : &L->in[k];
        if (onyx_context_layer_tensor(c, i, io, k, &t) != ONYX_OK) goto err_ms;
        if (!(bt->name = dup_str(t.name))) goto oom_ms;
        *(io ? &L->n_out : &L->n_in) += 1;
        bt->dtype = t.dtype;
        bt->ndim = t.ndim;
        memcpy(bt->dims, t.dims, sizeof(bt->dims));
        snprintf(bt->format, sizeof(bt->format), "%s", t.format);
        bt->is_const = t.is_const;
      }
    if (iters > 0) {
      if (!(L->ms = malloc((size_t)iters * sizeof(*L->ms)))) goto oom_ms;
      for (int k = 0; k < iters; k++) L->ms[k] = ms[(size_t)i * (size_t)iters + (size_t)k];
      L->calls = iters;
    }
  }
  free(ms);
  return 0;
oom_ms:
  free(ms);
oom:
  cli_error("out of memory");
  return 1;
err_ms:
  free(ms);
err:
  cli_error("%s", onyx_last_error());
  return 1;
}

/* One plain enqueue, then the outputs as the engine returns them. */
static int collect_outputs(onyx_engine *e, onyx_context *c, bench_result *r)
{
  if (onyx_context_enqueue(c, NULL) != ONYX_OK || onyx_context_synchronize(c) != ONYX_OK) goto err;
  int n = onyx_engine_num_outputs(e);
  onyx_tensor_info ti;
  if (!(r->outputs = calloc((size_t)(n ? n : 1), sizeof(*r->outputs)))) goto oom;
  for (int i = 0; i < n; i++) {
    bench_output *o = &r->outputs[r->n_outputs];
    void *p;
    if (onyx_context_output(c, i, &ti) != ONYX_OK || onyx_context_host_buffer(c, ti.name, &p) != ONYX_OK) goto err;
    size_t bytes = (size_t)onyx_numel(ti.ndim, ti.dims) * onyx_dtype_size(ti.dtype);
    o->name = strdup(ti.name);
    o->data = malloc(bytes ? bytes : 1);
    r->n_outputs++;
    if (!o->name || !o->data) goto oom;
    memcpy(o->data, p, bytes);
    o->dtype = ti.dtype;
    o->ndim = ti.ndim;
    memcpy(o->dims, ti.dims, sizeof(o->dims));
  }
  return 0;
oom:
  cli_error("out of memory");
  return 1;
err:
  cli_error("%s", onyx_last_error());
  return 1;
}

static int by_time(const void *a, const void *b)
{
  const bench_sample *x = a, *y = b;
  return x->d2h_end < y->d2h_end ? -1 : x->d2h_end > y->d2h_end;
}

int bench_gpu_run(const bench_config *cfg, onyx_engine *e, const bench_input *in, int n_in, bool want_outputs,
                  bool want_layers, bench_result *r)
{
  int ns = cfg->streams, failed = 0, rc = 1;
  worker *w = calloc((size_t)ns, sizeof(*w));
  pthread_t *th = calloc((size_t)ns, sizeof(*th));
  bool *started = calloc((size_t)ns, sizeof(*started));
  barrier bar = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, ns, 0, false};
  if (!w || !th || !started) {
    cli_error("out of memory");
    goto out;
  }
  for (int k = 0; k < ns; k++)
    w[k] = (worker){.cfg = cfg, .e = e, .in = in, .n_in = n_in, .index = k, .failed = &failed,
                    .barrier = ns > 1 ? &bar : NULL};
  for (int k = 1; k < ns; k++) {
    if (pthread_create(&th[k], NULL, worker_main, &w[k]) != 0) {
      cli_error("cannot start the thread of stream %d", k);
      __atomic_store_n(&failed, 1, __ATOMIC_SEQ_CST);
      barrier_call_off(&bar); /* it counts on ns threads */
      for (int j = 1; j < k; j++) pthread_join(th[j], NULL);
      goto out_free_workers;
    }
    started[k] = true;
  }
  worker_main(&w[0]);
  for (int k = 1; k < ns; k++)
    if (started[k]) pthread_join(th[k], NULL);
  for (int k = 0; k < ns; k++)
    if (w[k].rc) {
      cli_error("%s", w[k].err);
      goto out_free_workers;
    }
  /* one timeline: ms since the earliest stream's start */
  double t0 = w[0].start, end = w[0].end;
  int total = 0;
  for (int k = 0; k < ns; k++) {
    if (w[k].start < t0) t0 = w[k].start;
    if (w[k].end > end) end = w[k].end;
    total += w[k].n;
  }
  if (!(r->s = malloc((size_t)(total ? total : 1) * sizeof(*r->s)))) {
    cli_error("out of memory");
    goto out_free_workers;
  }
  for (int k = 0; k < ns; k++)
    for (int i = 0; i < w[k].n; i++) {
      bench_sample s = w[k].s[i];
      double *f[] = {&s.enq_start, &s.enq_end, &s.h2d_start, &s.h2d_end, &s.compute_start, &s.compute_end,
                     &s.d2h_start, &s.d2h_end};
      for (size_t j = 0; j < sizeof(f) / sizeof(f[0]); j++) *f[j] -= t0;
      r->s[r->n++] = s;
    }
  if (ns > 1) qsort(r->s, (size_t)r->n, sizeof(*r->s), by_time);
  r->walltime_ms = end - t0;
  r->create_ms = w[0].create_ms;
  r->n_cold = BENCH_COLD;
  memcpy(r->cold_host_ms, w[0].cold_host, sizeof(r->cold_host_ms));
  memcpy(r->cold_gpu_ms, w[0].cold_gpu, sizeof(r->cold_gpu_ms));
  if ((cfg->profile || want_layers) && collect_layers(w[0].c, cfg->profile ? cfg->profile_iters : 0, r))
    goto out_free_workers;
  if (want_outputs && collect_outputs(e, w[0].c, r)) goto out_free_workers;
  rc = 0;
out_free_workers:
  for (int k = 0; k < ns; k++) worker_free(&w[k]);
out:
  free(w);
  free(th);
  free(started);
  return rc;
}

#else /* built without CUDA: the GPU path refuses */
#include "tools/cli_util.h"

int bench_gpu_select_device(int device, char *name, size_t cap)
{
  cli_error("this onyx was built without CUDA: only --backend cpu can be benchmarked");
  return 1;
}

int bench_gpu_run(const bench_config *cfg, onyx_engine *e, const bench_input *in, int n_in, bool want_outputs,
                  bool want_layers, bench_result *r)
{
  cli_error("this onyx was built without CUDA");
  return 1;
}
#endif
