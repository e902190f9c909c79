/* JPEG/PNG decoding and ImageNet preprocessing.  See image.h.
 *
 * stb_image decodes; before it runs we check the file's structure ourselves,
 * because stb_image accepts some truncated files (a JPEG cut in its entropy-
 * coded data decodes as grey) and guesses formats without a magic number
 * (any bytes may "be" a TGA).  So: JPEG or PNG magic, segments/chunks walked
 * to EOI/IEND within the file, dimensions checked, only then decode. */
#include "io/image.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "common/util.h"
#include "vision/prep.h"

void image_free(image_rgb *im)
{
  if (!im) return;
  free(im->px);
  im->px = NULL;
  im->w = im->h = 0;
}

static uint32_t be16(const unsigned char *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Huffman tables defined by a DHT segment (seg: its payload, n bytes): bit
 * 4*class + id of *defined set for each complete table. */
static void jpeg_dht_tables(const unsigned char *seg, size_t n, unsigned *defined)
{
  size_t k = 0;
  while (n - k >= 17) {
    unsigned tc = seg[k] >> 4, th = seg[k] & 15;
    size_t count = 0;
    for (int l = 1; l <= 16; l++) count += seg[k + l];
    if (tc > 1 || th > 3 || count > n - k - 17) return; /* malformed: stb_image refuses it */
    *defined |= 1u << (4 * tc + th);
    k += 17 + count;
  }
}

/* Whether every Huffman table that a scan header (SOS payload, n bytes) uses
 * has been defined: stb_image decodes with an undefined table's uninitialised
 * memory (found by fuzz_image).  Baseline scans use a DC and an AC table per
 * component; progressive ones the DC table in a first DC scan (Ss = 0, Ah =
 * 0) and the AC table in AC scans (Ss > 0). */
static bool jpeg_scan_tables_defined(const unsigned char *seg, size_t n, bool progressive, unsigned defined)
{
  if (n < 1 || n < 1 + 2 * (size_t)seg[0] + 3) return true; /* malformed: stb_image refuses it */
  size_t ns = seg[0];
  unsigned ss = seg[1 + 2 * ns], ah = seg[3 + 2 * ns] >> 4;
  bool dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss > 0;
  for (size_t c = 0; c < ns; c++) {
    unsigned td = seg[2 + 2 * c] >> 4, ta = seg[2 + 2 * c] & 15;
    if (dc && (td > 3 || !(defined >> td & 1))) return false;
    if (ac && (ta > 3 || !(defined >> (4 + ta) & 1))) return false;
  }
  return true;
}

/* Walks JPEG markers from SOI to EOI, skipping entropy-coded data after each
 * SOS; *w, *h from the first frame header (SOFn), 0 if none. */
static onyx_status check_jpeg(const unsigned char *b, size_t size, const char *name, uint32_t *w, uint32_t *h)
{
  size_t i = 2;
  unsigned tables = 0; /* Huffman tables defined so far */
  bool progressive = false;
  *w = *h = 0;
  while (i < size) {
    if (b[i] != 0xff)
      return onyx_error(ONYX_ERR_PARSE, "'%s': corrupt JPEG (expected a marker at byte %zu)", name, i);
    while (i < size && b[i] == 0xff) i++; /* fill bytes */
    if (i >= size) break;
    unsigned m = b[i++];
    if (m == 0xd9) return ONYX_OK;                       /* EOI */
    if ((m >= 0xd0 && m <= 0xd7) || m == 0x01) continue; /* RSTn, TEM: no length */
    if (m == 0x00 || m == 0xd8)
      return onyx_error(ONYX_ERR_PARSE, "'%s': corrupt JPEG (marker 0x%02x at byte %zu)", name, m, i - 1);
    if (size - i < 2) break;
    size_t len = be16(b + i);
    if (len < 2) return onyx_error(ONYX_ERR_PARSE, "'%s': corrupt JPEG (segment length %zu)", name, len);
    if (len > size - i) break;
    bool sof = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
    if (sof && len >= 7 && !*w && !*h) {
      *h = be16(b + i + 3);
      *w = be16(b + i + 5);
      progressive = m == 0xc2 || m == 0xc6 || m == 0xca || m == 0xce;
    }
    if (m == 0xc4) jpeg_dht_tables(b + i + 2, len - 2, &tables);
    if (m == 0xda && !jpeg_scan_tables_defined(b + i + 2, len - 2, progressive, tables))
      return onyx_error(ONYX_ERR_PARSE, "'%s': corrupt JPEG (a scan at byte %zu uses a Huffman table that is not defined)",
                        name, i - 2);
    i += len;
    if (m == 0xda) { /* SOS: entropy-coded data runs to the next real marker */
      while (i + 1 < size && !(b[i] == 0xff && b[i + 1] != 0x00 && !(b[i + 1] >= 0xd0 && b[i + 1] <= 0xd7)))
        i++;
      if (i + 1 >= size) break;
    }
  }
  return onyx_error(ONYX_ERR_PARSE, "'%s': truncated JPEG (the file ends before its end-of-image marker)",
                    name);
}

/* Walks PNG chunks to IEND; *w, *h from IHDR, which must come first. */
static onyx_status check_png(const unsigned char *b, size_t size, const char *name, uint32_t *w, uint32_t *h)
{
  size_t i = 8;
  *w = *h = 0;
  if (size >= 24 && !memcmp(b + 12, "IHDR", 4)) {
    *w = be32(b + 16);
    *h = be32(b + 20);
  }
  while (size - i >= 12) {
    uint32_t len = be32(b + i);
    if (len > 0x7fffffffu)
      return onyx_error(ONYX_ERR_PARSE, "'%s': corrupt PNG (chunk length %u)", name, len);
    if ((uint64_t)len + 12 > size - i) break;
    if (!memcmp(b + i + 4, "IEND", 4)) return ONYX_OK;
    i += (size_t)len + 12;
  }
  return onyx_error(ONYX_ERR_PARSE, "'%s': truncated PNG (the file ends before its IEND chunk)", name);
}

onyx_status image_decode(const void *buf, size_t size, const char *name, image_rgb *out)
{
  if (!out || (!buf && size)) return onyx_error(ONYX_ERR_INVALID_ARG, "image_decode: NULL argument");
  memset(out, 0, sizeof(*out));
  if (!name) name = "(memory)";
  const unsigned char *b = buf;
  static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  uint32_t hw, hh; /* dimensions from the header, checked before stb_image sees them */
  if (size >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) {
    ONYX_TRY(check_jpeg(b, size, name, &hw, &hh));
  } else if (size >= 8 && !memcmp(b, png_sig, 8)) {
    ONYX_TRY(check_png(b, size, name, &hw, &hh));
  } else {
    return onyx_error(ONYX_ERR_PARSE, "'%s' is not a JPEG or PNG image", name);
  }
  if (hw > IMAGE_MAX_SIDE || hh > IMAGE_MAX_SIDE || (uint64_t)hw * hh > IMAGE_MAX_PIXELS)
    return onyx_error(ONYX_ERR_UNSUPPORTED,
                      "'%s': %ux%u pixels is too large (limits: %d per side, %d in all)", name, hw, hh,
                      IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS);
  if (!hw || !hh)
    return onyx_error(ONYX_ERR_PARSE, "'%s': %s", name,
                      hw || hh ? "the image has a zero dimension" : "no image header (size) found");
  if (size > IMAGE_MAX_FILE)
    return onyx_error(ONYX_ERR_PARSE, "'%s': %zu bytes is more than the %u-byte image limit", name, size,
                      IMAGE_MAX_FILE);
  int w, h, comp;
  if (!stbi_info_from_memory(b, (int)size, &w, &h, &comp))
    return onyx_error(ONYX_ERR_PARSE, "'%s': cannot read the image header (%s)", name, stbi_failure_reason());
  if (w <= 0 || h <= 0 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || (int64_t)w * h > IMAGE_MAX_PIXELS)
    return onyx_error(ONYX_ERR_UNSUPPORTED,
                      "'%s': %dx%d pixels is too large (limits: %d per side, %d in all)", name, w, h,
                      IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS);
  unsigned char *px = stbi_load_from_memory(b, (int)size, &w, &h, &comp, 3);
  if (!px)
    return onyx_error(ONYX_ERR_PARSE, "'%s': cannot decode the image (%s)", name, stbi_failure_reason());
  /* Own the pixels with malloc so that callers free them like everything else. */
  size_t n = (size_t)w * (size_t)h * 3;
  out->px = onyx_malloc(n);
  if (!out->px) {
    stbi_image_free(px);
    return ONYX_ERR_NO_MEMORY;
  }
  memcpy(out->px, px, n);
  stbi_image_free(px);
  out->w = w;
  out->h = h;
  return ONYX_OK;
}

onyx_status image_load(const char *path, image_rgb *out)
{
  if (!path || !out) return onyx_error(ONYX_ERR_INVALID_ARG, "image_load: NULL argument");
  memset(out, 0, sizeof(*out));
  void *buf;
  size_t size;
  ONYX_TRY(onyx_read_file(path, IMAGE_MAX_FILE, &buf, &size));
  onyx_status st = image_decode(buf, size, path, out);
  free(buf);
  return st;
}

/* ---- resizing ------------------------------------------------------------ */

/* Fixed-point weights with 22 fractional bits: an 8-bit pixel times a weight
 * summed over a window still fits in 32 bits. */
#define RS_BITS 22

/* One axis of a separable resize: for output i, taps [first[i], first[i] + count[i])
 * with integer weights w[i * max_taps + k]. */
typedef struct resample_axis {
  int max_taps;
  int *first, *count;
  int32_t *w;
} resample_axis;

static void axis_free(resample_axis *a)
{
  free(a->first);
  free(a->count);
  free(a->w);
}

static double triangle(double x)
{
  x = fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

/* Output pixel i covers the input interval centred at (i + 0.5) * scale.
 * When shrinking, the triangle is stretched by the scale so that every input
 * pixel contributes (antialiasing); when enlarging it stays one pixel wide. */
static onyx_status axis_init(resample_axis *a, int in, int out)
{
  memset(a, 0, sizeof(*a));
  double scale = (double)in / out, fscale = scale > 1.0 ? scale : 1.0, support = fscale;
  a->max_taps = (int)ceil(support) * 2 + 1;
  a->first = onyx_malloc(sizeof(*a->first) * (size_t)out);
  a->count = onyx_malloc(sizeof(*a->count) * (size_t)out);
  a->w = onyx_malloc(sizeof(*a->w) * (size_t)out * (size_t)a->max_taps);
  double *wd = onyx_malloc(sizeof(*wd) * (size_t)a->max_taps);
  if (!a->first || !a->count || !a->w || !wd) {
    free(wd);
    axis_free(a);
    return ONYX_ERR_NO_MEMORY;
  }
  for (int i = 0; i < out; i++) {
    double centre = (i + 0.5) * scale;
    int lo = (int)(centre - support + 0.5), hi = (int)(centre + support + 0.5);
    if (lo < 0) lo = 0;
    if (hi > in) hi = in;
    int n = hi - lo;
    if (n > a->max_taps) n = a->max_taps;
    double sum = 0;
    for (int k = 0; k < n; k++) sum += wd[k] = triangle((lo + k - centre + 0.5) / fscale);
    int32_t *wi = a->w + (size_t)i * (size_t)a->max_taps;
    for (int k = 0; k < n; k++) {
      double v = sum > 0 ? wd[k] / sum : 0;
      wi[k] = (int32_t)floor(v * (1 << RS_BITS) + 0.5);
    }
    a->first[i] = lo;
    a->count[i] = n;
  }
  free(wd);
  return ONYX_OK;
}

static unsigned char clamp_u8(int64_t v) { return v < 0 ? 0 : v > 255 ? 255 : (unsigned char)v; }

onyx_status image_resize_bilinear(const image_rgb *in, int out_w, int out_h, image_rgb *out)
{
  if (!in || !out || !in->px || in->w <= 0 || in->h <= 0 || out_w <= 0 || out_h <= 0 ||
      out_w > IMAGE_MAX_SIDE || out_h > IMAGE_MAX_SIDE || (int64_t)out_w * out_h > IMAGE_MAX_PIXELS)
    return onyx_error(ONYX_ERR_INVALID_ARG, "image_resize_bilinear: bad sizes");
  memset(out, 0, sizeof(*out));
  resample_axis ax, ay;
  unsigned char *tmp = NULL, *dst = NULL;
  onyx_status st = axis_init(&ax, in->w, out_w);
  if (st != ONYX_OK) return st;
  st = axis_init(&ay, in->h, out_h);
  if (st != ONYX_OK) goto out_ax;
  tmp = onyx_malloc((size_t)out_w * (size_t)in->h * 3);
  dst = onyx_malloc((size_t)out_w * (size_t)out_h * 3);
  if (!tmp || !dst) {
    st = ONYX_ERR_NO_MEMORY;
    goto out_buf;
  }
  const int64_t half = (int64_t)1 << (RS_BITS - 1);
  /* Horizontal pass: in->w x in->h -> out_w x in->h, rounded to 8 bits. */
  for (int y = 0; y < in->h; y++) {
    const unsigned char *row = in->px + (size_t)y * (size_t)in->w * 3;
    unsigned char *trow = tmp + (size_t)y * (size_t)out_w * 3;
    for (int x = 0; x < out_w; x++) {
      const int32_t *w = ax.w + (size_t)x * (size_t)ax.max_taps;
      const unsigned char *p = row + (size_t)ax.first[x] * 3;
      int64_t r = half, g = half, b = half;
      for (int k = 0; k < ax.count[x]; k++, p += 3) {
        r += (int64_t)p[0] * w[k];
        g += (int64_t)p[1] * w[k];
        b += (int64_t)p[2] * w[k];
      }
      trow[3 * x] = clamp_u8(r >> RS_BITS);
      trow[3 * x + 1] = clamp_u8(g >> RS_BITS);
      trow[3 * x + 2] = clamp_u8(b >> RS_BITS);
    }
  }
  /* Vertical pass: out_w x in->h -> out_w x out_h. */
  size_t stride = (size_t)out_w * 3;
  for (int y = 0; y < out_h; y++) {
    const int32_t *w = ay.w + (size_t)y * (size_t)ay.max_taps;
    unsigned char *drow = dst + (size_t)y * stride;
    for (size_t x = 0; x < stride; x++) {
      const unsigned char *p = tmp + (size_t)ay.first[y] * stride + x;
      int64_t acc = half;
      for (int k = 0; k < ay.count[y]; k++, p += stride) acc += (int64_t)*p * w[k];
      drow[x] = clamp_u8(acc >> RS_BITS);
    }
  }
  out->w = out_w;
  out->h = out_h;
  out->px = dst;
  dst = NULL;
out_buf:
  free(tmp);
  free(dst);
  axis_free(&ay);
out_ax:
  axis_free(&ax);
  return st;
}

/* ---- ImageNet preprocessing -------------------------------------------- */

/* One path with the image pipeline: a center_crop plan (src/vision/prep.h)
 * with the ImageNet mean/std in gray levels. */
onyx_status image_imagenet_tensor(const image_rgb *im, int crop_h, int crop_w, float *dst)
{
  static const float mean[3] = {0.485f * 255.0f, 0.456f * 255.0f, 0.406f * 255.0f},
                     inv_std[3] = {1.0f / (0.229f * 255.0f), 1.0f / (0.224f * 255.0f), 1.0f / (0.225f * 255.0f)};
  if (!im || !im->px || !dst || crop_h <= 0 || crop_w <= 0 || crop_h > 8192 || crop_w > 8192)
    return onyx_error(ONYX_ERR_INVALID_ARG, "image_imagenet_tensor: bad arguments (crop %dx%d)", crop_h,
                      crop_w);
  prep_plan p;
  ONYX_TRY(prep_plan_make(PREP_CENTER_CROP, im->w, im->h, crop_w, crop_h, mean, inv_std, 0.0f, &p));
  return prep_apply(&p, im, dst);
}
