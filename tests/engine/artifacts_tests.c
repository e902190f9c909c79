/* The artifact cache (src/engine/artifacts.c): put/find/replace, the write ->
 * read round trip, and hostile bytes (every truncation, oversized counts and
 * sizes, empty artifacts, bad keys) refused with a message, never a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/artifacts.h"

static void wr32(uint8_t *p, uint32_t v)
{
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v)
{
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static onyx_status read_bytes(const uint8_t *p, size_t n, artifact_cache *c)
{
  eng_reader r;
  eng_reader_init(&r, p, n);
  return artifact_cache_read(c, &r);
}

static void test_put_find(void)
{
  artifact_cache c;
  artifact_cache_init(&c);
  CHECK(artifact_cache_find(&c, "a") == NULL);
  CHECK_OK(artifact_cache_put(&c, "a", "12345", 5));
  CHECK_OK(artifact_cache_put(&c, "b", "xy", 2));
  const artifact_entry *e = artifact_cache_find(&c, "a");
  CHECK(e && e->size == 5 && memcmp(e->data, "12345", 5) == 0);
  CHECK_OK(artifact_cache_put(&c, "a", "zz", 2)); /* replaces */
  e = artifact_cache_find(&c, "a");
  CHECK(c.n == 2 && e && e->size == 2 && memcmp(e->data, "zz", 2) == 0);
  char *long_key = malloc(ARTIFACT_KEY_MAX + 1);
  memset(long_key, 'k', ARTIFACT_KEY_MAX);
  long_key[ARTIFACT_KEY_MAX] = '\0';
  CHECK_ERR(artifact_cache_put(&c, long_key, "x", 1), ONYX_ERR_INTERNAL, "artifact key too long");
  long_key[ARTIFACT_KEY_MAX - 1] = '\0'; /* the longest allowed */
  CHECK_OK(artifact_cache_put(&c, long_key, "x", 1));
  CHECK(c.n == 3);
  free(long_key);
  artifact_cache_free(&c);
  CHECK(c.n == 0 && c.entries == NULL);
}

/* A cache of three entries (one of 100 kB of varied bytes), serialised. */
static uint8_t *sample(size_t *size, artifact_cache *src)
{
  artifact_cache_init(src);
  size_t big = 100000;
  uint8_t *blob = malloc(big);
  for (size_t i = 0; i < big; i++) blob[i] = (uint8_t)(i * 131 + (i >> 8));
  artifact_cache_put(src, "FusedPointwise|f32[1,8]->f32[1,8]|a:1|strict|cubin:sm_90|nvrtc13.0|src:1:10", blob, big);
  artifact_cache_put(src, "k2", "\0\1\2\3", 4);
  artifact_cache_put(src, "", "e", 1); /* an empty key is a key */
  free(blob);
  eng_writer w;
  eng_writer_init(&w);
  CHECK_OK(artifact_cache_write(src, &w));
  return eng_writer_take(&w, size);
}

static void test_round_trip(void)
{
  artifact_cache src, dst;
  size_t n;
  uint8_t *bytes = sample(&n, &src);
  artifact_cache_init(&dst);
  artifact_cache_put(&dst, "k2", "old", 3); /* reading appends, replacing equal keys */
  eng_reader r;
  eng_reader_init(&r, bytes, n);
  CHECK_OK(artifact_cache_read(&dst, &r));
  CHECK_EQ_I64(eng_reader_left(&r), 0);
  CHECK_EQ_I64(dst.n, 3);
  for (int i = 0; i < src.n; i++) {
    const artifact_entry *a = &src.entries[i], *b = artifact_cache_find(&dst, a->key);
    CHECK(b && b->size == a->size && memcmp(a->data, b->data, a->size) == 0);
  }
  /* an empty cache is 4 bytes */
  artifact_cache empty;
  artifact_cache_init(&empty);
  eng_writer w;
  eng_writer_init(&w);
  CHECK_OK(artifact_cache_write(&empty, &w));
  CHECK_EQ_I64(w.size, 4);
  CHECK_OK(read_bytes(w.data, w.size, &empty));
  CHECK_EQ_I64(empty.n, 0);
  eng_writer_free(&w);
  free(bytes);
  artifact_cache_free(&src);
  artifact_cache_free(&dst);
}

static void test_hostile(void)
{
  artifact_cache src;
  size_t n;
  uint8_t *bytes = sample(&n, &src);
  artifact_cache_free(&src);
  /* every truncation fails (and frees what it read when the cache is freed) */
  int refused = 0;
  for (size_t len = 0; len < n; len += len < 200 ? 1 : 997) {
    artifact_cache c;
    artifact_cache_init(&c);
    refused += read_bytes(bytes, len, &c) == ONYX_ERR_PARSE;
    artifact_cache_free(&c);
  }
  int tries = 0;
  for (size_t len = 0; len < n; len += len < 200 ? 1 : 997) tries++;
  CHECK_EQ_I64(refused, tries);

  uint8_t *bad = malloc(n);
  artifact_cache c;
  artifact_cache_init(&c);
  /* a count the bytes cannot back */
  memcpy(bad, bytes, n);
  wr32(bad, 0xffffffffu);
  CHECK_ERR(read_bytes(bad, n, &c), ONYX_ERR_PARSE, "artifact count");
  /* the first entry's size: huge, beyond the bytes, zero */
  const size_t key_len = strlen("FusedPointwise|f32[1,8]->f32[1,8]|a:1|strict|cubin:sm_90|nvrtc13.0|src:1:10");
  const size_t size_at = 4 + 4 + key_len;
  memcpy(bad, bytes, n);
  wr64(bad + size_at, 1ull << 62);
  CHECK_ERR(read_bytes(bad, n, &c), ONYX_ERR_PARSE, "artifact 0", "size");
  wr64(bad + size_at, 200000);
  CHECK_ERR(read_bytes(bad, n, &c), ONYX_ERR_PARSE, "artifact bytes");
  wr64(bad + size_at, 0);
  CHECK_ERR(read_bytes(bad, n, &c), ONYX_ERR_PARSE, "artifact 0", "size 0");
  /* keys: a NUL inside, a length beyond the limit */
  memcpy(bad, bytes, n);
  bad[4 + 4 + 3] = 0;
  CHECK_ERR(read_bytes(bad, n, &c), ONYX_ERR_PARSE, "artifact key");
  memcpy(bad, bytes, n);
  wr32(bad + 4, ARTIFACT_KEY_MAX + 5);
  CHECK_ERR(read_bytes(bad, n, &c), ONYX_ERR_PARSE, "artifact key");
  artifact_cache_free(&c);
  free(bad);
  free(bytes);
}

int main(int argc, char **argv)
{
  (void)argc;
  test_put_find();
  test_round_trip();
  test_hostile();
  return check_summary(argv[0]);
}
