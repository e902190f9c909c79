// Sandbox for kernels/conv_pool.cu: checks the fused stem kernel against a CPU reference on random data
// (several shapes, input types and layouts) and times it at batch 1, 32 and 256 on ResNet's 224 x 224.
// Build and run: dev/cuda/conv_pool/run.sh (on the GPU machine).  Exit status 1 on a mismatch.
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "backend/cuda/kernels/conv_pool.h"
#include "dev/cuda/sandbox.h"

static float h(float v) { return __half2float(__float2half_rn(v)); }

struct Case {
  int n, cin, h, w, cout, relu, x_float, nhwc;
};

static int check(const Case &cs, int sm_count)
{
  const int N = cs.n, C = cs.cin, H = cs.h, W = cs.w, K = cs.cout;
  const int CH = (H + 6 - 7) / 2 + 1, CW = (W + 6 - 7) / 2 + 1, PH = (CH + 2 - 3) / 2 + 1, PW = (CW + 2 - 3) / 2 + 1;
  std::vector<float> x((size_t)N * C * H * W), wt((size_t)K * C * 49), b(K);
  for (auto &v : x) v = 2.f * urand();
  for (auto &v : wt) v = 0.2f * urand();
  for (auto &v : b) v = 0.5f * urand();
  // reference: FP16-rounded operands, double sums, FP16 conv output, max over the window's taps
  std::vector<float> conv((size_t)N * K * CH * CW), ref((size_t)N * K * PH * PW);
  for (int n = 0; n < N; n++)
    for (int k = 0; k < K; k++)
      for (int oy = 0; oy < CH; oy++)
        for (int ox = 0; ox < CW; ox++) {
          double s = b[k];
          for (int c = 0; c < C; c++)
            for (int ky = 0; ky < 7; ky++)
              for (int kx = 0; kx < 7; kx++) {
                int iy = 2 * oy - 3 + ky, ix = 2 * ox - 3 + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                s += (double)h(x[(((size_t)n * C + c) * H + iy) * W + ix]) * h(wt[(((size_t)k * C + c) * 7 + ky) * 7 + kx]);
              }
          float v = (float)s;
          if (cs.relu && v < 0) v = 0;
          conv[(((size_t)n * K + k) * CH + oy) * CW + ox] = h(v);
        }
  for (int n = 0; n < N; n++)
    for (int k = 0; k < K; k++)
      for (int py = 0; py < PH; py++)
        for (int px = 0; px < PW; px++) {
          float m = -INFINITY;
          for (int dy = 0; dy < 3; dy++)
            for (int dx = 0; dx < 3; dx++) {
              int cy = 2 * py - 1 + dy, cx = 2 * px - 1 + dx;
              if (cy >= 0 && cy < CH && cx >= 0 && cx < CW) m = std::max(m, conv[(((size_t)n * K + k) * CH + cy) * CW + cx]);
            }
          ref[(((size_t)n * PH + py) * PW + px) * K + k] = m; // NHWC
        }
  // device operands
  std::vector<uint16_t> packed((size_t)K * cuda_conv_pool_kp(C));
  cuda_conv_pool_pack(wt.data(), 0, 0, C, K, packed.data());
  size_t xbytes = x.size() * (cs.x_float ? 4 : 2);
  std::vector<unsigned char> xh(xbytes);
  long long xs[4];
  if (cs.nhwc) {
    xs[0] = (long long)H * W * C, xs[1] = 1, xs[2] = (long long)W * C, xs[3] = C;
  } else {
    xs[0] = (long long)C * H * W, xs[1] = (long long)H * W, xs[2] = W, xs[3] = 1;
  }
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++)
      for (int y = 0; y < H; y++)
        for (int xx = 0; xx < W; xx++) {
          float v = x[(((size_t)n * C + c) * H + y) * W + xx];
          size_t at = n * xs[0] + c * xs[1] + y * xs[2] + xx * xs[3];
          if (cs.x_float)
            ((float *)xh.data())[at] = v;
          else
            ((uint16_t *)xh.data())[at] = __half_as_ushort(__float2half_rn(v));
        }
  void *dx, *dy, *dw, *db;
  size_t ybytes = ref.size() * 2;
  CK(cudaMalloc(&dx, xbytes));
  CK(cudaMalloc(&dy, ybytes));
  CK(cudaMalloc(&dw, packed.size() * 2));
  CK(cudaMalloc(&db, K * 4));
  CK(cudaMemcpy(dx, xh.data(), xbytes, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dw, packed.data(), packed.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(db, b.data(), K * 4, cudaMemcpyHostToDevice));
  CK(cudaMemset(dy, 0x7f, ybytes)); // NaN-ish garbage: every output must be written
  cuda_conv_pool_args a;
  memset(&a, 0, sizeof(a));
  a.x = dx, a.x_float = cs.x_float;
  for (int i = 0; i < 4; i++) a.xs[i] = xs[i];
  a.n = N, a.cin = C, a.h = H, a.w = W, a.filter = (const uint16_t *)dw, a.bias = (const float *)db;
  a.relu = cs.relu, a.y = dy, a.cout = K, a.ch = CH, a.cw = CW, a.ph = PH, a.pw = PW, a.sm_count = sm_count;
  CK(cuda_conv_pool_prepare(&a));
  CK(cuda_conv_pool(&a, 0));
  CK(cudaGetLastError());
  CK(cudaDeviceSynchronize());
  std::vector<uint16_t> y(ref.size());
  CK(cudaMemcpy(y.data(), dy, ybytes, cudaMemcpyDeviceToHost));
  double maxerr = 0, scale = 0;
  size_t bad = 0, worst = 0;
  for (size_t i = 0; i < ref.size(); i++) {
    float g = __half2float(__ushort_as_half(y[i]));
    double d = fabs((double)g - ref[i]);
    scale = std::max(scale, (double)fabs(ref[i]));
    if (!(d <= 2e-3 * std::max(1.f, fabsf(ref[i])))) bad++;
    if (!(d <= maxerr)) maxerr = d, worst = i;
  }
  printf("conv_pool n=%d cin=%d %dx%d cout=%d relu=%d x=%s %s: out %dx%d, max |err| %.3g (scale %.3g) at %zu, "
         "%zu outside tolerance -> %s\n",
         N, C, H, W, K, cs.relu, cs.x_float ? "float" : "half", cs.nhwc ? "nhwc" : "nchw", PH, PW, maxerr, scale,
         worst, bad, bad ? "FAIL" : "ok");
  cudaFree(dx), cudaFree(dy), cudaFree(dw), cudaFree(db);
  return bad ? 1 : 0;
}

static void timeit(int N, int sm_count)
{
  const int C = 3, H = 224, W = 224, K = 64, CH = 112, CW = 112, PH = 56, PW = 56;
  std::vector<float> x((size_t)N * C * H * W), wt((size_t)K * C * 49), b(K);
  for (auto &v : x) v = urand();
  for (auto &v : wt) v = 0.1f * urand();
  for (auto &v : b) v = 0.1f * urand();
  std::vector<uint16_t> packed((size_t)K * cuda_conv_pool_kp(C));
  cuda_conv_pool_pack(wt.data(), 0, 0, C, K, packed.data());
  void *dx, *dy, *dw, *db;
  CK(cudaMalloc(&dx, x.size() * 4));
  CK(cudaMalloc(&dy, (size_t)N * PH * PW * K * 2));
  CK(cudaMalloc(&dw, packed.size() * 2));
  CK(cudaMalloc(&db, K * 4));
  CK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dw, packed.data(), packed.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(db, b.data(), K * 4, cudaMemcpyHostToDevice));
  cuda_conv_pool_args a;
  memset(&a, 0, sizeof(a));
  a.x = dx, a.x_float = 1, a.xs[0] = (long long)C * H * W, a.xs[1] = H * W, a.xs[2] = W, a.xs[3] = 1;
  a.n = N, a.cin = C, a.h = H, a.w = W, a.filter = (const uint16_t *)dw, a.bias = (const float *)db, a.relu = 1;
  a.y = dy, a.cout = K, a.ch = CH, a.cw = CW, a.ph = PH, a.pw = PW, a.sm_count = sm_count;
  CK(cuda_conv_pool_prepare(&a));
  cudaStream_t s;
  CK(cudaStreamCreate(&s));
  // a CUDA graph of 20 launches: no launch overhead in the time
  cudaGraph_t gr;
  cudaGraphExec_t ge;
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < 20; i++) CK(cuda_conv_pool(&a, s));
  CK(cudaStreamEndCapture(s, &gr));
  CK(cudaGraphInstantiate(&ge, gr, 0));
  const std::vector<float> ms = time_graph(ge, s, 20);
  double flop = 2.0 * N * CH * CW * K * C * 49;
  printf("time conv_pool batch %d (224x224, float NCHW in, FP16 NHWC 56x56x64 out): median %.4f ms (min %.4f), "
         "%.1f TFLOP/s useful\n",
         N, ms[ms.size() / 2], ms[0], flop / (ms[ms.size() / 2] * 1e-3) / 1e12);
  cudaGraphExecDestroy(ge), cudaGraphDestroy(gr), cudaStreamDestroy(s);
  cudaFree(dx), cudaFree(dy), cudaFree(dw), cudaFree(db);
}

int main(void)
{
  int dev = 0, sms = 0;
  CK(cudaGetDevice(&dev));
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  const Case cases[] = {
      {2, 3, 224, 224, 64, 1, 1, 0}, {3, 3, 37, 45, 64, 0, 1, 0}, {1, 1, 23, 17, 128, 1, 0, 1},
      {2, 4, 64, 64, 64, 1, 0, 0},   {1, 2, 9, 9, 64, 0, 1, 0},   {1, 3, 7, 200, 192, 0, 0, 1},
      {5, 3, 30, 31, 64, 1, 1, 1},   {3, 3, 224, 224, 64, 1, 1, 0}, // 168 tiles: 64-channel blocks
  };
  int fails = 0;
  for (const Case &c : cases) fails += check(c, sms);
  for (int n : {1, 32, 256}) timeit(n, sms);
  printf("%s\n", fails ? "FAILED" : "all cases passed");
  return fails ? 1 : 0;
}
