/* Gemm and MatMul layers through cuBLASLt.
 *
 * Row-major ONNX onto column-major cuBLAS: a row-major r x c matrix is the
 * column-major c x r matrix with the same bytes, its transpose.  So
 * Y = op(A) op(B) (M x N, row-major) is computed as
 *   Y^T (N x M, col-major, ld N) = op(B)^T op(A)^T
 * with cuBLAS's first operand the bytes of B (stored bc x br col-major,
 * transposed iff transB) and its second the bytes of A (stored ac x ar,
 * transposed iff transA); cuBLAS sees m = N, n = M, k = K.
 *
 * Gemm's C: a per-column vector ([N] or [1, N]) with beta 1 is the
 * CUBLASLT_EPILOGUE_BIAS bias (bias length = rows of D = N); a full [M, N] C
 * is cuBLAS's C with beta; any other broadcast is written into Y first
 * (Y = beta * C, our broadcast kernel) and accumulated into with beta 1 -
 * the CPU kernel's order of operations.  beta 0 or no C: C is never read.
 *
 * MatMul: batch dims broadcast.  With B shared by every batch and A not
 * broadcast, A's batches fold into its rows (one GEMM).  Otherwise the
 * longest run of trailing batch dims in which each operand is either fully
 * present or fully broadcast becomes one strided-batched GEMM (batch stride
 * 0 for the broadcast operand), and the leading batch dims are a loop of such
 * calls whose pointer offsets are computed at init.
 *
 * Tactic: the index of the chosen candidate in cuBLASLt's heuristic list
 * (CUDA_LT_CANDIDATES asked for).  With L->tune the candidates are timed on
 * the real buffers and the fastest kept.  Storage FLOAT or FLOAT16, compute
 * FP32 (TF32 when opts->allow_tf32, FP32 storage only). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/kernels/epilogue.h"
#include "backend/cuda/ops_libs.h"
#include "common/util.h"
#include "ops/nn.h"

#define CUDA_LT_CANDIDATES 8
#define TUNE_WARMUP 2
#define TUNE_REPS 5

typedef enum gemm_c_mode {
  GEMM_C_NONE = 0, /* no C, or beta 0 */
  GEMM_C_FULL,     /* C is [M, N]: cuBLAS's C with beta */
  GEMM_C_BIAS,     /* per-column C with beta 1: bias epilogue */
  GEMM_C_FILL,     /* any other broadcast: Y = beta * C first, then Y += alpha * AB */
} gemm_c_mode;

typedef struct gemm_state {
  bool half, empty, zero_k;
  cublasLtMatmulDesc_t op;
  cublasLtMatrixLayout_t la, lb, lc; /* cuBLAS operands: la = ONNX B, lb = ONNX A, lc = C and D */
  cublasLtMatmulAlgo_t algo;
  size_t ws;
  float alpha, beta; /* passed to cublasLtMatmul */
  /* Gemm */
  gemm_c_mode cmode;
  int64_t c_rs, c_cs;
  float c_scale;
  /* Y as row-major rows x cols (memset / C fill) */
  int64_t rows, cols;
  /* MatMul: calls at these element offsets of A, B and Y (one call with offsets 0 when n_calls is 1) */
  int n_calls;
  int64_t *a_off, *b_off, *y_off;
} gemm_state;

static size_t elem_size(bool half) { return half ? 2 : 4; }

static void gemm_release(cuda_layer *L)
{
  gemm_state *s = L->state;
  if (!s) return;
  if (s->la) cublasLtMatrixLayoutDestroy(s->la);
  if (s->lb) cublasLtMatrixLayoutDestroy(s->lb);
  if (s->lc) cublasLtMatrixLayoutDestroy(s->lc);
  if (s->op) cublasLtMatmulDescDestroy(s->op);
  free(s->a_off);
  free(s->b_off);
  free(s->y_off);
  free(s);
  L->state = NULL;
}

static onyx_status state_new(cuda_layer *L, gemm_state **out)
{
  gemm_state *s = onyx_calloc(1, sizeof(*s));
  if (!s) return ONYX_ERR_NO_MEMORY;
  L->state = s;
  *out = s;
  return ONYX_OK;
}

/* One GEMM shape in cuBLAS terms (see the top of the file). */
typedef struct lt_shape {
  int64_t m, n, k;            /* cuBLAS: D is m x n */
  bool trans_a, trans_b;      /* cuBLAS operands */
  int64_t a_rows, a_cols;     /* stored (col-major) extents of cuBLAS's A, ld = a_rows */
  int64_t b_rows, b_cols;     /* same for B */
  int32_t batch;              /* strided batch count (1: none) */
  int64_t a_stride, b_stride; /* elements between batches (0: broadcast) */
  uint32_t align;             /* smallest alignment (bytes) of any pointer a call gets */
} lt_shape;

/* Runs the layer's GEMM once (all calls of a MatMul loop) with a given algo and workspace. */
static cublasStatus_t run_matmul(cuda_ctx *ctx, const cuda_layer *L, const gemm_state *s,
                                 const cublasLtMatmulAlgo_t *algo, void *ws, size_t ws_size)
{
  const size_t es = elem_size(s->half);
  const char *a = L->in[0].ptr, *b = L->in[1].ptr;
  char *y = L->out[0].ptr;
  const void *c = s->cmode == GEMM_C_FULL ? L->in[2].ptr : y;
  for (int i = 0; i < s->n_calls; i++) {
    const char *ai = a + (s->a_off ? s->a_off[i] : 0) * es, *bi = b + (s->b_off ? s->b_off[i] : 0) * es;
    char *yi = y + (s->y_off ? s->y_off[i] : 0) * es;
    const void *ci = s->cmode == GEMM_C_FULL ? c : yi;
    cublasStatus_t st = cublasLtMatmul(ctx->lt, s->op, &s->alpha, bi, s->la, ai, s->lb, &s->beta, ci, s->lc,
                                       yi, s->lc, algo, ws, ws_size, ctx->stream);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
  }
  return CUBLAS_STATUS_SUCCESS;
}

/* Times each candidate (after warm-up) and returns the index of the fastest, -1 if none ran. */
static onyx_status time_candidates(cuda_ctx *ctx, const cuda_layer *L, const gemm_state *s,
                                   const cublasLtMatmulHeuristicResult_t *h, int nh, int *best)
{
  size_t max_ws = 0;
  for (int i = 0; i < nh; i++)
    if (h[i].workspaceSize > max_ws) max_ws = h[i].workspaceSize;
  void *ws = NULL;
  cudaEvent_t e0 = NULL, e1 = NULL;
  onyx_status st = ONYX_OK;
  float best_ms = 0.f;
  *best = -1;
  cudaError_t err = max_ws ? cudaMalloc(&ws, max_ws) : cudaSuccess;
  if (err == cudaSuccess) err = cudaEventCreate(&e0);
  if (err == cudaSuccess) err = cudaEventCreate(&e1);
  if (err != cudaSuccess) {
    st = cuda_status(err, "allocating the tactic search's workspace and events", __FILE__, __LINE__);
    goto out;
  }
  for (int i = 0; i < nh; i++) {
    bool ok = true;
    for (int r = 0; ok && r < TUNE_WARMUP; r++)
      ok = run_matmul(ctx, L, s, &h[i].algo, ws, h[i].workspaceSize) == CUBLAS_STATUS_SUCCESS;
    if (cudaEventRecord(e0, ctx->stream) != cudaSuccess) ok = false;
    for (int r = 0; ok && r < TUNE_REPS; r++)
      ok = run_matmul(ctx, L, s, &h[i].algo, ws, h[i].workspaceSize) == CUBLAS_STATUS_SUCCESS;
    if (cudaEventRecord(e1, ctx->stream) != cudaSuccess) ok = false;
    if ((err = cudaEventSynchronize(e1)) != cudaSuccess) {
      st = cuda_status(err, "cudaEventSynchronize (tactic search)", __FILE__, __LINE__);
      goto out;
    }
    float ms = 0.f;
    if (!ok || cudaEventElapsedTime(&ms, e0, e1) != cudaSuccess) {
      (void)cudaGetLastError(); /* a candidate that cannot run is skipped, not an error */
      continue;
    }
    if (*best < 0 || ms < best_ms) *best = i, best_ms = ms;
  }
out:
  if (e0) cudaEventDestroy(e0);
  if (e1) cudaEventDestroy(e1);
  if (ws) cudaFree(ws);
  return st;
}

/* Creates the matmul descriptor and layouts for sh and chooses the algorithm. */
static onyx_status lt_setup(cuda_ctx *ctx, cuda_layer *L, gemm_state *s, const lt_shape *sh)
{
  const cudaDataType_t t = s->half ? CUDA_R_16F : CUDA_R_32F;
  const cublasComputeType_t ct =
      !s->half && L->opts->allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&s->op, ct, CUDA_R_32F));
  cublasOperation_t ta = sh->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                    tb = sh->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(s->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(s->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
  if (s->cmode == GEMM_C_BIAS) {
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    const void *bias = L->in[2].ptr;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(s->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
    CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(s->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  }
  ONYX_TRY(cuda_lt_layout(&s->la, t, sh->a_rows, sh->a_cols, sh->batch, sh->a_stride));
  ONYX_TRY(cuda_lt_layout(&s->lb, t, sh->b_rows, sh->b_cols, sh->batch, sh->b_stride));
  ONYX_TRY(cuda_lt_layout(&s->lc, t, sh->m, sh->n, sh->batch, sh->m * sh->n));

  /* the real alignment of the buffers as well as of the loop offsets (the heuristic assumes 256 bytes) */
  uint32_t align = sh->align;
  const void *ptrs[] = {L->in[0].ptr, L->in[1].ptr, L->out[0].ptr,
                        s->cmode == GEMM_C_FULL || s->cmode == GEMM_C_BIAS ? L->in[2].ptr : NULL};
  for (size_t i = 0; i < ONYX_ARRAY_LEN(ptrs); i++) align = cuda_lt_ptr_align(ptrs[i], align);
  cublasLtMatmulHeuristicResult_t h[CUDA_LT_CANDIDATES];
  int nh = 0;
  uint64_t limit = L->opts->workspace_limit;
  cublasStatus_t cs =
      cuda_lt_heuristics(ctx, s->op, s->la, s->lb, s->lc, limit, align, CUDA_LT_CANDIDATES, h, &nh);
  if (cs == CUBLAS_STATUS_NOT_SUPPORTED || (cs == CUBLAS_STATUS_SUCCESS && nh == 0))
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED,
                            "cuBLASLt has no algorithm for this %lldx%lldx%lld product within the %llu-byte "
                            "workspace limit",
                            (long long)sh->n, (long long)sh->m, (long long)sh->k, (unsigned long long)limit);
  if (cs != CUBLAS_STATUS_SUCCESS)
    return cublas_status(cs, "cublasLtMatmulAlgoGetHeuristic", __FILE__, __LINE__);
  int pick = 0;
  if (L->tune) {
    ONYX_TRY(time_candidates(ctx, L, s, h, nh, &pick));
    if (pick < 0) return cuda_layer_error(L, ONYX_ERR_BACKEND, "none of cuBLASLt's %d candidates ran", nh);
  } else if (L->tactic != CUDA_TACTIC_UNSET) {
    if (L->tactic < 0 || L->tactic >= nh)
      return cuda_layer_error(L, ONYX_ERR_INVALID_ARG,
                              "recorded tactic %lld is not among cuBLASLt's %d candidates here",
                              (long long)L->tactic, nh);
    pick = (int)L->tactic;
  }
  s->algo = h[pick].algo;
  s->ws = h[pick].workspaceSize;
  L->tactic = pick;
  L->workspace = s->ws;
  snprintf(L->kernel, sizeof(L->kernel), "cublasLt:heuristic#%d%s%s", pick, sh->batch > 1 ? ":batched" : "",
           s->cmode == GEMM_C_BIAS ? "+bias" : "");
  return ONYX_OK;
}

static onyx_status check_size(const cuda_layer *L, int64_t batch)
{
  if (batch > INT32_MAX)
    return cuda_layer_error(L, ONYX_ERR_UNSUPPORTED, "batch count %lld exceeds cuBLASLt's range",
                            (long long)batch);
  return ONYX_OK;
}

/* ---- Gemm -------------------------------------------------------------------- */

static onyx_status gemm_init(cuda_ctx *ctx, cuda_layer *L)
{
  const nn_gemm_params *p = L->node->params;
  gemm_state *s;
  ONYX_TRY(state_new(L, &s));
  if (L->n_in < 2 || !L->in[0].ptr || !L->in[1].ptr)
    return cuda_layer_error(L, ONYX_ERR_INVALID_MODEL, "needs inputs A and B");
  ONYX_TRY(cuda_layer_float_io(L, &s->half));
  const cuda_tensor *a = &L->in[0], *b = &L->in[1], *c = L->n_in > 2 && L->in[2].ptr ? &L->in[2] : NULL;
  const int64_t M = L->out[0].dims[0], N = L->out[0].dims[1], K = p->trans_a ? a->dims[0] : a->dims[1];
  s->rows = M, s->cols = N, s->n_calls = 1;
  s->alpha = p->alpha, s->beta = 0.f;
  snprintf(L->kernel, sizeof(L->kernel), "cublasLt:gemm");
  if (M == 0 || N == 0) {
    s->empty = true;
    return ONYX_OK;
  }
  if (c && p->beta != 0.f) {
    s->c_rs = c->ndim == 2 && c->dims[0] != 1 ? c->dims[1] : 0;
    s->c_cs = c->ndim >= 1 && c->dims[c->ndim - 1] != 1 ? 1 : 0;
    if (s->c_cs == 1 && s->c_rs == 0 && p->beta == 1.f) {
      s->cmode = GEMM_C_BIAS;
    } else if (s->c_cs == 1 && s->c_rs == N && c->ndim == 2 && c->dims[0] == M) {
      s->cmode = GEMM_C_FULL;
      s->beta = p->beta;
    } else {
      s->cmode = GEMM_C_FILL;
      s->c_scale = p->beta;
      s->beta = 1.f;
    }
  }
  if (K == 0) { /* Y = beta * C or zeros: the fill / memset alone */
    s->zero_k = true;
    if (s->cmode != GEMM_C_NONE) { /* every C mode is a broadcast with beta applied */
      s->cmode = GEMM_C_FILL;
      s->c_scale = p->beta;
    }
    return ONYX_OK;
  }
  lt_shape sh = {
      .m = N, .n = M, .k = K, .trans_a = p->trans_b, .trans_b = p->trans_a, .batch = 1, .align = 256};
  sh.a_rows = b->dims[1], sh.a_cols = b->dims[0]; /* B's bytes, col-major */
  sh.b_rows = a->dims[1], sh.b_cols = a->dims[0]; /* A's bytes, col-major */
  return lt_setup(ctx, L, s, &sh);
}

static onyx_status gemm_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const gemm_state *s = L->state;
  if (s->empty) return ONYX_OK;
  if (s->cmode == GEMM_C_FILL) {
    CUDA_LAYER_CHECK(L, cuda_broadcast2d(L->out[0].ptr, L->in[2].ptr, s->half, s->rows, s->cols, s->c_rs,
                                         s->c_cs, s->c_scale, ctx->stream));
  } else if (s->zero_k) {
    CUDA_CHECK(
        cudaMemsetAsync(L->out[0].ptr, 0, (size_t)(s->rows * s->cols) * elem_size(s->half), ctx->stream));
  }
  if (s->zero_k) return ONYX_OK;
  cublasStatus_t st = run_matmul(ctx, L, s, &s->algo, s->ws ? ctx->workspace : NULL, s->ws);
  if (st != CUBLAS_STATUS_SUCCESS) return cublas_status(st, "cublasLtMatmul", __FILE__, __LINE__);
  return ONYX_OK;
}

/* ---- MatMul ------------------------------------------------------------------ */

static onyx_status mat_mul_init(cuda_ctx *ctx, cuda_layer *L)
{
  const ir_node *n = L->node;
  const ir_tensor *a = ir_in(L->g, n, 0), *b = ir_in(L->g, n, 1);
  gemm_state *s;
  nn_matmul_dims d;
  ONYX_TRY(state_new(L, &s));
  if (!a || !b) return cuda_layer_error(L, ONYX_ERR_INVALID_MODEL, "needs inputs A and B");
  ONYX_TRY(cuda_layer_float_io(L, &s->half));
  ONYX_TRY(nn_matmul_dims_of(n, a, b, &d));
  const int64_t M = d.m, K = d.k, N = d.n, total = onyx_numel(d.nbatch, d.batch);
  s->alpha = 1.f, s->beta = 0.f, s->n_calls = 1;
  s->rows = total * M, s->cols = N;
  snprintf(L->kernel, sizeof(L->kernel), "cublasLt:matmul");
  if (M == 0 || N == 0 || total == 0) {
    s->empty = true;
    return ONYX_OK;
  }
  if (K == 0) {
    s->zero_k = true;
    return ONYX_OK;
  }
  lt_shape sh = {.k = K, .a_rows = N, .a_cols = K, .b_rows = K, .batch = 1, .align = 256};
  bool b_shared = true, a_full = true;
  for (int i = 0; i < d.nbatch; i++) {
    b_shared = b_shared && d.b_batch[i] == 1;
    a_full = a_full && d.a_batch[i] == d.batch[i];
  }
  if (b_shared && a_full) { /* one GEMM: A's batches are rows */
    sh.m = N, sh.n = total * M, sh.b_cols = total * M;
    return lt_setup(ctx, L, s, &sh);
  }
  /* trailing batch dims where A and B are each all-present or all-broadcast: one strided batch */
  enum { UNSET, FULL, BCAST };
  int am = UNSET, bm = UNSET;
  int j = d.nbatch;
  int64_t inner = 1;
  while (j > 0) {
    int i = j - 1;
    if (d.batch[i] != 1) {
      int ak = d.a_batch[i] == d.batch[i] ? FULL : BCAST, bk = d.b_batch[i] == d.batch[i] ? FULL : BCAST;
      if ((am != UNSET && am != ak) || (bm != UNSET && bm != bk)) break;
      am = ak, bm = bk;
    }
    inner *= d.batch[i];
    j--;
  }
  ONYX_TRY(check_size(L, inner));
  sh.m = N, sh.n = M, sh.b_cols = M, sh.batch = (int32_t)inner;
  sh.a_stride = bm == FULL ? K * N : 0; /* cuBLAS's A is ONNX B */
  sh.b_stride = am == FULL ? M * K : 0;
  if (inner > 1) { /* later batches start at these strides: no algorithm may assume more alignment */
    const int64_t es = (int64_t)elem_size(s->half), strides[3] = {sh.a_stride, sh.b_stride, M * N};
    for (int i = 0; i < 3; i++)
      if (cuda_lt_offset_align(strides[i] * es) < sh.align) sh.align = cuda_lt_offset_align(strides[i] * es);
  }
  /* leading dims [0, j): a loop over their index combinations */
  const int64_t outer = total / inner;
  ONYX_TRY(check_size(L, outer));
  s->n_calls = (int)outer;
  if (outer > 1) {
    s->a_off = onyx_calloc((size_t)outer, sizeof(int64_t));
    s->b_off = onyx_calloc((size_t)outer, sizeof(int64_t));
    s->y_off = onyx_calloc((size_t)outer, sizeof(int64_t));
    if (!s->a_off || !s->b_off || !s->y_off) return ONYX_ERR_NO_MEMORY;
    int64_t sa[ONYX_MAX_DIMS], sb[ONYX_MAX_DIMS], ea = M * K, eb = K * N; /* element strides per batch dim */
    for (int i = d.nbatch - 1; i >= 0; i--) {
      sa[i] = d.a_batch[i] == 1 ? 0 : ea;
      sb[i] = d.b_batch[i] == 1 ? 0 : eb;
      ea *= d.a_batch[i], eb *= d.b_batch[i];
    }
    const size_t es = elem_size(s->half);
    for (int64_t t = 0; t < outer; t++) {
      int64_t rest = t, oa = 0, ob = 0;
      for (int i = j - 1; i >= 0; i--) {
        int64_t ix = rest % d.batch[i];
        rest /= d.batch[i];
        oa += ix * sa[i], ob += ix * sb[i];
      }
      s->a_off[t] = oa, s->b_off[t] = ob, s->y_off[t] = t * inner * M * N;
      const int64_t offs[3] = {oa, ob, s->y_off[t]};
      for (int k = 0; k < 3; k++) {
        uint32_t al = cuda_lt_offset_align(offs[k] * (int64_t)es);
        if (al < sh.align) sh.align = al;
      }
    }
  }
  return lt_setup(ctx, L, s, &sh);
}

static onyx_status mat_mul_enqueue(cuda_ctx *ctx, const cuda_layer *L)
{
  const gemm_state *s = L->state;
  if (s->empty) return ONYX_OK;
  if (s->zero_k) {
    CUDA_CHECK(
        cudaMemsetAsync(L->out[0].ptr, 0, (size_t)(s->rows * s->cols) * elem_size(s->half), ctx->stream));
    return ONYX_OK;
  }
  cublasStatus_t st = run_matmul(ctx, L, s, &s->algo, s->ws ? ctx->workspace : NULL, s->ws);
  if (st != CUBLAS_STATUS_SUCCESS) return cublas_status(st, "cublasLtMatmul", __FILE__, __LINE__);
  return ONYX_OK;
}

const cuda_op_impl cuda_gemm_impl = {gemm_init, gemm_enqueue, gemm_release};
const cuda_op_impl cuda_mat_mul_impl = {mat_mul_init, mat_mul_enqueue, gemm_release};
