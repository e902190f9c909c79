/* Activation memory plan: tensors share one arena when their lifetimes do not
 * overlap.  A tensor lives from the step that writes it to the last step that
 * reads it (graph inputs from step 0, graph outputs to the end). */
#ifndef ONYX_ENGINE_MEMPLAN_H
#define ONYX_ENGINE_MEMPLAN_H

#include <stddef.h>

#include "common/status.h"

#define MEMPLAN_ALIGN 256

typedef struct memplan_item {
  size_t size;   /* bytes (0: needs no memory) */
  int first;     /* step that produces it */
  int last;      /* last step that reads it (>= first) */
  size_t offset; /* result */
} memplan_item;

/* Assigns offsets (MEMPLAN_ALIGN-aligned) so that items alive at the same step
 * never overlap; *arena_size is the bytes needed.  Greedy: largest first, each
 * at the lowest offset that fits among already placed items it overlaps in time. */
onyx_status memplan_assign(memplan_item *items, int n, size_t *arena_size);

#endif
