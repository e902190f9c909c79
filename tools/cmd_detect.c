/* onyx detect MODEL.onnx|MODEL.engine IMAGE|FOLDER... [-o OUTDIR] [--conf 0.25] [--iou 0.45] [--classes FILE]
 *             [--json] [--max-det 300] [--batch N] [--fit letterbox|stretch|crop] [--mean R,G,B] [--std R,G,B]
 * Object detection on JPEG/PNG photos through the image pipeline (onyx.h):
 * the output layout is recognised from the model's outputs (src/vision/
 * detect.h), images are decoded on worker threads, batched, preprocessed by a
 * plan (src/vision/prep.h), run, decoded, class-wise NMS'd and printed in
 * original-image pixels as they complete; with -o a copy with the boxes drawn
 * is written.  A bad image is reported and skipped; the exit code is then 1. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "common/util.h"
#include "io/image.h"
#include "onyx.h"
#include "tools/cli_pipeline.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "vision/detect.h"
#include "vision/draw.h"
#include "vision/prep.h"

#define DEFAULT_SIDE 640

static void usage(FILE *f)
{
  fprintf(f,
          "usage: onyx detect MODEL.onnx|MODEL.engine IMAGE|FOLDER... [-o OUTDIR] [--conf 0.25] [--iou 0.45]\n"
          "                   [--classes FILE] [--json] [--max-det 300] [--batch N] [--fit letterbox|stretch|crop]\n"
          "                   [--mean R,G,B] [--std R,G,B] [--cpu | --fp16]\n"
          "  Output layouts, recognised from the model's outputs:\n"
          "    YOLOv8/YOLO11  one output 1x(4+C)xN: cx,cy,w,h (input pixels), C class scores\n"
          "    YOLOv5/YOLOv7  one output 1xNx(5+C): cx,cy,w,h, objectness, C class scores\n"
          "    SSD            boxes 1xNx4 (x1,y1,x2,y2 in 0..1) and scores 1xNxC (class 0 the background\n"
          "                   when C > 1), e.g. UltraFace\n"
          "  IMAGE      JPEG or PNG; each one's detections are printed as 'class score x1 y1 x2 y2' in the\n"
          "             image's pixels (the last five fields are numbers; a class name may hold spaces);\n"
          "             a FOLDER stands for its .jpg, .jpeg and .png files, sorted by name\n"
          "  -o OUTDIR  write a copy of each image with the boxes drawn to OUTDIR (created if missing),\n"
          "             same name; PNG stays PNG, anything else is written as JPEG\n"
          "  --conf     score threshold (default 0.25)\n"
          "  --iou      class-wise NMS: a box whose IoU with a better one of its class exceeds this goes\n"
          "             (default 0.45)\n"
          "  --max-det  at most this many detections per image (default 300)\n"
          "  --classes  class names, one per line (default: the model's 'names' metadata, else numbers)\n"
          "  --json     one JSON document on stdout for the whole run (per image: file, width, height,\n"
          "             detections, timings in ms; a summary)\n"
          "  --batch N  images per inference: the engine is built for batches of 1..N when the model's\n"
          "             batch is symbolic (default 1; an .engine file: its largest batch)\n"
          "  --fit      how an image becomes the model input (default by layout: YOLO letterbox with\n"
          "             gray 114 padding, SSD stretch; crop = resize the short side and centre-crop)\n"
          "  --mean, --std  per-channel normalisation (x - mean) / std of the 0..255 RGB levels\n"
          "             (default YOLO 0,0,0 and 255,255,255; SSD 127,127,127 and 128,128,128)\n"
          "  --cpu      run on the CPU even when there is a GPU\n"
          "  --fp16     build an FP16 engine instead of FP32 (GPU)\n"
          "  Runs on the GPU (an FP32 engine built for the input shape) when there is one, else on the\n"
          "  CPU; an .engine file is loaded as it is (GPU only).  Images are decoded on worker threads\n"
          "  while the model runs; stderr gets a progress bar (on a terminal) and, at the end, the mean\n"
          "  time per image of each stage (decode, preprocess, H2D, inference, D2H, postprocess) and\n"
          "  images/s.\n");
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
  bool json, cpu, fp16;
  int batch; /* 0: default */
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
    } else if (!strcmp(a, "--fp16")) {
      o->fp16 = true;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--conf") || !strcmp(a, "--iou") || !strcmp(a, "--classes") ||
               !strcmp(a, "--max-det") || !strcmp(a, "--batch") || !strcmp(a, "--fit") || !strcmp(a, "--mean") ||
               !strcmp(a, "--std")) {
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
      } else if (!strcmp(a, "--batch")) {
        char *end;
        long k = strtol(v, &end, 10);
        if (!v[0] || *end || k < 1 || k > 4096)
          return cli_fail("onyx detect: bad --batch '%s': expected an integer in [1, 4096]", v);
        o->batch = (int)k;
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

/* Ultralytics models carry "names" = "{0: 'person', 1: 'bicycle', ...}" (a
 * Python dict).  Entries must be numbered 0, 1, 2, ... in order; anything else
 * is ignored (numbers are printed instead). */
static void names_from_meta(const onyx_model *m, cli_names *nm)
{
  onyx_model_meta meta;
  if (!m || onyx_model_get_meta(m, &meta) != ONYX_OK) return;
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
    if (!*p) goto bad;
    char **nv = realloc(nm->name, sizeof(*nv) * (size_t)(nm->n + 1));
    if (!nv) goto bad;
    nm->name = nv;
    if (!(nv[nm->n] = strndup(s, (size_t)(p - s)))) goto bad;
    nm->n++;
    p++;
  }
  return;
bad:
  cli_names_free(nm);
}

/* ---- output --------------------------------------------------------------- */

static const char *fit_name(onyx_fit fit)
{
  return fit == ONYX_FIT_LETTERBOX ? "letterbox" : fit == ONYX_FIT_STRETCH ? "stretch" : "crop";
}

static bool ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
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

/* ---- per image --------------------------------------------------------------- */

typedef struct run_ctx {
  const opts *o;
  char **images;
  const cli_names *nm;
  json_object *jimages;
  int n_bad; /* images whose result or drawn copy failed */
} run_ctx;

static json_object *jtimes(const onyx_stage_times *t, double div)
{
  json_object *j = json_object_new_object();
  json_object_object_add(j, "decode", json_object_new_double(t->decode / div));
  json_object_object_add(j, "preprocess", json_object_new_double(t->preprocess / div));
  json_object_object_add(j, "h2d", json_object_new_double(t->h2d / div));
  json_object_object_add(j, "inference", json_object_new_double(t->inference / div));
  json_object_object_add(j, "d2h", json_object_new_double(t->d2h / div));
  json_object_object_add(j, "postprocess", json_object_new_double(t->postprocess / div));
  return j;
}

static void on_result(void *arg, int index, const onyx_pipeline_result *r)
{
  run_ctx *x = arg;
  const char *path = x->images[index];
  const cli_names *nm = x->nm;
  if (r->status != ONYX_OK) {
    cli_error("%s", r->error);
    x->n_bad++;
    if (x->jimages) {
      json_object *ji = json_object_new_object();
      json_object_object_add(ji, "file", json_object_new_string(path));
      json_object_object_add(ji, "error", json_object_new_string(r->error));
      json_object_array_add(x->jimages, ji);
    }
    return;
  }
  if (x->jimages) {
    json_object *ji = json_object_new_object(), *jd = json_object_new_array();
    json_object_object_add(ji, "file", json_object_new_string(path));
    json_object_object_add(ji, "width", json_object_new_int(r->width));
    json_object_object_add(ji, "height", json_object_new_int(r->height));
    for (int i = 0; i < r->n_detections; i++) {
      const onyx_detection *d = &r->detections[i];
      json_object *jb = json_object_new_object(), *box = json_object_new_array();
      json_object_object_add(jb, "class_id", json_object_new_int(d->class_id));
      if (d->class_id < nm->n) json_object_object_add(jb, "class", json_object_new_string(nm->name[d->class_id]));
      json_object_object_add(jb, "score", json_object_new_double(d->score));
      json_object_array_add(box, json_object_new_double(d->x1));
      json_object_array_add(box, json_object_new_double(d->y1));
      json_object_array_add(box, json_object_new_double(d->x2));
      json_object_array_add(box, json_object_new_double(d->y2));
      json_object_object_add(jb, "box", box);
      json_object_array_add(jd, jb);
    }
    json_object_object_add(ji, "detections", jd);
    json_object_object_add(ji, "batch", json_object_new_int(r->batch));
    json_object_object_add(ji, "timings_ms", jtimes(&r->times, 1.0));
    json_object_array_add(x->jimages, ji);
  } else {
    printf("%s (%dx%d): %d detection%s\n", path, r->width, r->height, r->n_detections,
           r->n_detections == 1 ? "" : "s");
    for (int i = 0; i < r->n_detections; i++) {
      const onyx_detection *d = &r->detections[i];
      if (d->class_id < nm->n) printf("  %s", nm->name[d->class_id]);
      else printf("  %d", d->class_id);
      printf(" %.4f %.1f %.1f %.1f %.1f\n", (double)d->score, (double)d->x1, (double)d->y1, (double)d->x2,
             (double)d->y2);
    }
  }
  if (x->o->outdir && r->pixels) { /* a copy with the boxes drawn */
    image_rgb im = {r->width, r->height, malloc((size_t)r->width * (size_t)r->height * 3)};
    det_box *boxes = malloc(sizeof(*boxes) * (size_t)(r->n_detections ? r->n_detections : 1));
    char *op = out_path(x->o->outdir, path);
    onyx_status st = im.px && boxes && op ? ONYX_OK : onyx_error(ONYX_ERR_NO_MEMORY, "out of memory");
    if (st == ONYX_OK) {
      memcpy(im.px, r->pixels, (size_t)r->width * (size_t)r->height * 3);
      for (int i = 0; i < r->n_detections; i++) {
        const onyx_detection *d = &r->detections[i];
        boxes[i] = (det_box){d->x1, d->y1, d->x2, d->y2, d->score, d->class_id};
      }
      draw_detections(&im, boxes, r->n_detections, (const char *const *)nm->name, nm->n);
      st = draw_save(&im, op);
    }
    if (st != ONYX_OK) {
      cli_error("%s", onyx_last_error());
      x->n_bad++;
    }
    image_free(&im);
    free(boxes);
    free(op);
  }
  fflush(stdout);
}

int cmd_detect(int argc, char **argv)
{
  opts o = {.conf = 0.25f, .iou = 0.45f, .max_det = 300, .fit = -1};
  o.images = calloc((size_t)argc, sizeof(*o.images));
  if (!o.images) {
    cli_error("out of memory");
    return 1;
  }
  cli_pipe cp = {0};
  cli_names nm = {0};
  char **images = NULL;
  int n_images = 0, rc;
  json_object *jroot = NULL;
  rc = parse_args(argc, argv, &o);
  if (rc) {
    rc = rc < 0 ? 0 : rc;
    goto out;
  }
  if (cli_parse_only) goto out;
  rc = 1;
  if (cli_images_expand(o.images, o.n_images, &images, &n_images)) goto out;
  onyx_pipeline_options po;
  onyx_pipeline_options_init(&po);
  po.task = ONYX_TASK_DETECT;
  po.fit = o.fit < 0 ? ONYX_FIT_AUTO : (onyx_fit)(o.fit + 1);
  if (o.has_mean) memcpy(po.mean, o.mean, sizeof(po.mean));
  if (o.has_std) memcpy(po.std, o.std, sizeof(po.std));
  po.conf = o.conf;
  po.iou = o.iou;
  po.max_det = o.max_det;
  po.keep_pixels = o.outdir != NULL;
  cli_pipe_args pa = {.cpu = o.cpu, .fp16 = o.fp16, .batch = o.batch, .default_side = DEFAULT_SIDE};
  if (cli_pipe_open(&cp, o.model, &pa, &po)) goto out;
  if (o.classes ? cli_names_load(o.classes, &nm) : (names_from_meta(cp.m, &nm), 0)) goto out;
  const onyx_pipeline_info *in = &cp.info;
  if (nm.n && nm.n != in->n_classes)
    fprintf(stderr, "onyx: warning: %d class names but the model has %d classes\n", nm.n, in->n_classes);
  if (o.outdir && mkdir_p(o.outdir)) goto out;
  const char *device = in->on_gpu ? "GPU" : "CPU";
  run_ctx x = {.o = &o, .images = images, .nm = &nm};
  if (o.json) {
    jroot = json_object_new_object();
    json_object_object_add(jroot, "model", json_object_new_string(o.model));
    json_object_object_add(jroot, "device", json_object_new_string(device));
    json_object_object_add(jroot, "layout", json_object_new_string(in->layout));
    json_object_object_add(jroot, "classes", json_object_new_int(in->n_classes));
    json_object *jin = json_object_new_array();
    json_object_array_add(jin, json_object_new_int(in->input_w));
    json_object_array_add(jin, json_object_new_int(in->input_h));
    json_object_object_add(jroot, "input", jin);
    json_object_object_add(jroot, "fit", json_object_new_string(fit_name(in->fit)));
    json_object_object_add(jroot, "max_batch", json_object_new_int(in->max_batch));
    x.jimages = json_object_new_array();
    json_object_object_add(jroot, "images", x.jimages);
  } else {
    printf("%s: %s layout, %d class%s, input %dx%d (%s), batches of up to %d, on the %s\n", o.model, in->layout,
           in->n_classes, in->n_classes == 1 ? "" : "es", in->input_w, in->input_h, fit_name(in->fit),
           in->max_batch, device);
  }
  cli_pipe_stats st;
  if (cli_pipe_run(&cp, images, n_images, on_result, &x, &st)) goto out;
  if (jroot) {
    json_object *js = json_object_new_object();
    json_object_object_add(js, "images", json_object_new_int(n_images));
    json_object_object_add(js, "failed", json_object_new_int(st.n_bad));
    json_object_object_add(js, "wall_s", json_object_new_double(st.wall_ms / 1e3));
    json_object_object_add(js, "images_per_s",
                           json_object_new_double(st.wall_ms > 0 ? st.n_ok / (st.wall_ms / 1e3) : 0.0));
    json_object_object_add(js, "mean_ms", jtimes(&st.sum, st.n_ok ? st.n_ok : 1));
    json_object_object_add(jroot, "summary", js);
    json_object_object_add(jroot, "failed", json_object_new_int(x.n_bad));
    puts(json_object_to_json_string_ext(jroot, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
  }
  cli_pipe_print_stats(stderr, &cp, &st);
  rc = x.n_bad ? 1 : 0;
  if (x.n_bad) fprintf(stderr, "onyx: %d of %d images failed\n", x.n_bad, n_images);
out:
  json_object_put(jroot);
  cli_names_free(&nm);
  cli_pipe_close(&cp);
  cli_images_free(images, n_images);
  free(o.images);
  return rc;
}
