/*
 * onyx — an ONNX inference engine for CNNs.  The one public header.
 *
 * Handles are opaque.  Every call that can fail returns an onyx_status; on
 * failure onyx_last_error() gives a message (thread-local) naming what failed
 * and where.  Nothing here aborts the process on bad input.
 */
#ifndef ONYX_H
#define ONYX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ONYX_VERSION_MAJOR 0
#define ONYX_VERSION_MINOR 1
#define ONYX_VERSION_PATCH 0
#define ONYX_MAX_DIMS 8

typedef enum onyx_status {
  ONYX_OK = 0,
  ONYX_ERR_INVALID_ARG,   /* a caller passed something invalid */
  ONYX_ERR_IO,            /* a file could not be opened/read/written */
  ONYX_ERR_PARSE,         /* a file is not in the expected format */
  ONYX_ERR_INVALID_MODEL, /* the model is malformed (dangling names, cycles, ...) */
  ONYX_ERR_UNSUPPORTED,   /* valid, but onyx does not implement it */
  ONYX_ERR_SHAPE,         /* shapes or dtypes do not fit */
  ONYX_ERR_NO_MEMORY,     /* allocation failed or a size overflowed */
  ONYX_ERR_BACKEND,       /* a backend (CUDA, BLAS) failed */
  ONYX_ERR_INTERNAL,      /* a bug in onyx */
  ONYX_STATUS_COUNT
} onyx_status;

/* Element types; the values are ONNX's TensorProto.DataType numbers. */
typedef enum onyx_dtype {
  ONYX_DTYPE_UNDEFINED = 0,
  ONYX_DTYPE_FLOAT = 1,
  ONYX_DTYPE_UINT8 = 2,
  ONYX_DTYPE_INT8 = 3,
  ONYX_DTYPE_UINT16 = 4,
  ONYX_DTYPE_INT16 = 5,
  ONYX_DTYPE_INT32 = 6,
  ONYX_DTYPE_INT64 = 7,
  ONYX_DTYPE_STRING = 8,
  ONYX_DTYPE_BOOL = 9,
  ONYX_DTYPE_FLOAT16 = 10,
  ONYX_DTYPE_DOUBLE = 11,
  ONYX_DTYPE_UINT32 = 12,
  ONYX_DTYPE_UINT64 = 13,
  ONYX_DTYPE_COUNT
} onyx_dtype;

typedef enum onyx_backend {
  ONYX_BACKEND_CPU = 0,
  ONYX_BACKEND_CUDA,
  ONYX_BACKEND_COUNT
} onyx_backend;

/* ---- errors ------------------------------------------------------------ */
const char *onyx_status_name(onyx_status s);
/* Message of the last failed call on this thread ("" if none). */
const char *onyx_last_error(void);
const char *onyx_dtype_name(onyx_dtype t);
size_t onyx_dtype_size(onyx_dtype t); /* 0 for UNDEFINED/STRING */
const char *onyx_version_string(void);
/* Whether this build has the CUDA backend and a usable GPU is present. */
int onyx_cuda_available(void);

/* ---- models ------------------------------------------------------------ */
typedef struct onyx_model onyx_model;

typedef struct onyx_tensor_info {
  const char *name;
  onyx_dtype dtype;
  int ndim; /* -1 if unknown */
  int64_t dims[ONYX_MAX_DIMS]; /* -1 for a symbolic or unknown dimension */
  const char *dim_params[ONYX_MAX_DIMS]; /* symbolic name or NULL */
} onyx_tensor_info;

typedef struct onyx_model_meta {
  int64_t ir_version;
  const char *producer_name;
  const char *producer_version;
  const char *graph_name;
  int n_opsets;
  const char *const *opset_domains; /* "" is ai.onnx */
  const int64_t *opset_versions;
  int n_nodes;
  int64_t n_params;     /* elements in initializers and Constant nodes */
  int64_t param_bytes;  /* their size in bytes */
  int n_props;          /* ModelProto.metadata_props: key/value strings (e.g. a detector's "names") */
  const char *const *prop_keys;
  const char *const *prop_values;
} onyx_model_meta;

typedef struct onyx_node_info {
  const char *name;
  const char *op_type;
  const char *domain;
} onyx_node_info;

/* Load and validate an ONNX model.  External data files are looked up
 * beside the model and must stay inside its directory. */
onyx_status onyx_model_load(const char *path, onyx_model **out);
/* Same from memory; base_dir is where external data lives (NULL: none allowed). */
onyx_status onyx_model_load_memory(const void *data, size_t size, const char *base_dir,
                                   onyx_model **out);
void onyx_model_free(onyx_model *m);

onyx_status onyx_model_get_meta(const onyx_model *m, onyx_model_meta *meta);
int onyx_model_num_inputs(const onyx_model *m);
int onyx_model_num_outputs(const onyx_model *m);
onyx_status onyx_model_input(const onyx_model *m, int i, onyx_tensor_info *info);
onyx_status onyx_model_output(const onyx_model *m, int i, onyx_tensor_info *info);
onyx_status onyx_model_node(const onyx_model *m, int i, onyx_node_info *info);

/* ---- sessions: a model specialised to concrete input shapes, with buffers -- */
typedef struct onyx_session onyx_session;

typedef struct onyx_session_options {
  onyx_backend backend;
  int num_threads; /* 0: all cores */
  int opt_level;   /* graph passes run at prepare: 0 none (default), 1 identity/dead-code removal,
                      2 + BatchNormalization folding and Conv fusions, 3 + pointwise fusion */
} onyx_session_options;

void onyx_session_options_init(onyx_session_options *opt);

/* The model must outlive the session. */
onyx_status onyx_session_create(const onyx_model *m, const onyx_session_options *opt,
                                onyx_session **out);
void onyx_session_free(onyx_session *s);

/* Fix an input's shape (resolving symbolic dims) before prepare/run. */
onyx_status onyx_session_set_input_shape(onyx_session *s, const char *name, int ndim,
                                         const int64_t *dims);
/* Infer all shapes and fold constants for the current input shapes.
 * run() calls this itself when shapes changed. */
onyx_status onyx_session_prepare(onyx_session *s);
/* Copy an input in (its shape also fixes the input's shape). */
onyx_status onyx_session_set_input(onyx_session *s, const char *name, onyx_dtype dtype, int ndim,
                                   const int64_t *dims, const void *data);
onyx_status onyx_session_run(onyx_session *s);
/* After run: the i-th graph output; data stays valid until the next run/free. */
onyx_status onyx_session_output(const onyx_session *s, int i, onyx_tensor_info *info,
                                const void **data);
/* After prepare: shapes of graph inputs (symbolic dims resolved). */
onyx_status onyx_session_input(const onyx_session *s, int i, onyx_tensor_info *info);

typedef struct onyx_cost {
  int64_t macs;  /* multiply-accumulates in Conv/ConvTranspose/Gemm/MatMul */
  int64_t flops; /* 2*macs plus one per element of other ops */
  int64_t activation_bytes; /* sum of non-constant tensor sizes */
  int n_nodes;   /* nodes left after constant folding */
} onyx_cost;
/* After prepare. */
onyx_status onyx_session_cost(const onyx_session *s, onyx_cost *cost);


/* ---- engines: a model optimised for the GPU, saved and loaded ------------ */
typedef enum onyx_precision {
  ONYX_PRECISION_FP32 = 0, /* FP32 math, TF32 off */
  ONYX_PRECISION_TF32,     /* FP32 storage, TF32 tensor-core math in conv/gemm */
  ONYX_PRECISION_FP16,     /* FP16 storage and tensor cores; engine I/O stays FP32 */
  ONYX_PRECISION_COUNT
} onyx_precision;

/* Shape range of one input: the engine runs any shape between min and max;
 * tactics are timed at opt. */
typedef struct onyx_shape_range {
  const char *name;
  int ndim;
  int64_t min[ONYX_MAX_DIMS], opt[ONYX_MAX_DIMS], max[ONYX_MAX_DIMS];
} onyx_shape_range;

typedef struct onyx_build_options {
  onyx_precision precision;
  size_t workspace;           /* bytes a layer may use for scratch (0: 1 GiB) */
  int opt_level;              /* 0: no fusion; 1-3: graph passes (default 3) */
  int n_shapes;               /* ranges for inputs with symbolic dims (others: as declared) */
  const onyx_shape_range *shapes;
  const char *timing_cache;   /* file read before and written after timing, or NULL */
  int verbose;                /* print fused layers and tactic choices to stderr */
} onyx_build_options;

typedef struct onyx_engine onyx_engine;

typedef struct onyx_layer_info {
  const char *name;      /* fused layers: ONNX node names joined by " + " */
  const char *op_type;
  const char *kernel;    /* e.g. "cudnn:IMPLICIT_PRECOMP_GEMM", "onyx:pool2d" */
  const char *precision; /* "fp32", "tf32", "fp16" */
  int64_t tactic;
  int side_stream;       /* 1: runs on a second stream, concurrently with the layer before it */
} onyx_layer_info;

typedef struct onyx_engine_memory {
  size_t weight_bytes;     /* on the device, shared by all contexts */
  size_t activation_bytes; /* arena per context at the opt shapes */
  size_t workspace_bytes;  /* per context */
} onyx_engine_memory;

void onyx_build_options_init(onyx_build_options *o);
/* Optimises, lowers to CUDA and times tactics (needs a GPU). */
onyx_status onyx_engine_build(const onyx_model *m, const onyx_build_options *o, onyx_engine **out);
onyx_status onyx_engine_save(const onyx_engine *e, const char *path);
/* Refuses an engine built for another GPU or library version, naming what differs. */
onyx_status onyx_engine_load(const char *path, onyx_engine **out);
/* Reads an engine file for description only (no GPU or matching system
 * needed); contexts cannot be created from it. */
onyx_status onyx_engine_inspect(const char *path, onyx_engine **out);
void onyx_engine_free(onyx_engine *e);
/* What it was built for: "NVIDIA H200 (sm_90), CUDA runtime 13000, cuDNN 91400, cuBLASLt 130000". */
const char *onyx_engine_target(const onyx_engine *e);
/* The shape range of input i (name, min/opt/max). */
onyx_status onyx_engine_input_range(const onyx_engine *e, int i, onyx_shape_range *r);
int onyx_engine_num_layers(const onyx_engine *e);
onyx_status onyx_engine_layer(const onyx_engine *e, int i, onyx_layer_info *info);
int onyx_engine_num_inputs(const onyx_engine *e);
int onyx_engine_num_outputs(const onyx_engine *e);
onyx_status onyx_engine_input(const onyx_engine *e, int i, onyx_tensor_info *info);
onyx_status onyx_engine_output(const onyx_engine *e, int i, onyx_tensor_info *info);
onyx_status onyx_engine_get_memory(const onyx_engine *e, onyx_engine_memory *mem);
onyx_precision onyx_engine_precision(const onyx_engine *e);

/* ---- execution contexts: many per engine, one per thread/stream ---------- */
typedef struct onyx_context onyx_context;

onyx_status onyx_context_create(onyx_engine *e, onyx_context **out);
void onyx_context_free(onyx_context *c);
/* Input shapes within the engine's ranges (default: the opt shapes). */
onyx_status onyx_context_set_input_shape(onyx_context *c, const char *name, int ndim, const int64_t *dims);
/* Where an input is read from / an output written to at enqueue: host memory
 * (staged through pinned buffers) or device memory (used directly). */
onyx_status onyx_context_set_binding(onyx_context *c, const char *name, void *ptr, int on_device);
/* Pinned host buffer of an input/output: fill inputs / read outputs there to
 * skip the staging copy. Valid until the shape changes or the context is freed. */
onyx_status onyx_context_host_buffer(onyx_context *c, const char *name, void **ptr);
/* Queues H2D copies, the whole inference (a CUDA graph after the first run)
 * and D2H copies on stream (a cudaStream_t; NULL: the context's own stream).
 * Does not allocate or synchronise, but for the first enqueue at a shape: it
 * makes the layers, waits for the previous inference, runs the layers once
 * and captures the graph. */
onyx_status onyx_context_enqueue(onyx_context *c, void *stream);
/* Whether enqueue replays a captured CUDA graph (default on; falls back to
 * plain launches, with a warning, where capture fails). */
onyx_status onyx_context_use_graph(onyx_context *c, int enable);
/* 1 when onyx_context_enqueue replays a captured CUDA graph (one was captured
 * and graphs are on), 0 when it launches layers one by one (graphs off, not
 * captured yet, or capture failed); 0 without a GPU. */
int onyx_context_graph_active(const onyx_context *c);
typedef struct onyx_layer_time {
  const char *name, *op_type, *kernel; /* valid while the context's shapes stay */
  float median_ms;
} onyx_layer_time;
/* Per-layer GPU times from a separate run (iters inferences with events
 * between layers, so the main numbers are not perturbed); fills up to cap
 * entries, *n gets the number of layers. */
onyx_status onyx_context_profile(onyx_context *c, int iters, onyx_layer_time *out, int cap, int *n);
/* Waits for the last enqueue; host-bound outputs are then filled. */
onyx_status onyx_context_synchronize(onyx_context *c);
onyx_status onyx_context_output(const onyx_context *c, int i, onyx_tensor_info *info);

/* ---- staged enqueue and per-layer queries (what `onyx bench` measures) ---- */
/* CUDA events (cudaEvent_t as void *, created with timing enabled) that a
 * staged enqueue records around its three stages; a NULL member is not recorded. */
typedef struct onyx_stage_events {
  void *h2d_start, *h2d_end;         /* on h2d_stream, around the input copies */
  void *compute_start, *compute_end; /* on the compute stream, around the layers */
  void *d2h_start, *d2h_end;         /* on d2h_stream, around the output copies */
} onyx_stage_events;
/* One inference in three stages on three streams (cudaStream_t as void *):
 *   h2d_stream      input copies from the pinned buffers (onyx_context_host_buffer),
 *                   or device-to-device from device bindings;
 *   compute_stream  the layers only: a CUDA graph of the layers (no copies) when
 *                   graphs are on (onyx_context_use_graph), else launch by launch;
 *                   NULL: the context's own stream;
 *   d2h_stream      output copies to the pinned buffers (or device bindings).
 * h2d_stream / d2h_stream NULL leaves that stage out: the device buffers keep
 * what they hold.  The stages are ordered by events across the streams: compute
 * waits for this inference's inputs and for the previous inference's output
 * copy (the outputs are overwritten); the next input copy waits for this
 * compute (the inputs are read until the last layer).  So one context runs at
 * most one stage of each kind at a time, and the next input copy may overlap
 * this output copy.  Host-memory bindings (set_binding with on_device 0) are
 * refused: fill the pinned buffers instead.  onyx_context_synchronize waits for
 * the last stage.  Does not allocate or synchronise in steady state. */
onyx_status onyx_context_enqueue_staged(onyx_context *c, void *h2d_stream, void *compute_stream, void *d2h_stream,
                                        const onyx_stage_events *ev);
/* The layers the context runs at its current shapes (sets the context up
 * when needed, as the first enqueue would). */
onyx_status onyx_context_num_layers(onyx_context *c, int *n);
/* Layer i: name, op, kernel, tactic; precision from its output's storage
 * ("fp16", "fp32"/"tf32" per the engine, or the dtype of index data). */
onyx_status onyx_context_layer(onyx_context *c, int i, onyx_layer_info *info, int *n_inputs, int *n_outputs);
typedef struct onyx_layer_tensor {
  const char *name; /* "" for an omitted optional input */
  onyx_dtype dtype; /* storage type on the device */
  int ndim;
  int64_t dims[ONYX_MAX_DIMS];
  const char *format; /* "linear" (row-major), "nhwc" (channels last) or "strided" */
  int is_const;       /* weights and other constants */
} onyx_layer_tensor;
/* Input (is_output 0) or output k of layer i. */
onyx_status onyx_context_layer_tensor(onyx_context *c, int i, int is_output, int k, onyx_layer_tensor *t);
/* Raw per-layer GPU times from a separate run (iters inferences launched layer
 * by layer with events between layers): ms[layer * iters + iteration], for
 * layers * iters <= cap entries; *n_layers gets the number of layers. */
onyx_status onyx_context_profile_times(onyx_context *c, int iters, float *ms, size_t cap, int *n_layers);

/* ---- image pipeline: photos in, detections or classes out ----------------- */
/* A pipeline owns worker threads that decode JPEG/PNG images (submitted as
 * files or bytes) while the model runs on the previous batch, groups images
 * into batches, preprocesses them (letterbox / stretch / centre crop and
 * normalisation), runs the model (an engine context on the GPU, or a session
 * on the CPU), and decodes the outputs: detections (YOLOv5/v8/11, SSD layouts)
 * in the original image's pixels, or the top-k classes.  Results come back in
 * submission order, each with the caller's tag, its status and per-stage times.
 * A pipeline is used from one thread (its workers are internal). */
typedef struct onyx_pipeline onyx_pipeline;

typedef enum onyx_task {
  ONYX_TASK_AUTO = 0, /* detect when the outputs have a detector layout, else classify */
  ONYX_TASK_CLASSIFY,
  ONYX_TASK_DETECT,
  ONYX_TASK_COUNT
} onyx_task;

typedef enum onyx_fit {
  ONYX_FIT_AUTO = 0,  /* YOLO: letterbox; SSD: stretch; classify: crop */
  ONYX_FIT_LETTERBOX, /* scale to fit, centred, `pad` around (Ultralytics' LetterBox) */
  ONYX_FIT_STRETCH,   /* resize to the input size, aspect ratio not kept */
  ONYX_FIT_CROP,      /* shorter side to size*256/224, centre crop (torchvision ImageNet) */
  ONYX_FIT_COUNT
} onyx_fit;

typedef struct onyx_pipeline_options {
  onyx_task task;
  onyx_fit fit;
  /* The input is (level - mean[c]) / std[c] of the RGB levels 0..255.  NAN (the
   * default) means: YOLO mean 0, std 255; SSD mean 127, std 128; classify the
   * ImageNet mean/std (0.485, 0.456, 0.406) * 255 and (0.229, 0.224, 0.225) * 255. */
  float mean[3], std[3];
  float pad;          /* gray level around a letterboxed image (default 114) */
  float conf, iou;    /* detect: score threshold (0.25) and class-wise NMS IoU (0.45) */
  int max_det;        /* detect: at most this many boxes per image (300) */
  int topk;           /* classify: classes returned per image (5) */
  int max_batch;      /* images per inference: 0 = the engine's largest batch (1 when the batch is
                         fixed; 1 on the CPU), else at most that */
  int decode_threads; /* decoding workers: 0 = min(4, cores) */
  int input_w, input_h; /* the model input size when its height/width are symbolic (0: the model's) */
  int keep_pixels;      /* 1: results carry the decoded image (to draw on, say) */
} onyx_pipeline_options;

typedef struct onyx_detection {
  int class_id;
  float score;
  float x1, y1, x2, y2; /* original-image pixels, clamped to the image */
} onyx_detection;

typedef struct onyx_class_prob {
  int class_id;
  float prob; /* softmax of the output, or the output itself when it already is a probability vector */
} onyx_class_prob;

/* Milliseconds spent on one image.  Batch-wide stages (H2D, inference, D2H,
 * and the CPU session's run) are the batch's time divided by its images. */
typedef struct onyx_stage_times {
  double decode, preprocess, h2d, inference, d2h, postprocess;
} onyx_stage_times;

typedef struct onyx_pipeline_result {
  void *tag;           /* as submitted */
  onyx_status status;  /* ONYX_OK, or why this image failed (the others are not affected) */
  const char *error;   /* the message when status is not ONYX_OK, else "" */
  int width, height;   /* the decoded image (0 when it could not be decoded) */
  onyx_task task;
  int n_detections;    /* detect */
  const onyx_detection *detections;
  int n_classes;       /* classify: top-k, best first */
  const onyx_class_prob *classes;
  int softmax;         /* classify: 1 when softmax was applied to the output */
  int batch;           /* how many images the inference batch held */
  onyx_stage_times times;
  const unsigned char *pixels; /* keep_pixels: RGB8, rows top to bottom, width * height * 3 bytes; else NULL */
} onyx_pipeline_result;

/* What a pipeline runs (after create). */
typedef struct onyx_pipeline_info {
  onyx_task task;
  onyx_fit fit;
  const char *layout;     /* "yolov8", "yolov5", "ssd", or "classifier" */
  int n_classes;          /* without an SSD background */
  int input_w, input_h;
  int max_batch;
  int on_gpu;
  float mean[3], std[3], pad;
} onyx_pipeline_info;

void onyx_pipeline_options_init(onyx_pipeline_options *o);
/* On the GPU: the engine (FP32/TF32/FP16; one 3-channel NCHW float input) must
 * outlive the pipeline; one context, one stream, pinned buffers, all made here. */
onyx_status onyx_pipeline_create(onyx_engine *e, const onyx_pipeline_options *o, onyx_pipeline **out);
/* On the CPU: a session of the model (which must outlive the pipeline). */
onyx_status onyx_pipeline_create_cpu(const onyx_model *m, const onyx_pipeline_options *o, onyx_pipeline **out);
/* Waits for the workers and frees everything, results not taken included. */
void onyx_pipeline_free(onyx_pipeline *p);
onyx_status onyx_pipeline_info_get(const onyx_pipeline *p, onyx_pipeline_info *info);
/* Queues an image file / encoded bytes (JPEG or PNG; copied) with a caller tag.
 * Errors here are only about the call itself; a bad image comes back as a result. */
onyx_status onyx_pipeline_submit_file(onyx_pipeline *p, const char *path, void *tag);
onyx_status onyx_pipeline_submit_memory(onyx_pipeline *p, const void *data, size_t size, void *tag);
/* Queues an image that is already decoded (a video frame, say): 8-bit RGB, rows
 * top to bottom, `stride` bytes from one row to the next (0: width * 3).  The
 * pixels are copied; no decoding worker is involved (its decode time is 0). */
onyx_status onyx_pipeline_submit_rgb(onyx_pipeline *p, const unsigned char *rgb, int width, int height,
                                     size_t stride, void *tag);
/* The same without the copy: a buffer for one width x height RGB8 image (rows
 * packed, width * 3 bytes each) in memory the pipeline uploads from directly
 * (pinned, on the GPU), for a decoder or camera to write into; then
 * onyx_pipeline_submit_frame queues it and the buffer is the pipeline's again
 * (do not touch it after).  Buffers never submitted are freed with the pipeline. */
onyx_status onyx_pipeline_frame_buffer(onyx_pipeline *p, int width, int height, unsigned char **rgb);
onyx_status onyx_pipeline_submit_frame(onyx_pipeline *p, unsigned char *rgb, void *tag);
/* Runs what is queued even when it does not fill a batch. */
onyx_status onyx_pipeline_flush(onyx_pipeline *p);
/* The next result in submission order.  wait 0: *got = 0 when none is ready;
 * wait 1: blocks until one is ready (flushing a partial batch), *got = 0 only
 * when nothing is queued.  The result's arrays and message stay valid until
 * the next call of onyx_pipeline_next or run_one on this pipeline. */
onyx_status onyx_pipeline_next(onyx_pipeline *p, int wait, onyx_pipeline_result *res, int *got);
/* One image, synchronously (nothing else may be queued): submit, flush, wait.
 * Returns the image's own status (also in res->status). */
onyx_status onyx_pipeline_run_one(onyx_pipeline *p, const void *data, size_t size, onyx_pipeline_result *res);

#ifdef __cplusplus
}
#endif
#endif /* ONYX_H */
