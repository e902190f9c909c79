// Sandbox for kernels/conv_splitk.cu: checks the cluster split-K conv against a CPU reference on random data
// (ResNet18's batch-1 shapes and odd ones: strides, dilations, pads, batch 2, activations, with and without
// bias and residual) for every split the kernel covers, then times ResNet18's batch-1 convs per split as
// graph replays of 20 dependent launches (not with --no-timing; --only TEXT keeps the cases whose names
// contain TEXT, e.g. one shape under ncu).  Build and run: dev/cuda/conv_splitk/run.sh (on the GPU machine).
// Exit status 1 on a mismatch.
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "backend/cuda/kernels/conv_splitk.h"
#include "dev/cuda/sandbox.h"

struct Case {
  const char *name;
  int n, h, w, c, m, k, s, d, pt, pl, pb, pr;
  bool bias, z;
  cuda_act_kind act;
};

static float act_ref(float v, cuda_act a)
{
  switch (a.kind) {
  case CUDA_ACT_RELU: return v > 0 ? v : 0;
  case CUDA_ACT_LEAKY_RELU: return v >= 0 ? v : a.alpha * v;
  default: return v;
  }
}

struct Dev {
  __half *x, *w, *b, *z, *y;
};

static std::vector<__half> to_half(const std::vector<float> &v)
{
  std::vector<__half> o(v.size());
  for (size_t i = 0; i < v.size(); i++) o[i] = __float2half_rn(v[i]);
  return o;
}

static __half *upload(const std::vector<__half> &v)
{
  __half *p;
  CK(cudaMalloc(&p, std::max<size_t>(v.size(), 8) * 2));
  CK(cudaMemcpy(p, v.data(), v.size() * 2, cudaMemcpyHostToDevice));
  return p;
}

// Checks every covered split of cs; with time_it, also times them.  Returns the number of failures.
static int run_case(const Case &cs, bool time_it)
{
  const int oh = (cs.h + cs.pt + cs.pb - cs.d * (cs.k - 1) - 1) / cs.s + 1;
  const int ow = (cs.w + cs.pl + cs.pr - cs.d * (cs.k - 1) - 1) / cs.s + 1;
  const size_t xn = (size_t)cs.n * cs.h * cs.w * cs.c, wn = (size_t)cs.m * cs.k * cs.k * cs.c;
  const size_t yn = (size_t)cs.n * oh * ow * cs.m;
  const float ws = 1.f / sqrtf((float)cs.k * cs.k * cs.c);
  std::vector<float> x(xn), w(wn), b(cs.m), z(yn);
  for (auto &v : x) v = urand();
  for (auto &v : w) v = ws * urand();
  for (auto &v : b) v = 0.5f * urand();
  for (auto &v : z) v = urand();
  std::vector<__half> xh = to_half(x), wh = to_half(w), bh = to_half(b), zh = to_half(z);
  const cuda_act act = {cs.act, 0.1f, 0.f};
  // reference: the FP16 operands, double sums
  std::vector<float> ref(yn);
  for (int n = 0; n < cs.n; n++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++)
        for (int m = 0; m < cs.m; m++) {
          double s = cs.bias ? __half2float(bh[m]) : 0.0;
          for (int ky = 0; ky < cs.k; ky++)
            for (int kx = 0; kx < cs.k; kx++) {
              int iy = oy * cs.s - cs.pt + ky * cs.d, ix = ox * cs.s - cs.pl + kx * cs.d;
              if (iy < 0 || iy >= cs.h || ix < 0 || ix >= cs.w) continue;
              const __half *xp = &xh[(((size_t)n * cs.h + iy) * cs.w + ix) * cs.c];
              const __half *wp = &wh[(((size_t)m * cs.k + ky) * cs.k + kx) * cs.c];
              for (int c = 0; c < cs.c; c++) s += (double)__half2float(xp[c]) * __half2float(wp[c]);
            }
          const size_t o = (((size_t)n * oh + oy) * ow + ox) * cs.m + m;
          if (cs.z) s += __half2float(zh[o]);
          ref[o] = act_ref((float)s, act);
        }
  Dev d = {upload(xh), upload(wh), upload(bh), upload(zh), NULL};
  CK(cudaMalloc(&d.y, yn * 2));
  cuda_conv_splitk_args a = {};
  a.x = d.x, a.filter = d.w, a.bias = cs.bias ? d.b : NULL, a.z = cs.z ? d.z : NULL, a.y = d.y;
  a.n = cs.n, a.h = cs.h, a.w = cs.w, a.c = cs.c, a.m = cs.m, a.kh = a.kw = cs.k;
  a.sh = a.sw = cs.s, a.dh = a.dw = cs.d, a.pt = cs.pt, a.pl = cs.pl, a.oh = oh, a.ow = ow, a.act = act;
  CK(cudaDeviceGetAttribute(&a.sm_count, cudaDevAttrMultiProcessorCount, 0));
  int fails = 0;
  cudaStream_t st;
  CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  std::vector<__half> y(yn);
  for (int split = 1; split <= CUDA_CONV_SPLITK_MAX_SPLIT; split *= 2) {
    a.split = split;
    if (!cuda_conv_splitk_covered(&a)) continue;
    CK(cudaMemset(d.y, 0xff, yn * 2)); // NaNs: every output must be written
    CK(cuda_conv_splitk(&a, st));
    CK(cudaStreamSynchronize(st));
    CK(cudaMemcpy(y.data(), d.y, yn * 2, cudaMemcpyDeviceToHost));
    double worst = 0;
    for (size_t i = 0; i < yn; i++) {
      double e = fabs((double)__half2float(y[i]) - ref[i]) / std::max(1.0, fabs((double)ref[i]));
      if (!(e <= worst)) worst = e; // NaN too
    }
    const bool ok = worst <= 3e-3;
    fails += !ok;
    printf("%-28s split %d: max err/max(1,|ref|) %.2e %s", cs.name, split, worst, ok ? "ok" : "MISMATCH");
    if (time_it) {
      const int runs = 20;
      cudaGraph_t g;
      cudaGraphExec_t ge;
      CK(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
      for (int i = 0; i < runs; i++) CK(cuda_conv_splitk(&a, st));
      CK(cudaStreamEndCapture(st, &g));
      CK(cudaGraphInstantiate(&ge, g, 0));
      const std::vector<float> t = time_graph(ge, st, runs);
      printf("  %6.2f us per conv (median of %zu replays of %d)", t[t.size() / 2] * 1000.f, t.size(), runs);
      CK(cudaGraphExecDestroy(ge));
      CK(cudaGraphDestroy(g));
    }
    printf("\n");
  }
  CK(cudaStreamDestroy(st));
  for (__half *p : {d.x, d.w, d.b, d.z, d.y}) CK(cudaFree(p));
  return fails;
}

int main(int argc, char **argv)
{
  bool timing = true;     // --no-timing: checks only (under compute-sanitizer)
  const char *only = NULL; // --only TEXT: the cases whose names contain TEXT (under a profiler)
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--no-timing"))
      timing = false;
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--no-timing] [--only TEXT]\n", argv[0]);
      return 2;
    }
  }
  if (!cuda_conv_splitk_supported()) {
    fprintf(stderr, "conv_splitk: not supported on this device/build\n");
    return 2;
  }
  CK(cuda_conv_splitk_prepare());
  const Case resnet[] = {
      {"layer1 3x3 64->64", 1, 56, 56, 64, 64, 3, 1, 1, 1, 1, 1, 1, true, true, CUDA_ACT_RELU},
      {"layer2.0 3x3/2 64->128", 1, 56, 56, 64, 128, 3, 2, 1, 1, 1, 1, 1, true, false, CUDA_ACT_RELU},
      {"layer2.0 down 1x1/2 64->128", 1, 56, 56, 64, 128, 1, 2, 1, 0, 0, 0, 0, true, false, CUDA_ACT_NONE},
      {"layer2 3x3 128->128", 1, 28, 28, 128, 128, 3, 1, 1, 1, 1, 1, 1, true, true, CUDA_ACT_RELU},
      {"layer3.0 3x3/2 128->256", 1, 28, 28, 128, 256, 3, 2, 1, 1, 1, 1, 1, true, false, CUDA_ACT_RELU},
      {"layer3.0 down 1x1/2", 1, 28, 28, 128, 256, 1, 2, 1, 0, 0, 0, 0, true, false, CUDA_ACT_NONE},
      {"layer3 3x3 256->256", 1, 14, 14, 256, 256, 3, 1, 1, 1, 1, 1, 1, true, true, CUDA_ACT_RELU},
      {"layer4.0 3x3/2 256->512", 1, 14, 14, 256, 512, 3, 2, 1, 1, 1, 1, 1, true, false, CUDA_ACT_RELU},
      {"layer4.0 down 1x1/2", 1, 14, 14, 256, 512, 1, 2, 1, 0, 0, 0, 0, true, false, CUDA_ACT_NONE},
      {"layer4 3x3 512->512", 1, 7, 7, 512, 512, 3, 1, 1, 1, 1, 1, 1, true, true, CUDA_ACT_RELU},
  };
  const Case odd[] = {
      {"n2 9x11 dil2 s2 c64 m96", 2, 9, 11, 64, 96, 3, 2, 2, 2, 2, 2, 2, true, true, CUDA_ACT_LEAKY_RELU},
      {"n3 5x5 pads 1,2,0,3", 3, 13, 10, 32, 64, 5, 1, 1, 1, 2, 0, 3, false, true, CUDA_ACT_NONE},
      {"n1 1x1 c96 m32 no bias", 1, 6, 5, 96, 32, 1, 1, 1, 0, 0, 0, 0, false, false, CUDA_ACT_RELU},
      {"n4 3x3 c32 m64 130 px", 4, 5, 7, 32, 64, 3, 1, 1, 1, 1, 0, 0, true, false, CUDA_ACT_NONE},
  };
  int fails = 0;
  for (const Case &c : odd)
    if (!only || strstr(c.name, only)) fails += run_case(c, false);
  for (const Case &c : resnet)
    if (!only || strstr(c.name, only)) fails += run_case(c, timing);
  printf("%s: %d mismatches\n", fails ? "FAIL" : "PASS", fails);
  return fails ? 1 : 0;
}
