/* The tests' random numbers: splitmix64 (the same generator onyx run uses for its seeded inputs,
 * tools/cli_util.c), reproducible from a printed seed. */
#ifndef ONYX_TESTS_RNG_H
#define ONYX_TESTS_RNG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t test_splitmix64(uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* The run's seed: ONYX_TEST_SEED when set, else drawn from the clock and the process id; printed so that a
 * failing run can be repeated. */
static inline uint64_t test_seed(void)
{
  const char *env = getenv("ONYX_TEST_SEED");
  uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20;
  printf("seed %llu (ONYX_TEST_SEED=%llu reproduces this run)\n", (unsigned long long)seed, (unsigned long long)seed);
  return seed;
}

#endif
