#include "tools/cli_util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

int cli_parse_only = 0;

static void cli_verror(const char *fmt, va_list ap)
{
  fprintf(stderr, "onyx: error: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
}

void cli_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cli_verror(fmt, ap);
  va_end(ap);
}

int cli_fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cli_verror(fmt, ap);
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
  if (end == v || errno || !(x >= 0)) return -1; /* also NaN */
  double mul = 1;
  if (*end == 'K' || *end == 'k') mul = 1024, end++;
  else if (*end == 'M' || *end == 'm') mul = 1024.0 * 1024, end++;
  else if (*end == 'G' || *end == 'g') mul = 1024.0 * 1024 * 1024, end++;
  if (*end || !(x * mul < (double)SIZE_MAX)) return -1; /* also inf: the cast would be undefined */
  *out = (size_t)(x * mul);
  return 0;
}


uint64_t cli_splitmix64(uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

onyx_status cli_fill_random(onyx_dtype dt, void *data, int64_t n, uint64_t *rng)
{
  for (int64_t i = 0; i < n; i++) {
    uint64_t u = cli_splitmix64(rng);
    switch (dt) {
    case ONYX_DTYPE_FLOAT: ((float *)data)[i] = (float)(u >> 40) * 0x1p-24f * 2.0f - 1.0f; break;
    case ONYX_DTYPE_DOUBLE: ((double *)data)[i] = (double)(u >> 11) * 0x1p-53 * 2.0 - 1.0; break;
    case ONYX_DTYPE_FLOAT16:
      ((uint16_t *)data)[i] = onyx_float_to_half((float)(u >> 53) * 0x1p-11f * 2.0f - 1.0f);
      break;
    case ONYX_DTYPE_BOOL: ((uint8_t *)data)[i] = (uint8_t)(u >> 63); break;
    case ONYX_DTYPE_UINT8: ((uint8_t *)data)[i] = (uint8_t)(u % 10); break;
    case ONYX_DTYPE_INT8: ((int8_t *)data)[i] = (int8_t)(u % 10); break;
    case ONYX_DTYPE_UINT16: ((uint16_t *)data)[i] = (uint16_t)(u % 10); break;
    case ONYX_DTYPE_INT16: ((int16_t *)data)[i] = (int16_t)(u % 10); break;
    case ONYX_DTYPE_UINT32: ((uint32_t *)data)[i] = (uint32_t)(u % 10); break;
    case ONYX_DTYPE_INT32: ((int32_t *)data)[i] = (int32_t)(u % 10); break;
    case ONYX_DTYPE_UINT64: ((uint64_t *)data)[i] = u % 10; break;
    case ONYX_DTYPE_INT64: ((int64_t *)data)[i] = (int64_t)(u % 10); break;
    default: return onyx_error(ONYX_ERR_UNSUPPORTED, "cannot make random %s data", onyx_dtype_name(dt));
    }
  }
  return ONYX_OK;
}

const char *cli_random_range(onyx_dtype dt)
{
  if (dt == ONYX_DTYPE_BOOL) return "0/1";
  if (dt == ONYX_DTYPE_FLOAT || dt == ONYX_DTYPE_DOUBLE || dt == ONYX_DTYPE_FLOAT16) return "uniform [-1, 1)";
  return "0..9";
}

void cli_build_args_init(cli_build_args *b)
{
  memset(b, 0, sizeof(*b));
  onyx_build_options_init(&b->o);
}

int cli_build_flag(const char *cmd, int argc, char **argv, int *i, cli_build_args *b)
{
  const char *a = argv[*i];
  if (!strcmp(a, "--fp32") || !strcmp(a, "--tf32") || !strcmp(a, "--fp16")) {
    b->o.precision = a[3] == '3' ? ONYX_PRECISION_FP32 : a[2] == 't' ? ONYX_PRECISION_TF32 : ONYX_PRECISION_FP16;
  } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
    b->o.verbose = 1;
  } else if (!strcmp(a, "--workspace") || !strcmp(a, "--opt-level") || !strcmp(a, "--timing-cache") ||
             !strcmp(a, "--min-shapes") || !strcmp(a, "--opt-shapes") || !strcmp(a, "--max-shapes")) {
    if (*i + 1 >= argc) return cli_fail("onyx %s: %s needs a value", cmd, a);
    const char *v = argv[++*i];
    if (!strcmp(a, "--workspace")) {
      if (cli_parse_size(v, &b->o.workspace) || !b->o.workspace)
        return cli_fail("onyx %s: bad --workspace '%s': expected a size such as 512M or 2G", cmd, v);
    } else if (!strcmp(a, "--opt-level")) {
      if (strlen(v) != 1 || v[0] < '0' || v[0] > '3') return cli_fail("onyx %s: bad --opt-level '%s': 0 to 3", cmd, v);
      b->o.opt_level = v[0] - '0';
    } else if (!strcmp(a, "--timing-cache")) {
      b->o.timing_cache = v;
    } else if (!strcmp(a, "--min-shapes")) {
      b->min_shapes = v;
    } else if (!strcmp(a, "--opt-shapes")) {
      b->opt_shapes = v;
    } else {
      b->max_shapes = v;
    }
  } else {
    return 0;
  }
  b->given++;
  return 1;
}

int cli_build_ranges(const char *cmd, const onyx_model *m, const char *shapes, const cli_build_args *b,
                     onyx_shape_range *ranges, int cap, int *n)
{
  const char *spec[4] = {shapes, b->min_shapes, b->opt_shapes, b->max_shapes};
  cli_shape *sh[4] = {0};
  int ns[4] = {0}, rc = 0;
  for (int k = 0; k < 4 && !rc; k++) rc = cli_shapes_parse(spec[k], m, &sh[k], &ns[k]);
  *n = 0;
  for (int i = 0; !rc && i < onyx_model_num_inputs(m); i++) {
    onyx_tensor_info ti;
    onyx_model_input(m, i, &ti);
    const cli_shape *fixed = cli_shapes_find(sh[0], ns[0], ti.name), *mn = cli_shapes_find(sh[1], ns[1], ti.name),
                    *op = cli_shapes_find(sh[2], ns[2], ti.name), *mx = cli_shapes_find(sh[3], ns[3], ti.name);
    if (!fixed && !mn && !op && !mx) continue;
    if (fixed && (mn || op || mx)) {
      rc = cli_fail("onyx %s: input '%s' is in --shapes and in a --min/opt/max-shapes option", cmd, ti.name);
      break;
    }
    if (!fixed && !(mn && op && mx)) {
      rc = cli_fail("onyx %s: input '%s' needs all of --min-shapes, --opt-shapes and --max-shapes", cmd, ti.name);
      break;
    }
    if (*n >= cap) {
      rc = cli_fail("onyx %s: too many inputs", cmd);
      break;
    }
    onyx_shape_range *r = &ranges[(*n)++];
    memset(r, 0, sizeof(*r));
    r->name = ti.name; /* owned by the model */
    r->ndim = fixed ? fixed->ndim : op->ndim;
    if (!fixed && (mn->ndim != r->ndim || mx->ndim != r->ndim)) {
      rc = cli_fail("onyx %s: the shapes of input '%s' have different ranks", cmd, ti.name);
      break;
    }
    for (int d = 0; d < r->ndim; d++) {
      r->min[d] = fixed ? fixed->dims[d] : mn->dims[d];
      r->opt[d] = fixed ? fixed->dims[d] : op->dims[d];
      r->max[d] = fixed ? fixed->dims[d] : mx->dims[d];
    }
  }
  for (int k = 0; k < 4; k++) cli_shapes_free(sh[k], ns[k]);
  return rc;
}
