/* The image pipeline's inside (onyx_pipeline_* in onyx.h): the part that
 * runs the model is a backend, a session on the CPU (pipeline.c) or an engine
 * context on the GPU (pipeline_gpu.c); the queues, decoding workers, batching,
 * pre- and post-processing are shared (pipeline.c). */
#ifndef ONYX_RUNTIME_PIPELINE_H
#define ONYX_RUNTIME_PIPELINE_H

#include <stdbool.h>

#include "io/image.h"
#include "onyx.h"
#include "vision/detect.h"
#include "vision/prep.h"

#define PL_MAX_OUTPUTS 8

typedef struct pl_backend pl_backend;

/* What post-processing needs to know, fixed at creation. */
typedef struct pl_post {
  onyx_task task;
  det_layout lay;           /* detect */
  int64_t per_image[PL_MAX_OUTPUTS]; /* elements of each output per image */
  float conf, iou;
  int max_det;
  int in_w, in_h;
} pl_post;

struct pl_backend {
  /* set by the backend's init */
  int in_w, in_h, max_batch;
  bool on_gpu;
  const char *in_name;
  int n_out;
  onyx_tensor_info outs[PL_MAX_OUTPUTS]; /* at max_batch */
  /* Preprocesses one decoded image into batch slot `slot` of the model input; host_mem: its pixels
   * lie in memory from host_alloc. */
  onyx_status (*preprocess)(pl_backend *b, int slot, const prep_plan *plan, const image_rgb *im, bool host_mem);
  /* Optional: milliseconds of device work that slot's preprocess queued without waiting for it, read
   * once run() has returned (added to the image's preprocess time). */
  double (*preprocess_device_ms)(pl_backend *b, int slot);
  /* Optional (NULL: malloc / free): host memory preprocess reads fastest (pinned, on the GPU), for
   * pixels handed over already decoded (onyx_pipeline_submit_rgb). */
  void *(*host_alloc)(pl_backend *b, size_t bytes);
  void (*host_free)(pl_backend *b, void *ptr);
  /* Runs the first n slots (the whole max_batch is computed; slots >= n are
   * ignored); adds the batch's h2d / inference / d2h milliseconds to *t. */
  onyx_status (*run)(pl_backend *b, int n, onyx_stage_times *t);
  /* Detections of slot `slot` (model-input pixels, best first, at most
   * post->max_det) into out, whose capacity is post->lay.n_anchors; scratch
   * holds as many.  Returns how many, or -1 with the error set. */
  int (*detect)(pl_backend *b, int slot, const pl_post *post, det_box *out, det_box *scratch);
  /* Output o of slot `slot` as float32 on the host (classification scores). */
  const float *(*output)(pl_backend *b, int o, int slot, const pl_post *post);
  void (*free)(pl_backend *b);
};

/* The model's single 3-channel image input: its batch (fixed, or -1) and H x W
 * (*h, *w on entry: the size asked for, 0 for the model's; needed when symbolic). */
onyx_status pl_image_input(const onyx_tensor_info *in, int n_in, int n_out, int64_t *batch, int *h, int *w);

/* Backends: each allocates its own state, which starts with a pl_backend
 * (options: max_batch, input_w/h). */
onyx_status pl_cpu_create(const onyx_model *m, const onyx_pipeline_options *o, pl_backend **out);
onyx_status pl_gpu_create(onyx_engine *e, const onyx_pipeline_options *o, pl_backend **out);

#endif
