/* Bad input through the C API: every case must fail with the expected status
 * and a message naming the problem, never crash or leak (run under ASan).
 *
 *   bad_input_api [REAL_MODEL.onnx ...]   run every case (real models are cut short too)
 *   bad_input_api --write DIR             only write the case files and DIR/manifest.tsv
 *                                         (for the CLI test) */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#include "cases.h"
#include "check.h"
#include "common/util.h"
#include "model_builder.h"

/* ---- model files from the shared case list ---------------------------------- */

static void run_file_cases(const char *dir)
{
  bad_case *cases;
  int n = cases_write(dir, &cases);
  CHECK(n > 0);
  for (int i = 0; i < n; i++) {
    const bad_case *c = &cases[i];
    onyx_model *m = (onyx_model *)&cases; /* must be reset to NULL on failure */
    onyx_clear_error();
    onyx_status st = onyx_model_load(c->path, &m);
    int ok;
    if (c->want == CASE_ANY_ERROR) {
      check_count_++;
      ok = st != ONYX_OK;
      if (!ok) {
        fprintf(stderr, "case %s: loaded, but it should have failed\n", c->name);
        check_failures_++;
      }
      for (int k = 0; ok && c->subs[k]; k++) CHECK(strstr(onyx_last_error(), c->subs[k]) != NULL);
    } else {
      ok = check_status_(__FILE__, __LINE__, c->name, st, c->want, c->subs);
    }
    if (st != ONYX_OK && c->mention_file && !strstr(onyx_last_error(), cases_basename(c->path))) {
      fprintf(stderr, "case %s: message does not name the file: %s\n", c->name, onyx_last_error());
      CHECK(!"the message names the file");
    }
    if (st != ONYX_OK) {
      CHECK(m == NULL);
      CHECK(strlen(onyx_last_error()) > 10);
      if (!ok) fprintf(stderr, "  case %s: %s\n", c->name, onyx_last_error());
      continue;
    }
    /* the positive controls run: external weights [1,2,3] make y = relu(x + w) */
    if (strncmp(c->name, "ext_ok", 6) == 0) {
      onyx_session *s = NULL;
      const float x[3] = {0, -2.5f, 1};
      const void *data;
      onyx_tensor_info info;
      if (CHECK_OK(onyx_session_create(m, NULL, &s)) &&
          CHECK_OK(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 2, (int64_t[]){1, 3}, x)) &&
          CHECK_OK(onyx_session_run(s)) && CHECK_OK(onyx_session_output(s, 0, &info, &data))) {
        const float *y = data;
        CHECK(y[0] == 1.f && y[1] == 0.f && y[2] == 4.f);
      }
      onyx_session_free(s);
    }
    onyx_model_free(m);
  }
  printf("%d model-file cases checked\n", n);
  free(cases);
}

/* ---- in memory --------------------------------------------------------------- */

static void test_memory_inputs(void)
{
  onyx_model *m = NULL;
  CHECK_ERR(onyx_model_load_memory("", 0, NULL, &m), ONYX_ERR_PARSE, "empty");
  CHECK_ERR(onyx_model_load_memory(NULL, 0, NULL, &m), ONYX_ERR_PARSE, "empty");
  CHECK_ERR(onyx_model_load_memory(NULL, 10, NULL, &m), ONYX_ERR_INVALID_ARG, "NULL");
  CHECK_ERR(onyx_model_load_memory("x", 1, NULL, NULL), ONYX_ERR_INVALID_ARG, "NULL");
  CHECK_ERR(onyx_model_load(NULL, &m), ONYX_ERR_INVALID_ARG, "NULL");
  CHECK_ERR(onyx_model_load("model.onnx", NULL), ONYX_ERR_INVALID_ARG, "NULL");
  CHECK(m == NULL);
  /* external data needs a directory to be relative to */
  mb *b = mb_new(13);
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  Onnx__TensorProto *w = mb_init(b, "w", ONYX_DTYPE_FLOAT, "3", NULL);
  mb_external(b, w, "w.bin", NULL, NULL);
  mb_node(b, "Add", "add", "x,w", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "1,3");
  CHECK_ERR(mb_load(b, &m), ONYX_ERR_INVALID_MODEL, "'w'", "w.bin", "not loaded from a file");
  mb_free(b);
  /* NULL handles are refused, and freeing NULL is fine */
  onyx_model_free(NULL);
  onyx_session_free(NULL);
  onyx_session *s = NULL;
  CHECK_ERR(onyx_session_create(NULL, NULL, &s), ONYX_ERR_INVALID_ARG, "NULL");
  CHECK_ERR(onyx_session_run(NULL), ONYX_ERR_INVALID_ARG, "NULL");
  CHECK_ERR(onyx_session_prepare(NULL), ONYX_ERR_INVALID_ARG, "NULL");
}

/* Every prefix of a good model must be refused with a message. */
static void test_truncation(const char *what, const uint8_t *buf, size_t len)
{
  int bad = 0;
  for (size_t cut = 0; cut < len; cut++) {
    onyx_model *m = NULL;
    onyx_clear_error();
    onyx_status st = onyx_model_load_memory(buf, cut, NULL, &m);
    if (st == ONYX_OK || m || !onyx_last_error()[0]) {
      if (bad++ < 5)
        fprintf(stderr, "%s cut at %zu of %zu bytes: status %s, message \"%s\"\n", what, cut, len,
                onyx_status_name(st), onyx_last_error());
      onyx_model_free(m);
    }
  }
  check_count_++;
  if (bad) check_failures_++;
  onyx_model *m = NULL;
  CHECK_OK(onyx_model_load_memory(buf, len, NULL, &m)); /* and the whole of it loads */
  onyx_model_free(m);
  printf("%s: all %zu truncations refused\n", what, len);
}

/* End offset of top-level protobuf field 7 (ModelProto.graph), or 0. */
static size_t graph_field_end(const uint8_t *p, size_t len)
{
  size_t i = 0, end = 0;
  while (i < len) {
    uint64_t key = 0, v = 0;
    int sh = 0;
    while (i < len && sh < 64) {
      key |= (uint64_t)(p[i] & 0x7f) << sh;
      sh += 7;
      if (!(p[i++] & 0x80)) break;
    }
    switch (key & 7) {
    case 0:
      while (i < len && (p[i++] & 0x80)) {}
      break;
    case 1: i += 8; break;
    case 5: i += 4; break;
    case 2:
      for (sh = 0; i < len && sh < 64; sh += 7) {
        v |= (uint64_t)(p[i] & 0x7f) << sh;
        if (!(p[i++] & 0x80)) break;
      }
      if (v > len - i) return end;
      i += v;
      if ((key >> 3) == 7) end = i;
      break;
    default: return end;
    }
  }
  return end;
}

/* A real model cut at many points: every cut before the end of the graph
 * field must be refused; later cuts may load (opset_import and metadata come
 * after the graph) but must not crash. */
static void test_real_model_cuts(const char *path)
{
  void *data;
  size_t len;
  if (onyx_read_file(path, (size_t)1 << 30, &data, &len) != ONYX_OK) {
    printf("real model %s not readable, skipped: %s\n", path, onyx_last_error());
    return;
  }
  const uint8_t *buf = data;
  size_t gend = graph_field_end(buf, len);
  CHECK(gend > 0);
  size_t step = len / 400 + 1;
  int cuts = 0, bad = 0;
  for (size_t cut = 0; cut < len; cut = cut + step + (cut % 7)) {
    uint8_t *copy = malloc(cut ? cut : 1); /* exact-size copy: ASan sees any over-read */
    if (!copy) break;
    memcpy(copy, buf, cut);
    onyx_model *m = NULL;
    onyx_status st = onyx_model_load_memory(copy, cut, NULL, &m);
    cuts++;
    if (cut < gend && (st == ONYX_OK || !onyx_last_error()[0])) {
      if (bad++ < 5) fprintf(stderr, "%s cut at %zu of %zu loaded\n", path, cut, len);
    }
    onyx_model_free(m);
    free(copy);
  }
  check_count_++;
  if (bad) check_failures_++;
  printf("%s: %d cuts, all before byte %zu refused\n", path, cuts, gend);
  free(data);
}

/* Random byte changes to a good model: loading (and running, where it loads)
 * either works or fails with a message; ASan checks the rest. */
static void test_mutations(const uint8_t *buf, size_t len, int rounds)
{
  setenv("ONYX_MAX_TENSOR_BYTES", "1048576", 1); /* mutated dims must not allocate gigabytes */
  uint64_t s = 0x853c49e6748fea9bull;
  int loaded = 0, ran = 0, silent = 0;
  uint8_t *copy = malloc(len);
  if (!copy) return;
  for (int r = 0; r < rounds; r++) {
    memcpy(copy, buf, len);
    int nflips = 1 + (int)(cases_rand(&s) % 4);
    for (int k = 0; k < nflips; k++) {
      size_t at = (size_t)(cases_rand(&s) % len);
      uint64_t how = cases_rand(&s);
      copy[at] = (how & 1) ? (uint8_t)(copy[at] ^ (1u << ((how >> 1) % 8))) : (uint8_t)(how >> 8);
    }
    onyx_model *m = NULL;
    onyx_clear_error();
    if (onyx_model_load_memory(copy, len, NULL, &m) != ONYX_OK) {
      if (!onyx_last_error()[0]) silent++;
      continue;
    }
    loaded++;
    onyx_session *sess = NULL;
    if (onyx_session_create(m, NULL, &sess) == ONYX_OK) {
      int ok = 1;
      for (int i = 0; ok && i < onyx_model_num_inputs(m); i++) {
        onyx_tensor_info info;
        ok = onyx_model_input(m, i, &info) == ONYX_OK;
        for (int d = 0; ok && d < info.ndim; d++)
          if (info.dims[d] < 0) info.dims[d] = 2;
        int64_t numel = ok ? onyx_numel(info.ndim, info.dims) : -1;
        size_t bytes = numel >= 0 ? (size_t)numel * onyx_dtype_size(info.dtype) : 0;
        if (!ok || numel < 0 || bytes > (1u << 20)) {
          ok = 0;
          break;
        }
        void *zeros = calloc(1, bytes ? bytes : 1);
        ok = zeros && onyx_session_set_input(sess, info.name, info.dtype, info.ndim, info.dims, zeros) == ONYX_OK;
        free(zeros);
      }
      if (ok && onyx_session_run(sess) == ONYX_OK) ran++;
      else if (!onyx_last_error()[0]) silent++;
    }
    onyx_session_free(sess);
    onyx_model_free(m);
  }
  free(copy);
  unsetenv("ONYX_MAX_TENSOR_BYTES");
  CHECK_EQ_I64(silent, 0); /* every failure came with a message */
  printf("%d mutations: %d loaded, %d ran\n", rounds, loaded, ran);
}

/* ---- run-time inputs ----------------------------------------------------------- */

static void test_runtime_inputs(void)
{
  size_t len;
  uint8_t *buf = cases_good_model(&len);
  onyx_model *m = NULL;
  onyx_session *s = NULL;
  if (!buf || !CHECK_OK(onyx_model_load_memory(buf, len, NULL, &m))) goto out;
  if (!CHECK_OK(onyx_session_create(m, NULL, &s))) goto out;
  const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const int32_t xi[3] = {1, 2, 3};
  CHECK_ERR(onyx_session_run(s), ONYX_ERR_INVALID_ARG, "'x'", "not set");
  CHECK_ERR(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 2, (int64_t[]){1, 4}, x), ONYX_ERR_SHAPE, "'x'",
            "1x3", "1x4");
  CHECK_ERR(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, x), ONYX_ERR_SHAPE, "'x'",
            "rank 2", "rank 1");
  CHECK_ERR(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 3, (int64_t[]){1, 1, 3}, x), ONYX_ERR_SHAPE,
            "'x'", "rank 3");
  CHECK_ERR(onyx_session_set_input(s, "x", ONYX_DTYPE_INT32, 2, (int64_t[]){1, 3}, xi), ONYX_ERR_SHAPE, "'x'",
            "float32", "int32");
  CHECK_ERR(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 2, (int64_t[]){-1, 3}, x), ONYX_ERR_SHAPE, "'x'",
            "negative");
  CHECK_ERR(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 3}, x),
            ONYX_ERR_SHAPE, "'x'", "rank 9");
  CHECK_ERR(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, -1, NULL, x), ONYX_ERR_SHAPE, "'x'", "rank -1");
  CHECK_ERR(onyx_session_set_input(s, "nope", ONYX_DTYPE_FLOAT, 2, (int64_t[]){1, 3}, x), ONYX_ERR_INVALID_ARG,
            "'nope'");
  CHECK_ERR(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 2, (int64_t[]){1, 3}, NULL), ONYX_ERR_INVALID_ARG,
            "NULL");
  CHECK_ERR(onyx_session_set_input(s, NULL, ONYX_DTYPE_FLOAT, 2, (int64_t[]){1, 3}, x), ONYX_ERR_INVALID_ARG,
            "NULL");
  CHECK_ERR(onyx_session_set_input(s, "x", (onyx_dtype)42, 2, (int64_t[]){1, 3}, x), ONYX_ERR_SHAPE, "'x'");
  CHECK_ERR(onyx_session_set_input_shape(s, "x", 2, (int64_t[]){2, 3}), ONYX_ERR_SHAPE, "'x'", "2x3");
  CHECK_ERR(onyx_session_set_input_shape(s, "x", 2, NULL), ONYX_ERR_INVALID_ARG, "NULL");
  /* failures leave the session usable */
  onyx_tensor_info info;
  const void *data;
  CHECK_ERR(onyx_session_output(s, 0, &info, &data), ONYX_ERR_INVALID_ARG, "not run");
  CHECK_OK(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 2, (int64_t[]){1, 3}, x));
  if (!CHECK_OK(onyx_session_run(s))) goto out;
  CHECK_ERR(onyx_session_output(s, 1, &info, &data), ONYX_ERR_INVALID_ARG, "output 1");
  CHECK_ERR(onyx_session_output(s, -1, &info, &data), ONYX_ERR_INVALID_ARG, "output -1");
  CHECK_ERR(onyx_session_input(s, 3, &info), ONYX_ERR_INVALID_ARG, "input 3");
  if (CHECK_OK(onyx_session_output(s, 0, &info, &data))) {
    const float *y = data;
    CHECK(y[0] == 1.5f && y[1] == 1.f && y[2] == 5.f);
  }
  CHECK_ERR(onyx_model_input(m, 5, &info), ONYX_ERR_INVALID_ARG, "5");
  CHECK_ERR(onyx_model_output(m, -1, &info), ONYX_ERR_INVALID_ARG, "-1");
  onyx_node_info ni;
  CHECK_ERR(onyx_model_node(m, 2, &ni), ONYX_ERR_INVALID_ARG, "2");
  onyx_session_options opt;
  onyx_session_options_init(&opt);
  opt.backend = (onyx_backend)7;
  onyx_session *s2 = NULL;
  CHECK(onyx_session_create(m, &opt, &s2) != ONYX_OK);
  CHECK(s2 == NULL);
out:
  onyx_session_free(s);
  onyx_model_free(m);
  free(buf);
}

/* Writes a version 1.0 .npy file of zeros for `onyx run --input`. */
static int write_npy(const char *dir, const char *name, const char *descr, size_t esize, int ndim,
                     const int64_t *dims)
{
  char hdr[256], path[600];
  int n = snprintf(hdr, sizeof(hdr), "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  size_t count = 1;
  for (int i = 0; i < ndim; i++) {
    n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "%lld,%s", (long long)dims[i], i + 1 < ndim ? " " : "");
    count *= (size_t)dims[i];
  }
  n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "), }");
  while ((10 + n + 1) % 64) hdr[n++] = ' ';
  hdr[n++] = '\n';
  size_t total = 10 + (size_t)n + count * esize;
  unsigned char *buf = calloc(1, total);
  if (!buf) return -1;
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)(n & 0xff);
  buf[9] = (unsigned char)(n >> 8);
  memcpy(buf + 10, hdr, (size_t)n);
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int rc = mb_write_bytes(path, buf, total);
  free(buf);
  return rc;
}

/* ---- main ----------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

int main(int argc, char **argv)
{
  if (argc == 3 && strcmp(argv[1], "--write") == 0) {
    bad_case *cases;
    int n = cases_write(argv[2], &cases);
    if (n < 0) return 1;
    int rc = cases_write_manifest(argv[2], cases, n);
    free(cases);
    /* an image classifier for `onyx classify` cases: [1,3,8,8] -> Flatten -> [1,192] */
    mb *b = mb_new(13);
    mb_input(b, "image", ONYX_DTYPE_FLOAT, "1,3,8,8");
    mb_node(b, "Flatten", "flatten", "image", "logits");
    mb_output(b, "logits", ONYX_DTYPE_FLOAT, "1,192");
    char path[600];
    snprintf(path, sizeof(path), "%s/classifier.onnx", argv[2]);
    rc |= mb_write(b, path);
    mb_free(b);
    /* .npy inputs for net.onnx (input: float32 [N,4,4]) */
    rc |= write_npy(argv[2], "input_ok.npy", "<f4", 4, 3, (int64_t[]){2, 4, 4});
    rc |= write_npy(argv[2], "input_wrong_shape.npy", "<f4", 4, 3, (int64_t[]){2, 5, 4});
    rc |= write_npy(argv[2], "input_wrong_rank.npy", "<f4", 4, 2, (int64_t[]){4, 4});
    rc |= write_npy(argv[2], "input_int32.npy", "<i4", 4, 3, (int64_t[]){2, 4, 4});
    snprintf(path, sizeof(path), "%s/input_garbage.npy", argv[2]);
    rc |= mb_write_bytes(path, "\x93NUMPY\x01\x00\xff\xff{'descr'", 18);
    return rc ? 1 : 0;
  }
  const char *tmp = getenv("TMPDIR");
  char dir[512];
  snprintf(dir, sizeof(dir), "%s/onyx_bad_input_XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror(dir);
    return 1;
  }
  run_file_cases(dir);
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

  test_memory_inputs();
  test_runtime_inputs();
  size_t len;
  uint8_t *good = cases_good_model(&len);
  if (good) test_truncation("good model", good, len);
  free(good);
  uint8_t *net = cases_net_model(&len);
  if (net) {
    test_truncation("net model", net, len);
    test_mutations(net, len, 4000);
  }
  free(net);
  for (int i = 1; i < argc; i++) test_real_model_cuts(argv[i]);
  return check_summary(argv[0]);
}
