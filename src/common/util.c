#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/status.h"

void *onyx_malloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if (!p) onyx_error(ONYX_ERR_NO_MEMORY, "out of host memory allocating %zu bytes", n);
  return p;
}

void *onyx_calloc(size_t count, size_t size)
{
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) onyx_error(ONYX_ERR_NO_MEMORY, "out of host memory allocating %zu x %zu bytes", count, size);
  return p;
}

void *onyx_realloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if (!q) onyx_error(ONYX_ERR_NO_MEMORY, "out of host memory reallocating %zu bytes", n);
  return q;
}

char *onyx_strdup(const char *s)
{
  size_t n = strlen(s ? s : "") + 1;
  char *d = onyx_malloc(n);
  if (d) memcpy(d, s ? s : "", n);
  return d;
}

bool onyx_grow(void **p, int *cap, int need, size_t elem)
{
  if (need <= *cap) return true;
  int nc = *cap ? *cap : 8;
  while (nc < need) {
    if (nc > (1 << 29)) {
      onyx_error(ONYX_ERR_NO_MEMORY, "array too large (%d elements)", need);
      return false;
    }
    nc *= 2;
  }
  void *q = onyx_realloc(*p, (size_t)nc * elem);
  if (!q) return false;
  memset((char *)q + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
  *p = q;
  *cap = nc;
  return true;
}

bool onyx_mul_overflow_i64(int64_t a, int64_t b, int64_t *out)
{
  return __builtin_mul_overflow(a, b, out);
}

int64_t onyx_numel(int ndim, const int64_t *dims)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (dims[i] < 0 || onyx_mul_overflow_i64(n, dims[i], &n)) return -1;
  }
  return n;
}

bool onyx_dtype_valid(int dt) { return dt > 0 && dt < ONYX_DTYPE_COUNT; }

static const struct {
  const char *name;
  size_t size;
} dtype_table[] = {
    [ONYX_DTYPE_UNDEFINED] = {"undefined", 0}, [ONYX_DTYPE_FLOAT] = {"float32", 4},
    [ONYX_DTYPE_UINT8] = {"uint8", 1},         [ONYX_DTYPE_INT8] = {"int8", 1},
    [ONYX_DTYPE_UINT16] = {"uint16", 2},       [ONYX_DTYPE_INT16] = {"int16", 2},
    [ONYX_DTYPE_INT32] = {"int32", 4},         [ONYX_DTYPE_INT64] = {"int64", 8},
    [ONYX_DTYPE_STRING] = {"string", 0},       [ONYX_DTYPE_BOOL] = {"bool", 1},
    [ONYX_DTYPE_FLOAT16] = {"float16", 2},     [ONYX_DTYPE_DOUBLE] = {"float64", 8},
    [ONYX_DTYPE_UINT32] = {"uint32", 4},       [ONYX_DTYPE_UINT64] = {"uint64", 8},
};
_Static_assert(ONYX_ARRAY_LEN(dtype_table) == ONYX_DTYPE_COUNT, "dtype_table must cover every dtype");

const char *onyx_dtype_name(onyx_dtype t)
{
  if ((unsigned)t >= ONYX_DTYPE_COUNT) return "unknown";
  return dtype_table[t].name;
}

size_t onyx_dtype_size(onyx_dtype t)
{
  if ((unsigned)t >= ONYX_DTYPE_COUNT) return 0;
  return dtype_table[t].size;
}

float onyx_half_to_float(uint16_t h)
{
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { /* subnormal: normalise */
      int e = -1;
      do {
        e++;
        mant <<= 1;
      } while (!(mant & 0x400));
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t onyx_float_to_half(float f)
{
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) /* inf or nan */
    return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
  if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to inf */
  if (absx < 0x38800000u) { /* subnormal or zero in half */
    if (absx < 0x33000000u) return (uint16_t)sign;
    uint32_t mant = (absx & 0x7fffff) | 0x800000;
    int shift = 113 - (int)(absx >> 23) + 13; /* 14..24 */
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t h = ((absx >> 13) - ((127 - 15) << 10));
  uint32_t rem = absx & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

char *onyx_dims_str(int ndim, const int64_t *dims, char *buf, size_t cap)
{
  size_t off = 0;
  buf[0] = '\0';
  if (ndim == 0) {
    snprintf(buf, cap, "scalar");
    return buf;
  }
  for (int i = 0; i < ndim && off < cap; i++)
    off += (size_t)snprintf(buf + off, cap - off, i ? "x%lld" : "%lld", (long long)dims[i]);
  return buf;
}

onyx_status onyx_read_file(const char *path, size_t max_bytes, void **data, size_t *size)
{
  *data = NULL;
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return onyx_error(ONYX_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  onyx_status st = ONYX_OK;
  char *buf = NULL;
  struct stat sb;
  if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
    st = onyx_error(ONYX_ERR_IO, "'%s' is a directory, not a file", path);
    goto out_close;
  }
  if (fseeko(f, 0, SEEK_END) != 0) {
    st = onyx_error(ONYX_ERR_IO, "cannot seek in '%s': %s", path, strerror(errno));
    goto out_close;
  }
  off_t len = ftello(f);
  if (len < 0) {
    st = onyx_error(ONYX_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    goto out_close;
  }
  if ((uint64_t)len > max_bytes) {
    st = onyx_error(ONYX_ERR_IO, "'%s' is %lld bytes, more than the %zu-byte limit", path,
                    (long long)len, max_bytes);
    goto out_close;
  }
  rewind(f);
  buf = onyx_malloc((size_t)len + 1);
  if (!buf) {
    st = ONYX_ERR_NO_MEMORY;
    goto out_close;
  }
  if (len && fread(buf, 1, (size_t)len, f) != (size_t)len) {
    st = onyx_error(ONYX_ERR_IO, "cannot read '%s': %s", path, ferror(f) ? strerror(errno) : "short read");
    free(buf);
    goto out_close;
  }
  buf[len] = '\0';
  *data = buf;
  *size = (size_t)len;
out_close:
  fclose(f);
  return st;
}
