/* onyx run (MODEL.onnx | --engine FILE) [--input NAME=FILE.npy|FILE.bin ...] [--shapes NAME:DIMS,...]
 *          [--output-dir DIR] [--seed N] [--backend cpu|cuda] [--fp32|--tf32|--fp16] [--workspace SIZE]
 *          [--opt-level N] [--timing-cache FILE]
 * Runs a model once (CPU backend, or a GPU engine built here or loaded) and
 * writes every output as DIR/<name>.npy.
 *
 * Inputs not given with --input are filled from splitmix64 seeded with --seed
 * (default 0); one generator runs over the inputs in model order, one draw u
 * (a uint64) per element:
 *   float32: (u >> 40) * 2^-24 * 2 - 1     double: (u >> 11) * 2^-53 * 2 - 1
 *   float16: (u >> 53) * 2^-11 * 2 - 1     (all uniform in [-1, 1), exact)
 *   integers: u % 10                        bool: u >> 63
 * splitmix64: state += 0x9e3779b97f4a7c15; z = state;
 *   z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9; z = (z ^ z >> 27) * 0x94d049bb133111eb; u = z ^ z >> 31. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/util.h"
#include "io/npy.h"
#include "onyx.h"
#include "tools/cli_util.h"
#include "tools/commands.h"

typedef struct run_input_arg {
  const char *name, *path;
} run_input_arg;

static void usage(FILE *f)
{
  fprintf(f, "usage: onyx run MODEL.onnx [--input NAME=FILE.npy|FILE.bin ...] [--shapes NAME:DIMS,...]\n"
             "                [--output-dir DIR] [--seed N] [--backend cpu|cuda] [--engine FILE]\n"
             "                [--fp32|--tf32|--fp16] [--workspace SIZE] [--opt-level N] [--timing-cache FILE]\n"
             "  --input       bind an input to a .npy file, or to a raw little-endian file (any other\n"
             "                extension) read with the input's dtype and shape; one unknown dimension\n"
             "                is inferred from the file size\n"
             "  --shapes      concrete input shapes, e.g. input:8x3x224x224 (symbolic dims default to 1)\n"
             "  --output-dir  where each output is written as <name>.npy (default: .)\n"
             "  --seed        seed of the random values of inputs not given with --input (default 0):\n"
             "                splitmix64; floats uniform in [-1, 1), integers 0..9, bools 0/1\n"
             "  --backend     cpu (default) or cuda: an engine is built for these shapes with the build flags\n"
             "                below (as `onyx build` takes them) and run once\n"
             "  --engine      run a saved engine (`onyx build`) instead of a model\n");
}

static double element(onyx_dtype dt, const void *data, int64_t i)
{
  switch (dt) {
  case ONYX_DTYPE_FLOAT: return ((const float *)data)[i];
  case ONYX_DTYPE_DOUBLE: return ((const double *)data)[i];
  case ONYX_DTYPE_FLOAT16: return onyx_half_to_float(((const uint16_t *)data)[i]);
  case ONYX_DTYPE_BOOL:
  case ONYX_DTYPE_UINT8: return ((const uint8_t *)data)[i];
  case ONYX_DTYPE_INT8: return ((const int8_t *)data)[i];
  case ONYX_DTYPE_UINT16: return ((const uint16_t *)data)[i];
  case ONYX_DTYPE_INT16: return ((const int16_t *)data)[i];
  case ONYX_DTYPE_UINT32: return ((const uint32_t *)data)[i];
  case ONYX_DTYPE_INT32: return ((const int32_t *)data)[i];
  case ONYX_DTYPE_UINT64: return (double)((const uint64_t *)data)[i];
  case ONYX_DTYPE_INT64: return (double)((const int64_t *)data)[i];
  default: return NAN;
  }
}

/* "name: float32 1x1000  min .. max .. mean .." (NaNs are counted, not averaged). */
static void print_stats(const onyx_tensor_info *ti, const void *data, const char *file)
{
  char dims[160];
  int64_t n = onyx_numel(ti->ndim, ti->dims), nan = 0;
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = element(ti->dtype, data, i);
    if (isnan(v)) {
      nan++;
      continue;
    }
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    sum += v;
  }
  printf("  %-20s %-8s %-16s", ti->name, onyx_dtype_name(ti->dtype),
         cli_dims_str(ti->ndim, ti->dims, dims, sizeof(dims)));
  if (n > nan)
    printf(" min %-12.6g max %-12.6g mean %-12.6g", lo, hi, sum / (double)(n - nan));
  else
    printf(" (no values)%*s", 40, "");
  if (nan) printf(" (%" PRId64 " NaN)", nan);
  printf(" -> %s\n", file);
}

/* Output names may hold '/', ':' and worse: keep [A-Za-z0-9._-], map the rest to '_'. */
static void sanitise(const char *name, char *out, size_t cap)
{
  size_t n = 0;
  for (; *name && n + 1 < cap; name++) {
    char c = *name;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    out[n++] = ok ? c : '_';
  }
  out[n] = '\0';
  if (!n || !strcmp(out, ".") || !strcmp(out, "..")) snprintf(out, cap, "output_%s", n ? "dots" : "unnamed");
}

static int ensure_dir(const char *dir)
{
  struct stat st;
  if (mkdir(dir, 0777) == 0) return 0;
  if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
  cli_error("cannot create output directory '%s': %s", dir,
            errno == EEXIST ? "not a directory" : strerror(errno));
  return 1;
}

static bool ends_with(const char *s, const char *suffix)
{
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* What the run goes through: a session (CPU, or the CUDA backend layer by
 * layer) or an engine context (GPU: built here from build flags, or loaded). */
typedef struct target {
  const onyx_model *m;
  onyx_session *s;
  onyx_engine *e;
  onyx_context *c;
} target;

static int target_num_inputs(const target *t)
{
  return t->e ? onyx_engine_num_inputs(t->e) : onyx_model_num_inputs(t->m);
}
static int target_num_outputs(const target *t)
{
  return t->e ? onyx_engine_num_outputs(t->e) : onyx_model_num_outputs(t->m);
}
static void target_input(const target *t, int i, onyx_tensor_info *ti)
{
  if (t->e) onyx_engine_input(t->e, i, ti);
  else onyx_model_input(t->m, i, ti);
}
static void target_output_decl(const target *t, int i, onyx_tensor_info *ti)
{
  if (t->e) onyx_engine_output(t->e, i, ti);
  else onyx_model_output(t->m, i, ti);
}

static onyx_status target_set_input(target *t, const char *name, const npy_array *a)
{
  if (!t->e) return onyx_session_set_input(t->s, name, a->dtype, a->ndim, a->dims, a->data ? a->data : "");
  onyx_tensor_info decl = {0};
  for (int i = 0; i < onyx_engine_num_inputs(t->e); i++) {
    target_input(t, i, &decl);
    if (!strcmp(decl.name, name)) break;
  }
  if (a->dtype != decl.dtype)
    return onyx_error(ONYX_ERR_SHAPE, "input '%s' expects %s data, got %s", name, onyx_dtype_name(decl.dtype),
                      onyx_dtype_name(a->dtype));
  void *buf;
  ONYX_TRY(onyx_context_set_input_shape(t->c, name, a->ndim, a->dims));
  ONYX_TRY(onyx_context_host_buffer(t->c, name, &buf));
  if (a->nbytes) memcpy(buf, a->data, a->nbytes);
  return ONYX_OK;
}

static onyx_status target_run(target *t)
{
  if (!t->e) {
    ONYX_TRY(onyx_session_prepare(t->s));
    return onyx_session_run(t->s);
  }
  ONYX_TRY(onyx_context_enqueue(t->c, NULL));
  return onyx_context_synchronize(t->c);
}

static onyx_status target_output(target *t, int i, onyx_tensor_info *ti, const void **data)
{
  if (!t->e) return onyx_session_output(t->s, i, ti, data);
  void *buf;
  ONYX_TRY(onyx_context_output(t->c, i, ti));
  ONYX_TRY(onyx_context_host_buffer(t->c, ti->name, &buf));
  *data = buf;
  return ONYX_OK;
}

/* Reads or generates one input's data and binds it.  Returns an exit code. */
static int bind_input(target *t, const onyx_tensor_info *decl, const cli_shape *shape, const char *path,
                      uint64_t *rng, uint64_t seed)
{
  npy_array a = {0};
  char dims_buf[160];
  int ndim = decl->ndim;
  int64_t dims[ONYX_MAX_DIMS];
  int rc = 1;
  if (shape) {
    ndim = shape->ndim;
    memcpy(dims, shape->dims, sizeof(dims));
  } else if (ndim >= 0) {
    memcpy(dims, decl->dims, sizeof(dims));
  }
  if (path && ends_with(path, ".npy")) {
    if (npy_read(path, &a) != ONYX_OK) goto err;
    if (shape && (a.ndim != ndim || memcmp(a.dims, dims, sizeof(*dims) * (size_t)ndim))) {
      char b2[160];
      cli_error("input '%s': '%s' holds %s but --shapes says %s", decl->name, path,
                cli_dims_str(a.ndim, a.dims, dims_buf, sizeof(dims_buf)),
                cli_dims_str(ndim, dims, b2, sizeof(b2)));
      goto out;
    }
  } else if (path) {
    if (ndim < 0) {
      cli_error("input '%s' has no declared rank: give its shape with --shapes to read the raw file '%s'",
                decl->name, path);
      goto out;
    }
    if (raw_read(path, decl->dtype, ndim, dims, &a) != ONYX_OK) goto err;
  } else {
    if (ndim < 0) {
      cli_error("input '%s' has no declared rank: give its shape with --shapes or its data with --input",
                decl->name);
      goto out;
    }
    a.dtype = decl->dtype;
    a.ndim = ndim;
    for (int d = 0; d < ndim; d++) a.dims[d] = dims[d] < 0 ? 1 : dims[d];
    int64_t n = onyx_numel(a.ndim, a.dims), bytes;
    size_t esize = onyx_dtype_size(a.dtype);
    if (!esize) {
      cli_error("input '%s': cannot make random %s data; give it with --input", decl->name,
                onyx_dtype_name(a.dtype));
      goto out;
    }
    if (n < 0 || onyx_mul_overflow_i64(n, (int64_t)esize, &bytes)) {
      cli_error("input '%s': shape %s is too large", decl->name,
                cli_dims_str(a.ndim, a.dims, dims_buf, sizeof(dims_buf)));
      goto out;
    }
    if (!(a.data = onyx_malloc(bytes ? (size_t)bytes : 1))) goto err;
    a.nbytes = (size_t)bytes;
    if (cli_fill_random(a.dtype, a.data, n, rng) != ONYX_OK) goto err;
    fprintf(stderr, "onyx: input '%s' not given: random %s %s (%s, splitmix64 seed %" PRIu64 ")\n",
            decl->name, onyx_dtype_name(a.dtype), cli_dims_str(a.ndim, a.dims, dims_buf, sizeof(dims_buf)),
            cli_random_range(a.dtype), seed);
  }
  if (path && a.dtype != decl->dtype) {
    cli_error("input '%s' is %s but '%s' holds %s data", decl->name, onyx_dtype_name(decl->dtype), path,
              onyx_dtype_name(a.dtype));
    goto out;
  }
  if (target_set_input(t, decl->name, &a) != ONYX_OK) goto err;
  rc = 0;
  goto out;
err:
  cli_error("%s", onyx_last_error());
out:
  npy_array_free(&a);
  return rc;
}

/* Shape ranges (min = opt = max) for an in-memory engine: --shapes, else the
 * declared shape with symbolic dims set to 1. */
static int fixed_ranges(const onyx_model *m, const cli_shape *shapes, int n_shapes, onyx_shape_range *r)
{
  int n = 0;
  for (int i = 0; i < onyx_model_num_inputs(m) && i < 8; i++) {
    onyx_tensor_info ti;
    onyx_model_input(m, i, &ti);
    const cli_shape *sh = cli_shapes_find(shapes, n_shapes, ti.name);
    onyx_shape_range *x = &r[n++];
    memset(x, 0, sizeof(*x));
    x->name = ti.name;
    x->ndim = sh ? sh->ndim : ti.ndim;
    for (int d = 0; d < x->ndim; d++) {
      int64_t v = sh ? sh->dims[d] : ti.dims[d] < 0 ? 1 : ti.dims[d];
      x->min[d] = x->opt[d] = x->max[d] = v;
    }
  }
  return n;
}

static int parse_backend(const char *v, onyx_backend *b)
{
  if (!strcmp(v, "cpu")) *b = ONYX_BACKEND_CPU;
  else if (!strcmp(v, "cuda")) *b = ONYX_BACKEND_CUDA;
  else return cli_fail("onyx run: bad --backend '%s': expected cpu or cuda", v);
  return 0;
}

int cmd_run(int argc, char **argv)
{
  const char *path = NULL, *engine_path = NULL, *shapes_spec = NULL, *out_dir = ".";
  onyx_backend backend = ONYX_BACKEND_CPU;
  onyx_build_options bo;
  onyx_build_options_init(&bo);
  bool build_flags = false;
  uint64_t seed = 0;
  run_input_arg *inputs = calloc((size_t)argc, sizeof(*inputs));
  int n_inputs = 0, rc = 2;
  onyx_model *m = NULL;
  target t = {0};
  cli_shape *shapes = NULL;
  int n_shapes = 0;
  char **files = NULL;
  const char **names = NULL;
  int n_out = 0;
  if (!inputs) {
    cli_error("out of memory");
    return 1;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      rc = 0;
      goto out;
    } else if (!strcmp(a, "--fp32") || !strcmp(a, "--tf32") || !strcmp(a, "--fp16")) {
      bo.precision = a[3] == '3' ? ONYX_PRECISION_FP32 : a[2] == 't' ? ONYX_PRECISION_TF32 : ONYX_PRECISION_FP16;
      build_flags = true;
    } else if (!strcmp(a, "--input") || !strcmp(a, "--shapes") || !strcmp(a, "--output-dir") ||
               !strcmp(a, "--seed") || !strcmp(a, "--backend") || !strcmp(a, "--engine") ||
               !strcmp(a, "--workspace") || !strcmp(a, "--opt-level") || !strcmp(a, "--timing-cache")) {
      if (++i >= argc) {
        rc = cli_fail("onyx run: %s needs a value", a);
        goto out;
      }
      const char *v = argv[i];
      if (!strcmp(a, "--input")) {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || !eq[1]) {
          rc = cli_fail("onyx run: bad --input '%s': expected NAME=FILE.npy or NAME=FILE.bin", v);
          goto out;
        }
        inputs[n_inputs].name = v;
        inputs[n_inputs++].path = eq + 1;
      } else if (!strcmp(a, "--shapes")) {
        if (shapes_spec) {
          rc = cli_fail("onyx run: --shapes given twice (list all inputs in one: a:1x3,b:2)");
          goto out;
        }
        shapes_spec = v;
      } else if (!strcmp(a, "--backend")) {
        if ((rc = parse_backend(v, &backend))) goto out;
        rc = 2;
      } else if (!strcmp(a, "--engine")) {
        engine_path = v;
      } else if (!strcmp(a, "--workspace")) {
        if (cli_parse_size(v, &bo.workspace) || !bo.workspace) {
          rc = cli_fail("onyx run: bad --workspace '%s': expected a size such as 512M or 2G", v);
          goto out;
        }
        build_flags = true;
      } else if (!strcmp(a, "--opt-level")) {
        if (strlen(v) != 1 || v[0] < '0' || v[0] > '3') {
          rc = cli_fail("onyx run: bad --opt-level '%s': 0 to 3", v);
          goto out;
        }
        bo.opt_level = v[0] - '0';
        build_flags = true;
      } else if (!strcmp(a, "--timing-cache")) {
        bo.timing_cache = v;
        build_flags = true;
      } else if (!strcmp(a, "--output-dir")) {
        if (!*v) {
          rc = cli_fail("onyx run: --output-dir is empty");
          goto out;
        }
        out_dir = v;
      } else {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (!*v || *end || errno || v[0] == '-') {
          rc = cli_fail("onyx run: bad --seed '%s': expected a non-negative integer", v);
          goto out;
        }
        seed = x;
      }
    } else if (a[0] == '-' && a[1]) {
      usage(stderr);
      rc = cli_fail("onyx run: unknown option '%s'", a);
      goto out;
    } else if (!path) {
      path = a;
    } else {
      rc = cli_fail("onyx run: more than one model given ('%s')", a);
      goto out;
    }
  }
  if (!path && !engine_path) {
    usage(stderr);
    rc = cli_fail("onyx run: no model given");
    goto out;
  }
  if (path && engine_path) {
    rc = cli_fail("onyx run: give a model or --engine, not both");
    goto out;
  }
  if (engine_path) backend = ONYX_BACKEND_CUDA;
  if (build_flags && (engine_path || backend != ONYX_BACKEND_CUDA)) {
    rc = cli_fail("onyx run: build flags (--fp16, --workspace, ...) need a model and --backend cuda");
    goto out;
  }
  rc = 0;
  if (cli_parse_only) goto out;
  rc = 1;
  double t0 = now_ms();
  if (engine_path) {
    if (onyx_engine_load(engine_path, &t.e) != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      goto out;
    }
  } else if (onyx_model_load(path, &m) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    goto out;
  }
  t.m = m;
  int n_in = target_num_inputs(&t);
  names = calloc((size_t)n_in + 1, sizeof(*names));
  if (!names) {
    cli_error("out of memory");
    goto out;
  }
  for (int i = 0; i < n_in; i++) {
    onyx_tensor_info ti;
    target_input(&t, i, &ti);
    names[i] = ti.name;
  }
  /* Every --input must name an input, once. */
  for (int k = 0; k < n_inputs; k++) {
    size_t len = (size_t)(strchr(inputs[k].name, '=') - inputs[k].name);
    int found = -1;
    for (int i = 0; i < n_in && found < 0; i++)
      if (strlen(names[i]) == len && !memcmp(names[i], inputs[k].name, len)) found = i;
    for (int j = 0; j < k; j++)
      if (!strncmp(inputs[j].name, inputs[k].name, len + 1)) {
        rc = cli_fail("onyx run: --input gives '%.*s' twice", (int)len, inputs[k].name);
        goto out;
      }
    if (found < 0) {
      rc = cli_fail("onyx run: --input names '%.*s', which is not an input of the model", (int)len,
                    inputs[k].name);
      goto out;
    }
  }
  int src = cli_shapes_parse_names(shapes_spec, names, n_in, &shapes, &n_shapes);
  if (src) {
    rc = src;
    goto out;
  }
  onyx_status st;
  if (t.e) {
    st = onyx_context_create(t.e, &t.c);
  } else if (backend == ONYX_BACKEND_CUDA) { /* an engine for exactly these shapes, built here */
    onyx_shape_range ranges[8];
    bo.shapes = ranges;
    bo.n_shapes = fixed_ranges(m, shapes, n_shapes, ranges);
    st = onyx_engine_build(m, &bo, &t.e);
    if (st == ONYX_OK) st = onyx_context_create(t.e, &t.c);
  } else {
    st = onyx_session_create(m, NULL, &t.s);
  }
  if (st != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    goto out;
  }
  uint64_t rng = seed;
  for (int i = 0; i < n_in; i++) {
    onyx_tensor_info ti;
    target_input(&t, i, &ti);
    const char *file = NULL;
    for (int k = 0; k < n_inputs && !file; k++) {
      size_t len = strlen(ti.name);
      if (!strncmp(inputs[k].name, ti.name, len) && inputs[k].name[len] == '=') file = inputs[k].path;
    }
    if (bind_input(&t, &ti, cli_shapes_find(shapes, n_shapes, ti.name), file, &rng, seed)) goto out;
  }
  double t1 = now_ms();
  if (target_run(&t) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    goto out;
  }
  double t2 = now_ms();

  /* Output file names: sanitised, and distinct. */
  n_out = target_num_outputs(&t);
  files = calloc((size_t)n_out + 1, sizeof(*files));
  if (!files) {
    cli_error("out of memory");
    goto out;
  }
  for (int i = 0; i < n_out; i++) {
    onyx_tensor_info ti;
    target_output_decl(&t, i, &ti);
    char safe[256];
    sanitise(ti.name, safe, sizeof(safe));
    size_t len = strlen(out_dir) + strlen(safe) + 6;
    if (!(files[i] = malloc(len))) {
      cli_error("out of memory");
      goto out;
    }
    snprintf(files[i], len, "%s/%s.npy", out_dir, safe);
    for (int j = 0; j < i; j++)
      if (!strcmp(files[i], files[j])) {
        cli_error("outputs %d and %d would both be written to '%s' (names differ only in characters outside "
                  "[A-Za-z0-9._-])",
                  j, i, files[i]);
        goto out;
      }
  }
  if (n_out && ensure_dir(out_dir)) goto out;
  printf("outputs:\n");
  for (int i = 0; i < n_out; i++) {
    onyx_tensor_info ti;
    const void *data;
    if (target_output(&t, i, &ti, &data) != ONYX_OK || npy_write(files[i], ti.dtype, ti.ndim, ti.dims, data) != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      goto out;
    }
    print_stats(&ti, data, files[i]);
  }
  if (t.e)
    printf("inference: %.3f ms on the GPU, first run: engine %s %.0f ms before it\n", t2 - t1,
           engine_path ? "loaded" : "built", t1 - t0);
  else
    printf("inference: %.3f ms on the CPU (prepare included)\n", t2 - t1);
  rc = 0;
out:
  for (int i = 0; files && i < n_out; i++) free(files[i]);
  free(files);
  free(names);
  cli_shapes_free(shapes, n_shapes);
  onyx_session_free(t.s);
  onyx_context_free(t.c);
  onyx_engine_free(t.e);
  onyx_model_free(m);
  free(inputs);
  return rc;
}
