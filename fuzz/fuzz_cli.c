/* Fuzz target: the command-line parsers.  The input is a command selector
 * byte (mod 5: info, run, classify, build, bench) and then the arguments,
 * separated by NUL bytes.  The command runs with cli_parse_only set, so it
 * parses and checks its arguments and returns where it would open a file.
 * Each argument also goes through the value parsers (dims, sizes,
 * percentiles, --shapes specs against a two-input model, the build flags and
 * shape ranges, cli_apply_shapes on a session). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "model_builder.h"
#include "onyx.h"
#include "tools/bench_stats.h"
#include "tools/cli_util.h"
#include "tools/commands.h"

#define MAX_ARGS 48

static onyx_model *model; /* inputs x: N x 3 (N symbolic), y: 2 */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc, (void)argv;
  mb *b = mb_new(13);
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "N,3");
  mb_input(b, "y", ONYX_DTYPE_FLOAT, "2");
  mb_output(b, "xo", ONYX_DTYPE_FLOAT, "N,3");
  mb_output(b, "yo", ONYX_DTYPE_FLOAT, "2");
  mb_node(b, "Relu", "r", "x", "xo");
  mb_node(b, "Relu", "s", "y", "yo");
  onyx_status st = mb_load(b, &model);
  mb_free(b);
  if (st != ONYX_OK) {
    fprintf(stderr, "fuzz_cli: cannot build the model: %s\n", onyx_last_error());
    abort();
  }
  cli_parse_only = 1;
  return 0;
}

static void value_parsers(int argc, char **argv)
{
  static const char *const names[] = {"x", "y"};
  for (int i = 1; i < argc; i++) {
    int64_t dims[ONYX_MAX_DIMS];
    int n = cli_parse_dims(argv[i], dims, ONYX_MAX_DIMS);
    FUZZ_CHECK(n >= -1 && n <= ONYX_MAX_DIMS);
    char buf[160];
    if (n >= 0) cli_dims_str(n, dims, buf, sizeof(buf));
    size_t sz;
    cli_parse_size(argv[i], &sz);
    double pct[64];
    FUZZ_CHECK(bench_parse_percentiles(argv[i], pct) <= 64);
    cli_shape *sh = NULL;
    int ns = 0;
    if (cli_shapes_parse_names(argv[i], names, 2, &sh, &ns) == 0) {
      for (int k = 0; k < ns; k++) cli_shapes_find(sh, ns, sh[k].name);
      cli_shapes_free(sh, ns);
    }
  }
  /* build flags and shape ranges (what `onyx build` does after loading its model) */
  cli_build_args ba;
  cli_build_args_init(&ba);
  const char *shapes = NULL;
  for (int i = 1; i < argc; i++) {
    int flag = cli_build_flag("build", argc, argv, &i, &ba);
    if (flag == 2) return;
    if (!flag && !strcmp(argv[i], "--shapes") && i + 1 < argc) shapes = argv[++i];
  }
  onyx_shape_range ranges[ONYX_MAX_DIMS * 2];
  int nr = 0;
  cli_build_ranges("build", model, shapes, &ba, ranges, (int)(sizeof(ranges) / sizeof(ranges[0])), &nr);
  onyx_session *s = NULL;
  if (onyx_session_create(model, NULL, &s) == ONYX_OK) {
    cli_apply_shapes(s, model, shapes);
    onyx_session_free(s);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const cmd_names[] = {"info", "run", "classify", "build", "bench"};
  static int (*const cmds[])(int, char **) = {cmd_info, cmd_run, cmd_classify, cmd_build, cmd_bench};
  if (size < 1 || size > 4096) return 0;
  int which = data[0] % 5;
  char *buf = malloc(size + 1); /* the arguments, NUL-terminated */
  char **argv = calloc(MAX_ARGS + 1, sizeof(char *));
  if (!buf || !argv) {
    free(buf);
    free(argv);
    return 0;
  }
  memcpy(buf, data + 1, size - 1);
  buf[size - 1] = '\0';
  int argc = 0;
  argv[argc++] = (char *)cmd_names[which];
  for (size_t p = 0; p < size - 1 && argc < MAX_ARGS;) {
    argv[argc++] = buf + p;
    p += strlen(buf + p) + 1;
  }
  argv[argc] = NULL;
  int rc = cmds[which](argc, argv);
  FUZZ_CHECK(rc >= 0 && rc <= 2);
  value_parsers(argc, argv);
  free(argv);
  free(buf);
  return 0;
}
