/* Engine and context internals (the public API is in onyx.h). */
#ifndef ONYX_BACKEND_CUDA_ENGINE_H
#define ONYX_BACKEND_CUDA_ENGINE_H

#include <pthread.h>

#include "backend/cuda/plan.h"
#include "engine/format.h"
#include "engine/tactics.h"

typedef struct engine_input {
  int tensor;                 /* index in the model graph */
  int ndim;
  int64_t min[ONYX_MAX_DIMS], opt[ONYX_MAX_DIMS], max[ONYX_MAX_DIMS];
} engine_input;

typedef struct engine_layer {
  char *name, *op_type, *kernel;
  int64_t tactic;
  bool side; /* runs on the side stream, beside the layer before it (plan.h); not stored in files */
} engine_layer;

typedef struct engine_plan_slot {
  int64_t dims[8][ONYX_MAX_DIMS]; /* input shapes it was made for (first 8 inputs) */
  cuda_plan *plan;
} engine_plan_slot;

struct onyx_engine {
  ir_graph *model;            /* the model's graph, as loaded (owned) */
  onyx_precision precision;
  size_t workspace;
  int opt_level;
  engine_input *inputs;
  int n_inputs;
  tactic_cache tactics;
  artifact_cache artifacts;   /* generated kernels' cubins, made at build (section "cubins") */
  engine_layer *layers;       /* what runs at the opt shapes, for info/--verbose */
  int n_layers;
  bool lanes_known;           /* layers[].side is set (at build; for a loaded engine, by the first query) */
  onyx_engine_memory memory;
  eng_fingerprint fp;
  char target[512];           /* fp as text (engine_describe_target), for onyx_engine_target */
  bool inspect_only;          /* loaded by onyx_engine_inspect: no contexts */
  bool report_precision;      /* building: print the FP16 conversion report of the first plan */
  pthread_mutex_t lock;       /* guards plans */
  engine_plan_slot *plans;
  int n_plans, cap_plans;
};

/* Describes this machine's GPU and libraries (precision/options left empty). */
onyx_status engine_fingerprint_here(eng_fingerprint *fp);
/* Formats e->fp into e->target (onyx_engine_target). */
void engine_describe_target(onyx_engine *e);
/* An empty engine around a graph it takes (also on failure). */
onyx_status engine_new(ir_graph *model, onyx_engine **out);

/* engine_io.c */
/* A deep copy owning everything (a write/read round trip through graph_io). */
onyx_status engine_copy_graph(const ir_graph *src, ir_graph **out);
/* --timing-cache: merge a saved cache (absent file: nothing) / save the engine's
 * (tactics, and the cubins of generated kernels). */
onyx_status engine_timing_cache_load(onyx_engine *e, const char *path);
onyx_status engine_timing_cache_save(const onyx_engine *e, const char *path);

/* One process-wide (recursive) lock around the work that allocates or frees device memory (engines built,
 * loaded and freed; contexts made ready and freed) and around CUDA graph captures: cudaMalloc / cudaFree in
 * one thread may synchronise the device and so invalidate a capture under way in another (seen with four
 * threads making, capturing and freeing contexts of one engine). */
void engine_device_lock(void);
void engine_device_unlock(void);

#endif
