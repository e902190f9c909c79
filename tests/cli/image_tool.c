/* Test helper: exposes src/io/image.h to the Python tests.
 *   image_tool decode   IMAGE OUT.npy            -> uint8 H x W x 3 (stb_image's pixels)
 *   image_tool resize   IMAGE W H OUT.npy        -> uint8 H x W x 3 (image_resize_bilinear)
 *   image_tool imagenet IMAGE H W OUT.npy        -> float32 1 x 3 x H x W (image_imagenet_tensor)
 *   image_tool letterbox|stretch IMAGE W H OUT.npy -> float32 1 x 3 x H x W gray levels (prep_apply,
 *                                                  mean 0, std 1, pad 114)
 * Exit 0 on success, 1 with the library's message on stderr otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "io/npy.h"
#include "vision/prep.h"

static int fail(void)
{
  fprintf(stderr, "image_tool: %s\n", onyx_last_error());
  return 1;
}

int main(int argc, char **argv)
{
  if (argc < 4) {
    fprintf(stderr, "usage: image_tool decode|resize|imagenet IMAGE [W H | H W] OUT.npy\n");
    return 2;
  }
  image_rgb im, r;
  if (image_load(argv[2], &im) != ONYX_OK) return fail();
  int rc = 1;
  if (!strcmp(argv[1], "decode") && argc == 4) {
    int64_t dims[3] = {im.h, im.w, 3};
    rc = npy_write(argv[3], ONYX_DTYPE_UINT8, 3, dims, im.px) == ONYX_OK ? 0 : fail();
  } else if (!strcmp(argv[1], "resize") && argc == 6) {
    if (image_resize_bilinear(&im, atoi(argv[3]), atoi(argv[4]), &r) != ONYX_OK) {
      rc = fail();
    } else {
      int64_t dims[3] = {r.h, r.w, 3};
      rc = npy_write(argv[5], ONYX_DTYPE_UINT8, 3, dims, r.px) == ONYX_OK ? 0 : fail();
      image_free(&r);
    }
  } else if (!strcmp(argv[1], "imagenet") && argc == 6) {
    int h = atoi(argv[3]), w = atoi(argv[4]);
    float *t = malloc(sizeof(*t) * 3 * (size_t)(h > 0 ? h : 1) * (size_t)(w > 0 ? w : 1));
    int64_t dims[4] = {1, 3, h, w};
    if (!t || image_imagenet_tensor(&im, h, w, t) != ONYX_OK)
      rc = fail();
    else
      rc = npy_write(argv[5], ONYX_DTYPE_FLOAT, 4, dims, t) == ONYX_OK ? 0 : fail();
    free(t);
  } else if ((!strcmp(argv[1], "letterbox") || !strcmp(argv[1], "stretch")) && argc == 6) {
    int w = atoi(argv[3]), h = atoi(argv[4]);
    static const float zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
    prep_plan p;
    float *t = malloc(sizeof(*t) * 3 * (size_t)(h > 0 ? h : 1) * (size_t)(w > 0 ? w : 1));
    int64_t dims[4] = {1, 3, h, w};
    if (!t || prep_plan_make(argv[1][0] == 'l' ? PREP_LETTERBOX : PREP_STRETCH, im.w, im.h, w, h, zero, one, 114.0f,
                             &p) != ONYX_OK || prep_apply(&p, &im, t) != ONYX_OK)
      rc = fail();
    else
      rc = npy_write(argv[5], ONYX_DTYPE_FLOAT, 4, dims, t) == ONYX_OK ? 0 : fail();
    free(t);
  } else {
    fprintf(stderr, "image_tool: bad arguments\n");
    rc = 2;
  }
  image_free(&im);
  return rc;
}
