// Elementwise kernels: one unary kernel parameterised by op, Clip, one broadcast
// binary kernel (a flat path when every input is dense or a scalar), Pow, Where,
// Cast and fills.  Semantics follow src/backend/cpu/elementwise*.c exactly:
// float16 is computed in float, integer arithmetic wraps, integer x/0 is 0.
#include <type_traits>

#include "backend/cuda/kernels/elementwise.h"
#include "backend/cuda/kernels/kcommon.cuh"

// ---- broadcast offsets ----

template <int NIN> __device__ __forceinline__ void bcast_offsets(const cuda_bcast &b, int64_t i, int64_t *off)
{
  if (b.flat) {
#pragma unroll
    for (int k = 0; k < NIN; k++) off[k] = b.str[k][0] ? i : 0;
    return;
  }
#pragma unroll
  for (int k = 0; k < NIN; k++) off[k] = 0;
  if (b.small) {
    uint32_t r = (uint32_t)i;
    for (int d = b.ndim - 1; d >= 0; d--) {
      uint32_t dim = (uint32_t)b.dims[d], q = r / dim, idx = r - q * dim;
      r = q;
#pragma unroll
      for (int k = 0; k < NIN; k++) off[k] += (int64_t)idx * b.str[k][d];
    }
  } else {
    int64_t r = i;
    for (int d = b.ndim - 1; d >= 0; d--) {
      int64_t dim = b.dims[d], q = r / dim, idx = r - q * dim;
      r = q;
#pragma unroll
      for (int k = 0; k < NIN; k++) off[k] += idx * b.str[k][d];
    }
  }
}

// ---- unary ----

template <typename C> __device__ __forceinline__ C unary_float(int op, C x, C alpha, C beta)
{
  switch (op) {
  case CUDA_UN_RELU: return x > 0 ? x : (C)0;
  case CUDA_UN_LEAKY_RELU: return x >= 0 ? x : alpha * x;
  case CUDA_UN_SIGMOID: return (C)1 / ((C)1 + exp(-x));
  case CUDA_UN_TANH: return tanh(x);
  case CUDA_UN_HARD_SIGMOID: return fmax((C)0, fmin((C)1, alpha * x + beta));
  case CUDA_UN_HARD_SWISH: return x * fmax((C)0, fmin((C)1, x * (C)(1.0 / 6.0) + (C)0.5));
  case CUDA_UN_ELU: return x >= 0 ? x : alpha * expm1(x);
  case CUDA_UN_SOFTPLUS: return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
  case CUDA_UN_EXP: return exp(x);
  case CUDA_UN_LOG: return log(x);
  case CUDA_UN_SQRT: return sqrt(x);
  case CUDA_UN_RECIPROCAL: return (C)1 / x;
  case CUDA_UN_NEG: return -x;
  case CUDA_UN_ABS: return fabs(x);
  case CUDA_UN_ERF: return erf(x);
  }
  return x;
}

template <typename T>
static __global__ void unary_float_kernel(int op, float alpha, float beta, const T *__restrict__ x,
                                          T *__restrict__ y, int64_t n)
{
  typedef typename KAcc<T>::type C;
  K_LOOP(i, n) y[i] = k_st<T>(unary_float<C>(op, k_ld(x[i]), (C)alpha, (C)beta));
}

template <typename T>
static __global__ void unary_int_kernel(int op, const T *__restrict__ x, T *__restrict__ y, int64_t n)
{
  typedef typename std::make_unsigned<T>::type U;
  K_LOOP(i, n)
  {
    T v = x[i];
    bool neg = false;
    if constexpr (std::is_signed<T>::value) neg = v < (T)0;
    switch (op) {
    case CUDA_UN_RELU: y[i] = v > (T)0 ? v : (T)0; break;
    case CUDA_UN_NEG: y[i] = (T)((U)0 - (U)v); break;
    default: y[i] = neg ? (T)((U)0 - (U)v) : v; break; // ABS
    }
  }
}

extern "C" cudaError_t cuda_ew_unary(cuda_unary_op op, onyx_dtype dt, float alpha, float beta, const void *x,
                                     void *y, int64_t n, cudaStream_t stream)
{
  if (n <= 0) return cudaSuccess;
  switch (dt) {
#define F(E, T)                                                                                              \
  case E:                                                                                                    \
    unary_float_kernel<T><<<k_grid(n), K_BLOCK, 0, stream>>>((int)op, alpha, beta, (const T *)x, (T *)y, n); \
    return cudaSuccess;
    K_FLOAT_TYPES(F)
#undef F
  default: break;
  }
  bool is_signed =
      dt == ONYX_DTYPE_INT8 || dt == ONYX_DTYPE_INT16 || dt == ONYX_DTYPE_INT32 || dt == ONYX_DTYPE_INT64;
  if (!(op == CUDA_UN_ABS || (is_signed && (op == CUDA_UN_RELU || op == CUDA_UN_NEG))))
    return cudaErrorInvalidValue;
  switch (dt) {
#define I(E, T)                                                                                              \
  case E:                                                                                                    \
    unary_int_kernel<T><<<k_grid(n), K_BLOCK, 0, stream>>>((int)op, (const T *)x, (T *)y, n);                \
    return cudaSuccess;
    K_SINT_TYPES(I)
    K_UINT_TYPES(I)
#undef I
  default: return cudaErrorInvalidValue;
  }
}

// ---- Clip ----

template <typename T>
static __global__ void clip_kernel(const T *__restrict__ x, T *__restrict__ y, int64_t n, const T *plo,
                                   const T *phi, int has_lo, double lo_attr, int has_hi, double hi_attr)
{
  typedef typename KAcc<T>::type C;
  C lo = KLim<T>::lo(), hi = KLim<T>::hi();
  if constexpr (std::is_integral<T>::value) { // the attribute converted to T, as the CPU does
    if (has_lo) lo = (C)(T)lo_attr;
    if (has_hi) hi = (C)(T)hi_attr;
  } else {
    if (has_lo) lo = (C)(float)lo_attr;
    if (has_hi) hi = (C)(float)hi_attr;
  }
  if (plo) lo = k_ld(*plo);
  if (phi) hi = k_ld(*phi);
  K_LOOP(i, n)
  {
    C v = k_ld(x[i]);
    y[i] = k_st<T>(lo > hi ? hi : v < lo ? lo : v > hi ? hi : v);
  }
}

extern "C" cudaError_t cuda_ew_clip(onyx_dtype dt, const void *x, void *y, int64_t n, const void *lo_dev,
                                    const void *hi_dev, int has_lo, double lo, int has_hi, double hi,
                                    cudaStream_t stream)
{
  if (n <= 0) return cudaSuccess;
  switch (dt) {
#define C_(E, T)                                                                                             \
  case E:                                                                                                    \
    clip_kernel<T><<<k_grid(n), K_BLOCK, 0, stream>>>((const T *)x, (T *)y, n, (const T *)lo_dev,            \
                                                      (const T *)hi_dev, has_lo, lo, has_hi, hi);            \
    return cudaSuccess;
    K_NUM_TYPES(C_)
#undef C_
  default: return cudaErrorInvalidValue;
  }
}

// ---- binary ----

template <typename T> struct BinOp {
  int op;
  typedef typename KAcc<T>::type C;
  __device__ __forceinline__ T operator()(T xs, T ys) const
  {
    if constexpr (std::is_integral<T>::value) {
      typedef typename std::make_unsigned<T>::type U;
      typedef decltype((U)0 + 0u) W; // keeps uint8/uint16 products out of signed int
      T x = xs, y = ys;
      switch (op) {
      case CUDA_BIN_ADD: return (T)((W)(U)x + (W)(U)y);
      case CUDA_BIN_SUB: return (T)((W)(U)x - (W)(U)y);
      case CUDA_BIN_MUL: return (T)((W)(U)x * (W)(U)y);
      case CUDA_BIN_DIV:
        if (y == (T)0) return (T)0;
        if (std::is_signed<T>::value && y == (T)-1) return (T)((U)0 - (U)x);
        return (T)(x / y);
      case CUDA_BIN_PRELU: return (std::is_signed<T>::value && x < (T)0) ? (T)((W)(U)x * (W)(U)y) : x;
      case CUDA_BIN_MAX: return x > y ? x : y;
      case CUDA_BIN_MIN: return x < y ? x : y;
      }
      return x;
    } else {
      C x = k_ld(xs), y = k_ld(ys), r = x;
      switch (op) {
      case CUDA_BIN_ADD: r = x + y; break;
      case CUDA_BIN_SUB: r = x - y; break;
      case CUDA_BIN_MUL: r = x * y; break;
      case CUDA_BIN_DIV: r = x / y; break;
      case CUDA_BIN_PRELU: r = x < 0 ? x * y : x; break;
      case CUDA_BIN_MAX: r = (x > y || x != x) ? x : y; break; // NaN propagates
      case CUDA_BIN_MIN: r = (x < y || x != x) ? x : y; break;
      }
      return k_st<T>(r);
    }
  }
};

template <typename T> struct EqOp {
  __device__ __forceinline__ uint8_t operator()(T x, T y) const { return k_ld(x) == k_ld(y); }
};
struct BoolEqOp {
  __device__ __forceinline__ uint8_t operator()(uint8_t x, uint8_t y) const { return (x != 0) == (y != 0); }
};

// d: double to int64 without undefined behaviour (NaN 0, saturating).
__device__ __forceinline__ int64_t d2i64(double v)
{
  if (v != v) return 0;
  if (v >= 9223372036854775807.0) return INT64_MAX;
  if (v <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)v;
}

// An integer base to the power e: exact (wrapping) for integral e, else the truncated float result.
__device__ __forceinline__ uint64_t ipow(uint64_t bits, double xd, double e)
{
  if (e != floor(e) || fabs(e) > 1e18) return (uint64_t)d2i64(pow(xd, e));
  if (e < 0) {
    if (xd == 1) return 1;
    if (xd == -1) return ((int64_t)-e & 1) ? UINT64_MAX : 1;
    return 0;
  }
  uint64_t r = 1, k = (uint64_t)e;
  for (; k; k >>= 1, bits *= bits)
    if (k & 1) r *= bits;
  return r;
}

template <typename T, typename E> struct PowOp {
  __device__ __forceinline__ T operator()(T x, E e) const
  {
    if constexpr (std::is_integral<T>::value) {
      return (T)ipow((uint64_t)x, (double)x, (double)e);
    } else if constexpr (std::is_same<E, double>::value) {
      return k_st<T>((typename KAcc<T>::type)pow((double)k_ld(x), e));
    } else {
      return k_st<T>(pow(k_ld(x), k_ld(e))); // float ** float runs in float, as on the CPU
    }
  }
};

template <typename A, typename B, typename O, typename F>
static __global__ void bcast2_kernel(cuda_bcast b, const A *__restrict__ a, const B *__restrict__ c,
                                     O *__restrict__ y, F f)
{
  K_LOOP(i, b.n)
  {
    int64_t off[2];
    bcast_offsets<2>(b, i, off);
    y[i] = f(a[off[0]], c[off[1]]);
  }
}

template <typename A, typename B, typename O, typename F>
static void bcast2_launch(const cuda_bcast *b, const void *a, const void *c, void *y, F f,
                          cudaStream_t stream)
{
  bcast2_kernel<A, B, O, F><<<k_grid(b->n), K_BLOCK, 0, stream>>>(*b, (const A *)a, (const B *)c, (O *)y, f);
}

extern "C" cudaError_t cuda_ew_binary(cuda_binary_op op, onyx_dtype dt, const cuda_bcast *b, const void *a,
                                      const void *bb, void *y, cudaStream_t stream)
{
  if (b->n <= 0) return cudaSuccess;
  if (b->nin != 2) return cudaErrorInvalidValue;
  if (op == CUDA_BIN_EQUAL) {
    switch (dt) {
#define Q(E, T)                                                                                              \
  case E: bcast2_launch<T, T, uint8_t>(b, a, bb, y, EqOp<T>(), stream); return cudaSuccess;
      K_NUM_TYPES(Q)
#undef Q
    case ONYX_DTYPE_BOOL:
      bcast2_launch<uint8_t, uint8_t, uint8_t>(b, a, bb, y, BoolEqOp(), stream);
      return cudaSuccess;
    default: return cudaErrorInvalidValue;
    }
  }
  switch (dt) {
#define B_(E, T)                                                                                             \
  case E: bcast2_launch<T, T, T>(b, a, bb, y, BinOp<T>{(int)op}, stream); return cudaSuccess;
    K_NUM_TYPES(B_)
#undef B_
  default: return cudaErrorInvalidValue;
  }
}

extern "C" cudaError_t cuda_ew_pow(onyx_dtype base, onyx_dtype exp, const cuda_bcast *b, const void *a,
                                   const void *e, void *y, cudaStream_t stream)
{
  if (b->n <= 0) return cudaSuccess;
  if (b->nin != 2) return cudaErrorInvalidValue;
  if (exp == ONYX_DTYPE_DOUBLE) {
    switch (base) {
#define P(E, T)                                                                                              \
  case E: bcast2_launch<T, double, T>(b, a, e, y, PowOp<T, double>(), stream); return cudaSuccess;
      K_NUM_TYPES(P)
#undef P
    default: return cudaErrorInvalidValue;
    }
  }
  if (exp != base) return cudaErrorInvalidValue;
  switch (base) {
#define P(E, T)                                                                                              \
  case E: bcast2_launch<T, T, T>(b, a, e, y, PowOp<T, T>(), stream); return cudaSuccess;
    K_FLOAT_TYPES(P)
    K_SINT_TYPES(P)
    K_UINT_TYPES(P)
#undef P
  default: return cudaErrorInvalidValue;
  }
}

// ---- Where ----

template <typename E>
static __global__ void where_kernel(cuda_bcast b, const uint8_t *__restrict__ c, const E *__restrict__ x,
                                    const E *__restrict__ z, E *__restrict__ y)
{
  K_LOOP(i, b.n)
  {
    int64_t off[3];
    bcast_offsets<3>(b, i, off);
    y[i] = c[off[0]] ? x[off[1]] : z[off[2]];
  }
}

extern "C" cudaError_t cuda_ew_where(size_t esz, const cuda_bcast *b, const void *cond, const void *x,
                                     const void *z, void *y, cudaStream_t stream)
{
  if (b->n <= 0) return cudaSuccess;
  if (b->nin != 3) return cudaErrorInvalidValue;
  const uint8_t *c = (const uint8_t *)cond;
  unsigned g = k_grid(b->n);
  switch (esz) {
  case 1:
    where_kernel<uint8_t>
        <<<g, K_BLOCK, 0, stream>>>(*b, c, (const uint8_t *)x, (const uint8_t *)z, (uint8_t *)y);
    break;
  case 2:
    where_kernel<uint16_t>
        <<<g, K_BLOCK, 0, stream>>>(*b, c, (const uint16_t *)x, (const uint16_t *)z, (uint16_t *)y);
    break;
  case 4:
    where_kernel<uint32_t>
        <<<g, K_BLOCK, 0, stream>>>(*b, c, (const uint32_t *)x, (const uint32_t *)z, (uint32_t *)y);
    break;
  case 8:
    where_kernel<uint64_t>
        <<<g, K_BLOCK, 0, stream>>>(*b, c, (const uint64_t *)x, (const uint64_t *)z, (uint64_t *)y);
    break;
  default: return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}

// ---- Cast ----

// A source value as C sees it: floating (f), or an integer's two's complement bits (u), signed or not.
struct CastVal {
  int kind; // 0 floating, 1 signed integer, 2 unsigned integer
  double f;
  uint64_t u;
};

template <typename S> __device__ __forceinline__ CastVal cast_load(S v)
{
  CastVal r = {0, 0.0, 0};
  if constexpr (std::is_integral<S>::value) {
    r.kind = std::is_signed<S>::value ? 1 : 2;
    r.u = std::is_signed<S>::value ? (uint64_t)(int64_t)v : (uint64_t)v;
  } else {
    r.f = (double)k_ld(v);
  }
  return r;
}

template <typename D> __device__ __forceinline__ D cast_store(const CastVal &v)
{
  if constexpr (std::is_integral<D>::value) {
    return v.kind == 0 ? (D)v.f : (D)v.u;
  } else {
    typedef typename KAcc<D>::type C;
    C r = v.kind == 0 ? (C)v.f : v.kind == 1 ? (C)(int64_t)v.u : (C)v.u;
    return k_st<D>(r);
  }
}

template <typename S>
static __global__ void cast_kernel(const S *__restrict__ x, void *__restrict__ y, int to, int64_t n)
{
  K_LOOP(i, n)
  {
    CastVal v = cast_load(x[i]);
    switch (to) {
#define D_(E, T)                                                                                             \
  case E: ((T *)y)[i] = cast_store<T>(v); break;
      K_NUM_TYPES(D_)
#undef D_
    case ONYX_DTYPE_BOOL: ((uint8_t *)y)[i] = v.kind == 0 ? v.f != 0 : v.u != 0; break;
    }
  }
}

// The same through a strided copy's offsets (the two sides in different layouts).
template <typename S>
static __global__ void cast_strided_kernel(cuda_strided c, const S *__restrict__ x, void *__restrict__ y,
                                           int to)
{
  K_LOOP(i, c.n)
  {
    int64_t so, d;
    k_strided_offsets(c, i, &so, &d);
    CastVal v = cast_load(x[so]);
    switch (to) {
#define D_(E, T)                                                                                             \
  case E: ((T *)y)[d] = cast_store<T>(v); break;
      K_NUM_TYPES(D_)
#undef D_
    case ONYX_DTYPE_BOOL: ((uint8_t *)y)[d] = v.kind == 0 ? v.f != 0 : v.u != 0; break;
    }
  }
}

static bool cast_dtype_ok(onyx_dtype dt)
{
  switch (dt) {
#define OK_(E, T) case E:
    K_NUM_TYPES(OK_)
#undef OK_
  case ONYX_DTYPE_BOOL: return true;
  default: return false;
  }
}

extern "C" cudaError_t cuda_ew_cast(onyx_dtype from, onyx_dtype to, const void *x, void *y, int64_t n,
                                    cudaStream_t stream)
{
  if (!cast_dtype_ok(from) || !cast_dtype_ok(to)) return cudaErrorInvalidValue;
  if (n <= 0) return cudaSuccess;
  switch (from) {
#define S_(E, T)                                                                                             \
  case E: cast_kernel<T><<<k_grid(n), K_BLOCK, 0, stream>>>((const T *)x, y, (int)to, n); return cudaSuccess;
    K_NUM_TYPES(S_)
#undef S_
  case ONYX_DTYPE_BOOL:
    cast_kernel<uint8_t><<<k_grid(n), K_BLOCK, 0, stream>>>((const uint8_t *)x, y, (int)to, n);
    return cudaSuccess;
  default: return cudaErrorInvalidValue;
  }
}

extern "C" cudaError_t cuda_ew_cast_strided(onyx_dtype from, onyx_dtype to, const cuda_strided *c,
                                            const void *x, void *y, cudaStream_t stream)
{
  if (!cast_dtype_ok(from) || !cast_dtype_ok(to)) return cudaErrorInvalidValue;
  if (c->n <= 0) return cudaSuccess;
  switch (from) {
#define S_(E, T)                                                                                             \
  case E:                                                                                                    \
    cast_strided_kernel<T><<<k_grid(c->n), K_BLOCK, 0, stream>>>(*c, (const T *)x, y, (int)to);              \
    return cudaSuccess;
    K_NUM_TYPES(S_)
#undef S_
  case ONYX_DTYPE_BOOL:
    cast_strided_kernel<uint8_t><<<k_grid(c->n), K_BLOCK, 0, stream>>>(*c, (const uint8_t *)x, y, (int)to);
    return cudaSuccess;
  default: return cudaErrorInvalidValue;
  }
}

// FLOAT NCHW -> FLOAT16 or FLOAT NHWC (the input cast + reformat of an FP16 engine, the input reformat
// of a TF32 one): one thread per pixel, so the reads of each channel plane are coalesced and the C
// values of a pixel are written together; one 64-bit division per pixel instead of the strided
// copy's per element.  For few channels (an image's 3): with many, each thread's writes would be
// far apart from its neighbours'.
template <typename O>
static __global__ void nchw_to_nhwc_kernel(const float *__restrict__ x, O *__restrict__ y, int64_t pixels,
                                           int64_t hw, int c)
{
  K_LOOP(p, pixels)
  {
    const int64_t n = p / hw, i = p - n * hw;
    const float *src = x + n * c * hw + i;
    O *dst = y + p * c;
    for (int k = 0; k < c; k++) dst[k] = k_st<O>(src[k * hw]);
  }
}

extern "C" cudaError_t cuda_f32_nchw_to_nhwc(const void *x, void *y, bool f16_out, int64_t n, int64_t c,
                                             int64_t hw, cudaStream_t stream)
{
  const int64_t pixels = n * hw;
  if (pixels <= 0 || c <= 0) return cudaSuccess;
  if (c > INT32_MAX) return cudaErrorInvalidValue;
  if (f16_out)
    nchw_to_nhwc_kernel<__half>
        <<<k_grid(pixels), K_BLOCK, 0, stream>>>((const float *)x, (__half *)y, pixels, hw, (int)c);
  else
    nchw_to_nhwc_kernel<float><<<k_grid(pixels), K_BLOCK, 0, stream>>>((const float *)x, (float *)y, pixels, hw,
                                                                       (int)c);
  return cudaSuccess;
}

// ---- fill ----

template <typename E> static __global__ void fill_kernel(E *__restrict__ y, E v, int64_t n)
{
  K_LOOP(i, n) y[i] = v;
}

extern "C" cudaError_t cuda_ew_fill(size_t esz, uint64_t value, void *y, int64_t n, cudaStream_t stream)
{
  if (n <= 0) return cudaSuccess;
  unsigned g = k_grid(n);
  switch (esz) {
  case 1: fill_kernel<uint8_t><<<g, K_BLOCK, 0, stream>>>((uint8_t *)y, (uint8_t)value, n); break;
  case 2: fill_kernel<uint16_t><<<g, K_BLOCK, 0, stream>>>((uint16_t *)y, (uint16_t)value, n); break;
  case 4: fill_kernel<uint32_t><<<g, K_BLOCK, 0, stream>>>((uint32_t *)y, (uint32_t)value, n); break;
  case 8: fill_kernel<uint64_t><<<g, K_BLOCK, 0, stream>>>((uint64_t *)y, value, n); break;
  default: return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}
