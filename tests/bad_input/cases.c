#include "cases.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_builder.h"

uint64_t cases_rand(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void build_good(mb *b)
{
  const float w[3] = {0.5f, -1.f, 2.f};
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  mb_init(b, "w", ONYX_DTYPE_FLOAT, "3", w);
  mb_node(b, "Add", "add", "x,w", "s");
  mb_node(b, "Relu", "relu", "s", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "1,3");
}

uint8_t *cases_good_model(size_t *len)
{
  mb *b = mb_new(13);
  build_good(b);
  uint8_t *buf = mb_pack(b, len);
  mb_free(b);
  return buf;
}

uint8_t *cases_net_model(size_t *len)
{
  mb *b = mb_new(13);
  Onnx__ModelProto *mp = mb_proto(b);
  mp->producer_version = mb_str(b, "1.0");
  mp->doc_string = mb_str(b, "a small model for truncation and mutation tests");
  mb_graph(b)->doc_string = mb_str(b, "graph doc");
  float w[64];
  for (int i = 0; i < 64; i++) w[i] = (float)(i % 7) - 3.f;
  mb_input(b, "input", ONYX_DTYPE_FLOAT, "N,4,4");
  mb_init(b, "w1", ONYX_DTYPE_FLOAT, "4,4", w);
  mb_init(b, "w2", ONYX_DTYPE_FLOAT, "4", w + 16);
  mb_init(b, "w3", ONYX_DTYPE_FLOAT, "1,4,4", w + 20);
  Onnx__NodeProto *c = mb_node(b, "Constant", "bias", NULL, "bias_out");
  mb_attr_tensor(b, c, "value", mb_tensor(b, "bias_value", ONYX_DTYPE_FLOAT, "4", w + 40));
  mb_node(b, "Add", "add1", "input,w1", "a1");
  mb_node(b, "Relu", "relu1", "a1", "r1");
  mb_node(b, "Add", "add2", "r1,w2", "a2");
  mb_node(b, "Add", "add3", "a2,bias_out", "a3");
  mb_node(b, "Relu", "relu2", "a3", "r2");
  mb_node(b, "Add", "add4", "r2,w3", "a4");
  mb_node(b, "Identity", "out", "a4", "output");
  mb_output(b, "output", ONYX_DTYPE_FLOAT, "N,4,4");
  uint8_t *buf = mb_pack(b, len);
  mb_free(b);
  return buf;
}

/* ---- the cases ------------------------------------------------------------ */

typedef struct ctx {
  const char *dir;     /* the top directory */
  char casedir[400];   /* this case's directory (for external data) */
} ctx;

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
  char p[600];
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  return mb_write_bytes(p, data, len);
}

static void dangling(mb *b, ctx *c)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  mb_node(b, "Add", "add", "x,ghost", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "1,3");
}

static void cycle(mb *b, ctx *c)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  mb_node(b, "Add", "add", "x,loop", "a");
  mb_node(b, "Relu", "relu", "a", "loop");
  mb_node(b, "Identity", "id", "loop", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "1,3");
}

static void unsupported_op(mb *b, ctx *c)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  mb_node(b, "Relu", "relu", "x", "r");
  mb_node(b, "FancyActivation", "fancy", "r", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "1,3");
}

static void unsupported_domain(mb *b, ctx *c)
{
  mb_opset(b, "com.example", 3);
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  Onnx__NodeProto *n = mb_node(b, "Relu", "custom_relu", "x", "y");
  n->domain = mb_str(b, "com.example");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "1,3");
}

static void dup_initializer(mb *b, ctx *c)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  mb_init(b, "w", ONYX_DTYPE_FLOAT, "3", NULL);
  mb_init(b, "w", ONYX_DTYPE_FLOAT, "3", NULL);
  mb_node(b, "Add", "add", "x,w", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "1,3");
}

static void dup_output(mb *b, ctx *c)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  mb_node(b, "Relu", "first", "x", "y");
  mb_node(b, "Identity", "second", "x", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "1,3");
}

static void output_shadows_input(mb *b, ctx *c)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  mb_node(b, "Relu", "overwrite", "x", "x");
  mb_output(b, "x", ONYX_DTYPE_FLOAT, "1,3");
}

static void dup_input(mb *b, ctx *c)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  mb_node(b, "Relu", "relu", "x", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "1,3");
}

static void no_graph_output(mb *b, ctx *c)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  mb_node(b, "Relu", "relu", "x", "y");
}

static void unknown_graph_output(mb *b, ctx *c)
{
  build_good(b);
  mb_output(b, "nowhere", ONYX_DTYPE_FLOAT, "1,3");
}

static void no_opset(mb *b, ctx *c)
{
  build_good(b);
  mb_proto(b)->n_opset_import = 0;
}

static void opset_too_new(mb *b, ctx *c)
{
  build_good(b);
  mb_proto(b)->opset_import[0]->version = 999;
}

static void ir_version_too_new(mb *b, ctx *c)
{
  build_good(b);
  mb_proto(b)->ir_version = 99;
}

static void no_ir_version(mb *b, ctx *c)
{
  build_good(b);
  mb_proto(b)->has_ir_version = 0;
}

static void no_graph(mb *b, ctx *c) { mb_proto(b)->graph = NULL; }

static void no_op_type(mb *b, ctx *c)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  mb_node(b, "", "nameless_op", "x", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "1,3");
}

static void input_without_type(mb *b, ctx *c)
{
  build_good(b);
  mb_graph(b)->input[0]->type = NULL;
}

static void input_without_shape(mb *b, ctx *c)
{
  build_good(b);
  mb_graph(b)->input[0]->type->tensor_type->shape = NULL;
}

static void input_string_type(mb *b, ctx *c)
{
  mb_input(b, "x", ONYX_DTYPE_STRING, "1,3");
  mb_node(b, "Identity", "id", "x", "y");
  mb_output(b, "y", ONYX_DTYPE_STRING, "1,3");
}

static void input_rank_too_big(mb *b, ctx *c)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,1,1,1,1,1,1,1,1,1");
  mb_node(b, "Relu", "relu", "x", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}

static void raw_data_size_mismatch(mb *b, ctx *c)
{
  build_good(b);
  mb_graph(b)->initializer[0]->raw_data.len = 8; /* 3 floats need 12 bytes */
}

static void negative_dim(mb *b, ctx *c)
{
  build_good(b);
  mb_graph(b)->initializer[0]->dims[0] = -3;
}

static void huge_tensor(mb *b, ctx *c)
{
  build_good(b);
  Onnx__TensorProto *t = mb_graph(b)->initializer[0];
  int64_t *dims = mb_alloc(b, 3 * sizeof(int64_t));
  dims[0] = dims[1] = INT64_C(1) << 40;
  dims[2] = 3;
  t->dims = dims;
  t->n_dims = 3;
}

static void bad_dtype(mb *b, ctx *c)
{
  build_good(b);
  mb_graph(b)->initializer[0]->data_type = 77;
}

static void float_data_count(mb *b, ctx *c)
{
  build_good(b);
  Onnx__TensorProto *t = mb_graph(b)->initializer[0];
  t->has_raw_data = 0;
  t->n_float_data = 2; /* the shape needs 3 */
  t->float_data = mb_alloc(b, 2 * sizeof(float));
}

static void constant_without_value(mb *b, ctx *c)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  mb_node(b, "Constant", "empty_const", NULL, "k");
  mb_node(b, "Add", "add", "x,k", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "1,3");
}

static void bad_broadcast(mb *b, ctx *c)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "2,3");
  mb_init(b, "w", ONYX_DTYPE_FLOAT, "2", NULL);
  mb_node(b, "Add", "mismatch", "x,w", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "2,3");
}

/* External data.  Each case has its own directory; 'outside/secret.bin' is a
 * real 12-byte file beside them, so refusals are not just missing files. */
static Onnx__TensorProto *external_good(mb *b)
{
  build_good(b);
  return mb_graph(b)->initializer[0];
}

static void ext_ok(mb *b, ctx *c)
{
  const float w[3] = {1, 2, 3};
  write_file(c->casedir, "weights.bin", w, sizeof(w));
  mb_external(b, external_good(b), "weights.bin", "0", "12");
}

static void ext_ok_offset(mb *b, ctx *c)
{
  const float w[5] = {9, 9, 1, 2, 3};
  write_file(c->casedir, "weights.bin", w, sizeof(w));
  mb_external(b, external_good(b), "weights.bin", "8", NULL);
}

static void ext_absolute(mb *b, ctx *c)
{
  char p[600];
  snprintf(p, sizeof(p), "%s/outside/secret.bin", c->dir);
  mb_external(b, external_good(b), p, NULL, NULL);
}

static void ext_dotdot(mb *b, ctx *c)
{
  mb_external(b, external_good(b), "../outside/secret.bin", NULL, NULL);
}

static void ext_dotdot_inner(mb *b, ctx *c)
{
  mkdir(c->casedir, 0755);
  char sub[600];
  snprintf(sub, sizeof(sub), "%s/sub", c->casedir);
  mkdir(sub, 0755);
  mb_external(b, external_good(b), "sub/../../outside/secret.bin", NULL, NULL);
}

static void ext_symlink(mb *b, ctx *c)
{
  char target[600], link[600];
  snprintf(target, sizeof(target), "%s/outside/secret.bin", c->dir);
  snprintf(link, sizeof(link), "%s/weights.bin", c->casedir);
  if (symlink(target, link) != 0) perror(link);
  mb_external(b, external_good(b), "weights.bin", NULL, NULL);
}

static void ext_symlink_dir(mb *b, ctx *c)
{
  char target[600], link[600];
  snprintf(target, sizeof(target), "%s/outside", c->dir);
  snprintf(link, sizeof(link), "%s/data", c->casedir);
  if (symlink(target, link) != 0) perror(link);
  mb_external(b, external_good(b), "data/secret.bin", NULL, NULL);
}

static void ext_offset_past_end(mb *b, ctx *c)
{
  const float w[4] = {1, 2, 3, 4};
  write_file(c->casedir, "weights.bin", w, sizeof(w));
  mb_external(b, external_good(b), "weights.bin", "8", NULL); /* 12 bytes wanted, 8 left */
}

static void ext_offset_huge(mb *b, ctx *c)
{
  const float w[3] = {1, 2, 3};
  write_file(c->casedir, "weights.bin", w, sizeof(w));
  mb_external(b, external_good(b), "weights.bin", "9223372036854775807", NULL);
}

static void ext_offset_overflow(mb *b, ctx *c)
{
  const float w[3] = {1, 2, 3};
  write_file(c->casedir, "weights.bin", w, sizeof(w));
  mb_external(b, external_good(b), "weights.bin", "99999999999999999999999", NULL);
}

static void ext_offset_negative(mb *b, ctx *c)
{
  const float w[3] = {1, 2, 3};
  write_file(c->casedir, "weights.bin", w, sizeof(w));
  mb_external(b, external_good(b), "weights.bin", "-4", NULL);
}

static void ext_length_past_end(mb *b, ctx *c)
{
  const float w[2] = {1, 2};
  write_file(c->casedir, "weights.bin", w, sizeof(w));
  mb_external(b, external_good(b), "weights.bin", "0", "12"); /* the file has 8 */
}

static void ext_length_mismatch(mb *b, ctx *c)
{
  const float w[8] = {0};
  write_file(c->casedir, "weights.bin", w, sizeof(w));
  mb_external(b, external_good(b), "weights.bin", "0", "32");
}

static void ext_missing_file(mb *b, ctx *c) { mb_external(b, external_good(b), "not_there.bin", NULL, NULL); }

static void ext_no_location(mb *b, ctx *c) { mb_external(b, external_good(b), NULL, "0", "12"); }

static void ext_directory(mb *b, ctx *c)
{
  char sub[600];
  snprintf(sub, sizeof(sub), "%s/adir", c->casedir);
  mkdir(sub, 0755);
  mb_external(b, external_good(b), "adir", NULL, NULL);
}

typedef struct model_case {
  const char *name;
  void (*build)(mb *b, ctx *c);
  bool own_dir; /* written as name/model.onnx with side files */
  onyx_status want;
  const char *subs[CASE_MAX_SUBS];
} model_case;

static const model_case model_cases[] = {
    {"dangling_input", dangling, false, ONYX_ERR_INVALID_MODEL, {"Add node 'add'", "'ghost'", "not produced"}},
    {"cycle", cycle, false, ONYX_ERR_INVALID_MODEL, {"cycle", "node '"}},
    {"unsupported_op", unsupported_op, false, ONYX_ERR_UNSUPPORTED,
     {"node 'fancy'", "'FancyActivation'", "ai.onnx", "opset 13"}},
    {"unsupported_domain", unsupported_domain, false, ONYX_ERR_UNSUPPORTED,
     {"node 'custom_relu'", "'Relu'", "com.example", "opset 3"}},
    {"duplicate_initializer", dup_initializer, false, ONYX_ERR_INVALID_MODEL, {"'w'", "twice"}},
    {"duplicate_node_output", dup_output, false, ONYX_ERR_INVALID_MODEL,
     {"node 'second'", "'y'", "already produced"}},
    {"output_shadows_input", output_shadows_input, false, ONYX_ERR_INVALID_MODEL,
     {"node 'overwrite'", "'x'", "graph input"}},
    {"duplicate_graph_input", dup_input, false, ONYX_ERR_INVALID_MODEL, {"'x'", "twice"}},
    {"no_graph_outputs", no_graph_output, false, ONYX_ERR_INVALID_MODEL, {"no outputs"}},
    {"unknown_graph_output", unknown_graph_output, false, ONYX_ERR_INVALID_MODEL, {"'nowhere'", "not produced"}},
    {"no_opset_import", no_opset, false, ONYX_ERR_INVALID_MODEL, {"opset_import"}},
    {"opset_too_new", opset_too_new, false, ONYX_ERR_UNSUPPORTED, {"opset 999"}},
    {"ir_version_too_new", ir_version_too_new, false, ONYX_ERR_UNSUPPORTED, {"ir_version 99"}},
    {"no_ir_version", no_ir_version, false, ONYX_ERR_PARSE, {"ir_version"}},
    {"no_graph", no_graph, false, ONYX_ERR_INVALID_MODEL, {"no graph"}},
    {"node_without_op_type", no_op_type, false, ONYX_ERR_INVALID_MODEL, {"'nameless_op'", "no op_type"}},
    {"input_without_type", input_without_type, false, ONYX_ERR_UNSUPPORTED, {"'x'", "not a tensor"}},
    {"input_without_shape", input_without_shape, false, ONYX_ERR_UNSUPPORTED, {"'x'", "no shape"}},
    {"input_string_dtype", input_string_type, false, ONYX_ERR_UNSUPPORTED, {"'x'", "element type 8"}},
    {"input_rank_too_big", input_rank_too_big, false, ONYX_ERR_UNSUPPORTED, {"'x'", "rank 10"}},
    {"raw_data_size_mismatch", raw_data_size_mismatch, false, ONYX_ERR_INVALID_MODEL,
     {"'w'", "raw_data has 8 bytes", "12"}},
    {"negative_dim", negative_dim, false, ONYX_ERR_INVALID_MODEL, {"'w'", "negative dimension"}},
    {"huge_tensor", huge_tensor, false, ONYX_ERR_INVALID_MODEL, {"'w'", "too large"}},
    {"bad_dtype", bad_dtype, false, ONYX_ERR_UNSUPPORTED, {"'w'", "data type 77"}},
    {"float_data_count", float_data_count, false, ONYX_ERR_INVALID_MODEL, {"'w'", "float_data has 2 values"}},
    {"constant_without_value", constant_without_value, false, ONYX_ERR_INVALID_MODEL,
     {"Constant node 'empty_const'", "no value"}},
    {"bad_broadcast", bad_broadcast, false, ONYX_ERR_SHAPE, {"Add node 'mismatch'", "2x3", "broadcast"}},
    /* external data: two positive controls first */
    {"ext_ok", ext_ok, true, ONYX_OK, {NULL}},
    {"ext_ok_offset", ext_ok_offset, true, ONYX_OK, {NULL}},
    {"ext_absolute_path", ext_absolute, true, ONYX_ERR_INVALID_MODEL, {"'w'", "relative path"}},
    {"ext_dotdot", ext_dotdot, true, ONYX_ERR_INVALID_MODEL, {"'w'", "../outside/secret.bin", "leaves"}},
    {"ext_dotdot_inner", ext_dotdot_inner, true, ONYX_ERR_INVALID_MODEL, {"'w'", "leaves"}},
    {"ext_symlink_outside", ext_symlink, true, ONYX_ERR_INVALID_MODEL, {"'w'", "weights.bin", "outside"}},
    {"ext_symlink_dir_outside", ext_symlink_dir, true, ONYX_ERR_INVALID_MODEL, {"'w'", "outside"}},
    {"ext_offset_past_end", ext_offset_past_end, true, ONYX_ERR_INVALID_MODEL, {"'w'", "too short", "offset 8"}},
    {"ext_offset_huge", ext_offset_huge, true, ONYX_ERR_INVALID_MODEL, {"'w'", "too short"}},
    {"ext_offset_overflow", ext_offset_overflow, true, ONYX_ERR_INVALID_MODEL, {"'w'", "bad external data offset"}},
    {"ext_offset_negative", ext_offset_negative, true, ONYX_ERR_INVALID_MODEL, {"'w'", "offset '-4'"}},
    {"ext_length_past_end", ext_length_past_end, true, ONYX_ERR_INVALID_MODEL, {"'w'", "too short"}},
    {"ext_length_mismatch", ext_length_mismatch, true, ONYX_ERR_INVALID_MODEL, {"'w'", "length 32", "12 bytes"}},
    {"ext_missing_file", ext_missing_file, true, ONYX_ERR_IO, {"'w'", "not_there.bin"}},
    {"ext_no_location", ext_no_location, true, ONYX_ERR_INVALID_MODEL, {"'w'", "without a location"}},
    {"ext_directory", ext_directory, true, ONYX_ERR_IO, {"'w'", "adir"}},
};

static bad_case *add_case(bad_case **cases, int *n, const char *name)
{
  bad_case *c = realloc(*cases, (size_t)(*n + 1) * sizeof(**cases));
  if (!c) return NULL;
  *cases = c;
  c = &c[(*n)++];
  memset(c, 0, sizeof(*c));
  snprintf(c->name, sizeof(c->name), "%s", name);
  return c;
}

int cases_write(const char *dir, bad_case **cases)
{
  int n = 0;
  *cases = NULL;
  char p[600];
  bad_case *c;
  /* the file outside every case directory that escapes try to reach */
  snprintf(p, sizeof(p), "%s/outside", dir);
  if (mkdir(p, 0755) != 0 && errno != EEXIST) goto fail_errno;
  const float secret[3] = {4, 5, 6};
  if (write_file(p, "secret.bin", secret, sizeof(secret))) goto fail;

  /* files that are not models at all */
  if (!(c = add_case(cases, &n, "empty_file"))) goto fail;
  snprintf(c->path, sizeof(c->path), "%s/empty.onnx", dir);
  c->want = ONYX_ERR_PARSE;
  c->subs[0] = "empty";
  if (mb_write_bytes(c->path, "", 0)) goto fail;

  if (!(c = add_case(cases, &n, "text_file"))) goto fail;
  snprintf(c->path, sizeof(c->path), "%s/text.onnx", dir);
  c->want = CASE_ANY_ERROR;
  c->mention_file = true;
  const char *text = "this is a text file, not an ONNX model\n";
  if (mb_write_bytes(c->path, text, strlen(text))) goto fail;

  static const size_t random_sizes[] = {1, 7, 64, 1000, 65536};
  for (size_t k = 0; k < sizeof(random_sizes) / sizeof(random_sizes[0]); k++) {
    char name[64];
    snprintf(name, sizeof(name), "random_%zu_bytes", random_sizes[k]);
    if (!(c = add_case(cases, &n, name))) goto fail;
    snprintf(c->path, sizeof(c->path), "%s/%s.onnx", dir, name);
    c->want = CASE_ANY_ERROR;
    c->mention_file = true;
    uint8_t *buf = malloc(random_sizes[k]);
    if (!buf) goto fail;
    uint64_t s = 0x243f6a8885a308d3ull + k;
    for (size_t i = 0; i < random_sizes[k]; i++) buf[i] = (uint8_t)(cases_rand(&s) >> 24);
    int rc = mb_write_bytes(c->path, buf, random_sizes[k]);
    free(buf);
    if (rc) goto fail;
  }

  /* a good model cut short at several points */
  size_t len;
  uint8_t *net = cases_net_model(&len);
  if (!net) goto fail;
  const size_t cuts[] = {1, 2, 5, len / 4, len / 2, 3 * len / 4, len - 9, len - 1};
  for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
    char name[64];
    snprintf(name, sizeof(name), "truncated_%zu_of_%zu", cuts[k], len);
    if (!(c = add_case(cases, &n, name))) {
      free(net);
      goto fail;
    }
    snprintf(c->path, sizeof(c->path), "%s/%s.onnx", dir, name);
    c->want = CASE_ANY_ERROR;
    c->mention_file = true;
    if (mb_write_bytes(c->path, net, cuts[k])) {
      free(net);
      goto fail;
    }
  }
  if (!(c = add_case(cases, &n, "net_complete"))) { /* the uncut model loads: the cuts are what fail */
    free(net);
    goto fail;
  }
  snprintf(c->path, sizeof(c->path), "%s/net.onnx", dir);
  c->want = ONYX_OK;
  int rc = mb_write_bytes(c->path, net, len);
  free(net);
  if (rc) goto fail;

  /* a missing file and a directory */
  if (!(c = add_case(cases, &n, "missing_file"))) goto fail;
  snprintf(c->path, sizeof(c->path), "%s/no_such_model.onnx", dir);
  c->want = ONYX_ERR_IO;
  c->mention_file = true;
  c->subs[0] = "No such file";
  if (!(c = add_case(cases, &n, "directory"))) goto fail;
  snprintf(c->path, sizeof(c->path), "%s/outside", dir);
  c->want = ONYX_ERR_IO;
  c->mention_file = true;

  for (size_t k = 0; k < sizeof(model_cases) / sizeof(model_cases[0]); k++) {
    const model_case *mc = &model_cases[k];
    if (!(c = add_case(cases, &n, mc->name))) goto fail;
    ctx cx = {.dir = dir};
    if (mc->own_dir) {
      snprintf(cx.casedir, sizeof(cx.casedir), "%s/%s", dir, mc->name);
      if (mkdir(cx.casedir, 0755) != 0 && errno != EEXIST) goto fail_errno;
      snprintf(c->path, sizeof(c->path), "%s/model.onnx", cx.casedir);
    } else {
      snprintf(cx.casedir, sizeof(cx.casedir), "%s", dir);
      snprintf(c->path, sizeof(c->path), "%s/%s.onnx", dir, mc->name);
    }
    c->want = mc->want;
    memcpy(c->subs, mc->subs, sizeof(mc->subs));
    mb *b = mb_new(13);
    mc->build(b, &cx);
    rc = mb_write(b, c->path);
    mb_free(b);
    if (rc) goto fail;
  }
  return n;
fail_errno:
  perror(p);
fail:
  fprintf(stderr, "cases_write: cannot write the cases under '%s'\n", dir);
  free(*cases);
  *cases = NULL;
  return -1;
}

const char *cases_basename(const char *path)
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

int cases_write_manifest(const char *dir, const bad_case *cases, int n)
{
  char p[600];
  snprintf(p, sizeof(p), "%s/manifest.tsv", dir);
  FILE *f = fopen(p, "w");
  if (!f) {
    perror(p);
    return -1;
  }
  for (int i = 0; i < n; i++) {
    const bad_case *c = &cases[i];
    fprintf(f, "%s\t%s\t%s", c->name, c->path,
            c->want == CASE_ANY_ERROR ? "ANY_ERROR"
            : c->want == ONYX_OK      ? "OK"
                                      : onyx_status_name(c->want));
    for (int k = 0; k < CASE_MAX_SUBS && c->subs[k]; k++) fprintf(f, "\t%s", c->subs[k]);
    if (c->mention_file) fprintf(f, "\t%s", cases_basename(c->path));
    fprintf(f, "\n");
  }
  return fclose(f) == 0 ? 0 : -1;
}
