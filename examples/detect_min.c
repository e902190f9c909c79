/* detect_min: the image pipeline embedded in a program, through onyx.h only.
 *
 *   detect_min MODEL.onnx IMAGE...
 *
 * Loads a detector (YOLOv5/v8/11 or SSD outputs), makes a pipeline on the GPU
 * (an FP32 engine built here) or, without one, on the CPU, submits the images,
 * and prints each one's detections in the image's pixels as they complete.
 * Exit 0 when every image was processed, 1 otherwise. */
#include <stdint.h>
#include <stdio.h>

#include <onyx.h>

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: detect_min MODEL.onnx IMAGE...\n");
    return 2;
  }
  onyx_model *m = NULL;
  onyx_engine *e = NULL;
  onyx_pipeline *p = NULL;
  onyx_pipeline_options o;
  onyx_pipeline_options_init(&o); /* conf 0.25, iou 0.45, preprocessing by the model's layout */
  o.task = ONYX_TASK_DETECT;
  int failed = 0;
  onyx_status st = onyx_model_load(argv[1], &m);
  if (st == ONYX_OK && onyx_cuda_available()) { /* the model's own input shape, FP32 */
    st = onyx_engine_build(m, NULL, &e);
    if (st == ONYX_OK) st = onyx_pipeline_create(e, &o, &p);
  } else if (st == ONYX_OK) {
    st = onyx_pipeline_create_cpu(m, &o, &p);
  }
  for (int i = 2; st == ONYX_OK && i < argc; i++) /* the tag: the argument's index */
    st = onyx_pipeline_submit_file(p, argv[i], (void *)(intptr_t)i);
  for (int got = 1; st == ONYX_OK && got;) { /* results in submission order; got 0: all taken */
    onyx_pipeline_result r;
    st = onyx_pipeline_next(p, 1, &r, &got);
    if (st != ONYX_OK || !got) continue;
    const char *name = argv[(intptr_t)r.tag];
    if (r.status != ONYX_OK) {
      fprintf(stderr, "%s: %s\n", name, r.error);
      failed++;
      continue;
    }
    printf("%s: %d x %d, %d detections\n", name, r.width, r.height, r.n_detections);
    for (int k = 0; k < r.n_detections; k++) {
      const onyx_detection *d = &r.detections[k];
      printf("  class %2d  %.3f  %7.1f %7.1f %7.1f %7.1f\n", d->class_id, (double)d->score, (double)d->x1,
             (double)d->y1, (double)d->x2, (double)d->y2);
    }
  }
  if (st != ONYX_OK) fprintf(stderr, "detect_min: %s\n", onyx_last_error());
  onyx_pipeline_free(p); /* before the engine and model it uses */
  onyx_engine_free(e);
  onyx_model_free(m);
  return st != ONYX_OK || failed ? 1 : 0;
}
