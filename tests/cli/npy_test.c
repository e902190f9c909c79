/* Unit tests of src/io/npy.h: a write/read round trip for every dtype and
 * rank 0..ONYX_MAX_DIMS, hand-made v1/v2/v3 headers, raw .bin reads with an
 * inferred dimension, and a list of malformed files that must be refused with
 * a message (never a crash; run under ASan/UBSan in the sanitizer build).
 * Usage: onyx_npy_test TMPDIR */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "io/npy.h"

static int n_checks, n_failed;
static const char *tmpdir;

static void check(bool ok, const char *fmt, ...)
{
  n_checks++;
  if (ok) return;
  n_failed++;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FAIL: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
}

static const onyx_dtype all_dtypes[] = {
    ONYX_DTYPE_FLOAT,  ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_INT64,
    ONYX_DTYPE_INT32,  ONYX_DTYPE_INT16,  ONYX_DTYPE_INT8,    ONYX_DTYPE_UINT8,
    ONYX_DTYPE_UINT16, ONYX_DTYPE_UINT32, ONYX_DTYPE_UINT64,  ONYX_DTYPE_BOOL,
};

static void tmp_path(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", tmpdir, name); }

static void test_round_trip(void)
{
  uint64_t rng = 12345;
  for (size_t t = 0; t < ONYX_ARRAY_LEN(all_dtypes); t++) {
    onyx_dtype dt = all_dtypes[t];
    for (int ndim = 0; ndim <= ONYX_MAX_DIMS; ndim++) {
      int64_t dims[ONYX_MAX_DIMS];
      for (int d = 0; d < ndim; d++) dims[d] = 1 + (d * 7 + ndim) % 3; /* 1..3 */
      if (ndim == 2 && t % 3 == 0) dims[1] = 0;                        /* some empty arrays */
      int64_t n = onyx_numel(ndim, dims);
      size_t bytes = (size_t)n * onyx_dtype_size(dt);
      unsigned char *data = malloc(bytes + 1);
      for (size_t i = 0; i < bytes; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        data[i] = (unsigned char)(rng >> 56);
      }
      if (dt == ONYX_DTYPE_BOOL)
        for (size_t i = 0; i < bytes; i++) data[i] &= 1;
      char path[512];
      tmp_path(path, sizeof(path), "rt.npy");
      onyx_status st = npy_write(path, dt, ndim, dims, data);
      check(st == ONYX_OK, "npy_write %s rank %d: %s", onyx_dtype_name(dt), ndim, onyx_last_error());
      npy_array a;
      st = npy_read(path, &a);
      check(st == ONYX_OK, "npy_read %s rank %d: %s", onyx_dtype_name(dt), ndim, onyx_last_error());
      if (st == ONYX_OK) {
        check(a.dtype == dt, "dtype %s came back as %s", onyx_dtype_name(dt), onyx_dtype_name(a.dtype));
        check(a.ndim == ndim && !memcmp(a.dims, dims, sizeof(*dims) * (size_t)ndim),
              "%s rank %d: shape differs", onyx_dtype_name(dt), ndim);
        check(a.nbytes == bytes && (!bytes || !memcmp(a.data, data, bytes)), "%s rank %d: data differs",
              onyx_dtype_name(dt), ndim);
        npy_array_free(&a);
      }
      /* The file layout numpy expects: v1.0, data 64-byte aligned, header ends in '\n'. */
      void *buf;
      size_t size;
      if (onyx_read_file(path, 1 << 20, &buf, &size) == ONYX_OK) {
        const unsigned char *b = buf;
        size_t hlen = (size_t)b[8] | (size_t)b[9] << 8;
        check(b[6] == 1 && b[7] == 0 && (10 + hlen) % 64 == 0 && b[10 + hlen - 1] == '\n' &&
                  size == 10 + hlen + bytes,
              "%s rank %d: bad file layout", onyx_dtype_name(dt), ndim);
        free(buf);
      }
      free(data);
    }
  }
}

/* A .npy image with the given version, header text (padded to end in '\n'
 * unless raw) and data bytes. */
static size_t make_npy(unsigned char *out, int major, const char *header, bool pad, const void *data,
                       size_t nbytes)
{
  size_t pre = major == 1 ? 10 : 12, h = strlen(header);
  memcpy(out, "\x93NUMPY", 6);
  out[6] = (unsigned char)major;
  out[7] = 0;
  memcpy(out + pre, header, h);
  if (pad) {
    while ((pre + h + 1) % 64) out[pre + h++] = ' ';
    out[pre + h++] = '\n';
  }
  if (major == 1) {
    out[8] = (unsigned char)(h & 0xff);
    out[9] = (unsigned char)(h >> 8);
  } else {
    for (int i = 0; i < 4; i++) out[8 + i] = (unsigned char)(h >> (8 * i));
  }
  memcpy(out + pre + h, data, nbytes);
  return pre + h + nbytes;
}

static void test_good_headers(void)
{
  unsigned char buf[4096];
  float f[6] = {1, 2, 3, 4, 5, 6};
  struct {
    int major;
    const char *hdr;
    onyx_dtype dt;
    int ndim;
    int64_t d0;
    size_t nbytes;
  } good[] = {
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", ONYX_DTYPE_FLOAT, 2, 2, 24},
      {2, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", ONYX_DTYPE_FLOAT, 1, 6, 24},
      {3, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", ONYX_DTYPE_FLOAT, 1, 6, 24},
      {1, "{\"descr\":\"=i4\",\"shape\":(3,2),\"fortran_order\":False}", ONYX_DTYPE_INT32, 2, 3, 24},
      {1, "{'descr': '|u1', 'fortran_order': False, 'shape': (24,), }", ONYX_DTYPE_UINT8, 1, 24, 24},
      {1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,12) }", ONYX_DTYPE_BOOL, 2, 2, 24},
      {1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, ), }", ONYX_DTYPE_DOUBLE, 1, 3, 24},
      {1, "{'descr': '<i8', 'fortran_order': False, 'shape': (), }", ONYX_DTYPE_INT64, 0, 0, 8},
      {1, "{'descr': '<f2', 'fortran_order': False, 'shape': (0, 5), }", ONYX_DTYPE_FLOAT16, 2, 0, 0},
  };
  for (size_t i = 0; i < ONYX_ARRAY_LEN(good); i++) {
    size_t n = make_npy(buf, good[i].major, good[i].hdr, true, f, good[i].nbytes);
    npy_array a;
    onyx_status st = npy_parse(buf, n, "good.npy", &a);
    check(st == ONYX_OK, "good header %zu (%s) refused: %s", i, good[i].hdr, onyx_last_error());
    if (st != ONYX_OK) continue;
    check(a.dtype == good[i].dt && a.ndim == good[i].ndim && (a.ndim == 0 || a.dims[0] == good[i].d0) &&
              a.nbytes == good[i].nbytes,
          "good header %zu parsed wrong", i);
    if (good[i].dt == ONYX_DTYPE_BOOL) { /* non-zero bytes read as true (1) */
      const unsigned char *p = a.data;
      bool ok = true;
      for (size_t k = 0; k < a.nbytes; k++) ok &= p[k] <= 1;
      check(ok, "bool data not normalised to 0/1");
    }
    npy_array_free(&a);
  }
}

static void test_bad_files(void)
{
  unsigned char buf[4096], data[64] = {0};
  struct {
    const char *what, *hdr;
    size_t nbytes;
    const char *expect; /* substring of the message */
  } bad[] = {
      {"fortran order", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, "Fortran"},
      {"big endian", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "big-endian"},
      {"unicode dtype", "{'descr': '<U4', 'fortran_order': False, 'shape': (2,), }", 32, "dtype"},
      {"complex dtype", "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, "dtype"},
      {"object dtype", "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, "dtype"},
      {"structured", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, "structured"},
      {"no order char", "{'descr': 'f4', 'fortran_order': False, 'shape': (2,), }", 8, "dtype"},
      {"missing shape", "{'descr': '<f4', 'fortran_order': False, }", 4, "missing key 'shape'"},
      {"missing descr", "{'fortran_order': False, 'shape': (2,), }", 8, "missing key 'descr'"},
      {"missing order", "{'descr': '<f4', 'shape': (2,), }", 8, "missing key 'fortran_order'"},
      {"duplicate key", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8,
       "duplicate"},
      {"extra key", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8, "unexpected key"},
      {"shape list", "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", 8, "tuple"},
      {"shape int", "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", 8, "trailing comma"},
      {"negative dim", "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8, "non-negative"},
      {"float dim", "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,), }", 8, "shape"},
      {"too many dims", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4,
       "dimensions"},
      {"huge dim", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 4,
       "too large"},
      {"overflowing shape", "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
       8, "too large"},
      {"truncated data", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20, "truncated"},
      {"trailing data", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28, "trailing"},
      {"bad order value", "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", 8, "True or False"},
      {"unterminated", "{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }", 8, "header"},
      {"no brace", "'descr': '<f4', 'fortran_order': False, 'shape': (2,)", 8, "'{'"},
      {"junk after dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", 8, "after the dict"},
      {"non-ascii", "{'descr': '<f\xc3\xa4', 'fortran_order': False, 'shape': (2,), }", 8, "character"},
      {"missing comma", "{'descr': '<f4' 'fortran_order': False, 'shape': (2,), }", 8, "header"},
  };
  for (size_t i = 0; i < ONYX_ARRAY_LEN(bad); i++) {
    size_t n = make_npy(buf, 1, bad[i].hdr, true, data, bad[i].nbytes);
    npy_array a;
    onyx_status st = npy_parse(buf, n, "bad.npy", &a);
    check(st != ONYX_OK, "'%s' accepted", bad[i].what);
    if (st == ONYX_OK) {
      npy_array_free(&a);
      continue;
    }
    const char *msg = onyx_last_error();
    check(strstr(msg, bad[i].expect) && strstr(msg, "bad.npy"),
          "'%s': message '%s' lacks '%s' or the file name", bad[i].what, msg, bad[i].expect);
  }

  /* Preamble-level damage. */
  size_t n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", true, data, 8);
  npy_array a;
  unsigned char copy[4096];
  struct {
    const char *what;
    size_t offset;
    unsigned char value;
    size_t size;
  } damage[] = {
      {"bad magic", 1, 'X', n},        {"version 4", 6, 4, n},
      {"version 0", 6, 0, n},          {"minor 1", 7, 1, n},
      {"header too long", 9, 0xff, n}, {"empty file", 0, 0x93, 0},
      {"magic only", 0, 0x93, 6},      {"preamble cut", 0, 0x93, 9},
      {"header cut", 0, 0x93, 40},     {"no newline", 10 + 63 - 1 + 0, ' ', n}, /* replaced below */
  };
  for (size_t i = 0; i < ONYX_ARRAY_LEN(damage); i++) {
    memcpy(copy, buf, n);
    copy[damage[i].offset] = damage[i].value;
    if (i == ONYX_ARRAY_LEN(damage) - 1) copy[10 + (copy[8] | copy[9] << 8) - 1] = ' ';
    onyx_status st = npy_parse(copy, damage[i].size, "damaged.npy", &a);
    check(st != ONYX_OK && strstr(onyx_last_error(), "damaged.npy"), "'%s' accepted or unnamed: %s",
          damage[i].what, onyx_last_error());
    if (st == ONYX_OK) npy_array_free(&a);
  }
  /* v2 header length beyond the file. */
  n = make_npy(buf, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", true, data, 8);
  buf[11] = 0x10;
  check(npy_parse(buf, n, "v2.npy", &a) != ONYX_OK, "v2 header length beyond the file accepted");

  /* Every single-byte corruption and every truncation of a valid file: no crash, no leak. */
  n = make_npy(buf, 1, "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2), }", true, data, 12);
  int accepted = 0;
  for (size_t cut = 0; cut < n; cut++) {
    onyx_status st = npy_parse(buf, cut, "cut.npy", &a);
    check(st != ONYX_OK, "file cut at %zu of %zu accepted", cut, n);
    if (st == ONYX_OK) npy_array_free(&a);
  }
  for (size_t pos = 0; pos < n; pos++) {
    static const unsigned char vals[] = {0x00, '\'', '(', ')', ',', '}', '9', 0xff, ' '};
    for (size_t v = 0; v < sizeof(vals); v++) {
      memcpy(copy, buf, n);
      copy[pos] = vals[v];
      if (npy_parse(copy, n, "mut.npy", &a) == ONYX_OK) {
        accepted++;
        npy_array_free(&a);
      }
    }
  }
  check(accepted > 0, "no mutation accepted at all (data bytes should be)");
}

static void test_raw(void)
{
  char path[512];
  tmp_path(path, sizeof(path), "raw.bin");
  float v[24];
  for (int i = 0; i < 24; i++) v[i] = (float)i * 0.5f;
  FILE *f = fopen(path, "wb");
  fwrite(v, sizeof(float), 24, f);
  fclose(f);
  npy_array a;
  int64_t exact[3] = {2, 3, 4}, one_unknown[3] = {-1, 3, 4}, two_unknown[3] = {-1, -1, 4}, bad[3] = {5, 1, 1};
  int64_t nodiv[2] = {-1, 5};
  check(raw_read(path, ONYX_DTYPE_FLOAT, 3, exact, &a) == ONYX_OK && a.nbytes == 96 &&
            !memcmp(a.data, v, sizeof(v)),
        "raw exact: %s", onyx_last_error());
  npy_array_free(&a);
  check(raw_read(path, ONYX_DTYPE_FLOAT, 3, one_unknown, &a) == ONYX_OK && a.dims[0] == 2 && a.dims[1] == 3,
        "raw inferred dim: %s", onyx_last_error());
  npy_array_free(&a);
  check(raw_read(path, ONYX_DTYPE_INT16, 3, one_unknown, &a) == ONYX_OK && a.dims[0] == 4,
        "raw inferred int16 dim: %s", onyx_last_error());
  npy_array_free(&a);
  check(raw_read(path, ONYX_DTYPE_FLOAT, 3, two_unknown, &a) != ONYX_OK &&
            strstr(onyx_last_error(), "--shapes"),
        "two unknown dims accepted");
  check(raw_read(path, ONYX_DTYPE_FLOAT, 3, bad, &a) != ONYX_OK && strstr(onyx_last_error(), "96 bytes"),
        "wrong raw size accepted or message lacks the size: %s", onyx_last_error());
  check(raw_read(path, ONYX_DTYPE_FLOAT, 2, nodiv, &a) != ONYX_OK, "raw size not a multiple accepted");
  check(raw_read("/nonexistent/x.bin", ONYX_DTYPE_FLOAT, 3, exact, &a) != ONYX_OK &&
            strstr(onyx_last_error(), "/nonexistent/x.bin"),
        "missing raw file accepted");
  check(npy_read("/nonexistent/x.npy", &a) != ONYX_OK && strstr(onyx_last_error(), "/nonexistent/x.npy"),
        "missing npy file accepted");
  check(npy_write("/nonexistent/dir/x.npy", ONYX_DTYPE_FLOAT, 3, exact, v) != ONYX_OK,
        "write to a missing dir");
  check(npy_write(path, ONYX_DTYPE_STRING, 3, exact, v) != ONYX_OK, "string write accepted");
}

int main(int argc, char **argv)
{
  tmpdir = argc > 1 ? argv[1] : "/tmp";
  test_round_trip();
  test_good_headers();
  test_bad_files();
  test_raw();
  printf("npy_test: %d checks, %d failed\n", n_checks, n_failed);
  return n_failed ? 1 : 0;
}
