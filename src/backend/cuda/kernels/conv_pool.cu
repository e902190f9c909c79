// Conv 7x7/2 pad 3 + bias + activation + MaxPool 3x3/2 pad 1 in one kernel (conv_pool.h).
//
// A block owns 64 output channels and loops over tiles of 7 x 8 pooled pixels of one image.  Per tile:
//   1. the input patch the tile needs (35 x 40 pixels per channel) is read into shared memory as FP16
//      (zeros outside the image);
//   2. the 15 x 17 conv pixels under the tile's pooling windows are an implicit GEMM:
//      M = 255 pixels (16 tiles of 16 rows, two per warp), N = 64 channels, K = cin * 7 rows of 8 taps
//      (the 8th tap of each row has weight 0), with mma.sync m16n8k16 (FP16 in, float accumulate).
//      Conv pixels are numbered column by column (m = ox * 15 + oy) so that the 8 rows a fragment
//      load gathers sit 44 halves (one input row pair) apart: with the 4 k-pairs of a thread group
//      they hit 32 different banks.  The A fragments are read straight from the patch (32-bit
//      loads of two neighbouring taps: both start at an even column), the B fragments from the
//      filter, which is kept in shared memory for all the block's tiles;
//   3. bias and activation, rounded to FP16 (what the unfused conv would store) into shared memory,
//      -inf for conv pixels outside the conv output (MaxPool's padding);
//   4. each pooled pixel's 64 channels are the max over 9 conv pixels, stored with 16-byte writes.
#include <cuda_fp16.h>
#include <stdint.h>

#include "backend/cuda/kernels/conv_pool.h"
#include "backend/cuda/kernels/mma.cuh"

namespace {

constexpr int PT_H = 7, PT_W = 8;                             // pooled pixels per tile
constexpr int CR = 2 * PT_H + 1, CC = 2 * PT_W + 1;           // conv pixels under them: 15 x 17
constexpr int CM = CR * CC;                                   // 255
constexpr int IR = 2 * (CR - 1) + 7, IC = 2 * (CC - 1) + 8;   // input patch: 35 x 40
constexpr int PITCH = 44, PLANE = IR * PITCH;                 // halves; PITCH % 32 == 12 (see above)
constexpr int OST = 72;                                       // halves per conv pixel in s_out
constexpr int OROWS = 256;                                    // conv pixel rows in s_out (16 M tiles)
constexpr int THREADS = 256, WARPS = THREADS / 32, MT = OROWS / 16 / WARPS; // 2 M tiles per warp
constexpr int NC = CUDA_CONV_POOL_COUT_STEP;                  // 64 output channels per block
static_assert(CM <= OROWS && OROWS % (16 * WARPS) == 0, "M tiles");

// NT: 8-channel n tiles per block (8: NC channels; 4: half of them, twice the blocks for small grids)
template <int CIN, int NT> struct Geo {
  static constexpr int KP = (CIN * 56 + 15) / 16 * 16; // cuda_conv_pool_kp
  static constexpr int KSTEPS = KP / 16;
  static constexpr int WST = KP + 8; // halves per filter row in shared memory: WST / 2 % 32 in {4, 20, 28}
  static constexpr int NB = NT * 8;  // output channels per block
  static constexpr size_t W_BYTES = (size_t)NB * WST * 2;
  static constexpr size_t SMEM = W_BYTES + NB * 4 + (size_t)OROWS * OST * 2 + (size_t)CIN * PLANE * 2;
};

__device__ __forceinline__ float to_f(float v) { return v; }
__device__ __forceinline__ float to_f(__half v) { return __half2float(v); }

template <int CIN, typename TIN, int NT>
__global__ void __launch_bounds__(THREADS, 2) conv_pool_kernel(const cuda_conv_pool_args p)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap(); // mma.m16n8k16 needs sm_80: cuda_conv_pool_supported() keeps such builds from launching it
#else
  typedef Geo<CIN, NT> G;
  extern __shared__ __align__(16) unsigned char smem[];
  __half *s_w = (__half *)smem;
  float *s_b = (float *)(smem + G::W_BYTES);
  __half *s_out = (__half *)(smem + G::W_BYTES + G::NB * 4);
  __half *s_in = s_out + OROWS * OST;
  const uint32_t *s_in_w = (const uint32_t *)s_in;
  const uint32_t *s_w_w = (const uint32_t *)s_w;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
  const int c0 = blockIdx.y * G::NB;

  // the block's filter rows and biases, once
  const uint16_t *fw = p.filter + (size_t)c0 * G::KP;
  for (int i = tid; i < G::NB * G::KP / 8; i += THREADS) {
    const int row = i / (G::KP / 8), col = i % (G::KP / 8);
    *(uint4 *)(s_w + row * G::WST + col * 8) = *(const uint4 *)(fw + (size_t)row * G::KP + col * 8);
  }
  if (tid < G::NB) s_b[tid] = p.bias[c0 + tid];

  // word offsets in the patch of this thread's fragment rows (g, g + 8 of its two M tiles), with its k pair
  int base[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; mt++)
#pragma unroll
    for (int i = 0; i < 2; i++) {
      int m = (warp * MT + mt) * 16 + g + 8 * i;
      if (m >= CM) m = 0; // the padding row: computed from pixel 0, never read
      base[mt][i] = (m % CR) * PITCH + m / CR + t;
    }
  const uint32_t tmask = t == 3 ? 0x0000ffffu : 0xffffffffu; // the 8th tap of a row reads as 0

  const int tiles_y = (p.ph + PT_H - 1) / PT_H, tiles_x = (p.pw + PT_W - 1) / PT_W;
  const long long total = (long long)p.n * tiles_y * tiles_x;
  const __half2 ninf = __halves2half2(__ushort_as_half(0xfc00), __ushort_as_half(0xfc00));

  for (long long tile = blockIdx.x; tile < total; tile += gridDim.x) {
    const int tx = (int)(tile % tiles_x);
    const long long r = tile / tiles_x;
    const int ty = (int)(r % tiles_y), n = (int)(r / tiles_y);
    const int cy0 = 2 * PT_H * ty - 1, cx0 = 2 * PT_W * tx - 1; // first conv pixel of the tile
    const int iy0 = 2 * cy0 - 3, ix0 = 2 * cx0 - 3;             // first input pixel of the patch

    // 1. the patch, two neighbouring columns per thread and step: every load issued before the first
    //    store (the loop is unrolled), so that their latencies overlap
    const TIN *x = (const TIN *)p.x + n * p.xs[0];
    constexpr int PAIRS = CIN * IR * (IC / 2), STEPS = (PAIRS + THREADS - 1) / THREADS;
    float v[STEPS][2];
#pragma unroll
    for (int j = 0; j < STEPS; j++) {
      const int i = tid + j * THREADS;
      const int cp = i % (IC / 2), rr = i / (IC / 2), row = rr % IR, c = rr / IR;
      const int iy = iy0 + row, ix = ix0 + 2 * cp;
      v[j][0] = v[j][1] = 0.f;
      if (i < PAIRS && iy >= 0 && iy < p.h) {
        const TIN *xr = x + c * p.xs[1] + iy * p.xs[2];
        if (ix >= 0 && ix < p.w) v[j][0] = to_f(xr[ix * p.xs[3]]);
        if (ix + 1 >= 0 && ix + 1 < p.w) v[j][1] = to_f(xr[(ix + 1) * p.xs[3]]);
      }
    }
#pragma unroll
    for (int j = 0; j < STEPS; j++) {
      const int i = tid + j * THREADS;
      const int cp = i % (IC / 2), rr = i / (IC / 2), row = rr % IR, c = rr / IR;
      if (i < PAIRS) *(__half2 *)(s_in + c * PLANE + row * PITCH + 2 * cp) = __floats2half2_rn(v[j][0], v[j][1]);
    }
    __syncthreads();

    // 2. the implicit GEMM
    float acc[MT][NT][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
      for (int nt = 0; nt < NT; nt++)
#pragma unroll
        for (int e = 0; e < 4; e++) acc[mt][nt][e] = 0.f;
#pragma unroll
    for (int ks = 0; ks < G::KSTEPS; ks++) {
      const int r0 = 2 * ks, r1 = 2 * ks + 1; // (c, ky) rows of the step's two halves
      const int off0 = r0 < CIN * 7 ? ((r0 / 7) * PLANE + (r0 % 7) * PITCH) / 2 : 0;
      const int off1 = r1 < CIN * 7 ? ((r1 / 7) * PLANE + (r1 % 7) * PITCH) / 2 : 0;
      const uint32_t m0 = r0 < CIN * 7 ? tmask : 0u, m1 = r1 < CIN * 7 ? tmask : 0u;
      uint32_t b[NT][2];
#pragma unroll
      for (int nt = 0; nt < NT; nt++) {
        const uint32_t *wr = s_w_w + (nt * 8 + g) * (G::WST / 2) + ks * 8 + t;
        b[nt][0] = wr[0];
        b[nt][1] = wr[4];
      }
#pragma unroll
      for (int mt = 0; mt < MT; mt++) {
        const uint32_t a0 = s_in_w[base[mt][0] + off0] & m0, a1 = s_in_w[base[mt][1] + off0] & m0;
        const uint32_t a2 = s_in_w[base[mt][0] + off1] & m1, a3 = s_in_w[base[mt][1] + off1] & m1;
#pragma unroll
        for (int nt = 0; nt < NT; nt++) mma16816(acc[mt][nt], a0, a1, a2, a3, b[nt][0], b[nt][1]);
      }
    }

    // 3. bias, activation, FP16; -inf outside the conv output
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
      for (int i = 0; i < 2; i++) {
        const int m = (warp * MT + mt) * 16 + g + 8 * i;
        const int cy = cy0 + m % CR, cx = cx0 + m / CR;
        const bool valid = m < CM && cy >= 0 && cy < p.ch && cx >= 0 && cx < p.cw;
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
          const int col = nt * 8 + 2 * t;
          float v0 = acc[mt][nt][2 * i] + s_b[col], v1 = acc[mt][nt][2 * i + 1] + s_b[col + 1];
          if (p.relu) {
            v0 = fmaxf(v0, 0.f);
            v1 = fmaxf(v1, 0.f);
          }
          *(__half2 *)(s_out + m * OST + col) = valid ? __floats2half2_rn(v0, v1) : ninf;
        }
      }
    __syncthreads();

    // 4. the pool: 8 channels (16 bytes) of one pooled pixel per thread and step
    for (int i = tid; i < PT_H * PT_W * NT; i += THREADS) {
      const int ch = i % NT, pp = i / NT, px = pp % PT_W, py = pp / PT_W;
      const int gy = ty * PT_H + py, gx = tx * PT_W + px;
      if (gy >= p.ph || gx >= p.pw) continue;
      __half2 mx[4] = {ninf, ninf, ninf, ninf};
#pragma unroll
      for (int dx = 0; dx < 3; dx++)
#pragma unroll
        for (int dy = 0; dy < 3; dy++) {
          const int m = (2 * px + dx) * CR + 2 * py + dy;
          const uint4 v = *(const uint4 *)(s_out + m * OST + ch * 8);
          mx[0] = __hmax2(mx[0], *(const __half2 *)&v.x);
          mx[1] = __hmax2(mx[1], *(const __half2 *)&v.y);
          mx[2] = __hmax2(mx[2], *(const __half2 *)&v.z);
          mx[3] = __hmax2(mx[3], *(const __half2 *)&v.w);
        }
      uint4 o;
      o.x = *(const uint32_t *)&mx[0];
      o.y = *(const uint32_t *)&mx[1];
      o.z = *(const uint32_t *)&mx[2];
      o.w = *(const uint32_t *)&mx[3];
      *(uint4 *)((__half *)p.y + (((long long)n * p.ph + gy) * p.pw + gx) * p.cout + c0 + ch * 8) = o;
    }
  }
#endif
}

template <int CIN, typename TIN, int NT> cudaError_t launch_nt(const cuda_conv_pool_args *a, bool prepare,
                                                                cudaStream_t stream, long long tiles)
{
  typedef Geo<CIN, NT> G;
  static_assert(G::SMEM <= 227 * 1024, "shared memory");
  if (prepare)
    return cudaFuncSetAttribute(conv_pool_kernel<CIN, TIN, NT>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                (int)G::SMEM);
  const long long resident = 2LL * (a->sm_count > 0 ? a->sm_count : 1);
  dim3 grid((unsigned)(tiles < resident ? tiles : resident), (unsigned)(a->cout / G::NB));
  conv_pool_kernel<CIN, TIN, NT><<<grid, THREADS, G::SMEM, stream>>>(*a);
  return cudaSuccess;
}

// prepare: only set the kernels' shared memory limits.  Blocks of NC channels, or of NC / 2 when those
// would leave multiprocessors idle (batch 1: 56 tiles of ResNet's 56 x 56 pooled output).
template <int CIN, typename TIN>
cudaError_t launch(const cuda_conv_pool_args *a, bool prepare, cudaStream_t stream)
{
  const long long tiles = (long long)a->n * ((a->ph + PT_H - 1) / PT_H) * ((a->pw + PT_W - 1) / PT_W);
  if (prepare) {
    const cudaError_t e = launch_nt<CIN, TIN, 8>(a, true, stream, tiles);
    return e != cudaSuccess ? e : launch_nt<CIN, TIN, 4>(a, true, stream, tiles);
  }
  if (tiles * (a->cout / NC) < (long long)a->sm_count) return launch_nt<CIN, TIN, 4>(a, false, stream, tiles);
  return launch_nt<CIN, TIN, 8>(a, false, stream, tiles);
}

template <typename TIN> cudaError_t dispatch(const cuda_conv_pool_args *a, bool prepare, cudaStream_t s)
{
  switch (a->cin) {
  case 1: return launch<1, TIN>(a, prepare, s);
  case 2: return launch<2, TIN>(a, prepare, s);
  case 3: return launch<3, TIN>(a, prepare, s);
  case 4: return launch<4, TIN>(a, prepare, s);
  default: return cudaErrorInvalidValue;
  }
}

static bool covered(const cuda_conv_pool_args *a)
{
  return a && a->n >= 1 && a->cout >= NC && a->cout % NC == 0 && a->ph >= 1 && a->pw >= 1 && a->ch >= 1 &&
         a->cw >= 1 && !((uintptr_t)a->y & 15) && !((uintptr_t)a->filter & 15);
}

} // namespace

extern "C" void cuda_conv_pool_pack(const void *w, int w_half, int krsc, int cin, int cout, uint16_t *out)
{
  const int kp = cuda_conv_pool_kp(cin);
  for (int o = 0; o < cout; o++)
    for (int k = 0; k < kp; k++) {
      const int r = k / 8, kx = k % 8, c = r / 7, ky = r % 7;
      uint16_t v = 0;
      if (kx < 7 && c < cin) {
        const size_t at = krsc ? (((size_t)o * 7 + ky) * 7 + kx) * cin + c : (((size_t)o * cin + c) * 7 + ky) * 7 + kx;
        v = w_half ? ((const uint16_t *)w)[at] : __half_as_ushort(__float2half_rn(((const float *)w)[at]));
      }
      out[(size_t)o * kp + k] = v;
    }
}

extern "C" int cuda_conv_pool_supported(void)
{
  cudaFuncAttributes fa;
  return cudaFuncGetAttributes(&fa, conv_pool_kernel<3, float, 8>) == cudaSuccess && fa.ptxVersion >= 80;
}

extern "C" cudaError_t cuda_conv_pool_prepare(const cuda_conv_pool_args *a)
{
  if (!covered(a)) return cudaErrorInvalidValue;
  return a->x_float ? dispatch<float>(a, true, 0) : dispatch<__half>(a, true, 0);
}

extern "C" cudaError_t cuda_conv_pool(const cuda_conv_pool_args *a, cudaStream_t stream)
{
  if (!covered(a)) return cudaErrorInvalidValue;
  return a->x_float ? dispatch<float>(a, false, stream) : dispatch<__half>(a, false, stream);
}
