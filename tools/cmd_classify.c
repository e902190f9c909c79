/* onyx classify MODEL.onnx IMAGE... [--topk 5] [--labels FILE]
 * ImageNet-style classification of JPEG/PNG photos: preprocess (see
 * src/io/image.h), run, softmax (unless the output already is a probability
 * vector), print the top k classes of each image.
 *
 * Labels: --labels FILE (one per line, in class order), else
 * imagenet_classes.txt beside the model if present, else indices only.
 * A bad image is reported and skipped; the exit code is then 1. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "io/image.h"
#include "onyx.h"
#include "tools/cli_util.h"
#include "tools/commands.h"

#define DEFAULT_SIDE 224

typedef struct labels {
  char *buf;
  char **line;
  int n;
} labels;

static void usage(FILE *f)
{
  fprintf(f, "usage: onyx classify MODEL.onnx IMAGE... [--topk K] [--labels FILE]\n"
             "  IMAGE     JPEG or PNG; resized (short side 256 for a 224 input), centre-cropped to the\n"
             "            model's input size and normalised with the ImageNet mean/std\n"
             "  --topk    how many classes to print per image (default 5)\n"
             "  --labels  class names, one per line (default: imagenet_classes.txt beside the model,\n"
             "            if present)\n");
}

static void labels_free(labels *l)
{
  free(l->buf);
  free(l->line);
  memset(l, 0, sizeof(*l));
}

static int labels_load(const char *path, labels *l)
{
  void *data;
  size_t size;
  memset(l, 0, sizeof(*l));
  if (onyx_read_file(path, 64u << 20, &data, &size) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    return 1;
  }
  l->buf = data; /* NUL-terminated by onyx_read_file */
  int cap = 1;
  for (size_t i = 0; i < size; i++) cap += l->buf[i] == '\n';
  l->line = calloc((size_t)cap, sizeof(*l->line));
  if (!l->line) {
    labels_free(l);
    cli_error("out of memory");
    return 1;
  }
  for (char *p = l->buf; *p && l->n < cap;) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = '\0';
    size_t len = strlen(p);
    if (len && p[len - 1] == '\r') p[len - 1] = '\0';
    l->line[l->n++] = p;
    if (!nl) break;
    p = nl + 1;
  }
  return 0;
}

/* Probabilities from the model's output: taken as they are when they already
 * lie in [0, 1] and sum to 1, else softmax (in double, max subtracted). */
static bool to_probabilities(const float *x, int64_t n, double *p)
{
  double sum = 0;
  bool probs = true;
  for (int64_t i = 0; i < n; i++) {
    if (!(x[i] >= 0.0f && x[i] <= 1.0f)) probs = false;
    sum += x[i];
  }
  if (probs && fabs(sum - 1.0) < 1e-3) {
    for (int64_t i = 0; i < n; i++) p[i] = x[i];
    return false;
  }
  double mx = -INFINITY;
  for (int64_t i = 0; i < n; i++)
    if (x[i] > mx) mx = x[i];
  sum = 0;
  for (int64_t i = 0; i < n; i++) sum += p[i] = exp((double)x[i] - mx);
  for (int64_t i = 0; i < n; i++) p[i] /= sum;
  return true;
}

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The model's input geometry: NCHW float32 with 3 channels; unknown H/W -> 224. */
static int input_geometry(const onyx_model *m, onyx_tensor_info *in, int64_t dims[4])
{
  if (onyx_model_num_inputs(m) != 1 || onyx_model_num_outputs(m) < 1) {
    cli_error("classify needs a model with one image input and a class-score output (this one has %d inputs, "
              "%d outputs)",
              onyx_model_num_inputs(m), onyx_model_num_outputs(m));
    return 1;
  }
  onyx_model_input(m, 0, in);
  if (in->dtype != ONYX_DTYPE_FLOAT || (in->ndim >= 0 && in->ndim != 4) ||
      (in->ndim == 4 && in->dims[1] >= 0 && in->dims[1] != 3)) {
    cli_error("classify needs a float32 NCHW input with 3 channels; input '%s' is %s of rank %d%s", in->name,
              onyx_dtype_name(in->dtype), in->ndim,
              in->ndim == 4 && in->dims[1] != 3 ? " without 3 channels" : "");
    return 1;
  }
  dims[0] = 1;
  dims[1] = 3;
  dims[2] = in->ndim == 4 && in->dims[2] > 0 ? in->dims[2] : DEFAULT_SIDE;
  dims[3] = in->ndim == 4 && in->dims[3] > 0 ? in->dims[3] : DEFAULT_SIDE;
  if (dims[2] > 8192 || dims[3] > 8192) {
    cli_error("input '%s': %lldx%lld is too large for an image", in->name, (long long)dims[2],
              (long long)dims[3]);
    return 1;
  }
  return 0;
}

int cmd_classify(int argc, char **argv)
{
  const char *model_path = NULL, *labels_path = NULL;
  const char **images = calloc((size_t)argc, sizeof(*images));
  int n_images = 0, topk = 5, rc = 2, n_bad = 0;
  onyx_model *m = NULL;
  onyx_session *s = NULL;
  onyx_engine *e = NULL;
  onyx_context *c = NULL;
  labels lab = {0};
  float *tensor = NULL;
  double *prob = NULL;
  char *auto_labels = NULL;
  if (!images) {
    cli_error("out of memory");
    return 1;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      rc = 0;
      goto out;
    } else if (!strcmp(a, "--topk") || !strcmp(a, "--labels")) {
      if (++i >= argc) {
        rc = cli_fail("onyx classify: %s needs a value", a);
        goto out;
      }
      if (!strcmp(a, "--labels")) {
        labels_path = argv[i];
        continue;
      }
      char *end;
      long k = strtol(argv[i], &end, 10);
      if (!argv[i][0] || *end || k < 1 || k > 1000000) {
        rc = cli_fail("onyx classify: bad --topk '%s': expected a positive integer", argv[i]);
        goto out;
      }
      topk = (int)k;
    } else if (a[0] == '-' && a[1]) {
      usage(stderr);
      rc = cli_fail("onyx classify: unknown option '%s'", a);
      goto out;
    } else if (!model_path) {
      model_path = a;
    } else {
      images[n_images++] = a;
    }
  }
  if (!model_path || !n_images) {
    usage(stderr);
    rc = cli_fail("onyx classify: %s", model_path ? "no image given" : "no model given");
    goto out;
  }
  rc = 0;
  if (cli_parse_only) goto out;
  rc = 1;
  if (onyx_model_load(model_path, &m) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    goto out;
  }
  onyx_tensor_info in;
  int64_t dims[4];
  if (input_geometry(m, &in, dims)) goto out;

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
  if (labels_path && labels_load(labels_path, &lab)) goto out;

  /* the GPU when there is one: an FP32 engine for this input shape, built here (under a second) */
  void *gpu_in = NULL;
  if (onyx_cuda_available()) {
    onyx_build_options bo;
    onyx_build_options_init(&bo);
    onyx_shape_range r = {.name = in.name, .ndim = 4};
    memcpy(r.min, dims, sizeof(dims));
    memcpy(r.opt, dims, sizeof(dims));
    memcpy(r.max, dims, sizeof(dims));
    bo.n_shapes = 1;
    bo.shapes = &r;
    if (onyx_engine_build(m, &bo, &e) != ONYX_OK || onyx_context_create(e, &c) != ONYX_OK ||
        onyx_context_set_input_shape(c, in.name, 4, dims) != ONYX_OK ||
        onyx_context_host_buffer(c, in.name, &gpu_in) != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      goto out;
    }
  } else if (onyx_session_create(m, NULL, &s) != ONYX_OK ||
             onyx_session_set_input_shape(s, in.name, 4, dims) != ONYX_OK || onyx_session_prepare(s) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    goto out;
  }
  onyx_tensor_info out_info;
  onyx_model_output(m, 0, &out_info);
  size_t plane = (size_t)dims[2] * (size_t)dims[3];
  tensor = malloc(sizeof(*tensor) * 3 * plane);
  if (!tensor) {
    cli_error("out of memory");
    goto out;
  }
  bool warned_labels = false;
  for (int k = 0; k < n_images; k++) {
    image_rgb im;
    if (image_load(images[k], &im) != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      n_bad++;
      continue;
    }
    onyx_status st = image_imagenet_tensor(&im, (int)dims[2], (int)dims[3], tensor);
    int iw = im.w, ih = im.h;
    image_free(&im);
    if (st != ONYX_OK) {
      cli_error("'%s': %s", images[k], onyx_last_error());
      n_bad++;
      continue;
    }
    const void *data;
    onyx_tensor_info oi;
    double t0 = now_ms();
    onyx_status rs;
    if (c) { /* the pinned input buffer, one enqueue (a CUDA graph after the first), wait */
      void *out_buf;
      memcpy(gpu_in, tensor, sizeof(*tensor) * 3 * plane);
      rs = onyx_context_enqueue(c, NULL);
      if (rs == ONYX_OK) rs = onyx_context_synchronize(c);
      if (rs == ONYX_OK) rs = onyx_context_output(c, 0, &oi);
      if (rs == ONYX_OK) rs = onyx_context_host_buffer(c, oi.name, &out_buf);
      data = out_buf;
    } else {
      rs = onyx_session_set_input(s, in.name, ONYX_DTYPE_FLOAT, 4, dims, tensor);
      if (rs == ONYX_OK) rs = onyx_session_run(s);
      if (rs == ONYX_OK) rs = onyx_session_output(s, 0, &oi, &data);
    }
    if (rs != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      goto out;
    }
    double t1 = now_ms();
    int64_t n = onyx_numel(oi.ndim, oi.dims);
    if (oi.dtype != ONYX_DTYPE_FLOAT || n < 1) {
      cli_error("classify needs a float32 score output; '%s' is %s with %lld elements", oi.name,
                onyx_dtype_name(oi.dtype), (long long)n);
      goto out;
    }
    if (!prob && !(prob = malloc(sizeof(*prob) * (size_t)n))) {
      cli_error("out of memory");
      goto out;
    }
    bool soft = to_probabilities(data, n, prob);
    if (lab.n && lab.n != n && !warned_labels) {
      fprintf(stderr, "onyx: warning: %d labels in '%s' but the model has %lld classes\n", lab.n, labels_path,
              (long long)n);
      warned_labels = true;
    }
    printf("%s (%dx%d): %.2f ms on the %s%s\n", images[k], iw, ih, t1 - t0, c ? "GPU" : "CPU",
           soft ? "" : " (output used as probabilities)");
    int kk = topk < n ? topk : (int)n;
    for (int r = 0; r < kk; r++) { /* selection of the r-th largest; ties keep the lower index */
      int64_t best = -1;
      for (int64_t i = 0; i < n; i++)
        if (prob[i] >= 0 && (best < 0 || prob[i] > prob[best])) best = i;
      printf("  %d  %4lld  %-32s %.4f\n", r + 1, (long long)best, best < lab.n ? lab.line[best] : "",
             prob[best]);
      prob[best] = -1.0; /* taken */
    }
  }
  rc = n_bad ? 1 : 0;
  if (n_bad) fprintf(stderr, "onyx: %d of %d images could not be classified\n", n_bad, n_images);
out:
  free(prob);
  free(tensor);
  free(auto_labels);
  labels_free(&lab);
  onyx_session_free(s);
  onyx_context_free(c);
  onyx_engine_free(e);
  onyx_model_free(m);
  free(images);
  return rc;
}
