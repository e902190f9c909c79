#include "engine/codec.h"

#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "common/util.h"

/* ---- writer ------------------------------------------------------------- */

void eng_writer_init(eng_writer *w) { memset(w, 0, sizeof(*w)); }

void eng_writer_free(eng_writer *w)
{
  free(w->data);
  eng_writer_init(w);
}

onyx_status eng_writer_status(const eng_writer *w) { return w->status; }

uint8_t *eng_writer_take(eng_writer *w, size_t *size)
{
  uint8_t *p = w->data;
  *size = w->size;
  eng_writer_init(w);
  return p;
}

/* Room for n more bytes; records the failure in w->status. */
static bool writer_reserve(eng_writer *w, size_t n)
{
  if (w->status != ONYX_OK) return false;
  if (n > SIZE_MAX - w->size) {
    w->status = onyx_error(ONYX_ERR_NO_MEMORY, "engine writer: %zu + %zu bytes overflows", w->size, n);
    return false;
  }
  size_t need = w->size + n;
  if (need <= w->cap) return true;
  size_t cap = w->cap ? w->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  uint8_t *p = onyx_realloc(w->data, cap);
  if (!p) {
    w->status = ONYX_ERR_NO_MEMORY;
    return false;
  }
  w->data = p;
  w->cap = cap;
  return true;
}

static onyx_status put_le(eng_writer *w, uint64_t v, int nbytes)
{
  if (!writer_reserve(w, (size_t)nbytes)) return w->status;
  for (int i = 0; i < nbytes; i++)
    w->data[w->size++] = (uint8_t)(v >> (8 * i));
  return ONYX_OK;
}

onyx_status eng_put_u8(eng_writer *w, uint8_t v) { return put_le(w, v, 1); }
onyx_status eng_put_u32(eng_writer *w, uint32_t v) { return put_le(w, v, 4); }
onyx_status eng_put_u64(eng_writer *w, uint64_t v) { return put_le(w, v, 8); }
onyx_status eng_put_i64(eng_writer *w, int64_t v) { return put_le(w, (uint64_t)v, 8); }

onyx_status eng_put_f32(eng_writer *w, float v)
{
  uint32_t bits;
  memcpy(&bits, &v, sizeof(bits));
  return put_le(w, bits, 4);
}

onyx_status eng_put_bytes(eng_writer *w, const void *p, size_t n)
{
  if (!writer_reserve(w, n)) return w->status;
  if (n) memcpy(w->data + w->size, p, n);
  w->size += n;
  return ONYX_OK;
}

onyx_status eng_put_string(eng_writer *w, const char *s)
{
  size_t n = s ? strlen(s) : 0;
  if (n > UINT32_MAX) {
    if (w->status == ONYX_OK)
      w->status = onyx_error(ONYX_ERR_INVALID_ARG, "engine writer: string of %zu bytes is too long", n);
    return w->status;
  }
  eng_put_u32(w, (uint32_t)n);
  return eng_put_bytes(w, s, n);
}

onyx_status eng_put_pad(eng_writer *w, size_t align)
{
  size_t n = (align - w->size % align) % align;
  if (!writer_reserve(w, n)) return w->status;
  if (n) memset(w->data + w->size, 0, n); /* an empty writer's data is NULL: no memset(NULL, 0, 0) */
  w->size += n;
  return ONYX_OK;
}

static onyx_status patch_le(eng_writer *w, size_t offset, uint64_t v, int nbytes)
{
  if (w->status != ONYX_OK) return w->status;
  if (offset > w->size || w->size - offset < (size_t)nbytes)
    return w->status = onyx_error(ONYX_ERR_INTERNAL, "engine writer: patch at offset %zu past the end (%zu)",
                                  offset, w->size);
  for (int i = 0; i < nbytes; i++)
    w->data[offset + (size_t)i] = (uint8_t)(v >> (8 * i));
  return ONYX_OK;
}

onyx_status eng_patch_u32(eng_writer *w, size_t offset, uint32_t v) { return patch_le(w, offset, v, 4); }
onyx_status eng_patch_u64(eng_writer *w, size_t offset, uint64_t v) { return patch_le(w, offset, v, 8); }

/* ---- reader ------------------------------------------------------------- */

void eng_reader_init(eng_reader *r, const void *data, size_t size)
{
  r->data = data;
  r->size = data ? size : 0;
  r->pos = 0;
}

size_t eng_reader_left(const eng_reader *r) { return r->size - r->pos; }

/* The check every get goes through before touching a byte. */
static onyx_status need(const eng_reader *r, const char *field, size_t n)
{
  if (n <= eng_reader_left(r)) return ONYX_OK;
  return onyx_error(ONYX_ERR_PARSE, "truncated: %s at offset %zu needs %zu bytes, %zu left", field, r->pos, n,
                    eng_reader_left(r));
}

static onyx_status get_le(eng_reader *r, const char *field, int nbytes, uint64_t *out)
{
  ONYX_TRY(need(r, field, (size_t)nbytes));
  uint64_t v = 0;
  for (int i = 0; i < nbytes; i++)
    v |= (uint64_t)r->data[r->pos + i] << (8 * i);
  r->pos += (size_t)nbytes;
  *out = v;
  return ONYX_OK;
}

onyx_status eng_get_u8(eng_reader *r, const char *field, uint8_t *out)
{
  uint64_t v;
  ONYX_TRY(get_le(r, field, 1, &v));
  *out = (uint8_t)v;
  return ONYX_OK;
}

onyx_status eng_get_u32(eng_reader *r, const char *field, uint32_t *out)
{
  uint64_t v;
  ONYX_TRY(get_le(r, field, 4, &v));
  *out = (uint32_t)v;
  return ONYX_OK;
}

onyx_status eng_get_u64(eng_reader *r, const char *field, uint64_t *out) { return get_le(r, field, 8, out); }

onyx_status eng_get_i64(eng_reader *r, const char *field, int64_t *out)
{
  uint64_t v;
  ONYX_TRY(get_le(r, field, 8, &v));
  memcpy(out, &v, sizeof(*out)); /* two's complement without implementation-defined conversion */
  return ONYX_OK;
}

onyx_status eng_get_f32(eng_reader *r, const char *field, float *out)
{
  uint32_t bits;
  ONYX_TRY(eng_get_u32(r, field, &bits));
  memcpy(out, &bits, sizeof(*out));
  return ONYX_OK;
}

onyx_status eng_get_bytes(eng_reader *r, const char *field, size_t n, const uint8_t **out)
{
  ONYX_TRY(need(r, field, n));
  *out = r->data + r->pos;
  r->pos += n;
  return ONYX_OK;
}

onyx_status eng_skip(eng_reader *r, const char *field, size_t n)
{
  const uint8_t *unused;
  return eng_get_bytes(r, field, n, &unused);
}

/* Length-checked view of a string's bytes; the cursor moves only on success. */
static onyx_status get_string_view(eng_reader *r, const char *field, size_t max_len, const uint8_t **p,
                                   uint32_t *len)
{
  size_t start = r->pos;
  ONYX_TRY(eng_get_u32(r, field, len));
  onyx_status st = ONYX_OK;
  if (*len > max_len) {
    st = onyx_error(ONYX_ERR_PARSE, "%s at offset %zu: string of %u bytes is longer than the %zu-byte limit",
                    field, start, *len, max_len);
  } else if ((st = eng_get_bytes(r, field, *len, p)) == ONYX_OK && memchr(*p, 0, *len)) {
    st = onyx_error(ONYX_ERR_PARSE, "%s at offset %zu: string holds a NUL byte", field, start);
  }
  if (st != ONYX_OK) r->pos = start;
  return st;
}

onyx_status eng_get_string(eng_reader *r, const char *field, char *buf, size_t cap)
{
  const uint8_t *p = NULL;
  uint32_t len;
  if (cap == 0) return onyx_error(ONYX_ERR_INTERNAL, "%s: no room for a string", field);
  ONYX_TRY(get_string_view(r, field, cap - 1, &p, &len));
  if (len) memcpy(buf, p, len);
  buf[len] = '\0';
  return ONYX_OK;
}

onyx_status eng_get_string_alloc(eng_reader *r, const char *field, size_t max_len, char **out)
{
  const uint8_t *p = NULL;
  uint32_t len;
  *out = NULL;
  size_t start = r->pos;
  ONYX_TRY(get_string_view(r, field, max_len, &p, &len));
  char *s = onyx_malloc((size_t)len + 1);
  if (!s) {
    r->pos = start;
    return ONYX_ERR_NO_MEMORY;
  }
  if (len) memcpy(s, p, len);
  s[len] = '\0';
  *out = s;
  return ONYX_OK;
}

onyx_status eng_get_count(eng_reader *r, const char *field, size_t min_elem_bytes, uint32_t max,
                          uint32_t *out)
{
  size_t start = r->pos;
  uint32_t n;
  ONYX_TRY(eng_get_u32(r, field, &n));
  onyx_status st = ONYX_OK;
  if (n > max) {
    st = onyx_error(ONYX_ERR_PARSE, "%s at offset %zu: count %u is above the limit of %u", field, start, n,
                    max);
  } else if (min_elem_bytes && n > eng_reader_left(r) / min_elem_bytes) {
    st = onyx_error(ONYX_ERR_PARSE, "%s at offset %zu: count %u needs at least %llu bytes, %zu left", field,
                    start, n, (unsigned long long)n * min_elem_bytes, eng_reader_left(r));
  }
  if (st != ONYX_OK) {
    r->pos = start;
    return st;
  }
  *out = n;
  return ONYX_OK;
}
