#include "engine/memplan.h"

#include <stdbool.h>
#include <stdlib.h>

#include "common/util.h"

static size_t align_up(size_t x) { return (x + MEMPLAN_ALIGN - 1) / MEMPLAN_ALIGN * MEMPLAN_ALIGN; }

/* Larger items first; ties in index order (a deterministic plan). */
static bool before(const memplan_item *items, int a, int b)
{
  if (items[a].size != items[b].size) return items[a].size > items[b].size;
  return a < b;
}

/* Shell sort of indices (qsort has no context argument). */
static void sort_indices(int *idx, int n, const memplan_item *items)
{
  for (int gap = n / 2; gap > 0; gap /= 2)
    for (int i = gap; i < n; i++) {
      int v = idx[i], j = i;
      for (; j >= gap && before(items, v, idx[j - gap]); j -= gap) idx[j] = idx[j - gap];
      idx[j] = v;
    }
}

onyx_status memplan_assign(memplan_item *items, int n, size_t *arena_size)
{
  *arena_size = 0;
  int *order = onyx_malloc((size_t)(n ? n : 1) * sizeof(int));
  int *placed = onyx_malloc((size_t)(n ? n : 1) * sizeof(int));
  if (!order || !placed) {
    free(order);
    free(placed);
    return ONYX_ERR_NO_MEMORY;
  }
  for (int i = 0; i < n; i++) {
    order[i] = i;
    items[i].offset = 0;
  }
  sort_indices(order, n, items);
  int n_placed = 0;
  for (int k = 0; k < n; k++) {
    memplan_item *it = &items[order[k]];
    if (it->size == 0) continue;
    size_t need = align_up(it->size), offset = 0;
    /* first fit: jump past each block it collides with (every offset skipped
     * collides with that block too) until it collides with none */
    for (bool moved = true; moved;) {
      moved = false;
      for (int p = 0; p < n_placed; p++) {
        const memplan_item *o = &items[placed[p]];
        bool time = o->first <= it->last && it->first <= o->last;
        bool space = o->offset < offset + need && offset < o->offset + align_up(o->size);
        if (time && space) {
          offset = o->offset + align_up(o->size);
          moved = true;
        }
      }
    }
    it->offset = offset;
    placed[n_placed++] = order[k];
    if (offset + need > *arena_size) *arena_size = offset + need;
  }
  free(order);
  free(placed);
  return ONYX_OK;
}
