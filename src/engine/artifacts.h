/* Artifact cache: bytes made at build time for a layer (a generated kernel's
 * cubin), keyed by a string that pins down everything they depend on (the
 * layer signature, the generated source's digest).  It sits beside the
 * tactic cache: an engine file carries one (section "cubins"), so loading an
 * engine finds its layers' code here instead of compiling it again.
 *
 * Not locked: an engine's cache is filled while the engine is built (one
 * thread) and only read afterwards, by any number of contexts. */
#ifndef ONYX_ENGINE_ARTIFACTS_H
#define ONYX_ENGINE_ARTIFACTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "engine/codec.h"

#define ARTIFACT_KEY_MAX 1024
#define ARTIFACT_MAX_BYTES (256u << 20) /* one artifact, as read from a file */

typedef struct artifact_entry {
  char *key;
  uint8_t *data; /* malloc'd (so aligned for any use, e.g. cuModuleLoadData) */
  size_t size;
} artifact_entry;

typedef struct artifact_cache {
  artifact_entry *entries;
  int n, cap;
} artifact_cache;

void artifact_cache_init(artifact_cache *c);
void artifact_cache_free(artifact_cache *c);
const artifact_entry *artifact_cache_find(const artifact_cache *c, const char *key);
/* Adds or replaces (copies key and data).  Keys of ARTIFACT_KEY_MAX bytes or more are refused. */
onyx_status artifact_cache_put(artifact_cache *c, const char *key, const void *data, size_t size);
/* u32 count, then per entry: string key | u64 size | the bytes. */
onyx_status artifact_cache_write(const artifact_cache *c, eng_writer *w);
/* Appends the entries read from r (untrusted: every count and size checked). */
onyx_status artifact_cache_read(artifact_cache *c, eng_reader *r);

#endif
