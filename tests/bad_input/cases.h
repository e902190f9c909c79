/* The bad-model cases shared by the C API test and the CLI test: each one is
 * written to a directory (with any side files it needs) and listed in a
 * manifest with the status and message fragments that loading it must give. */
#ifndef ONYX_TESTS_BAD_CASES_H
#define ONYX_TESTS_BAD_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

#define CASE_ANY_ERROR ONYX_STATUS_COUNT /* any status but OK */
#define CASE_MAX_SUBS 4

typedef struct bad_case {
  char name[64];
  char path[512];   /* the model file */
  onyx_status want; /* ONYX_OK for the positive controls */
  const char *subs[CASE_MAX_SUBS + 1]; /* static fragments the message must contain; NULL-terminated */
  bool mention_file; /* the message must also name the file (its last path component) */
} bad_case;

/* Writes every case under dir (which must exist); fills *cases (malloc'd).
 * Returns the count, or -1 after printing why. */
int cases_write(const char *dir, bad_case **cases);
/* Writes dir/manifest.tsv: path, status name, fragments; tab-separated. */
int cases_write_manifest(const char *dir, const bad_case *cases, int n);

/* A small but realistic model (several initializers, a Constant, metadata),
 * serialised; the caller frees it. */
uint8_t *cases_net_model(size_t *len);
/* x[1,3] float -> Add(w) -> Relu -> y[1,3]; the caller frees it. */
uint8_t *cases_good_model(size_t *len);

/* The last component of a path. */
const char *cases_basename(const char *path);

/* Deterministic pseudo-random bytes. */
uint64_t cases_rand(uint64_t *state);

#endif
