// Softmax, reductions and ArgMax.  A row that is contiguous is reduced by a
// group of threads (a warp, or the whole block for long rows) with shuffles;
// rows spaced apart (a softmax over a non-innermost axis, a reduction that keeps
// the innermost dim) are walked by one thread per output, so that neighbouring
// threads read neighbouring elements.  Semantics follow src/backend/cpu/reduce.c.
#include "backend/cuda/kernels/kcommon.cuh"
#include "backend/cuda/kernels/reduce.h"

// The arithmetic type of a reduction: float for float/float16, double, int64 for integers.
template <typename T> struct RAcc {
  typedef typename KAcc<T>::type type;
};
template <> struct RAcc<int32_t> {
  typedef int64_t type;
};

struct MaxF {
  template <typename A> __device__ __forceinline__ A operator()(A a, A b) const { return b > a ? b : a; }
};
struct MaxNaN { // NaN propagates
  template <typename A> __device__ __forceinline__ A operator()(A a, A b) const
  {
    return (b > a || b != b) ? b : a;
  }
};
struct SumF {
  template <typename A> __device__ __forceinline__ A operator()(A a, A b) const { return a + b; }
};

// Reduction over a group of G threads (32: a warp; else the whole block).
template <int G, typename A, typename F> __device__ __forceinline__ A group_reduce(A v, F f, A *shared)
{
  if (G == 32) return k_warp_reduce(v, f);
  return k_block_reduce(v, f, shared);
}

__device__ __forceinline__ float k_exp(float v) { return expf(v); }
__device__ __forceinline__ double k_exp(double v) { return exp(v); }

// ---- Softmax ----

template <typename T, int G>
static __global__ void softmax_rows_kernel(const T *__restrict__ x, T *__restrict__ y, int64_t rows,
                                           int64_t len, int log_out)
{
  typedef typename KAcc<T>::type C;
  __shared__ C shared[32];
  const int per_block = K_BLOCK / G, lane = threadIdx.x % G;
  for (int64_t row0 = (int64_t)blockIdx.x * per_block; row0 < rows; row0 += (int64_t)gridDim.x * per_block) {
    int64_t row = row0 + threadIdx.x / G;
    bool live = row < rows; // a warp past the end still takes part in block-wide syncs (G == K_BLOCK: never)
    const T *px = x + (live ? row : 0) * len;
    T *py = y + (live ? row : 0) * len;
    C m = -INFINITY;
    if (live)
      for (int64_t k = lane; k < len; k += G) m = MaxF()(m, (C)k_ld(px[k]));
    m = group_reduce<G>(m, MaxF(), shared);
    if (isinf(m)) m = 0; // all -inf, or a +inf: let exp() give the IEEE result
    C s = 0;
    if (live)
      for (int64_t k = lane; k < len; k += G) s += k_exp((C)k_ld(px[k]) - m);
    s = group_reduce<G>(s, SumF(), shared);
    if (!live) continue;
    if (log_out) {
      C lse = m + log(s);
      for (int64_t k = lane; k < len; k += G) py[k] = k_st<T>((C)k_ld(px[k]) - lse);
    } else {
      C inv = (C)1 / s;
      for (int64_t k = lane; k < len; k += G) py[k] = k_st<T>(k_exp((C)k_ld(px[k]) - m) * inv);
    }
  }
}

template <typename T>
static __global__ void softmax_lanes_kernel(const T *__restrict__ x, T *__restrict__ y, int64_t outer,
                                            int64_t len, int64_t inner, int log_out)
{
  typedef typename KAcc<T>::type C;
  K_LOOP(l, outer * inner)
  {
    int64_t off = (l / inner) * len * inner + l % inner;
    const T *px = x + off;
    T *py = y + off;
    C m = -INFINITY, s = 0;
    for (int64_t k = 0; k < len; k++) m = MaxF()(m, (C)k_ld(px[k * inner]));
    if (isinf(m)) m = 0;
    for (int64_t k = 0; k < len; k++) s += k_exp((C)k_ld(px[k * inner]) - m);
    if (log_out) {
      C lse = m + log(s);
      for (int64_t k = 0; k < len; k++) py[k * inner] = k_st<T>((C)k_ld(px[k * inner]) - lse);
    } else {
      C inv = (C)1 / s;
      for (int64_t k = 0; k < len; k++) py[k * inner] = k_st<T>(k_exp((C)k_ld(px[k * inner]) - m) * inv);
    }
  }
}

template <typename T>
static void softmax_launch(int log_out, const void *x, void *y, int64_t outer, int64_t len, int64_t inner,
                           cudaStream_t stream)
{
  const T *px = (const T *)x;
  T *py = (T *)y;
  if (inner > 1) {
    softmax_lanes_kernel<T>
        <<<k_grid(outer * inner), K_BLOCK, 0, stream>>>(px, py, outer, len, inner, log_out);
  } else if (len <= 1024) {
    softmax_rows_kernel<T, 32>
        <<<k_grid(outer, K_BLOCK / 32), K_BLOCK, 0, stream>>>(px, py, outer, len, log_out);
  } else {
    softmax_rows_kernel<T, K_BLOCK><<<k_grid(outer, 1), K_BLOCK, 0, stream>>>(px, py, outer, len, log_out);
  }
}

extern "C" cudaError_t cuda_softmax(onyx_dtype dt, int log_out, const void *x, void *y, int64_t outer,
                                    int64_t len, int64_t inner, cudaStream_t stream)
{
  if (outer * len * inner <= 0) return cudaSuccess;
  switch (dt) {
#define S(E, T)                                                                                              \
  case E: softmax_launch<T>(log_out, x, y, outer, len, inner, stream); return cudaSuccess;
    K_FLOAT_TYPES(S)
#undef S
  default: return cudaErrorInvalidValue;
  }
}

// ---- ReduceSum / ReduceMean / ReduceMax ----

__device__ __forceinline__ int64_t kept_offset(const cuda_reduce_layout &L, int nk, int64_t o)
{
  int64_t off = 0;
  for (int d = nk - 1; d >= 0; d--) {
    off += (o % L.ksize[d]) * L.kstride[d];
    o /= L.ksize[d];
  }
  return off;
}

// Offset of reduced element j (row-major over the reduced runs) from its output's kept offset.
__device__ __forceinline__ int64_t reduced_offset(const cuda_reduce_layout &L, int64_t j)
{
  int64_t off = 0;
  for (int d = L.nr - 1; d >= 0; d--) {
    off += (j % L.rsize[d]) * L.rstride[d];
    j /= L.rsize[d];
  }
  return off;
}

template <typename T, int G>
static __global__ void reduce_rows_kernel(cuda_reduce_layout L, int kind, const T *__restrict__ x,
                                          T *__restrict__ y)
{
  typedef typename RAcc<T>::type A;
  __shared__ A shared[32];
  const int per_block = K_BLOCK / G, lane = threadIdx.x % G;
  const A init = kind == CUDA_RED_MAX ? (A)KLim<T>::lo() : (A)0;
  for (int64_t o0 = (int64_t)blockIdx.x * per_block; o0 < L.n_out; o0 += (int64_t)gridDim.x * per_block) {
    int64_t o = o0 + threadIdx.x / G;
    bool live = o < L.n_out;
    A acc = init;
    if (live) {
      const T *p = x + kept_offset(L, L.nk, o);
      for (int64_t j = lane; j < L.n_red; j += G) {
        A v = (A)k_ld(p[reduced_offset(L, j)]);
        acc = kind == CUDA_RED_MAX ? MaxNaN()(acc, v) : acc + v;
      }
    }
    if (kind == CUDA_RED_MAX)
      acc = group_reduce<G>(acc, MaxNaN(), shared);
    else
      acc = group_reduce<G>(acc, SumF(), shared);
    if (live && lane == 0)
      y[o] = k_st<T>((typename KAcc<T>::type)(kind == CUDA_RED_MEAN ? acc / (A)L.n_red : acc));
  }
}

// Innermost dim kept: a block takes COLS adjacent outputs (coalesced reads along x) and splits each one's
// reduction over SLICES thread rows (y), combined in shared memory in a fixed order.  One thread per output
// serialised n_red dependent memory round trips: GlobalAveragePool at batch 1 (512 outputs of 49 pixels)
// took two blocks and 18-25 us on an H200; with slices its latency chain is n_red / SLICES loads.
#define COLS 32
#define SLICES 8
template <typename T>
static __global__ void __launch_bounds__(COLS *SLICES)
    reduce_cols_kernel(cuda_reduce_layout L, int kind, const T *__restrict__ x, T *__restrict__ y)
{
  typedef typename RAcc<T>::type A;
  __shared__ A part[SLICES][COLS];
  const A init = kind == CUDA_RED_MAX ? (A)KLim<T>::lo() : (A)0;
  for (int64_t o0 = (int64_t)blockIdx.x * COLS; o0 < L.n_out; o0 += (int64_t)gridDim.x * COLS) {
    const int64_t o = o0 + threadIdx.x;
    A acc = init;
    if (o < L.n_out) {
      const T *p = x + kept_offset(L, L.nk, o);
      for (int64_t j = threadIdx.y; j < L.n_red; j += SLICES) {
        A v = (A)k_ld(p[reduced_offset(L, j)]);
        acc = kind == CUDA_RED_MAX ? MaxNaN()(acc, v) : acc + v;
      }
    }
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && o < L.n_out) {
      for (int s = 1; s < SLICES; s++)
        acc = kind == CUDA_RED_MAX ? MaxNaN()(acc, part[s][threadIdx.x]) : acc + part[s][threadIdx.x];
      y[o] = k_st<T>((typename KAcc<T>::type)(kind == CUDA_RED_MEAN ? acc / (A)L.n_red : acc));
    }
    __syncthreads(); // part is rewritten by the next round
  }
}

template <typename T>
static void reduce_launch(cuda_reduce_kind kind, const cuda_reduce_layout *L, const void *x, void *y,
                          cudaStream_t stream)
{
  const T *px = (const T *)x;
  T *py = (T *)y;
  if (L->last_kept)
    reduce_cols_kernel<T><<<k_grid(L->n_out, COLS), dim3(COLS, SLICES), 0, stream>>>(*L, (int)kind, px, py);
  else if (L->n_red <= 4096 || L->n_out >= 4096)
    reduce_rows_kernel<T, 32><<<k_grid(L->n_out, K_BLOCK / 32), K_BLOCK, 0, stream>>>(*L, (int)kind, px, py);
  else
    reduce_rows_kernel<T, K_BLOCK><<<k_grid(L->n_out, 1), K_BLOCK, 0, stream>>>(*L, (int)kind, px, py);
}

extern "C" cudaError_t cuda_reduce(onyx_dtype dt, cuda_reduce_kind kind, const cuda_reduce_layout *L,
                                   const void *x, void *y, cudaStream_t stream)
{
  if (L->n_out <= 0) return cudaSuccess;
  switch (dt) {
#define R(E, T)                                                                                              \
  case E: reduce_launch<T>(kind, L, x, y, stream); return cudaSuccess;
    K_FLOAT_TYPES(R)
    R(ONYX_DTYPE_INT32, int32_t)
    R(ONYX_DTYPE_INT64, int64_t)
#undef R
  default: return cudaErrorInvalidValue;
  }
}

// ---- ArgMax ----

template <typename T>
static __global__ void argmax_kernel(const T *__restrict__ x, int64_t *__restrict__ y, int64_t outer,
                                     int64_t len, int64_t inner, int last)
{
  typedef typename KAcc<T>::type C;
  K_LOOP(l, outer * inner)
  {
    const T *p = x + (l / inner) * len * inner + l % inner;
    int64_t best = 0;
    C bv = k_ld(p[0]);
    for (int64_t k = 1; k < len; k++) {
      C v = k_ld(p[k * inner]);
      if (bv != bv) break; // a NaN wins, as in numpy
      if (v > bv || (last && v == bv) || v != v) bv = v, best = k;
    }
    y[l] = best;
  }
}

extern "C" cudaError_t cuda_argmax(onyx_dtype dt, const void *x, int64_t *y, int64_t outer, int64_t len,
                                   int64_t inner, int select_last, cudaStream_t stream)
{
  int64_t n = outer * inner;
  if (n <= 0 || len <= 0) return cudaSuccess;
  switch (dt) {
#define A_(E, T)                                                                                             \
  case E:                                                                                                    \
    argmax_kernel<T><<<k_grid(n), K_BLOCK, 0, stream>>>((const T *)x, y, outer, len, inner, select_last);    \
    return cudaSuccess;
    K_FLOAT_TYPES(A_)
    A_(ONYX_DTYPE_INT32, int32_t)
    A_(ONYX_DTYPE_INT64, int64_t)
#undef A_
  default: return cudaErrorInvalidValue;
  }
}
