/* onyx build MODEL.onnx -o MODEL.engine [--fp32|--tf32|--fp16] [--workspace SIZE]
 *   [--shapes NAME:DIMS,...] [--min-shapes ...] [--opt-shapes ...] [--max-shapes ...]
 *   [--timing-cache FILE] [--opt-level 0..3] [--verbose] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onyx.h"
#include "tools/cli_util.h"
#include "tools/commands.h"

static void usage(FILE *f)
{
  fprintf(f,
          "usage: onyx build MODEL.onnx -o MODEL.engine [--fp32|--tf32|--fp16] [--workspace SIZE]\n"
          "                  [--shapes NAME:DIMS,...] [--min-shapes ...] [--opt-shapes ...] [--max-shapes ...]\n"
          "                  [--timing-cache FILE] [--opt-level 0..3] [--verbose]\n"
          "  --fp32/--tf32/--fp16  precision (default fp32: TF32 off; fp16 keeps inputs/outputs fp32)\n"
          "  --workspace SIZE      scratch a layer may use, e.g. 256M, 2G (default 1G)\n"
          "  --shapes              fixed shapes for inputs with symbolic dims (min = opt = max)\n"
          "  --min/opt/max-shapes  a range instead; tactics are timed at opt\n"
          "  --timing-cache FILE   reuse and update timings across builds\n"
          "  --opt-level N         0: no graph fusion ... 3: all passes (default 3)\n"
          "  --verbose             list the layers (fused ONNX nodes joined by ' + ') and their kernels\n");
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fills ranges[] from the four shape options (each NAME:DIMS,...). */
static int make_ranges(const onyx_model *m, const char *spec[4], onyx_shape_range *ranges, int *n)
{
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
      rc = cli_fail("onyx build: input '%s' is in --shapes and in a --min/opt/max-shapes option", ti.name);
      break;
    }
    if (!fixed && !(mn && op && mx)) {
      rc = cli_fail("onyx build: input '%s' needs all of --min-shapes, --opt-shapes and --max-shapes", ti.name);
      break;
    }
    onyx_shape_range *r = &ranges[(*n)++];
    r->name = ti.name; /* owned by the model */
    r->ndim = fixed ? fixed->ndim : op->ndim;
    if (!fixed && (mn->ndim != r->ndim || mx->ndim != r->ndim)) {
      rc = cli_fail("onyx build: the shapes of input '%s' have different ranks", ti.name);
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

int cmd_build(int argc, char **argv)
{
  const char *path = NULL, *out_path = NULL, *spec[4] = {0};
  onyx_build_options o;
  onyx_build_options_init(&o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--fp32")) {
      o.precision = ONYX_PRECISION_FP32;
    } else if (!strcmp(a, "--tf32")) {
      o.precision = ONYX_PRECISION_TF32;
    } else if (!strcmp(a, "--fp16")) {
      o.precision = ONYX_PRECISION_FP16;
    } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
      o.verbose = 1;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--workspace") || !strcmp(a, "--shapes") ||
               !strcmp(a, "--min-shapes") || !strcmp(a, "--opt-shapes") || !strcmp(a, "--max-shapes") ||
               !strcmp(a, "--timing-cache") || !strcmp(a, "--opt-level")) {
      if (++i >= argc) return cli_fail("onyx build: %s needs a value", a);
      const char *v = argv[i];
      if (!strcmp(a, "-o") || !strcmp(a, "--output")) out_path = v;
      else if (!strcmp(a, "--shapes")) spec[0] = v;
      else if (!strcmp(a, "--min-shapes")) spec[1] = v;
      else if (!strcmp(a, "--opt-shapes")) spec[2] = v;
      else if (!strcmp(a, "--max-shapes")) spec[3] = v;
      else if (!strcmp(a, "--timing-cache")) o.timing_cache = v;
      else if (!strcmp(a, "--workspace")) {
        if (cli_parse_size(v, &o.workspace) || o.workspace == 0)
          return cli_fail("onyx build: bad --workspace '%s': expected a size such as 512M or 2G", v);
      } else {
        if (strlen(v) != 1 || v[0] < '0' || v[0] > '3') return cli_fail("onyx build: bad --opt-level '%s': 0 to 3", v);
        o.opt_level = v[0] - '0';
      }
    } else if (a[0] == '-' && a[1]) {
      usage(stderr);
      return cli_fail("onyx build: unknown option '%s'", a);
    } else if (!path) {
      path = a;
    } else {
      return cli_fail("onyx build: more than one model given ('%s')", a);
    }
  }
  if (!path || !out_path) {
    usage(stderr);
    return cli_fail("onyx build: %s", path ? "no output given (-o MODEL.engine)" : "no model given");
  }
  onyx_model *m = NULL;
  onyx_engine *e = NULL;
  onyx_shape_range ranges[ONYX_MAX_DIMS * 2];
  int rc = 1;
  if (onyx_model_load(path, &m) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    goto out;
  }
  if (onyx_model_num_inputs(m) > (int)(sizeof(ranges) / sizeof(ranges[0]))) {
    cli_error("the model has too many inputs");
    goto out;
  }
  if ((rc = make_ranges(m, spec, ranges, &o.n_shapes)) != 0) goto out;
  rc = 1;
  o.shapes = ranges;
  double t0 = now_s();
  if (onyx_engine_build(m, &o, &e) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    goto out;
  }
  double t1 = now_s();
  if (onyx_engine_save(e, out_path) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    goto out;
  }
  onyx_engine_memory mem;
  onyx_engine_get_memory(e, &mem);
  static const char *const prec[] = {"fp32", "tf32", "fp16"};
  printf("built %s -> %s: %d layers, %s, %.2f s\n", path, out_path, onyx_engine_num_layers(e),
         prec[onyx_engine_precision(e)], t1 - t0);
  printf("memory: weights %.2f MB, activations %.2f MB, workspace %.2f MB\n", (double)mem.weight_bytes / 1e6,
         (double)mem.activation_bytes / 1e6, (double)mem.workspace_bytes / 1e6);
  if (o.verbose) {
    for (int i = 0; i < onyx_engine_num_layers(e); i++) {
      onyx_layer_info li;
      onyx_engine_layer(e, i, &li);
      char tactic[32] = "-"; /* own kernels have no tactic */
      if (li.tactic != INT64_MIN) snprintf(tactic, sizeof(tactic), "%lld", (long long)li.tactic);
      printf("  [%3d] %-16s %-36s tactic %-6s %s\n", i, li.op_type, li.kernel, tactic, li.name);
    }
  }
  rc = 0;
out:
  onyx_engine_free(e);
  onyx_model_free(m);
  return rc;
}
