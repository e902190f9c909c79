/* GPU model checks (label "gpu"; needs a CUDA GPU, exits 77 without one).
 *
 * For each model given: the CPU backend is the reference, on seeded random
 * inputs (never zeros).  Then
 *   - the CUDA session backend (layer by layer) at FP32: atol 1e-4 + rtol 1e-4
 *     (relative to the output's scale, as the CUDA and CPU sums differ in order);
 *   - engines built at FP32, TF32 and FP16, saved, loaded back and run through a
 *     context (CUDA graph on): FP32 as above, TF32 within 1e-2 of scale, FP16
 *     reported (max abs / rel error and cosine similarity; top-1 equality is
 *     asserted for outputs shaped like classifier logits);
 *   - save -> load -> run twice: bit-identical outputs.
 *
 * usage: onyx_models_cuda [--shapes NAME:DIMS] MODEL.onnx... */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onyx.h"
#include "test_rng.h"

static int failures;

static uint64_t rng_state = 0x1234abcd5678ef01ull;
static float frand(void)
{
  return (float)((double)(test_splitmix64(&rng_state) >> 11) / 9007199254740992.0);
}

typedef struct io {
  int n_in, n_out;
  onyx_tensor_info in_info[8], out_info[8];
  float *in[8];
  float *ref[8];
  int64_t ref_n[8];
} io;

static int64_t numel(const onyx_tensor_info *t)
{
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->dims[d];
  return n;
}

typedef struct cmp {
  double max_abs, max_rel_scale, cosine;
  int top1_same;
} cmp;

static cmp compare(const float *ref, const float *got, int64_t n, int64_t row)
{
  cmp c = {0, 0, 0, 1};
  double scale = 0, dot = 0, na = 0, nb = 0;
  for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)ref[i] - got[i]);
    if (!(d <= c.max_abs)) c.max_abs = isnan(d) ? INFINITY : d;
    dot += (double)ref[i] * got[i];
    na += (double)ref[i] * ref[i];
    nb += (double)got[i] * got[i];
  }
  c.max_rel_scale = c.max_abs / (scale > 0 ? scale : 1);
  c.cosine = (na > 0 && nb > 0) ? dot / sqrt(na * nb) : 1.0;
  if (row > 1) /* classifier-like: compare argmax per row */
    for (int64_t r = 0; r < n / row; r++) {
      int64_t a = 0, b = 0;
      for (int64_t k = 1; k < row; k++) {
        if (ref[r * row + k] > ref[r * row + a]) a = k;
        if (got[r * row + k] > got[r * row + b]) b = k;
      }
      if (a != b) c.top1_same = 0;
    }
  return c;
}

static int cpu_reference(onyx_model *m, io *x)
{
  onyx_session *s;
  if (onyx_session_create(m, NULL, &s) != ONYX_OK) return -1;
  for (int i = 0; i < x->n_in; i++)
    if (onyx_session_set_input(s, x->in_info[i].name, ONYX_DTYPE_FLOAT, x->in_info[i].ndim, x->in_info[i].dims,
                               x->in[i]) != ONYX_OK)
      goto fail;
  if (onyx_session_run(s) != ONYX_OK) goto fail;
  for (int i = 0; i < x->n_out; i++) {
    const void *d;
    onyx_session_output(s, i, &x->out_info[i], &d);
    x->out_info[i].name = NULL; /* the session's copy of the name dies with it */
    x->ref_n[i] = numel(&x->out_info[i]);
    x->ref[i] = malloc((size_t)x->ref_n[i] * sizeof(float));
    memcpy(x->ref[i], d, (size_t)x->ref_n[i] * sizeof(float));
  }
  onyx_session_free(s);
  return 0;
fail:
  onyx_session_free(s);
  return -1;
}

static void check(const char *model, const char *what, const io *x, float **got, double tol_scale, int strict)
{
  for (int i = 0; i < x->n_out; i++) {
    const onyx_tensor_info *t = &x->out_info[i];
    int64_t row = (t->ndim == 2 && t->dims[1] >= 10) ? t->dims[1] : 0;
    cmp c = compare(x->ref[i], got[i], x->ref_n[i], row);
    int ok = strict ? c.max_rel_scale <= tol_scale : (c.top1_same && c.cosine > 0.999);
    printf("  %-8s %-20s max_abs %.3g  max_err/scale %.3g  cosine %.6f%s  %s\n", what, t->name, c.max_abs,
           c.max_rel_scale, c.cosine, row ? (c.top1_same ? "  top1 same" : "  TOP1 DIFFERS") : "",
           ok ? "ok" : "FAIL");
    if (!ok) {
      failures++;
      printf("FAIL %s %s output %s\n", model, what, t->name);
    }
  }
}

static void run_session_cuda(const char *path, onyx_model *m, const io *x)
{
  onyx_session_options o;
  onyx_session_options_init(&o);
  o.backend = ONYX_BACKEND_CUDA;
  onyx_session *s;
  float *got[8] = {0};
  if (onyx_session_create(m, &o, &s) != ONYX_OK) goto fail;
  for (int i = 0; i < x->n_in; i++)
    if (onyx_session_set_input(s, x->in_info[i].name, ONYX_DTYPE_FLOAT, x->in_info[i].ndim, x->in_info[i].dims,
                               x->in[i]) != ONYX_OK)
      goto fail_s;
  if (onyx_session_run(s) != ONYX_OK) goto fail_s;
  for (int i = 0; i < x->n_out; i++) {
    onyx_tensor_info ti;
    const void *d;
    onyx_session_output(s, i, &ti, &d);
    got[i] = (float *)d;
  }
  check(path, "session", x, got, 1e-4, 1);
  onyx_session_free(s);
  return;
fail_s:
  onyx_session_free(s);
fail:
  failures++;
  printf("FAIL %s session cuda: %s\n", path, onyx_last_error());
}

static int run_engine(onyx_engine *e, const io *x, float **got)
{
  onyx_context *c;
  if (onyx_context_create(e, &c) != ONYX_OK) return -1;
  for (int i = 0; i < x->n_in; i++)
    if (onyx_context_set_input_shape(c, x->in_info[i].name, x->in_info[i].ndim, x->in_info[i].dims) != ONYX_OK ||
        onyx_context_set_binding(c, x->in_info[i].name, x->in[i], 0) != ONYX_OK)
      goto fail;
  for (int i = 0; i < x->n_out; i++)
    if (onyx_context_set_binding(c, x->out_info[i].name, got[i], 0) != ONYX_OK) goto fail;
  for (int rep = 0; rep < 2; rep++) /* the second run replays the captured graph */
    if (onyx_context_enqueue(c, NULL) != ONYX_OK || onyx_context_synchronize(c) != ONYX_OK) goto fail;
  onyx_context_free(c);
  return 0;
fail:
  onyx_context_free(c);
  return -1;
}

static void run_engines(const char *path, onyx_model *m, const io *x, int n_shapes, const onyx_shape_range *shapes)
{
  static const char *const names[] = {"fp32", "tf32", "fp16"};
  for (int p = 0; p < 3; p++) {
    onyx_build_options o;
    onyx_build_options_init(&o);
    o.precision = (onyx_precision)p;
    o.n_shapes = n_shapes;
    o.shapes = shapes;
    onyx_engine *e = NULL, *e2 = NULL;
    float *got[8] = {0}, *again[8] = {0};
    char file[] = "/tmp/onyx_models_cuda.engine";
    for (int i = 0; i < x->n_out; i++) {
      got[i] = calloc((size_t)x->ref_n[i], sizeof(float));
      again[i] = calloc((size_t)x->ref_n[i], sizeof(float));
    }
    if (onyx_engine_build(m, &o, &e) != ONYX_OK || onyx_engine_save(e, file) != ONYX_OK ||
        onyx_engine_load(file, &e2) != ONYX_OK || run_engine(e2, x, got) != 0 || run_engine(e2, x, again) != 0) {
      failures++;
      printf("FAIL %s engine %s: %s\n", path, names[p], onyx_last_error());
    } else {
      check(path, names[p], x, got, p == 0 ? 1e-4 : 1e-2, p < 2);
      for (int i = 0; i < x->n_out; i++)
        if (memcmp(got[i], again[i], (size_t)x->ref_n[i] * sizeof(float))) {
          failures++;
          printf("FAIL %s engine %s: two runs differ\n", path, names[p]);
        }
      onyx_engine_memory mem;
      onyx_engine_get_memory(e2, &mem);
      printf("  %-8s %d layers, weights %.1f MB, activations %.1f MB, workspace %.1f MB\n", names[p],
             onyx_engine_num_layers(e2), mem.weight_bytes / 1e6, mem.activation_bytes / 1e6,
             mem.workspace_bytes / 1e6);
    }
    for (int i = 0; i < x->n_out; i++) {
      free(got[i]);
      free(again[i]);
    }
    onyx_engine_free(e);
    onyx_engine_free(e2);
  }
}

int main(int argc, char **argv)
{
  if (!onyx_cuda_available()) {
    printf("no CUDA GPU: skipped\n");
    return 77;
  }
  onyx_shape_range shapes[8];
  int n_shapes = 0, n_models = 0;
  for (int a = 1; a < argc; a++) {
    if (!strcmp(argv[a], "--shapes") && a + 1 < argc) {
      /* NAME:DIMS for an input with symbolic dims (fixed shape) */
      char *spec = argv[++a], *colon = strrchr(spec, ':');
      if (!colon || n_shapes >= 8) return 2;
      *colon = '\0';
      onyx_shape_range *r = &shapes[n_shapes++];
      memset(r, 0, sizeof(*r));
      r->name = spec;
      for (char *p = colon + 1; *p && r->ndim < ONYX_MAX_DIMS; p++) {
        r->min[r->ndim] = r->opt[r->ndim] = r->max[r->ndim] = strtoll(p, &p, 10);
        r->ndim++;
        if (*p != 'x') break;
      }
      continue;
    }
    const char *path = argv[a];
    n_models++;
    printf("%s\n", path);
    onyx_model *m;
    if (onyx_model_load(path, &m) != ONYX_OK) {
      failures++;
      printf("FAIL %s: %s\n", path, onyx_last_error());
      continue;
    }
    io x;
    memset(&x, 0, sizeof(x));
    x.n_in = onyx_model_num_inputs(m);
    x.n_out = onyx_model_num_outputs(m);
    int n_dyn_shapes = 0; /* ranges only for inputs with symbolic dims */
    onyx_shape_range dyn[8];
    for (int i = 0; i < x.n_in && i < 8; i++) {
      onyx_model_input(m, i, &x.in_info[i]);
      for (int d = 0; d < x.in_info[i].ndim; d++)
        if (x.in_info[i].dims[d] < 0) {
          x.in_info[i].dims[d] = 1;
          for (int k = 0; k < n_shapes; k++)
            if (!strcmp(shapes[k].name, x.in_info[i].name)) {
              x.in_info[i].dims[d] = shapes[k].opt[d];
              if (n_dyn_shapes == 0 || dyn[n_dyn_shapes - 1].name != shapes[k].name) dyn[n_dyn_shapes++] = shapes[k];
            }
        }
      int64_t n = numel(&x.in_info[i]);
      x.in[i] = malloc((size_t)n * sizeof(float));
      for (int64_t k = 0; k < n; k++) x.in[i][k] = frand();
    }
    if (cpu_reference(m, &x) != 0) {
      failures++;
      printf("FAIL %s cpu: %s\n", path, onyx_last_error());
    } else {
      for (int i = 0; i < x.n_out; i++) { /* names owned by the model (the CPU session's copy is gone) */
        onyx_tensor_info decl;
        onyx_model_output(m, i, &decl);
        x.out_info[i].name = decl.name;
      }
      run_session_cuda(path, m, &x);
      run_engines(path, m, &x, n_dyn_shapes, dyn);
    }
    for (int i = 0; i < 8; i++) {
      free(x.in[i]);
      free(x.ref[i]);
    }
    onyx_model_free(m);
  }
  printf("%d models, %d failures\n", n_models, failures);
  return failures ? 1 : 0;
}
