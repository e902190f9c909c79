/* Helpers shared by the CPU kernels of the nn family. */
#include "backend/cpu/nn_window.h"

#include <cblas.h>
#include <omp.h>
#include <pthread.h>

onyx_status cpu_nn_win3(const ir_node *n, const nn_geom *gm, bool transpose, cpu_win3 *w)
{
  if (gm->nsp > 3)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%d spatial dims are not supported on CPU (at most 3)", gm->nsp);
  int lead = 3 - gm->nsp;
  for (int i = 0; i < 3; i++) {
    int j = i - lead;
    w->img[i] = j < 0 ? 1 : transpose ? gm->out[j] : gm->in[j];
    w->pos[i] = j < 0 ? 1 : transpose ? gm->in[j] : gm->out[j];
    w->k[i] = j < 0 ? 1 : gm->kernel[j];
    w->s[i] = j < 0 ? 1 : gm->strides[j];
    w->d[i] = j < 0 ? 1 : gm->dilations[j];
    w->p[i] = j < 0 ? 0 : gm->pad_begin[j];
  }
  return ONYX_OK;
}

void cpu_nn_valid_range(int64_t off, int64_t s, int64_t size, int64_t npos, int64_t *lo, int64_t *hi)
{
  int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t h = size - 1 - off >= 0 ? (size - 1 - off) / s + 1 : 0;
  if (l > npos) l = npos;
  if (h > npos) h = npos;
  if (h < l) h = l;
  *lo = l, *hi = h;
}

int cpu_nn_threads(const cpu_ctx *ctx)
{
  return ctx->num_threads > 0 ? ctx->num_threads : omp_get_max_threads();
}

onyx_status cpu_nn_need_float(const ir_node *n, const ir_tensor *t)
{
  if (t->dtype != ONYX_DTYPE_FLOAT)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported on CPU (float32 only)",
                    onyx_dtype_name(t->dtype));
  return ONYX_OK;
}

onyx_status cpu_nn_need_floats(const ir_node *n, const ir_tensor *const *t, const char *const *what, int count)
{
  for (int i = 0; i < count; i++)
    if (t[i] && t[i]->dtype != ONYX_DTYPE_FLOAT)
      return op_error(n, ONYX_ERR_UNSUPPORTED, "%s %s is not supported on CPU (float32 only)", what[i],
                      onyx_dtype_name(t[i]->dtype));
  return ONYX_OK;
}

/* One thread pool, not two: OpenMP (used by every CPU kernel) drives the
 * parallelism and each sgemm call runs on one thread.  Letting the pthread
 * OpenBLAS run its own pool as well makes the two fight for the cores: GOMP
 * workers spin after each region while BLAS threads wait for a core (measured
 * on ResNet18, 2 cores: ~300-480 ms against ~50-70 ms with one pool).  This
 * sets OpenBLAS's process-wide thread count to 1. */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single_thread(void) { openblas_set_num_threads(1); }

/* Below this many multiply-adds a split costs more than it gains. */
#define SGEMM_SPLIT_MIN_MACS ((int64_t)1 << 18)

void cpu_nn_sgemm(int nt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
  pthread_once(&blas_once, blas_single_thread);
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  if (nt <= 1 || m * n * k < SGEMM_SPLIT_MIN_MACS || (m < 32 && n < 32)) {
    cblas_sgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c,
                (int)ldc);
    return;
  }
  /* split the longer side of C into nt blocks, multiples of 16 (SIMD width friendly) */
  const bool by_rows = m >= n;
  const int64_t len = by_rows ? m : n, chunk = ((len + nt - 1) / nt + 15) / 16 * 16;
  const int parts = (int)((len + chunk - 1) / chunk);
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int t = 0; t < parts; t++) {
    int64_t lo = t * chunk, cnt = len - lo < chunk ? len - lo : chunk;
    if (by_rows) { /* rows lo.. of op(A) and C */
      const float *at = trans_a ? a + lo : a + lo * lda;
      cblas_sgemm(CblasRowMajor, ta, tb, (int)cnt, (int)n, (int)k, alpha, at, (int)lda, b, (int)ldb, beta,
                  c + lo * ldc, (int)ldc);
    } else { /* columns lo.. of op(B) and C */
      const float *bt = trans_b ? b + lo * ldb : b + lo;
      cblas_sgemm(CblasRowMajor, ta, tb, (int)m, (int)cnt, (int)k, alpha, a, (int)lda, bt, (int)ldb, beta,
                  c + lo, (int)ldc);
    }
  }
}
