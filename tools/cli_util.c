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

void cli_shapes_free(cli_shape *shapes, int n)
{
  for (int i = 0; shapes && i < n; i++) free(shapes[i].name);
  free(shapes);
}

int cli_shapes_parse(const char *spec, const onyx_model *m, cli_shape **out, int *n_out)
{
  int n = onyx_model_num_inputs(m);
  const char **names = calloc((size_t)n + 1, sizeof(*names));
  if (!names) {
    cli_error("out of memory");
    return 1;
  }
  for (int i = 0; i < n; i++) {
    onyx_tensor_info ti;
    onyx_model_input(m, i, &ti);
    names[i] = ti.name;
  }
  int rc = cli_shapes_parse_names(spec, names, n, out, n_out);
  free(names);
  return rc;
}

int cli_shapes_parse_names(const char *spec, const char *const *names, int n_names, cli_shape **out, int *n_out)
{
  *out = NULL;
  *n_out = 0;
  if (!spec) return 0;
  char *copy = strdup(spec);
  cli_shape *shapes = calloc(strlen(spec) / 2 + 1, sizeof(*shapes)); /* at most one per 2 chars */
  int n = 0, rc = 0;
  if (!copy || !shapes) {
    cli_error("out of memory");
    rc = 1;
    goto out;
  }
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *colon = strrchr(tok, ':');
    cli_shape *sh = &shapes[n];
    if (!colon || colon == tok || (sh->ndim = cli_parse_dims(colon + 1, sh->dims, ONYX_MAX_DIMS)) < 0) {
      cli_error("bad shape '%s': expected NAME:DIMS such as input:1x3x224x224", tok);
      rc = 2;
      goto out;
    }
    *colon = '\0';
    int found = 0;
    for (int i = 0; i < n_names && !found; i++) found = !strcmp(names[i], tok);
    if (!found) {
      cli_error("--shapes names '%s', which is not an input of the model", tok);
      rc = 2;
      goto out;
    }
    for (int i = 0; i < n; i++)
      if (!strcmp(shapes[i].name, tok)) {
        cli_error("--shapes gives input '%s' twice", tok);
        rc = 2;
        goto out;
      }
    if (!(sh->name = strdup(tok))) {
      cli_error("out of memory");
      rc = 1;
      goto out;
    }
    n++;
  }
out:
  free(copy);
  if (rc) {
    cli_shapes_free(shapes, n);
    return rc;
  }
  *out = shapes;
  *n_out = n;
  return 0;
}

const cli_shape *cli_shapes_find(const cli_shape *shapes, int n, const char *name)
{
  for (int i = 0; i < n; i++)
    if (!strcmp(shapes[i].name, name)) return &shapes[i];
  return NULL;
}

int cli_apply_shapes(onyx_session *s, const onyx_model *m, const char *spec)
{
  cli_shape *shapes;
  int n_shapes;
  int rc = cli_shapes_parse(spec, m, &shapes, &n_shapes);
  if (rc) return rc;
  for (int i = 0; i < onyx_model_num_inputs(m); i++) {
    onyx_tensor_info ti;
    onyx_model_input(m, i, &ti);
    const cli_shape *sh = cli_shapes_find(shapes, n_shapes, ti.name);
    if (sh) {
      memcpy(ti.dims, sh->dims, sizeof(sh->dims));
      ti.ndim = sh->ndim;
    } else { /* declared shape, symbolic dims = 1 */
      bool dynamic = false;
      for (int d = 0; d < ti.ndim; d++)
        if (ti.dims[d] < 0) ti.dims[d] = 1, dynamic = true;
      if (!dynamic) continue;
    }
    if (onyx_session_set_input_shape(s, ti.name, ti.ndim, ti.dims) != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      rc = 1;
      break;
    }
  }
  cli_shapes_free(shapes, n_shapes);
  return rc;
}

int cli_parse_size(const char *v, size_t *out)
{
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (end == v || errno || x < 0) return -1;
  double mul = 1;
  if (*end == 'K' || *end == 'k') mul = 1024, end++;
  else if (*end == 'M' || *end == 'm') mul = 1024.0 * 1024, end++;
  else if (*end == 'G' || *end == 'g') mul = 1024.0 * 1024 * 1024, end++;
  if (*end) return -1;
  *out = (size_t)(x * mul);
  return 0;
}

