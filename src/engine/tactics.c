#include "engine/tactics.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define MAX_ENTRIES 1000000u

void tactic_cache_init(tactic_cache *c) { memset(c, 0, sizeof(*c)); }

void tactic_cache_free(tactic_cache *c)
{
  free(c->entries);
  memset(c, 0, sizeof(*c));
}

const tactic_entry *tactic_cache_find(const tactic_cache *c, const char *sig)
{
  for (int i = 0; i < c->n; i++)
    if (strcmp(c->entries[i].sig, sig) == 0) return &c->entries[i];
  return NULL;
}

onyx_status tactic_cache_put(tactic_cache *c, const char *sig, int64_t tactic, uint64_t workspace, const char *kernel)
{
  if (strlen(sig) >= TACTIC_SIG_MAX) return onyx_error(ONYX_ERR_INTERNAL, "layer signature too long: %.80s...", sig);
  tactic_entry *e = NULL;
  for (int i = 0; i < c->n && !e; i++)
    if (strcmp(c->entries[i].sig, sig) == 0) e = &c->entries[i];
  if (!e) {
    if (!onyx_grow((void **)&c->entries, &c->cap, c->n + 1, sizeof(*c->entries))) return ONYX_ERR_NO_MEMORY;
    e = &c->entries[c->n++];
  }
  memset(e, 0, sizeof(*e));
  strcpy(e->sig, sig);
  e->tactic = tactic;
  e->workspace = workspace;
  strncpy(e->kernel, kernel ? kernel : "", sizeof(e->kernel) - 1);
  return ONYX_OK;
}

onyx_status tactic_cache_write(const tactic_cache *c, eng_writer *w)
{
  eng_put_u32(w, (uint32_t)c->n);
  for (int i = 0; i < c->n; i++) {
    eng_put_string(w, c->entries[i].sig);
    eng_put_i64(w, c->entries[i].tactic);
    eng_put_u64(w, c->entries[i].workspace);
    eng_put_string(w, c->entries[i].kernel);
  }
  return eng_writer_status(w);
}

onyx_status tactic_cache_read(tactic_cache *c, eng_reader *r)
{
  uint32_t n;
  ONYX_TRY(eng_get_count(r, "tactic count", 4 + 8 + 8 + 4, MAX_ENTRIES, &n));
  for (uint32_t i = 0; i < n; i++) {
    char sig[TACTIC_SIG_MAX], kernel[64];
    int64_t tactic;
    uint64_t ws;
    ONYX_TRY(eng_get_string(r, "tactic signature", sig, sizeof(sig)));
    ONYX_TRY(eng_get_i64(r, "tactic", &tactic));
    ONYX_TRY(eng_get_u64(r, "tactic workspace", &ws));
    ONYX_TRY(eng_get_string(r, "tactic kernel", kernel, sizeof(kernel)));
    ONYX_TRY(tactic_cache_put(c, sig, tactic, ws, kernel));
  }
  return ONYX_OK;
}
