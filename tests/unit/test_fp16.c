/* fp16 <-> fp32 conversion against an independent oracle: the value of every
 * half is computed with ldexp, and float -> half is checked against the
 * nearest half found by search (ties to even). */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "common/util.h"

/* The exact value of a half, from its fields. */
static double half_value(uint16_t h)
{
  int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0) v = ldexp(mant, -24);
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else v = ldexp(1024 + mant, exp - 25);
  return sign ? -v : v;
}

static uint32_t float_bits(float f)
{
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static void test_half_to_float(void)
{
  int bad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = onyx_half_to_float((uint16_t)h);
    double want = half_value((uint16_t)h);
    if (isnan(want)) {
      if (!isnan(f)) bad++;
    } else if ((double)f != want || !signbit(f) != !signbit(want)) {
      if (bad < 5) fprintf(stderr, "half 0x%04x -> %.9g, expected %.9g\n", h, f, want);
      bad++;
    }
  }
  CHECK_EQ_I64(bad, 0);
  CHECK(onyx_half_to_float(0x0001) == ldexpf(1.f, -24)); /* smallest subnormal */
  CHECK(onyx_half_to_float(0x03ff) == ldexpf(1023.f, -24)); /* largest subnormal */
  CHECK(onyx_half_to_float(0x0400) == ldexpf(1.f, -14));    /* smallest normal */
  CHECK(onyx_half_to_float(0x7bff) == 65504.f);
  CHECK(onyx_half_to_float(0x3c00) == 1.f);
  CHECK(onyx_half_to_float(0xc000) == -2.f);
  CHECK(isinf(onyx_half_to_float(0x7c00)) && onyx_half_to_float(0x7c00) > 0);
  CHECK(isinf(onyx_half_to_float(0xfc00)) && onyx_half_to_float(0xfc00) < 0);
  CHECK(isnan(onyx_half_to_float(0x7e00)) && isnan(onyx_half_to_float(0xfc01)));
  CHECK(float_bits(onyx_half_to_float(0x8000)) == 0x80000000u); /* -0 keeps its sign */
}

static void test_round_trip(void)
{
  int bad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    uint16_t back = onyx_float_to_half(onyx_half_to_float((uint16_t)h));
    int is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
    if (is_nan ? !((back & 0x7c00) == 0x7c00 && (back & 0x3ff) && (back & 0x8000) == (h & 0x8000)) : back != h) {
      if (bad < 5) fprintf(stderr, "half 0x%04x -> float -> 0x%04x\n", h, back);
      bad++;
    }
  }
  CHECK_EQ_I64(bad, 0);
}

/* Sorted non-negative finite halves 0x0000..0x7bff are increasing in value. */
static uint16_t nearest_half(double x)
{
  int neg = signbit(x);
  double a = fabs(x);
  if (isnan(x)) return 0x7e00;
  /* the overflow threshold: halfway between 65504 and 65536 rounds to even (inf) */
  if (a >= 65520.0) return (uint16_t)((neg ? 0x8000 : 0) | 0x7c00);
  int lo = 0, hi = 0x7bff;
  while (lo < hi) { /* first half >= a */
    int mid = (lo + hi) / 2;
    if (half_value((uint16_t)mid) < a) lo = mid + 1;
    else hi = mid;
  }
  int best = lo;
  if (lo > 0) {
    double up = half_value((uint16_t)lo) - a, down = a - half_value((uint16_t)(lo - 1));
    if (down < up || (down == up && ((lo - 1) & 1) == 0)) best = lo - 1;
  }
  return (uint16_t)((neg ? 0x8000 : 0) | best);
}

static void test_float_to_half(void)
{
  /* fixed points */
  CHECK_EQ_I64(onyx_float_to_half(0.f), 0x0000);
  CHECK_EQ_I64(onyx_float_to_half(-0.f), 0x8000);
  CHECK_EQ_I64(onyx_float_to_half(1.f), 0x3c00);
  CHECK_EQ_I64(onyx_float_to_half(65504.f), 0x7bff);
  CHECK_EQ_I64(onyx_float_to_half(65519.f), 0x7bff); /* below the halfway point */
  CHECK_EQ_I64(onyx_float_to_half(65520.f), 0x7c00); /* halfway to 65536: even is inf */
  CHECK_EQ_I64(onyx_float_to_half(1e10f), 0x7c00);
  CHECK_EQ_I64(onyx_float_to_half(-1e10f), 0xfc00);
  CHECK_EQ_I64(onyx_float_to_half(INFINITY), 0x7c00);
  CHECK_EQ_I64(onyx_float_to_half(-INFINITY), 0xfc00);
  uint16_t qn = onyx_float_to_half(NAN);
  CHECK((qn & 0x7c00) == 0x7c00 && (qn & 0x3ff) != 0);
  /* a NaN whose payload lives only in the low float bits must stay a NaN */
  uint32_t nan_bits = 0x7f800001u;
  float low_nan;
  memcpy(&low_nan, &nan_bits, 4);
  uint16_t ln = onyx_float_to_half(low_nan);
  CHECK((ln & 0x7c00) == 0x7c00 && (ln & 0x3ff) != 0);
  /* ties to even */
  CHECK_EQ_I64(onyx_float_to_half(1.f + ldexpf(1.f, -11)), 0x3c00);     /* between 0x3c00 and 0x3c01 */
  CHECK_EQ_I64(onyx_float_to_half(1.f + 3 * ldexpf(1.f, -11)), 0x3c02); /* between 0x3c01 and 0x3c02 */
  CHECK_EQ_I64(onyx_float_to_half(1.f + ldexpf(1.f, -11) + ldexpf(1.f, -20)), 0x3c01); /* just above */
  /* subnormals and underflow */
  CHECK_EQ_I64(onyx_float_to_half(ldexpf(1.f, -24)), 0x0001);
  CHECK_EQ_I64(onyx_float_to_half(ldexpf(1.f, -25)), 0x0000);         /* tie: to even (0) */
  CHECK_EQ_I64(onyx_float_to_half(ldexpf(1.5f, -25)), 0x0001);
  CHECK_EQ_I64(onyx_float_to_half(ldexpf(3.f, -25)), 0x0002);         /* tie between 1 and 2: even */
  CHECK_EQ_I64(onyx_float_to_half(ldexpf(1.f, -30)), 0x0000);
  CHECK_EQ_I64(onyx_float_to_half(-ldexpf(1.f, -30)), 0x8000);
  CHECK_EQ_I64(onyx_float_to_half(ldexpf(1023.f, -24)), 0x03ff);
  CHECK_EQ_I64(onyx_float_to_half(ldexpf(1023.5f, -24)), 0x0400);    /* rounds up into the normals */
  CHECK_EQ_I64(onyx_float_to_half(ldexpf(1.f, -14)), 0x0400);

  /* every float exponent that matters, random mantissas, against the oracle */
  uint64_t s = 0x9e3779b97f4a7c15ull;
  int bad = 0;
  for (int i = 0; i < 400000; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    uint32_t exp = 100 + (uint32_t)(s % 45); /* 2^-27 .. 2^17 */
    uint32_t bits = (uint32_t)((s >> 32) & 0x807fffffu) | (exp << 23);
    if (i % 4 == 0) bits = (bits & ~0x1fffu) | 0x1000u; /* exact ties in the normal range */
    float f;
    memcpy(&f, &bits, 4);
    uint16_t got = onyx_float_to_half(f), want = nearest_half((double)f);
    if (got != want) {
      if (bad < 5) fprintf(stderr, "float %.9g (0x%08x) -> 0x%04x, expected 0x%04x\n", f, bits, got, want);
      bad++;
    }
  }
  CHECK_EQ_I64(bad, 0);
}

int main(int argc, char **argv)
{
  (void)argc;
  test_half_to_float();
  test_round_trip();
  test_float_to_half();
  return check_summary(argv[0]);
}
