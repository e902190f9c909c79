/* Runs ONNX's own backend node tests (model.onnx + test_data_set_N/{input,output}_K.pb)
 * through the public API on the CPU backend, or with --backend cuda on the GPU.
 *
 * A case is *applicable* when every op of its model is in onyx's op table;
 * the others are counted as "not applicable" and not run.  Applicable cases
 * listed in the skip file (one "test_name  reason" per line) are skipped and
 * their reasons printed; a listed case that would now pass is reported so the
 * list can shrink.  Exit status: 0 when no applicable case failed.
 *
 * With --expect-fail every case must instead be refused (at load or at run)
 * with a non-empty error message: for malformed-model suites.
 *
 * With --backend cuda, a case whose model has an op without a CUDA implementation
 * (other than Constant and Shape, which prepare always folds) is "not applicable
 * (no CUDA kernel)"; without a usable CUDA GPU the program says so and exits 77.
 *
 * usage: onyx_node_tests DATA_DIR [--skips FILE]... [--filter PREFIX] [--expect-fail] [--backend cpu|cuda] [-v] */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/cuda/exec.h"
#include "common/util.h"
#include "graph/ir.h"
#include "onnx/loader.h"
#include "ops/ops.h"
#include "runtime/model.h"

#define MAX_IO 16
#define MAX_SKIPS 1024
#define RTOL 1e-3
#define ATOL 1e-5

typedef struct skip_entry {
  char name[128];
  char reason[256];
  int used;
} skip_entry;

static skip_entry skips[MAX_SKIPS];
static int n_skips;
static int verbose;
static int expect_fail;
static onyx_backend backend = ONYX_BACKEND_CPU;

static void load_skips(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot open skip file '%s'\n", path);
    exit(2);
  }
  char line[512];
  while (fgets(line, sizeof(line), f) && n_skips < MAX_SKIPS) {
    char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '#' || *p == '\n' || !*p) continue;
    skip_entry *e = &skips[n_skips];
    int len = 0;
    while (p[len] && p[len] != ' ' && p[len] != '\t' && p[len] != '\n') len++;
    snprintf(e->name, sizeof(e->name), "%.*s", len, p);
    p += len;
    while (*p == ' ' || *p == '\t') p++;
    snprintf(e->reason, sizeof(e->reason), "%s", p);
    e->reason[strcspn(e->reason, "\n")] = '\0';
    n_skips++;
  }
  fclose(f);
}

static skip_entry *find_skip(const char *name)
{
  for (int i = 0; i < n_skips; i++)
    if (!strcmp(skips[i].name, name)) return &skips[i];
  return NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Whether every node of the model is an op onyx knows (decoded without validation). */
#include "onnx.pb-c.h"
static int applicable(const void *buf, size_t size, char *why, size_t cap)
{
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, buf);
  if (!mp || !mp->graph) {
    snprintf(why, cap, "model does not decode");
    if (mp) onnx__model_proto__free_unpacked(mp, NULL);
    return 0;
  }
  int ok = 1;
  for (size_t i = 0; i < mp->graph->n_node; i++) {
    const Onnx__NodeProto *n = mp->graph->node[i];
    int op = op_lookup(n->domain, n->op_type);
    if (op < 0) {
      snprintf(why, cap, "op %s", n->op_type);
      ok = 0;
      break;
    }
    if (backend == ONYX_BACKEND_CUDA && op != ONYX_OP_CONSTANT && op != ONYX_OP_SHAPE && !cuda_op_supported(op)) {
      snprintf(why, cap, "no CUDA kernel: %s", n->op_type);
      ok = 0;
      break;
    }
  }
  onnx__model_proto__free_unpacked(mp, NULL);
  return ok;
}

static int load_pb(const char *path, ir_tensor *t)
{
  void *buf;
  size_t size;
  if (onyx_read_file(path, (size_t)1 << 31, &buf, &size) != ONYX_OK) return -1;
  onyx_status st = onnx_load_tensor(buf, size, t);
  free(buf);
  return st == ONYX_OK ? 0 : -1;
}

static int values_close(const ir_tensor *want, const onyx_tensor_info *got, const void *data, char *msg, size_t cap)
{
  if (got->dtype != want->dtype) {
    snprintf(msg, cap, "dtype %s, expected %s", onyx_dtype_name(got->dtype), onyx_dtype_name(want->dtype));
    return 0;
  }
  if (got->ndim != want->ndim || memcmp(got->dims, want->dims, (size_t)want->ndim * sizeof(int64_t))) {
    char a[128], b[128];
    snprintf(msg, cap, "shape %s, expected %s", onyx_dims_str(got->ndim, got->dims, a, sizeof(a)),
             onyx_dims_str(want->ndim, want->dims, b, sizeof(b)));
    return 0;
  }
  int64_t n = ir_tensor_numel(want);
  ir_tensor view = *want;
  view.data = (void *)data;
  for (int64_t i = 0; i < n; i++) {
    double w = ir_tensor_get_f64(want, i), g = ir_tensor_get_f64(&view, i);
    if (isnan(w) && isnan(g)) continue;
    if (isinf(w) && w == g) continue;
    if (!(fabs(w - g) <= ATOL + RTOL * fabs(w))) {
      snprintf(msg, cap, "element %lld: got %.9g, expected %.9g", (long long)i, g, w);
      return 0;
    }
  }
  return 1;
}

/* Runs one test_data_set dir; returns 1 pass, 0 fail (msg set). */
static int run_dataset(onyx_model *m, const char *dir, char *msg, size_t cap)
{
  int ok = 0, n_in = 0, n_out = 0;
  ir_tensor ins[MAX_IO], outs[MAX_IO];
  memset(ins, 0, sizeof(ins));
  memset(outs, 0, sizeof(outs));
  onyx_session *s = NULL;
  char path[1024];
  for (; n_in < MAX_IO; n_in++) {
    snprintf(path, sizeof(path), "%s/input_%d.pb", dir, n_in);
    struct stat sb;
    if (stat(path, &sb) != 0) break;
    if (load_pb(path, &ins[n_in]) != 0) {
      snprintf(msg, cap, "cannot read %s: %s", path, onyx_last_error());
      goto out;
    }
  }
  for (; n_out < MAX_IO; n_out++) {
    snprintf(path, sizeof(path), "%s/output_%d.pb", dir, n_out);
    struct stat sb;
    if (stat(path, &sb) != 0) break;
    if (load_pb(path, &outs[n_out]) != 0) {
      snprintf(msg, cap, "cannot read %s: %s", path, onyx_last_error());
      goto out;
    }
  }
  onyx_session_options opt;
  onyx_session_options_init(&opt);
  opt.backend = backend;
  if (onyx_session_create(m, &opt, &s) != ONYX_OK) goto fail_api;
  if (n_in != onyx_model_num_inputs(m)) {
    snprintf(msg, cap, "test has %d inputs, model %d (optional inputs?)", n_in, onyx_model_num_inputs(m));
    goto out;
  }
  for (int i = 0; i < n_in; i++) {
    onyx_tensor_info ti;
    onyx_model_input(m, i, &ti);
    /* a test-data tensor may have no bytes (empty shape); pass a valid pointer */
    static const char empty[8];
    const void *d = ins[i].data ? ins[i].data : empty;
    if (onyx_session_set_input(s, ti.name, ins[i].dtype, ins[i].ndim, ins[i].dims, d) != ONYX_OK) goto fail_api;
  }
  if (onyx_session_run(s) != ONYX_OK) goto fail_api;
  for (int i = 0; i < n_out && i < onyx_model_num_outputs(m); i++) {
    onyx_tensor_info ti;
    const void *data;
    if (onyx_session_output(s, i, &ti, &data) != ONYX_OK) goto fail_api;
    if (!values_close(&outs[i], &ti, data, msg, cap)) {
      char tmp[512];
      snprintf(tmp, sizeof(tmp), "output %d ('%s'): %s", i, ti.name, msg);
      snprintf(msg, cap, "%s", tmp);
      goto out;
    }
  }
  ok = 1;
  goto out;
fail_api:
  snprintf(msg, cap, "%s", onyx_last_error());
out:
  onyx_session_free(s);
  for (int i = 0; i < MAX_IO; i++) {
    ir_tensor_clear(&ins[i]);
    ir_tensor_clear(&outs[i]);
  }
  return ok;
}

/* Returns 1 pass, 0 fail. */
static int run_case(const char *case_dir, char *msg, size_t cap)
{
  char path[1024];
  snprintf(path, sizeof(path), "%s/model.onnx", case_dir);
  onyx_model *m = NULL;
  if (onyx_model_load(path, &m) != ONYX_OK) {
    snprintf(msg, cap, "%s", onyx_last_error());
    return 0;
  }
  int ok = 1, sets = 0;
  for (int k = 0; ok; k++, sets++) {
    snprintf(path, sizeof(path), "%s/test_data_set_%d", case_dir, k);
    struct stat sb;
    if (stat(path, &sb) != 0) break;
    ok = run_dataset(m, path, msg, cap);
  }
  if (ok && sets == 0) {
    snprintf(msg, cap, "no test_data_set_0");
    ok = 0;
  }
  onyx_model_free(m);
  return ok;
}

int main(int argc, char **argv)
{
  const char *data_dir = NULL, *filter = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--skips") && i + 1 < argc) load_skips(argv[++i]);
    else if (!strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
    else if (!strcmp(argv[i], "-v")) verbose = 1;
    else if (!strcmp(argv[i], "--expect-fail")) expect_fail = 1;
    else if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
      const char *b = argv[++i];
      if (!strcmp(b, "cpu")) backend = ONYX_BACKEND_CPU;
      else if (!strcmp(b, "cuda")) backend = ONYX_BACKEND_CUDA;
      else {
        fprintf(stderr, "unknown backend '%s' (cpu or cuda)\n", b);
        return 2;
      }
    }
    else data_dir = argv[i];
  }
  if (!data_dir) {
    fprintf(stderr, "usage: %s DATA_DIR [--skips FILE] [--filter PREFIX] [--backend cpu|cuda] [-v]\n", argv[0]);
    return 2;
  }
  if (backend == ONYX_BACKEND_CUDA && !onyx_cuda_available()) {
    printf("CUDA is unavailable (a build without CUDA, or no usable GPU): nothing run\n");
    return 77;
  }
  DIR *d = opendir(data_dir);
  if (!d) {
    fprintf(stderr, "cannot open '%s'\n", data_dir);
    return 2;
  }
  char **names = NULL;
  int n = 0, cap = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (strncmp(e->d_name, "test_", 5)) continue;
    if (filter && strncmp(e->d_name, filter, strlen(filter))) continue;
    if (!onyx_grow((void **)&names, &cap, n + 1, sizeof(char *))) return 2;
    names[n++] = onyx_strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof(char *), cmp_str);
  int passed = 0, failed = 0, skipped = 0, na = 0, unexpected = 0;
  for (int i = 0; i < n; i++) {
    char dir[1024], path[1100], msg[1024] = "", why[128] = "";
    snprintf(dir, sizeof(dir), "%s/%s", data_dir, names[i]);
    snprintf(path, sizeof(path), "%s/model.onnx", dir);
    void *buf;
    size_t size;
    if (onyx_read_file(path, (size_t)1 << 31, &buf, &size) != ONYX_OK) continue;
    int app = applicable(buf, size, why, sizeof(why));
    free(buf);
    if (!app) {
      na++;
      if (verbose) printf("n/a   %s (%s)\n", names[i], why);
      continue;
    }
    skip_entry *sk = find_skip(names[i]);
    int ok = run_case(dir, msg, sizeof(msg));
    if (expect_fail) { /* refused with a message: pass; accepted: fail */
      int refused = !ok && msg[0];
      if (refused && verbose) printf("ok    %s refused: %s\n", names[i], msg);
      if (!refused) snprintf(msg, sizeof(msg), ok ? "accepted, expected a refusal" : "refused without a message");
      ok = refused;
    }
    if (sk) {
      sk->used = 1;
      skipped++;
      if (ok) {
        unexpected++;
        printf("XPASS %s (listed as skipped: %s)\n", names[i], sk->reason);
      } else if (verbose) {
        printf("skip  %s: %s\n", names[i], sk->reason);
      }
    } else if (ok) {
      passed++;
      if (verbose) printf("pass  %s\n", names[i]);
    } else {
      failed++;
      printf("FAIL  %s: %s\n", names[i], msg);
    }
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  if (skipped) {
    printf("skipped cases:\n");
    for (int i = 0; i < n_skips; i++)
      if (skips[i].used) printf("  %-50s %s\n", skips[i].name, skips[i].reason);
  }
  printf("%d passed, %d failed, %d skipped (%d not applicable: ops onyx does not claim%s)\n", passed, failed,
         skipped, na, backend == ONYX_BACKEND_CUDA ? " or has no CUDA kernel for" : "");
  if (unexpected) printf("%d skipped cases now pass: remove them from the skip list\n", unexpected);
  return failed ? 1 : 0;
}
