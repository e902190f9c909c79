/* Engines (build, describe) and execution contexts.
 *
 * An engine keeps the model's graph, the build options, the input shape
 * ranges and the tactic cache filled by timing at the opt shapes.  For each
 * set of input shapes it makes (once, shared by its contexts) a plan: the
 * graph prepared for those shapes, optimised, converted to the engine's
 * precision, with its weights on the device.  A context owns a runner for
 * the plan of its current shapes (handles, arena, layers with the cached
 * tactics), pinned staging buffers, and the CUDA graph it replays. */
#include "backend/cuda/engine.h"

#include <cudnn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "backend/cuda/layouts.h"
#include "backend/cuda/kernels/conv_pool.h"
#include "backend/cuda/kernels/pool_gemm.h"
#include "engine/conv_pool.h"
#include "engine/pool_gemm.h"
#include "engine/layout.h"
#include "engine/precision.h"
#include "graph/passes/passes.h"
#include "runtime/model.h"

static pthread_mutex_t device_mutex;
static pthread_once_t device_mutex_once = PTHREAD_ONCE_INIT;

static void device_mutex_init(void)
{
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&device_mutex, &a);
  pthread_mutexattr_destroy(&a);
}

void engine_device_lock(void)
{
  pthread_once(&device_mutex_once, device_mutex_init);
  pthread_mutex_lock(&device_mutex);
}

void engine_device_unlock(void) { pthread_mutex_unlock(&device_mutex); }

static const char *const precision_names[ONYX_PRECISION_COUNT] = {"fp32", "tf32", "fp16"};

void onyx_build_options_init(onyx_build_options *o)
{
  memset(o, 0, sizeof(*o));
  o->precision = ONYX_PRECISION_FP32;
  o->workspace = (size_t)1 << 30;
  o->opt_level = 3;
}

onyx_status engine_fingerprint_here(eng_fingerprint *fp)
{
  memset(fp, 0, sizeof(*fp));
  int dev, rt;
  struct cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  CUDA_CHECK(cudaRuntimeGetVersion(&rt));
  snprintf(fp->gpu_name, sizeof(fp->gpu_name), "%s", prop.name);
  fp->cc_major = (uint32_t)prop.major;
  fp->cc_minor = (uint32_t)prop.minor;
  fp->cuda_runtime = (uint32_t)rt;
  fp->cudnn = (uint32_t)cudnnGetVersion();
  fp->cublaslt = (uint32_t)cublasLtGetVersion();
  return ONYX_OK;
}

/* ---- plans per input shapes ----------------------------------------------- */

static cuda_build_opts engine_cuda_opts(const onyx_engine *e)
{
  cuda_build_opts o = {.allow_tf32 = e->precision == ONYX_PRECISION_TF32,
                       .fp16 = e->precision == ONYX_PRECISION_FP16,
                       .workspace_limit = e->workspace};
  return o;
}

static bool same_dims(const onyx_engine *e, const int64_t (*a)[ONYX_MAX_DIMS], const int64_t (*b)[ONYX_MAX_DIMS])
{
  for (int i = 0; i < e->n_inputs && i < 8; i++)
    if (memcmp(a[i], b[i], (size_t)e->inputs[i].ndim * sizeof(int64_t))) return false;
  return true;
}

/* Whether the feature maps go channels-last (into *o): by default in FP16 and TF32 engines, where
 * cuDNN's fast tensor-core convolutions are NHWC ones, as the layout pass's cost model chooses; FP32
 * engines (FMA math) stay row-major.  For comparisons and tests, ONYX_NHWC=0 turns the pass off,
 * =1 on and =all on with every node that can run channels-last doing so, for every precision. */
static bool nhwc_options(onyx_precision p, layout_options *o)
{
  const char *v = getenv("ONYX_NHWC");
  o->dtype = p == ONYX_PRECISION_FP16 ? ONYX_DTYPE_FLOAT16 : ONYX_DTYPE_FLOAT;
  o->all = v && strcmp(v, "all") == 0;
  if (v && strcmp(v, "0") == 0) return false;
  if (v && (o->all || strcmp(v, "1") == 0)) return true;
  return p == ONYX_PRECISION_FP16 || p == ONYX_PRECISION_TF32;
}

/* ResNet's stem (conv 7x7/2 + MaxPool 3x3/2) as one FusedConvPool layer (engine/conv_pool.h,
 * l_conv_pool.c): in FP16 engines whose feature maps are channels-last, on a GPU that runs its kernel
 * (sm_80 and later).  ONYX_CONV_POOL=0 keeps the conv and the pool apart (for comparisons). */
static onyx_status fuse_stem(ir_graph *g, onyx_precision p, bool channels_last)
{
  const char *v = getenv("ONYX_CONV_POOL");
  if (p != ONYX_PRECISION_FP16 || !channels_last || (v && strcmp(v, "0") == 0) || !cuda_conv_pool_supported())
    return ONYX_OK;
  conv_pool_options o = {ONYX_DTYPE_FLOAT16, true, true};
  int n;
  return conv_pool_fuse(g, &o, &n);
}

/* Classifier heads (GlobalAveragePool + Flatten + Gemm, and in FP16 engines the output Cast) as one
 * FusedPoolGemm layer (engine/pool_gemm.h, l_pool_gemm.c) at batches up to POOL_GEMM_MAX_BATCH, where
 * one launch is cheaper than three.  ONYX_POOL_GEMM=0 keeps them apart (for comparisons). */
#define POOL_GEMM_MAX_BATCH 8
static onyx_status fuse_head(ir_graph *g, onyx_precision p)
{
  const char *v = getenv("ONYX_POOL_GEMM");
  if (v && strcmp(v, "0") == 0) return ONYX_OK;
  const bool fp16 = p == ONYX_PRECISION_FP16;
  pool_gemm_options o = {fp16 ? ONYX_DTYPE_FLOAT16 : ONYX_DTYPE_FLOAT, POOL_GEMM_MAX_BATCH, CUDA_POOL_GEMM_MAX_K,
                         fp16};
  int n;
  return pool_gemm_fuse(g, &o, &n);
}

/* The prepared, optimised, precision-converted graph for these input shapes. */
static onyx_status engine_specialise(const onyx_engine *e, const int64_t (*dims)[ONYX_MAX_DIMS], ir_graph **out,
                                     precision_report *rep)
{
  ir_graph *g = ir_graph_clone(e->model);
  if (!g) return ONYX_ERR_NO_MEMORY;
  for (int i = 0; i < e->n_inputs; i++) {
    ir_tensor *t = &g->tensors[e->inputs[i].tensor];
    memcpy(t->dims, dims[i], (size_t)t->ndim * sizeof(int64_t));
  }
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 0);
  onyx_status st = graph_prepare(g, &cpu);
  cpu_ctx_free(&cpu);
  if (st == ONYX_OK) st = graph_optimize(g, e->opt_level, NULL);
  if (st == ONYX_OK && e->precision == ONYX_PRECISION_FP16) st = precision_convert_fp16(g, rep);
  layout_options lo;
  bool nhwc = st == ONYX_OK && nhwc_options(e->precision, &lo);
  if (nhwc) st = layout_assign_nhwc(g, cuda_op_layouts, &lo, NULL);
  if (st == ONYX_OK) st = fuse_stem(g, e->precision, nhwc);
  if (st == ONYX_OK) st = fuse_head(g, e->precision);
  if (st != ONYX_OK) {
    ir_graph_free(g);
    return st;
  }
  *out = g;
  return ONYX_OK;
}

/* Warnings about the FP16 conversion, as TensorRT gives them. */
static void report_fp16(const precision_report *r)
{
  if (r->subnormal) {
    fprintf(stderr, "onyx: warning: Detected subnormal FP16 values: %lld weight values of %d layer(s) are below "
                    "FP16's smallest normal number and lose precision:", (long long)r->subnormal,
            r->n_subnormal_layers);
    for (int i = 0; i < r->n_subnormal_layers && i < PRECISION_NAMES; i++)
      fprintf(stderr, "%s '%s'", i ? "," : "", r->subnormal_layers[i]);
    fprintf(stderr, "%s\n", r->n_subnormal_layers > PRECISION_NAMES ? ", ..." : "");
  }
  for (int i = 0; i < r->n_fp32_layers && i < PRECISION_NAMES; i++)
    fprintf(stderr, "onyx: warning: layer '%s' runs in FP32: its weights hold values beyond FP16's range (65504)\n",
            r->fp32_layers[i]);
  if (r->n_fp32_layers > PRECISION_NAMES)
    fprintf(stderr, "onyx: warning: ... and %d more layers run in FP32 for the same reason\n",
            r->n_fp32_layers - PRECISION_NAMES);
}

/* A plan for these shapes, made once per engine and shared (caller releases). */
static onyx_status engine_plan(onyx_engine *e, const int64_t (*dims)[ONYX_MAX_DIMS], cuda_plan **out)
{
  onyx_status st = ONYX_OK;
  pthread_mutex_lock(&e->lock);
  for (int i = 0; i < e->n_plans; i++)
    if (same_dims(e, e->plans[i].dims, dims)) {
      cuda_plan_retain(e->plans[i].plan);
      *out = e->plans[i].plan;
      goto out_unlock;
    }
  ir_graph *g;
  precision_report rep;
  memset(&rep, 0, sizeof(rep));
  if ((st = engine_specialise(e, dims, &g, &rep)) != ONYX_OK) goto out_unlock;
  if (e->report_precision) {
    e->report_precision = false;
    report_fp16(&rep);
  }
  cuda_plan *p;
  if ((st = cuda_plan_create(g, &p)) != ONYX_OK) goto out_unlock;
  if (!onyx_grow((void **)&e->plans, &e->cap_plans, e->n_plans + 1, sizeof(*e->plans))) {
    cuda_plan_release(p);
    st = ONYX_ERR_NO_MEMORY;
    goto out_unlock;
  }
  engine_plan_slot *slot = &e->plans[e->n_plans++];
  memcpy(slot->dims, dims, sizeof(slot->dims));
  slot->plan = p; /* the slot's reference */
  cuda_plan_retain(p);
  *out = p;
out_unlock:
  pthread_mutex_unlock(&e->lock);
  return st;
}

/* ---- engine ------------------------------------------------------------------ */

static void engine_layers_free(onyx_engine *e)
{
  for (int i = 0; i < e->n_layers; i++) {
    free(e->layers[i].name);
    free(e->layers[i].op_type);
    free(e->layers[i].kernel);
  }
  free(e->layers);
  e->layers = NULL;
  e->n_layers = 0;
}

void onyx_engine_free(onyx_engine *e)
{
  if (!e) return;
  engine_device_lock(); /* the plans' device memory */
  for (int i = 0; i < e->n_plans; i++) cuda_plan_release(e->plans[i].plan);
  engine_device_unlock();
  free(e->plans);
  engine_layers_free(e);
  tactic_cache_free(&e->tactics);
  artifact_cache_free(&e->artifacts);
  free(e->inputs);
  ir_graph_free(e->model);
  pthread_mutex_destroy(&e->lock);
  free(e);
}

onyx_status engine_new(ir_graph *model, onyx_engine **out)
{
  onyx_engine *e = onyx_calloc(1, sizeof(*e));
  if (!e) {
    ir_graph_free(model);
    return ONYX_ERR_NO_MEMORY;
  }
  e->model = model;
  pthread_mutex_init(&e->lock, NULL);
  tactic_cache_init(&e->tactics);
  artifact_cache_init(&e->artifacts);
  e->inputs = onyx_calloc((size_t)(model->n_inputs ? model->n_inputs : 1), sizeof(engine_input));
  if (!e->inputs) {
    onyx_engine_free(e);
    return ONYX_ERR_NO_MEMORY;
  }
  e->n_inputs = model->n_inputs;
  if (e->n_inputs > 8) {
    onyx_engine_free(e);
    return onyx_error(ONYX_ERR_UNSUPPORTED, "engines take at most 8 inputs, the model has %d", model->n_inputs);
  }
  *out = e;
  return ONYX_OK;
}

/* Input ranges from the declared shapes and the build options. */
static onyx_status engine_set_ranges(onyx_engine *e, const onyx_build_options *o)
{
  for (int i = 0; i < e->n_inputs; i++) {
    engine_input *in = &e->inputs[i];
    const ir_tensor *t = &e->model->tensors[e->model->inputs[i]];
    in->tensor = e->model->inputs[i];
    in->ndim = t->ndim;
    const onyx_shape_range *r = NULL;
    for (int k = 0; k < o->n_shapes; k++)
      if (o->shapes[k].name && strcmp(o->shapes[k].name, t->name) == 0) r = &o->shapes[k];
    for (int d = 0; d < t->ndim; d++) {
      if (r) {
        if (r->ndim != t->ndim)
          return onyx_error(ONYX_ERR_SHAPE, "shape range for input '%s' has rank %d, the input has rank %d", t->name,
                            r->ndim, t->ndim);
        in->min[d] = r->min[d], in->opt[d] = r->opt[d], in->max[d] = r->max[d];
        if (t->dims[d] >= 0 && (in->min[d] != t->dims[d] || in->max[d] != t->dims[d]))
          return onyx_error(ONYX_ERR_SHAPE, "input '%s' dimension %d is fixed at %lld by the model", t->name, d,
                            (long long)t->dims[d]);
        if (!(in->min[d] >= 0 && in->min[d] <= in->opt[d] && in->opt[d] <= in->max[d]))
          return onyx_error(ONYX_ERR_SHAPE, "input '%s' dimension %d: need 0 <= min <= opt <= max", t->name, d);
      } else if (t->dims[d] < 0) {
        return onyx_error(ONYX_ERR_SHAPE, "input '%s' has a symbolic dimension %d ('%s'): give its shapes when building",
                          t->name, d, t->dim_param[d] ? t->dim_param[d] : "?");
      } else {
        in->min[d] = in->opt[d] = in->max[d] = t->dims[d];
      }
    }
  }
  return ONYX_OK;
}

static onyx_status record_layers(onyx_engine *e, const cuda_runner *r)
{
  engine_layers_free(e);
  e->layers = onyx_calloc((size_t)(r->n_layers ? r->n_layers : 1), sizeof(engine_layer));
  if (!e->layers) return ONYX_ERR_NO_MEMORY;
  for (int i = 0; i < r->n_layers; i++) {
    const cuda_layer *L = &r->layers[i];
    engine_layer *el = &e->layers[e->n_layers++];
    el->name = onyx_strdup(L->node->name);
    el->op_type = onyx_strdup(L->node->op_type);
    el->kernel = onyx_strdup(L->kernel[0] ? L->kernel : "onyx");
    el->tactic = L->tactic;
    el->side = r->plan->side[i];
    if (!el->name || !el->op_type || !el->kernel) return ONYX_ERR_NO_MEMORY;
  }
  e->lanes_known = true;
  e->memory.weight_bytes = r->plan->weights_size;
  e->memory.activation_bytes = r->plan->arena_size;
  e->memory.workspace_bytes = r->ctx.workspace_size + r->side.workspace_size;
  return ONYX_OK;
}

static void opt_dims(const onyx_engine *e, int64_t (*dims)[ONYX_MAX_DIMS])
{
  memset(dims, 0, 8 * sizeof(*dims));
  for (int i = 0; i < e->n_inputs; i++) memcpy(dims[i], e->inputs[i].opt, sizeof(dims[i]));
}

/* Times every layer at the opt shapes (tactics go to e->tactics). */
static onyx_status engine_tune(onyx_engine *e)
{
  int64_t dims[8][ONYX_MAX_DIMS];
  opt_dims(e, dims);
  cuda_plan *p;
  ONYX_TRY(engine_plan(e, (const int64_t(*)[ONYX_MAX_DIMS])dims, &p));
  cuda_build_opts o = engine_cuda_opts(e);
  cuda_runner r;
  onyx_status st = cuda_runner_init(&r, p, &o, &e->tactics, &e->artifacts, true, true);
  cuda_plan_release(p);
  if (st != ONYX_OK) return st;
  st = cuda_runner_check_pairs(&r, &e->tactics, &e->artifacts);
  if (st == ONYX_OK) st = record_layers(e, &r);
  cuda_runner_free(&r);
  return st;
}

/* A workspace limit beyond the device's free memory could only fail: it is
 * clamped to what is free now (with a warning), and each layer's search is
 * bounded again by what is free when it runs (cuda_runner_init). */
static onyx_status engine_clamp_workspace(onyx_engine *e)
{
  size_t free_b = 0, total_b = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  if (e->workspace <= free_b) return ONYX_OK;
  fprintf(stderr, "onyx: warning: the workspace limit of %zu bytes is more than the GPU has free (%zu of %zu "
                  "bytes); using at most %zu\n", e->workspace, free_b, total_b, free_b);
  e->workspace = free_b;
  return ONYX_OK;
}

/* Refuses max shapes whose activations and weights can never fit on this GPU:
 * a context would fail at those shapes whatever else the device holds.  (At
 * the opt shapes the build itself allocates them.) */
static onyx_status engine_check_max_memory(onyx_engine *e)
{
  int64_t dims[8][ONYX_MAX_DIMS];
  memset(dims, 0, sizeof(dims));
  bool same = true;
  for (int i = 0; i < e->n_inputs; i++) {
    memcpy(dims[i], e->inputs[i].max, sizeof(dims[i]));
    same = same && memcmp(e->inputs[i].max, e->inputs[i].opt, sizeof(dims[i])) == 0;
  }
  if (same) return ONYX_OK;
  size_t free_b = 0, total_b = 0, arena = 0, weights = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  ir_graph *g;
  precision_report rep;
  memset(&rep, 0, sizeof(rep));
  ONYX_TRY(engine_specialise(e, (const int64_t(*)[ONYX_MAX_DIMS])dims, &g, &rep));
  onyx_status st = cuda_plan_measure(g, &arena, &weights);
  ir_graph_free(g);
  ONYX_TRY(st);
  if (arena <= total_b && weights <= total_b - arena) return ONYX_OK;
  char shapes[256], d[160];
  size_t off = 0;
  shapes[0] = '\0';
  for (int i = 0; i < e->n_inputs && off < sizeof(shapes); i++)
    off += (size_t)snprintf(shapes + off, sizeof(shapes) - off, "%s%s %s", i ? ", " : "",
                            e->model->tensors[e->inputs[i].tensor].name,
                            onyx_dims_str(e->inputs[i].ndim, e->inputs[i].max, d, sizeof(d)));
  return onyx_error(ONYX_ERR_NO_MEMORY,
                    "at the largest input shapes (%s) a context needs %zu bytes of activations and %zu bytes "
                    "of weights, more than the GPU's %zu bytes: lower the max shapes",
                    shapes, arena, weights, total_b);
}

static onyx_status engine_build(const onyx_model *m, const onyx_build_options *opt, onyx_engine **out);

onyx_status onyx_engine_build(const onyx_model *m, const onyx_build_options *opt, onyx_engine **out)
{
  engine_device_lock(); /* it allocates, and times tactics in CUDA graph captures */
  onyx_status st = engine_build(m, opt, out);
  engine_device_unlock();
  return st;
}

static onyx_status engine_build(const onyx_model *m, const onyx_build_options *opt, onyx_engine **out)
{
  if (!m || !out) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_engine_build: NULL argument");
  *out = NULL;
  onyx_build_options def;
  onyx_build_options_init(&def);
  const onyx_build_options *o = opt ? opt : &def;
  if ((unsigned)o->precision >= ONYX_PRECISION_COUNT)
    return onyx_error(ONYX_ERR_INVALID_ARG, "unknown precision %d", (int)o->precision);
  if (!onyx_cuda_available()) return onyx_error(ONYX_ERR_UNSUPPORTED, "building an engine needs a CUDA GPU; none is available");
  ir_graph *g;
  ONYX_TRY(engine_copy_graph(m->g, &g));
  onyx_engine *e;
  ONYX_TRY(engine_new(g, &e));
  e->precision = o->precision;
  e->workspace = o->workspace ? o->workspace : (size_t)1 << 30;
  e->opt_level = o->opt_level;
  onyx_status st = engine_set_ranges(e, o);
  if (st == ONYX_OK) st = engine_clamp_workspace(e);
  if (st == ONYX_OK) st = engine_fingerprint_here(&e->fp);
  if (st == ONYX_OK) {
    snprintf(e->fp.precision, sizeof(e->fp.precision), "%s", precision_names[e->precision]);
    snprintf(e->fp.build_options, sizeof(e->fp.build_options), "opt_level=%d workspace=%zu", e->opt_level,
             e->workspace);
    engine_describe_target(e);
  }
  if (st == ONYX_OK && o->timing_cache) st = engine_timing_cache_load(e, o->timing_cache);
  if (st == ONYX_OK) st = engine_check_max_memory(e);
  e->report_precision = true;
  if (st == ONYX_OK) st = engine_tune(e);
  if (st == ONYX_OK && o->timing_cache) st = engine_timing_cache_save(e, o->timing_cache);
  if (st != ONYX_OK) {
    onyx_engine_free(e);
    return st;
  }
  *out = e;
  return ONYX_OK;
}

int onyx_engine_num_layers(const onyx_engine *e) { return e ? e->n_layers : 0; }

/* For a loaded engine, which layers run on the side stream: not stored in the file but a function of the
 * plan at the opt shapes, made here on the host as a context would make it (and with this process's
 * ONYX_CONCURRENT).  Only a listing needs it, so it is made on the first query; where the plan cannot be
 * made (a context could not run then either) no layer is marked. */
static void engine_find_lanes(onyx_engine *e)
{
  pthread_mutex_lock(&e->lock);
  if (e->lanes_known) goto out_unlock;
  e->lanes_known = true;
  int64_t dims[8][ONYX_MAX_DIMS];
  opt_dims(e, dims);
  ir_graph *g;
  precision_report rep;
  memset(&rep, 0, sizeof(rep));
  cuda_plan *p = NULL;
  if (engine_specialise(e, (const int64_t(*)[ONYX_MAX_DIMS])dims, &g, &rep) != ONYX_OK ||
      cuda_plan_create_host(g, &p) != ONYX_OK)
    goto out_unlock;
  if (p->n_steps == e->n_layers)
    for (int i = 0; i < e->n_layers; i++) e->layers[i].side = p->side[i];
  cuda_plan_release(p);
out_unlock:
  pthread_mutex_unlock(&e->lock);
}

onyx_status onyx_engine_layer(const onyx_engine *e, int i, onyx_layer_info *info)
{
  if (!e || !info || i < 0 || i >= e->n_layers)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_engine_layer: no layer %d", i);
  engine_find_lanes((onyx_engine *)e); /* a cache behind the lock: the engine is logically unchanged */
  info->name = e->layers[i].name;
  info->op_type = e->layers[i].op_type;
  info->kernel = e->layers[i].kernel;
  info->precision = precision_names[e->precision];
  info->tactic = e->layers[i].tactic;
  info->side_stream = e->layers[i].side;
  return ONYX_OK;
}

int onyx_engine_num_inputs(const onyx_engine *e) { return e ? e->model->n_inputs : 0; }
int onyx_engine_num_outputs(const onyx_engine *e) { return e ? e->model->n_outputs : 0; }

onyx_status onyx_engine_input(const onyx_engine *e, int i, onyx_tensor_info *info)
{
  if (!e || !info || i < 0 || i >= e->model->n_inputs)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_engine_input: no input %d", i);
  model_tensor_info(&e->model->tensors[e->model->inputs[i]], info);
  return ONYX_OK;
}

onyx_status onyx_engine_output(const onyx_engine *e, int i, onyx_tensor_info *info)
{
  if (!e || !info || i < 0 || i >= e->model->n_outputs)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_engine_output: no output %d", i);
  model_tensor_info(&e->model->tensors[e->model->outputs[i]], info);
  return ONYX_OK;
}

onyx_status onyx_engine_get_memory(const onyx_engine *e, onyx_engine_memory *mem)
{
  if (!e || !mem) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_engine_get_memory: NULL argument");
  *mem = e->memory;
  return ONYX_OK;
}

onyx_precision onyx_engine_precision(const onyx_engine *e) { return e ? e->precision : ONYX_PRECISION_FP32; }

void engine_describe_target(onyx_engine *e)
{
  snprintf(e->target, sizeof(e->target), "%s (sm_%u%u), CUDA runtime %u, cuDNN %u, cuBLASLt %u, %s, %s",
           e->fp.gpu_name, e->fp.cc_major, e->fp.cc_minor, e->fp.cuda_runtime, e->fp.cudnn, e->fp.cublaslt,
           e->fp.precision, e->fp.build_options);
}

const char *onyx_engine_target(const onyx_engine *e) { return e ? e->target : ""; }

onyx_status onyx_engine_input_range(const onyx_engine *e, int i, onyx_shape_range *r)
{
  if (!e || !r || i < 0 || i >= e->n_inputs)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_engine_input_range: no input %d", i);
  const engine_input *in = &e->inputs[i];
  memset(r, 0, sizeof(*r));
  r->name = e->model->tensors[in->tensor].name;
  r->ndim = in->ndim;
  memcpy(r->min, in->min, sizeof(r->min));
  memcpy(r->opt, in->opt, sizeof(r->opt));
  memcpy(r->max, in->max, sizeof(r->max));
  return ONYX_OK;
}

/* ---- contexts ----------------------------------------------------------------- */

typedef struct binding {
  int tensor;       /* model graph index (same index in every plan's graph) */
  bool is_input;
  void *user;       /* caller's pointer, or NULL: the pinned buffer is the binding */
  bool on_device;
  void *pinned;     /* staging, sized for the current shape */
  size_t bytes;
} binding;

struct onyx_context {
  onyx_engine *e;
  int64_t dims[8][ONYX_MAX_DIMS];
  bool stale;          /* shapes changed since the runner was made */
  cuda_runner r;
  bool have_runner;
  binding *b;          /* inputs then outputs */
  int n_b;
  bool use_graph, graph_failed;
  cudaGraphExec_t gexec;
  cudaEvent_t done;
  /* staged enqueue (onyx_context_enqueue_staged, the block at the end of this file) */
  cudaGraphExec_t st_gexec;   /* the layers only, without copies */
  cudaEvent_t st_in_ready, st_compute_done, st_out_free, st_fork, st_join;
  bool st_events;
};

static void staged_drop(onyx_context *c, bool events); /* at the end of this file */

static void context_drop_graph(onyx_context *c)
{
  engine_device_lock();
  if (c->gexec) cudaGraphExecDestroy(c->gexec);
  c->gexec = NULL;
  staged_drop(c, false);
  engine_device_unlock();
}

static void context_drop_runner(onyx_context *c)
{
  context_drop_graph(c);
  for (int i = 0; i < c->n_b; i++) {
    if (c->b[i].pinned) cudaFreeHost(c->b[i].pinned);
    c->b[i].pinned = NULL;
    c->b[i].bytes = 0;
  }
  if (c->have_runner) cuda_runner_free(&c->r);
  c->have_runner = false;
}

void onyx_context_free(onyx_context *c)
{
  if (!c) return;
  if (c->done) cudaEventSynchronize(c->done);
  engine_device_lock();
  context_drop_runner(c);
  staged_drop(c, true);
  if (c->done) cudaEventDestroy(c->done);
  engine_device_unlock();
  free(c->b);
  free(c);
}

onyx_status onyx_context_create(onyx_engine *e, onyx_context **out)
{
  if (!e || !out) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_create: NULL argument");
  *out = NULL;
  if (e->inspect_only)
    return onyx_error(ONYX_ERR_INVALID_ARG, "this engine was opened for inspection only (onyx_engine_load runs it)");
  onyx_context *c = onyx_calloc(1, sizeof(*c));
  if (!c) return ONYX_ERR_NO_MEMORY;
  c->e = e;
  c->use_graph = true;
  c->stale = true;
  opt_dims(e, c->dims);
  c->n_b = e->model->n_inputs + e->model->n_outputs;
  c->b = onyx_calloc((size_t)c->n_b, sizeof(binding));
  onyx_status st = c->b ? ONYX_OK : ONYX_ERR_NO_MEMORY;
  for (int i = 0; st == ONYX_OK && i < c->n_b; i++) {
    c->b[i].is_input = i < e->model->n_inputs;
    c->b[i].tensor = c->b[i].is_input ? e->model->inputs[i] : e->model->outputs[i - e->model->n_inputs];
  }
  if (st == ONYX_OK) {
    cudaError_t err = cudaEventCreateWithFlags(&c->done, cudaEventDisableTiming);
    if (err != cudaSuccess) st = cuda_status(err, "cudaEventCreate", __FILE__, __LINE__);
  }
  if (st != ONYX_OK) {
    onyx_context_free(c);
    return st;
  }
  *out = c;
  return ONYX_OK;
}

static int find_binding(const onyx_context *c, const char *name)
{
  for (int i = 0; i < c->n_b; i++)
    if (strcmp(c->e->model->tensors[c->b[i].tensor].name, name) == 0) return i;
  return -1;
}

onyx_status onyx_context_set_input_shape(onyx_context *c, const char *name, int ndim, const int64_t *dims)
{
  if (!c || !name || (ndim && !dims)) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_set_input_shape: NULL argument");
  int i = find_binding(c, name);
  if (i < 0 || !c->b[i].is_input) return onyx_error(ONYX_ERR_INVALID_ARG, "the engine has no input named '%s'", name);
  const engine_input *in = &c->e->inputs[i];
  if (ndim != in->ndim)
    return onyx_error(ONYX_ERR_SHAPE, "input '%s' has rank %d, got %d dimensions", name, in->ndim, ndim);
  for (int d = 0; d < ndim; d++)
    if (dims[d] < in->min[d] || dims[d] > in->max[d])
      return onyx_error(ONYX_ERR_SHAPE, "input '%s' dimension %d = %lld is outside the engine's range [%lld, %lld]",
                        name, d, (long long)dims[d], (long long)in->min[d], (long long)in->max[d]);
  if (memcmp(c->dims[i], dims, (size_t)ndim * sizeof(int64_t)) != 0) {
    memcpy(c->dims[i], dims, (size_t)ndim * sizeof(int64_t));
    c->stale = true;
  }
  return ONYX_OK;
}

/* Makes the runner and staging for the current shapes (allocates: happens on
 * the first enqueue and after a shape change, never in steady state). */
static onyx_status context_make_ready(onyx_context *c);

static onyx_status context_ready(onyx_context *c)
{
  if (!c->stale) return ONYX_OK;
  engine_device_lock();
  onyx_status st = context_make_ready(c);
  engine_device_unlock();
  return st;
}

static onyx_status context_make_ready(onyx_context *c)
{
  if (c->done) CUDA_CHECK(cudaEventSynchronize(c->done));
  context_drop_runner(c);
  cuda_plan *p;
  ONYX_TRY(engine_plan(c->e, (const int64_t(*)[ONYX_MAX_DIMS])c->dims, &p));
  cuda_build_opts o = engine_cuda_opts(c->e);
  /* contexts of one engine share its caches from several threads: read only */
  onyx_status st = cuda_runner_init(&c->r, p, &o, &c->e->tactics, &c->e->artifacts, false, false);
  cuda_plan_release(p);
  if (st != ONYX_OK) return st;
  c->have_runner = true;
  for (int i = 0; i < c->n_b; i++) {
    binding *b = &c->b[i];
    b->bytes = ir_tensor_bytes(&c->r.plan->g->tensors[b->tensor]);
    cudaError_t err = cudaMallocHost(&b->pinned, b->bytes ? b->bytes : 1);
    if (err != cudaSuccess) return cuda_status(err, "cudaMallocHost (staging)", __FILE__, __LINE__);
  }
  c->stale = false;
  return ONYX_OK;
}

onyx_status onyx_context_set_binding(onyx_context *c, const char *name, void *ptr, int on_device)
{
  if (!c || !name) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_set_binding: NULL argument");
  int i = find_binding(c, name);
  if (i < 0) return onyx_error(ONYX_ERR_INVALID_ARG, "the engine has no input or output named '%s'", name);
  if (c->b[i].user != ptr || c->b[i].on_device != (on_device != 0)) context_drop_graph(c); /* addresses changed */
  c->b[i].user = ptr;
  c->b[i].on_device = on_device != 0;
  return ONYX_OK;
}

onyx_status onyx_context_host_buffer(onyx_context *c, const char *name, void **ptr)
{
  if (!c || !name || !ptr) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_host_buffer: NULL argument");
  int i = find_binding(c, name);
  if (i < 0) return onyx_error(ONYX_ERR_INVALID_ARG, "the engine has no input or output named '%s'", name);
  ONYX_TRY(context_ready(c));
  *ptr = c->b[i].pinned;
  return ONYX_OK;
}

onyx_status onyx_context_use_graph(onyx_context *c, int enable)
{
  if (!c) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_use_graph: NULL context");
  c->use_graph = enable != 0;
  if (!c->use_graph) context_drop_graph(c);
  return ONYX_OK;
}

int onyx_context_graph_active(const onyx_context *c) { return c && c->gexec && c->use_graph ? 1 : 0; }

/* The whole inference on the context's stream: copies in, layers, copies out. */
static onyx_status context_launch_all(onyx_context *c)
{
  cudaStream_t s = c->r.ctx.stream;
  const ir_graph *g = c->r.plan->g;
  for (int i = 0; i < c->n_b; i++) {
    const binding *b = &c->b[i];
    if (!b->is_input || !b->bytes) continue;
    void *d = cuda_runner_tensor(&c->r, b->tensor);
    if (!d) continue;
    const void *src = (b->user && b->on_device) ? b->user : b->pinned;
    CUDA_CHECK(cudaMemcpyAsync(d, src, b->bytes, b->on_device && b->user ? cudaMemcpyDeviceToDevice
                                                                         : cudaMemcpyHostToDevice, s));
  }
  ONYX_TRY(cuda_runner_enqueue(&c->r));
  for (int i = 0; i < c->n_b; i++) {
    const binding *b = &c->b[i];
    if (b->is_input || !b->bytes || g->tensors[b->tensor].is_const) continue;
    void *d = cuda_runner_tensor(&c->r, b->tensor);
    void *dst = (b->user && b->on_device) ? b->user : b->pinned;
    CUDA_CHECK(cudaMemcpyAsync(dst, d, b->bytes, b->on_device && b->user ? cudaMemcpyDeviceToDevice
                                                                         : cudaMemcpyDeviceToHost, s));
  }
  return ONYX_OK;
}

/* Captures the inference (with the copies in and out, or the layers alone) into *exec, under the device
 * lock (engine.h: another thread's cudaMalloc/cudaFree invalidated captures).  The layers run once first,
 * outside the capture and waited for, so that what libraries make lazily is made where they may allocate
 * and synchronise (a precaution: no failure was traced to it; the failures seen came from other threads,
 * RESULTS.md runs 18-20).  A failed capture leaves *exec NULL, warns once, and from then on every layer
 * launches on the main stream (a side stream may be left in the broken capture). */
static void context_capture_locked(onyx_context *c, bool copies, cudaGraphExec_t *exec);

static void context_capture(onyx_context *c, bool copies, cudaGraphExec_t *exec)
{
  engine_device_lock();
  context_capture_locked(c, copies, exec);
  engine_device_unlock();
}

static void context_capture_locked(onyx_context *c, bool copies, cudaGraphExec_t *exec)
{
  cudaStream_t s = c->r.ctx.stream;
  cudaGraph_t graph = NULL;
  *exec = NULL;
  /* (after the previous inference, which may still run on a caller's stream and use the arena) */
  onyx_status st = CUDA_STATUS(cudaEventSynchronize(c->done));
  if (st == ONYX_OK) st = cuda_runner_enqueue(&c->r);
  if (st != ONYX_OK || cudaStreamSynchronize(s) != cudaSuccess) goto failed;
  if (cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) != cudaSuccess) goto failed;
  st = copies ? context_launch_all(c) : cuda_runner_enqueue(&c->r);
  cudaError_t err = cudaStreamEndCapture(s, &graph);
  if (st != ONYX_OK || err != cudaSuccess) goto failed;
  if (cudaGraphInstantiate(exec, graph, 0) != cudaSuccess) goto failed;
  cudaGraphDestroy(graph);
  return;
failed:
  if (graph) cudaGraphDestroy(graph);
  *exec = NULL;
  (void)cudaGetLastError();
  if (!c->graph_failed)
    fprintf(stderr, "onyx: warning: CUDA graph capture failed (%s); launching layers one by one\n",
            onyx_last_error()[0] ? onyx_last_error() : "capture refused");
  c->graph_failed = true;
  c->r.serial = true;
}

onyx_status onyx_context_enqueue(onyx_context *c, void *stream)
{
  if (!c) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_enqueue: NULL context");
  ONYX_TRY(context_ready(c));
  cudaStream_t own = c->r.ctx.stream, user = stream ? (cudaStream_t)stream : own;
  for (int i = 0; i < c->n_b; i++) { /* host inputs go through pinned staging */
    const binding *b = &c->b[i];
    if (b->is_input && b->user && !b->on_device && b->bytes) memcpy(b->pinned, b->user, b->bytes);
  }
  if (c->use_graph && !c->gexec && !c->graph_failed) context_capture(c, true, &c->gexec);
  if (c->gexec) {
    CUDA_CHECK(cudaGraphLaunch(c->gexec, user));
  } else {
    if (user != own) { /* order the context's stream after the caller's */
      CUDA_CHECK(cudaEventRecord(c->done, user));
      CUDA_CHECK(cudaStreamWaitEvent(own, c->done, 0));
    }
    ONYX_TRY(context_launch_all(c));
    if (user != own) {
      CUDA_CHECK(cudaEventRecord(c->done, own));
      CUDA_CHECK(cudaStreamWaitEvent(user, c->done, 0));
    }
  }
  CUDA_CHECK(cudaEventRecord(c->done, user));
  return ONYX_OK;
}

onyx_status onyx_context_synchronize(onyx_context *c)
{
  if (!c) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_synchronize: NULL context");
  CUDA_CHECK(cudaEventSynchronize(c->done));
  if (!c->have_runner) return ONYX_OK;
  const ir_graph *g = c->r.plan->g;
  for (int i = 0; i < c->n_b; i++) {
    const binding *b = &c->b[i];
    if (b->is_input || (b->user && b->on_device) || !b->bytes) continue;
    const ir_tensor *t = &g->tensors[b->tensor];
    const void *src = t->is_const ? t->data : b->pinned; /* folded outputs never touch the GPU */
    if (b->user) memcpy(b->user, src, b->bytes);
    else if (t->is_const) memcpy(b->pinned, src, b->bytes);
  }
  return ONYX_OK;
}

onyx_status onyx_context_output(const onyx_context *c, int i, onyx_tensor_info *info)
{
  if (!c || !info || i < 0 || i >= c->e->model->n_outputs)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_output: no output %d", i);
  if (!c->have_runner) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_output: nothing has been enqueued yet");
  model_tensor_info(&c->r.plan->g->tensors[c->e->model->outputs[i]], info);
  return ONYX_OK;
}

onyx_status onyx_context_profile(onyx_context *c, int iters, onyx_layer_time *out, int cap, int *n)
{
  if (!c || !n || iters < 1 || (cap > 0 && !out))
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_profile: bad argument");
  ONYX_TRY(context_ready(c));
  CUDA_CHECK(cudaEventSynchronize(c->done));
  float *ms = onyx_calloc((size_t)c->r.n_layers + 1, sizeof(float));
  if (!ms) return ONYX_ERR_NO_MEMORY;
  onyx_status st = cuda_runner_profile(&c->r, iters, ms);
  *n = c->r.n_layers;
  for (int i = 0; st == ONYX_OK && i < c->r.n_layers && i < cap; i++) {
    const cuda_layer *L = &c->r.layers[i];
    out[i] = (onyx_layer_time){L->node->name, L->node->op_type, L->kernel, ms[i]};
  }
  free(ms);
  return st;
}

/* ==== staged enqueue, layer queries, raw profile (onyx bench) =====================
 * Kept in one block: onyx_context_enqueue_staged runs one inference as three
 * stages on three streams so that each can be timed with events, with a CUDA
 * graph of the layers alone (c->st_gexec) for the compute stage. */
#include <nvtx3/nvToolsExt.h>

static void staged_drop(onyx_context *c, bool events)
{
  if (c->st_gexec) cudaGraphExecDestroy(c->st_gexec);
  c->st_gexec = NULL;
  if (!events || !c->st_events) return;
  cudaEvent_t *ev[] = {&c->st_in_ready, &c->st_compute_done, &c->st_out_free, &c->st_fork, &c->st_join};
  for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
    if (*ev[i]) cudaEventDestroy(*ev[i]);
  c->st_in_ready = c->st_compute_done = c->st_out_free = c->st_fork = c->st_join = NULL;
  c->st_events = false;
}

static onyx_status staged_events_init(onyx_context *c)
{
  if (c->st_events) return ONYX_OK;
  cudaEvent_t *ev[] = {&c->st_in_ready, &c->st_compute_done, &c->st_out_free, &c->st_fork, &c->st_join};
  c->st_events = true; /* staged_drop frees whichever were made */
  for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
    CUDA_CHECK(cudaEventCreateWithFlags(ev[i], cudaEventDisableTiming));
  return ONYX_OK;
}

/* Input copies (inputs) or output copies on s; device bindings are copied device to device. */
static onyx_status staged_copies(onyx_context *c, bool inputs, cudaStream_t s)
{
  const ir_graph *g = c->r.plan->g;
  for (int i = 0; i < c->n_b; i++) {
    const binding *b = &c->b[i];
    if (b->is_input != inputs || !b->bytes || (!inputs && g->tensors[b->tensor].is_const)) continue;
    void *d = cuda_runner_tensor(&c->r, b->tensor);
    if (!d) continue;
    bool dev = b->user && b->on_device;
    void *host = dev ? b->user : b->pinned;
    enum cudaMemcpyKind kind = dev ? cudaMemcpyDeviceToDevice : inputs ? cudaMemcpyHostToDevice
                                                                       : cudaMemcpyDeviceToHost;
    CUDA_CHECK(cudaMemcpyAsync(inputs ? d : host, inputs ? host : d, b->bytes, kind, s));
  }
  return ONYX_OK;
}

static onyx_status st_record(void *ev, cudaStream_t s)
{
  if (ev) CUDA_CHECK(cudaEventRecord((cudaEvent_t)ev, s));
  return ONYX_OK;
}

/* The layers on cs: the graph, or launches on the runner's stream joined to cs. */
static onyx_status staged_compute(onyx_context *c, cudaStream_t cs)
{
  cudaStream_t own = c->r.ctx.stream;
  if (c->st_gexec) {
    CUDA_CHECK(cudaGraphLaunch(c->st_gexec, cs));
    return ONYX_OK;
  }
  if (cs != own) {
    CUDA_CHECK(cudaEventRecord(c->st_fork, cs));
    CUDA_CHECK(cudaStreamWaitEvent(own, c->st_fork, 0));
  }
  ONYX_TRY(cuda_runner_enqueue(&c->r));
  if (cs != own) {
    CUDA_CHECK(cudaEventRecord(c->st_join, own));
    CUDA_CHECK(cudaStreamWaitEvent(cs, c->st_join, 0));
  }
  return ONYX_OK;
}

onyx_status onyx_context_enqueue_staged(onyx_context *c, void *h2d_stream, void *compute_stream, void *d2h_stream,
                                        const onyx_stage_events *ev)
{
  if (!c) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_enqueue_staged: NULL context");
  const onyx_stage_events none = {0};
  if (!ev) ev = &none;
  for (int i = 0; i < c->n_b; i++)
    if (c->b[i].user && !c->b[i].on_device)
      return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_enqueue_staged: '%s' is bound to host memory; staged "
                        "enqueue copies from/to the pinned buffers (onyx_context_host_buffer)",
                        c->e->model->tensors[c->b[i].tensor].name);
  ONYX_TRY(context_ready(c));
  ONYX_TRY(staged_events_init(c));
  cudaStream_t hs = (cudaStream_t)h2d_stream, ds = (cudaStream_t)d2h_stream;
  cudaStream_t cs = compute_stream ? (cudaStream_t)compute_stream : c->r.ctx.stream;
  if (c->use_graph && !c->st_gexec && !c->graph_failed) /* a graph of the layers alone */
    context_capture(c, false, &c->st_gexec);
  if (hs) {
    CUDA_CHECK(cudaStreamWaitEvent(hs, c->st_compute_done, 0)); /* the previous compute has read the inputs */
    nvtxRangePushA("onyx H2D");
    onyx_status st = st_record(ev->h2d_start, hs);
    if (st == ONYX_OK) st = staged_copies(c, true, hs);
    if (st == ONYX_OK) st = st_record(ev->h2d_end, hs);
    if (st == ONYX_OK) st = st_record(c->st_in_ready, hs);
    nvtxRangePop();
    ONYX_TRY(st);
    CUDA_CHECK(cudaStreamWaitEvent(cs, c->st_in_ready, 0));
  }
  if (ds) CUDA_CHECK(cudaStreamWaitEvent(cs, c->st_out_free, 0)); /* the previous outputs are copied out */
  nvtxRangePushA("onyx compute");
  onyx_status st = st_record(ev->compute_start, cs);
  if (st == ONYX_OK) st = staged_compute(c, cs);
  if (st == ONYX_OK) st = st_record(ev->compute_end, cs);
  if (st == ONYX_OK) st = st_record(c->st_compute_done, cs);
  nvtxRangePop();
  ONYX_TRY(st);
  if (ds) {
    nvtxRangePushA("onyx D2H");
    st = CUDA_STATUS(cudaStreamWaitEvent(ds, c->st_compute_done, 0));
    if (st == ONYX_OK) st = st_record(ev->d2h_start, ds);
    if (st == ONYX_OK) st = staged_copies(c, false, ds);
    if (st == ONYX_OK) st = st_record(ev->d2h_end, ds);
    if (st == ONYX_OK) st = st_record(c->st_out_free, ds);
    nvtxRangePop();
    ONYX_TRY(st);
  }
  CUDA_CHECK(cudaEventRecord(c->done, ds ? ds : cs));
  return ONYX_OK;
}

onyx_status onyx_context_num_layers(onyx_context *c, int *n)
{
  if (!c || !n) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_num_layers: NULL argument");
  ONYX_TRY(context_ready(c));
  *n = c->r.n_layers;
  return ONYX_OK;
}

static const char *st_layer_precision(const onyx_context *c, const cuda_layer *L)
{
  onyx_dtype dt = L->n_out ? L->out[0].dtype : ONYX_DTYPE_FLOAT;
  if (dt == ONYX_DTYPE_FLOAT16) return "fp16";
  if (dt == ONYX_DTYPE_FLOAT) return c->e->precision == ONYX_PRECISION_TF32 ? "tf32" : "fp32";
  return onyx_dtype_name(dt);
}

onyx_status onyx_context_layer(onyx_context *c, int i, onyx_layer_info *info, int *n_inputs, int *n_outputs)
{
  if (!c || !info) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_layer: NULL argument");
  ONYX_TRY(context_ready(c));
  if (i < 0 || i >= c->r.n_layers) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_layer: no layer %d", i);
  const cuda_layer *L = &c->r.layers[i];
  info->name = L->node->name;
  info->op_type = L->node->op_type;
  info->kernel = L->kernel[0] ? L->kernel : "onyx";
  info->precision = st_layer_precision(c, L);
  info->tactic = L->tactic;
  info->side_stream = c->r.plan->side[i];
  if (n_inputs) *n_inputs = L->n_in;
  if (n_outputs) *n_outputs = L->n_out;
  return ONYX_OK;
}

/* "linear" for contiguous row-major strides, "nhwc" for channels-last 4-D ones. */
static const char *st_tensor_format(const cuda_tensor *t)
{
  int64_t expect = 1;
  bool linear = true;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (t->dims[d] != 1 && t->strides[d] != expect) linear = false;
    expect *= t->dims[d];
  }
  if (linear) return "linear";
  if (t->ndim == 4) {
    int64_t C = t->dims[1], H = t->dims[2], W = t->dims[3];
    if (t->strides[1] == 1 && t->strides[3] == C && t->strides[2] == W * C && t->strides[0] == H * W * C)
      return "nhwc";
  }
  return "strided";
}

onyx_status onyx_context_layer_tensor(onyx_context *c, int i, int is_output, int k, onyx_layer_tensor *t)
{
  if (!c || !t) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_layer_tensor: NULL argument");
  ONYX_TRY(context_ready(c));
  if (i < 0 || i >= c->r.n_layers) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_layer_tensor: no layer %d", i);
  const cuda_layer *L = &c->r.layers[i];
  int n = is_output ? L->n_out : L->n_in;
  if (k < 0 || k >= n)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_layer_tensor: layer %d has no %s %d", i,
                      is_output ? "output" : "input", k);
  int ti = is_output ? L->node->out[k] : L->node->in[k];
  const cuda_tensor *ct = is_output ? &L->out[k] : &L->in[k];
  memset(t, 0, sizeof(*t));
  t->name = "";
  t->format = "linear";
  if (ti < 0) return ONYX_OK; /* omitted optional input */
  const ir_tensor *x = &L->g->tensors[ti];
  t->name = x->name ? x->name : "";
  t->dtype = ct->dtype;
  t->ndim = ct->ndim;
  memcpy(t->dims, ct->dims, sizeof(t->dims));
  t->format = st_tensor_format(ct);
  t->is_const = x->is_const;
  return ONYX_OK;
}

onyx_status onyx_context_profile_times(onyx_context *c, int iters, float *ms, size_t cap, int *n_layers)
{
  if (!c || !n_layers || iters < 1 || (cap && !ms))
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_profile_times: bad argument");
  ONYX_TRY(context_ready(c));
  int n = c->r.n_layers;
  *n_layers = n;
  if ((size_t)n * (size_t)iters > cap)
    return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_context_profile_times: %d layers x %d iterations do not fit in %zu",
                      n, iters, cap);
  CUDA_CHECK(cudaEventSynchronize(c->done));
  cudaStream_t s = c->r.ctx.stream;
  cudaEvent_t *ev = onyx_calloc((size_t)n + 1, sizeof(cudaEvent_t));
  if (!ev) return ONYX_ERR_NO_MEMORY;
  onyx_status st = ONYX_OK;
  for (int i = 0; i <= n && st == ONYX_OK; i++) st = CUDA_STATUS(cudaEventCreate(&ev[i]));
  nvtxRangePushA("onyx profile");
  for (int it = 0; it < iters && st == ONYX_OK; it++) {
    st = CUDA_STATUS(cudaEventRecord(ev[0], s));
    for (int i = 0; i < n && st == ONYX_OK; i++) {
      const cuda_layer *L = &c->r.layers[i];
      nvtxRangePushA(L->node->name);
      st = cuda_ops[L->node->op]->enqueue(&c->r.ctx, L);
      nvtxRangePop();
      if (st == ONYX_OK) st = CUDA_STATUS(cudaEventRecord(ev[i + 1], s));
    }
    if (st == ONYX_OK) st = CUDA_STATUS(cudaEventSynchronize(ev[n]));
    for (int i = 0; i < n && st == ONYX_OK; i++)
      st = CUDA_STATUS(cudaEventElapsedTime(&ms[(size_t)i * (size_t)iters + (size_t)it], ev[i], ev[i + 1]));
  }
  nvtxRangePop();
  for (int i = 0; i <= n; i++)
    if (ev[i]) cudaEventDestroy(ev[i]);
  free(ev);
  return st;
}
/* ==== end of the onyx bench block ==================================================== */
