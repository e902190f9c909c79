/* FusedPointwise layer.
 *
 * Normally a kernel generated for the layer (fpw_codegen.h), compiled with
 * NVRTC into a cubin for this GPU and loaded with the driver API.  The cubin
 * is an artifact (cuda_layer.artifacts): looked up first, by the layer's
 * signature plus the architecture, NVRTC version and the source's digest, so
 * that an engine built once loads without compiling; compiled (and stored
 * when building) only when absent.
 *
 * Loading goes through the runtime's library API (cudaLibraryLoadData, the
 * runtime face of the driver's cuLibraryLoadData): a context-independent
 * kernel handle, launched with cudaLaunchKernel on ctx->stream (capturable),
 * and no link against libcuda, which machines without a GPU lack.
 *
 * The fallback is the generic interpreter kernel (kernels/pointwise.cu),
 * used with a warning naming the layer when the generated kernel cannot be
 * made (NVRTC refuses it, the cubin does not load), and always when the
 * environment sets ONYX_NVRTC=0. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/fpw_codegen.h"
#include "backend/cuda/k_common.h"
#include "backend/cuda/kernels/pointwise.h"
#include "backend/cuda/nvrtc.h"
#include "backend/cuda/ops_kernels.h"
#include "backend/cuda/plan.h"
#include "common/util.h"
#include "ops/fused.h"

_Static_assert(CUDA_FPW_MAX_IN >= FPW_MAX_IN && CUDA_FPW_MAX_INSTR >= FPW_MAX_INSTR &&
                   CUDA_FPW_MAX_DIMS >= ONYX_MAX_DIMS,
               "the CUDA program must hold any FusedPointwise program");

typedef struct fpw_state {
  int64_t total;
  /* generated kernel */
  cudaLibrary_t lib;
  cudaKernel_t fn;
  unsigned grid;
  const void *in[FPW_MAX_IN];
  void *out;
  void *args[FPW_MAX_IN + 1]; /* cudaLaunchKernel's parameters: &in[0], ..., &out */
  /* interpreter */
  cuda_fpw_prog *dev;
  cuda_fpw_ptrs ptrs;
} fpw_state;

static bool float_storage(onyx_dtype t) { return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_FLOAT16; }

#define runtime_error(L, err, call) cuda_layer_call_error((L), (err), (call), __FILE__, __LINE__)

/* ---- generated kernel ---------------------------------------------------------------- */

/* The output walked in its memory order (channels-last or row-major): dims
 * permuted so the output is contiguous in that order, each input read through
 * its own strides along the same dims (0 where it broadcasts). */
static void physical_dims(const cuda_layer *L, int64_t *dims, int64_t *out_strides,
                          int64_t (*in_strides)[ONYX_MAX_DIMS])
{
  const cuda_tensor *y = &L->out[0];
  int order[ONYX_MAX_DIMS];
  kc_phys_order(y, order);
  for (int k = 0; k < y->ndim; k++) {
    int d = order[k];
    dims[k] = y->dims[d];
    if (out_strides) out_strides[k] = y->strides[d];
    for (int i = 0; i < L->n_in; i++) {
      const cuda_tensor *x = &L->in[i];
      int j = d - (y->ndim - x->ndim);
      in_strides[i][k] = (j < 0 || (x->dims[j] == 1 && y->dims[d] != 1)) ? 0 : x->strides[j];
    }
  }
}

static void describe(const cuda_layer *L, fpw_kernel_desc *d)
{
  const cuda_tensor *y = &L->out[0];
  memset(d, 0, sizeof(*d));
  d->prog = L->node->params;
  d->n_in = L->n_in;
  d->ndim = y->ndim;
  physical_dims(L, d->dims, d->out_strides, d->in_strides);
  d->half_out = y->dtype == ONYX_DTYPE_FLOAT16;
  d->aligned16 = ((uintptr_t)y->ptr & 15) == 0;
  for (int i = 0; i < L->n_in; i++) {
    d->half_in[i] = L->in[i].dtype == ONYX_DTYPE_FLOAT16;
    d->aligned16 = d->aligned16 && ((uintptr_t)L->in[i].ptr & 15) == 0;
  }
}

static uint64_t fnv1a(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static void unload(fpw_state *s)
{
  if (s->lib) cudaLibraryUnload(s->lib);
  s->lib = NULL;
  s->fn = NULL;
}

/* Loads a cubin and finds its kernel; asking for the kernel's attributes
 * loads it into the device now (not lazily at the first, captured, launch)
 * and refuses a cubin this device cannot run. */
static onyx_status load_cubin(const cuda_layer *L, fpw_state *s, const void *image)
{
  struct cudaFuncAttributes attr;
  cudaError_t err = cudaLibraryLoadData(&s->lib, image, NULL, NULL, 0, NULL, NULL, 0);
  if (err != cudaSuccess) {
    s->lib = NULL;
    (void)cudaGetLastError();
    return runtime_error(L, err, "cudaLibraryLoadData");
  }
  const char *call = "cudaLibraryGetKernel(" FPW_KERNEL_NAME ")";
  err = cudaLibraryGetKernel(&s->fn, s->lib, FPW_KERNEL_NAME);
  if (err == cudaSuccess) {
    call = "cudaFuncGetAttributes";
    err = cudaFuncGetAttributes(&attr, (const void *)s->fn);
  }
  if (err == cudaSuccess && attr.maxThreadsPerBlock < FPW_BLOCK) {
    unload(s);
    return cuda_layer_error(L, ONYX_ERR_BACKEND, "the generated kernel runs at most %d threads per block",
                            attr.maxThreadsPerBlock);
  }
  if (err != cudaSuccess) {
    unload(s);
    (void)cudaGetLastError();
    return runtime_error(L, err, call);
  }
  return ONYX_OK;
}

/* Finds or compiles the layer's kernel and loads it. */
static onyx_status generated_init(cuda_ctx *ctx, cuda_layer *L, fpw_state *s)
{
  fpw_kernel_desc d;
  describe(L, &d);
  char *src = NULL;
  uint8_t *cubin = NULL;
  size_t size = 0;
  char *key = onyx_malloc(ARTIFACT_KEY_MAX);
  int major = 0, minor = 0;
  onyx_status st = key ? fpw_codegen(&d, &src) : ONYX_ERR_NO_MEMORY;
  if (st != ONYX_OK) {
    if (st != ONYX_ERR_NO_MEMORY)
      st = onyx_error_context(st, "%s node '%s' (cuda)", L->node->op_type, L->node->name);
    goto out;
  }
  if ((st = CUDA_STATUS(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, ctx->device))) ||
      (st = CUDA_STATUS(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, ctx->device))))
    goto out;
  char sig[TACTIC_SIG_MAX], ver[32];
  cuda_layer_signature(L, sig, sizeof(sig));
  cuda_nvrtc_version(ver, sizeof(ver));
  snprintf(key, ARTIFACT_KEY_MAX, "%s|cubin:sm_%d%d|%s|src:%016llx:%zu", sig, major, minor, ver,
           (unsigned long long)fnv1a(src), strlen(src));
  const artifact_entry *a = L->artifacts ? artifact_cache_find(L->artifacts, key) : NULL;
  if (a && (st = load_cubin(L, s, a->data)) != ONYX_OK)
    fprintf(stderr, "onyx: warning: %s; compiling the kernel again\n", onyx_last_error());
  if (!s->fn) {
    char name[300];
    snprintf(name, sizeof(name), "%s node '%s' (cuda)", L->node->op_type, L->node->name);
    if ((st = cuda_nvrtc_compile(src, name, major, minor, &cubin, &size)) != ONYX_OK) goto out;
    if ((st = load_cubin(L, s, cubin)) != ONYX_OK) goto out;
    if (L->store_artifacts && (st = artifact_cache_put(L->artifacts, key, cubin, size)) != ONYX_OK) goto out;
  }
  for (int i = 0; i < L->n_in; i++) {
    s->in[i] = L->in[i].ptr;
    s->args[i] = &s->in[i];
  }
  s->out = L->out[0].ptr;
  s->args[L->n_in] = &s->out;
  s->grid = fpw_grid(&d, ctx->sm_count);
  snprintf(L->kernel, sizeof(L->kernel), "nvrtc:pointwise[%d]%s", d.prog->n_instr,
           fpw_vectorised(&d) ? "x4" : "");
out:
  free(src);
  free(cubin);
  free(key);
  return st;
}

static bool nvrtc_enabled(void)
{
  const char *v = getenv("ONYX_NVRTC");
  return !v || strcmp(v, "0") != 0;
}

/* ---- interpreter ------------------------------------------------------------------- */

static onyx_status interpreter_init(cuda_layer *L, fpw_state *s)
{
  const fused_pointwise_params *p = L->node->params;
  const cuda_tensor *y = &L->out[0];
  cuda_fpw_prog *prog = onyx_calloc(1, sizeof(*prog));
  if (!prog) return ONYX_ERR_NO_MEMORY;
  prog->n_in = L->n_in;
  prog->n_instr = p->n_instr;
  prog->ndim = y->ndim;
  prog->half_out = y->dtype == ONYX_DTYPE_FLOAT16;
  prog->total = s->total;
  /* the kernel writes element e of the output's memory (see physical_dims) */
  physical_dims(L, prog->out_dims, NULL, prog->in_strides);
  for (int i = 0; i < L->n_in; i++) {
    prog->half_in[i] = L->in[i].dtype == ONYX_DTYPE_FLOAT16;
    s->ptrs.in[i] = L->in[i].ptr;
  }
  for (int k = 0; k < p->n_instr; k++) {
    const fpw_instr *ins = &p->instr[k];
    prog->instr[k][0] = ins->op;
    prog->instr[k][1] = ins->a;
    prog->instr[k][2] = ins->b;
    for (int c = 0; c < fpw_n_consts(ins->op) && c < 2; c++) prog->consts[k][c] = p->consts[ins->c + c];
  }
  s->ptrs.out = y->ptr;
  const onyx_status st = kc_upload(L, (void **)&s->dev, prog, sizeof(*prog), "uploading the program");
  free(prog);
  snprintf(L->kernel, sizeof(L->kernel), "onyx:pointwise[%d]", p->n_instr);
  return st;
}

/* ---- the layer ------------------------------------------------------------------------ */

static onyx_status fpw_init(cuda_ctx *ctx, cuda_layer *L)
{
  const fused_pointwise_params *p = L->node->params;
  const cuda_tensor *y = &L->out[0];
  if (L->n_in > CUDA_FPW_MAX_IN || p->n_instr < 1)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "%d inputs, %d instructions", L->n_in, p->n_instr);
  if (!float_storage(y->dtype))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "output type %s", onyx_dtype_name(y->dtype));
  for (int i = 0; i < L->n_in; i++)
    if (!float_storage(L->in[i].dtype))
      return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "input %d type %s", i,
                              onyx_dtype_name(L->in[i].dtype));
  fpw_state *s = onyx_calloc(1, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  L->state = s;
  s->total = cuda_tensor_numel(y);
  if (nvrtc_enabled()) {
    onyx_status st = generated_init(ctx, L, s);
    if (st == ONYX_OK) return ONYX_OK;
    if (st == ONYX_ERR_NO_MEMORY) return st;
    unload(s);
    fprintf(stderr, "onyx: warning: %s; running the generic pointwise kernel instead\n", onyx_last_error());
  }
  return interpreter_init(L, s);
}

static onyx_status fpw_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const fpw_state *s = L->state;
  if (s->fn) {
    if (!s->grid) return ONYX_OK;
    dim3 grid = {s->grid, 1, 1}, block = {FPW_BLOCK, 1, 1};
    cudaError_t err = cudaLaunchKernel((const void *)s->fn, grid, block, (void **)s->args, 0, ctx->stream);
    return err == cudaSuccess ? ONYX_OK : runtime_error(L, err, "cudaLaunchKernel(" FPW_KERNEL_NAME ")");
  }
  if (cuda_fused_pointwise(s->dev, s->total, s->ptrs, ctx->stream) != cudaSuccess)
    return cuda_launch_check(L, "fused_pointwise");
  return ONYX_OK;
}

static void fpw_release(cuda_layer *L)
{
  fpw_state *s = L->state;
  if (s) {
    unload(s);
    if (s->dev) cudaFree(s->dev);
  }
  free(s);
  L->state = NULL;
}

const cuda_op_impl cuda_fused_pointwise_impl = {fpw_init, fpw_enqueue, fpw_release};
