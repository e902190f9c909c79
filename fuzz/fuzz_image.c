/* Fuzz target: the image path `onyx classify` takes: image_decode (our JPEG
 * segment / PNG chunk walk, then stb_image), then ImageNet preprocessing
 * (resize + centre crop) to a small crop whose size the input's last byte
 * picks, and a bilinear resize.  Images of more than 4 Mpixel (by stb's own
 * header reading) are skipped to keep executions fast; the limits above that
 * are tested in tests/bad_input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "fuzz.h"
#include "io/image.h"

#define FUZZ_MAX_PIXELS (4 << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc, (void)argv;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  int w, h, comp;
  if (size > (1u << 24)) return 0;
  if (stbi_info_from_memory(data, (int)size, &w, &h, &comp) && (int64_t)w * h > FUZZ_MAX_PIXELS) return 0;
  image_rgb im;
  if (image_decode(data, size, "fuzz", &im) != ONYX_OK) {
    FUZZ_CHECK(im.px == NULL);
    return 0;
  }
  FUZZ_CHECK(im.w > 0 && im.h > 0 && im.px);
  int crop = 1 + data[size - 1] % 32;
  float *t = malloc(sizeof(float) * 3 * (size_t)crop * (size_t)crop);
  if (t) {
    image_imagenet_tensor(&im, crop, crop, t);
    free(t);
  }
  image_rgb small;
  if (image_resize_bilinear(&im, 1 + data[size - 1] % 7, 1 + data[0] % 5, &small) == ONYX_OK) image_free(&small);
  image_free(&im);
  return 0;
}
