/* Detector output layouts, candidates and class-wise NMS.  See detect.h. */
#include "vision/detect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static const char *shape_str(const onyx_tensor_info *t, char *buf, size_t cap)
{
  if (t->ndim < 0) return "(unknown shape)";
  return onyx_dims_str(t->ndim, t->dims, buf, cap);
}

/* "'output0' 1x84x8400 float32, 'x' ..." into buf, for messages. */
static const char *outputs_str(int n_out, const onyx_tensor_info *outs, char *buf, size_t cap)
{
  size_t k = 0;
  buf[0] = '\0';
  for (int i = 0; i < n_out && k < cap; i++) {
    char dims[96];
    int w = snprintf(buf + k, cap - k, "%s'%s' %s %s", i ? ", " : "", outs[i].name ? outs[i].name : "?",
                     shape_str(&outs[i], dims, sizeof(dims)), onyx_dtype_name(outs[i].dtype));
    if (w < 0) break;
    k += (size_t)w;
  }
  return buf;
}

static bool known_3d(const onyx_tensor_info *t)
{
  return t->ndim == 3 && t->dims[0] > 0 && t->dims[1] > 0 && t->dims[2] > 0;
}

static bool name_has(const onyx_tensor_info *t, const char *s) { return t->name && strstr(t->name, s); }

onyx_status det_layout_from_outputs(int n_out, const onyx_tensor_info *outs, det_layout *l)
{
  if (!outs || !l || n_out < 0) return onyx_error(ONYX_ERR_INVALID_ARG, "det_layout_from_outputs: NULL argument");
  memset(l, 0, sizeof(*l));
  char desc[512];
  for (int i = 0; i < n_out; i++)
    if (outs[i].dtype != ONYX_DTYPE_FLOAT && outs[i].dtype != ONYX_DTYPE_FLOAT16)
      return onyx_error(ONYX_ERR_UNSUPPORTED, "detector outputs must be float32 or float16; the model has %s",
                        outputs_str(n_out, outs, desc, sizeof(desc)));
  if (n_out == 1 && known_3d(&outs[0])) {
    const int64_t *d = outs[0].dims;
    if (d[1] < d[2] && d[1] >= 5 && d[2] <= INT32_MAX) { /* B x (4 + C) x N: YOLOv8 / YOLO11 */
      l->fmt = DET_YOLOV8;
      l->n_classes = (int)(d[1] - 4);
      l->n_anchors = (int)d[2];
      return ONYX_OK;
    }
    if (d[2] < d[1] && d[2] >= 6 && d[1] <= INT32_MAX) { /* B x N x (5 + C): YOLOv5 / YOLOv7 */
      l->fmt = DET_YOLOV5;
      l->n_classes = (int)(d[2] - 5);
      l->n_anchors = (int)d[1];
      return ONYX_OK;
    }
  }
  if (n_out == 2 && known_3d(&outs[0]) && known_3d(&outs[1]) && outs[0].dims[0] == outs[1].dims[0] &&
      outs[0].dims[1] == outs[1].dims[1] && outs[0].dims[1] <= INT32_MAX) {
    /* boxes B x N x 4 and scores B x N x C; with C = 4 too, the names decide */
    int b = -1;
    bool four0 = outs[0].dims[2] == 4, four1 = outs[1].dims[2] == 4;
    if (four0 && !four1) b = 0;
    else if (four1 && !four0) b = 1;
    else if (four0 && four1 && name_has(&outs[0], "box") != name_has(&outs[1], "box"))
      b = name_has(&outs[0], "box") ? 0 : 1;
    if (b >= 0 && outs[1 - b].dims[2] <= INT32_MAX) {
      l->fmt = DET_SSD;
      l->boxes_out = b;
      l->scores_out = 1 - b;
      l->n_anchors = (int)outs[0].dims[1];
      l->n_classes = (int)outs[1 - b].dims[2];
      l->background = l->n_classes > 1;
      return ONYX_OK;
    }
  }
  return onyx_error(ONYX_ERR_UNSUPPORTED,
                    "cannot recognise the detector output layout from %d output%s: %s (known: YOLOv8/YOLO11 one "
                    "output Bx(4+C)xN; YOLOv5/YOLOv7 one output BxNx(5+C); SSD two outputs, boxes BxNx4 and "
                    "scores BxNxC)",
                    n_out, n_out == 1 ? "" : "s", n_out ? outputs_str(n_out, outs, desc, sizeof(desc)) : "none");
}

static void put(det_box *cand, int cap, int n, float x1, float y1, float x2, float y2, float score, int cls)
{
  if (n >= cap) return;
  cand[n] = (det_box){x1, y1, x2, y2, score, cls};
}

int det_candidates(const det_layout *l, const float *const *outputs, int in_w, int in_h, float conf, det_box *cand,
                   int cap)
{
  int n = 0, na = l->n_anchors, nc = l->n_classes;
  if (l->fmt == DET_YOLOV8) {
    const float *o = outputs[0];
    size_t N = (size_t)na;
    for (int a = 0; a < na; a++) {
      int best = 0;
      float s = o[4 * N + a];
      for (int c = 1; c < nc; c++)
        if (o[(4 + (size_t)c) * N + a] > s) s = o[(4 + (size_t)c) * N + a], best = c;
      if (!(s > conf)) continue;
      float cx = o[a], cy = o[N + a], hw = o[2 * N + a] / 2, hh = o[3 * N + a] / 2;
      put(cand, cap, n++, cx - hw, cy - hh, cx + hw, cy + hh, s, best);
    }
  } else if (l->fmt == DET_YOLOV5) {
    const float *o = outputs[0];
    size_t row = 5 + (size_t)nc;
    for (int a = 0; a < na; a++) {
      const float *r = o + (size_t)a * row;
      int best = 0;
      float s = r[5];
      for (int c = 1; c < nc; c++)
        if (r[5 + c] > s) s = r[5 + c], best = c;
      s *= r[4];
      if (!(s > conf)) continue;
      float hw = r[2] / 2, hh = r[3] / 2;
      put(cand, cap, n++, r[0] - hw, r[1] - hh, r[0] + hw, r[1] + hh, s, best);
    }
  } else {
    const float *bx = outputs[l->boxes_out], *sc = outputs[l->scores_out];
    int c0 = l->background ? 1 : 0;
    for (int a = 0; a < na; a++) {
      const float *r = sc + (size_t)a * (size_t)nc;
      int best = c0;
      float s = r[c0];
      for (int c = c0 + 1; c < nc; c++)
        if (r[c] > s) s = r[c], best = c;
      if (!(s > conf)) continue;
      const float *b = bx + (size_t)a * 4;
      put(cand, cap, n++, b[0] * in_w, b[1] * in_h, b[2] * in_w, b[3] * in_h, s, best - c0);
    }
  }
  return n;
}

static float area(const det_box *b)
{
  float w = b->x2 - b->x1, h = b->y2 - b->y1;
  return w > 0 && h > 0 ? w * h : 0.0f;
}

static float box_iou(const det_box *a, const det_box *b)
{
  float x1 = a->x1 > b->x1 ? a->x1 : b->x1, y1 = a->y1 > b->y1 ? a->y1 : b->y1;
  float x2 = a->x2 < b->x2 ? a->x2 : b->x2, y2 = a->y2 < b->y2 ? a->y2 : b->y2;
  float inter = x2 > x1 && y2 > y1 ? (x2 - x1) * (y2 - y1) : 0.0f;
  float uni = area(a) + area(b) - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

/* Stable merge sort by descending score (NaN last). */
static bool before(const det_box *a, const det_box *b)
{
  return a->score > b->score || (a->score == a->score && b->score != b->score);
}

static void merge_sort(det_box *a, det_box *tmp, int n)
{
  if (n < 2) return;
  int h = n / 2;
  merge_sort(a, tmp, h);
  merge_sort(a + h, tmp, n - h);
  int i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = before(&a[j], &a[i]) ? a[j++] : a[i++];
  while (i < h) tmp[k++] = a[i++];
  while (j < n) tmp[k++] = a[j++];
  memcpy(a, tmp, sizeof(*a) * (size_t)n);
}

int det_nms(det_box *cand, int n, float iou, int max_det)
{
  if (n <= 0 || max_det <= 0) return 0;
  det_box *tmp = onyx_malloc(sizeof(*tmp) * (size_t)n);
  if (!tmp) return -1;
  int kept = det_nms_scratch(cand, n, iou, max_det, tmp);
  free(tmp);
  return kept;
}

int det_nms_scratch(det_box *cand, int n, float iou, int max_det, det_box *scratch)
{
  if (n <= 0 || max_det <= 0) return 0;
  merge_sort(cand, scratch, n);
  int kept = 0;
  for (int i = 0; i < n && kept < max_det; i++) {
    if (cand[i].score != cand[i].score) break; /* NaN: sorted last, never kept */
    bool keep = true;
    for (int k = 0; k < kept && keep; k++)
      if (cand[k].cls == cand[i].cls && box_iou(&cand[k], &cand[i]) > iou) keep = false;
    if (keep) cand[kept++] = cand[i];
  }
  return kept;
}
