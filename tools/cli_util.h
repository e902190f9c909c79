/* Helpers shared by the CLI subcommands. */
#ifndef ONYX_TOOLS_CLI_UTIL_H
#define ONYX_TOOLS_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

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

#endif
