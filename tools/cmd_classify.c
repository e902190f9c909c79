/* onyx classify MODEL.onnx|MODEL.engine IMAGE|FOLDER... [--topk 5] [--labels FILE] [--batch N] [--cpu]
 * ImageNet-style classification of JPEG/PNG photos through the image pipeline
 * (onyx.h): decode on worker threads, centre-crop plan (src/vision/prep.h),
 * run, softmax (unless the output already is a probability vector), print the
 * top k classes of each image.
 *
 * Labels: --labels FILE (one per line, in class order), else
 * imagenet_classes.txt beside the model if present, else indices only.
 * A bad image is reported and skipped; the exit code is then 1. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "io/image.h"
#include "onyx.h"
#include "tools/cli_pipeline.h"
#include "tools/cli_util.h"
#include "tools/commands.h"

#define DEFAULT_SIDE 224

static void usage(FILE *f)
{
  fprintf(f, "usage: onyx classify MODEL.onnx|MODEL.engine IMAGE|FOLDER... [--topk K] [--labels FILE] [--batch N]\n"
             "                     [--cpu | --fp16]\n"
             "  IMAGE     JPEG or PNG; resized (short side 256 for a 224 input), centre-cropped to the\n"
             "            model's input size and normalised with the ImageNet mean/std; a FOLDER stands for\n"
             "            its .jpg, .jpeg and .png files, sorted by name\n"
             "  --topk    how many classes to print per image (default 5)\n"
             "  --labels  class names, one per line (default: imagenet_classes.txt beside the model,\n"
             "            if present)\n"
             "  --batch   images per inference (the engine is built for batches of 1..N when the model's\n"
             "            batch is symbolic; default 1)\n"
             "  --cpu     run on the CPU even when there is a GPU\n"
             "  --fp16    build an FP16 engine instead of FP32 (GPU)\n"
             "  With more than one image, stderr gets the mean time per image of each stage and images/s.\n");
}

typedef struct run_ctx {
  char **images;
  const cli_names *lab;
  bool on_gpu;
} run_ctx;

static void on_result(void *arg, int index, const onyx_pipeline_result *r)
{
  run_ctx *x = arg;
  if (r->status != ONYX_OK) {
    cli_error("%s", r->error);
    return;
  }
  const onyx_stage_times *t = &r->times;
  printf("%s (%dx%d): %.2f ms on the %s%s\n", x->images[index], r->width, r->height, t->h2d + t->inference + t->d2h,
         x->on_gpu ? "GPU" : "CPU",
         r->softmax ? "" : " (output used as probabilities)");
  for (int k = 0; k < r->n_classes; k++) {
    int c = r->classes[k].class_id;
    printf("  %d  %4d  %-32s %.4f\n", k + 1, c, c < x->lab->n ? x->lab->name[c] : "", (double)r->classes[k].prob);
  }
  fflush(stdout);
}

int cmd_classify(int argc, char **argv)
{
  const char *model_path = NULL, *labels_path = NULL;
  const char **args = calloc((size_t)argc, sizeof(*args));
  int n_args = 0, topk = 5, batch = 0, rc = 2, n_images = 0;
  bool cpu = false, fp16 = false;
  char **images = NULL;
  cli_pipe cp = {0};
  cli_names lab = {0};
  char *auto_labels = NULL;
  if (!args) {
    cli_error("out of memory");
    return 1;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      rc = 0;
      goto out;
    } else if (!strcmp(a, "--cpu")) {
      cpu = true;
    } else if (!strcmp(a, "--fp16")) {
      fp16 = true;
    } else if (!strcmp(a, "--topk") || !strcmp(a, "--labels") || !strcmp(a, "--batch")) {
      if (++i >= argc) {
        rc = cli_fail("onyx classify: %s needs a value", a);
        goto out;
      }
      if (!strcmp(a, "--labels")) {
        labels_path = argv[i];
        continue;
      }
      char *end;
      long k = strtol(argv[i], &end, 10), hi = !strcmp(a, "--topk") ? 1000000 : 4096;
      if (!argv[i][0] || *end || k < 1 || k > hi) {
        rc = cli_fail("onyx classify: bad %s '%s': expected a positive integer%s", a, argv[i],
                      hi == 4096 ? " up to 4096" : "");
        goto out;
      }
      if (!strcmp(a, "--topk")) topk = (int)k;
      else batch = (int)k;
    } else if (a[0] == '-' && a[1]) {
      usage(stderr);
      rc = cli_fail("onyx classify: unknown option '%s'", a);
      goto out;
    } else if (!model_path) {
      model_path = a;
    } else {
      args[n_args++] = a;
    }
  }
  if (!model_path || !n_args) {
    usage(stderr);
    rc = cli_fail("onyx classify: %s", model_path ? "no image given" : "no model given");
    goto out;
  }
  rc = 0;
  if (cli_parse_only) goto out;
  rc = 1;
  if (cli_images_expand(args, n_args, &images, &n_images)) goto out;
  onyx_pipeline_options po;
  onyx_pipeline_options_init(&po);
  po.task = ONYX_TASK_CLASSIFY;
  po.topk = topk;
  cli_pipe_args pa = {.cpu = cpu, .fp16 = fp16, .batch = batch, .default_side = DEFAULT_SIDE};
  if (cli_pipe_open(&cp, model_path, &pa, &po)) goto out;

  if (!labels_path) { /* imagenet_classes.txt beside the model */
    const char *slash = strrchr(model_path, '/');
    size_t dir = slash ? (size_t)(slash - model_path + 1) : 0;
    auto_labels = malloc(dir + sizeof("imagenet_classes.txt"));
    if (!auto_labels) {
      cli_error("out of memory");
      goto out;
    }
    memcpy(auto_labels, model_path, dir);
    strcpy(auto_labels + dir, "imagenet_classes.txt");
    if (access(auto_labels, R_OK) == 0) labels_path = auto_labels;
  }
  if (labels_path && cli_names_load(labels_path, &lab)) goto out;
  if (lab.n && lab.n != cp.info.n_classes)
    fprintf(stderr, "onyx: warning: %d labels in '%s' but the model has %d classes\n", lab.n, labels_path,
            cp.info.n_classes);
  run_ctx x = {.images = images, .lab = &lab, .on_gpu = cp.info.on_gpu};
  cli_pipe_stats st;
  if (cli_pipe_run(&cp, images, n_images, on_result, &x, &st)) goto out;
  if (n_images > 1) cli_pipe_print_stats(stderr, &cp, &st);
  rc = st.n_bad ? 1 : 0;
  if (st.n_bad) fprintf(stderr, "onyx: %d of %d images could not be classified\n", st.n_bad, n_images);
out:
  free(auto_labels);
  cli_names_free(&lab);
  cli_pipe_close(&cp);
  cli_images_free(images, n_images);
  free(args);
  return rc;
}
