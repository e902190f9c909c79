/* .npy read/write and raw .bin read.  See npy.h.
 *
 * The .npy header is a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }
 * followed by spaces and a newline.  Rather than evaluating Python we accept
 * exactly that grammar: the three keys once each, string/bool/int-tuple
 * values, optional trailing commas, whitespace anywhere between tokens. */
#include "io/npy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "onyx's .npy code assumes a little-endian host"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_MAX_HEADER 65536u
#define NPY_MAX_FILE ((size_t)1 << 36)

static const struct {
  char kind; /* numpy kind letter */
  int size;
  onyx_dtype dtype;
} npy_types[] = {
    {'f', 4, ONYX_DTYPE_FLOAT},  {'f', 8, ONYX_DTYPE_DOUBLE}, {'f', 2, ONYX_DTYPE_FLOAT16},
    {'i', 8, ONYX_DTYPE_INT64},  {'i', 4, ONYX_DTYPE_INT32},  {'i', 2, ONYX_DTYPE_INT16},
    {'i', 1, ONYX_DTYPE_INT8},   {'u', 1, ONYX_DTYPE_UINT8},  {'u', 2, ONYX_DTYPE_UINT16},
    {'u', 4, ONYX_DTYPE_UINT32}, {'u', 8, ONYX_DTYPE_UINT64}, {'b', 1, ONYX_DTYPE_BOOL},
};

void npy_array_free(npy_array *a)
{
  if (!a) return;
  free(a->data);
  a->data = NULL;
  a->nbytes = 0;
}

const char *npy_descr(onyx_dtype dtype)
{
  switch (dtype) {
  case ONYX_DTYPE_FLOAT: return "<f4";
  case ONYX_DTYPE_DOUBLE: return "<f8";
  case ONYX_DTYPE_FLOAT16: return "<f2";
  case ONYX_DTYPE_INT64: return "<i8";
  case ONYX_DTYPE_INT32: return "<i4";
  case ONYX_DTYPE_INT16: return "<i2";
  case ONYX_DTYPE_INT8: return "|i1";
  case ONYX_DTYPE_UINT8: return "|u1";
  case ONYX_DTYPE_UINT16: return "<u2";
  case ONYX_DTYPE_UINT32: return "<u4";
  case ONYX_DTYPE_UINT64: return "<u8";
  case ONYX_DTYPE_BOOL: return "|b1";
  default: return NULL;
  }
}

/* ---- header parsing ----------------------------------------------------- */

typedef struct hdr_parser {
  const char *p, *end;
  const char *name; /* file name for messages */
} hdr_parser;

static void skip_ws(hdr_parser *hp)
{
  while (hp->p < hp->end && (*hp->p == ' ' || *hp->p == '\t' || *hp->p == '\n' || *hp->p == '\r')) hp->p++;
}

static onyx_status hdr_fail(const hdr_parser *hp, const char *what)
{
  return onyx_error(ONYX_ERR_PARSE, "'%s': bad .npy header: %s", hp->name, what);
}

static bool accept(hdr_parser *hp, char c)
{
  skip_ws(hp);
  if (hp->p < hp->end && *hp->p == c) {
    hp->p++;
    return true;
  }
  return false;
}

/* A quoted string without escapes into buf. */
static onyx_status parse_string(hdr_parser *hp, char *buf, size_t cap, const char *what)
{
  skip_ws(hp);
  if (hp->p >= hp->end || (*hp->p != '\'' && *hp->p != '"')) {
    char msg[96];
    snprintf(msg, sizeof(msg), "expected a quoted string for %s", what);
    return hdr_fail(hp, msg);
  }
  char q = *hp->p++;
  size_t n = 0;
  while (hp->p < hp->end && *hp->p != q) {
    unsigned char c = (unsigned char)*hp->p;
    if (c == '\\' || c < 0x20 || c >= 0x7f) return hdr_fail(hp, "unsupported character in a string");
    if (n + 1 >= cap) return hdr_fail(hp, "string too long");
    buf[n++] = *hp->p++;
  }
  if (hp->p >= hp->end) return hdr_fail(hp, "unterminated string");
  hp->p++;
  buf[n] = '\0';
  return ONYX_OK;
}

static onyx_status parse_shape(hdr_parser *hp, int *ndim, int64_t *dims)
{
  if (!accept(hp, '(')) {
    skip_ws(hp);
    if (hp->p < hp->end && *hp->p == '[') return hdr_fail(hp, "'shape' must be a tuple, not a list");
    return hdr_fail(hp, "'shape' must be a tuple");
  }
  int n = 0;
  bool need_comma = false, had_comma = false;
  for (;;) {
    if (accept(hp, ')')) break;
    if (need_comma) return hdr_fail(hp, "expected ',' or ')' in 'shape'");
    skip_ws(hp);
    if (hp->p >= hp->end || *hp->p < '0' || *hp->p > '9')
      return hdr_fail(hp, "'shape' must hold non-negative integers");
    int64_t v = 0;
    while (hp->p < hp->end && *hp->p >= '0' && *hp->p <= '9') {
      if (v > (INT64_MAX - 9) / 10) return hdr_fail(hp, "a dimension in 'shape' is too large");
      v = v * 10 + (*hp->p++ - '0');
    }
    if (n >= ONYX_MAX_DIMS) {
      char msg[80];
      snprintf(msg, sizeof(msg), "more than %d dimensions", ONYX_MAX_DIMS);
      return hdr_fail(hp, msg);
    }
    dims[n++] = v;
    had_comma = accept(hp, ',');
    need_comma = !had_comma;
  }
  /* "(5)" is the integer 5 in Python, not a tuple. */
  if (n == 1 && !had_comma) return hdr_fail(hp, "'shape' (N) needs a trailing comma to be a tuple: (N,)");
  *ndim = n;
  return ONYX_OK;
}

static onyx_status descr_dtype(const hdr_parser *hp, const char *descr, onyx_dtype *dtype)
{
  char order = descr[0], kind = descr[1];
  const char *digits = descr + 2;
  if (!order || !kind || !*digits || strspn(digits, "0123456789") != strlen(digits) || strlen(digits) > 2)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "'%s': unsupported .npy dtype '%s'", hp->name, descr);
  int size = atoi(digits);
  if (order != '<' && order != '=' && order != '|' && order != '>')
    return onyx_error(ONYX_ERR_UNSUPPORTED, "'%s': unsupported .npy dtype '%s' (bad byte-order character)",
                      hp->name, descr);
  if (order == '>' && size > 1)
    return onyx_error(ONYX_ERR_UNSUPPORTED,
                      "'%s': big-endian .npy data ('%s') is not supported; save it little-endian "
                      "(arr.astype(arr.dtype.newbyteorder('<')))",
                      hp->name, descr);
  for (size_t i = 0; i < ONYX_ARRAY_LEN(npy_types); i++) {
    if (npy_types[i].kind == kind && npy_types[i].size == size) {
      *dtype = npy_types[i].dtype;
      return ONYX_OK;
    }
  }
  return onyx_error(ONYX_ERR_UNSUPPORTED,
                    "'%s': unsupported .npy dtype '%s' (supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1)",
                    hp->name, descr);
}

static onyx_status parse_dict(hdr_parser *hp, npy_array *out)
{
  bool have_descr = false, have_order = false, have_shape = false;
  char descr[32];
  if (!accept(hp, '{')) return hdr_fail(hp, "expected '{'");
  for (;;) {
    if (accept(hp, '}')) break;
    char key[32];
    ONYX_TRY(parse_string(hp, key, sizeof(key), "a key"));
    if (!accept(hp, ':')) return hdr_fail(hp, "expected ':' after a key");
    if (!strcmp(key, "descr")) {
      if (have_descr) return hdr_fail(hp, "duplicate key 'descr'");
      have_descr = true;
      skip_ws(hp);
      if (hp->p < hp->end && *hp->p == '[')
        return onyx_error(ONYX_ERR_UNSUPPORTED, "'%s': structured .npy dtypes are not supported", hp->name);
      ONYX_TRY(parse_string(hp, descr, sizeof(descr), "'descr'"));
    } else if (!strcmp(key, "fortran_order")) {
      if (have_order) return hdr_fail(hp, "duplicate key 'fortran_order'");
      have_order = true;
      skip_ws(hp);
      size_t left = (size_t)(hp->end - hp->p);
      if (left >= 4 && !memcmp(hp->p, "True", 4)) {
        return onyx_error(ONYX_ERR_UNSUPPORTED,
                          "'%s': Fortran-order .npy arrays are not supported; save a C-order array "
                          "(np.save(f, np.ascontiguousarray(a)))",
                          hp->name);
      } else if (left >= 5 && !memcmp(hp->p, "False", 5)) {
        hp->p += 5;
      } else {
        return hdr_fail(hp, "'fortran_order' must be True or False");
      }
    } else if (!strcmp(key, "shape")) {
      if (have_shape) return hdr_fail(hp, "duplicate key 'shape'");
      have_shape = true;
      ONYX_TRY(parse_shape(hp, &out->ndim, out->dims));
    } else {
      char msg[96];
      snprintf(msg, sizeof(msg), "unexpected key '%s'", key);
      return hdr_fail(hp, msg);
    }
    if (accept(hp, ',')) continue;
    if (accept(hp, '}')) break;
    return hdr_fail(hp, "expected ',' or '}'");
  }
  if (!have_descr || !have_order || !have_shape)
    return hdr_fail(hp, !have_descr   ? "missing key 'descr'"
                        : !have_order ? "missing key 'fortran_order'"
                                      : "missing key 'shape'");
  skip_ws(hp);
  if (hp->p != hp->end) return hdr_fail(hp, "unexpected text after the dict");
  return descr_dtype(hp, descr, &out->dtype);
}

static uint32_t rd_le(const unsigned char *p, int n)
{
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

/* Validates the preamble and header; sets out's dtype/shape/nbytes (not data)
 * and the offset of the data.  Checks the data length against size. */
static onyx_status parse_header(const unsigned char *b, size_t size, const char *name, npy_array *out,
                                size_t *data_off)
{
  memset(out, 0, sizeof(*out));
  if (size < NPY_MAGIC_LEN || memcmp(b, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
    return onyx_error(ONYX_ERR_PARSE, "'%s' is not a .npy file (no \\x93NUMPY magic)", name);
  if (size < 10) return onyx_error(ONYX_ERR_PARSE, "'%s': truncated .npy preamble", name);
  int major = b[6], minor = b[7];
  if (major < 1 || major > 3 || minor != 0)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "'%s': unsupported .npy format version %d.%d (1.0, 2.0, 3.0 are)",
                      name, major, minor);
  size_t pre = major == 1 ? 10 : 12;
  if (size < pre) return onyx_error(ONYX_ERR_PARSE, "'%s': truncated .npy preamble", name);
  size_t hlen = rd_le(b + 8, major == 1 ? 2 : 4);
  if (hlen > NPY_MAX_HEADER)
    return onyx_error(ONYX_ERR_PARSE, "'%s': .npy header of %zu bytes is larger than the %u-byte limit", name,
                      hlen, NPY_MAX_HEADER);
  if (hlen > size - pre)
    return onyx_error(ONYX_ERR_PARSE, "'%s': truncated .npy header (%zu bytes declared, %zu present)", name,
                      hlen, size - pre);
  const char *h = (const char *)b + pre;
  if (hlen == 0 || h[hlen - 1] != '\n')
    return onyx_error(ONYX_ERR_PARSE, "'%s': bad .npy header: it does not end with a newline", name);
  hdr_parser hp = {h, h + hlen, name};
  ONYX_TRY(parse_dict(&hp, out));

  int64_t numel = onyx_numel(out->ndim, out->dims);
  int64_t bytes;
  if (numel < 0 || onyx_mul_overflow_i64(numel, (int64_t)onyx_dtype_size(out->dtype), &bytes) ||
      (uint64_t)bytes > NPY_MAX_FILE)
    return onyx_error(ONYX_ERR_PARSE, "'%s': the .npy shape is too large", name);
  size_t have = size - pre - hlen;
  if ((uint64_t)bytes != have) {
    char dims[128];
    onyx_dims_str(out->ndim, out->dims, dims, sizeof(dims));
    return onyx_error(ONYX_ERR_PARSE, "'%s': %s %s needs %lld data bytes but the file has %zu%s", name,
                      onyx_dtype_name(out->dtype), dims, (long long)bytes, have,
                      (uint64_t)bytes > have ? " (truncated)" : " (trailing bytes)");
  }
  out->nbytes = (size_t)bytes;
  *data_off = pre + hlen;
  return ONYX_OK;
}

static void normalise_bools(npy_array *a)
{
  if (a->dtype != ONYX_DTYPE_BOOL) return;
  unsigned char *p = a->data;
  for (size_t i = 0; i < a->nbytes; i++) p[i] = p[i] != 0;
}

onyx_status npy_parse(const void *buf, size_t size, const char *name, npy_array *out)
{
  if (!out) return onyx_error(ONYX_ERR_INVALID_ARG, "npy_parse: NULL argument");
  memset(out, 0, sizeof(*out));
  if (!buf && size) return onyx_error(ONYX_ERR_INVALID_ARG, "npy_parse: NULL buffer");
  if (!name) name = "(memory)";
  size_t off;
  npy_array a;
  ONYX_TRY(parse_header(buf, size, name, &a, &off));
  a.data = onyx_malloc(a.nbytes ? a.nbytes : 1);
  if (!a.data) return ONYX_ERR_NO_MEMORY;
  if (a.nbytes) memcpy(a.data, (const unsigned char *)buf + off, a.nbytes);
  normalise_bools(&a);
  *out = a;
  return ONYX_OK;
}

onyx_status npy_read(const char *path, npy_array *out)
{
  if (!path || !out) return onyx_error(ONYX_ERR_INVALID_ARG, "npy_read: NULL argument");
  memset(out, 0, sizeof(*out));
  void *buf;
  size_t size, off;
  ONYX_TRY(onyx_read_file(path, NPY_MAX_FILE, &buf, &size));
  npy_array a;
  onyx_status st = parse_header(buf, size, path, &a, &off);
  if (st != ONYX_OK) {
    free(buf);
    return st;
  }
  /* Move the data to the start of the buffer: aligned for any element type. */
  memmove(buf, (unsigned char *)buf + off, a.nbytes);
  a.data = buf;
  normalise_bools(&a);
  *out = a;
  return ONYX_OK;
}

onyx_status npy_write(const char *path, onyx_dtype dtype, int ndim, const int64_t *dims, const void *data)
{
  const char *descr = npy_descr(dtype);
  if (!path) return onyx_error(ONYX_ERR_INVALID_ARG, "npy_write: NULL path");
  if (!descr)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "'%s': cannot write %s data to .npy", path,
                      onyx_dtype_name(dtype));
  if (ndim < 0 || ndim > ONYX_MAX_DIMS || (ndim && !dims))
    return onyx_error(ONYX_ERR_INVALID_ARG, "npy_write '%s': bad rank %d", path, ndim);
  int64_t numel = onyx_numel(ndim, dims), bytes;
  if (numel < 0 || onyx_mul_overflow_i64(numel, (int64_t)onyx_dtype_size(dtype), &bytes))
    return onyx_error(ONYX_ERR_INVALID_ARG, "npy_write '%s': bad shape", path);
  if (bytes && !data) return onyx_error(ONYX_ERR_INVALID_ARG, "npy_write '%s': NULL data", path);

  char hdr[512];
  int n = snprintf(hdr, sizeof(hdr), "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < ndim; i++)
    n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, i ? ", %lld" : "%lld", (long long)dims[i]);
  n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "%s), }", ndim == 1 ? "," : "");
  /* Pad with spaces so that the data starts on a 64-byte boundary, then '\n'. */
  size_t total = 10 + (size_t)n + 1;
  size_t pad = (64 - total % 64) % 64;
  memset(hdr + n, ' ', pad);
  hdr[n + (int)pad] = '\n';
  size_t hlen = (size_t)n + pad + 1;
  unsigned char pre[10] = {
      0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};

  FILE *f = fopen(path, "wb");
  if (!f) return onyx_error(ONYX_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
  bool ok = fwrite(pre, 1, sizeof(pre), f) == sizeof(pre) && fwrite(hdr, 1, hlen, f) == hlen &&
            (!bytes || fwrite(data, 1, (size_t)bytes, f) == (size_t)bytes);
  int saved = errno;
  if (fclose(f) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (!ok) {
    remove(path);
    return onyx_error(ONYX_ERR_IO, "cannot write '%s': %s", path, strerror(saved));
  }
  return ONYX_OK;
}

onyx_status raw_read(const char *path, onyx_dtype dtype, int ndim, const int64_t *dims, npy_array *out)
{
  if (!path || !out || ndim < 0 || ndim > ONYX_MAX_DIMS || (ndim && !dims))
    return onyx_error(ONYX_ERR_INVALID_ARG, "raw_read: bad argument");
  memset(out, 0, sizeof(*out));
  size_t esize = onyx_dtype_size(dtype);
  if (!esize)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "'%s': cannot read %s data from a raw file", path,
                      onyx_dtype_name(dtype));
  int unknown = -1, n_unknown = 0;
  int64_t known = 1;
  for (int i = 0; i < ndim; i++) {
    if (dims[i] < 0) {
      unknown = i;
      n_unknown++;
    } else if (onyx_mul_overflow_i64(known, dims[i], &known)) {
      return onyx_error(ONYX_ERR_SHAPE, "'%s': the input shape is too large", path);
    }
  }
  if (n_unknown > 1)
    return onyx_error(
        ONYX_ERR_SHAPE,
        "'%s': a raw file cannot fill an input with %d unknown dimensions; give them with --shapes", path,
        n_unknown);
  void *buf;
  size_t size;
  ONYX_TRY(onyx_read_file(path, NPY_MAX_FILE, &buf, &size));
  onyx_status st = ONYX_OK;
  npy_array a = {.dtype = dtype, .ndim = ndim};
  memcpy(a.dims, dims, sizeof(*dims) * (size_t)ndim);
  int64_t row; /* bytes per unit of the unknown dim, or of the whole tensor */
  if (onyx_mul_overflow_i64(known, (int64_t)esize, &row)) {
    st = onyx_error(ONYX_ERR_SHAPE, "'%s': the input shape is too large", path);
    goto out_free;
  }
  char shape[128];
  if (n_unknown == 1) {
    if (row == 0 || size % (uint64_t)row != 0) {
      st = onyx_error(ONYX_ERR_SHAPE, "'%s': %zu bytes is not a whole number of %lld-byte %s slices", path,
                      size, (long long)row, onyx_dtype_name(dtype));
      goto out_free;
    }
    a.dims[unknown] = (int64_t)(size / (uint64_t)row);
  } else if ((uint64_t)row != size) {
    onyx_dims_str(ndim, dims, shape, sizeof(shape));
    st = onyx_error(ONYX_ERR_SHAPE, "'%s' is %zu bytes but %s %s needs %lld", path, size,
                    onyx_dtype_name(dtype), shape, (long long)row);
    goto out_free;
  }
  a.data = buf;
  a.nbytes = size;
  normalise_bools(&a);
  *out = a;
  return ONYX_OK;
out_free:
  free(buf);
  return st;
}
