// det_candidates_kernel + det_select_kernel run on the host through shim.h (one OS thread per CUDA thread,
// real barriers), against det_candidates + det_nms, on the synthetic outputs of tests/cuda/vision_cuda_test.c's
// cases (FP32): same count, and every box, class and score bit-equal.
#include "shim.h"

extern "C" {
#include "vision/detect.h"
}

#include "det_body.inc"

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd()
{
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return rs;
}
static float ru() { return (float)(rnd() >> 40) / (float)(1 << 24); }
static float g64(int hi) { return (float)(rnd() % (uint64_t)(hi + 1)) / 64.f; }

struct emu_case {
  det_format fmt;
  int n, c;
  bool bg;
  float conf, iou;
  int max_det, hot;
};

int main()
{
  static const emu_case cases[] = {
      {DET_YOLOV8, 8400, 80, false, 0.25f, 0.45f, 300, 2}, {DET_YOLOV8, 2100, 3, false, 0.5f, 0.5f, 20, 1},
      {DET_YOLOV8, 1, 1, false, 0.1f, 0.45f, 10, 1},       {DET_YOLOV8, 3000, 4, false, 0.3f, 0.f, 300, 1},
      {DET_YOLOV8, 5000, 2, false, 0.2f, 1.f, 5000, 1},    {DET_YOLOV8, 8400, 80, false, 1.f, 0.45f, 300, 2},
      {DET_YOLOV8, 40000, 4, false, -1.f, 0.45f, 300, 1},  {DET_YOLOV5, 25200, 80, false, 0.25f, 0.45f, 300, 2},
      {DET_YOLOV5, 300, 1, false, 0.05f, 0.6f, 100, 1},    {DET_SSD, 4420, 2, true, 0.7f, 0.3f, 200, 1},
      {DET_SSD, 1000, 5, true, 0.3f, 0.45f, 1000, 2},      {DET_SSD, 500, 1, false, 0.5f, 0.45f, 100, 1}};
  const float in_w = 640, in_h = 480;
  int fails = 0;
  for (const auto &k : cases) {
    size_t n = (size_t)k.n, c = (size_t)k.c;
    det_layout l = {k.fmt, k.n, k.c, 0, k.fmt == DET_SSD ? 1 : 0, k.bg};
    size_t n0 = k.fmt == DET_YOLOV8 ? (4 + c) * n : k.fmt == DET_YOLOV5 ? n * (5 + c) : n * 4;
    std::vector<float> o0(n0), o1(k.fmt == DET_SSD ? n * c : 1), sc(c);
    float cl[24][4];
    for (auto &q : cl) {
      q[0] = ru() * in_w;
      q[1] = ru() * in_h;
      q[2] = 20 + ru() * 140;
      q[3] = 20 + ru() * 140;
    }
    for (size_t a = 0; a < n; a++) {
      const float *q = cl[rnd() % 24];
      float cx = q[0] + ru() * 12 - 6, cy = q[1] + ru() * 12 - 6, w = q[2] + ru() * 20 - 10, h = q[3] + ru() * 20 - 10;
      if (rnd() % 8 == 0) {
        cx = ru() * (in_w + 40) - 20;
        cy = ru() * (in_h + 40) - 20;
        w = 1 + ru() * 300;
        h = 1 + ru() * 300;
      }
      for (auto &v : sc) v = g64(7);
      for (int j = 0; j < k.hot; j++) sc[rnd() % c] = g64(64);
      if (k.fmt == DET_YOLOV8) {
        o0[a] = cx;
        o0[n + a] = cy;
        o0[2 * n + a] = w;
        o0[3 * n + a] = h;
        for (size_t j = 0; j < c; j++) o0[(4 + j) * n + a] = sc[j];
      } else if (k.fmt == DET_YOLOV5) {
        float *r = &o0[a * (5 + c)];
        r[0] = cx;
        r[1] = cy;
        r[2] = w;
        r[3] = h;
        r[4] = g64(64);
        for (size_t j = 0; j < c; j++) r[5 + j] = sc[j];
      } else {
        float *b = &o0[a * 4];
        b[0] = (cx - w / 2) / in_w;
        b[1] = (cy - h / 2) / in_h;
        b[2] = (cx + w / 2) / in_w;
        b[3] = (cy + h / 2) / in_h;
        for (size_t j = 0; j < c; j++) o1[a * c + j] = sc[j];
      }
    }
    std::vector<det_box> cand(CUDA_DET_MAX_CAND);
    const float *outs[2] = {o0.data(), o1.data()};
    int total = det_candidates(&l, outs, (int)in_w, (int)in_h, k.conf, cand.data(), CUDA_DET_MAX_CAND);
    int want = det_nms(cand.data(), total < CUDA_DET_MAX_CAND ? total : CUDA_DET_MAX_CAND, k.iou, k.max_det);
    int blocks = (k.n + CUDA_DET_BLOCK - 1) / CUDA_DET_BLOCK, cap = k.n < CUDA_DET_MAX_CAND ? k.n : CUDA_DET_MAX_CAND;
    std::vector<det_box> staging((size_t)blocks * CUDA_DET_BLOCK), out((size_t)k.max_det);
    std::vector<int> cnt((size_t)blocks);
    std::vector<unsigned long long> gkeys(CUDA_DET_MAX_CAND);
    int count = -1;
    for (int b = 0; b < blocks; b++)
      emu_block((unsigned)b, 0, CUDA_DET_BLOCK, [&] {
        det_candidates_kernel<float>(l, o0.data(), o1.data(), in_w, in_h, k.conf, staging.data(), cnt.data());
      });
    emu_block(0, 0, CUDA_DET_BLOCK, [&] {
      det_select_kernel(blocks, cap, staging.data(), cnt.data(), gkeys.data(), k.iou, k.max_det, out.data(), &count);
    });
    int bad = count != want;
    for (int i = 0; i < want && i < count; i++) {
      const det_box &g = out[(size_t)i], &r = cand[(size_t)i];
      if (g.cls != r.cls || g.score != r.score || g.x1 != r.x1 || g.y1 != r.y1 || g.x2 != r.x2 || g.y2 != r.y2) {
        if (bad < 3)
          printf("  box %d: kernel cls %d %g (%g %g %g %g), cpu cls %d %g (%g %g %g %g)\n", i, g.cls, g.score, g.x1,
                 g.y1, g.x2, g.y2, r.cls, r.score, r.x1, r.y1, r.x2, r.y2);
        bad++;
      }
    }
    printf("%-5s format %d, %d anchors x %d classes: %d candidates, kept %d (cpu %d)\n", bad ? "FAIL" : "ok", k.fmt,
           k.n, k.c, total, count, want);
    fails += bad != 0;
  }
  printf("det_emu: %d failing\n", fails);
  return fails != 0;
}
