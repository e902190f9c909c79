/* What the benchmark programs in bench/ share: exit with the message on an onyx error, a
 * monotonic clock in milliseconds. */
#ifndef ONYX_BENCH_UTIL_H
#define ONYX_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "onyx.h"

#define CHECK_ONYX(x)                                                                 \
  do {                                                                                \
    if ((x) != ONYX_OK) {                                                             \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, onyx_last_error()); \
      exit(1);                                                                        \
    }                                                                                 \
  } while (0)

static inline double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + 1e-6 * (double)ts.tv_nsec;
}

#endif
