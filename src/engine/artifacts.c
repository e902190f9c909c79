#include "engine/artifacts.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define MAX_ENTRIES 1000000u

void artifact_cache_init(artifact_cache *c) { memset(c, 0, sizeof(*c)); }

void artifact_cache_free(artifact_cache *c)
{
  for (int i = 0; i < c->n; i++) {
    free(c->entries[i].key);
    free(c->entries[i].data);
  }
  free(c->entries);
  memset(c, 0, sizeof(*c));
}

const artifact_entry *artifact_cache_find(const artifact_cache *c, const char *key)
{
  for (int i = 0; i < c->n; i++)
    if (strcmp(c->entries[i].key, key) == 0) return &c->entries[i];
  return NULL;
}

onyx_status artifact_cache_put(artifact_cache *c, const char *key, const void *data, size_t size)
{
  if (strlen(key) >= ARTIFACT_KEY_MAX)
    return onyx_error(ONYX_ERR_INTERNAL, "artifact key too long: %.80s...", key);
  uint8_t *copy = onyx_malloc(size ? size : 1);
  if (!copy) return ONYX_ERR_NO_MEMORY;
  if (size) memcpy(copy, data, size);
  artifact_entry *e = (artifact_entry *)artifact_cache_find(c, key);
  if (e) {
    free(e->data);
  } else {
    char *k = onyx_strdup(key);
    if (!k || !onyx_grow((void **)&c->entries, &c->cap, c->n + 1, sizeof(*c->entries))) {
      free(k);
      free(copy);
      return ONYX_ERR_NO_MEMORY;
    }
    e = &c->entries[c->n++];
    e->key = k;
  }
  e->data = copy;
  e->size = size;
  return ONYX_OK;
}

onyx_status artifact_cache_write(const artifact_cache *c, eng_writer *w)
{
  eng_put_u32(w, (uint32_t)c->n);
  for (int i = 0; i < c->n; i++) {
    eng_put_string(w, c->entries[i].key);
    eng_put_u64(w, c->entries[i].size);
    eng_put_bytes(w, c->entries[i].data, c->entries[i].size);
  }
  return eng_writer_status(w);
}

onyx_status artifact_cache_read(artifact_cache *c, eng_reader *r)
{
  uint32_t n;
  ONYX_TRY(eng_get_count(r, "artifact count", 4 + 8 + 1, MAX_ENTRIES, &n));
  char *key = onyx_malloc(ARTIFACT_KEY_MAX);
  if (!key) return ONYX_ERR_NO_MEMORY;
  onyx_status st = ONYX_OK;
  for (uint32_t i = 0; i < n && st == ONYX_OK; i++) {
    uint64_t size;
    const uint8_t *bytes;
    size_t at = r->pos;
    if ((st = eng_get_string(r, "artifact key", key, ARTIFACT_KEY_MAX)) != ONYX_OK ||
        (st = eng_get_u64(r, "artifact size", &size)) != ONYX_OK)
      break;
    if (size == 0 || size > ARTIFACT_MAX_BYTES) {
      st = onyx_error(ONYX_ERR_PARSE, "artifact %u at offset %zu: size %llu is outside 1..%u", i, at,
                      (unsigned long long)size, ARTIFACT_MAX_BYTES);
      break;
    }
    if ((st = eng_get_bytes(r, "artifact bytes", (size_t)size, &bytes)) != ONYX_OK) break;
    st = artifact_cache_put(c, key, bytes, (size_t)size);
  }
  free(key);
  return st;
}
