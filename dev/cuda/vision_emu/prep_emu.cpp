// prep_kernel (both its paths: weights cached in shared memory, and computed per tap) run on the host
// through shim.h, against prep_apply.  The kernel has one barrier, so each block runs as two sequential
// passes over its threads: the first fills the shared tables, the second computes the pixels.
#include "shim.h"

extern "C" {
#include "vision/prep.h"
}

#undef __shared__
#define __shared__ /* prep_smem: the extern array defined below */
#include "prep_body.inc"

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd()
{
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return rs;
}

template <bool CACHED> static void run(const prep_plan &p, const uint8_t *src, float *dst)
{
  std::barrier<> one(1);
  emu_block_bar = &one;
  prep_axis ax = prep_axis_make(p.src_w, p.rs_w), ay = prep_axis_make(p.src_h, p.rs_h);
  for (unsigned by = 0; by < (unsigned)(p.out_h + PREP_TY - 1) / PREP_TY; by++)
    for (unsigned bx = 0; bx < (unsigned)(p.out_w + PREP_TX - 1) / PREP_TX; bx++)
      for (int pass = 0; pass < 2; pass++)
        for (unsigned ty = 0; ty < PREP_TY; ty++)
          for (unsigned tx = 0; tx < PREP_TX; tx++) {
            blockIdx = {bx, by, 0};
            threadIdx = {tx, ty, 0};
            prep_kernel<float, CACHED>(p, ax, ay, src, dst);
          }
}

uint32_t prep_smem[1 << 22]; // the kernel's extern __shared__ array

int main()
{
  static const int cases[][4] = {{1080, 810, 640, 640}, {37, 23, 160, 96},    {1, 1, 64, 64},       {2, 3, 5, 7},
                                 {2000, 50, 320, 320},  {50, 1500, 224, 224}, {333, 777, 224, 224}, {97, 61, 301, 211},
                                 {1000, 700, 300, 210}, {641, 479, 320, 320}, {6000, 400, 32, 32},  {4000, 3000, 96, 96}};
  const float mean[3] = {123.675f, 116.28f, 103.53f}, inv[3] = {1 / 58.395f, 1 / 57.12f, 1 / 57.375f};
  int fails = 0;
  for (const auto &c : cases)
    for (int fit = 0; fit < 3; fit++) {
      image_rgb im = {c[0], c[1], (unsigned char *)malloc((size_t)c[0] * c[1] * 3)};
      for (size_t i = 0; i < (size_t)c[0] * c[1] * 3; i++) im.px[i] = (unsigned char)(rnd() >> 56);
      prep_plan p;
      if (prep_plan_make((prep_fit)fit, c[0], c[1], c[2], c[3], mean, inv, 114.f, &p) != ONYX_OK) {
        printf("prep_plan_make refused %dx%d -> %dx%d fit %d: %s\n", c[0], c[1], c[2], c[3], fit, onyx_last_error());
        fails++;
        free(im.px);
        continue;
      }
      size_t n = 3 * (size_t)c[2] * c[3];
      std::vector<float> ref(n), a(n, NAN), b(n, NAN);
      if (prep_apply(&p, &im, ref.data()) != ONYX_OK) {
        printf("prep_apply failed: %s\n", onyx_last_error());
        fails++;
        free(im.px);
        continue;
      }
      run<true>(p, im.px, a.data());
      bool slow = (double)c[0] * c[1] > 5e6; // the per-tap path on a 12 Mpixel image takes minutes here
      if (!slow) run<false>(p, im.px, b.data());
      double worst = 0;
      size_t inexact = 0;
      for (size_t i = 0; i < n; i++) {
        double l = inv[i / (n / 3)];
        double da = fabs(a[i] - ref[i]) / l, db = slow ? 0 : fabs(b[i] - ref[i]) / l;
        if (!(da <= worst)) worst = std::isnan(da) ? INFINITY : da;
        if (!(db <= worst)) worst = std::isnan(db) ? INFINITY : db;
        inexact += a[i] != ref[i] || (!slow && b[i] != ref[i]);
      }
      bool ok = worst <= 1.0001;
      printf("%-5s %dx%d -> %dx%d fit %d (resized %dx%d at %d,%d): max %.3g levels, %zu values not bit-equal\n",
             ok ? "ok" : "FAIL", c[0], c[1], c[2], c[3], fit, p.rs_w, p.rs_h, p.off_x, p.off_y, worst, inexact);
      fails += !ok;
      free(im.px);
    }
  printf("prep_emu: %d failing\n", fails);
  return fails != 0;
}
