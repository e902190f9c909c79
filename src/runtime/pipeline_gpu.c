/* The image pipeline's GPU backend: one engine context at the batch size,
 * one stream, the context's pinned buffers (allocated once, here), a staged
 * enqueue (H2D, layers, D2H) timed with events.
 *
 * Pre- and post-processing run on the host today: gpu_preprocess writes the
 * model input into the pinned input buffer with prep_apply, gpu_postprocess decodes
 * boxes from the pinned output buffers.  That pair of functions is the one place
 * where the GPU versions (cuda_prep_image / cuda_det_post in
 * src/vision/vision_cuda.h) plug in. */
#include "runtime/pipeline.h"

#include "common/util.h"

#ifdef ONYX_HAVE_CUDA

#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

enum { EV_H2D_START, EV_H2D_END, EV_COMPUTE_START, EV_COMPUTE_END, EV_D2H_START, EV_D2H_END, EV_COUNT };

typedef struct gpu_backend {
  pl_backend b;
  onyx_context *c;
  cudaStream_t stream;
  cudaEvent_t ev[EV_COUNT];
  int n_ev;
  float *input;                     /* the context's pinned input buffer: max_batch x 3 x H x W */
  const float *out[PL_MAX_OUTPUTS]; /* its pinned output buffers (engine outputs are float32) */
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
  if (g->stream) cudaStreamDestroy(g->stream);
  free(g);
}

/* ---- the preprocess / postprocess pair: where the GPU kernels plug in ---------- */

/* Preprocessing of one image into batch slot `slot`.  GPU version: upload im
 * once (pinned staging, one cudaMemcpyAsync on g->stream) and run
 * cuda_prep_image(plan, device pixels, device input slot, ONYX_DTYPE_FLOAT,
 * g->stream), with the context's input bound to that device buffer. */
static onyx_status gpu_preprocess(pl_backend *b, int slot, const prep_plan *plan, const image_rgb *im)
{
  gpu_backend *g = (gpu_backend *)b;
  return pl_host_preprocess(g->input, b->in_w, b->in_h, slot, plan, im);
}

/* Detections of batch slot `slot`.  GPU version: cuda_det_post on the device
 * outputs (before the D2H copy), copying back only the kept boxes and count. */
static int gpu_postprocess(pl_backend *b, int slot, const pl_post *post, det_box *out, det_box *scratch)
{
  gpu_backend *g = (gpu_backend *)b;
  const float *outs[PL_MAX_OUTPUTS] = {0};
  for (int i = 0; i < b->n_out; i++) outs[i] = g->out[i];
  return pl_host_detect(outs, slot, post, out, scratch);
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

static const float *gpu_output(pl_backend *b, int o, int slot, const pl_post *post)
{
  gpu_backend *g = (gpu_backend *)b;
  return g->out[o] + (size_t)slot * post->per_image[o];
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
                      .detect = gpu_postprocess, .output = gpu_output, .free = gpu_free};
  int64_t dims[4] = {mb, 3, h, w};
  void *buf;
  onyx_status st = onyx_context_create(e, &g->c);
  if (st == ONYX_OK) st = onyx_context_set_input_shape(g->c, in.name, 4, dims);
  if (st == ONYX_OK) st = onyx_context_host_buffer(g->c, in.name, &buf); /* sets the context up */
  if (st == ONYX_OK) {
    g->input = buf;
    memset(g->input, 0, sizeof(float) * (size_t)mb * 3 * (size_t)h * (size_t)w); /* slots a batch leaves out */
  }
  for (int i = 0; st == ONYX_OK && i < g->b.n_out; i++) {
    st = onyx_context_output(g->c, i, &g->b.outs[i]);
    if (st == ONYX_OK && g->b.outs[i].dtype != ONYX_DTYPE_FLOAT)
      st = onyx_error(ONYX_ERR_UNSUPPORTED, "engine output '%s' is %s, not float32", g->b.outs[i].name,
                      onyx_dtype_name(g->b.outs[i].dtype));
    if (st == ONYX_OK) st = onyx_context_host_buffer(g->c, g->b.outs[i].name, &buf);
    if (st == ONYX_OK) g->out[i] = buf;
  }
  cudaError_t err = cudaSuccess;
  if (st == ONYX_OK && (err = cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking)) != cudaSuccess)
    st = cuda_fail(err, "cudaStreamCreate");
  while (st == ONYX_OK && g->n_ev < EV_COUNT)
    if ((err = cudaEventCreate(&g->ev[g->n_ev])) != cudaSuccess) st = cuda_fail(err, "cudaEventCreate");
    else g->n_ev++;
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
