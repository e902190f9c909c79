/* A real engine file, built on an NVIDIA H200 (tests/engine/data/mnist_fp16.engine:
 * `onyx build mnist_cntk_opset1.onnx --fp16`, made by scripts/device/gpu-tests.sh),
 * read without a GPU: onyx_engine_inspect describes it; every truncation and
 * a sample of byte corruptions are refused with a message, never a crash; and
 * running it is refused with a clear message where there is no GPU or where
 * the GPU/libraries differ.
 *
 * usage: onyx_engine_file_tests ENGINE_FILE TMP_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "onyx.h"


#include "../unit/check.h"

static int write_file(const char *path, const void *data, size_t n)
{
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(data, 1, n, f);
  fclose(f);
  return w == n ? 0 : -1;
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: %s ENGINE TMP_DIR\n", argv[0]);
    return 2;
  }
  void *buf;
  size_t size;
  if (onyx_read_file(argv[1], (size_t)1 << 30, &buf, &size) != ONYX_OK) {
    printf("FAIL cannot read %s: %s\n", argv[1], onyx_last_error());
    return 1;
  }
  /* 1. described without a GPU */
  onyx_engine *e = NULL;
  onyx_status st = onyx_engine_inspect(argv[1], &e);
#ifdef ONYX_HAVE_CUDA
  CHECKF(st == ONYX_OK, "inspect: %s", onyx_last_error());
  if (e) {
    CHECKF(strstr(onyx_engine_target(e), "H200") != NULL, "target '%s'", onyx_engine_target(e));
    CHECKF(onyx_engine_precision(e) == ONYX_PRECISION_FP16, "precision %d", (int)onyx_engine_precision(e));
    CHECKF(onyx_engine_num_inputs(e) == 1 && onyx_engine_num_outputs(e) == 1, "bindings");
    CHECKF(onyx_engine_num_layers(e) >= 4, "%d layers", onyx_engine_num_layers(e));
    int fused = 0;
    for (int i = 0; i < onyx_engine_num_layers(e); i++) {
      onyx_layer_info li;
      CHECKF(onyx_engine_layer(e, i, &li) == ONYX_OK, "layer %d", i);
      fused += strcmp(li.op_type, "FusedConv") == 0 && strstr(li.name, " + ") != NULL;
    }
    CHECKF(fused == 2, "%d fused convs named with ' + '", fused);
    onyx_tensor_info ti;
    onyx_engine_input(e, 0, &ti);
    CHECKF(!strcmp(ti.name, "Input3") && ti.dtype == ONYX_DTYPE_FLOAT, "input %s", ti.name);
    onyx_context *c = NULL;
    st = onyx_context_create(e, &c);
    CHECKF(st != ONYX_OK && strstr(onyx_last_error(), "inspection"), "a context from an inspected engine: %s",
          onyx_last_error());
    onyx_engine_free(e);
  }
  /* 2. running it: no GPU here (CI), or not this GPU: a refusal that says why */
  e = NULL;
  st = onyx_engine_load(argv[1], &e);
  if (!onyx_cuda_available())
    CHECKF(st == ONYX_ERR_UNSUPPORTED && strstr(onyx_last_error(), "GPU"), "load without a GPU: %s",
          onyx_last_error());
  else if (st != ONYX_OK)
    CHECKF(strstr(onyx_last_error(), "does not match"), "load on another GPU: %s", onyx_last_error());
  onyx_engine_free(e);
#else
  CHECKF(st == ONYX_ERR_UNSUPPORTED, "a build without CUDA refuses engines");
#endif
  /* 3. every truncation and a sample of corruptions: refused with a message */
  char path[4096];
  snprintf(path, sizeof(path), "%s/engine_file_tests.engine", argv[2]);
  int refused = 0, cases = 0;
  for (size_t cut = 0; cut < size; cut += (cut < 4096 ? 1 : 97)) {
    if (write_file(path, buf, cut)) break;
    e = NULL;
    st = onyx_engine_inspect(path, &e);
    cases++;
    if (st != ONYX_OK && onyx_last_error()[0]) refused++;
    else CHECKF(0, "truncated at %zu bytes: accepted", cut);
    onyx_engine_free(e);
  }
  unsigned char *bad = malloc(size);
  for (size_t at = 0; at < size; at += 61) {
    memcpy(bad, buf, size);
    bad[at] ^= 0x5a;
    if (write_file(path, bad, size)) break;
    e = NULL;
    st = onyx_engine_inspect(path, &e);
    cases++;
    if (st != ONYX_OK && onyx_last_error()[0]) refused++;
    else CHECKF(0, "byte %zu flipped: accepted", at);
    onyx_engine_free(e);
  }
  remove(path);
  free(bad);
  free(buf);
  printf("%d damaged files, %d refused\n", cases, refused);
  printf("%s\n", check_failures_ ? "engine file: FAILED" : "engine file: all checks passed");
  return check_failures_ ? 1 : 0;
}
