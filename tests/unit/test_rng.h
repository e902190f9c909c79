/* The tests' random numbers: splitmix64 (the same generator onyx run uses for its seeded inputs,
 * tools/cli_util.c), reproducible from a printed seed. */
#ifndef ONYX_TESTS_RNG_H
#define ONYX_TESTS_RNG_H

#include <stdint.h>

static inline uint64_t test_splitmix64(uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

#endif
