/* Shared machinery of the CPU elementwise kernels: broadcast iteration,
 * OpenMP loops, dtype lists for instantiating one loop per type, and the
 * float16 path (float16 tensors are widened to float, computed, narrowed). */
#ifndef ONYX_BACKEND_CPU_ELEMENTWISE_H
#define ONYX_BACKEND_CPU_ELEMENTWISE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "backend/cpu/cpu.h"
#include "common/util.h"
#include "ops/elementwise.h"

/* Below this many elements a loop runs on one thread (fork/join costs more). */
#define EW_PAR_MIN ((int64_t)1 << 15)
/* Inner rows are cut into blocks of this many elements for parallel work. */
#define EW_BLOCK ((int64_t)8192)
/* Most inputs or outputs a kernel handles (variadic Sum/Max/Min). */
#define EW_MAX_IO 64
/* Inputs a broadcast iterator tracks. */
#define EW_MAX_IN 3

/* Threads to use for work of this many elements (1 when small). */
int ew_threads(const cpu_ctx *ctx, int64_t work);

/* Broadcast iteration over an output shape with up to EW_MAX_IN inputs.
 * Dims of size 1 are dropped and dims that are contiguous for every input
 * merged, so the innermost row is as long as possible; each input's stride
 * along that row is 0 (broadcast) or 1. */
typedef struct ew_iter {
  int nin, ndim;
  int64_t dims[ONYX_MAX_DIMS];
  int64_t strides[EW_MAX_IN][ONYX_MAX_DIMS];
  int64_t outer, inner; /* rows, row length */
} ew_iter;

void ew_iter_init(ew_iter *it, int out_ndim, const int64_t *out_dims, int nin, const int *in_ndim,
                  const int64_t *const *in_dims);
/* Element offset of each input at the start of row r. */
static inline void ew_iter_row(const ew_iter *it, int64_t r, int64_t *off)
{
  for (int k = 0; k < it->nin; k++) off[k] = 0;
  for (int d = it->ndim - 2; d >= 0 && r > 0; d--) {
    int64_t i = r % it->dims[d];
    r /= it->dims[d];
    for (int k = 0; k < it->nin; k++) off[k] += i * it->strides[k][d];
  }
}

/* A parallel loop over i in [0, cnt); a variable `nt` (threads) must be in scope. */
#define EW_PARFOR(cnt, i)                                                                                    \
  _Pragma("omp parallel for num_threads(nt) if (nt > 1) schedule(static)") for (int64_t i = 0; i < (cnt); i++)

/* Binary broadcast loop: o = EXPR(x, y) where x, y are the elements of pa, pb
 * (types TA, TB) and o is of type TO; `nt` must be in scope. */
#define EW_BIN_LOOP(it, TA, TB, TO, pa, pb, po, EXPR)                                                        \
  do {                                                                                                       \
    const TA *A_ = (const TA *)(pa);                                                                         \
    const TB *B_ = (const TB *)(pb);                                                                         \
    TO *O_ = (TO *)(po);                                                                                     \
    const int64_t inner_ = (it)->inner, nblk_ = (inner_ + EW_BLOCK - 1) / EW_BLOCK;                          \
    const int64_t tasks_ = (it)->outer * nblk_;                                                              \
    const int64_t sa_ = (it)->strides[0][(it)->ndim - 1], sb_ = (it)->strides[1][(it)->ndim - 1];            \
    EW_PARFOR(tasks_, t_)                                                                                    \
    {                                                                                                        \
      int64_t r_ = t_ / nblk_, j0_ = (t_ % nblk_) * EW_BLOCK, off_[EW_MAX_IN];                               \
      int64_t j1_ = j0_ + EW_BLOCK < inner_ ? j0_ + EW_BLOCK : inner_;                                       \
      ew_iter_row((it), r_, off_);                                                                           \
      const TA *a_ = A_ + off_[0];                                                                           \
      const TB *b_ = B_ + off_[1];                                                                           \
      TO *o_ = O_ + r_ * inner_;                                                                             \
      if (sa_ && sb_) {                                                                                      \
        for (int64_t j = j0_; j < j1_; j++) {                                                                \
          TA x = a_[j];                                                                                      \
          TB y = b_[j];                                                                                      \
          o_[j] = (EXPR);                                                                                    \
        }                                                                                                    \
      } else if (sa_) {                                                                                      \
        TB y = b_[0];                                                                                        \
        for (int64_t j = j0_; j < j1_; j++) {                                                                \
          TA x = a_[j];                                                                                      \
          o_[j] = (EXPR);                                                                                    \
        }                                                                                                    \
      } else if (sb_) {                                                                                      \
        TA x = a_[0];                                                                                        \
        for (int64_t j = j0_; j < j1_; j++) {                                                                \
          TB y = b_[j];                                                                                      \
          o_[j] = (EXPR);                                                                                    \
        }                                                                                                    \
      } else {                                                                                               \
        TA x = a_[0];                                                                                        \
        TB y = b_[0];                                                                                        \
        TO v_ = (EXPR);                                                                                      \
        for (int64_t j = j0_; j < j1_; j++) o_[j] = v_;                                                      \
      }                                                                                                      \
    }                                                                                                        \
  } while (0)

/* Type lists: X(DTYPE suffix, C type, same-width unsigned type for wrapping
 * arithmetic, lowest value, highest value, ...). float16 is absent: it is
 * computed as float (ew_run). */
#define EW_FLOAT_TYPES(X, ...)                                                                               \
  X(FLOAT, float, float, -INFINITY, INFINITY, __VA_ARGS__)                                                   \
  X(DOUBLE, double, double, -INFINITY, INFINITY, __VA_ARGS__)
#define EW_SINT_TYPES(X, ...)                                                                                \
  X(INT8, int8_t, uint8_t, INT8_MIN, INT8_MAX, __VA_ARGS__)                                                  \
  X(INT16, int16_t, uint16_t, INT16_MIN, INT16_MAX, __VA_ARGS__)                                             \
  X(INT32, int32_t, uint32_t, INT32_MIN, INT32_MAX, __VA_ARGS__)                                             \
  X(INT64, int64_t, uint64_t, INT64_MIN, INT64_MAX, __VA_ARGS__)
#define EW_UINT_TYPES(X, ...)                                                                                \
  X(UINT8, uint8_t, uint8_t, 0, UINT8_MAX, __VA_ARGS__)                                                      \
  X(UINT16, uint16_t, uint16_t, 0, UINT16_MAX, __VA_ARGS__)                                                  \
  X(UINT32, uint32_t, uint32_t, 0, UINT32_MAX, __VA_ARGS__)                                                  \
  X(UINT64, uint64_t, uint64_t, 0, UINT64_MAX, __VA_ARGS__)
#define EW_INT_TYPES(X, ...) EW_SINT_TYPES(X, __VA_ARGS__) EW_UINT_TYPES(X, __VA_ARGS__)
#define EW_NUM_TYPES(X, ...) EW_FLOAT_TYPES(X, __VA_ARGS__) EW_INT_TYPES(X, __VA_ARGS__)

/* Computes a node from explicit tensors (in[i]/out[i] NULL when omitted). */
typedef onyx_status (*ew_impl)(cpu_ctx *ctx, const ir_node *n, const ir_tensor *const *in,
                               ir_tensor *const *out);
/* Gathers n's tensors and calls impl; float16 tensors are widened to float
 * copies first and float16 outputs narrowed back afterwards. */
onyx_status ew_run(cpu_ctx *ctx, const ir_graph *g, const ir_node *n, ew_impl impl);

/* Error for a dtype a kernel has no loop for (infer should have refused it). */
onyx_status ew_bad_dtype(const ir_node *n, onyx_dtype dt);

#endif
