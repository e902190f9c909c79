/* A regression check for fuzz findings whose symptom depends on memory
 * contents (so replaying the input may pass even without the fix): the file
 * must be refused with a message containing the fragment given.
 *   expect_refused image FILE FRAGMENT */
#include <stdio.h>
#include <string.h>

#include "io/image.h"

int main(int argc, char **argv)
{
  if (argc != 4 || strcmp(argv[1], "image")) {
    fprintf(stderr, "usage: %s image FILE FRAGMENT\n", argv[0]);
    return 2;
  }
  image_rgb im;
  if (image_load(argv[2], &im) == ONYX_OK) {
    image_free(&im);
    fprintf(stderr, "FAIL: '%s' was decoded, expected a refusal containing '%s'\n", argv[2], argv[3]);
    return 1;
  }
  if (!strstr(onyx_last_error(), argv[3])) {
    fprintf(stderr, "FAIL: '%s' refused with '%s', expected '%s'\n", argv[2], onyx_last_error(), argv[3]);
    return 1;
  }
  printf("ok: %s\n", onyx_last_error());
  return 0;
}
