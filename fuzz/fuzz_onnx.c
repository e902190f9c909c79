/* Fuzz target: the ONNX loader (protobuf decoding, validation), then a CPU
 * session on the loaded model: symbolic dimensions set to 1, prepare (shape
 * inference and constant folding, with the graph passes of an opt level taken
 * from the input's size), and, when the prepared graph is small, one run on
 * zero inputs.  Tensors are capped at 4 MiB (ONYX_MAX_TENSOR_BYTES) so that
 * a hostile shape is refused rather than allocated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "onyx.h"

#define RUN_MAX_ACTIVATION_BYTES (1 << 20)
#define RUN_MAX_FLOPS (1 << 24)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc, (void)argv;
  setenv("ONYX_MAX_TENSOR_BYTES", "4194304", 1);
  setenv("OMP_NUM_THREADS", "1", 1);
  return 0;
}

static void query_model(const onyx_model *m)
{
  onyx_model_meta meta;
  FUZZ_CHECK(onyx_model_get_meta(m, &meta) == ONYX_OK);
  onyx_tensor_info ti;
  for (int i = 0; i < onyx_model_num_inputs(m); i++) FUZZ_CHECK(onyx_model_input(m, i, &ti) == ONYX_OK);
  for (int i = 0; i < onyx_model_num_outputs(m); i++) FUZZ_CHECK(onyx_model_output(m, i, &ti) == ONYX_OK);
  onyx_node_info ni;
  for (int i = 0; i < meta.n_nodes; i++) FUZZ_CHECK(onyx_model_node(m, i, &ni) == ONYX_OK);
}

/* Zero inputs at the prepared shapes, one run, the outputs read. */
static void run_once(onyx_session *s, const onyx_model *m)
{
  for (int i = 0; i < onyx_model_num_inputs(m); i++) {
    onyx_tensor_info ti;
    if (onyx_session_input(s, i, &ti) != ONYX_OK) return;
    size_t esz = onyx_dtype_size(ti.dtype);
    if (!esz || ti.ndim < 0) return;
    size_t numel = 1;
    for (int d = 0; d < ti.ndim; d++) {
      if (ti.dims[d] < 0 || ti.dims[d] > RUN_MAX_ACTIVATION_BYTES) return;
      numel *= (size_t)ti.dims[d];
      if (numel > RUN_MAX_ACTIVATION_BYTES) return;
    }
    void *zeros = calloc(numel ? numel : 1, esz);
    if (!zeros) return;
    onyx_status st = onyx_session_set_input(s, ti.name, ti.dtype, ti.ndim, ti.dims, zeros);
    free(zeros);
    if (st != ONYX_OK) return;
  }
  if (onyx_session_run(s) != ONYX_OK) return;
  for (int i = 0; i < onyx_model_num_outputs(m); i++) {
    onyx_tensor_info ti;
    const void *data;
    if (onyx_session_output(s, i, &ti, &data) != ONYX_OK) continue;
    size_t numel = 1;
    for (int d = 0; d < ti.ndim; d++) numel *= (size_t)ti.dims[d];
    size_t bytes = numel * onyx_dtype_size(ti.dtype);
    /* reading every byte lets ASan check that the buffer is as large as the shape says */
    volatile unsigned char sink = 0;
    for (size_t k = 0; k < bytes; k++) sink ^= ((const unsigned char *)data)[k];
    (void)sink;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  onyx_model *m = NULL;
  if (onyx_model_load_memory(data, size, NULL, &m) != ONYX_OK) {
    FUZZ_CHECK(m == NULL);
    FUZZ_CHECK(onyx_last_error()[0] != '\0');
    return 0;
  }
  query_model(m);
  onyx_session_options opt;
  onyx_session_options_init(&opt);
  opt.num_threads = 1;
  opt.opt_level = (int)(size % 4);
  onyx_session *s = NULL;
  if (onyx_session_create(m, &opt, &s) == ONYX_OK) {
    for (int i = 0; i < onyx_model_num_inputs(m); i++) {
      onyx_tensor_info ti;
      if (onyx_model_input(m, i, &ti) != ONYX_OK || ti.ndim < 0) continue;
      int64_t dims[ONYX_MAX_DIMS];
      for (int d = 0; d < ti.ndim && d < ONYX_MAX_DIMS; d++) dims[d] = ti.dims[d] < 0 ? 1 : ti.dims[d];
      onyx_session_set_input_shape(s, ti.name, ti.ndim, dims); /* may be refused: prepare then says why */
    }
    if (onyx_session_prepare(s) == ONYX_OK) {
      onyx_cost cost;
      FUZZ_CHECK(onyx_session_cost(s, &cost) == ONYX_OK);
      if (cost.activation_bytes <= RUN_MAX_ACTIVATION_BYTES && cost.flops <= RUN_MAX_FLOPS) run_once(s, m);
    }
    onyx_session_free(s);
  }
  onyx_model_free(m);
  return 0;
}
