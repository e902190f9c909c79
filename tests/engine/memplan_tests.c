/* The activation memory plan: no two tensors alive at the same step share
 * bytes, alignment holds, and sharing actually happens (a chain needs about
 * two buffers, not n). Random lifetimes are checked exhaustively. */
#include <stdio.h>
#include <stdlib.h>

#include "engine/memplan.h"


#include "../unit/check.h"

static int valid(const memplan_item *it, int n, size_t arena)
{
  for (int i = 0; i < n; i++) {
    if (it[i].offset % MEMPLAN_ALIGN || (it[i].size && it[i].offset + it[i].size > arena)) return 0;
    for (int j = i + 1; j < n; j++) {
      if (!it[i].size || !it[j].size) continue;
      int time = it[i].first <= it[j].last && it[j].first <= it[i].last;
      int space = it[i].offset < it[j].offset + it[j].size && it[j].offset < it[i].offset + it[i].size;
      if (time && space) return 0;
    }
  }
  return 1;
}

int main(void)
{
  /* a chain t0 -> t1 -> ... : each lives two steps; two buffers suffice */
  memplan_item chain[10];
  for (int i = 0; i < 10; i++) chain[i] = (memplan_item){.size = 1000, .first = i, .last = i + 1};
  size_t arena;
  CHECKF(memplan_assign(chain, 10, &arena) == ONYX_OK, "assign");
  CHECKF(valid(chain, 10, arena), "chain plan overlaps");
  CHECKF(arena == 2 * 1024, "chain arena %zu, expected 2048", arena);

  /* all alive at once: no sharing */
  memplan_item all[5];
  for (int i = 0; i < 5; i++) all[i] = (memplan_item){.size = 300 + 10 * (size_t)i, .first = 0, .last = 4};
  CHECKF(memplan_assign(all, 5, &arena) == ONYX_OK && valid(all, 5, arena), "all-alive plan");
  CHECKF(arena == 5 * 512, "all-alive arena %zu", arena);

  /* zero-size items take no space */
  memplan_item z[2] = {{.size = 0, .first = 0, .last = 1}, {.size = 1, .first = 0, .last = 1}};
  CHECKF(memplan_assign(z, 2, &arena) == ONYX_OK && arena == MEMPLAN_ALIGN, "zero-size arena %zu", arena);
  CHECKF(memplan_assign(NULL, 0, &arena) == ONYX_OK && arena == 0, "empty plan");

  /* random lifetimes: always valid, never worse than no sharing */
  srand(12345);
  for (int trial = 0; trial < 500; trial++) {
    int n = 1 + rand() % 60;
    memplan_item it[60];
    size_t total = 0;
    for (int i = 0; i < n; i++) {
      int a = rand() % 40, b = a + rand() % 10;
      it[i] = (memplan_item){.size = (size_t)(rand() % 5000), .first = a, .last = b};
      total += (it[i].size + MEMPLAN_ALIGN - 1) / MEMPLAN_ALIGN * MEMPLAN_ALIGN;
    }
    CHECKF(memplan_assign(it, n, &arena) == ONYX_OK, "assign %d", trial);
    CHECKF(valid(it, n, arena), "random plan %d overlaps", trial);
    CHECKF(arena <= total, "random plan %d uses %zu > %zu", trial, arena, total);
  }
  printf("%s\n", check_failures_ ? "memplan: FAILED" : "memplan: all checks passed");
  return check_failures_ ? 1 : 0;
}
