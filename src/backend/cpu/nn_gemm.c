/* CPU kernels for Gemm, MatMul and FusedPoolGemm (float32) through OpenBLAS sgemm. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/nn_window.h"
#include "common/util.h"
#include "ops/fused.h"

static onyx_status check_int_dims(const ir_node *n, int64_t m, int64_t k, int64_t nn)
{
  if (m > INT_MAX || k > INT_MAX || nn > INT_MAX)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "matrix sizes %lld x %lld x %lld exceed BLAS's int range",
                    (long long)m, (long long)k, (long long)nn);
  return ONYX_OK;
}

/* Y (M x N, row-major) = alpha op(A) op(B) + beta C, C (may be NULL) broadcast to M x N: Y = beta * C first,
 * then sgemm accumulates into it (Gemm's order of operations). */
static void gemm_f32(cpu_ctx *ctx, const nn_gemm_params *p, int64_t M, int64_t N, int64_t K, const float *ad,
                     int64_t lda, const float *bd, int64_t ldb, const ir_tensor *c, float *yd)
{
  float beta = 0.f;
  if (c && p->beta != 0.f) {
    const float *cd = c->data;
    int64_t rs = c->ndim == 2 && c->dims[0] != 1 ? c->dims[1] : 0; /* 0 where C broadcasts */
    int64_t cs = c->ndim >= 1 && c->dims[c->ndim - 1] != 1 ? 1 : 0;
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) yd[i * N + j] = p->beta * cd[i * rs + j * cs];
    beta = 1.f;
  }
  if (K == 0) {
    if (beta == 0.f) memset(yd, 0, (size_t)(M * N) * sizeof(float));
    return;
  }
  cpu_nn_sgemm(cpu_nn_threads(ctx), p->trans_a, p->trans_b, M, N, K, p->alpha, ad, lda, bd, ldb, beta, yd, N);
}

onyx_status cpu_gemm(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const nn_gemm_params *p = n->params;
  const ir_tensor *a = CPU_IN(g, n, 0), *b = CPU_IN(g, n, 1), *c = CPU_IN(g, n, 2);
  ir_tensor *y = CPU_OUT(g, n, 0);
  ONYX_TRY(cpu_nn_need_float(n, a));
  const int64_t M = y->dims[0], N = y->dims[1], K = p->trans_a ? a->dims[0] : a->dims[1];
  ONYX_TRY(check_int_dims(n, M, K, N));
  if (M == 0 || N == 0) return ONYX_OK;
  gemm_f32(ctx, p, M, N, K, a->data, a->dims[1], b->data, b->dims[1], c, y->data);
  return ONYX_OK;
}

onyx_status cpu_mat_mul(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const ir_tensor *a = CPU_IN(g, n, 0), *b = CPU_IN(g, n, 1);
  ir_tensor *y = CPU_OUT(g, n, 0);
  nn_matmul_dims d;
  ONYX_TRY(cpu_nn_need_float(n, a));
  ONYX_TRY(nn_matmul_dims_of(n, a, b, &d));
  const int64_t M = d.m, K = d.k, N = d.n, total = onyx_numel(d.nbatch, d.batch);
  const float *ad = a->data, *bd = b->data;
  float *yd = y->data;
  if (M == 0 || N == 0 || total == 0) return ONYX_OK;
  if (K == 0) {
    memset(yd, 0, (size_t)(total * M * N) * sizeof(float));
    return ONYX_OK;
  }
  const int nt = cpu_nn_threads(ctx);
  bool b_shared = true; /* B is one matrix for every batch: fold A's batch into its rows */
  for (int i = 0; i < d.nbatch; i++) b_shared = b_shared && d.b_batch[i] == 1;
  bool a_full = true; /* A is not broadcast, so its batches are contiguous rows */
  for (int i = 0; i < d.nbatch; i++) a_full = a_full && d.a_batch[i] == d.batch[i];
  if (b_shared && a_full) {
    ONYX_TRY(check_int_dims(n, total * M, K, N));
    cpu_nn_sgemm(nt, false, false, total * M, N, K, 1.f, ad, K, bd, N, 0.f, yd, N);
    return ONYX_OK;
  }
  ONYX_TRY(check_int_dims(n, M, K, N));
  int64_t sa[ONYX_MAX_DIMS], sb[ONYX_MAX_DIMS];
  cpu_broadcast_strides(d.nbatch, d.batch, d.nbatch, d.a_batch, sa);
  cpu_broadcast_strides(d.nbatch, d.batch, d.nbatch, d.b_batch, sb);
  /* enough batches: one single-threaded sgemm per batch across threads; else split each product */
  const bool par_batches = total >= nt;
#pragma omp parallel for num_threads(nt) if (par_batches && nt > 1) schedule(static)
  for (int64_t t = 0; t < total; t++) {
    int64_t oa = 0, ob = 0, rest = t;
    for (int i = d.nbatch - 1; i >= 0; i--) { /* unravel t over the broadcast batch shape */
      int64_t ix = rest % d.batch[i];
      rest /= d.batch[i];
      oa += ix * sa[i], ob += ix * sb[i];
    }
    cpu_nn_sgemm(par_batches ? 1 : nt, false, false, M, N, K, 1.f, ad + oa * M * K, K, bd + ob * K * N, N,
                 0.f, yd + t * M * N, N);
  }
  return ONYX_OK;
}

onyx_status cpu_fused_pool_gemm(cpu_ctx *ctx, const ir_graph *g, const ir_node *n)
{
  const fused_pool_gemm_params *p = n->params;
  const ir_tensor *x = CPU_IN(g, n, 0), *w = CPU_IN(g, n, 1), *c = CPU_IN(g, n, 2);
  ir_tensor *y = CPU_OUT(g, n, 0);
  const ir_tensor *typed[4] = {x, w, c, y};
  static const char *const what[4] = {"input", "weight", "C", "output"};
  ONYX_TRY(cpu_nn_need_floats(n, typed, what, 4));
  const int64_t N = x->dims[0], K = x->dims[1], M = y->dims[1];
  const int64_t inner = ir_tensor_numel(x) / (N * K > 0 ? N * K : 1);
  ONYX_TRY(check_int_dims(n, N, K, M));
  if (N == 0 || M == 0) return ONYX_OK;
  /* the mean as GlobalAveragePool computes it (double sums), then Gemm with C as bias rows */
  float *mean = onyx_malloc((size_t)(N * K > 0 ? N * K : 1) * sizeof(float));
  if (!mean) return op_error(n, ONYX_ERR_NO_MEMORY, "cannot allocate the %lld x %lld mean", (long long)N,
                             (long long)K);
  cpu_mean_planes_f32(x->data, mean, N * K, inner, cpu_nn_threads(ctx));
  gemm_f32(ctx, &p->gemm, N, M, K, mean, K, w->data, w->dims[1], c, y->data);
  free(mean);
  return ONYX_OK;
}
