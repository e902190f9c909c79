/* Engine container and codec tests: round trips, and every way a file can be truncated, corrupted or
 * crafted is refused with a message instead of a crash (run these under the ASan build too).
 *   onyx_engine_tests [SCRATCH_DIR]   (files are written there; default /tmp) */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/status.h"
#include "engine/codec.h"
#include "engine/format.h"

#include "check.h"

/* The last error message holds want. */
static int msg_has(const char *want) { return strstr(onyx_last_error(), want) != NULL; }

static uint32_t rd32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr32(uint8_t *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- codec -------------------------------------------------------------- */

static void test_codec_encoding(void)
{
  eng_writer w;
  eng_writer_init(&w);
  eng_put_u8(&w, 0xab);
  eng_put_u32(&w, 0x01020304u);
  eng_put_u64(&w, 0x0102030405060708ull);
  eng_put_i64(&w, -2);
  eng_put_f32(&w, 1.0f);
  eng_put_string(&w, "hi");
  eng_put_string(&w, NULL);
  eng_put_bytes(&w, "xyz", 3);
  CHECKF(eng_writer_status(&w) == ONYX_OK, "%s", onyx_last_error());
  static const uint8_t want[] = {0xab, 4,    3,    2,    1,    8,    7,    6,    5, 4,   3,    2,    1,
                                 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0,   0x80, 0x3f, 2,
                                 0,    0,    0,    'h',  'i',  0,    0,    0,    0, 'x', 'y',  'z'};
  CHECKF(w.size == sizeof(want) && memcmp(w.data, want, sizeof(want)) == 0,
        "little-endian encoding (size %zu)", w.size);

  eng_put_pad(&w, 16);
  CHECKF(w.size == 48 && w.data[40] == 0 && w.data[47] == 0, "pad to 16: size %zu", w.size);
  eng_put_pad(&w, 16);
  CHECKF(w.size == 48, "pad when aligned adds nothing: size %zu", w.size);
  CHECKF(eng_patch_u32(&w, 1, 0xdeadbeef) == ONYX_OK && rd32(w.data + 1) == 0xdeadbeef, "patch u32");
  CHECKF(eng_patch_u64(&w, 44, 1) == ONYX_ERR_INTERNAL, "patch past the end refused");
  CHECKF(eng_put_u8(&w, 1) == ONYX_ERR_INTERNAL && w.size == 48, "writer failure is sticky");
  eng_writer_free(&w);
}

static void test_codec_round_trip(void)
{
  eng_writer w;
  eng_writer_init(&w);
  for (int i = 0; i < 1000; i++) { /* enough to grow the buffer several times */
    eng_put_u8(&w, (uint8_t)i);
    eng_put_u32(&w, (uint32_t)i * 2654435761u);
    eng_put_u64(&w, (uint64_t)i << 40 | 7);
    eng_put_i64(&w, -(int64_t)i * 1000000007);
    eng_put_f32(&w, (float)i / 3.0f);
    eng_put_string(&w, i % 2 ? "odd" : "");
  }
  CHECKF(eng_writer_status(&w) == ONYX_OK, "%s", onyx_last_error());
  size_t size;
  uint8_t *data = eng_writer_take(&w, &size);
  CHECKF(w.data == NULL && w.size == 0, "take empties the writer");
  eng_reader r;
  eng_reader_init(&r, data, size);
  int bad = 0;
  for (int i = 0; i < 1000; i++) {
    uint8_t a;
    uint32_t b;
    uint64_t c;
    int64_t d;
    float e;
    char s[8];
    bad += eng_get_u8(&r, "a", &a) != ONYX_OK || a != (uint8_t)i;
    bad += eng_get_u32(&r, "b", &b) != ONYX_OK || b != (uint32_t)i * 2654435761u;
    bad += eng_get_u64(&r, "c", &c) != ONYX_OK || c != ((uint64_t)i << 40 | 7);
    bad += eng_get_i64(&r, "d", &d) != ONYX_OK || d != -(int64_t)i * 1000000007;
    bad += eng_get_f32(&r, "e", &e) != ONYX_OK || e != (float)i / 3.0f;
    bad += eng_get_string(&r, "s", s, sizeof(s)) != ONYX_OK || strcmp(s, i % 2 ? "odd" : "") != 0;
  }
  CHECKF(bad == 0 && eng_reader_left(&r) == 0, "%d values differ after a round trip", bad);
  free(data);
}

/* Every get on every too-short buffer (exactly allocated, so ASan sees any overread) fails cleanly. */
static void test_codec_past_end(void)
{
  int bad = 0;
  for (size_t len = 0; len < 9; len++) {
    uint8_t *buf = malloc(len ? len : 1);
    memset(buf, 0x11, len);
    eng_reader r;
    uint8_t a;
    uint32_t b;
    uint64_t c;
    int64_t d;
    float e;
    const uint8_t *p;
#define PAST(call, width)                                                                                    \
  do {                                                                                                       \
    eng_reader_init(&r, buf, len);                                                                           \
    onyx_clear_error();                                                                                      \
    onyx_status st_ = (call);                                                                                \
    if (len < (width)) {                                                                                     \
      bad += st_ != ONYX_ERR_PARSE || r.pos != 0 || !msg_has("the_field at offset 0");                       \
    } else {                                                                                                 \
      bad += st_ != ONYX_OK || r.pos != (width);                                                             \
    }                                                                                                        \
  } while (0)
    PAST(eng_get_u8(&r, "the_field", &a), 1);
    PAST(eng_get_u32(&r, "the_field", &b), 4);
    PAST(eng_get_u64(&r, "the_field", &c), 8);
    PAST(eng_get_i64(&r, "the_field", &d), 8);
    PAST(eng_get_f32(&r, "the_field", &e), 4);
    PAST(eng_get_bytes(&r, "the_field", 5, &p), 5);
    PAST(eng_skip(&r, "the_field", 7), 7);
#undef PAST
    free(buf);
  }
  CHECKF(bad == 0, "%d gets past the end were not refused cleanly", bad);

  /* The offset in the message is where the field starts. */
  uint8_t buf[6] = {1, 2, 3, 4, 5, 6};
  eng_reader r;
  uint32_t v;
  const uint8_t *p;
  eng_reader_init(&r, buf, sizeof(buf));
  CHECKF(eng_get_u32(&r, "first", &v) == ONYX_OK && v == 0x04030201u, "first u32");
  CHECKF(eng_get_u32(&r, "layer count", &v) == ONYX_ERR_PARSE && r.pos == 4, "second u32 refused");
  CHECKF(msg_has("truncated: layer count at offset 4 needs 4 bytes, 2 left"), "message: %s",
        onyx_last_error());
  CHECKF(eng_get_bytes(&r, "blob", SIZE_MAX, &p) == ONYX_ERR_PARSE && r.pos == 4, "SIZE_MAX bytes refused");
  eng_reader_init(&r, NULL, 100);
  CHECKF(eng_reader_left(&r) == 0 && eng_get_u8(&r, "x", buf) == ONYX_ERR_PARSE, "a NULL buffer has no bytes");
}

static void test_codec_strings_and_counts(void)
{
  eng_writer w;
  eng_writer_init(&w);
  eng_put_string(&w, "NVIDIA H100");
  eng_put_u32(&w, 0xffffffffu); /* a hostile string length */
  eng_put_u32(&w, 3);
  eng_put_bytes(&w, "a\0b", 3);
  CHECKF(eng_writer_status(&w) == ONYX_OK, "writer");
  eng_reader r;
  char small[8], big[64], *s = NULL;
  eng_reader_init(&r, w.data, w.size);
  CHECKF(eng_get_string(&r, "GPU name", small, sizeof(small)) == ONYX_ERR_PARSE && r.pos == 0,
        "an 11-byte string does not fit 8 bytes");
  CHECKF(msg_has("GPU name at offset 0") && msg_has("longer than the 7-byte limit"), "message: %s",
        onyx_last_error());
  CHECKF(eng_get_string(&r, "GPU name", big, sizeof(big)) == ONYX_OK && strcmp(big, "NVIDIA H100") == 0,
        "string");
  size_t at = r.pos;
  CHECKF(eng_get_string_alloc(&r, "name", SIZE_MAX, &s) == ONYX_ERR_PARSE && s == NULL && r.pos == at,
        "a 4 GiB length in a small buffer is refused before allocating");
  CHECKF(msg_has("truncated: name"), "message: %s", onyx_last_error());
  CHECKF(eng_get_string_alloc(&r, "name", 2, &s) == ONYX_ERR_PARSE && msg_has("longer than the 2-byte limit"),
        "length limit: %s", onyx_last_error());
  r.pos += 4;
  CHECKF(eng_get_string_alloc(&r, "name", 100, &s) == ONYX_ERR_PARSE && msg_has("NUL byte"),
        "embedded NUL refused: %s", onyx_last_error());
  eng_writer_free(&w);

  eng_writer_init(&w);
  eng_put_string(&w, "ok");
  eng_reader_init(&r, w.data, w.size);
  CHECKF(eng_get_string_alloc(&r, "name", 100, &s) == ONYX_OK && strcmp(s, "ok") == 0, "allocated string");
  free(s);
  eng_writer_free(&w);

  /* Counts: refused against the limit and against the bytes left, before anything is allocated. */
  eng_writer_init(&w);
  eng_put_u32(&w, 0xffffffffu);
  eng_put_u32(&w, 3);
  eng_put_bytes(&w, "0123456789ab", 12);
  uint32_t n = 7;
  eng_reader_init(&r, w.data, w.size);
  CHECKF(eng_get_count(&r, "section count", 4, 1000, &n) == ONYX_ERR_PARSE && n == 7 && r.pos == 0,
        "huge count above the limit");
  CHECKF(msg_has("count 4294967295 is above the limit of 1000"), "message: %s", onyx_last_error());
  CHECKF(eng_get_count(&r, "section count", 1, UINT32_MAX, &n) == ONYX_ERR_PARSE && msg_has("needs at least"),
        "huge count against the bytes left: %s", onyx_last_error());
  r.pos = 4;
  CHECKF(eng_get_count(&r, "entries", 5, 100, &n) == ONYX_ERR_PARSE && r.pos == 4,
        "3 entries of 5 bytes do not fit 12 bytes");
  CHECKF(eng_get_count(&r, "entries", 4, 100, &n) == ONYX_OK && n == 3, "3 entries of 4 bytes fit 12 bytes");
  eng_writer_free(&w);
}

/* ---- container ---------------------------------------------------------- */

static eng_fingerprint sample_fp(void)
{
  eng_fingerprint fp;
  memset(&fp, 0, sizeof(fp));
  strcpy(fp.gpu_name, "NVIDIA H100 80GB HBM3");
  fp.cc_major = 9;
  fp.cc_minor = 0;
  fp.cuda_runtime = 12080;
  fp.cudnn = 91900;
  fp.cublaslt = 120804;
  strcpy(fp.precision, "fp16");
  strcpy(fp.build_options, "--opt-level 3 --workspace 1G");
  return fp;
}

#define N_SAMPLE 5
static const uint32_t sample_ids[N_SAMPLE] = {ENG_SECTION_LAYERS, ENG_SECTION_TENSORS, ENG_SECTION_WEIGHTS,
                                              ENG_SECTION_CUBINS, 77};
static const size_t sample_sizes[N_SAMPLE] = {100, 37, 1000, 0, 3};

static uint8_t sample_byte(int s, size_t i) { return (uint8_t)(i * 31 + (size_t)s * 7 + 1); }

static void sample_writer(eng_file_writer *w)
{
  eng_fingerprint fp = sample_fp();
  eng_file_writer_init(w, &fp);
  for (int s = 0; s < N_SAMPLE; s++) {
    uint8_t buf[1000];
    for (size_t i = 0; i < sample_sizes[s]; i++)
      buf[i] = sample_byte(s, i);
    onyx_status st = s == 2
                         ? eng_file_writer_add_owned(w, sample_ids[s], memcpy(malloc(1000), buf, 1000), 1000)
                         : eng_file_writer_add(w, sample_ids[s], buf, sample_sizes[s]);
    CHECKF(st == ONYX_OK, "add section %d: %s", s, onyx_last_error());
  }
}

static uint8_t *sample_file(size_t *size)
{
  eng_file_writer w;
  uint8_t *data = NULL;
  sample_writer(&w);
  CHECKF(eng_file_writer_serialize(&w, &data, size) == ONYX_OK, "serialize: %s", onyx_last_error());
  eng_file_writer_free(&w);
  return data;
}

/* f holds exactly the sample sections and fingerprint. */
static void check_sample(const eng_file *f)
{
  eng_fingerprint fp = sample_fp();
  char msg[256];
  CHECKF(!eng_fingerprint_differs(&f->fp, &fp, msg, sizeof(msg)), "fingerprint read back: %s", msg);
  CHECKF(strcmp(f->onyx_version, onyx_version_string()) == 0, "onyx version '%s'", f->onyx_version);
  CHECKF(f->version == ENG_FORMAT_VERSION && f->n_sections == N_SAMPLE, "version %u, %u sections", f->version,
        f->n_sections);
  for (int s = 0; s < N_SAMPLE; s++) {
    const uint8_t *p = NULL;
    size_t n = 0;
    CHECKF(eng_file_section(f, sample_ids[s], &p, &n) == ONYX_OK && n == sample_sizes[s],
          "section %d size %zu", s, n);
    int bad = 0;
    for (size_t i = 0; i < n; i++)
      bad += p[i] != sample_byte(s, i);
    CHECKF(bad == 0, "section %d: %d bytes differ", s, bad);
    CHECKF((p - f->data) % ENG_SECTION_ALIGN == 0, "section %d at offset %td is not aligned", s, p - f->data);
  }
  CHECKF(eng_file_has_section(f, ENG_SECTION_WEIGHTS) && !eng_file_has_section(f, ENG_SECTION_BINDINGS),
        "has");
  const uint8_t *p;
  size_t n;
  CHECKF(eng_file_section(f, ENG_SECTION_BINDINGS, &p, &n) == ONYX_ERR_PARSE &&
            msg_has("engine has no bindings section (id 5)"),
        "missing section: %s", onyx_last_error());
}

static void test_round_trip(void)
{
  size_t size;
  uint8_t *data = sample_file(&size);
  eng_file *f = NULL;
  CHECKF(eng_file_parse(data, size, &f) == ONYX_OK, "parse: %s", onyx_last_error());
  if (f) check_sample(f);
  CHECKF(size == f->sections[N_SAMPLE - 1].offset + 3, "no bytes after the last section");
  eng_file_free(f);
  free(data);

  /* No sections at all. */
  eng_file_writer w;
  eng_file_writer_init(&w, NULL);
  CHECKF(eng_file_writer_serialize(&w, &data, &size) == ONYX_OK, "empty: %s", onyx_last_error());
  CHECKF(eng_file_parse(data, size, &f) == ONYX_OK && f->n_sections == 0 && f->fp.gpu_name[0] == 0,
        "empty engine: %s", onyx_last_error());
  eng_file_free(f);
  eng_file_writer_free(&w);
  free(data);
}

static void test_writer_refusals(void)
{
  eng_file_writer w;
  eng_fingerprint fp = sample_fp();
  eng_file_writer_init(&w, &fp);
  CHECKF(eng_file_writer_add(&w, 0, "x", 1) == ONYX_ERR_INVALID_ARG && msg_has("id 0"), "id 0");
  CHECKF(eng_file_writer_add(&w, 3, "x", 1) == ONYX_OK, "add");
  CHECKF(eng_file_writer_add(&w, 3, "y", 1) == ONYX_ERR_INVALID_ARG &&
            msg_has("section 3 (weights) added twice"),
        "duplicate: %s", onyx_last_error());
  CHECKF(eng_file_writer_add_owned(&w, 3, malloc(10), 10) == ONYX_ERR_INVALID_ARG,
        "owned buffer freed on failure");
  memset(w.fp.precision, 'x', sizeof(w.fp.precision));
  uint8_t *data = NULL;
  size_t size = 1;
  CHECKF(eng_file_writer_serialize(&w, &data, &size) == ONYX_ERR_INVALID_ARG && data == NULL && size == 0 &&
            msg_has("precision is not NUL-terminated"),
        "unterminated fingerprint string: %s", onyx_last_error());
  eng_file_writer_free(&w);
}

/* Parses data[0..size) from an exactly-sized copy; true when refused with status st (any error if
 * st is ONYX_OK) and, when want is given, a message holding want. */
static int refused(const uint8_t *data, size_t size, onyx_status st, const char *want)
{
  eng_file *f = NULL;
  onyx_clear_error();
  onyx_status got = eng_file_parse(data, size, &f);
  if (got == ONYX_OK) {
    eng_file_free(f);
    return 0;
  }
  if (f != NULL || onyx_last_error()[0] == '\0') return 0;
  if (st != ONYX_OK && got != st) return 0;
  return !want || msg_has(want);
}

static void test_truncation(void)
{
  size_t size;
  uint8_t *data = sample_file(&size);
  int accepted = 0;
  for (size_t n = 0; n < size; n++) {
    uint8_t *prefix = malloc(n ? n : 1); /* exact size: ASan catches any read past the prefix */
    memcpy(prefix, data, n);
    if (!refused(prefix, n, ONYX_ERR_PARSE, "truncated")) {
      accepted++;
      if (accepted < 5) fprintf(stderr, "prefix of %zu bytes: %s\n", n, onyx_last_error());
    }
    free(prefix);
  }
  CHECKF(accepted == 0, "%d of %zu prefixes were not refused as truncated", accepted, size);
  free(data);
}

static void test_corruption(void)
{
  size_t size;
  uint8_t *data = sample_file(&size);
  int accepted = 0;
  static const uint8_t flips[] = {0x01, 0x80, 0xff};
  for (size_t i = 0; i < size; i++) {
    for (size_t k = 0; k < sizeof(flips); k++) {
      data[i] ^= flips[k];
      if (!refused(data, size, ONYX_OK, NULL)) {
        accepted++;
        fprintf(stderr, "byte %zu ^ 0x%02x was accepted\n", i, flips[k]);
      }
      data[i] ^= flips[k];
    }
  }
  CHECKF(accepted == 0, "%d of %zu single-byte corruptions were accepted", accepted, 3 * size);
  CHECKF(refused(data, size, ONYX_OK, NULL) == 0, "the original still parses");
  free(data);
}

/* A valid file to patch, with the header checksum recomputed afterwards so that only the checks after it
 * can refuse. */
typedef struct image {
  uint8_t *d;
  size_t n;
  uint32_t header_size, n_sections;
} image;

static image image_new(void)
{
  image im;
  im.d = sample_file(&im.n);
  im.header_size = rd32(im.d + 12);
  im.n_sections = N_SAMPLE;
  return im;
}

static uint8_t *entry(image *im, uint32_t i)
{
  return im->d + im->header_size - 4 - (im->n_sections - i) * 24;
}

static void fix_crc(image *im)
{
  wr32(im->d + im->header_size - 4, (uint32_t)crc32(0, im->d, im->header_size - 4));
}

/* Refused after patch() and a fixed header crc, with a message holding want. */
static void check_crafted(const char *what, void (*patch)(image *), onyx_status st, const char *want)
{
  image im = image_new();
  patch(&im);
  fix_crc(&im);
  CHECKF(refused(im.d, im.n, st, want), "%s: got '%s', wanted '%s'", what, onyx_last_error(), want);
  free(im.d);
}

static void p_outside(image *im) { wr64(entry(im, 1) + 4, im->n + 256); }
static void p_huge_size(image *im) { wr64(entry(im, 2) + 12, UINT64_MAX); }
static void p_wrap(image *im)
{
  wr64(entry(im, 2) + 4, UINT64_MAX - 255);
  wr64(entry(im, 2) + 12, 1024);
}
static void p_overlap(image *im) { memcpy(entry(im, 1) + 4, entry(im, 0) + 4, 8); }
static void p_gap(image *im) { wr64(entry(im, 0) + 4, rd32(entry(im, 0) + 4) + 256); }
static void p_duplicate(image *im) { wr32(entry(im, 1), ENG_SECTION_LAYERS); }
static void p_id0(image *im) { wr32(entry(im, 4), 0); }
static void p_crc(image *im) { wr32(entry(im, 2) + 20, rd32(entry(im, 2) + 20) ^ 1); }
static void p_count_huge(image *im) { wr32(entry(im, 0) - 4, 0xffffffffu); }
static void p_count_over(image *im) { wr32(entry(im, 0) - 4, 4000); }
static void p_count_less(image *im) { wr32(entry(im, 0) - 4, N_SAMPLE - 1); }
static void p_count_more(image *im) { wr32(entry(im, 0) - 4, N_SAMPLE + 1); }
static void p_file_size(image *im) { wr64(im->d + 16, im->n - 1); }
static void p_version_len(image *im) { wr32(im->d + 24, 0xffffffffu); }
static void p_gpu_nul(image *im) { im->d[24 + 4 + rd32(im->d + 24) + 4 + 3] = 0; }
static void p_padding(image *im) { im->d[im->header_size] = 1; }
static void p_last_section(image *im) /* shrink the last section by one byte, with a matching crc */
{
  uint8_t *e = entry(im, 4);
  wr64(e + 12, 2);
  wr32(e + 20, (uint32_t)crc32(0, im->d + rd32(e + 4), 2));
}

static void test_crafted(void)
{
  image im = image_new();
  CHECKF(rd32(entry(&im, 0) + 4) > im.header_size, "the sample has padding after its header");
  free(im.d);
  check_crafted("outside", p_outside, ONYX_ERR_PARSE, "section 1 (tensors) at offset");
  check_crafted("outside", p_outside, ONYX_ERR_PARSE, "lies outside the");
  check_crafted("huge size", p_huge_size, ONYX_ERR_PARSE, "section 2 (weights) at offset");
  check_crafted("wrapping", p_wrap, ONYX_ERR_PARSE, "lies outside");
  check_crafted("overlap", p_overlap, ONYX_ERR_PARSE,
                "section 1 (tensors) at offset 256 overlaps what precedes it (ends at 356)");
  check_crafted("gap", p_gap, ONYX_ERR_PARSE, "(the next 256-byte boundary)");
  check_crafted("duplicate id", p_duplicate, ONYX_ERR_PARSE, "sections 0 and 1 both have id 1 (layers)");
  check_crafted("id 0", p_id0, ONYX_ERR_PARSE, "section 4 has the reserved id 0");
  check_crafted("section crc", p_crc, ONYX_ERR_PARSE, "section 2 (weights) is corrupt");
  check_crafted("huge count", p_count_huge, ONYX_ERR_PARSE, "count 4294967295 is above the limit");
  check_crafted("count over bytes", p_count_over, ONYX_ERR_PARSE, "count 4000 needs at least 96000 bytes");
  check_crafted("count too small", p_count_less, ONYX_ERR_PARSE,
                "24 unexpected bytes after the section table");
  check_crafted("count too large", p_count_more, ONYX_ERR_PARSE, "section count");
  check_crafted("file size", p_file_size, ONYX_ERR_PARSE, "trailing bytes");
  check_crafted("version length", p_version_len, ONYX_ERR_PARSE, "onyx version at offset 24");
  check_crafted("GPU name NUL", p_gpu_nul, ONYX_ERR_PARSE, "GPU name at offset");
  check_crafted("padding", p_padding, ONYX_ERR_PARSE, "is not zero");
  check_crafted("after last", p_last_section, ONYX_ERR_PARSE, "1 unexpected bytes after the last section");
}

static void test_prefix_refusals(void)
{
  size_t size;
  uint8_t *data = sample_file(&size);
  uint8_t *copy = malloc(size + 8);
  char want[128];

  memcpy(copy, data, size);
  copy[0] = 'X';
  CHECKF(refused(copy, size, ONYX_ERR_PARSE, "not an onyx engine"), "magic: %s", onyx_last_error());
  CHECKF(refused((const uint8_t *)"ONYXENG", 7, ONYX_ERR_PARSE, "truncated: magic at offset 0"), "7 bytes: %s",
        onyx_last_error());

  memcpy(copy, data, size);
  wr32(copy + 8, ENG_FORMAT_VERSION + 2);
  snprintf(want, sizeof(want), "engine format %u is newer than this onyx (reads up to %u)",
           ENG_FORMAT_VERSION + 2, ENG_FORMAT_VERSION);
  CHECKF(refused(copy, size, ONYX_ERR_UNSUPPORTED, want), "newer: '%s'", onyx_last_error());
  /* A newer file is refused by its version even when its layout would be unreadable. */
  CHECKF(refused(copy, 12, ONYX_ERR_UNSUPPORTED, want), "newer, short: '%s'", onyx_last_error());
  wr32(copy + 8, 0);
  CHECKF(refused(copy, size, ONYX_ERR_PARSE, "version 0 is invalid"), "version 0: %s", onyx_last_error());

  memcpy(copy, data, size);
  wr32(copy + 12, 10);
  CHECKF(refused(copy, size, ONYX_ERR_PARSE, "header size 10 is outside"), "small header: %s",
        onyx_last_error());
  wr32(copy + 12, 0xffffffffu);
  CHECKF(refused(copy, size, ONYX_ERR_PARSE, "header size 4294967295 is outside"), "huge header: %s",
        onyx_last_error());
  wr32(copy + 12, (uint32_t)size + 1);
  CHECKF(refused(copy, size, ONYX_ERR_PARSE, "truncated: the header is"), "header past end: %s",
        onyx_last_error());

  memcpy(copy, data, size);
  copy[40] ^= 4;
  CHECKF(refused(copy, size, ONYX_ERR_PARSE, "header is corrupt: crc32"), "header crc: %s", onyx_last_error());

  memcpy(copy, data, size);
  memset(copy + size, 0, 8);
  CHECKF(refused(copy, size + 8, ONYX_ERR_PARSE, "trailing bytes: the file is"), "trailing: %s",
        onyx_last_error());
  CHECKF(refused(NULL, 0, ONYX_ERR_PARSE, "truncated"), "empty: %s", onyx_last_error());
  free(copy);
  free(data);
}

/* ---- fingerprints ------------------------------------------------------- */

static void check_diff(const eng_fingerprint *e, const eng_fingerprint *h, const char *want)
{
  char msg[512];
  int differs = eng_fingerprint_differs(e, h, msg, sizeof(msg));
  if (!want) {
    CHECKF(!differs && msg[0] == 0, "expected no difference, got '%s'", msg);
  } else {
    CHECKF(differs && strcmp(msg, want) == 0, "got '%s', wanted '%s'", msg, want);
  }
}

static void test_fingerprint(void)
{
  eng_fingerprint e = sample_fp(), h = sample_fp();
  check_diff(&e, &h, NULL);
  CHECKF(eng_fingerprint_check(&e, &h) == ONYX_OK, "check on a match");

  h.precision[0] = h.build_options[0] = 0; /* a runtime describes its system, not a build */
  check_diff(&e, &h, NULL);

  strcpy(e.gpu_name, "NVIDIA H100");
  strcpy(h.gpu_name, "NVIDIA H200");
  check_diff(&e, &h, "engine was built for NVIDIA H100 (sm_90), this GPU is NVIDIA H200 (sm_90)");
  strcpy(h.gpu_name, "NVIDIA H100");
  h.cc_major = 8;
  h.cc_minor = 6;
  check_diff(&e, &h, "engine was built for NVIDIA H100 (sm_90), this GPU is NVIDIA H100 (sm_86)");

  h = e;
  h.cudnn = 91400;
  check_diff(&e, &h, "cuDNN 9.19.0 vs 9.14.0 here");
  h.cudnn = 8907;
  check_diff(&e, &h, "cuDNN 9.19.0 vs 8.9.7 here");
  h.cudnn = 0;
  check_diff(&e, &h, "cuDNN 9.19.0 vs none here");

  h = e;
  h.cuda_runtime = 12040;
  check_diff(&e, &h, "CUDA runtime 12.8 vs 12.4 here");
  h = e;
  h.cublaslt = 120201;
  check_diff(&e, &h, "cuBLASLt 12.8.4 vs 12.2.1 here");
  h = e;
  strcpy(h.precision, "fp32");
  check_diff(&e, &h, "precision fp16 vs fp32 here");
  h = e;
  strcpy(h.build_options, "--opt-level 2");
  check_diff(&e, &h, "build options '--opt-level 3 --workspace 1G' vs '--opt-level 2' here");

  h = e;
  strcpy(h.gpu_name, "NVIDIA H200");
  h.cudnn = 91400;
  h.cublaslt = 120900;
  check_diff(
      &e, &h,
      "engine was built for NVIDIA H100 (sm_90), this GPU is NVIDIA H200 (sm_90); cuDNN 9.19.0 vs 9.14.0 "
      "here; cuBLASLt 12.8.4 vs 12.9.0 here");
  CHECKF(eng_fingerprint_check(&e, &h) == ONYX_ERR_UNSUPPORTED &&
            msg_has("engine does not match this system: engine was built for NVIDIA H100") &&
            msg_has("cuBLASLt 12.8.4 vs 12.9.0 here"),
        "check: %s", onyx_last_error());

  char tiny[12];
  memset(tiny, 'z', sizeof(tiny));
  CHECKF(eng_fingerprint_differs(&e, &h, tiny, sizeof(tiny)) && strnlen(tiny, sizeof(tiny)) < sizeof(tiny),
        "a short buffer is still terminated");
  CHECKF(eng_fingerprint_differs(&e, &h, NULL, 0), "no buffer");
}

/* ---- files -------------------------------------------------------------- */

/* Names in dir other than "." and ".." that contain part. */
static int count_names(const char *dir, const char *part)
{
  int n = 0;
  DIR *d = opendir(dir);
  if (!d) return -1;
  for (struct dirent *e; (e = readdir(d));)
    n += strstr(e->d_name, part) != NULL;
  closedir(d);
  return n;
}

static void test_files(const char *scratch)
{
  char dir[512], path[600], bad_path[600];
  snprintf(dir, sizeof(dir), "%s/engine_test_XXXXXX", scratch);
  if (!mkdtemp(dir)) {
    CHECKF(0, "cannot create a directory under %s", scratch);
    return;
  }
  snprintf(path, sizeof(path), "%s/model.engine", dir);

  eng_file_writer w;
  eng_file *f = NULL;
  sample_writer(&w);
  CHECKF(eng_file_writer_write(&w, path) == ONYX_OK, "write: %s", onyx_last_error());
  CHECKF(eng_file_load(path, &f) == ONYX_OK, "load: %s", onyx_last_error());
  if (f) check_sample(f);
  eng_file_free(f);
  CHECKF(count_names(dir, ".tmp.") == 0, "no temporary file is left behind");

  /* Overwriting replaces the file whole. */
  eng_file_writer w2;
  eng_file_writer_init(&w2, NULL);
  CHECKF(eng_file_writer_add(&w2, 9, "new", 3) == ONYX_OK, "add");
  CHECKF(eng_file_writer_write(&w2, path) == ONYX_OK, "overwrite: %s", onyx_last_error());
  CHECKF(eng_file_load(path, &f) == ONYX_OK && f->n_sections == 1 && f->sections[0].id == 9, "reload: %s",
        onyx_last_error());
  eng_file_free(f);
  eng_file_writer_free(&w2);

  /* A truncated file on disk: refused, and the message names the path. */
  struct stat sb;
  CHECKF(stat(path, &sb) == 0 && truncate(path, sb.st_size - 1) == 0, "truncate");
  CHECKF(eng_file_load(path, &f) == ONYX_ERR_PARSE && f == NULL && msg_has("engine file '") &&
            msg_has("model.engine': truncated"),
        "truncated file: %s", onyx_last_error());

  snprintf(bad_path, sizeof(bad_path), "%s/no/such/dir/model.engine", dir);
  CHECKF(eng_file_writer_write(&w, bad_path) == ONYX_ERR_IO && msg_has("no/such/dir/model.engine.tmp."),
        "write into a missing directory: %s", onyx_last_error());
  CHECKF(eng_file_load(bad_path, &f) == ONYX_ERR_IO && msg_has("no/such/dir/model.engine"), "load missing: %s",
        onyx_last_error());
  CHECKF(eng_file_load(dir, &f) == ONYX_ERR_IO && msg_has("is a directory"), "load a directory: %s",
        onyx_last_error());
  eng_file_writer_free(&w);

  unlink(path);
  CHECKF(rmdir(dir) == 0, "scratch directory left empty");
}

int main(int argc, char **argv)
{
  const char *scratch = argc > 1 ? argv[1] : "/tmp";
  test_codec_encoding();
  test_codec_round_trip();
  test_codec_past_end();
  test_codec_strings_and_counts();
  test_round_trip();
  test_writer_refusals();
  test_truncation();
  test_corruption();
  test_crafted();
  test_prefix_refusals();
  test_fingerprint();
  test_files(scratch);
  return check_summary(argv[0]);
}
