/* Small helpers shared by every module: checked allocation, dtypes, fp16. */
#ifndef ONYX_COMMON_UTIL_H
#define ONYX_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onyx.h"
#include "common/status.h"

#define ONYX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation that records an error message on failure (never aborts). */
void *onyx_malloc(size_t n);
void *onyx_calloc(size_t count, size_t size);
void *onyx_realloc(void *p, size_t n);
char *onyx_strdup(const char *s);
/* Grow *p (of *cap elements of elem bytes) so it holds at least need elements. */
bool onyx_grow(void **p, int *cap, int need, size_t elem);

/* Checked size arithmetic: returns true on overflow (then *out is not meaningful). */
bool onyx_mul_overflow_i64(int64_t a, int64_t b, int64_t *out);
/* Number of elements; -1 if a dim is negative or the product overflows. */
int64_t onyx_numel(int ndim, const int64_t *dims);
bool onyx_dtype_valid(int dt);

float onyx_half_to_float(uint16_t h);
uint16_t onyx_float_to_half(float f);

/* "1x3x224x224" into buf; returns buf. */
char *onyx_dims_str(int ndim, const int64_t *dims, char *buf, size_t cap);

/* Reads a whole file (refusing more than max_bytes), with errors naming the path. */
onyx_status onyx_read_file(const char *path, size_t max_bytes, void **data, size_t *size);

#endif
