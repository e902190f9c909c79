/* Bounds-checked little-endian byte codec for engine files.
 *
 * eng_writer is a growable buffer; every put writes fixed-width little-endian bytes whatever the host.
 * Its first failure is sticky: later puts do nothing and return that status, so a run of puts can be
 * checked once with eng_writer_status().
 *
 * eng_reader is a cursor over (ptr, size) of untrusted bytes.  Every get checks the remaining length
 * first and, when it would run past the end, returns ONYX_ERR_PARSE with a message naming the field and
 * its offset; the cursor does not move on failure.  Nothing is allocated from a count or length that the
 * remaining bytes cannot back. */
#ifndef ONYX_ENGINE_CODEC_H
#define ONYX_ENGINE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

typedef struct eng_writer {
  uint8_t *data;
  size_t size, cap;
  onyx_status status; /* first failure, ONYX_OK while none */
} eng_writer;

void eng_writer_init(eng_writer *w);
void eng_writer_free(eng_writer *w);
onyx_status eng_writer_status(const eng_writer *w);
/* Hands the buffer to the caller (free() it) and leaves w empty. */
uint8_t *eng_writer_take(eng_writer *w, size_t *size);

onyx_status eng_put_u8(eng_writer *w, uint8_t v);
onyx_status eng_put_u32(eng_writer *w, uint32_t v);
onyx_status eng_put_u64(eng_writer *w, uint64_t v);
onyx_status eng_put_i64(eng_writer *w, int64_t v);
onyx_status eng_put_f32(eng_writer *w, float v);
onyx_status eng_put_bytes(eng_writer *w, const void *p, size_t n);
/* u32 byte length, then the bytes (no terminator).  NULL writes an empty string. */
onyx_status eng_put_string(eng_writer *w, const char *s);
/* Zero bytes up to the next multiple of align (a power of two). */
onyx_status eng_put_pad(eng_writer *w, size_t align);
/* Overwrite a u32/u64 already written at offset (for sizes and checksums known only at the end). */
onyx_status eng_patch_u32(eng_writer *w, size_t offset, uint32_t v);
onyx_status eng_patch_u64(eng_writer *w, size_t offset, uint64_t v);

typedef struct eng_reader {
  const uint8_t *data;
  size_t size, pos;
} eng_reader;

void eng_reader_init(eng_reader *r, const void *data, size_t size);
size_t eng_reader_left(const eng_reader *r);

onyx_status eng_get_u8(eng_reader *r, const char *field, uint8_t *out);
onyx_status eng_get_u32(eng_reader *r, const char *field, uint32_t *out);
onyx_status eng_get_u64(eng_reader *r, const char *field, uint64_t *out);
onyx_status eng_get_i64(eng_reader *r, const char *field, int64_t *out);
onyx_status eng_get_f32(eng_reader *r, const char *field, float *out);
/* A view of the next n bytes (no copy; valid while the underlying buffer is). */
onyx_status eng_get_bytes(eng_reader *r, const char *field, size_t n, const uint8_t **out);
onyx_status eng_skip(eng_reader *r, const char *field, size_t n);
/* A string into buf (NUL-terminated): refused when longer than cap - 1 bytes or holding a NUL byte. */
onyx_status eng_get_string(eng_reader *r, const char *field, char *buf, size_t cap);
/* The same, allocated (free() it): refused when longer than max_len. */
onyx_status eng_get_string_alloc(eng_reader *r, const char *field, size_t max_len, char **out);
/* A u32 element count, refused when above max or when count * min_elem_bytes exceeds the bytes left,
 * so that a hostile count cannot drive a huge allocation. */
onyx_status eng_get_count(eng_reader *r, const char *field, size_t min_elem_bytes, uint32_t max,
                          uint32_t *out);

#endif
