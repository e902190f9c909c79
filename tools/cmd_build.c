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

int cmd_build(int argc, char **argv)
{
  const char *path = NULL, *out_path = NULL, *shapes = NULL;
  cli_build_args ba;
  cli_build_args_init(&ba);
  onyx_build_options o;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int flag = cli_build_flag("build", argc, argv, &i, &ba);
    if (flag == 2) return 2;
    if (flag) continue;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--shapes")) {
      if (++i >= argc) return cli_fail("onyx build: %s needs a value", a);
      if (!strcmp(a, "--shapes")) shapes = argv[i];
      else out_path = argv[i];
    } else if (a[0] == '-' && a[1]) {
      usage(stderr);
      return cli_fail("onyx build: unknown option '%s'", a);
    } else if (!path) {
      path = a;
    } else {
      return cli_fail("onyx build: more than one model given ('%s')", a);
    }
  }
  o = ba.o;
  if (!path || !out_path) {
    usage(stderr);
    return cli_fail("onyx build: %s", path ? "no output given (-o MODEL.engine)" : "no model given");
  }
  if (cli_parse_only) return 0;
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
  if ((rc = cli_build_ranges("build", m, shapes, &ba, ranges, (int)(sizeof(ranges) / sizeof(ranges[0])),
                             &o.n_shapes)) != 0)
    goto out;
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
    int side = 0;
    for (int i = 0; i < onyx_engine_num_layers(e); i++) {
      onyx_layer_info li;
      onyx_engine_layer(e, i, &li);
      char tactic[32] = "-"; /* own kernels have no tactic */
      if (li.tactic != INT64_MIN) snprintf(tactic, sizeof(tactic), "%lld", (long long)li.tactic);
      printf("  [%3d] %-16s %-36s tactic %-6s %s%s\n", i, li.op_type, li.kernel, tactic,
             li.side_stream ? "|| " : "", li.name);
      side += li.side_stream != 0;
    }
    if (side)
      printf("  (||: %d layer(s) run on a second stream, beside the layer above; ONYX_CONCURRENT=0: none)\n",
             side);
  }
  rc = 0;
out:
  onyx_engine_free(e);
  onyx_model_free(m);
  return rc;
}
