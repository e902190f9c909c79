/* Fuzz target: the .npy parser (npy_parse, on the whole input) and the raw
 * .bin reader (raw_read, on a temporary file).  For raw_read the first bytes
 * choose what the caller would ask for: byte 0 the dtype, byte 1 the rank
 * (0-4), then one byte per dimension (0xff: unknown, -1; else the value mod
 * 64); the rest is the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "io/npy.h"

static char raw_path[64];

static void remove_raw(void) { unlink(raw_path); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc, (void)argv;
  const char *tmp = getenv("TMPDIR");
  if (!tmp || strlen(tmp) >= 32) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"; /* memory: faster */
  snprintf(raw_path, sizeof(raw_path), "%s/onyx-fuzz-npy-XXXXXX", tmp);
  int fd = mkstemp(raw_path);
  if (fd < 0) {
    perror("fuzz_npy: mkstemp");
    abort();
  }
  close(fd);
  atexit(remove_raw);
  return 0;
}

static void check_array(const npy_array *a)
{
  size_t esz = onyx_dtype_size(a->dtype);
  FUZZ_CHECK(esz > 0);
  FUZZ_CHECK(a->ndim >= 0 && a->ndim <= ONYX_MAX_DIMS);
  size_t numel = 1;
  for (int i = 0; i < a->ndim; i++) {
    FUZZ_CHECK(a->dims[i] >= 0);
    numel *= (size_t)a->dims[i];
  }
  FUZZ_CHECK(a->nbytes == numel * esz);
  FUZZ_CHECK(a->data || !a->nbytes);
  volatile unsigned char sink = 0; /* every byte readable */
  for (size_t k = 0; k < a->nbytes; k++) sink ^= ((const unsigned char *)a->data)[k];
  (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  npy_array a;
  if (npy_parse(data, size, "fuzz.npy", &a) == ONYX_OK) {
    check_array(&a);
    npy_array_free(&a);
  }

  if (size < 2) return 0;
  onyx_dtype dt = (onyx_dtype)(data[0] % ONYX_DTYPE_COUNT);
  int ndim = data[1] % 5;
  if (size < 2 + (size_t)ndim) return 0;
  int64_t dims[ONYX_MAX_DIMS];
  for (int i = 0; i < ndim; i++) dims[i] = data[2 + i] == 0xff ? -1 : data[2 + i] % 64;
  size_t off = 2 + (size_t)ndim;
  FILE *f = fopen(raw_path, "wb");
  if (!f) return 0;
  size_t wrote = fwrite(data + off, 1, size - off, f);
  if (fclose(f) != 0 || wrote != size - off) return 0;
  if (raw_read(raw_path, dt, ndim, dims, &a) == ONYX_OK) {
    check_array(&a);
    FUZZ_CHECK(a.nbytes == size - off);
    npy_array_free(&a);
  }
  return 0;
}
