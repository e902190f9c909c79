/* Shared by the fuzz targets: the libFuzzer entry points (the replay driver,
 * replay_main.c, calls the same two functions on files). */
#ifndef ONYX_FUZZ_H
#define ONYX_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property that must hold on every input: abort (a crash the fuzzer reports) when it does not. */
#define FUZZ_CHECK(cond)                                                                                  \
  do {                                                                                                    \
    if (!(cond)) {                                                                                        \
      fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond);                       \
      abort();                                                                                            \
    }                                                                                                     \
  } while (0)

#endif
