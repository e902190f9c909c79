/* Tactic cache: which kernel/algorithm won the timing for a layer signature
 * (op, shapes, dtypes, attributes, precision).  An engine carries one, and a
 * --timing-cache file persists one across builds so a rebuild skips timing. */
#ifndef ONYX_ENGINE_TACTICS_H
#define ONYX_ENGINE_TACTICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "engine/codec.h"

#define TACTIC_SIG_MAX 512

typedef struct tactic_entry {
  char sig[TACTIC_SIG_MAX];
  int64_t tactic;
  uint64_t workspace;
  char kernel[64];
} tactic_entry;

typedef struct tactic_cache {
  tactic_entry *entries;
  int n, cap;
} tactic_cache;

void tactic_cache_init(tactic_cache *c);
void tactic_cache_free(tactic_cache *c);
const tactic_entry *tactic_cache_find(const tactic_cache *c, const char *sig);
/* Adds or replaces. */
onyx_status tactic_cache_put(tactic_cache *c, const char *sig, int64_t tactic, uint64_t workspace, const char *kernel);
onyx_status tactic_cache_write(const tactic_cache *c, eng_writer *w);
/* Appends the entries read from r (validated). */
onyx_status tactic_cache_read(tactic_cache *c, eng_reader *r);

#endif
