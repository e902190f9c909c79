/* Image preprocessing plans: how a decoded RGB8 image becomes one model input
 * (3 x out_h x out_w, NCHW), the same on the CPU (prep_apply, the reference)
 * and on the GPU (cuda_prep_image in vision_cuda.h).
 *
 * Every fit is "resize the whole image to rs_w x rs_h, then place it with its
 * top-left pixel at (off_x, off_y) of the output":
 *   letterbox    r = min(out_w / w, out_h / h); rs = (round(w r), round(h r));
 *                off = (round(dw - 0.1), round(dh - 0.1)) with dw = (out_w - rs_w) / 2
 *                (Ultralytics' LetterBox, centred); uncovered pixels are `pad` (114)
 *   stretch      rs = out, off = 0 (SSD-style detectors such as UltraFace)
 *   center_crop  the shorter side resized to round(max(out_w, out_h) * 256 / 224), the longer one alike
 *                (truncated, as torchvision's Resize); off = -(Python's round((rs - out) / 2)), which
 *                crops (ImageNet classification, as image_imagenet_tensor did)
 * The resize is PIL's Image.resize(BILINEAR): a triangle filter whose support
 * widens with the downscale factor (antialiasing).  Values: out = (level -
 * mean[c]) * inv_std[c] with levels 0..255 in RGB order. */
#ifndef ONYX_VISION_PREP_H
#define ONYX_VISION_PREP_H

#include "io/image.h"
#include "onyx.h"

typedef enum prep_fit { PREP_LETTERBOX, PREP_STRETCH, PREP_CENTER_CROP } prep_fit;

typedef struct prep_plan {
  int src_w, src_h; /* the decoded image */
  int rs_w, rs_h;   /* the image resized to this */
  int off_x, off_y; /* where resized pixel (0, 0) lands in the output; negative: cropped */
  int out_w, out_h; /* the model input */
  float pad;        /* gray level of output pixels the resized image does not cover */
  float mean[3], inv_std[3];
} prep_plan;

onyx_status prep_plan_make(prep_fit fit, int src_w, int src_h, int out_w, int out_h, const float mean[3],
                           const float inv_std[3], float pad, prep_plan *p);

/* CPU reference: fills dst (3 * out_h * out_w floats, NCHW) from im. */
onyx_status prep_apply(const prep_plan *p, const image_rgb *im, float *dst);

/* Maps a box x1,y1,x2,y2 in model-input pixels back to source-image pixels,
 * clamped to the image. */
void prep_box_to_source(const prep_plan *p, float box[4]);

#endif
