/* Detector outputs: which layout a model has, candidates above a confidence,
 * class-wise NMS.  The CPU code here is the reference; vision_cuda.h has the
 * GPU version of det_candidates + det_nms.
 *
 * Layouts, recognised from the output shapes (batch first):
 *   DET_YOLOV8  one output B x (4 + C) x N: cx, cy, w, h in input pixels, then C class scores
 *               (YOLOv8 / YOLO11); score = max class score
 *   DET_YOLOV5  one output B x N x (5 + C): cx, cy, w, h, objectness, C class scores
 *               (YOLOv5 / YOLOv7); score = objectness * max class score
 *   DET_SSD     two outputs, boxes B x N x 4 (x1, y1, x2, y2 normalised to 0..1) and scores
 *               B x N x C (UltraFace); with C > 1 class 0 is the background and is skipped */
#ifndef ONYX_VISION_DETECT_H
#define ONYX_VISION_DETECT_H

#include <stdbool.h>

#include "onyx.h"

typedef enum det_format { DET_YOLOV8, DET_YOLOV5, DET_SSD } det_format;

typedef struct det_layout {
  det_format fmt;
  int n_anchors; /* N */
  int n_classes; /* C as the model has it (SSD: including the background) */
  int boxes_out; /* output index of the boxes (the only output for YOLO) */
  int scores_out;
  bool background; /* SSD with C > 1 */
} det_layout;

/* A box in model-input pixels. */
typedef struct det_box {
  float x1, y1, x2, y2;
  float score;
  int cls; /* 0-based; for SSD with a background, the model's class index minus 1 */
} det_box;

/* Recognises the layout from the outputs' shapes (float32 or float16); a clear
 * error naming the shapes when none fits. */
onyx_status det_layout_from_outputs(int n_out, const onyx_tensor_info *outs, det_layout *l);

/* Candidates of one image (outputs point at that image's slice, float32):
 * anchors whose score is > conf, with their best class; SSD boxes are scaled
 * by in_w / in_h into input pixels.  Writes at most cap, returns how many
 * there were (may exceed cap). */
int det_candidates(const det_layout *l, const float *const *outputs, int in_w, int in_h, float conf, det_box *cand,
                   int cap);

/* Sorts by score (descending; ties keep anchor order), suppresses per class
 * every box whose IoU with a kept box of the same class is > iou, keeps at
 * most max_det; returns how many are kept (at the front of cand), or -1 when
 * the sort's scratch (n boxes) cannot be allocated (onyx_last_error says so). */
int det_nms(det_box *cand, int n, float iou, int max_det);
/* det_nms with the caller's scratch of n boxes (allocates nothing; never -1). */
int det_nms_scratch(det_box *cand, int n, float iou, int max_det, det_box *scratch);

#endif
