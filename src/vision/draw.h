/* Detections drawn into an image (box outlines in a colour per class, a label
 * "name 0.91" on a filled tag with a small built-in bitmap font) and images
 * written as PNG or JPEG (stb_image_write). */
#ifndef ONYX_VISION_DRAW_H
#define ONYX_VISION_DRAW_H

#include "io/image.h"
#include "onyx.h"
#include "vision/detect.h"

/* Draws in place detections given in image pixels; the label of class c is
 * names[c] when c < n_names, else its number. */
void draw_detections(image_rgb *im, const det_box *dets, int n, const char *const *names, int n_names);

/* Draws text with its top-left corner at (x, y), each font pixel a scale x scale square, clipped to the image. */
void draw_text(image_rgb *im, int x, int y, const char *text, int scale, const unsigned char rgb[3]);
/* Width and height in pixels of text at a scale. */
void draw_text_size(const char *text, int scale, int *w, int *h);

/* Writes PNG (".png") or JPEG (".jpg", ".jpeg"; quality 90), chosen by the
 * path's extension; errors name the path. */
onyx_status draw_save(const image_rgb *im, const char *path);

#endif
