/* Image decoding (JPEG, PNG via stb_image) and ImageNet-style preprocessing.
 *
 * Files are untrusted: anything that is not a complete JPEG or PNG, or whose
 * dimensions exceed IMAGE_MAX_SIDE / IMAGE_MAX_PIXELS, is refused with a
 * message naming the file. */
#ifndef ONYX_IO_IMAGE_H
#define ONYX_IO_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

#define IMAGE_MAX_SIDE 32768
#define IMAGE_MAX_PIXELS (1 << 27) /* 134 Mpixel: about 400 MB of RGB */
#define IMAGE_MAX_FILE (256u << 20)

/* 8-bit RGB, rows top to bottom, pixels interleaved (R, G, B). */
typedef struct image_rgb {
  int w, h;
  unsigned char *px; /* malloc'd, w * h * 3 bytes */
} image_rgb;

void image_free(image_rgb *im);

/* Decodes a JPEG or PNG held in memory; name is used in messages. */
onyx_status image_decode(const void *buf, size_t size, const char *name, image_rgb *out);
onyx_status image_load(const char *path, image_rgb *out);

/* Resizes like PIL's Image.resize(..., BILINEAR): a separable triangle filter
 * whose support widens by the scale factor when downscaling (antialiasing),
 * horizontal pass first, rounding to 8 bits after each pass. */
onyx_status image_resize_bilinear(const image_rgb *in, int out_w, int out_h, image_rgb *out);

/* ImageNet classification preprocessing of an RGB image to an NCHW float32
 * tensor of 3 x crop_h x crop_w (the batch of 1 is implicit):
 *   resize so the shorter side is round(max(crop_h, crop_w) * 256 / 224)
 *   (the longer side scaled alike, truncated, as torchvision's Resize does),
 *   centre-crop crop_h x crop_w, scale to [0, 1], subtract the mean
 *   [0.485, 0.456, 0.406] and divide by the std [0.229, 0.224, 0.225]. */
onyx_status image_imagenet_tensor(const image_rgb *im, int crop_h, int crop_w, float *dst);

#endif
