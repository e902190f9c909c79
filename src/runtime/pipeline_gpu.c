/* The pipeline's GPU backend: one engine context (built by the caller),
 * one stream, buffers allocated once (a slot's image buffers grow when a
 * larger image arrives), a staged enqueue timed with events.
 *
 * Pre- and post-processing run on the GPU (src/vision/vision_cuda.h): a
 * decoded file is copied once into pinned memory and uploaded (pixels given
 * with onyx_pipeline_submit_rgb are copied into pinned memory at once), one kernel
 * resizes/places/normalises it into the model input (bound as a device
 * buffer), and for detectors det_post filters, sorts and suppresses on the
 * device, so only the kept boxes come back (measured on an H200: 42 us for a
 * YOLOv8n output, against 55 us to copy that output back plus ~1 ms of host
 * NMS).  Classifier scores come back per image. */
#include "runtime/pipeline.h"

#include "common/util.h"

#ifdef ONYX_HAVE_CUDA

#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

#include "vision/vision_cuda.h"

enum { EV_H2D_START, EV_H2D_END, EV_COMPUTE_START, EV_COMPUTE_END, EV_D2H_START, EV_D2H_END, EV_COUNT };

typedef struct gpu_backend {
  pl_backend b;
  onyx_context *c;
  cudaStream_t stream;
  cudaEvent_t ev[EV_COUNT];
  int n_ev;
  cudaEvent_t (*pre_ev)[2]; /* per slot: around its upload and preprocessing kernel */
  int n_pre_ev;             /* slots whose pair exists */
  float *d_input;                         /* the model input on the device (bound): max_batch x 3 x H x W */
  unsigned char **h_px, **d_px;           /* per slot: the decoded image, pinned and on the device */
  size_t *px_cap;                         /* per slot: their bytes */
  float *d_out[PL_MAX_OUTPUTS];           /* the outputs on the device (bound) */
  float *h_out;                           /* one image's output, pinned (classifier scores) */
  size_t h_out_cap;                       /* its elements */
  void *d_scratch;                        /* det_post's */
  size_t scratch_bytes;
  det_box *d_dets, *h_dets;               /* one image's kept boxes (at most max_det) */
  int *d_count, *h_count;
  int det_cap;
} gpu_backend;

static onyx_status cuda_fail(cudaError_t err, const char *what)
{
  return onyx_error(ONYX_ERR_BACKEND, "pipeline: %s failed: %s", what, cudaGetErrorString(err));
}

static void gpu_free(pl_backend *b)
{
  gpu_backend *g = (gpu_backend *)b;
  if (g->stream) cudaStreamSynchronize(g->stream);
  onyx_context_free(g->c);
  for (int i = 0; i < g->n_ev; i++) cudaEventDestroy(g->ev[i]);
  for (int i = 0; i < g->n_pre_ev; i++) cudaEventDestroy(g->pre_ev[i][0]), cudaEventDestroy(g->pre_ev[i][1]);
  free(g->pre_ev);
  if (g->stream) cudaStreamDestroy(g->stream);
  for (int i = 0; g->px_cap && i < b->max_batch; i++) {
    cudaFreeHost(g->h_px[i]);
    cudaFree(g->d_px[i]);
  }
  free(g->h_px);
  free(g->d_px);
  free(g->px_cap);
  cudaFree(g->d_input);
  for (int i = 0; i < PL_MAX_OUTPUTS; i++) cudaFree(g->d_out[i]);
  cudaFreeHost(g->h_out);
  cudaFree(g->d_scratch);
  cudaFree(g->d_dets);
  cudaFree(g->d_count);
  cudaFreeHost(g->h_dets);
  cudaFreeHost(g->h_count);
  free(g);
}

/* ---- pre- and post-processing -------------------------------------------------- */

/* Room for an image of `bytes` in slot `slot`: grows (after the stream is idle) only when a larger
 * image arrives than this slot has seen. */
static onyx_status slot_room(gpu_backend *g, int slot, size_t bytes)
{
  if (bytes <= g->px_cap[slot]) return ONYX_OK;
  cudaError_t err = cudaStreamSynchronize(g->stream);
  if (err != cudaSuccess) return cuda_fail(err, "cudaStreamSynchronize");
  cudaFreeHost(g->h_px[slot]);
  cudaFree(g->d_px[slot]);
  g->h_px[slot] = g->d_px[slot] = NULL;
  g->px_cap[slot] = 0;
  if ((err = cudaMallocHost((void **)&g->h_px[slot], bytes)) != cudaSuccess) return cuda_fail(err, "cudaMallocHost");
  if ((err = cudaMalloc((void **)&g->d_px[slot], bytes)) != cudaSuccess) return cuda_fail(err, "cudaMalloc");
  g->px_cap[slot] = bytes;
  return ONYX_OK;
}

/* Slot `slot` of the model input from one decoded image: one upload (from pinned memory: the
 * image's own when it came as pixels, host_mem, else a copy into the slot's), one kernel
 * (cuda_prep_image), queued between the slot's two events without waiting: the inference follows on
 * the same stream, and run() waits for both.  The pixels must stay until then: a decoded file's
 * were copied here, and submitted pixels belong to their job until its result is taken. */
static onyx_status gpu_preprocess(pl_backend *b, int slot, const prep_plan *plan, const image_rgb *im, bool host_mem)
{
  gpu_backend *g = (gpu_backend *)b;
  size_t bytes = (size_t)im->w * (size_t)im->h * 3;
  ONYX_TRY(slot_room(g, slot, bytes));
  if (!host_mem) memcpy(g->h_px[slot], im->px, bytes);
  cudaError_t err = cudaEventRecord(g->pre_ev[slot][0], g->stream);
  if (err == cudaSuccess)
    err = cudaMemcpyAsync(g->d_px[slot], host_mem ? im->px : g->h_px[slot], bytes, cudaMemcpyHostToDevice,
                          g->stream);
  onyx_status st = err == cudaSuccess ? ONYX_OK : cuda_fail(err, "cudaMemcpyAsync");
  float *dst = g->d_input + (size_t)slot * 3 * (size_t)b->in_h * (size_t)b->in_w;
  if (st == ONYX_OK) st = cuda_prep_image(plan, g->d_px[slot], dst, ONYX_DTYPE_FLOAT, g->stream);
  if (st == ONYX_OK && (err = cudaEventRecord(g->pre_ev[slot][1], g->stream)) != cudaSuccess)
    st = cuda_fail(err, "cudaEventRecord");
  if (st != ONYX_OK) cudaStreamSynchronize(g->stream); /* this image fails: nothing of it stays queued */
  return st;
}

static double gpu_preprocess_ms(pl_backend *b, int slot)
{
  gpu_backend *g = (gpu_backend *)b;
  float ms = 0;
  return cudaEventElapsedTime(&ms, g->pre_ev[slot][0], g->pre_ev[slot][1]) == cudaSuccess ? ms : 0.0;
}

/* Detections of batch slot `slot`: det_post on the device outputs; only the kept boxes and their
 * count come back. */
static int gpu_postprocess(pl_backend *b, int slot, const pl_post *post, det_box *out, det_box *scratch)
{
  gpu_backend *g = (gpu_backend *)b;
  (void)scratch;
  if (post->max_det > g->det_cap) {
    onyx_error(ONYX_ERR_INTERNAL, "pipeline: max_det %d exceeds the %d boxes set up", post->max_det, g->det_cap);
    return -1;
  }
  const void *outs[PL_MAX_OUTPUTS] = {0};
  for (int i = 0; i < b->n_out; i++) outs[i] = g->d_out[i] + (size_t)slot * (size_t)post->per_image[i];
  if (cuda_det_post(&post->lay, outs, ONYX_DTYPE_FLOAT, post->in_w, post->in_h, post->conf, post->iou,
                    post->max_det, g->d_scratch, g->scratch_bytes, g->d_dets, g->d_count, g->stream) != ONYX_OK)
    return -1;
  /* the count and all max_det slots in one round trip (7 KB for 300 boxes: cheaper than a second
   * synchronisation to copy only the kept ones) */
  cudaError_t err = cudaMemcpyAsync(g->h_count, g->d_count, sizeof(int), cudaMemcpyDeviceToHost, g->stream);
  if (err == cudaSuccess)
    err = cudaMemcpyAsync(g->h_dets, g->d_dets, sizeof(det_box) * (size_t)post->max_det, cudaMemcpyDeviceToHost,
                          g->stream);
  if (err == cudaSuccess) err = cudaStreamSynchronize(g->stream);
  if (err != cudaSuccess) {
    cuda_fail(err, "copying detections back");
    return -1;
  }
  int n = *g->h_count;
  if (n < 0 || n > post->max_det) {
    onyx_error(ONYX_ERR_INTERNAL, "pipeline: det_post kept %d boxes (max_det %d)", n, post->max_det);
    return -1;
  }
  memcpy(out, g->h_dets, sizeof(det_box) * (size_t)n);
  return n;
}

static void *gpu_host_alloc(pl_backend *b, size_t bytes)
{
  (void)b;
  void *ptr = NULL;
  cudaError_t err = cudaMallocHost(&ptr, bytes);
  if (err != cudaSuccess) {
    cuda_fail(err, "cudaMallocHost");
    return NULL;
  }
  return ptr;
}

static void gpu_host_free(pl_backend *b, void *ptr)
{
  (void)b;
  cudaFreeHost(ptr);
}

/* ---- inference ---------------------------------------------------------------- */

static double elapsed(gpu_backend *g, int a, int z)
{
  float ms = 0;
  return cudaEventElapsedTime(&ms, g->ev[a], g->ev[z]) == cudaSuccess ? ms : 0.0;
}

static onyx_status gpu_run(pl_backend *b, int n, onyx_stage_times *t)
{
  gpu_backend *g = (gpu_backend *)b;
  onyx_stage_events ev = {g->ev[EV_H2D_START],     g->ev[EV_H2D_END],   g->ev[EV_COMPUTE_START],
                          g->ev[EV_COMPUTE_END],   g->ev[EV_D2H_START], g->ev[EV_D2H_END]};
  ONYX_TRY(onyx_context_enqueue_staged(g->c, g->stream, g->stream, g->stream, &ev));
  cudaError_t err = cudaStreamSynchronize(g->stream);
  if (err != cudaSuccess) return cuda_fail(err, "cudaStreamSynchronize");
  t->h2d += elapsed(g, EV_H2D_START, EV_H2D_END);
  t->inference += elapsed(g, EV_COMPUTE_START, EV_COMPUTE_END);
  t->d2h += elapsed(g, EV_D2H_START, EV_D2H_END);
  return ONYX_OK;
}

/* Output o of one image, copied back (classifier scores: small). */
static const float *gpu_output(pl_backend *b, int o, int slot, const pl_post *post)
{
  gpu_backend *g = (gpu_backend *)b;
  size_t n = (size_t)post->per_image[o];
  if (n > g->h_out_cap) return NULL;
  cudaError_t err = cudaMemcpyAsync(g->h_out, g->d_out[o] + (size_t)slot * n, n * sizeof(float),
                                    cudaMemcpyDeviceToHost, g->stream);
  if (err == cudaSuccess) err = cudaStreamSynchronize(g->stream);
  return err == cudaSuccess ? g->h_out : NULL;
}

onyx_status pl_gpu_create(onyx_engine *e, const onyx_pipeline_options *o, pl_backend **out)
{
  onyx_tensor_info in;
  onyx_shape_range r;
  int64_t fixed;
  int h = o->input_h, w = o->input_w;
  ONYX_TRY(onyx_engine_input(e, 0, &in));
  ONYX_TRY(onyx_engine_input_range(e, 0, &r));
  if (r.ndim == 4) { /* the engine's opt shape stands for symbolic dims */
    for (int d = 0; d < 4; d++)
      if (in.dims[d] < 0 && d >= 2 && !(d == 2 ? h : w)) in.dims[d] = r.opt[d];
  }
  ONYX_TRY(pl_image_input(&in, onyx_engine_num_inputs(e), onyx_engine_num_outputs(e), &fixed, &h, &w));
  int64_t lo = r.min[0], hi = r.max[0];
  int mb = o->max_batch ? o->max_batch : (int)(hi < 4096 ? hi : 4096);
  if (mb < lo || mb > hi)
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline options: max_batch %d is outside the engine's batch range "
                      "[%lld, %lld]", mb, (long long)lo, (long long)hi);
  if (h < r.min[2] || h > r.max[2] || w < r.min[3] || w > r.max[3])
    return onyx_error(ONYX_ERR_INVALID_ARG, "pipeline: input %dx%d is outside the engine's range", w, h);
  gpu_backend *g = onyx_calloc(1, sizeof(*g));
  if (!g) return ONYX_ERR_NO_MEMORY;
  g->b = (pl_backend){.in_w = w, .in_h = h, .max_batch = mb, .on_gpu = true, .in_name = in.name,
                      .n_out = onyx_engine_num_outputs(e), .preprocess = gpu_preprocess, .run = gpu_run,
                      .detect = gpu_postprocess, .output = gpu_output,
                      .preprocess_device_ms = gpu_preprocess_ms, .host_alloc = gpu_host_alloc,
                      .host_free = gpu_host_free, .free = gpu_free};
  int64_t dims[4] = {mb, 3, h, w};
  cudaError_t err = cudaSuccess;
  onyx_status st = onyx_context_create(e, &g->c);
  void *pinned; /* sets the context up for these shapes (onyx_context_output needs that) */
  if (st == ONYX_OK) st = onyx_context_set_input_shape(g->c, in.name, 4, dims);
  if (st == ONYX_OK) st = onyx_context_host_buffer(g->c, in.name, &pinned);
  g->px_cap = onyx_calloc((size_t)mb, sizeof(size_t));
  g->h_px = onyx_calloc((size_t)mb, sizeof(*g->h_px));
  g->d_px = onyx_calloc((size_t)mb, sizeof(*g->d_px));
  if (st == ONYX_OK && (!g->px_cap || !g->h_px || !g->d_px)) st = ONYX_ERR_NO_MEMORY;
  size_t in_bytes = sizeof(float) * (size_t)mb * 3 * (size_t)h * (size_t)w;
  if (st == ONYX_OK && (err = cudaMalloc((void **)&g->d_input, in_bytes)) != cudaSuccess)
    st = cuda_fail(err, "cudaMalloc");
  if (st == ONYX_OK && (err = cudaMemset(g->d_input, 0, in_bytes)) != cudaSuccess) /* slots a batch leaves out */
    st = cuda_fail(err, "cudaMemset");
  if (st == ONYX_OK) st = onyx_context_set_binding(g->c, in.name, g->d_input, 1);
  size_t most = 1;
  for (int i = 0; st == ONYX_OK && i < g->b.n_out; i++) {
    st = onyx_context_output(g->c, i, &g->b.outs[i]);
    if (st == ONYX_OK && g->b.outs[i].dtype != ONYX_DTYPE_FLOAT)
      st = onyx_error(ONYX_ERR_UNSUPPORTED, "engine output '%s' is %s, not float32", g->b.outs[i].name,
                      onyx_dtype_name(g->b.outs[i].dtype));
    int64_t n = st == ONYX_OK ? onyx_numel(g->b.outs[i].ndim, g->b.outs[i].dims) : -1;
    if (st == ONYX_OK && n < 1) st = onyx_error(ONYX_ERR_UNSUPPORTED, "engine output '%s' is empty", g->b.outs[i].name);
    if (st == ONYX_OK && (err = cudaMalloc((void **)&g->d_out[i], sizeof(float) * (size_t)n)) != cudaSuccess)
      st = cuda_fail(err, "cudaMalloc");
    if (st == ONYX_OK) st = onyx_context_set_binding(g->c, g->b.outs[i].name, g->d_out[i], 1);
    if (st == ONYX_OK && (size_t)(n / mb) > most) most = (size_t)(n / mb);
  }
  /* one image's scores; det_post's scratch and results for the largest layout it may see */
  g->h_out_cap = most;
  g->det_cap = o->max_det > 0 ? o->max_det : 300;
  if (st == ONYX_OK && (err = cudaMallocHost((void **)&g->h_out, sizeof(float) * most)) != cudaSuccess)
    st = cuda_fail(err, "cudaMallocHost");
  if (st == ONYX_OK && g->b.n_out <= 2) {
    det_layout lay;
    if (det_layout_from_outputs(g->b.n_out, g->b.outs, &lay) == ONYX_OK) { /* a detector */
      g->scratch_bytes = cuda_det_scratch_bytes(&lay, g->det_cap);
      if ((err = cudaMalloc(&g->d_scratch, g->scratch_bytes)) == cudaSuccess &&
          (err = cudaMalloc((void **)&g->d_dets, sizeof(det_box) * (size_t)g->det_cap)) == cudaSuccess &&
          (err = cudaMemset(g->d_dets, 0, sizeof(det_box) * (size_t)g->det_cap)) == cudaSuccess && /* all copied */
          (err = cudaMalloc((void **)&g->d_count, sizeof(int))) == cudaSuccess &&
          (err = cudaMallocHost((void **)&g->h_dets, sizeof(det_box) * (size_t)g->det_cap)) == cudaSuccess)
        err = cudaMallocHost((void **)&g->h_count, sizeof(int));
      if (err != cudaSuccess) st = cuda_fail(err, "allocating the detection buffers");
    } else {
      g->det_cap = 0; /* not a detector: detect() refuses */
    }
  }
  if (st == ONYX_OK && (err = cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking)) != cudaSuccess)
    st = cuda_fail(err, "cudaStreamCreate");
  while (st == ONYX_OK && g->n_ev < EV_COUNT)
    if ((err = cudaEventCreate(&g->ev[g->n_ev])) != cudaSuccess) st = cuda_fail(err, "cudaEventCreate");
    else g->n_ev++;
  if (st == ONYX_OK && !(g->pre_ev = onyx_calloc((size_t)mb, sizeof(*g->pre_ev)))) st = ONYX_ERR_NO_MEMORY;
  while (st == ONYX_OK && g->n_pre_ev < mb) {
    cudaEvent_t *e2 = g->pre_ev[g->n_pre_ev];
    if ((err = cudaEventCreate(&e2[0])) != cudaSuccess) {
      st = cuda_fail(err, "cudaEventCreate");
    } else if ((err = cudaEventCreate(&e2[1])) != cudaSuccess) {
      cudaEventDestroy(e2[0]);
      st = cuda_fail(err, "cudaEventCreate");
    } else {
      g->n_pre_ev++;
    }
  }
  if (st != ONYX_OK) {
    gpu_free(&g->b);
    return st;
  }
  *out = &g->b;
  return ONYX_OK;
}

#else /* no CUDA backend in this build */

onyx_status pl_gpu_create(onyx_engine *e, const onyx_pipeline_options *o, pl_backend **out)
{
  (void)e, (void)o, (void)out;
  return onyx_error(ONYX_ERR_UNSUPPORTED, "onyx_pipeline_create: this onyx was built without the CUDA backend "
                    "(use onyx_pipeline_create_cpu)");
}

#endif
