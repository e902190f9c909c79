/* Image preprocessing plans and their CPU reference.  See prep.h. */
#include "vision/prep.h"

#include <math.h>
#include <string.h>

#include "common/util.h"

/* Largest model input side a plan accepts (as image_imagenet_tensor did). */
#define PREP_MAX_OUT 8192

static const char *fit_name(prep_fit fit)
{
  switch (fit) {
  case PREP_LETTERBOX: return "letterbox";
  case PREP_STRETCH: return "stretch";
  case PREP_CENTER_CROP: return "center_crop";
  }
  return "?";
}

/* Python's round(x / 2) for an integer x >= 0: halves go to the even
 * neighbour (torchvision's CenterCrop offset). */
static int half_round_even(int x)
{
  int k = x / 2;
  if ((x & 1) && (k & 1)) k++;
  return k;
}

onyx_status prep_plan_make(prep_fit fit, int src_w, int src_h, int out_w, int out_h, const float mean[3],
                           const float inv_std[3], float pad, prep_plan *p)
{
  if (!p || !mean || !inv_std) return onyx_error(ONYX_ERR_INVALID_ARG, "prep_plan_make: NULL argument");
  memset(p, 0, sizeof(*p));
  if (fit != PREP_LETTERBOX && fit != PREP_STRETCH && fit != PREP_CENTER_CROP)
    return onyx_error(ONYX_ERR_INVALID_ARG, "prep_plan_make: unknown fit %d", (int)fit);
  if (src_w <= 0 || src_h <= 0 || src_w > IMAGE_MAX_SIDE || src_h > IMAGE_MAX_SIDE)
    return onyx_error(ONYX_ERR_INVALID_ARG, "%s: bad image size %dx%d (1..%d per side)", fit_name(fit), src_w,
                      src_h, IMAGE_MAX_SIDE);
  if (out_w <= 0 || out_h <= 0 || out_w > PREP_MAX_OUT || out_h > PREP_MAX_OUT)
    return onyx_error(ONYX_ERR_INVALID_ARG, "%s: bad model input size %dx%d (1..%d per side)", fit_name(fit), out_w,
                      out_h, PREP_MAX_OUT);
  for (int c = 0; c < 3; c++)
    if (!isfinite(mean[c]) || !isfinite(inv_std[c]) || inv_std[c] == 0.0f)
      return onyx_error(ONYX_ERR_INVALID_ARG, "%s: channel %d: mean %g and 1/std %g must be finite, 1/std non-zero",
                        fit_name(fit), c, (double)mean[c], (double)inv_std[c]);
  if (!isfinite(pad)) return onyx_error(ONYX_ERR_INVALID_ARG, "%s: pad %g is not finite", fit_name(fit), (double)pad);
  p->src_w = src_w;
  p->src_h = src_h;
  p->out_w = out_w;
  p->out_h = out_h;
  p->pad = pad;
  memcpy(p->mean, mean, sizeof(p->mean));
  memcpy(p->inv_std, inv_std, sizeof(p->inv_std));
  switch (fit) {
  case PREP_LETTERBOX: {
    /* Python's round() (halves to even) is rint in the default rounding mode. */
    double r = fmin((double)out_w / src_w, (double)out_h / src_h);
    p->rs_w = (int)rint(src_w * r);
    p->rs_h = (int)rint(src_h * r);
    /* a 1x30000 strip in a 640 square would round to 0 pixels: keep one */
    if (p->rs_w < 1) p->rs_w = 1;
    if (p->rs_h < 1) p->rs_h = 1;
    p->off_x = (int)rint((out_w - p->rs_w) / 2.0 - 0.1);
    p->off_y = (int)rint((out_h - p->rs_h) / 2.0 - 0.1);
    break;
  }
  case PREP_STRETCH:
    p->rs_w = out_w;
    p->rs_h = out_h;
    break;
  case PREP_CENTER_CROP: {
    int crop = out_w > out_h ? out_w : out_h;
    int short_side = (int)lround(crop * 256.0 / 224.0);
    /* torchvision: int(short_side * long / short), the quotient a correctly rounded double */
    double rw, rh;
    if (src_w <= src_h) {
      rw = short_side;
      rh = floor((double)((int64_t)short_side * src_h) / src_w);
    } else {
      rh = short_side;
      rw = floor((double)((int64_t)short_side * src_w) / src_h);
    }
    if (rw < out_w || rh < out_h || rw > IMAGE_MAX_SIDE || rh > IMAGE_MAX_SIDE)
      return onyx_error(ONYX_ERR_UNSUPPORTED, "center_crop: a %dx%d image cannot be resized for a %dx%d crop "
                        "(it would be %.0fx%.0f)", src_w, src_h, out_w, out_h, rw, rh);
    p->rs_w = (int)rw;
    p->rs_h = (int)rh;
    p->off_x = -half_round_even(p->rs_w - out_w);
    p->off_y = -half_round_even(p->rs_h - out_h);
    break;
  }
  }
  return ONYX_OK;
}

onyx_status prep_apply(const prep_plan *p, const image_rgb *im, float *dst)
{
  if (!p || !im || !im->px || !dst) return onyx_error(ONYX_ERR_INVALID_ARG, "prep_apply: NULL argument");
  if (im->w != p->src_w || im->h != p->src_h)
    return onyx_error(ONYX_ERR_INVALID_ARG, "prep_apply: the image is %dx%d but the plan was made for %dx%d", im->w,
                      im->h, p->src_w, p->src_h);
  image_rgb rs = {0};
  const image_rgb *r = im;
  if (p->rs_w != im->w || p->rs_h != im->h) {
    ONYX_TRY(image_resize_bilinear(im, p->rs_w, p->rs_h, &rs));
    r = &rs;
  }
  size_t plane = (size_t)p->out_w * (size_t)p->out_h;
  float padv[3];
  for (int c = 0; c < 3; c++) padv[c] = (p->pad - p->mean[c]) * p->inv_std[c];
  /* the output columns the resized image covers: [x0, x1) */
  int x0 = p->off_x > 0 ? p->off_x : 0, x1 = p->off_x + p->rs_w < p->out_w ? p->off_x + p->rs_w : p->out_w;
  for (int y = 0; y < p->out_h; y++) {
    int sy = y - p->off_y;
    bool row_in = sy >= 0 && sy < p->rs_h;
    for (int c = 0; c < 3; c++) {
      float *d = dst + c * plane + (size_t)y * p->out_w;
      if (!row_in || x0 >= x1) {
        for (int x = 0; x < p->out_w; x++) d[x] = padv[c];
        continue;
      }
      const unsigned char *s = r->px + ((size_t)sy * (size_t)p->rs_w + (size_t)(x0 - p->off_x)) * 3 + c;
      for (int x = 0; x < x0; x++) d[x] = padv[c];
      for (int x = x0; x < x1; x++, s += 3) d[x] = ((float)*s - p->mean[c]) * p->inv_std[c];
      for (int x = x1; x < p->out_w; x++) d[x] = padv[c];
    }
  }
  image_free(&rs);
  return ONYX_OK;
}

static float clampf(float v, float lo, float hi) { return !(v >= lo) ? lo : v > hi ? hi : v; }

void prep_box_to_source(const prep_plan *p, float box[4])
{
  /* input pixel x covers resized pixel x - off_x; the resize scales each axis by rs / src */
  float sx = (float)p->src_w / (float)p->rs_w, sy = (float)p->src_h / (float)p->rs_h;
  box[0] = clampf((box[0] - (float)p->off_x) * sx, 0.0f, (float)p->src_w);
  box[1] = clampf((box[1] - (float)p->off_y) * sy, 0.0f, (float)p->src_h);
  box[2] = clampf((box[2] - (float)p->off_x) * sx, 0.0f, (float)p->src_w);
  box[3] = clampf((box[3] - (float)p->off_y) * sy, 0.0f, (float)p->src_h);
}
