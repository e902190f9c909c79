// MaxPool, AveragePool and BatchNormalization: one thread per output element.
// Semantics follow src/backend/cpu/nn_pool.c and nn_norm.c.
#include <float.h>
#include <stdint.h>

#include "backend/cuda/kernels/kcommon.cuh"
#include "backend/cuda/kernels/pool.h"

// Taps [lo, hi) of the window whose coordinate off + k * d lies inside [0, size).
__device__ __forceinline__ void valid_range(int64_t off, int64_t d, int64_t size, int64_t nk, int64_t *lo,
                                            int64_t *hi)
{
  int64_t l = off >= 0 ? 0 : (-off + d - 1) / d;
  int64_t h = size - 1 - off >= 0 ? (size - 1 - off) / d + 1 : 0;
  if (l > nk) l = nk;
  if (h > nk) h = nk;
  if (h < l) h = l;
  *lo = l, *hi = h;
}

// Output element i (in Y's memory order): plane nc = n * C + c, 3-D position o, the input
// plane's first element and the distance between its spatial neighbours (1 row-major, C
// channels-last), and i's row-major position (for Indices).
struct PoolAt {
  int64_t nc, base, step, logical;
  int64_t o[3];
};

__device__ __forceinline__ PoolAt pool_at(const cuda_pool_geom &g, int64_t i)
{
  PoolAt a;
  const int64_t ipl = g.img[0] * g.img[1] * g.img[2];
  if (!g.channels_last) {
    int64_t r = i;
    a.o[2] = r % g.pos[2];
    r /= g.pos[2];
    a.o[1] = r % g.pos[1];
    r /= g.pos[1];
    a.o[0] = r % g.pos[0];
    a.nc = r / g.pos[0];
    a.base = a.nc * ipl;
    a.step = 1;
    a.logical = i;
  } else {
    const int64_t C = g.channels;
    int64_t c = i % C, r = i / C;
    a.o[2] = r % g.pos[2];
    r /= g.pos[2];
    a.o[1] = r % g.pos[1];
    r /= g.pos[1];
    a.o[0] = r % g.pos[0];
    const int64_t n = r / g.pos[0];
    a.nc = n * C + c;
    a.base = n * ipl * C + c;
    a.step = C;
    a.logical = a.nc * (g.pos[0] * g.pos[1] * g.pos[2]) + (a.o[0] * g.pos[1] + a.o[1]) * g.pos[2] + a.o[2];
  }
  return a;
}

template <typename T> __device__ __forceinline__ float pool_lowest() { return -FLT_MAX; }
template <> __device__ __forceinline__ float pool_lowest<int8_t>() { return (float)INT8_MIN; }
template <> __device__ __forceinline__ float pool_lowest<uint8_t>() { return 0.f; }

template <typename T>
static __global__ void max_pool_kernel(cuda_pool_geom g, int64_t n, const T *__restrict__ x,
                                       T *__restrict__ y, int64_t *__restrict__ indices)
{
  const int64_t D = g.img[0], H = g.img[1], W = g.img[2], ipl = D * H * W;
  K_LOOP(i, n)
  {
    const PoolAt at = pool_at(g, i);
    const int64_t *o = at.o;
    int64_t lo[3], hi[3];
    for (int a = 0; a < 3; a++) valid_range(o[a] * g.s[a] - g.p[a], g.d[a], g.img[a], g.k[a], &lo[a], &hi[a]);
    const T *src = x + at.base;
    float best = pool_lowest<T>();
    T bestv = k_st<T>(best);
    bool any = false;
    int64_t bd = 0, bh = 0, bw = 0;
    for (int64_t kd = lo[0]; kd < hi[0]; kd++) {
      int64_t id = o[0] * g.s[0] - g.p[0] + kd * g.d[0];
      for (int64_t kh = lo[1]; kh < hi[1]; kh++) {
        int64_t ih = o[1] * g.s[1] - g.p[1] + kh * g.d[1];
        const int64_t row = (id * H + ih) * W;
        for (int64_t kw = lo[2]; kw < hi[2]; kw++) {
          int64_t iw = o[2] * g.s[2] - g.p[2] + kw * g.d[2];
          T v = src[(row + iw) * at.step];
          float fv = (float)k_ld(v);
          if (!any || fv > best) best = fv, bestv = v, bd = id, bh = ih, bw = iw, any = true;
        }
      }
    }
    y[i] = bestv;
    if (indices) // column major (storage_order 1) reverses the spatial dims
      indices[at.logical] =
          at.nc * ipl + (g.storage_order ? bd + bh * D + bw * D * H : (bd * H + bh) * W + bw);
  }
}

template <typename T>
static __global__ void avg_pool_kernel(cuda_pool_geom g, int64_t n, const T *__restrict__ x,
                                       T *__restrict__ y)
{
  const int64_t H = g.img[1], W = g.img[2];
  K_LOOP(i, n)
  {
    const PoolAt at = pool_at(g, i);
    const int64_t *o = at.o;
    int64_t lo[3], hi[3], plo[3], phi[3];
    for (int a = 0; a < 3; a++) {
      valid_range(o[a] * g.s[a] - g.p[a], g.d[a], g.img[a], g.k[a], &lo[a], &hi[a]);
      valid_range(o[a] * g.s[a], g.d[a], g.pimg[a], g.k[a], &plo[a], &phi[a]);
    }
    const T *src = x + at.base;
    float sum = 0.f;
    for (int64_t kd = lo[0]; kd < hi[0]; kd++) {
      int64_t id = o[0] * g.s[0] - g.p[0] + kd * g.d[0];
      for (int64_t kh = lo[1]; kh < hi[1]; kh++) {
        int64_t ih = o[1] * g.s[1] - g.p[1] + kh * g.d[1];
        const int64_t row = (id * H + ih) * W;
        for (int64_t kw = lo[2]; kw < hi[2]; kw++)
          sum += (float)k_ld(src[(row + o[2] * g.s[2] - g.p[2] + kw * g.d[2]) * at.step]);
      }
    }
    int64_t cnt = g.count_include_pad ? (phi[0] - plo[0]) * (phi[1] - plo[1]) * (phi[2] - plo[2])
                                      : (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
    y[i] = k_st<T>(cnt > 0 ? sum / (float)cnt : 0.f);
  }
}

// The channels-last 2-D fast path (no Indices): one thread per output pixel and 16 bytes of channels
// (8 halves or 4 floats), 16-byte loads and stores, 32-bit index arithmetic.  The general kernel
// above spends its time in 64-bit divisions: this one divides once per thread.  Same comparisons as
// the general kernel (a tap wins when it is greater; the first valid tap starts the maximum).
template <typename T>
static __global__ void max_pool2d_nhwc_v16_kernel(cuda_pool_geom g, int total, const uint4 *__restrict__ x,
                                                  uint4 *__restrict__ y)
{
  constexpr int V = 16 / sizeof(T);
  const int CV = (int)(g.channels / V), OH = (int)g.pos[1], OW = (int)g.pos[2], H = (int)g.img[1],
            W = (int)g.img[2];
  const int kh = (int)g.k[1], kw = (int)g.k[2], sh = (int)g.s[1], sw = (int)g.s[2], dh = (int)g.d[1],
            dw = (int)g.d[2], ph = (int)g.p[1], pw = (int)g.p[2];
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    int cv = i % CV, r = i / CV;
    int ow = r % OW;
    r /= OW;
    int oh = r % OH, n = r / OH;
    float best[V];
    bool any = false;
    for (int a = 0; a < kh; a++) {
      int ih = oh * sh - ph + a * dh;
      if (ih < 0 || ih >= H) continue;
      for (int b = 0; b < kw; b++) {
        int iw = ow * sw - pw + b * dw;
        if (iw < 0 || iw >= W) continue;
        uint4 v = x[((n * H + ih) * W + iw) * CV + cv];
        const T *e = (const T *)&v;
#pragma unroll
        for (int j = 0; j < V; j++) {
          float f = (float)k_ld(e[j]);
          if (!any || f > best[j]) best[j] = f;
        }
        any = true;
      }
    }
    uint4 out;
    T *o = (T *)&out;
#pragma unroll
    for (int j = 0; j < V; j++) o[j] = k_st<T>(any ? best[j] : -FLT_MAX);
    y[i] = out;
  }
}

static bool max_pool_v16_ok(onyx_dtype dt, const cuda_pool_geom *g, const void *x, const void *y,
                            const int64_t *indices)
{
  const int64_t pixels = g->planes / (g->channels ? g->channels : 1) * g->img[1] * g->img[2] * g->channels;
  const int v = dt == ONYX_DTYPE_FLOAT16 ? 8 : 4;
  return (dt == ONYX_DTYPE_FLOAT16 || dt == ONYX_DTYPE_FLOAT) && g->channels_last && !indices &&
         g->img[0] == 1 && g->k[0] == 1 && g->channels % v == 0 && pixels < INT32_MAX &&
         g->planes * g->pos[1] * g->pos[2] < INT32_MAX && ((uintptr_t)x & 15) == 0 && ((uintptr_t)y & 15) == 0;
}

static int64_t pool_outputs(const cuda_pool_geom *g) { return g->planes * g->pos[0] * g->pos[1] * g->pos[2]; }

extern "C" cudaError_t cuda_pool_max(onyx_dtype dt, const cuda_pool_geom *g, const void *x, void *y,
                                     int64_t *indices, cudaStream_t stream)
{
  int64_t n = pool_outputs(g);
  if (n <= 0) return cudaSuccess;
  if (max_pool_v16_ok(dt, g, x, y, indices)) {
    if (dt == ONYX_DTYPE_FLOAT16) {
      int total = (int)(n / 8);
      max_pool2d_nhwc_v16_kernel<__half>
          <<<k_grid(total), K_BLOCK, 0, stream>>>(*g, total, (const uint4 *)x, (uint4 *)y);
    } else {
      int total = (int)(n / 4);
      max_pool2d_nhwc_v16_kernel<float><<<k_grid(total), K_BLOCK, 0, stream>>>(*g, total, (const uint4 *)x,
                                                                              (uint4 *)y);
    }
    return cudaGetLastError();
  }
  unsigned grid = k_grid(n);
  switch (dt) {
#define M(E, T)                                                                                              \
  case E: max_pool_kernel<T><<<grid, K_BLOCK, 0, stream>>>(*g, n, (const T *)x, (T *)y, indices); break;
    M(ONYX_DTYPE_FLOAT, float)
    M(ONYX_DTYPE_FLOAT16, __half)
    M(ONYX_DTYPE_INT8, int8_t)
    M(ONYX_DTYPE_UINT8, uint8_t)
#undef M
  default: return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}

extern "C" cudaError_t cuda_pool_avg(onyx_dtype dt, const cuda_pool_geom *g, const void *x, void *y,
                                     cudaStream_t stream)
{
  int64_t n = pool_outputs(g);
  if (n <= 0) return cudaSuccess;
  unsigned grid = k_grid(n);
  switch (dt) {
  case ONYX_DTYPE_FLOAT:
    avg_pool_kernel<float><<<grid, K_BLOCK, 0, stream>>>(*g, n, (const float *)x, (float *)y);
    break;
  case ONYX_DTYPE_FLOAT16:
    avg_pool_kernel<__half><<<grid, K_BLOCK, 0, stream>>>(*g, n, (const __half *)x, (__half *)y);
    break;
  default: return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}

template <typename T>
static __global__ void batchnorm_kernel(const T *__restrict__ x, T *__restrict__ y,
                                        const T *__restrict__ scale, const T *__restrict__ bias,
                                        const T *__restrict__ mean, const T *__restrict__ var, float eps,
                                        int64_t n, int64_t C, int64_t inner, unsigned chan, int channels_last)
{
  K_LOOP(i, n)
  {
    int64_t in, c;
    if (channels_last)
      c = i % C, in = (i / C) % inner;
    else
      in = i % inner, c = (i / inner) % C;
    const int64_t q = c * inner + in;
    float s = (float)k_ld(scale[(chan & 1) ? c : q]) / sqrtf((float)k_ld(var[(chan & 8) ? c : q]) + eps);
    float b = (float)k_ld(bias[(chan & 2) ? c : q]) - (float)k_ld(mean[(chan & 4) ? c : q]) * s;
    y[i] = k_st<T>((float)k_ld(x[i]) * s + b);
  }
}

extern "C" cudaError_t cuda_batchnorm(onyx_dtype dt, const void *x, void *y, const void *scale,
                                      const void *bias, const void *mean, const void *var, float eps,
                                      int64_t N, int64_t C, int64_t inner, unsigned chan_mask,
                                      int channels_last, cudaStream_t stream)
{
  int64_t n = N * C * inner;
  if (n <= 0) return cudaSuccess;
  unsigned grid = k_grid(n);
  switch (dt) {
#define B(E, T)                                                                                              \
  case E:                                                                                                    \
    batchnorm_kernel<T><<<grid, K_BLOCK, 0, stream>>>((const T *)x, (T *)y, (const T *)scale,                \
                                                      (const T *)bias, (const T *)mean, (const T *)var, eps, \
                                                      n, C, inner, chan_mask, channels_last);                \
    break;
    B(ONYX_DTYPE_FLOAT, float)
    B(ONYX_DTYPE_FLOAT16, __half)
#undef B
  default: return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}
