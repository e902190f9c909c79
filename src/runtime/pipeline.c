/* The image pipeline (onyx_pipeline_* in onyx.h) and its CPU backend.
 *
 * Jobs (one per submitted image) form a list in submission order.  Decoding
 * workers take queued jobs and decode them, at most `decode_limit` images
 * ahead of the model so that memory stays bounded.  One batching thread takes
 * consecutive decoded jobs (a job that failed to decode is finished on the
 * spot), up to max_batch, or fewer when a flush covers them; preprocesses them
 * into the backend's input, runs the backend and post-processes each image,
 * while the workers decode the next ones.  The caller takes finished jobs from
 * the front of the list, so results come in submission order.  A caller that
 * waits for a result whose batch is ready and finds the batching thread idle
 * runs that batch itself (p->running says a batch is being run, by either): at
 * batch 1 this saves waking the batching thread and being woken by it.  One mutex
 * guards the list; one condition variable (broadcast) signals every change.
 * Job structs, with their result arrays, are recycled: nothing is allocated
 * per image but the path/bytes copy and the decoded pixels. */
#include "runtime/pipeline.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define PL_MAX_THREADS 64
#define PL_ERR_LEN 512

typedef enum job_state { JOB_QUEUED, JOB_DECODING, JOB_DECODED, JOB_RUNNING, JOB_DONE } job_state;

typedef struct job {
  struct job *next;
  uint64_t seq;
  void *tag;
  char *path;  /* a file, or NULL and: */
  void *bytes; /* a copy of the encoded image */
  size_t size;
  job_state state;
  image_rgb im;
  int w, h; /* of the decoded image (im is freed after preprocessing unless kept) */
  unsigned char *rgb; /* a frame buffer or submit_rgb's copy (backend host memory; im.px points here), */
  size_t rgb_cap;     /* kept when the job is recycled */
  onyx_status status;
  char err[PL_ERR_LEN];
  onyx_stage_times t;
  int batch;
  /* results, allocated with the job struct and kept when it is recycled */
  det_box *dets; /* max_det */
  onyx_detection *out_dets;
  onyx_class_prob *cls; /* topk */
  int n_dets, n_cls, softmax;
} job;

struct onyx_pipeline {
  onyx_pipeline_options o;
  pl_backend *be;
  pl_post post;
  prep_fit fit;
  float mean[3], inv_std[3], std[3];
  int n_classes; /* reported: detect without background; classify the scores per image */
  /* post-processing scratch, batching thread only */
  det_box *cand, *scratch;
  double *prob;
  prep_plan *plans; /* max_batch */
  bool *ok;
  job **batch;      /* the batch being collected or run (by whoever set running) */
  /* the list and its state, under mu */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  job *head, *tail; /* submission order; head is the next result */
  job *free_jobs;   /* recycled */
  job *taken;       /* the last result handed out, recycled at the next call */
  job *frames;      /* handed out by onyx_pipeline_frame_buffer, not submitted yet (caller's thread only) */
  job *queued;      /* the first job no worker has taken (all after it are queued too) */
  uint64_t next_seq, flush_seq; /* jobs with seq < flush_seq may run in a partial batch */
  int n_live, decode_limit;     /* images decoding or decoded and not yet preprocessed */
  int n_pending;                /* jobs submitted and not yet handed out */
  bool running;                 /* a batch is being run (by the batching thread or a waiting caller) */
  bool stop;
  int n_threads;
  pthread_t threads[PL_MAX_THREADS], batcher;
  bool batcher_started;
};

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void job_set_error(job *j, onyx_status st, const char *msg)
{
  j->status = st == ONYX_OK ? ONYX_ERR_INTERNAL : st;
  snprintf(j->err, sizeof(j->err), "%s", msg && *msg ? msg : onyx_status_name(j->status));
}

/* Memory for submitted pixels: the backend's (pinned on the GPU) or the heap. */
static void *rgb_alloc(pl_backend *be, size_t bytes)
{
  return be->host_alloc ? be->host_alloc(be, bytes) : onyx_malloc(bytes);
}

static void rgb_free(pl_backend *be, void *ptr)
{
  if (be->host_free) be->host_free(be, ptr);
  else free(ptr);
}

/* The job's pixels are no longer needed: a decoded image is freed; submitted pixels stay in j->rgb. */
static void job_drop_pixels(job *j)
{
  if (j->im.px == j->rgb) memset(&j->im, 0, sizeof(j->im));
  else image_free(&j->im);
}

/* ---- decoding workers ------------------------------------------------------ */

/* Workers take jobs in submission order: the first queued one is a cursor (under mu). */
static job *first_queued(onyx_pipeline *p)
{
  while (p->queued && p->queued->state != JOB_QUEUED) p->queued = p->queued->next; /* submitted as pixels */
  return p->queued;
}

static void *decode_main(void *arg)
{
  onyx_pipeline *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    job *j = NULL;
    while (!p->stop && (p->n_live >= p->decode_limit || !(j = first_queued(p)))) pthread_cond_wait(&p->cv, &p->mu);
    if (p->stop) break;
    j->state = JOB_DECODING;
    p->queued = j->next;
    p->n_live++;
    pthread_mutex_unlock(&p->mu);
    double t0 = now_ms();
    onyx_status st = j->path ? image_load(j->path, &j->im) : image_decode(j->bytes, j->size, NULL, &j->im);
    if (st != ONYX_OK) job_set_error(j, st, onyx_last_error());
    j->t.decode = now_ms() - t0;
    j->w = j->im.w;
    j->h = j->im.h;
    free(j->bytes);
    j->bytes = NULL;
    pthread_mutex_lock(&p->mu);
    if (st != ONYX_OK) {
      j->state = JOB_DONE; /* nothing to run */
      p->n_live--;
    } else {
      j->state = JOB_DECODED;
    }
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* ---- post-processing -------------------------------------------------------- */

/* Probabilities: the output as it is when it already lies in [0, 1] and sums
 * to 1, else softmax in double (as onyx classify always did). */
static bool to_probabilities(const float *x, int64_t n, double *pr)
{
  double sum = 0;
  bool probs = true;
  for (int64_t i = 0; i < n; i++) {
    if (!(x[i] >= 0.0f && x[i] <= 1.0f)) probs = false;
    sum += x[i];
  }
  if (probs && fabs(sum - 1.0) < 1e-3) {
    for (int64_t i = 0; i < n; i++) pr[i] = x[i];
    return false;
  }
  double mx = -INFINITY;
  for (int64_t i = 0; i < n; i++)
    if (x[i] > mx) mx = x[i];
  sum = 0;
  for (int64_t i = 0; i < n; i++) sum += pr[i] = exp((double)x[i] - mx);
  for (int64_t i = 0; i < n; i++) pr[i] /= sum;
  return true;
}

static void classify_one(onyx_pipeline *p, job *j, int slot)
{
  int64_t n = p->post.per_image[0];
  const float *x = p->be->output(p->be, 0, slot, &p->post);
  if (!x) {
    job_set_error(j, ONYX_ERR_BACKEND, onyx_last_error());
    return;
  }
  j->softmax = to_probabilities(x, n, p->prob);
  int k = p->o.topk < n ? p->o.topk : (int)n;
  for (int r = 0; r < k; r++) { /* selection of the r-th largest; ties keep the lower index */
    int64_t best = -1;
    for (int64_t i = 0; i < n; i++)
      if (p->prob[i] >= 0 && (best < 0 || p->prob[i] > p->prob[best])) best = i;
    if (best < 0) { /* NaN scores: fewer classes */
      k = r;
      break;
    }
    j->cls[r] = (onyx_class_prob){(int)best, (float)p->prob[best]};
    p->prob[best] = -1.0;
  }
  j->n_cls = k;
}

static void detect_one(onyx_pipeline *p, job *j, int slot, const prep_plan *plan)
{
  int n = p->be->detect(p->be, slot, &p->post, p->cand, p->scratch);
  if (n < 0) {
    job_set_error(j, ONYX_ERR_BACKEND, onyx_last_error());
    return;
  }
  for (int i = 0; i < n; i++) {
    float b[4] = {p->cand[i].x1, p->cand[i].y1, p->cand[i].x2, p->cand[i].y2};
    prep_box_to_source(plan, b);
    j->out_dets[i] = (onyx_detection){p->cand[i].cls, p->cand[i].score, b[0], b[1], b[2], b[3]};
  }
  j->n_dets = n;
}

/* ---- the batching thread ------------------------------------------------------ */

/* Up to max_batch consecutive decoded jobs from the first not yet run; jobs
 * that failed to decode are skipped (already done).  Returns how many, 0 when
 * the batch should wait (not full and no flush covers it). */
static int collect_batch(onyx_pipeline *p, job **batch)
{
  int n = 0;
  job *j = p->head;
  while (j && (j->state == JOB_DONE || j->state == JOB_RUNNING)) j = j->next;
  for (; j && n < p->be->max_batch; j = j->next) {
    if (j->state == JOB_DONE) continue;
    if (j->state != JOB_DECODED) break; /* queued or decoding: it may join this batch */
    batch[n++] = j;
  }
  if (n == p->be->max_batch) return n;
  /* partial: only when a flush covers it, and everything up to the flush point is in it (or done) */
  if (n && batch[n - 1]->seq < p->flush_seq && (!j || j->seq >= p->flush_seq)) return n;
  return 0;
}

static void run_batch(onyx_pipeline *p, job **batch, int n)
{
  pl_backend *be = p->be;
  prep_plan *plans = p->plans;
  bool *ok = p->ok;
  onyx_stage_times bt = {0};
  int n_ok = 0;
  for (int i = 0; i < n; i++) {
    job *j = batch[i];
    double t0 = now_ms();
    onyx_status st = prep_plan_make(p->fit, j->im.w, j->im.h, be->in_w, be->in_h, p->mean, p->inv_std,
                                    p->o.pad, &plans[i]);
    if (st == ONYX_OK) st = be->preprocess(be, i, &plans[i], &j->im, j->im.px && j->im.px == j->rgb);
    if (st != ONYX_OK) job_set_error(j, st, onyx_last_error());
    ok[i] = st == ONYX_OK;
    n_ok += ok[i];
    j->t.preprocess = now_ms() - t0;
    if (!p->o.keep_pixels) job_drop_pixels(j); /* only its size is needed from here */
  }
  pthread_mutex_lock(&p->mu);
  p->n_live -= n; /* the workers may decode further */
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  onyx_status st = n_ok ? be->run(be, n, &bt) : ONYX_OK;
  for (int i = 0; st == ONYX_OK && be->preprocess_device_ms && i < n; i++)
    if (ok[i]) batch[i]->t.preprocess += be->preprocess_device_ms(be, i);
  if (st != ONYX_OK) {
    char msg[PL_ERR_LEN];
    snprintf(msg, sizeof(msg), "%s", onyx_last_error());
    for (int i = 0; i < n; i++)
      if (ok[i]) job_set_error(batch[i], st, msg), ok[i] = false;
  }
  for (int i = 0; i < n; i++) {
    job *j = batch[i];
    j->batch = n;
    j->t.h2d = bt.h2d / n;
    j->t.inference = bt.inference / n;
    j->t.d2h = bt.d2h / n;
    if (!ok[i]) continue;
    double t0 = now_ms();
    if (p->post.task == ONYX_TASK_DETECT) detect_one(p, j, i, &plans[i]);
    else classify_one(p, j, i);
    j->t.postprocess = now_ms() - t0;
  }
  pthread_mutex_lock(&p->mu);
  for (int i = 0; i < n; i++) batch[i]->state = JOB_DONE;
  p->running = false;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

/* Under mu, with no batch running: collects a batch into p->batch and runs it (mu released meanwhile).
 * Returns false, having done nothing, when no batch is ready. */
static bool run_ready_batch(onyx_pipeline *p)
{
  int n = collect_batch(p, p->batch);
  if (!n) return false;
  for (int i = 0; i < n; i++) p->batch[i]->state = JOB_RUNNING;
  p->running = true;
  pthread_mutex_unlock(&p->mu);
  run_batch(p, p->batch, n);
  pthread_mutex_lock(&p->mu);
  return true;
}

static void *batch_main(void *arg)
{
  onyx_pipeline *p = arg;
  pthread_mutex_lock(&p->mu);
  while (!p->stop)
    if (p->running || !run_ready_batch(p)) pthread_cond_wait(&p->cv, &p->mu);
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* ---- options ------------------------------------------------------------------ */

void onyx_pipeline_options_init(onyx_pipeline_options *o)
{
  if (!o) return;
  memset(o, 0, sizeof(*o));
  for (int c = 0; c < 3; c++) o->mean[c] = o->std[c] = NAN;
  o->pad = 114.0f;
  o->conf = 0.25f;
  o->iou = 0.45f;
  o->max_det = 300;
  o->topk = 5;
}

static onyx_status check_options(const onyx_pipeline_options *o)
{
  if ((unsigned)o->task >= ONYX_TASK_COUNT)
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: unknown task %d", (int)o->task);
  if ((unsigned)o->fit >= ONYX_FIT_COUNT)
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: unknown fit %d", (int)o->fit);
  for (int c = 0; c < 3; c++) {
    if (isinf(o->mean[c]) || (!isnan(o->mean[c]) && fabsf(o->mean[c]) > 1e6f))
      return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: mean[%d] = %g is not a gray level", c,
                        (double)o->mean[c]);
    if (!isnan(o->std[c]) && !(fabsf(o->std[c]) > 0.0f && fabsf(o->std[c]) < 1e6f))
      return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: std[%d] = %g must be non-zero and finite", c,
                        (double)o->std[c]);
  }
  if (!isfinite(o->pad))
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: pad %g is not finite", (double)o->pad);
  if (!(o->conf >= 0.0f && o->conf <= 1.0f))
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: conf %g is outside [0, 1]", (double)o->conf);
  if (!(o->iou >= 0.0f && o->iou <= 1.0f))
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: iou %g is outside [0, 1]", (double)o->iou);
  if (o->max_det < 1 || o->max_det > 100000)
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: max_det %d is outside [1, 100000]", o->max_det);
  if (o->topk < 1 || o->topk > 1000000)
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: topk %d is outside [1, 1000000]", o->topk);
  if (o->max_batch < 0 || o->max_batch > 4096)
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: max_batch %d is outside [0, 4096]", o->max_batch);
  if (o->input_w < 0 || o->input_h < 0 || o->input_w > 8192 || o->input_h > 8192 || (!o->input_w != !o->input_h))
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: input size %dx%d (both 1..8192, or both 0)",
                      o->input_w, o->input_h);
  if (o->decode_threads < 0 || o->decode_threads > PL_MAX_THREADS)
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: decode_threads %d is outside [0, %d]",
                      o->decode_threads, PL_MAX_THREADS);
  return ONYX_OK;
}

/* Task, layout, fit and normalisation from the options and the backend's outputs. */
static onyx_status setup_post(onyx_pipeline *p)
{
  pl_backend *be = p->be;
  const onyx_pipeline_options *o = &p->o;
  pl_post *post = &p->post;
  for (int i = 0; i < be->n_out; i++) {
    const onyx_tensor_info *t = &be->outs[i];
    int64_t n = onyx_numel(t->ndim, t->dims);
    /* batches of one: any shape (a classifier's [1000] say) */
    if (n < 0 || (be->max_batch > 1 && (t->ndim < 1 || t->dims[0] != be->max_batch)))
      return onyx_error(ONYX_ERR_UNSUPPORTED, "output '%s': its first dimension is not the batch (%d)", t->name,
                        be->max_batch);
    post->per_image[i] = n / be->max_batch;
  }
  det_layout lay;
  onyx_status st = det_layout_from_outputs(be->n_out, be->outs, &lay);
  if (o->task == ONYX_TASK_DETECT && st != ONYX_OK) return st;
  post->task = o->task != ONYX_TASK_AUTO ? o->task : st == ONYX_OK ? ONYX_TASK_DETECT : ONYX_TASK_CLASSIFY;
  post->in_w = be->in_w;
  post->in_h = be->in_h;
  post->conf = o->conf;
  post->iou = o->iou;
  post->max_det = o->max_det;
  static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f}, imagenet_std[3] = {0.229f, 0.224f, 0.225f};
  float dmean[3], dstd[3];
  if (post->task == ONYX_TASK_DETECT) {
    post->lay = lay;
    bool yolo = lay.fmt != DET_SSD;
    p->fit = o->fit == ONYX_FIT_AUTO ? (yolo ? PREP_LETTERBOX : PREP_STRETCH) : (prep_fit)(o->fit - 1);
    for (int c = 0; c < 3; c++) dmean[c] = yolo ? 0.0f : 127.0f, dstd[c] = yolo ? 255.0f : 128.0f;
    p->n_classes = lay.n_classes - (lay.background ? 1 : 0);
  } else {
    const onyx_tensor_info *t = &be->outs[0];
    if (t->dtype != ONYX_DTYPE_FLOAT && t->dtype != ONYX_DTYPE_FLOAT16)
      return onyx_error(ONYX_ERR_UNSUPPORTED, "classify needs a float class-score output; '%s' is %s", t->name,
                        onyx_dtype_name(t->dtype));
    if (post->per_image[0] < 1 || post->per_image[0] > INT32_MAX)
      return onyx_error(ONYX_ERR_UNSUPPORTED, "classify: output '%s' has %lld scores per image", t->name,
                        (long long)post->per_image[0]);
    p->fit = o->fit == ONYX_FIT_AUTO ? PREP_CENTER_CROP : (prep_fit)(o->fit - 1);
    for (int c = 0; c < 3; c++) dmean[c] = imagenet_mean[c] * 255.0f, dstd[c] = imagenet_std[c] * 255.0f;
    p->n_classes = (int)post->per_image[0];
  }
  for (int c = 0; c < 3; c++) {
    p->mean[c] = isnan(o->mean[c]) ? dmean[c] : o->mean[c];
    p->std[c] = isnan(o->std[c]) ? dstd[c] : o->std[c];
    p->inv_std[c] = 1.0f / p->std[c];
  }
  /* a plan for a typical photo: refuses input sizes no plan can make */
  prep_plan plan;
  return prep_plan_make(p->fit, 640, 480, be->in_w, be->in_h, p->mean, p->inv_std, o->pad, &plan);
}

/* ---- create / free ------------------------------------------------------------- */

static void job_free(onyx_pipeline *p, job *j)
{
  if (!j) return;
  free(j->path);
  free(j->bytes);
  job_drop_pixels(j);
  if (j->rgb) rgb_free(p->be, j->rgb);
  free(j->dets);
  free(j->out_dets);
  free(j->cls);
  free(j);
}

void onyx_pipeline_free(onyx_pipeline *p)
{
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
  if (p->batcher_started) pthread_join(p->batcher, NULL);
  for (job *j = p->head, *nx; j; j = nx) nx = j->next, job_free(p, j);
  for (job *j = p->free_jobs, *nx; j; j = nx) nx = j->next, job_free(p, j);
  job_free(p, p->taken);
  for (job *j = p->frames, *nx; j; j = nx) nx = j->next, job_free(p, j);
  if (p->be) p->be->free(p->be);
  free(p->cand);
  free(p->scratch);
  free(p->prob);
  free(p->plans);
  free(p->ok);
  free(p->batch);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

static onyx_status pipeline_start(pl_backend *be, const onyx_pipeline_options *o, onyx_pipeline **out)
{
  onyx_pipeline *p = onyx_calloc(1, sizeof(*p));
  if (!p) {
    be->free(be);
    return ONYX_ERR_NO_MEMORY;
  }
  p->o = *o;
  p->be = be;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  onyx_status st = setup_post(p);
  if (st != ONYX_OK) goto fail;
  if (p->post.task == ONYX_TASK_DETECT) {
    size_t na = (size_t)p->post.lay.n_anchors;
    p->cand = onyx_malloc(sizeof(*p->cand) * (na ? na : 1));
    p->scratch = onyx_malloc(sizeof(*p->scratch) * (na ? na : 1));
    if (!p->cand || !p->scratch) goto no_mem;
  } else if (!(p->prob = onyx_malloc(sizeof(*p->prob) * (size_t)p->post.per_image[0]))) {
    goto no_mem;
  }
  p->plans = onyx_malloc(sizeof(*p->plans) * (size_t)be->max_batch);
  p->ok = onyx_malloc(sizeof(*p->ok) * (size_t)be->max_batch);
  p->batch = onyx_malloc(sizeof(*p->batch) * (size_t)be->max_batch);
  if (!p->plans || !p->ok || !p->batch) goto no_mem;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  p->n_threads = o->decode_threads ? o->decode_threads : cores > 4 ? 4 : cores > 1 ? (int)cores : 1;
  p->decode_limit = 2 * be->max_batch + p->n_threads;
  for (int i = 0; i < p->n_threads; i++) {
    if (pthread_create(&p->threads[i], NULL, decode_main, p) != 0) {
      p->n_threads = i;
      st = onyx_error(ONYX_ERR_BACKEND, "pipeline: cannot start decoding thread %d", i);
      goto fail;
    }
  }
  if (pthread_create(&p->batcher, NULL, batch_main, p) != 0) {
    st = onyx_error(ONYX_ERR_BACKEND, "pipeline: cannot start the batching thread");
    goto fail;
  }
  p->batcher_started = true;
  *out = p;
  return ONYX_OK;
no_mem:
  st = ONYX_ERR_NO_MEMORY;
fail:
  onyx_pipeline_free(p);
  return st;
}

onyx_status onyx_pipeline_create(onyx_engine *e, const onyx_pipeline_options *o, onyx_pipeline **out)
{
  onyx_pipeline_options def;
  if (!e || !out) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_create: NULL argument");
  *out = NULL;
  if (!o) onyx_pipeline_options_init(&def), o = &def;
  ONYX_TRY(check_options(o));
  pl_backend *be;
  ONYX_TRY(pl_gpu_create(e, o, &be));
  return pipeline_start(be, o, out);
}

onyx_status onyx_pipeline_create_cpu(const onyx_model *m, const onyx_pipeline_options *o, onyx_pipeline **out)
{
  onyx_pipeline_options def;
  if (!m || !out) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_create_cpu: NULL argument");
  *out = NULL;
  if (!o) onyx_pipeline_options_init(&def), o = &def;
  ONYX_TRY(check_options(o));
  pl_backend *be;
  ONYX_TRY(pl_cpu_create(m, o, &be));
  return pipeline_start(be, o, out);
}

onyx_status onyx_pipeline_info_get(const onyx_pipeline *p, onyx_pipeline_info *info)
{
  if (!p || !info) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_info_get: NULL argument");
  memset(info, 0, sizeof(*info));
  info->task = p->post.task;
  info->fit = (onyx_fit)(p->fit + 1);
  info->layout = p->post.task == ONYX_TASK_CLASSIFY ? "classifier"
                 : p->post.lay.fmt == DET_YOLOV8   ? "yolov8"
                 : p->post.lay.fmt == DET_YOLOV5   ? "yolov5"
                                                   : "ssd";
  info->n_classes = p->n_classes;
  info->input_w = p->be->in_w;
  info->input_h = p->be->in_h;
  info->max_batch = p->be->max_batch;
  info->on_gpu = p->be->on_gpu;
  memcpy(info->mean, p->mean, sizeof(info->mean));
  memcpy(info->std, p->std, sizeof(info->std));
  info->pad = p->o.pad;
  return ONYX_OK;
}

/* ---- submit / results ----------------------------------------------------------- */

/* A fresh job (recycled or allocated with its result arrays), state QUEUED, nothing attached. */
static onyx_status job_get(onyx_pipeline *p, void *tag, job **out)
{
  pthread_mutex_lock(&p->mu);
  job *j = p->free_jobs;
  if (j) p->free_jobs = j->next;
  pthread_mutex_unlock(&p->mu);
  if (!j) {
    j = onyx_calloc(1, sizeof(*j));
    if (j) {
      j->dets = onyx_malloc(sizeof(*j->dets) * (size_t)p->o.max_det);
      j->out_dets = onyx_malloc(sizeof(*j->out_dets) * (size_t)p->o.max_det);
      j->cls = onyx_malloc(sizeof(*j->cls) * (size_t)p->o.topk);
    }
    if (!j || !j->dets || !j->out_dets || !j->cls) {
      job_free(p, j);
      return ONYX_ERR_NO_MEMORY;
    }
  }
  j->tag = tag;
  j->next = NULL;
  j->state = JOB_QUEUED;
  j->status = ONYX_OK;
  j->err[0] = '\0';
  j->n_dets = j->n_cls = j->softmax = j->batch = j->w = j->h = 0;
  memset(&j->t, 0, sizeof(j->t));
  memset(&j->im, 0, sizeof(j->im));
  j->path = NULL;
  j->bytes = NULL;
  j->size = 0;
  *out = j;
  return ONYX_OK;
}

/* Appends a job in submission order: QUEUED for the decoding workers, or DECODED (pixels given),
 * which counts as live until the batching thread has preprocessed it. */
static void job_enqueue(onyx_pipeline *p, job *j)
{
  pthread_mutex_lock(&p->mu);
  j->seq = p->next_seq++;
  if (p->tail) p->tail->next = j;
  else p->head = j;
  p->tail = j;
  if (j->state == JOB_QUEUED && !p->queued) p->queued = j;
  if (j->state == JOB_DECODED) p->n_live++;
  p->n_pending++;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static onyx_status submit(onyx_pipeline *p, const char *path, const void *data, size_t size, void *tag)
{
  job *j;
  ONYX_TRY(job_get(p, tag, &j));
  j->size = size;
  if (path ? !(j->path = onyx_strdup(path)) : !(j->bytes = onyx_malloc(size ? size : 1))) {
    job_free(p, j);
    return ONYX_ERR_NO_MEMORY;
  }
  if (!path && size) memcpy(j->bytes, data, size);
  job_enqueue(p, j);
  return ONYX_OK;
}

onyx_status onyx_pipeline_submit_file(onyx_pipeline *p, const char *path, void *tag)
{
  if (!p || !path) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_submit_file: NULL argument");
  return submit(p, path, NULL, 0, tag);
}

onyx_status onyx_pipeline_submit_memory(onyx_pipeline *p, const void *data, size_t size, void *tag)
{
  if (!p || (!data && size)) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_submit_memory: NULL argument");
  if (size > IMAGE_MAX_FILE)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_submit_memory: %zu bytes is more than the %u-byte image "
                      "limit", size, IMAGE_MAX_FILE);
  return submit(p, NULL, data, size, tag);
}

/* A job holding a width x height pixel buffer, kept in p->frames until submitted. */
static onyx_status frame_job(onyx_pipeline *p, const char *fn, int width, int height, job **out)
{
  if (width < 1 || height < 1 || width > IMAGE_MAX_SIDE || height > IMAGE_MAX_SIDE ||
      (uint64_t)width * (uint64_t)height > IMAGE_MAX_PIXELS)
    return onyx_error(ONYX_ERR_INVALID_ARG, "%s: a %d x %d image (each side 1..%d, at most %d pixels)", fn, width,
                      height, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS);
  const size_t bytes = (size_t)width * 3 * (size_t)height;
  job *j;
  ONYX_TRY(job_get(p, NULL, &j));
  if (j->rgb_cap < bytes) { /* a recycled job keeps its buffer: no allocation at a steady size */
    if (j->rgb) rgb_free(p->be, j->rgb);
    j->rgb = rgb_alloc(p->be, bytes);
    j->rgb_cap = j->rgb ? bytes : 0;
  }
  if (!j->rgb) {
    job_free(p, j);
    return ONYX_ERR_NO_MEMORY;
  }
  j->im = (image_rgb){width, height, j->rgb};
  j->w = width, j->h = height;
  j->next = p->frames;
  p->frames = j;
  *out = j;
  return ONYX_OK;
}

onyx_status onyx_pipeline_frame_buffer(onyx_pipeline *p, int width, int height, unsigned char **rgb)
{
  if (!p || !rgb) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_frame_buffer: NULL argument");
  job *j = NULL;
  *rgb = NULL;
  ONYX_TRY(frame_job(p, "onyx_pipeline_frame_buffer", width, height, &j));
  *rgb = j->rgb;
  return ONYX_OK;
}

onyx_status onyx_pipeline_submit_frame(onyx_pipeline *p, unsigned char *rgb, void *tag)
{
  if (!p || !rgb) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_submit_frame: NULL argument");
  job **at = &p->frames;
  while (*at && (*at)->rgb != rgb) at = &(*at)->next;
  job *j = *at;
  if (!j)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_submit_frame: %p is not a buffer from "
                      "onyx_pipeline_frame_buffer waiting to be submitted", (void *)rgb);
  *at = j->next;
  j->next = NULL;
  j->tag = tag;
  j->state = JOB_DECODED; /* nothing to decode: straight to the batching thread */
  job_enqueue(p, j);
  return ONYX_OK;
}

onyx_status onyx_pipeline_submit_rgb(onyx_pipeline *p, const unsigned char *rgb, int width, int height,
                                     size_t stride, void *tag)
{
  if (!p || !rgb) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_submit_rgb: NULL argument");
  const size_t row = (size_t)(width > 0 ? width : 0) * 3;
  if (stride == 0) stride = row;
  if (stride < row)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_submit_rgb: stride %zu is less than a row (%zu bytes)",
                      stride, row);
  job *j = NULL;
  ONYX_TRY(frame_job(p, "onyx_pipeline_submit_rgb", width, height, &j));
  if (stride == row) {
    memcpy(j->rgb, rgb, row * (size_t)height);
  } else {
    for (int y = 0; y < height; y++) memcpy(j->rgb + row * (size_t)y, rgb + stride * (size_t)y, row);
  }
  return onyx_pipeline_submit_frame(p, j->rgb, tag);
}

onyx_status onyx_pipeline_flush(onyx_pipeline *p)
{
  if (!p) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_flush: NULL pipeline");
  pthread_mutex_lock(&p->mu);
  p->flush_seq = p->next_seq;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return ONYX_OK;
}

/* Under mu: the previous result's job back to the free list. */
static void recycle_taken(onyx_pipeline *p)
{
  if (!p->taken) return;
  job_drop_pixels(p->taken);
  free(p->taken->path);
  p->taken->path = NULL;
  p->taken->next = p->free_jobs;
  p->free_jobs = p->taken;
  p->taken = NULL;
}

onyx_status onyx_pipeline_next(onyx_pipeline *p, int wait, onyx_pipeline_result *res, int *got)
{
  if (!p || !res || !got) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_next: NULL argument");
  *got = 0;
  memset(res, 0, sizeof(*res));
  res->error = "";
  pthread_mutex_lock(&p->mu);
  recycle_taken(p);
  if (wait && p->head && p->head->state != JOB_DONE) {
    p->flush_seq = p->next_seq; /* waiting for a result: do not wait for a full batch too */
    pthread_cond_broadcast(&p->cv);
    while (p->head->state != JOB_DONE)
      if (p->running || !run_ready_batch(p)) pthread_cond_wait(&p->cv, &p->mu);
  }
  job *j = p->head;
  if (j && j->state == JOB_DONE) {
    p->head = j->next;
    if (!p->head) p->tail = NULL;
    p->n_pending--;
    p->taken = j;
    *got = 1;
  }
  pthread_mutex_unlock(&p->mu);
  if (!*got) return ONYX_OK;
  res->tag = j->tag;
  res->status = j->status;
  res->error = j->status == ONYX_OK ? "" : j->err;
  res->width = j->w;
  res->height = j->h;
  res->pixels = j->im.px;
  res->task = p->post.task;
  res->n_detections = j->status == ONYX_OK ? j->n_dets : 0;
  res->detections = j->out_dets;
  res->n_classes = j->status == ONYX_OK ? j->n_cls : 0;
  res->classes = j->cls;
  res->softmax = j->softmax;
  res->batch = j->batch;
  res->times = j->t;
  return ONYX_OK;
}

onyx_status onyx_pipeline_run_one(onyx_pipeline *p, const void *data, size_t size, onyx_pipeline_result *res)
{
  if (!p || !res) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_run_one: NULL argument");
  pthread_mutex_lock(&p->mu);
  int pending = p->n_pending;
  pthread_mutex_unlock(&p->mu);
  if (pending)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_pipeline_run_one: %d submitted image%s not taken yet (take them "
                      "with onyx_pipeline_next first)", pending, pending == 1 ? " is" : "s are");
  ONYX_TRY(onyx_pipeline_submit_memory(p, data, size, NULL));
  int got;
  ONYX_TRY(onyx_pipeline_next(p, 1, res, &got));
  if (!got) return onyx_error(ONYX_ERR_INTERNAL, "onyx_pipeline_run_one: no result");
  if (res->status != ONYX_OK) return onyx_error(res->status, "%s", res->error);
  return ONYX_OK;
}

/* ---- the CPU backend: a session ----------------------------------------------------- */

typedef struct cpu_backend {
  pl_backend b;
  onyx_session *s;
  int64_t dims[4];
  float *input;
  const float *out[PL_MAX_OUTPUTS]; /* after a run: float32 (converted when the model's are float16) */
  float *conv[PL_MAX_OUTPUTS];
} cpu_backend;

static void cpu_free(pl_backend *b)
{
  cpu_backend *c = (cpu_backend *)b;
  onyx_session_free(c->s);
  free(c->input);
  for (int i = 0; i < PL_MAX_OUTPUTS; i++) free(c->conv[i]);
  free(c);
}

static onyx_status cpu_preprocess(pl_backend *b, int slot, const prep_plan *plan, const image_rgb *im,
                                  bool host_mem)
{
  cpu_backend *c = (cpu_backend *)b;
  (void)host_mem;
  return prep_apply(plan, im, c->input + (size_t)slot * 3 * (size_t)b->in_w * (size_t)b->in_h);
}

static onyx_status cpu_outputs(cpu_backend *c)
{
  for (int i = 0; i < c->b.n_out; i++) {
    onyx_tensor_info oi;
    const void *data;
    ONYX_TRY(onyx_session_output(c->s, i, &oi, &data));
    if (oi.dtype == ONYX_DTYPE_FLOAT16) {
      int64_t n = onyx_numel(oi.ndim, oi.dims);
      if (n < 0) return onyx_error(ONYX_ERR_SHAPE, "output '%s' has no size", oi.name);
      if (!c->conv[i] && !(c->conv[i] = onyx_malloc(sizeof(float) * (size_t)(n ? n : 1)))) return ONYX_ERR_NO_MEMORY;
      for (int64_t k = 0; k < n; k++) c->conv[i][k] = onyx_half_to_float(((const uint16_t *)data)[k]);
      data = c->conv[i];
    } else if (oi.dtype != ONYX_DTYPE_FLOAT) {
      return onyx_error(ONYX_ERR_UNSUPPORTED, "output '%s' is %s, not float", oi.name, onyx_dtype_name(oi.dtype));
    }
    c->out[i] = data;
  }
  return ONYX_OK;
}

static onyx_status cpu_run(pl_backend *b, int n, onyx_stage_times *t)
{
  cpu_backend *c = (cpu_backend *)b;
  double t0 = now_ms();
  ONYX_TRY(onyx_session_set_input(c->s, b->in_name, ONYX_DTYPE_FLOAT, 4, c->dims, c->input));
  ONYX_TRY(onyx_session_run(c->s));
  ONYX_TRY(cpu_outputs(c));
  t->inference += now_ms() - t0;
  return ONYX_OK;
}

static int cpu_detect(pl_backend *b, int slot, const pl_post *post, det_box *out, det_box *scratch)
{
  cpu_backend *c = (cpu_backend *)b;
  const float *mine[PL_MAX_OUTPUTS] = {0};
  for (int i = 0; i < b->n_out; i++) mine[i] = c->out[i] + (size_t)slot * post->per_image[i];
  int cap = post->lay.n_anchors;
  int n = det_candidates(&post->lay, mine, post->in_w, post->in_h, post->conf, out, cap);
  return det_nms_scratch(out, n < cap ? n : cap, post->iou, post->max_det, scratch);
}

static const float *cpu_output(pl_backend *b, int o, int slot, const pl_post *post)
{
  cpu_backend *c = (cpu_backend *)b;
  return c->out[o] + (size_t)slot * post->per_image[o];
}

onyx_status pl_image_input(const onyx_tensor_info *in, int n_in, int n_out, int64_t *batch, int *h, int *w)
{
  if (n_in != 1 || n_out < 1 || n_out > PL_MAX_OUTPUTS)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "the pipeline needs a model with one image input and 1 to %d outputs "
                      "(this one has %d inputs, %d outputs)", PL_MAX_OUTPUTS, n_in, n_out);
  if (in->dtype != ONYX_DTYPE_FLOAT || in->ndim != 4 || (in->dims[1] >= 0 && in->dims[1] != 3))
    return onyx_error(ONYX_ERR_UNSUPPORTED, "the pipeline needs a float32 NCHW input with 3 channels; input '%s' is "
                      "%s of rank %d", in->name, onyx_dtype_name(in->dtype), in->ndim);
  /* symbolic: the size asked for (*h, *w on entry) */
  int64_t hh = in->dims[2] > 0 ? in->dims[2] : *h, ww = in->dims[3] > 0 ? in->dims[3] : *w;
  if (hh <= 0 || ww <= 0)
    return onyx_error(ONYX_ERR_INVALID_ARG, "input '%s' has a symbolic height or width: give the input size "
                      "(pipeline options input_w, input_h)", in->name);
  if (hh > 8192 || ww > 8192)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "input '%s': %lld x %lld is too large for an image (at most 8192 a "
                      "side)", in->name, (long long)ww, (long long)hh);
  if ((in->dims[2] > 0 && *h && *h != hh) || (in->dims[3] > 0 && *w && *w != ww))
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: input %dx%d, but input '%s' is fixed at %lldx%lld",
                      *w, *h, in->name, (long long)ww, (long long)hh);
  *batch = in->dims[0];
  *h = (int)hh;
  *w = (int)ww;
  return ONYX_OK;
}

onyx_status pl_cpu_create(const onyx_model *m, const onyx_pipeline_options *o, pl_backend **out)
{
  onyx_tensor_info in;
  int64_t fixed;
  int h = o->input_h, w = o->input_w, max_batch_opt = o->max_batch;
  ONYX_TRY(onyx_model_input(m, 0, &in));
  ONYX_TRY(pl_image_input(&in, onyx_model_num_inputs(m), onyx_model_num_outputs(m), &fixed, &h, &w));
  int mb = fixed > 0 ? (int)fixed : max_batch_opt ? max_batch_opt : 1;
  if (fixed > 0 && max_batch_opt && max_batch_opt != fixed)
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: max_batch %d, but the model's batch is fixed at %lld",
                      max_batch_opt, (long long)fixed);
  if (fixed > 4096) return onyx_error(ONYX_ERR_UNSUPPORTED, "input '%s': batch %lld", in.name, (long long)fixed);
  cpu_backend *c = onyx_calloc(1, sizeof(*c));
  if (!c) return ONYX_ERR_NO_MEMORY;
  c->b = (pl_backend){.in_w = w, .in_h = h, .max_batch = mb, .in_name = in.name, .n_out = onyx_model_num_outputs(m),
                      .preprocess = cpu_preprocess, .run = cpu_run, .detect = cpu_detect, .output = cpu_output,
                      .free = cpu_free};
  int64_t dims[4] = {mb, 3, h, w};
  memcpy(c->dims, dims, sizeof(dims));
  onyx_status st = ONYX_OK;
  size_t n = (size_t)mb * 3 * (size_t)h * (size_t)w;
  if (!(c->input = onyx_calloc(n, sizeof(float)))) st = ONYX_ERR_NO_MEMORY;
  if (st == ONYX_OK) st = onyx_session_create(m, NULL, &c->s);
  if (st == ONYX_OK) st = onyx_session_set_input_shape(c->s, in.name, 4, dims);
  /* output shapes: as declared (a symbolic batch is ours); else from one run on the zeroed input */
  bool known = true;
  for (int i = 0; st == ONYX_OK && i < c->b.n_out; i++) {
    onyx_tensor_info *t = &c->b.outs[i];
    st = onyx_model_output(m, i, t);
    if (st == ONYX_OK && t->ndim >= 1 && t->dims[0] < 0 && fixed <= 0) t->dims[0] = mb;
    if (st == ONYX_OK && (t->ndim < 1 || onyx_numel(t->ndim, t->dims) < 0)) known = false;
  }
  if (st == ONYX_OK && !known) {
    st = onyx_session_set_input(c->s, in.name, ONYX_DTYPE_FLOAT, 4, dims, c->input);
    if (st == ONYX_OK) st = onyx_session_run(c->s);
    for (int i = 0; st == ONYX_OK && i < c->b.n_out; i++) {
      const void *data;
      st = onyx_session_output(c->s, i, &c->b.outs[i], &data);
    }
  }
  if (st != ONYX_OK) {
    cpu_free(&c->b);
    return st;
  }
  *out = &c->b;
  return ONYX_OK;
}
