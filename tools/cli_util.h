/* Helpers shared by the CLI subcommands. */
#ifndef ONYX_TOOLS_CLI_UTIL_H
#define ONYX_TOOLS_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

/* When set (the CLI fuzz target sets it), each command returns 0 once its
 * arguments are parsed and checked, where it would first open a file. */
extern int cli_parse_only;

/* "onyx: error: ..." on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cli_error, then return 2 (usage error exit code). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses "1x3x224x224" (or "224" or "" for a scalar); returns number of dims or -1. */
int cli_parse_dims(const char *s, int64_t *dims, int cap);
/* "512M", "2G", "1024": bytes; 0 on success, -1 if malformed. */
int cli_parse_size(const char *v, size_t *out);
char *cli_dims_str(int ndim, const int64_t *dims, char *buf, size_t cap);
/* One entry of a --shapes spec. */
typedef struct cli_shape {
  char *name;
  int ndim;
  int64_t dims[ONYX_MAX_DIMS];
} cli_shape;

/* Parses "a:1x3x224x224,b:1x10", checking that each name is an input of m
 * and appears once.  Returns 0 (with *out to free by cli_shapes_free, NULL
 * for a NULL spec), or prints an error and returns the exit code (2: usage). */
int cli_shapes_parse(const char *spec, const onyx_model *m, cli_shape **out, int *n);
/* The same against a list of input names (e.g. an engine's). */
int cli_shapes_parse_names(const char *spec, const char *const *names, int n_names, cli_shape **out, int *n);
void cli_shapes_free(cli_shape *shapes, int n);
const cli_shape *cli_shapes_find(const cli_shape *shapes, int n, const char *name);

/* Applies "--shapes a:1x3x224x224,b:1x10" to the session; inputs not named
 * get their declared shape with symbolic dims set to 1.  Returns 0 or prints
 * an error and returns non-zero. */
int cli_apply_shapes(onyx_session *s, const onyx_model *m, const char *spec);

/* Seeded inputs, shared by run and bench: splitmix64 over the elements (one
 * draw u per element): float32 (u >> 40) * 2^-24 * 2 - 1, double (u >> 11) *
 * 2^-53 * 2 - 1, float16 (u >> 53) * 2^-11 * 2 - 1 (uniform in [-1, 1)),
 * integers u % 10, bool u >> 63. */
uint64_t cli_splitmix64(uint64_t *state);
onyx_status cli_fill_random(onyx_dtype dt, void *data, int64_t n, uint64_t *rng);
const char *cli_random_range(onyx_dtype dt);

/* Engine build flags as `onyx build` takes them: --fp32/--tf32/--fp16,
 * --workspace SIZE, --opt-level N, --timing-cache FILE, --min-shapes,
 * --opt-shapes, --max-shapes SPEC, --verbose. */
typedef struct cli_build_args {
  onyx_build_options o;
  const char *min_shapes, *opt_shapes, *max_shapes;
  int given; /* how many build flags were given */
} cli_build_args;
void cli_build_args_init(cli_build_args *b);
/* If argv[*i] is a build flag, consumes it and its value (advancing *i) and
 * returns 1; returns 0 if it is not one, or 2 after a usage error naming cmd. */
int cli_build_flag(const char *cmd, int argc, char **argv, int *i, cli_build_args *b);
/* Shape ranges from --shapes (min = opt = max; may be NULL) and --min/opt/max-shapes
 * for the inputs they name (at most cap).  Returns 0 or prints an error and returns 2. */
int cli_build_ranges(const char *cmd, const onyx_model *m, const char *shapes, const cli_build_args *b,
                     onyx_shape_range *ranges, int cap, int *n);

#endif
