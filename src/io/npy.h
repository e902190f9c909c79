/* NumPy .npy files (read v1/v2/v3, write v1.0) and raw little-endian .bin files.
 *
 * Only C-order arrays of plain numeric dtypes are handled; anything else
 * (Fortran order, structured or object dtypes, big-endian data, a header that
 * is not the dict numpy writes, a data section of the wrong length) is refused
 * with a message naming the file.  Nothing here trusts the file. */
#ifndef ONYX_IO_NPY_H
#define ONYX_IO_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

/* An owned array; free with npy_array_free. */
typedef struct npy_array {
  onyx_dtype dtype;
  int ndim;
  int64_t dims[ONYX_MAX_DIMS];
  void *data; /* numel * dtype size bytes (malloc'd, may be NULL when empty) */
  size_t nbytes;
} npy_array;

void npy_array_free(npy_array *a);

/* Parses a whole .npy file image; name is used in error messages. */
onyx_status npy_parse(const void *buf, size_t size, const char *name, npy_array *out);
onyx_status npy_read(const char *path, npy_array *out);

/* Writes a .npy v1.0 file (little-endian, C order). */
onyx_status npy_write(const char *path, onyx_dtype dtype, int ndim, const int64_t *dims, const void *data);

/* Reads raw little-endian elements of dtype.  dims[i] < 0 marks an unknown
 * dimension: when exactly one is unknown it is inferred from the file size;
 * more than one unknown is an error.  out->dims holds the final shape. */
onyx_status raw_read(const char *path, onyx_dtype dtype, int ndim, const int64_t *dims, npy_array *out);

/* The numpy descr ("<f4", "|u1", ...) of an onyx dtype, NULL if none. */
const char *npy_descr(onyx_dtype dtype);

#endif
