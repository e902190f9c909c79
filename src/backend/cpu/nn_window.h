/* Helpers shared by the CPU kernels of the nn family (backend/cpu/nn_*.c). */
#ifndef ONYX_BACKEND_CPU_NN_WINDOW_H
#define ONYX_BACKEND_CPU_NN_WINDOW_H

#include "backend/cpu/cpu.h"
#include "ops/nn.h"

/* OpenMP pays off only above this many inner iterations per region. */
#define CPU_NN_PAR_MIN_WORK 32768

/* A window in 3-D (spatial ranks 1..3 get leading extents of 1): img is the
 * dense image side (Conv/pool input, ConvTranspose output), pos the positions
 * the kernel is placed at (Conv/pool output, ConvTranspose input);
 * coordinate = pos * s - p + k * d. */
typedef struct cpu_win3 {
  int64_t img[3], pos[3], k[3], s[3], d[3], p[3];
} cpu_win3;

onyx_status cpu_nn_win3(const ir_node *n, const nn_geom *gm, bool transpose, cpu_win3 *w);
/* Positions [*lo, *hi) of npos whose coordinate pos * s + off lies in [0, size). */
void cpu_nn_valid_range(int64_t off, int64_t s, int64_t size, int64_t npos, int64_t *lo, int64_t *hi);
/* Threads for OpenMP regions (the session's setting, or all cores). */
int cpu_nn_threads(const cpu_ctx *ctx);
/* Row-major C = alpha * op(A) * op(B) + beta * C through OpenBLAS, split over
 * nt OpenMP threads (BLAS itself runs single-threaded: see nn_window.c).
 * Sizes must fit int (callers check). */
void cpu_nn_sgemm(int nt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                  int64_t ldc);
/* Conv's kernel for node n (Conv, FusedConv, FusedConvPool: params start with nn_conv_params) writing
 * conv(X, W) + B to y (N x M x out, row-major float) instead of the node's output.  Uses the
 * context's scratch (y must not be in it). */
onyx_status cpu_conv_into(cpu_ctx *ctx, const ir_graph *g, const ir_node *n, float *y);
/* MaxPool of planes row-major float planes (w->img in, w->pos out; no Indices), nt threads. */
void cpu_max_pool_f32(const float *x, float *y, int64_t planes, const cpu_win3 *w, int nt);
/* UNSUPPORTED unless t is float32. */
onyx_status cpu_nn_need_float(const ir_node *n, const ir_tensor *t);
/* The same for count tensors (NULL ones skipped), the error naming what[i]: "weight float16 is not ...". */
onyx_status cpu_nn_need_floats(const ir_node *n, const ir_tensor *const *t, const char *const *what, int count);
/* y[p] = the mean of the inner values of row-major plane p (summed in double; NAN for inner 0), nt threads:
 * GlobalAveragePool's arithmetic. */
void cpu_mean_planes_f32(const float *x, float *y, int64_t planes, int64_t inner, int nt);

#endif
