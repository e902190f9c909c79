/* onyx detect MODEL.onnx|MODEL.engine IMAGE... [-o OUTDIR] [--conf 0.25] [--iou 0.45] [--classes FILE]
 *             [--json] [--max-det 300] [--fit letterbox|stretch|crop] [--mean R,G,B] [--std R,G,B]
 * Object detection on JPEG/PNG photos: the output layout is recognised from
 * the model's outputs (src/vision/detect.h), each image is preprocessed by a
 * plan (src/vision/prep.h), run, decoded, class-wise NMS'd and printed in
 * original-image pixels; with -o a copy with the boxes drawn is written.
 * A bad image is reported and skipped; the exit code is then 1. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "common/util.h"
#include "io/image.h"
#include "onyx.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "vision/detect.h"
#include "vision/draw.h"
#include "vision/prep.h"

#define MAX_OUTPUTS 8
#define DEFAULT_SIDE 640

static void usage(FILE *f)
{
  fprintf(f,
          "usage: onyx detect MODEL.onnx|MODEL.engine IMAGE... [-o OUTDIR] [--conf 0.25] [--iou 0.45]\n"
          "                   [--classes FILE] [--json] [--max-det 300] [--fit letterbox|stretch|crop]\n"
          "                   [--mean R,G,B] [--std R,G,B] [--cpu]\n"
          "  Output layouts, recognised from the model's outputs:\n"
          "    YOLOv8/YOLO11  one output 1x(4+C)xN: cx,cy,w,h (input pixels), C class scores\n"
          "    YOLOv5/YOLOv7  one output 1xNx(5+C): cx,cy,w,h, objectness, C class scores\n"
          "    SSD            boxes 1xNx4 (x1,y1,x2,y2 in 0..1) and scores 1xNxC (class 0 the background\n"
          "                   when C > 1), e.g. UltraFace\n"
          "  IMAGE      JPEG or PNG; each one's detections are printed as 'class score x1 y1 x2 y2' in the\n"
          "             image's pixels (the last five fields are numbers; a class name may hold spaces)\n"
          "  -o OUTDIR  write a copy of each image with the boxes drawn to OUTDIR (created if missing),\n"
          "             same name; PNG stays PNG, anything else is written as JPEG\n"
          "  --conf     score threshold (default 0.25)\n"
          "  --iou      class-wise NMS: a box whose IoU with a better one of its class exceeds this goes\n"
          "             (default 0.45)\n"
          "  --max-det  at most this many detections per image (default 300)\n"
          "  --classes  class names, one per line (default: the model's 'names' metadata, else numbers)\n"
          "  --json     one JSON document on stdout for the whole run (per image: file, width, height,\n"
          "             detections, timings in ms)\n"
          "  --fit      how an image becomes the model input (default by layout: YOLO letterbox with\n"
          "             gray 114 padding, SSD stretch; crop = resize the short side and centre-crop)\n"
          "  --mean, --std  per-channel normalisation (x - mean) / std of the 0..255 RGB levels\n"
          "             (default YOLO 0,0,0 and 255,255,255; SSD 127,127,127 and 128,128,128)\n"
          "  --cpu      run on the CPU even when there is a GPU\n"
          "  Runs on the GPU (an FP32 engine built for the input shape) when there is one, else on the\n"
          "  CPU; an .engine file is loaded as it is (GPU only).\n");
}

/* ---- arguments ---------------------------------------------------------- */

static int parse_float(const char *flag, const char *v, float lo, float hi, float *out)
{
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (!v[0] || *end || errno || !(d >= lo && d <= hi))
    return cli_fail("onyx detect: bad %s '%s': expected a number in [%g, %g]", flag, v, (double)lo, (double)hi);
  *out = (float)d;
  return 0;
}

static int parse_rgb(const char *flag, const char *v, float out[3])
{
  const char *p = v;
  for (int c = 0; c < 3; c++) {
    char *end;
    errno = 0;
    double d = strtod(p, &end);
    if (end == p || errno || !isfinite(d) || fabs(d) > 1e6 || (c < 2 ? *end != ',' : *end != '\0'))
      return cli_fail("onyx detect: bad %s '%s': expected three numbers R,G,B", flag, v);
    out[c] = (float)d;
    p = end + 1;
  }
  return 0;
}

typedef struct opts {
  const char *model, *outdir, *classes;
  const char **images;
  int n_images;
  float conf, iou;
  int max_det;
  bool json, cpu;
  int fit; /* -1: by layout */
  bool has_mean, has_std;
  float mean[3], std[3];
} opts;

static int parse_args(int argc, char **argv, opts *o)
{
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return -1;
    } else if (!strcmp(a, "--json")) {
      o->json = true;
    } else if (!strcmp(a, "--cpu")) {
      o->cpu = true;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--conf") || !strcmp(a, "--iou") || !strcmp(a, "--classes") ||
               !strcmp(a, "--max-det") || !strcmp(a, "--fit") || !strcmp(a, "--mean") || !strcmp(a, "--std")) {
      if (++i >= argc) return cli_fail("onyx detect: %s needs a value", a);
      const char *v = argv[i];
      int rc = 0;
      if (!strcmp(a, "-o")) {
        if (!v[0]) return cli_fail("onyx detect: -o is empty");
        o->outdir = v;
      } else if (!strcmp(a, "--classes")) {
        o->classes = v;
      } else if (!strcmp(a, "--conf")) {
        rc = parse_float(a, v, 0.0f, 1.0f, &o->conf);
      } else if (!strcmp(a, "--iou")) {
        rc = parse_float(a, v, 0.0f, 1.0f, &o->iou);
      } else if (!strcmp(a, "--max-det")) {
        char *end;
        long k = strtol(v, &end, 10);
        if (!v[0] || *end || k < 1 || k > 100000)
          return cli_fail("onyx detect: bad --max-det '%s': expected an integer in [1, 100000]", v);
        o->max_det = (int)k;
      } else if (!strcmp(a, "--fit")) {
        if (!strcmp(v, "letterbox")) o->fit = PREP_LETTERBOX;
        else if (!strcmp(v, "stretch")) o->fit = PREP_STRETCH;
        else if (!strcmp(v, "crop")) o->fit = PREP_CENTER_CROP;
        else return cli_fail("onyx detect: bad --fit '%s': expected letterbox, stretch or crop", v);
      } else if (!strcmp(a, "--mean")) {
        rc = parse_rgb(a, v, o->mean);
        o->has_mean = true;
      } else {
        rc = parse_rgb(a, v, o->std);
        for (int c = 0; !rc && c < 3; c++)
          if (!(fabsf(o->std[c]) > 0.0f)) rc = cli_fail("onyx detect: bad --std '%s': a value is zero", v);
        o->has_std = true;
      }
      if (rc) return rc;
    } else if (a[0] == '-' && a[1]) {
      usage(stderr);
      return cli_fail("onyx detect: unknown option '%s'", a);
    } else if (!o->model) {
      o->model = a;
    } else {
      o->images[o->n_images++] = a;
    }
  }
  if (!o->model || !o->n_images) {
    usage(stderr);
    return cli_fail("onyx detect: %s", o->model ? "no image given" : "no model given");
  }
  return 0;
}

/* ---- class names ---------------------------------------------------------- */

typedef struct names {
  char **name;
  int n;
} names;

static void names_free(names *nm)
{
  for (int i = 0; i < nm->n; i++) free(nm->name[i]);
  free(nm->name);
  memset(nm, 0, sizeof(*nm));
}

static int names_add(names *nm, const char *s, size_t len)
{
  char **p = realloc(nm->name, sizeof(*p) * (size_t)(nm->n + 1));
  if (!p) return -1;
  nm->name = p;
  if (!(p[nm->n] = malloc(len + 1))) return -1;
  memcpy(p[nm->n], s, len);
  p[nm->n++][len] = '\0';
  return 0;
}

/* One name a line (a trailing \r dropped, a missing last newline allowed). */
static int names_from_file(const char *path, names *nm)
{
  void *data;
  size_t size;
  if (onyx_read_file(path, 16u << 20, &data, &size) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    return 1;
  }
  const char *p = data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (len && p[len - 1] == '\r') len--;
    if (names_add(nm, p, len)) {
      free(data);
      cli_error("out of memory");
      return 1;
    }
    p = nl ? nl + 1 : end;
  }
  free(data);
  return 0;
}

/* Ultralytics models carry "names" = "{0: 'person', 1: 'bicycle', ...}" (a
 * Python dict).  Entries must be numbered 0, 1, 2, ... in order; anything else
 * is ignored (numbers are printed instead). */
static void names_from_meta(const onyx_model *m, names *nm)
{
  onyx_model_meta meta;
  if (onyx_model_get_meta(m, &meta) != ONYX_OK) return;
  const char *v = NULL;
  for (int i = 0; i < meta.n_props; i++)
    if (!strcmp(meta.prop_keys[i], "names")) v = meta.prop_values[i];
  if (!v) return;
  const char *p = strchr(v, '{');
  if (!p) return;
  for (p++;;) {
    while (*p == ' ' || *p == ',' || *p == '\n') p++;
    if (*p == '}' || !*p) break;
    char *end;
    long k = strtol(p, &end, 10);
    if (end == p || k != nm->n) goto bad;
    p = end;
    while (*p == ' ') p++;
    if (*p++ != ':') goto bad;
    while (*p == ' ') p++;
    char q = *p++;
    if (q != '\'' && q != '"') goto bad;
    const char *s = p;
    while (*p && *p != q) p++;
    if (!*p || names_add(nm, s, (size_t)(p - s))) goto bad;
    p++;
  }
  return;
bad:
  names_free(nm);
}

/* ---- the model: a CPU session or a GPU context -------------------------- */

typedef struct runner {
  onyx_model *m;
  onyx_session *s;
  onyx_engine *e;
  onyx_context *c;
  onyx_tensor_info in;
  int64_t dims[4];
  float *input;   /* pinned (GPU) or malloc'd (CPU): 3 x H x W */
  float *own_input;
  int n_out;
  float *half_out[MAX_OUTPUTS]; /* float16 outputs converted here */
} runner;

static void runner_free(runner *r)
{
  onyx_session_free(r->s);
  onyx_context_free(r->c);
  onyx_engine_free(r->e);
  onyx_model_free(r->m);
  free(r->own_input);
  for (int i = 0; i < MAX_OUTPUTS; i++) free(r->half_out[i]);
}

static bool ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}

/* Loads the model or engine, fixes the input shape 1x3xHxW, finds the output
 * layout.  Returns 0 or prints an error and returns 1. */
static int runner_open(runner *r, const char *path, bool cpu, det_layout *lay)
{
  onyx_tensor_info outs[MAX_OUTPUTS];
  bool engine_file = ends_with(path, ".engine");
  onyx_status st;
  if (engine_file) {
    st = onyx_engine_load(path, &r->e);
    if (st == ONYX_OK && (onyx_engine_num_inputs(r->e) != 1 || onyx_engine_num_outputs(r->e) < 1)) goto bad_io;
    if (st == ONYX_OK) st = onyx_engine_input(r->e, 0, &r->in);
    r->n_out = r->e ? onyx_engine_num_outputs(r->e) : 0;
  } else {
    st = onyx_model_load(path, &r->m);
    if (st == ONYX_OK && (onyx_model_num_inputs(r->m) != 1 || onyx_model_num_outputs(r->m) < 1)) goto bad_io;
    if (st == ONYX_OK) st = onyx_model_input(r->m, 0, &r->in);
    r->n_out = r->m ? onyx_model_num_outputs(r->m) : 0;
  }
  if (st != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    return 1;
  }
  if (r->n_out > MAX_OUTPUTS) goto bad_io;
  const onyx_tensor_info *in = &r->in;
  if (in->dtype != ONYX_DTYPE_FLOAT || (in->ndim >= 0 && in->ndim != 4) ||
      (in->ndim == 4 && in->dims[1] >= 0 && in->dims[1] != 3)) {
    cli_error("detect needs a float32 NCHW input with 3 channels; input '%s' is %s of rank %d%s", in->name,
              onyx_dtype_name(in->dtype), in->ndim, in->ndim == 4 && in->dims[1] != 3 ? " without 3 channels" : "");
    return 1;
  }
  r->dims[0] = 1;
  r->dims[1] = 3;
  r->dims[2] = in->ndim == 4 && in->dims[2] > 0 ? in->dims[2] : DEFAULT_SIDE;
  r->dims[3] = in->ndim == 4 && in->dims[3] > 0 ? in->dims[3] : DEFAULT_SIDE;
  if (r->dims[2] > 8192 || r->dims[3] > 8192) {
    cli_error("input '%s': %lldx%lld is too large for an image", in->name, (long long)r->dims[2],
              (long long)r->dims[3]);
    return 1;
  }
  if (r->e && cpu) {
    cli_error("--cpu: '%s' is an engine file, which runs on the GPU only", path);
    return 1;
  }
  if (r->m && !cpu && onyx_cuda_available()) { /* an FP32 engine for this input shape, built here */
    onyx_build_options bo;
    onyx_build_options_init(&bo);
    onyx_shape_range sr = {.name = in->name, .ndim = 4};
    memcpy(sr.min, r->dims, sizeof(r->dims));
    memcpy(sr.opt, r->dims, sizeof(r->dims));
    memcpy(sr.max, r->dims, sizeof(r->dims));
    bo.n_shapes = 1;
    bo.shapes = &sr;
    if (onyx_engine_build(r->m, &bo, &r->e) != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      return 1;
    }
  }
  if (r->e) {
    void *buf;
    if (onyx_context_create(r->e, &r->c) != ONYX_OK ||
        onyx_context_set_input_shape(r->c, in->name, 4, r->dims) != ONYX_OK ||
        onyx_context_host_buffer(r->c, in->name, &buf) != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      return 1;
    }
    r->input = buf;
    for (int i = 0; i < r->n_out; i++)
      if (onyx_context_output(r->c, i, &outs[i]) != ONYX_OK) {
        cli_error("%s", onyx_last_error());
        return 1;
      }
  } else {
    if (onyx_session_create(r->m, NULL, &r->s) != ONYX_OK ||
        onyx_session_set_input_shape(r->s, in->name, 4, r->dims) != ONYX_OK || onyx_session_prepare(r->s) != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      return 1;
    }
    r->input = r->own_input = malloc(sizeof(float) * 3 * (size_t)r->dims[2] * (size_t)r->dims[3]);
    if (!r->input) {
      cli_error("out of memory");
      return 1;
    }
    for (int i = 0; i < r->n_out; i++) onyx_model_output(r->m, i, &outs[i]);
  }
  /* a symbolic batch is 1 here */
  for (int i = 0; i < r->n_out; i++)
    if (outs[i].ndim >= 1 && outs[i].dims[0] < 0) outs[i].dims[0] = 1;
  if (det_layout_from_outputs(r->n_out, outs, lay) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    return 1;
  }
  return 0;
bad_io:
  cli_error("detect needs a model with one image input and at most %d outputs (this one has %d inputs, %d outputs)",
            MAX_OUTPUTS, r->m ? onyx_model_num_inputs(r->m) : onyx_engine_num_inputs(r->e),
            r->m ? onyx_model_num_outputs(r->m) : onyx_engine_num_outputs(r->e));
  return 1;
}

/* Runs r->input; outputs[i] gets output i as float32 (valid until the next run). */
static onyx_status runner_run(runner *r, const float **outputs)
{
  for (int i = 0; i < r->n_out; i++) {
    onyx_tensor_info oi;
    const void *data;
    if (r->c) {
      if (i == 0) {
        ONYX_TRY(onyx_context_enqueue(r->c, NULL));
        ONYX_TRY(onyx_context_synchronize(r->c));
      }
      void *buf;
      ONYX_TRY(onyx_context_output(r->c, i, &oi));
      ONYX_TRY(onyx_context_host_buffer(r->c, oi.name, &buf));
      data = buf;
    } else {
      if (i == 0) {
        ONYX_TRY(onyx_session_set_input(r->s, r->in.name, ONYX_DTYPE_FLOAT, 4, r->dims, r->input));
        ONYX_TRY(onyx_session_run(r->s));
      }
      ONYX_TRY(onyx_session_output(r->s, i, &oi, &data));
    }
    if (oi.dtype == ONYX_DTYPE_FLOAT16) {
      int64_t n = onyx_numel(oi.ndim, oi.dims);
      if (n < 0) return onyx_error(ONYX_ERR_SHAPE, "output '%s' has no size", oi.name);
      if (!r->half_out[i] && !(r->half_out[i] = onyx_malloc(sizeof(float) * (size_t)(n ? n : 1))))
        return ONYX_ERR_NO_MEMORY;
      for (int64_t k = 0; k < n; k++) r->half_out[i][k] = onyx_half_to_float(((const uint16_t *)data)[k]);
      data = r->half_out[i];
    }
    outputs[i] = data;
  }
  return ONYX_OK;
}

/* ---- output --------------------------------------------------------------- */

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *format_name(det_format f)
{
  return f == DET_YOLOV8 ? "yolov8" : f == DET_YOLOV5 ? "yolov5" : "ssd";
}

static const char *fit_name(int fit)
{
  return fit == PREP_LETTERBOX ? "letterbox" : fit == PREP_STRETCH ? "stretch" : "crop";
}

/* OUTDIR/basename(path), with .jpg added when the name is neither .png nor .jpg/.jpeg. */
static char *out_path(const char *outdir, const char *path)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(outdir) + strlen(base) + 8;
  char *p = malloc(n);
  if (!p) return NULL;
  size_t bl = strlen(base);
  bool known = false;
  static const char *const ext[] = {".png", ".PNG", ".jpg", ".JPG", ".jpeg", ".JPEG"};
  for (size_t i = 0; i < ONYX_ARRAY_LEN(ext); i++) known |= ends_with(base, ext[i]);
  snprintf(p, n, "%s/%s%s", outdir, bl ? base : "image", known ? "" : ".jpg");
  return p;
}

/* mkdir -p: 0, or prints an error and returns 1. */
static int mkdir_p(const char *dir)
{
  char *p = strdup(dir);
  if (!p) {
    cli_error("out of memory");
    return 1;
  }
  int rc = 0;
  for (char *s = p + 1;; s++) {
    char c = *s;
    if (c != '/' && c != '\0') continue;
    *s = '\0';
    struct stat sb;
    if (mkdir(p, 0777) != 0 && (errno != EEXIST || stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
      cli_error("cannot create the output folder '%s': %s", p, errno == EEXIST ? "not a folder" : strerror(errno));
      rc = 1;
      break;
    }
    *s = c;
    if (!c) break;
  }
  free(p);
  return rc;
}

typedef struct timing {
  double decode, preprocess, inference, postprocess;
} timing;

/* One image: decode, preprocess, run, decode boxes, NMS, map back, draw.
 * Returns the number of kept boxes (in source pixels, at the front of cand),
 * or -1 with the error message in onyx_last_error (prefixed by nothing). */
static int detect_one(runner *r, const det_layout *lay, const opts *o, prep_fit fit, const float mean[3],
                      const float inv_std[3], float pad, const char *path, image_rgb *im, det_box **cand, int *cap,
                      timing *t)
{
  double t0 = now_ms();
  if (image_load(path, im) != ONYX_OK) return -1;
  double t1 = now_ms();
  prep_plan plan;
  int in_w = (int)r->dims[3], in_h = (int)r->dims[2];
  if (prep_plan_make(fit, im->w, im->h, in_w, in_h, mean, inv_std, pad, &plan) != ONYX_OK) return -1;
  if (prep_apply(&plan, im, r->input) != ONYX_OK) return -1;
  double t2 = now_ms();
  const float *outputs[MAX_OUTPUTS];
  if (runner_run(r, outputs) != ONYX_OK) return -2; /* not the image's fault */
  double t3 = now_ms();
  int n = det_candidates(lay, outputs, in_w, in_h, o->conf, *cand, *cap);
  if (n > *cap) {
    det_box *p = realloc(*cand, sizeof(*p) * (size_t)n);
    if (!p) {
      onyx_error(ONYX_ERR_NO_MEMORY, "out of memory for %d candidate boxes", n);
      return -2;
    }
    *cand = p;
    *cap = n;
    n = det_candidates(lay, outputs, in_w, in_h, o->conf, *cand, *cap);
  }
  n = det_nms(*cand, n, o->iou, o->max_det);
  if (n < 0) return -2;
  for (int i = 0; i < n; i++) {
    det_box *b = &(*cand)[i];
    float box[4] = {b->x1, b->y1, b->x2, b->y2};
    prep_box_to_source(&plan, box);
    b->x1 = box[0], b->y1 = box[1], b->x2 = box[2], b->y2 = box[3];
  }
  double t4 = now_ms();
  *t = (timing){t1 - t0, t2 - t1, t3 - t2, t4 - t3};
  return n;
}

int cmd_detect(int argc, char **argv)
{
  opts o = {.conf = 0.25f, .iou = 0.45f, .max_det = 300, .fit = -1};
  o.images = calloc((size_t)argc, sizeof(*o.images));
  if (!o.images) {
    cli_error("out of memory");
    return 1;
  }
  runner r = {0};
  names nm = {0};
  det_box *cand = NULL;
  int cap = 0, rc, n_bad = 0;
  json_object *jroot = NULL, *jimages = NULL;
  rc = parse_args(argc, argv, &o);
  if (rc) {
    rc = rc < 0 ? 0 : rc;
    goto out;
  }
  if (cli_parse_only) goto out;
  rc = 1;
  det_layout lay;
  if (runner_open(&r, o.model, o.cpu, &lay)) goto out;
  if (o.classes ? names_from_file(o.classes, &nm) : (r.m ? (names_from_meta(r.m, &nm), 0) : 0)) goto out;
  int n_cls = lay.n_classes - (lay.background ? 1 : 0);
  if (nm.n && nm.n != n_cls)
    fprintf(stderr, "onyx: warning: %d class names but the model has %d classes\n", nm.n, n_cls);
  bool yolo = lay.fmt != DET_SSD;
  prep_fit fit = o.fit >= 0 ? (prep_fit)o.fit : yolo ? PREP_LETTERBOX : PREP_STRETCH;
  float mean[3], inv_std[3], pad = 114.0f;
  for (int c = 0; c < 3; c++) {
    mean[c] = o.has_mean ? o.mean[c] : yolo ? 0.0f : 127.0f;
    inv_std[c] = 1.0f / (o.has_std ? o.std[c] : yolo ? 255.0f : 128.0f);
  }
  if (o.outdir && mkdir_p(o.outdir)) goto out;
  const char *device = r.c ? "GPU" : "CPU";
  if (o.json) {
    jroot = json_object_new_object();
    json_object_object_add(jroot, "model", json_object_new_string(o.model));
    json_object_object_add(jroot, "device", json_object_new_string(device));
    json_object_object_add(jroot, "layout", json_object_new_string(format_name(lay.fmt)));
    json_object_object_add(jroot, "classes", json_object_new_int(n_cls));
    json_object *jin = json_object_new_array();
    json_object_array_add(jin, json_object_new_int((int)r.dims[3]));
    json_object_array_add(jin, json_object_new_int((int)r.dims[2]));
    json_object_object_add(jroot, "input", jin);
    json_object_object_add(jroot, "fit", json_object_new_string(fit_name(fit)));
    jimages = json_object_new_array();
    json_object_object_add(jroot, "images", jimages);
  } else {
    printf("%s: %s layout, %d class%s, input %lldx%lld (%s), on the %s\n", o.model, format_name(lay.fmt), n_cls,
           n_cls == 1 ? "" : "es", (long long)r.dims[3], (long long)r.dims[2], fit_name(fit), device);
  }
  for (int k = 0; k < o.n_images; k++) {
    image_rgb im = {0};
    timing t;
    int n = detect_one(&r, &lay, &o, fit, mean, inv_std, pad, o.images[k], &im, &cand, &cap, &t);
    if (n == -2) {
      cli_error("%s: %s", o.images[k], onyx_last_error());
      image_free(&im);
      goto out;
    }
    if (n < 0) {
      const char *msg = onyx_last_error();
      cli_error("%s", msg);
      if (jimages) {
        json_object *ji = json_object_new_object();
        json_object_object_add(ji, "file", json_object_new_string(o.images[k]));
        json_object_object_add(ji, "error", json_object_new_string(msg));
        json_object_array_add(jimages, ji);
      }
      image_free(&im);
      n_bad++;
      continue;
    }
    if (jimages) {
      json_object *ji = json_object_new_object(), *jd = json_object_new_array(), *jt = json_object_new_object();
      json_object_object_add(ji, "file", json_object_new_string(o.images[k]));
      json_object_object_add(ji, "width", json_object_new_int(im.w));
      json_object_object_add(ji, "height", json_object_new_int(im.h));
      for (int i = 0; i < n; i++) {
        const det_box *b = &cand[i];
        json_object *jb = json_object_new_object(), *box = json_object_new_array();
        json_object_object_add(jb, "class_id", json_object_new_int(b->cls));
        if (b->cls < nm.n) json_object_object_add(jb, "class", json_object_new_string(nm.name[b->cls]));
        json_object_object_add(jb, "score", json_object_new_double(b->score));
        json_object_array_add(box, json_object_new_double(b->x1));
        json_object_array_add(box, json_object_new_double(b->y1));
        json_object_array_add(box, json_object_new_double(b->x2));
        json_object_array_add(box, json_object_new_double(b->y2));
        json_object_object_add(jb, "box", box);
        json_object_array_add(jd, jb);
      }
      json_object_object_add(ji, "detections", jd);
      json_object_object_add(jt, "decode", json_object_new_double(t.decode));
      json_object_object_add(jt, "preprocess", json_object_new_double(t.preprocess));
      json_object_object_add(jt, "inference", json_object_new_double(t.inference));
      json_object_object_add(jt, "postprocess", json_object_new_double(t.postprocess));
      json_object_object_add(ji, "timings_ms", jt);
      json_object_array_add(jimages, ji);
    } else {
      printf("%s (%dx%d): %d detection%s, %.1f ms (decode %.1f, preprocess %.1f, inference %.1f, post %.2f)\n",
             o.images[k], im.w, im.h, n, n == 1 ? "" : "s",
             t.decode + t.preprocess + t.inference + t.postprocess, t.decode, t.preprocess, t.inference,
             t.postprocess);
      for (int i = 0; i < n; i++) {
        const det_box *b = &cand[i];
        if (b->cls < nm.n) printf("  %s", nm.name[b->cls]);
        else printf("  %d", b->cls);
        printf(" %.4f %.1f %.1f %.1f %.1f\n", (double)b->score, (double)b->x1, (double)b->y1, (double)b->x2,
               (double)b->y2);
      }
    }
    if (o.outdir) {
      draw_detections(&im, cand, n, (const char *const *)nm.name, nm.n);
      char *op = out_path(o.outdir, o.images[k]);
      if (!op || draw_save(&im, op) != ONYX_OK) {
        cli_error("%s", op ? onyx_last_error() : "out of memory");
        n_bad++;
      }
      free(op);
    }
    image_free(&im);
  }
  if (jroot) {
    json_object_object_add(jroot, "failed", json_object_new_int(n_bad));
    puts(json_object_to_json_string_ext(jroot, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
  }
  rc = n_bad ? 1 : 0;
  if (n_bad) fprintf(stderr, "onyx: %d of %d images failed\n", n_bad, o.n_images);
out:
  json_object_put(jroot);
  free(cand);
  names_free(&nm);
  runner_free(&r);
  free(o.images);
  return rc;
}
