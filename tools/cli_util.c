#include "tools/cli_util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "onyx: error: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
}

int cli_fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "onyx: error: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  return 2;
}

int cli_parse_dims(const char *s, int64_t *dims, int cap)
{
  int n = 0;
  if (!*s) return 0;
  while (*s) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0 || n >= cap) return -1;
    dims[n++] = v;
    if (*end == 'x' || *end == 'X') {
      s = end + 1;
      if (!*s) return -1;
    } else if (*end == '\0') {
      s = end;
    } else {
      return -1;
    }
  }
  return n;
}

char *cli_dims_str(int ndim, const int64_t *dims, char *buf, size_t cap)
{
  size_t off = 0;
  buf[0] = '\0';
  for (int i = 0; i < ndim && off < cap; i++)
    off += (size_t)snprintf(buf + off, cap - off, i ? "x%lld" : "%lld", (long long)dims[i]);
  if (ndim == 0) snprintf(buf, cap, "scalar");
  return buf;
}

int cli_apply_shapes(onyx_session *s, const onyx_model *m, const char *spec)
{
  int n = onyx_model_num_inputs(m);
  char *copy = spec ? strdup(spec) : NULL;
  bool *given = calloc((size_t)n + 1, sizeof(bool));
  int rc = 0;
  if ((spec && !copy) || !given) {
    cli_error("out of memory");
    rc = 1;
    goto out;
  }
  for (char *tok = copy ? strtok(copy, ",") : NULL; tok; tok = strtok(NULL, ",")) {
    char *colon = strrchr(tok, ':');
    int64_t dims[ONYX_MAX_DIMS];
    int nd;
    if (!colon || (nd = cli_parse_dims(colon + 1, dims, ONYX_MAX_DIMS)) < 0) {
      cli_error("bad shape '%s': expected NAME:DIMS such as input:1x3x224x224", tok);
      rc = 2;
      goto out;
    }
    *colon = '\0';
    if (onyx_session_set_input_shape(s, tok, nd, dims) != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      rc = 1;
      goto out;
    }
    for (int i = 0; i < n; i++) {
      onyx_tensor_info ti;
      onyx_model_input(m, i, &ti);
      if (!strcmp(ti.name, tok)) given[i] = true;
    }
  }
  for (int i = 0; i < n; i++) { /* inputs not given: declared shape, symbolic dims = 1 */
    onyx_tensor_info ti;
    onyx_model_input(m, i, &ti);
    bool dynamic = false;
    for (int d = 0; d < ti.ndim; d++)
      if (ti.dims[d] < 0) ti.dims[d] = 1, dynamic = true;
    if (!dynamic || given[i]) continue;
    if (onyx_session_set_input_shape(s, ti.name, ti.ndim, ti.dims) != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      rc = 1;
      goto out;
    }
  }
out:
  free(given);
  free(copy);
  return rc;
}
