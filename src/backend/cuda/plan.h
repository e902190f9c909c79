/* A plan: one prepared graph on the device (its weights uploaded once and its
 * activations placed in an arena by liveness), and a runner: one context's
 * layers for a plan (handles, arena, descriptors, tactics).
 *
 * Two lanes: the steps run in order on the main stream, except that a step
 * which reads nothing its predecessor writes may run on a side stream beside
 * it (a *pair*: ResNet's downsample 1x1 conv beside the block's first 3x3
 * conv, both reading the block input).  The step after a pair waits for both.
 * Liveness counts a pair as one time point, so that the arena never gives two
 * tensors of a pair (or anything live while it runs) the same bytes.  The
 * pairs are a pure function of the prepared graph (recomputed wherever a plan
 * is made; engine files store nothing of them); ONYX_CONCURRENT=0 makes none. */
#ifndef ONYX_BACKEND_CUDA_PLAN_H
#define ONYX_BACKEND_CUDA_PLAN_H

#include "backend/cuda/cuda_backend.h"
#include "engine/tactics.h"

typedef struct cuda_plan {
  ir_graph *g;        /* owned: prepared (and optimised) graph */
  int n_steps;
  int *steps;         /* indices of the nodes that run (not folded) */
  size_t arena_size;
  size_t *offset;     /* per tensor: arena offset, or SIZE_MAX */
  void *d_weights;    /* every constant a step reads, in one allocation */
  size_t weights_size;
  size_t *w_offset;   /* per tensor: offset in d_weights, or SIZE_MAX */
  unsigned char *side; /* per step: 1 when it runs on the side stream, concurrently with the step before */
  int n_side;          /* steps on the side stream (= pairs) */
  int *parent;         /* per tensor: the tensor it lies in (a view's input, a Concat input), or -1 */
  int refs;
} cuda_plan;

/* Takes ownership of g (also on failure). */
onyx_status cuda_plan_create(ir_graph *g, cuda_plan **out);
/* The arena and weight sizes a plan of g would have, without allocating on the device. */
onyx_status cuda_plan_measure(const ir_graph *g, size_t *arena_bytes, size_t *weight_bytes);
/* A plan of g without touching the device (no weights uploaded, d_weights NULL): what runs where, for
 * inspection and tests.  Takes ownership of g (also on failure); release with cuda_plan_release. */
onyx_status cuda_plan_create_host(ir_graph *g, cuda_plan **out);
/* The plan's invariant, from its steps, lanes, offsets and aliases alone (run on every plan made):
 * no two tensors whose bytes overlap are live at one time point unless one lies inside the other, and
 * neither step of a pair writes bytes the other reads or writes. */
onyx_status cuda_plan_check(const cuda_plan *p);
void cuda_plan_retain(cuda_plan *p);
void cuda_plan_release(cuda_plan *p);

typedef struct cuda_runner {
  cuda_plan *plan;
  cuda_build_opts opts;
  cuda_ctx ctx;       /* the main stream; its workspace fits every layer (profiling runs all of them here) */
  cuda_ctx side;      /* the side stream, its own cuDNN/cuBLASLt handles and workspace (unset: no pairs) */
  cudaEvent_t fork, join; /* a pair: the side stream waits for fork (main), the main stream for join (side) */
  bool serial;            /* every layer on the main stream (set after a failed CUDA graph capture) */
  void *arena;
  cuda_layer *layers; /* one per step */
  int n_layers;
} cuda_runner;

/* Initialises every layer.  Tactics come from cache when it holds the
 * layer's signature; otherwise they are timed when tune is set (and stored
 * in cache), else the implementation's heuristic choice is used.  Generated
 * code (cubins) comes from artifacts when it holds it (may be NULL), else it
 * is compiled, and stored there when store_artifacts is set (only while no
 * other runner reads artifacts: the cache has no lock). */
onyx_status cuda_runner_init(cuda_runner *r, cuda_plan *p, const cuda_build_opts *o, tactic_cache *cache,
                             artifact_cache *artifacts, bool store_artifacts, bool tune);
void cuda_runner_free(cuda_runner *r);
/* After a tuning cuda_runner_init: each layer of a pair (a side step or the step it runs beside) with
 * alternative tactics of other families (cuda_layer.alt_tactic) and a signature of its own is set up with
 * each, and one is kept when the whole inference, replayed as a CUDA graph, is at least 1 % faster with it
 * than with the best so far (the cache entry follows).  Layers timed alone miss what a pair does: a side
 * step's blocks take multiprocessors from the layer beside it (ResNet18 at batch 1: layer4's downsample as
 * gather + cuBLASLt GEMM, faster alone, delays the split-K conv beside it).  The activations are the
 * build's zeroed arena, as in the per-layer timing.  ONYX_PAIR_CHECK=0: no check (A/B); =alt: every such
 * layer takes its first alternative, untimed (tests). */
onyx_status cuda_runner_check_pairs(cuda_runner *r, tactic_cache *cache, artifact_cache *artifacts);
/* Launches every layer on r->ctx.stream, and the side steps of pairs on r->side.stream (forked from and
 * joined back into r->ctx.stream with events: capturable, the captured graph gets parallel branches). */
onyx_status cuda_runner_enqueue(cuda_runner *r);
/* Per-layer GPU time: runs the whole inference iters times with events
 * around every layer; ms[i] gets layer i's median (a separate, slower run:
 * the events add gaps the CUDA graph does not have; every layer runs on the
 * main stream, one after the other, pairs included). */
onyx_status cuda_runner_profile(cuda_runner *r, int iters, float *ms);
/* Device address of tensor t (arena or weights), NULL if it has none. */
void *cuda_runner_tensor(const cuda_runner *r, int t);

/* "Conv|f32[1,3,224,224]|f32[64,3,7,7]|...->f32[1,64,112,112]|a:5f3c...|tf32" */
void cuda_layer_signature(const cuda_layer *L, char *buf, size_t cap);

#endif
