/* Conv and ConvTranspose layers through cuDNN's legacy convolution API.
 *
 * Geometry comes from the same resolution the CPU kernels use
 * (nn_conv_geom / nn_conv_transpose_geom: auto_pad, pads, output_padding,
 * output_shape), so both backends agree on every shape and pad.
 *
 * Conv: cudnnConvolutionForward, then the bias in our epilogue kernel.  cuDNN
 * pads symmetrically; the symmetric part of the pads goes to cuDNN and what is
 * left over (pad_begin != pad_end, e.g. SAME_UPPER with stride 2) is added by
 * copying the input into a zero-padded buffer at the start of the workspace.
 *
 * ConvTranspose: cudnnConvolutionBackwardData (the adjoint of the forward
 * conv whose filter is the ConvTranspose weight C x M/group x k).  When the
 * pads are symmetric and cuDNN's forward shape relation reproduces the input
 * size, it writes the output directly; otherwise (asymmetric or negative pads,
 * output_padding >= stride) it writes the uncropped result, of extent
 * s * (in - 1) + dilated kernel per dim, into the workspace and a window copy
 * crops or zero-extends it into the output and adds the bias.
 *
 * Spatial ranks 1..3: 1-D runs as 2-D with H = 1.  Storage FLOAT or FLOAT16,
 * math in float.  FP32 math is FMA-only (CUDNN_FMA_MATH: CUDNN_DEFAULT_MATH
 * would let cuDNN use TF32 on Ampere and later) unless opts->allow_tf32;
 * FP16 storage uses tensor cores.
 *
 * The epilogue (conv_state.act / .z: y = act(conv + bias + z), kernels/epilogue.cu) serves the
 * internal FusedConv op of the graph passes (conv + bias + activation + residual Z); Conv uses it for
 * the bias alone.  cuDNN's fused call (conv + bias + Z, then ReLU or identity) is timed beside it.
 *
 * Channels-last (FP16 and TF32 engines, engine/layout.c): when the filter is channels-last (stored KRSC by
 * the layout pass) the layer runs cuDNN's NHWC descriptors; X, Y and Z are then channels-last
 * too (or of a shape whose two layouts coincide), and the epilogue and pre-pad index NHWC.
 * ConvTranspose is row-major only.
 *
 * GEMM form (channels-last 1x1 convs, group 1, no pads, epilogue bias + Z + ReLU or none): the
 * conv is the product Y [P x M] = X [P x C] W [M x C]^T over the P = N * H' * W' output pixels, run by
 * cuBLASLt with bias, Z (as its C, beta 1) and ReLU in its epilogue, in FP16 storage with FP32
 * accumulation, or FP32 storage with TF32 math (TF32 engines).  A stride other than 1 first
 * gathers the strided pixels into the workspace.  cuDNN's kernels for the 1x1 stride-2 downsample
 * convs of ResNets are far from the memory floor at large batches (bench/NOTES.md); this form is
 * timed beside them.
 *
 * Split-K form (channels-last FP16 2-D convs without groups, on sm_90, kernels/conv_splitk.h): onyx's
 * own implicit GEMM, the reduction split over the blocks of a thread-block cluster, bias, Z and any
 * activation in its epilogue, pads handled as it reads (no pre-pad).  cuDNN's kernels run ResNet18's
 * batch-1 layer3/layer4 convs (14 x 14 and 7 x 7 maps, K = 1152-4608) on 8-20 blocks of the H200's
 * 132 multiprocessors; this form is timed beside them for every split it covers.
 *
 * Tactic: algo + 256 * cudnnMathType_t (+ 65536 for cuDNN's fused call), for the GEMM form the
 * index of cuBLASLt's heuristic candidate + 2 * 65536, for the split-K form the split + 3 * 65536.
 * With L->tune every algorithm whose workspace fits opts->workspace_limit is timed by cuDNN's
 * Find*Ex on the layer's real shapes and buffers and the fastest is kept; otherwise the recorded
 * tactic is used, or cuDNN's heuristic first choice. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/k_common.h"
#include "backend/cuda/kernels/conv_splitk.h"
#include "backend/cuda/kernels/copy.h"
#include "backend/cuda/kernels/epilogue.h"
#include "backend/cuda/ops_libs.h"
#include "common/util.h"
#include "ops/fused.h"
#include "ops/nn.h"

/* The legacy convolution API is deprecated in cuDNN 9 (the graph API replaces it); it is this
 * first version's choice. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define CONV_WS_ALIGN 256
#define TACTIC_MATH_SHIFT 256
/* Tactic = algo + TACTIC_MATH_SHIFT * math + TACTIC_FLAG_SHIFT * flags. */
#define TACTIC_FLAG_SHIFT 65536
#define FLAG_FUSED 1 /* bias, Z and ReLU/identity inside cudnnConvolutionBiasActivationForward */
#define FLAG_GEMM 2  /* the GEMM form: the algo part is the index of cuBLASLt's candidate */
#define FLAG_SPLITK 3 /* the split-K form: the algo part is the split */
#define GEMM_CANDS 4 /* cuBLASLt candidates timed for the GEMM form */

/* How the conv runs: cuDNN's forward call + our epilogue, cuDNN's fused call, cuBLASLt, or onyx's split-K
 * kernel. */
typedef enum conv_form { FORM_CUDNN, FORM_CUDNN_FUSED, FORM_GEMM, FORM_SPLITK } conv_form;

typedef struct conv_state {
  bool transpose, half, empty;
  bool nhwc;                      /* X, W (KRSC), Y, Z channels-last: cuDNN's NHWC format */
  bool no_channels;               /* input channels per group are 0: the output is the bias */
  int nd;                         /* cuDNN tensor rank: 4 or 5 */
  cudnnTensorDescriptor_t xd, yd; /* Conv: input (pre-padded when staged), output.  ConvTranspose: dy, dx */
  cudnnFilterDescriptor_t wd;
  cudnnConvolutionDescriptor_t cd;
  int algo;
  cudnnMathType_t math;
  size_t lib_ws; /* cuDNN's workspace bytes, after the staging buffer */
  /* staging: Conv's pre-padded input / ConvTranspose's uncropped output, at the workspace start */
  bool staged;
  size_t stage_bytes; /* rounded up to CONV_WS_ALIGN */
  int64_t stage_n, stage_c, stage_dims[3], data_dims[3], off[3];
  /* epilogue */
  int64_t batch, out_c, out_inner;
  const void *bias;
  const void *z;
  cuda_act act;
  conv_form form;
  cudnnTensorDescriptor_t bd; /* cuDNN's fused call */
  cudnnActivationDescriptor_t ad;
  /* the GEMM form (see the top): possible when gemm_ok and the epilogue is ReLU or none */
  bool gemm_ok;
  int64_t pixels;       /* P: rows of X and Y */
  bool gather;          /* stride > 1: X's strided pixels are gathered into the workspace first */
  cuda_strided gather_c; /* the gather, in units of gather_esz bytes */
  size_t gather_esz, gather_bytes;
  cublasLtMatmulDesc_t g_op;
  cublasLtMatrixLayout_t g_lw, g_lx, g_ly; /* column-major: W as C x M, X as C x P, Y and Z as M x P */
  cublasLtMatmulAlgo_t g_algo;
  size_t g_ws;
  int g_pick; /* index of g_algo in cuBLASLt's candidates */
  /* the split-K form (see the top): shapes in sk when splitk_ok; pointers, act and split set as it runs */
  bool splitk_ok;
  cuda_conv_splitk_args sk;
} conv_state;

static cudnnDataType_t cudnn_type(bool half) { return half ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT; }

static size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

static bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

/* Whether a cuDNN math type is allowed: strict FP32 is FMA only; TF32 when allowed; FP16 anything but
 * down-conversion (meaningless for half data anyway). */
static bool math_ok(const cuda_layer *L, const conv_state *s, cudnnMathType_t m)
{
  if (s->half) return true;
  if (L->opts->allow_tf32) return m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
  return m == CUDNN_FMA_MATH;
}

static cudnnMathType_t default_math(const cuda_layer *L, const conv_state *s)
{
  if (s->half) return CUDNN_TENSOR_OP_MATH;
  return L->opts->allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}

/* Lifts nsp spatial extents to the cuDNN rank (1-D as 2-D with a leading 1). */
static void lift(int nsp, const int64_t *v, int64_t fill, int64_t *out)
{
  int lead = nsp == 1 ? 1 : 0;
  for (int i = 0; i < lead; i++) out[i] = fill;
  for (int i = 0; i < nsp; i++) out[lead + i] = v[i];
}

static cudnnTensorFormat_t cudnn_format(const conv_state *s)
{
  return s->nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
}

static onyx_status set_tensor(const cuda_layer *L, cudnnTensorDescriptor_t d, const conv_state *s, int nd,
                              int64_t n, int64_t c, const int64_t *sp)
{
  int dims[5];
  int64_t total = n * c;
  dims[0] = (int)n, dims[1] = (int)c;
  if (!fits_int(n) || !fits_int(c))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "tensor extents exceed cuDNN's int range");
  for (int i = 0; i < nd - 2; i++) {
    if (!fits_int(sp[i]))
      return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "tensor extents exceed cuDNN's int range");
    dims[2 + i] = (int)sp[i];
    total *= sp[i];
  }
  if (total > INT_MAX)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "a tensor of %lld elements exceeds cuDNN's limit",
                            (long long)total);
  CUDNN_CHECK(cudnnSetTensorNdDescriptorEx(d, cudnn_format(s), cudnn_type(s->half), nd, dims));
  return ONYX_OK;
}

static void conv_release(cuda_layer *L)
{
  conv_state *s = L->state;
  if (!s) return;
  if (s->xd) cudnnDestroyTensorDescriptor(s->xd);
  if (s->yd) cudnnDestroyTensorDescriptor(s->yd);
  if (s->wd) cudnnDestroyFilterDescriptor(s->wd);
  if (s->cd) cudnnDestroyConvolutionDescriptor(s->cd);
  if (s->bd) cudnnDestroyTensorDescriptor(s->bd);
  if (s->ad) cudnnDestroyActivationDescriptor(s->ad);
  if (s->g_lw) cublasLtMatrixLayoutDestroy(s->g_lw);
  if (s->g_lx) cublasLtMatrixLayoutDestroy(s->g_lx);
  if (s->g_ly) cublasLtMatrixLayoutDestroy(s->g_ly);
  if (s->g_op) cublasLtMatmulDescDestroy(s->g_op);
  free(s);
  L->state = NULL;
}

/* Filter and convolution descriptors; pads are the symmetric pads handed to cuDNN. */
static onyx_status make_conv_desc(const cuda_layer *L, conv_state *s, const ir_tensor *w, int64_t group,
                                  const nn_geom *gm, const int64_t *pads)
{
  const int nsp = gm->nsp, nk = s->nd - 2;
  int64_t k[3], pd[3], st[3], dl[3];
  lift(nsp, w->dims + 2, 1, k);
  lift(nsp, pads, 0, pd);
  lift(nsp, gm->strides, 1, st);
  lift(nsp, gm->dilations, 1, dl);
  int fdims[5], ipad[3], istr[3], idil[3];
  if (!fits_int(w->dims[0]) || !fits_int(w->dims[1]) || !fits_int(group))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "weight extents exceed cuDNN's int range");
  fdims[0] = (int)w->dims[0], fdims[1] = (int)w->dims[1];
  for (int i = 0; i < nk; i++) {
    if (!fits_int(k[i]) || !fits_int(pd[i]) || !fits_int(st[i]) || !fits_int(dl[i]))
      return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "window attributes exceed cuDNN's int range");
    fdims[2 + i] = (int)k[i], ipad[i] = (int)pd[i], istr[i] = (int)st[i], idil[i] = (int)dl[i];
  }
  CUDNN_CHECK(cudnnCreateFilterDescriptor(&s->wd));
  CUDNN_CHECK(cudnnSetFilterNdDescriptor(s->wd, cudnn_type(s->half), cudnn_format(s), s->nd, fdims));
  CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&s->cd));
  CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(s->cd, nk, ipad, istr, idil, CUDNN_CROSS_CORRELATION,
                                              CUDNN_DATA_FLOAT));
  CUDNN_CHECK(cudnnSetConvolutionGroupCount(s->cd, (int)group));
  return ONYX_OK;
}

/* cuDNN's forward output shape for (fwd_in, filter) must be fwd_out: a sanity check of the geometry. */
static onyx_status check_fwd_shape(const cuda_layer *L, const conv_state *s, cudnnTensorDescriptor_t fwd_in,
                                   int64_t n, int64_t c, const int64_t *sp)
{
  int got[5];
  CUDNN_CHECK(cudnnGetConvolutionNdForwardOutputDim(s->cd, fwd_in, s->wd, s->nd, got));
  bool same = got[0] == n && got[1] == c;
  for (int i = 0; i < s->nd - 2; i++) same = same && got[2 + i] == sp[i];
  if (!same)
    return cuda_layer_error(L, ONYX_ERR_INTERNAL, "cuDNN's output shape disagrees with onyx's geometry");
  return ONYX_OK;
}

/* ---- algorithm choice ---------------------------------------------------- */

static cudnnStatus_t ws_size(cuda_ctx *ctx, const conv_state *s, int algo, size_t *bytes)
{
  if (s->transpose)
    return cudnnGetConvolutionBackwardDataWorkspaceSize(ctx->cudnn, s->wd, s->xd, s->cd, s->yd,
                                                        (cudnnConvolutionBwdDataAlgo_t)algo, bytes);
  return cudnnGetConvolutionForwardWorkspaceSize(ctx->cudnn, s->xd, s->wd, s->cd, s->yd,
                                                 (cudnnConvolutionFwdAlgo_t)algo, bytes);
}

static int algo_count(const conv_state *s)
{
  return s->transpose ? CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT : CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
}

/* One candidate from cuDNN's Find or heuristic. */
typedef struct conv_cand {
  int algo;
  cudnnStatus_t status;
  size_t memory;
  cudnnMathType_t math;
  float time;
} conv_cand;

#define MAX_CANDS 16

/* Times every algorithm (cuDNN Find*Ex) on the real shapes; buffers that
 * differ from the layer's own (staging) and the workspace are allocated here
 * for the search only. */
static onyx_status find_algos(cuda_ctx *ctx, const cuda_layer *L, conv_state *s, conv_cand *c, int *nc)
{
  size_t max_ws = 0, limit = L->opts->workspace_limit;
  for (int a = 0; a < algo_count(s); a++) {
    size_t b = 0;
    if (ws_size(ctx, s, a, &b) == CUDNN_STATUS_SUCCESS && b <= limit && b > max_ws) max_ws = b;
  }
  void *buf = NULL;
  size_t bytes = s->stage_bytes + max_ws;
  if (bytes) CUDA_CHECK(cudaMalloc(&buf, bytes));
  cudaError_t err = s->stage_bytes ? cudaMemset(buf, 0, s->stage_bytes) : cudaSuccess; /* the input it times on */
  if (err != cudaSuccess) {
    cudaFree(buf);
    return cuda_status(err, "cudaMemset", __FILE__, __LINE__);
  }
  void *stage = buf, *ws = max_ws ? (char *)buf + s->stage_bytes : NULL;
  const void *w = L->in[1].ptr;
  int got = 0;
  cudnnStatus_t st;
  if (s->transpose) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[MAX_CANDS];
    void *dx = s->staged ? stage : L->out[0].ptr;
    st = cudnnFindConvolutionBackwardDataAlgorithmEx(ctx->cudnn, s->wd, w, s->xd, L->in[0].ptr, s->cd, s->yd,
                                                     dx, algo_count(s), &got, perf, ws, max_ws);
    for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < got; i++)
      c[i] = (conv_cand){perf[i].algo, perf[i].status, perf[i].memory, perf[i].mathType, perf[i].time};
  } else {
    cudnnConvolutionFwdAlgoPerf_t perf[MAX_CANDS];
    const void *x = s->staged ? stage : L->in[0].ptr;
    st = cudnnFindConvolutionForwardAlgorithmEx(ctx->cudnn, s->xd, x, s->wd, w, s->cd, s->yd, L->out[0].ptr,
                                                algo_count(s), &got, perf, ws, max_ws);
    for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < got; i++)
      c[i] = (conv_cand){perf[i].algo, perf[i].status, perf[i].memory, perf[i].mathType, perf[i].time};
  }
  cudaError_t sync = cudaStreamSynchronize(ctx->stream);
  if (buf) cudaFree(buf);
  if (st != CUDNN_STATUS_SUCCESS)
    return cudnn_status(st,
                        s->transpose ? "cudnnFindConvolutionBackwardDataAlgorithmEx"
                                     : "cudnnFindConvolutionForwardAlgorithmEx",
                        __FILE__, __LINE__);
  CUDA_CHECK(sync);
  *nc = got;
  return ONYX_OK;
}

/* cuDNN's heuristic ranking (no timing). */
static onyx_status heuristic_algos(cuda_ctx *ctx, conv_state *s, conv_cand *c, int *nc)
{
  int got = 0;
  if (s->transpose) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[MAX_CANDS];
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(ctx->cudnn, s->wd, s->xd, s->cd, s->yd,
                                                            algo_count(s), &got, perf));
    for (int i = 0; i < got; i++)
      c[i] = (conv_cand){perf[i].algo, perf[i].status, perf[i].memory, perf[i].mathType, perf[i].time};
  } else {
    cudnnConvolutionFwdAlgoPerf_t perf[MAX_CANDS];
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(ctx->cudnn, s->xd, s->wd, s->cd, s->yd, algo_count(s),
                                                       &got, perf));
    for (int i = 0; i < got; i++)
      c[i] = (conv_cand){perf[i].algo, perf[i].status, perf[i].memory, perf[i].mathType, perf[i].time};
  }
  *nc = got;
  return ONYX_OK;
}

static const char *algo_name(const conv_state *s, int a)
{
  static const char *fwd[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
                              "WINOGRAD",      "WINOGRAD_NONFUSED"};
  static const char *bwd[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  if (s->transpose) return a >= 0 && a < (int)ONYX_ARRAY_LEN(bwd) ? bwd[a] : "?";
  return a >= 0 && a < (int)ONYX_ARRAY_LEN(fwd) ? fwd[a] : "?";
}

/* FFT and non-fused Winograd convolutions transform the data and round more: on MNIST's
 * first conv an FFT algorithm lands 1.4e-3 of the output's scale away from a direct sum
 * (seen on an H200 when timing under compute-sanitizer favoured it).  Strict FP32 promises
 * 1e-4, so it leaves them out; TF32 and FP16 engines may use them. */
static bool approximate_algo(const conv_state *s, int algo)
{
  if (s->transpose)
    return algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT || algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
           algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
  return algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT || algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
         algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
}

/* A candidate a layer may use: it ran, fits the workspace limit and keeps the precision promise
 * (strict FP32: the search ran with FMA_MATH set, and FMA it stays whatever a result reports). */
static bool usable(const cuda_layer *L, const conv_state *s, const conv_cand *c, cudnnMathType_t *math)
{
  const bool strict = !s->half && !L->opts->allow_tf32;
  *math = strict ? CUDNN_FMA_MATH : c->math;
  return c->status == CUDNN_STATUS_SUCCESS && c->memory <= L->opts->workspace_limit && math_ok(L, s, *math) &&
         !(strict && approximate_algo(s, c->algo));
}

/* Sets s->algo, s->math (on the descriptor too) and s->lib_ws. */
static onyx_status apply_algo(cuda_ctx *ctx, const cuda_layer *L, conv_state *s, int algo, cudnnMathType_t math)
{
  const size_t limit = L->opts->workspace_limit;
  s->algo = algo, s->math = math;
  CUDNN_CHECK(cudnnSetConvolutionMathType(s->cd, s->math));
  cudnnStatus_t st = ws_size(ctx, s, s->algo, &s->lib_ws);
  if (st != CUDNN_STATUS_SUCCESS)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "cuDNN algorithm %s is not supported here: %s",
                            algo_name(s, s->algo), cudnnGetErrorString(st));
  if (s->lib_ws > limit)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED,
                            "cuDNN algorithm %s needs %zu bytes of workspace (limit %zu)",
                            algo_name(s, s->algo), s->lib_ws, limit);
  return ONYX_OK;
}

/* The usable candidates of a timed search (L->tune) or of the heuristic, best first: at most cap. */
static onyx_status candidates(cuda_ctx *ctx, const cuda_layer *L, conv_state *s, conv_cand *out, int cap,
                              int *n)
{
  conv_cand c[MAX_CANDS];
  int nc = 0;
  *n = 0;
  if (L->tune)
    ONYX_TRY(find_algos(ctx, L, s, c, &nc));
  else
    ONYX_TRY(heuristic_algos(ctx, s, c, &nc));
  float best = -1.f;
  const char *knob = getenv("ONYX_CONV_SEARCH"); /* "all": no filter (A/B measurements) */
  const bool filter = L->tune && !(knob && !strcmp(knob, "all"));
  for (int i = 0; i < nc && *n < cap; i++) {
    cudnnMathType_t m;
    if (!usable(L, s, &c[i], &m)) continue;
    /* timed: every candidate Find timed under 1 ms (cheap to time again), and slower ones only within
     * 1.5x of Find's fastest.  Small convs need all of theirs: Find's launch-by-launch times carry each
     * algorithm's host costs, and with only those within 1.5x (+0.02 ms) YOLOv8n FP16 at batch 1 took
     * 1.5 ms instead of 0.78; with +0.25 ms, 0.82 (bench/RESULTS.md, runs 7 and 8).  The bound keeps
     * the slow algorithms of large FP32 convs (FFT at tens of ms) out of the build time. */
    if (filter && best >= 0.f && c[i].time > 1.0f && c[i].time > 1.5f * best + 0.02f) break;
    if (best < 0.f) best = c[i].time;
    out[*n] = c[i];
    out[(*n)++].math = m;
  }
  if (!*n)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED,
                            "cuDNN has no algorithm for this convolution within the %zu-byte workspace limit",
                            L->opts->workspace_limit);
  return ONYX_OK;
}

/* The tactic of form with its algorithm part (cuDNN's algorithm, cuBLASLt's candidate, the split) and, for
 * cuDNN, its math type. */
static int64_t encode_tactic(conv_form form, int64_t part, cudnnMathType_t math)
{
  static const int flag[] = {[FORM_CUDNN] = 0, [FORM_CUDNN_FUSED] = FLAG_FUSED, [FORM_GEMM] = FLAG_GEMM,
                             [FORM_SPLITK] = FLAG_SPLITK};
  const bool cudnn = form == FORM_CUDNN || form == FORM_CUDNN_FUSED;
  return part + (cudnn ? TACTIC_MATH_SHIFT * (int64_t)math : 0) + TACTIC_FLAG_SHIFT * flag[form];
}

static int64_t tactic_of(const conv_state *s)
{
  const int64_t part = s->form == FORM_GEMM ? s->g_pick : s->form == FORM_SPLITK ? s->sk.split : s->algo;
  return encode_tactic(s->form, part, s->math);
}

/* Sets s->algo, s->math, s->lib_ws and s->form from L->tactic (recorded in an engine or the timing
 * cache; a GEMM form's is set up by the caller), or cuDNN's first choice (timed search or heuristic),
 * unfused. */
static onyx_status choose_algo(cuda_ctx *ctx, cuda_layer *L, conv_state *s)
{
  if (!L->tune && L->tactic != CUDA_TACTIC_UNSET) {
    int64_t a = L->tactic % TACTIC_MATH_SHIFT, m = L->tactic % TACTIC_FLAG_SHIFT / TACTIC_MATH_SHIFT;
    int64_t flags = L->tactic / TACTIC_FLAG_SHIFT;
    if (L->tactic < 0 || flags > FLAG_FUSED || (flags && s->transpose) || a >= algo_count(s) ||
        !math_ok(L, s, (cudnnMathType_t)m) || (!s->half && !L->opts->allow_tf32 && approximate_algo(s, (int)a)))
      return cuda_layer_error(L, ONYX_ERR_INVALID_ARG,
                              "recorded tactic %lld is not a valid cuDNN algorithm here",
                              (long long)L->tactic);
    s->form = flags & FLAG_FUSED ? FORM_CUDNN_FUSED : FORM_CUDNN;
    ONYX_TRY(apply_algo(ctx, L, s, (int)a, (cudnnMathType_t)m));
  } else {
    conv_cand c;
    int n;
    ONYX_TRY(candidates(ctx, L, s, &c, 1, &n));
    s->form = FORM_CUDNN;
    ONYX_TRY(apply_algo(ctx, L, s, c.algo, c.math));
  }
  L->tactic = tactic_of(s);
  return ONYX_OK;
}

/* ---- init ------------------------------------------------------------------ */

/* A 4-D tensor whose two layouts coincide in memory (C == 1 or H * W == 1). */
static bool layout_neutral(const cuda_tensor *t)
{
  return t->ndim == 4 && (t->dims[1] <= 1 || t->dims[2] * t->dims[3] <= 1);
}

/* The layout comes from the filter (the layout pass stores it KRSC for a channels-last conv);
 * X, Y and Z must agree with it.  ConvTranspose (allow_cl false) is row-major only. */
static onyx_status check_layouts(const cuda_layer *L, conv_state *s, bool allow_cl)
{
  s->nhwc = L->n_in > 1 && cuda_tensor_channels_last(&L->in[1]);
  if (s->nhwc && !allow_cl)
    return cuda_layer_error(L, ONYX_ERR_INTERNAL,
                            "channels-last tensors are not supported here (layout pass)");
  const cuda_tensor *t[3] = {&L->in[0], &L->out[0], L->n_in > 3 ? &L->in[3] : NULL};
  for (int k = 0; k < 3; k++) {
    if (!t[k] || !t[k]->ptr || cuda_tensor_channels_last(t[k]) == s->nhwc || layout_neutral(t[k])) continue;
    return cuda_layer_error(L, ONYX_ERR_INTERNAL, "%s is %s but the filter is %s (layout pass)",
                            k == 0 ? "X" : k == 1 ? "Y" : "Z",
                            cuda_tensor_channels_last(t[k]) ? "channels-last" : "row-major",
                            s->nhwc ? "KRSC" : "KCRS");
  }
  return ONYX_OK;
}

static onyx_status conv_state_new(cuda_layer *L, conv_state **out)
{
  conv_state *s = onyx_calloc(1, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  L->state = s;
  *out = s;
  return ONYX_OK;
}

/* What Conv and ConvTranspose set up alike: the state, input checks, layouts, geometry, the output's
 * extents, the bias and the kernel name.  Nothing more is to be set up when s->empty or s->no_channels. */
static onyx_status conv_prologue(cuda_layer *L, bool transpose, conv_state **out, nn_geom *gm)
{
  const ir_node *n = L->node;
  const nn_conv_params *p = n->params;
  const ir_tensor *x = ir_in(L->g, n, 0), *w = ir_in(L->g, n, 1);
  conv_state *s;
  ONYX_TRY(conv_state_new(L, &s));
  *out = s;
  s->transpose = transpose;
  if (!x || !w || L->n_out < 1) return cuda_layer_error(L, ONYX_ERR_INVALID_MODEL, "needs inputs X and W");
  ONYX_TRY(cuda_layer_float_io(L, &s->half));
  ONYX_TRY(check_layouts(L, s, !transpose));
  ONYX_TRY(transpose ? nn_conv_transpose_geom(n, x, w, gm) : nn_conv_geom(n, x, w, gm));
  if (gm->nsp > 3)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "%d spatial dims (at most 3 on CUDA)", gm->nsp);
  if (s->nhwc && gm->nsp != 2) /* (never for ConvTranspose: check_layouts refused channels-last) */
    return cuda_layer_error(L, ONYX_ERR_INTERNAL, "a channels-last conv must be 2-D (layout pass)");
  const int64_t N = x->dims[0], C = x->dims[1], M = transpose ? w->dims[1] * p->group : w->dims[0];
  s->nd = gm->nsp == 3 ? 5 : 4;
  s->batch = N, s->out_c = M, s->out_inner = onyx_numel(gm->nsp, gm->out);
  s->bias = L->n_in > 2 ? L->in[2].ptr : NULL;
  s->act.kind = CUDA_ACT_NONE;
  snprintf(L->kernel, sizeof(L->kernel), "%s", transpose ? "cudnn:conv_transpose" : "cudnn:conv");
  if (N == 0 || M == 0 || s->out_inner == 0) {
    s->empty = true;
    return ONYX_OK;
  }
  /* nothing to convolve (ConvTranspose: nothing scatters): the output is the bias or zeros, as on the CPU */
  if (C == 0 || (transpose && onyx_numel(gm->nsp, gm->in) == 0)) {
    s->no_channels = true;
    snprintf(L->kernel, sizeof(L->kernel), "onyx:conv_bias_only");
  }
  return ONYX_OK;
}

/* The split-K form's shapes, where the kernel runs on this device and they fit its int arguments. */
static onyx_status splitk_setup(const cuda_layer *L, conv_state *s, const nn_geom *gm, int64_t C)
{
  const int64_t v[] = {s->batch, gm->in[0], gm->in[1], C, s->out_c, gm->kernel[0], gm->kernel[1],
                       gm->strides[0], gm->strides[1], gm->dilations[0], gm->dilations[1], gm->pad_begin[0],
                       gm->pad_begin[1], gm->out[0], gm->out[1]};
  for (size_t i = 0; i < ONYX_ARRAY_LEN(v); i++)
    if (!fits_int(v[i])) return ONYX_OK;
  if (!cuda_conv_splitk_supported()) return ONYX_OK;
  CUDA_LAYER_CHECK(L, cuda_conv_splitk_prepare());
  cuda_conv_splitk_args *a = &s->sk;
  a->n = (int)v[0], a->h = (int)v[1], a->w = (int)v[2], a->c = (int)v[3], a->m = (int)v[4];
  a->kh = (int)v[5], a->kw = (int)v[6], a->sh = (int)v[7], a->sw = (int)v[8], a->dh = (int)v[9], a->dw = (int)v[10];
  a->pt = (int)v[11], a->pl = (int)v[12], a->oh = (int)v[13], a->ow = (int)v[14];
  s->splitk_ok = true;
  return ONYX_OK;
}

/* Everything of a Conv but its tactic: descriptors, staging, epilogue inputs. */
static onyx_status conv_setup(cuda_layer *L)
{
  const ir_node *n = L->node;
  const nn_conv_params *p = n->params;
  const ir_tensor *x = ir_in(L->g, n, 0), *w = ir_in(L->g, n, 1);
  conv_state *s;
  nn_geom gm;
  ONYX_TRY(conv_prologue(L, false, &s, &gm));
  if (s->empty || s->no_channels) return ONYX_OK;
  const int64_t N = s->batch, C = x->dims[1], M = s->out_c;
  /* symmetric pads go to cuDNN, the rest to a pre-pad */
  int64_t sym[NN_MAX_SP], in_sp[3], padded[NN_MAX_SP];
  for (int i = 0; i < gm.nsp; i++) {
    sym[i] = gm.pad_begin[i] < gm.pad_end[i] ? gm.pad_begin[i] : gm.pad_end[i];
    int64_t eb = gm.pad_begin[i] - sym[i], ee = gm.pad_end[i] - sym[i];
    padded[i] = gm.in[i] + eb + ee;
    if (eb || ee) s->staged = true;
    s->off[i] = eb;
  }
  if (s->staged) {
    int64_t offs[NN_MAX_SP];
    memcpy(offs, s->off, sizeof(int64_t) * (size_t)gm.nsp);
    /* window-copy extents are always 3-D (leading 1s) */
    int lead = 3 - gm.nsp;
    for (int i = 0; i < 3; i++) {
      int j = i - lead;
      s->stage_dims[i] = j < 0 ? 1 : padded[j];
      s->data_dims[i] = j < 0 ? 1 : gm.in[j];
      s->off[i] = j < 0 ? 0 : offs[j];
    }
    s->stage_n = N, s->stage_c = C;
    size_t es = s->half ? 2 : 4;
    s->stage_bytes = round_up((size_t)(N * C * onyx_numel(gm.nsp, padded)) * es, CONV_WS_ALIGN);
  }
  int64_t sp[3];
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&s->xd));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&s->yd));
  lift(gm.nsp, s->staged ? padded : gm.in, 1, in_sp);
  ONYX_TRY(set_tensor(L, s->xd, s, s->nd, N, C, in_sp));
  lift(gm.nsp, gm.out, 1, sp);
  ONYX_TRY(set_tensor(L, s->yd, s, s->nd, N, M, sp));
  ONYX_TRY(make_conv_desc(L, s, w, p->group, &gm, sym));
  CUDNN_CHECK(cudnnSetConvolutionMathType(s->cd, default_math(L, s)));
  ONYX_TRY(check_fwd_shape(L, s, s->xd, N, M, sp));
  if (s->nhwc && s->half && p->group == 1 && gm.nsp == 2) ONYX_TRY(splitk_setup(L, s, &gm, C));
  /* the GEMM form: a channels-last 1x1 conv without groups or pads */
  bool one = s->nhwc && p->group == 1 && gm.nsp == 2;
  for (int i = 0; i < gm.nsp; i++) one = one && gm.kernel[i] == 1 && gm.pad_begin[i] == 0 && gm.pad_end[i] == 0;
  if (!one) return ONYX_OK;
  s->gemm_ok = true;
  s->pixels = N * sp[0] * sp[1];
  s->gather = gm.strides[0] != 1 || gm.strides[1] != 1;
  if (s->gather) { /* [N, H', W', C] <- x[n, sh * h, sw * w, c], in the widest unit a pixel's C divides into */
    const int64_t H = gm.in[0], W = gm.in[1], sh = gm.strides[0], sw = gm.strides[1];
    const int64_t row = C * (s->half ? 2 : 4); /* a pixel's bytes */
    s->gather_esz = row % 8 == 0 ? 8 : row % 4 == 0 ? 4 : 2;
    const int64_t u = row / (int64_t)s->gather_esz;
    const int64_t dims[4] = {N, sp[0], sp[1], u}, src[4] = {H * W * u, sh * W * u, sw * u, 1},
                  dst[4] = {sp[0] * sp[1] * u, sp[1] * u, u, 1};
    cuda_strided_init(&s->gather_c, 4, dims, src, 0, dst, 0);
    s->gather_bytes = round_up((size_t)(s->pixels * row), CONV_WS_ALIGN);
  }
  return ONYX_OK;
}

static onyx_status run_conv(cuda_ctx *ctx, const cuda_layer *L, const conv_state *s, void *ws, conv_form form);

/* Whether cuDNN's fused call (conv + bias + Z, then ReLU or identity) can stand for the conv and
 * our epilogue: identity only with IMPLICIT_PRECOMP_GEMM, as cuDNN documents. */
static bool fusable(const conv_state *s)
{
  if (s->empty || s->no_channels || s->transpose || s->nd != 4 || !s->bias || !fits_int(s->out_c)) return false;
  if (s->act.kind == CUDA_ACT_RELU) return true;
  return s->act.kind == CUDA_ACT_NONE && s->algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
}

static onyx_status fused_descs(conv_state *s)
{
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&s->bd));
  CUDNN_CHECK(
      cudnnSetTensor4dDescriptor(s->bd, CUDNN_TENSOR_NCHW, cudnn_type(s->half), 1, (int)s->out_c, 1, 1));
  CUDNN_CHECK(cudnnCreateActivationDescriptor(&s->ad));
  CUDNN_CHECK(cudnnSetActivationDescriptor(
      s->ad, s->act.kind == CUDA_ACT_RELU ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY,
      CUDNN_PROPAGATE_NAN, 0.0));
  return ONYX_OK;
}

/* Workspace bytes of a form: staging (pre-pad) or gathered pixels first, then the library's. */
static size_t form_workspace(const conv_state *s, conv_form form)
{
  if (form == FORM_SPLITK) return 0; /* it reads X itself, pads included */
  return s->stage_bytes + (form == FORM_GEMM ? s->gather_bytes + s->g_ws : s->lib_ws);
}

/* ---- the GEMM form ------------------------------------------------------------ */

/* The GEMM form can run this layer (its epilogue fits cuBLASLt's). */
static bool gemm_usable(const conv_state *s)
{
  return s->gemm_ok && !s->empty && !s->no_channels &&
         (s->act.kind == CUDA_ACT_NONE || s->act.kind == CUDA_ACT_RELU);
}

/* The matmul descriptor and layouts, and cuBLASLt's candidates (at most GEMM_CANDS). */
static onyx_status gemm_setup(cuda_ctx *ctx, const cuda_layer *L, conv_state *s,
                              cublasLtMatmulHeuristicResult_t *h, int *nh)
{
  const int64_t C = L->in[0].dims[1], M = s->out_c;
  const size_t limit = L->opts->workspace_limit;
  *nh = 0;
  if (s->gather_bytes > limit) return ONYX_OK; /* no room for the gathered pixels */
  if (!s->g_op) {
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    const bool relu = s->act.kind == CUDA_ACT_RELU;
    const cublasLtEpilogue_t epi = s->bias ? (relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
                                           : (relu ? CUBLASLT_EPILOGUE_RELU : CUBLASLT_EPILOGUE_DEFAULT);
    const cublasComputeType_t ct =
        !s->half && L->opts->allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    const cudaDataType_t dt = s->half ? CUDA_R_16F : CUDA_R_32F;
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&s->g_op, ct, CUDA_R_32F));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(s->g_op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(s->g_op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(s->g_op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
    if (s->bias)
      CUBLAS_CHECK(
          cublasLtMatmulDescSetAttribute(s->g_op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &s->bias, sizeof(s->bias)));
    ONYX_TRY(cuda_lt_layout(&s->g_lw, dt, C, M, 1, 0));
    ONYX_TRY(cuda_lt_layout(&s->g_lx, dt, C, s->pixels, 1, 0));
    ONYX_TRY(cuda_lt_layout(&s->g_ly, dt, M, s->pixels, 1, 0));
  }
  uint32_t align = 256; /* the workspace (gathered pixels) is 256-byte aligned */
  const void *ptrs[] = {L->in[1].ptr, s->gather ? NULL : L->in[0].ptr, L->out[0].ptr, s->z, s->bias};
  for (size_t i = 0; i < ONYX_ARRAY_LEN(ptrs); i++) align = cuda_lt_ptr_align(ptrs[i], align);
  cublasStatus_t cs =
      cuda_lt_heuristics(ctx, s->g_op, s->g_lw, s->g_lx, s->g_ly, limit - s->gather_bytes, align, GEMM_CANDS, h, nh);
  if (cs == CUBLAS_STATUS_NOT_SUPPORTED) *nh = 0;
  else if (cs != CUBLAS_STATUS_SUCCESS) return cublas_status(cs, "cublasLtMatmulAlgoGetHeuristic", __FILE__, __LINE__);
  return ONYX_OK;
}

static void gemm_pick(conv_state *s, const cublasLtMatmulHeuristicResult_t *h, int i)
{
  s->g_algo = h[i].algo;
  s->g_ws = h[i].workspaceSize;
  s->g_pick = i;
}

/* Y = act(X W^T + bias + Z), the pixels gathered first when strided; ws as the workspace. */
static onyx_status run_gemm(cuda_ctx *ctx, const cuda_layer *L, const conv_state *s, void *ws)
{
  const float one = 1.f, beta = s->z ? 1.f : 0.f;
  const void *x = L->in[0].ptr;
  if (s->gather) {
    CUDA_LAYER_CHECK(L, cuda_copy_strided(s->gather_esz, &s->gather_c, x, ws, ctx->stream));
    x = ws;
  }
  cublasStatus_t st =
      cublasLtMatmul(ctx->lt, s->g_op, &one, L->in[1].ptr, s->g_lw, x, s->g_lx, &beta, s->z ? s->z : L->out[0].ptr,
                     s->g_ly, L->out[0].ptr, s->g_ly, &s->g_algo, s->g_ws ? (char *)ws + s->gather_bytes : NULL,
                     s->g_ws, ctx->stream);
  if (st != CUBLAS_STATUS_SUCCESS) return cublas_status(st, "cublasLtMatmul (1x1 conv)", __FILE__, __LINE__);
  return ONYX_OK;
}

/* ---- the split-K form ------------------------------------------------------------ */

/* The kernel's arguments for this layer's buffers and epilogue, with the given split. */
static cuda_conv_splitk_args splitk_args(const cuda_layer *L, const conv_state *s, int split)
{
  cuda_conv_splitk_args a = s->sk;
  a.x = L->in[0].ptr, a.filter = L->in[1].ptr, a.bias = s->bias, a.z = s->z, a.y = L->out[0].ptr;
  a.act = s->act;
  a.split = split;
  return a;
}

/* The splits the kernel covers for this layer (every form of epilogue is its own), into out. */
static int splitk_choices(const cuda_layer *L, const conv_state *s, int *out)
{
  int n = 0;
  if (!s->splitk_ok || s->empty || s->no_channels) return 0;
  for (int split = 1; split <= CUDA_CONV_SPLITK_MAX_SPLIT; split *= 2) {
    cuda_conv_splitk_args a = splitk_args(L, s, split);
    if (cuda_conv_splitk_covered(&a)) out[n++] = split;
  }
  return n;
}

static onyx_status run_splitk(cuda_ctx *ctx, const cuda_layer *L, const conv_state *s)
{
  cuda_conv_splitk_args a = splitk_args(L, s, s->sk.split);
  a.sm_count = ctx->sm_count;
  CUDA_LAYER_CHECK(L, cuda_conv_splitk(&a, ctx->stream));
  return ONYX_OK;
}

/* ---- timing the forms ------------------------------------------------------------ */

#define FORM_RUNS 3    /* conv runs in one captured graph */
#define FORM_REPLAYS 3 /* timed replays of it, after one warm-up */

/* FORM_RUNS runs of one form captured into a CUDA graph, as an engine replays them. */
static onyx_status capture_form(cuda_ctx *ctx, const cuda_layer *L, const conv_state *s, void *ws,
                                conv_form form, cudaGraphExec_t *exec)
{
  cudaGraph_t g = NULL;
  *exec = NULL;
  CUDA_CHECK(cudaStreamBeginCapture(ctx->stream, cudaStreamCaptureModeThreadLocal));
  onyx_status st = ONYX_OK;
  for (int i = 0; i < FORM_RUNS && st == ONYX_OK; i++) st = run_conv(ctx, L, s, ws, form);
  cudaError_t e = cudaStreamEndCapture(ctx->stream, &g);
  if (st == ONYX_OK && e == cudaSuccess) e = cudaGraphInstantiate(exec, g, 0);
  if (g) cudaGraphDestroy(g);
  if (st != ONYX_OK || e != cudaSuccess) (void)cudaGetLastError(); /* leave no error for a later check */
  if (st == ONYX_OK && e != cudaSuccess) st = cuda_status(e, "capturing a conv form", __FILE__, __LINE__);
  return st;
}

/* The GPU time of one form (algorithm as set in s) on the layer's buffers, as a CUDA graph replay
 * (host launch costs excluded, as in an engine): the best of FORM_REPLAYS replays of FORM_RUNS runs,
 * after a warm-up.  *ok is false when the library refuses the form (no error then). */
static onyx_status time_form(cuda_ctx *ctx, const cuda_layer *L, const conv_state *s, conv_form form,
                             float *ms, bool *ok)
{
  void *ws = NULL;
  cudaEvent_t ev[2] = {NULL, NULL};
  cudaGraphExec_t exec = NULL;
  size_t bytes = form_workspace(s, form);
  onyx_status st = ONYX_OK;
  *ok = false;
  *ms = 1e30f;
  if (bytes) CUDA_CHECK(cudaMalloc(&ws, bytes));
  if (cudaEventCreate(&ev[0]) != cudaSuccess || cudaEventCreate(&ev[1]) != cudaSuccess) {
    st = onyx_error(ONYX_ERR_BACKEND, "cudaEventCreate failed while timing a conv");
    goto out;
  }
  if (capture_form(ctx, L, s, ws, form, &exec) != ONYX_OK) goto out; /* refused */
  *ok = cudaGraphLaunch(exec, ctx->stream) == cudaSuccess;
  for (int round = 0; round < FORM_REPLAYS && *ok; round++) {
    float t = 0;
    cudaEventRecord(ev[0], ctx->stream);
    cudaGraphLaunch(exec, ctx->stream);
    cudaEventRecord(ev[1], ctx->stream);
    if (cudaEventSynchronize(ev[1]) != cudaSuccess || cudaEventElapsedTime(&t, ev[0], ev[1]) != cudaSuccess)
      *ok = false;
    else if (t < *ms)
      *ms = t;
  }
out:
  if (cudaStreamSynchronize(ctx->stream) != cudaSuccess && st == ONYX_OK)
    st = onyx_error(ONYX_ERR_BACKEND, "a stream error while timing a conv");
  (void)cudaGetLastError();
  for (int i = 0; i < 2; i++)
    if (ev[i]) cudaEventDestroy(ev[i]);
  if (exec) cudaGraphExecDestroy(exec);
  if (ws) cudaFree(ws);
  return st;
}

#define TIMED_ALGOS 5

typedef struct form_best {
  float ms;
  int64_t tactic;
} form_best;

static void note_best(form_best *b, float ms, int64_t tactic)
{
  if (ms < b->ms) b->ms = ms, b->tactic = tactic;
}

/* A/B and test knobs ONYX_CONV_GEMM and ONYX_CONV_SPLITK: "0" never that form, "1" always where it can
 * run (-1: timed beside the others). */
static int form_knob(const char *name)
{
  const char *k = getenv(name);
  return k && !strcmp(k, "0") ? 0 : k && !strcmp(k, "1") ? 1 : -1;
}

/* A recorded GEMM tactic (index idx of cuBLASLt's candidates). */
static onyx_status recorded_gemm(cuda_ctx *ctx, cuda_layer *L, conv_state *s, int64_t idx)
{
  cublasLtMatmulHeuristicResult_t h[GEMM_CANDS];
  int nh = 0;
  if (gemm_usable(s)) ONYX_TRY(gemm_setup(ctx, L, s, h, &nh));
  if (idx < 0 || idx >= nh)
    return cuda_layer_error(L, ONYX_ERR_INVALID_ARG,
                            "recorded tactic %lld is not among cuBLASLt's %d candidates for this 1x1 conv",
                            (long long)L->tactic, nh);
  gemm_pick(s, h, (int)idx);
  s->form = FORM_GEMM;
  return ONYX_OK;
}

/* A recorded split-K tactic: the kernel must cover the split here (an engine built on sm_90 loaded on an
 * older GPU does not). */
static onyx_status recorded_splitk(cuda_layer *L, conv_state *s, int64_t split)
{
  int choices[4], n = splitk_choices(L, s, choices);
  for (int i = 0; i < n; i++)
    if (choices[i] == split) {
      s->sk.split = choices[i];
      s->form = FORM_SPLITK;
      return ONYX_OK;
    }
  return cuda_layer_error(L, ONYX_ERR_INVALID_ARG,
                          "recorded tactic %lld: onyx's split-K conv kernel cannot run this conv with split %lld "
                          "on this GPU", (long long)L->tactic, (long long)split);
}

/* The tactic of a forward conv: recorded, or (tuning) cuDNN's best algorithms (at most TIMED_ALGOS,
 * see candidates()), each with our epilogue and, where cuDNN can, inside its fused call, the GEMM
 * form's cuBLASLt candidates (at most GEMM_CANDS) and the split-K form's splits where they can run,
 * all timed as graph replays: cuDNN's own timing (Find) runs launch by launch, and at batch 1 launch
 * costs decide its order.  ONYX_CONV_FUSED=0 leaves the fused call out (A/B measurements);
 * ONYX_CONV_GEMM and ONYX_CONV_SPLITK (form_knob). */
static onyx_status choose_tactic(cuda_ctx *ctx, cuda_layer *L, conv_state *s)
{
  const int gknob = form_knob("ONYX_CONV_GEMM"), sknob = form_knob("ONYX_CONV_SPLITK");
  if (!L->tune) {
    if (L->tactic != CUDA_TACTIC_UNSET && L->tactic / TACTIC_FLAG_SHIFT == FLAG_GEMM)
      return recorded_gemm(ctx, L, s, L->tactic % TACTIC_FLAG_SHIFT);
    if (L->tactic != CUDA_TACTIC_UNSET && L->tactic / TACTIC_FLAG_SHIFT == FLAG_SPLITK)
      return recorded_splitk(L, s, L->tactic % TACTIC_FLAG_SHIFT);
    ONYX_TRY(choose_algo(ctx, L, s));
    if (s->form == FORM_CUDNN_FUSED && !fusable(s))
      return cuda_layer_error(L, ONYX_ERR_INVALID_ARG, "recorded tactic %lld fuses an epilogue cuDNN cannot",
                              (long long)L->tactic);
    return s->form == FORM_CUDNN_FUSED ? fused_descs(s) : ONYX_OK;
  }
  float best_ms = 1e30f;
  conv_form best_form = FORM_CUDNN;
  form_best fb[3]; /* the fastest of each family: GEMM, split-K, cuDNN (fused or not) */
  for (int i = 0; i < 3; i++) fb[i].ms = 1e30f, fb[i].tactic = CUDA_TACTIC_UNSET;
  /* the GEMM form */
  cublasLtMatmulHeuristicResult_t h[GEMM_CANDS];
  int nh = 0, best_gemm = -1;
  if (gknob != 0 && gemm_usable(s)) ONYX_TRY(gemm_setup(ctx, L, s, h, &nh));
  for (int i = 0; i < nh; i++) {
    float ms;
    bool ok;
    gemm_pick(s, h, i);
    ONYX_TRY(time_form(ctx, L, s, FORM_GEMM, &ms, &ok));
    if (ok) note_best(&fb[0], ms, encode_tactic(FORM_GEMM, i, s->math));
    if (ok && ms < best_ms) best_ms = ms, best_gemm = i, best_form = FORM_GEMM;
  }
  if (best_gemm >= 0) gemm_pick(s, h, best_gemm);
  if (gknob == 1 && best_gemm >= 0) {
    s->form = FORM_GEMM;
    L->tactic = tactic_of(s);
    return ONYX_OK;
  }
  /* the split-K form */
  int splits[4], ns = sknob != 0 ? splitk_choices(L, s, splits) : 0, best_split = 0;
  for (int i = 0; i < ns; i++) {
    float ms;
    bool ok;
    s->sk.split = splits[i];
    ONYX_TRY(time_form(ctx, L, s, FORM_SPLITK, &ms, &ok));
    if (ok) note_best(&fb[1], ms, encode_tactic(FORM_SPLITK, splits[i], s->math));
    if (ok && (ms < best_ms || (sknob == 1 && best_form != FORM_SPLITK)))
      best_ms = ms, best_split = splits[i], best_form = FORM_SPLITK;
  }
  s->sk.split = best_split;
  if (sknob == 1 && best_split) {
    s->form = FORM_SPLITK;
    L->tactic = tactic_of(s);
    return ONYX_OK;
  }
  /* cuDNN */
  conv_cand c[TIMED_ALGOS];
  int n = 0, best = 0;
  const char *knob = getenv("ONYX_CONV_FUSED");
  const bool may_fuse = !(knob && !strcmp(knob, "0"));
  onyx_status cs = candidates(ctx, L, s, c, TIMED_ALGOS, &n);
  if (cs != ONYX_OK && best_form == FORM_CUDNN) return cs; /* (with another form chosen, cuDNN may have none) */
  for (int i = 0; cs == ONYX_OK && i < n; i++) {
    ONYX_TRY(apply_algo(ctx, L, s, c[i].algo, c[i].math));
    for (int f = 0; f < 2; f++) {
      if (f && !(may_fuse && fusable(s))) continue;
      if (f && !s->bd) ONYX_TRY(fused_descs(s));
      float ms;
      bool ok;
      ONYX_TRY(time_form(ctx, L, s, f ? FORM_CUDNN_FUSED : FORM_CUDNN, &ms, &ok));
      if (ok) note_best(&fb[2], ms, encode_tactic(f ? FORM_CUDNN_FUSED : FORM_CUDNN, c[i].algo, c[i].math));
      if (ok && ms < best_ms) best_ms = ms, best = i, best_form = f ? FORM_CUDNN_FUSED : FORM_CUDNN;
    }
  }
  if (best_form == FORM_CUDNN || best_form == FORM_CUDNN_FUSED)
    ONYX_TRY(apply_algo(ctx, L, s, c[best].algo, c[best].math));
  s->form = best_form;
  L->tactic = tactic_of(s);
  /* the other families' fastest, faster first, for a check in the whole graph (cuda_runner_check_pairs);
   * a family never timed has ms 1e30 and comes last */
  const int won = best_form == FORM_GEMM ? 0 : best_form == FORM_SPLITK ? 1 : 2;
  const form_best *o0 = &fb[won == 0 ? 1 : 0], *o1 = &fb[won == 2 ? 1 : 2];
  if (o1->ms < o0->ms) {
    const form_best *t = o0;
    o0 = o1, o1 = t;
  }
  L->alt_tactic[0] = o0->tactic, L->alt_tactic[1] = o1->tactic;
  return ONYX_OK;
}

/* The tactic, the workspace and the kernel name, once the epilogue (act, Z) is known. */
static onyx_status conv_finish(cuda_ctx *ctx, cuda_layer *L, conv_state *s, const char *suffix)
{
  if (!s->empty && !s->no_channels) {
    ONYX_TRY(choose_tactic(ctx, L, s));
    L->workspace = form_workspace(s, s->form);
    if (s->form == FORM_GEMM)
      snprintf(L->kernel, sizeof(L->kernel), "cublasLt:conv1x1#%d:nhwc%s", s->g_pick, s->gather ? "+gather" : "");
    else if (s->form == FORM_SPLITK)
      snprintf(L->kernel, sizeof(L->kernel), "onyx:conv_splitk%d:nhwc", s->sk.split);
    else
      snprintf(L->kernel, sizeof(L->kernel), "cudnn:%s%s%s%s", algo_name(s, s->algo),
               s->math == CUDNN_FMA_MATH ? "" : ":tensor_op", s->nhwc ? ":nhwc" : "", s->staged ? "+prepad" : "");
  }
  size_t len = strlen(L->kernel);
  snprintf(L->kernel + len, sizeof(L->kernel) - len, "%s%s", suffix,
           s->form == FORM_CUDNN_FUSED ? "+fused_epilogue" : "");
  return ONYX_OK;
}

static onyx_status conv_init(cuda_ctx *ctx, cuda_layer *L)
{
  ONYX_TRY(conv_setup(L));
  return conv_finish(ctx, L, L->state, "");
}

static onyx_status conv_transpose_init(cuda_ctx *ctx, cuda_layer *L)
{
  const ir_node *n = L->node;
  const nn_conv_params *p = n->params;
  const ir_tensor *x = ir_in(L->g, n, 0), *w = ir_in(L->g, n, 1);
  conv_state *s;
  nn_geom gm;
  ONYX_TRY(conv_prologue(L, true, &s, &gm));
  if (s->empty || s->no_channels) return ONYX_OK;
  const int64_t N = s->batch, C = x->dims[1], M = s->out_c;
  /* direct when cuDNN's symmetric-pad shape relation gives back the input extent */
  bool direct = true;
  int64_t full[NN_MAX_SP], pads[NN_MAX_SP];
  for (int i = 0; i < gm.nsp; i++) {
    int64_t ek = (gm.kernel[i] - 1) * gm.dilations[i] + 1, pb = gm.pad_begin[i];
    int64_t span = gm.out[i] + 2 * pb - ek;
    if (pb != gm.pad_end[i] || pb < 0 || span < 0 || span / gm.strides[i] + 1 != gm.in[i]) direct = false;
    full[i] = gm.strides[i] * (gm.in[i] - 1) + ek;
  }
  for (int i = 0; i < gm.nsp; i++) pads[i] = direct ? gm.pad_begin[i] : 0;
  int64_t in_sp[3], out_sp[3];
  if (!direct) {
    s->staged = true;
    int lead = 3 - gm.nsp;
    for (int i = 0; i < 3; i++) { /* y[o] = T[o + pad_begin]: offset -pad_begin, zero outside T */
      int j = i - lead;
      s->stage_dims[i] = j < 0 ? 1 : gm.out[j];
      s->data_dims[i] = j < 0 ? 1 : full[j];
      s->off[i] = j < 0 ? 0 : -gm.pad_begin[j];
    }
    s->stage_n = N, s->stage_c = M;
    size_t es = s->half ? 2 : 4;
    s->stage_bytes = round_up((size_t)(N * M * onyx_numel(gm.nsp, full)) * es, CONV_WS_ALIGN);
  }
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&s->xd));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&s->yd));
  lift(gm.nsp, gm.in, 1, in_sp);
  ONYX_TRY(set_tensor(L, s->xd, s, s->nd, N, C, in_sp));
  lift(gm.nsp, direct ? gm.out : full, 1, out_sp);
  ONYX_TRY(set_tensor(L, s->yd, s, s->nd, N, M, out_sp));
  /* the forward conv this is the adjoint of maps dx (M channels) to dy (C channels); its filter is W */
  ONYX_TRY(make_conv_desc(L, s, w, p->group, &gm, pads));
  CUDNN_CHECK(cudnnSetConvolutionMathType(s->cd, default_math(L, s)));
  ONYX_TRY(check_fwd_shape(L, s, s->yd, N, C, in_sp));
  ONYX_TRY(choose_algo(ctx, L, s));
  L->workspace = s->stage_bytes + s->lib_ws;
  snprintf(L->kernel, sizeof(L->kernel), "cudnn:bwd_data_%s%s%s", algo_name(s, s->algo),
           s->math == CUDNN_FMA_MATH ? "" : ":tensor_op", s->staged ? "+crop" : "");
  return ONYX_OK;
}

/* ---- enqueue ----------------------------------------------------------------- */

static onyx_status epilogue(const cuda_layer *L, const conv_state *s, cuda_ctx *ctx, const void *bias)
{
  if (!bias && !s->z && s->act.kind == CUDA_ACT_NONE) return ONYX_OK;
  CUDA_LAYER_CHECK(L, cuda_conv_epilogue(L->out[0].ptr, bias, s->z, s->half, s->batch, s->out_c, s->out_inner,
                                         s->act, s->nhwc, ctx->stream));
  return ONYX_OK;
}

static onyx_status bias_only(cuda_ctx *ctx, const cuda_layer *L, const conv_state *s)
{
  size_t es = s->half ? 2 : 4;
  CUDA_CHECK(
      cudaMemsetAsync(L->out[0].ptr, 0, (size_t)(s->batch * s->out_c * s->out_inner) * es, ctx->stream));
  return epilogue(L, s, ctx, s->bias);
}

/* One forward conv with its epilogue, on ctx->stream, with ws as the workspace (staging first). */
static onyx_status run_conv(cuda_ctx *ctx, const cuda_layer *L, const conv_state *s, void *ws, conv_form form)
{
  if (form == FORM_GEMM) return run_gemm(ctx, L, s, ws);
  if (form == FORM_SPLITK) return run_splitk(ctx, L, s);
  const float one = 1.f, zero = 0.f;
  void *lib_ws = (char *)ws + s->stage_bytes;
  const void *x = L->in[0].ptr;
  if (s->staged) {
    CUDA_LAYER_CHECK(L, cuda_window_copy(ws, x, NULL, s->half, s->stage_n, s->stage_c, s->stage_dims, s->data_dims,
                                         s->off, s->nhwc, ctx->stream));
    x = ws;
  }
  const void *w = L->in[1].ptr;
  if (form == FORM_CUDNN_FUSED) { /* y = act(conv(x) + 1 * z + bias); z = y when there is none (scaled by 0) */
    const float a2 = s->z ? 1.f : 0.f;
    CUDNN_CHECK(cudnnConvolutionBiasActivationForward(
        ctx->cudnn, &one, s->xd, x, s->wd, w, s->cd, (cudnnConvolutionFwdAlgo_t)s->algo,
        s->lib_ws ? lib_ws : NULL, s->lib_ws, &a2, s->yd, s->z ? s->z : L->out[0].ptr, s->bd, s->bias, s->ad,
        s->yd, L->out[0].ptr));
    return ONYX_OK;
  }
  CUDNN_CHECK(cudnnConvolutionForward(ctx->cudnn, &one, s->xd, x, s->wd, w, s->cd,
                                      (cudnnConvolutionFwdAlgo_t)s->algo, s->lib_ws ? lib_ws : NULL, s->lib_ws,
                                      &zero, s->yd, L->out[0].ptr));
  return epilogue(L, s, ctx, s->bias);
}

static onyx_status conv_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const conv_state *s = L->state;
  if (s->empty) return ONYX_OK;
  if (s->no_channels) return bias_only(ctx, L, s);
  return run_conv(ctx, L, s, ctx->workspace, s->form);
}

static onyx_status conv_transpose_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const conv_state *s = L->state;
  if (s->empty) return ONYX_OK;
  if (s->no_channels) return bias_only(ctx, L, s);
  const float one = 1.f, zero = 0.f;
  void *ws = (char *)ctx->workspace + s->stage_bytes;
  void *dx = s->staged ? ctx->workspace : L->out[0].ptr;
  CUDNN_CHECK(cudnnConvolutionBackwardData(ctx->cudnn, &one, s->wd, L->in[1].ptr, s->xd, L->in[0].ptr, s->cd,
                                           (cudnnConvolutionBwdDataAlgo_t)s->algo, s->lib_ws ? ws : NULL,
                                           s->lib_ws, &zero, s->yd, dx));
  if (!s->staged) return epilogue(L, s, ctx, s->bias);
  CUDA_LAYER_CHECK(L, cuda_window_copy(L->out[0].ptr, dx, s->bias, s->half, s->stage_n, s->stage_c, s->stage_dims,
                                       s->data_dims, s->off, false, ctx->stream));
  return epilogue(L, s, ctx, NULL);
}

/* FusedConv (graph passes): Conv with its activation and residual in the epilogue. */
static onyx_status fused_conv_init(cuda_ctx *ctx, cuda_layer *L)
{
  static const cuda_act_kind kinds[FUSED_ACT_COUNT] = {
      [FUSED_ACT_NONE] = CUDA_ACT_NONE,       [FUSED_ACT_RELU] = CUDA_ACT_RELU,
      [FUSED_ACT_LEAKY_RELU] = CUDA_ACT_LEAKY_RELU, [FUSED_ACT_CLIP] = CUDA_ACT_CLIP,
      [FUSED_ACT_SIGMOID] = CUDA_ACT_SIGMOID, [FUSED_ACT_SILU] = CUDA_ACT_SILU,
      [FUSED_ACT_HARD_SWISH] = CUDA_ACT_HARD_SWISH, [FUSED_ACT_HARD_SIGMOID] = CUDA_ACT_HARD_SIGMOID,
      [FUSED_ACT_TANH] = CUDA_ACT_TANH,
  };
  ONYX_TRY(conv_setup(L));
  const fused_conv_params *p = L->node->params;
  conv_state *s = L->state;
  if ((unsigned)p->act >= FUSED_ACT_COUNT)
    return cuda_layer_error(L, ONYX_ERR_INTERNAL, "unknown activation %d", (int)p->act);
  s->act = (cuda_act){kinds[p->act], p->alpha, p->beta};
  s->z = L->n_in > 3 ? L->in[3].ptr : NULL;
  char suffix[48];
  snprintf(suffix, sizeof(suffix), "%s%s%s", s->z ? "+add" : "", p->act ? "+" : "", fused_act_name(p->act));
  return conv_finish(ctx, L, s, suffix);
}

const cuda_op_impl cuda_conv_impl = {conv_init, conv_enqueue, conv_release};
const cuda_op_impl cuda_fused_conv_impl = {fused_conv_init, conv_enqueue, conv_release};
const cuda_op_impl cuda_conv_transpose_impl = {conv_transpose_init, conv_transpose_enqueue, conv_release};
