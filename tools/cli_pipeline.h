/* What onyx detect and onyx classify share: the image list (files and
 * folders), the model or engine turned into an image pipeline (onyx.h), the
 * run with a progress bar, and the per-stage summary. */
#ifndef ONYX_TOOLS_CLI_PIPELINE_H
#define ONYX_TOOLS_CLI_PIPELINE_H

#include <stdbool.h>
#include <stdio.h>

#include "onyx.h"

/* Image arguments: files as given, folders as their .jpg/.jpeg/.png files
 * (any case; sorted by name, not recursive).  Returns 0 or prints an error and
 * returns 1; *out (strings and array) is freed by cli_images_free. */
int cli_images_expand(const char *const *args, int n, char ***out, int *n_out);
void cli_images_free(char **images, int n);

typedef struct cli_pipe {
  onyx_model *m;
  onyx_engine *e;
  onyx_pipeline *p;
  onyx_pipeline_info info;
} cli_pipe;

typedef struct cli_pipe_args {
  bool cpu;         /* --cpu: a session even when there is a GPU */
  bool fp16;        /* --fp16: build an FP16 engine (GPU only) */
  int batch;        /* --batch: 0 for the default (1; an engine file's largest) */
  int default_side; /* the input size when the model's height/width are symbolic */
} cli_pipe_args;

/* Loads MODEL.onnx (a GPU engine is built when there is a GPU and !cpu: FP32
 * or FP16, the batch dimension, when symbolic, ranging over 1..batch) or
 * MODEL.engine, and makes the pipeline.  Returns 0 or prints an error and
 * returns 1. */
int cli_pipe_open(cli_pipe *cp, const char *path, const cli_pipe_args *a, onyx_pipeline_options *o);
void cli_pipe_close(cli_pipe *cp);

typedef struct cli_pipe_stats {
  int n_ok, n_bad;
  double wall_ms;
  onyx_stage_times sum; /* over the images that succeeded */
} cli_pipe_stats;

/* Runs the images through the pipeline; each result (in order; a failed image
 * has its status and message) goes to fn with its index.  A progress bar on
 * stderr when it is a terminal and there is more than one image. */
typedef void (*cli_pipe_fn)(void *ctx, int index, const onyx_pipeline_result *r);
int cli_pipe_run(cli_pipe *cp, char *const *images, int n, cli_pipe_fn fn, void *ctx, cli_pipe_stats *st);

/* "N images in S s: X images/s; per image: decode ..., preprocess ..., ..." */
void cli_pipe_print_stats(FILE *f, const cli_pipe *cp, const cli_pipe_stats *st);

/* One name a line (a trailing \r dropped); returns 0 or prints an error and returns 1. */
typedef struct cli_names {
  char **name;
  int n;
} cli_names;
int cli_names_load(const char *path, cli_names *nm);
void cli_names_free(cli_names *nm);

#endif
