/* The op table: every entry complete, names unique, lookup by domain, and
 * every parse/infer function refusing a bare node without crashing. */
#include <stdlib.h>

#include "backend/cpu/cpu.h"
#include "check.h"
#include "common/util.h"
#include "ops/ops.h"

/* Counted independently of the enum: one per OP() line in ops.def. */
enum {
  N_OP_LINES = 0
#define OP(id, name, parse, infer, cpu) +1
#include "ops/ops.def"
#undef OP
};

_Static_assert((int)N_OP_LINES == (int)ONYX_OP_COUNT, "ONYX_OP_COUNT must match the OP() lines");
_Static_assert(ONYX_ARRAY_LEN(op_table) == ONYX_OP_COUNT, "op_table size");
_Static_assert(ONYX_ARRAY_LEN(cpu_kernels) == ONYX_OP_COUNT, "cpu_kernels size");

static const char *const enum_names[] = {
#define OP(id, name, parse, infer, cpu) #id,
#include "ops/ops.def"
#undef OP
};

static void test_entries(void)
{
  CHECK_EQ_I64(N_OP_LINES, ONYX_OP_COUNT);
  CHECK(ONYX_OP_COUNT > 0);
  for (int i = 0; i < ONYX_OP_COUNT; i++) {
    const op_def *d = &op_table[i];
    int complete = d->name && d->name[0] && d->parse && d->infer && cpu_kernels[i];
    if (!complete) fprintf(stderr, "op table entry %d (%s) is incomplete\n", i, enum_names[i]);
    CHECK(complete);
    if (!d->name) continue;
    for (int k = 0; k < i; k++)
      if (op_table[k].name && strcmp(op_table[k].name, d->name) == 0) {
        fprintf(stderr, "op name '%s' is listed twice (%s and %s)\n", d->name, enum_names[k], enum_names[i]);
        CHECK(!"op names are unique");
      }
  }
  /* a few fixed points of the enum/name pairing */
  CHECK(strcmp(op_table[ONYX_OP_RELU].name, "Relu") == 0);
  CHECK(strcmp(op_table[ONYX_OP_ADD].name, "Add") == 0);
  CHECK(strcmp(op_table[ONYX_OP_CONV].name, "Conv") == 0);
  CHECK(strcmp(op_table[ONYX_OP_CONSTANT].name, "Constant") == 0);
}

static void test_lookup(void)
{
  for (int i = 0; i < ONYX_OP_COUNT; i++) {
    const char *name = op_table[i].name;
    if (!name) continue;
    if (op_domain(i)[0]) { /* an internal op (ops/def/fused.def): only its own domain names it */
      CHECK(strcmp(op_domain(i), ONYX_OP_DOMAIN) == 0);
      CHECK_EQ_I64(op_lookup(ONYX_OP_DOMAIN, name), i);
      CHECK_EQ_I64(op_lookup("", name), -1);
      CHECK_EQ_I64(op_lookup("ai.onnx", name), -1);
      continue;
    }
    CHECK_EQ_I64(op_lookup(ONYX_OP_DOMAIN, name), -1);
    CHECK_EQ_I64(op_lookup("", name), i);
    CHECK_EQ_I64(op_lookup("ai.onnx", name), i);
    CHECK_EQ_I64(op_lookup(NULL, name), i);
    CHECK_EQ_I64(op_lookup("com.microsoft", name), -1);
    CHECK_EQ_I64(op_lookup("ai.onnx.ml", name), -1);
    CHECK_EQ_I64(op_lookup("ai.onnx.x", name), -1);
  }
  CHECK_EQ_I64(op_lookup("", "NoSuchOp"), -1);
  CHECK_EQ_I64(op_lookup("", ""), -1);
  CHECK_EQ_I64(op_lookup("", "relu"), -1); /* ONNX op names are case-sensitive */
  CHECK_EQ_I64(op_lookup("", "Relu "), -1);
}

/* A node with one output and no inputs or attributes: parse may accept it
 * (every attribute defaulted) or refuse it, and infer then either refuses it
 * or gives the output a shape.  Errors name the node; nothing may crash. */
static void test_bare_nodes(void)
{
  ir_graph *g = ir_graph_new();
  if (!g || ir_add_tensor(g, "y") != 0) {
    CHECK(!"graph setup");
    ir_graph_free(g);
    return;
  }
  for (int i = 0; i < ONYX_OP_COUNT; i++) {
    ir_node n;
    int out = 0;
    memset(&n, 0, sizeof(n));
    n.name = "bare";
    n.op_type = (char *)op_table[i].name;
    n.domain = "";
    n.op = i;
    n.opset = 13;
    n.n_out = 1;
    n.out = &out;
    g->tensors[0].ndim = -1;
    g->tensors[0].dtype = ONYX_DTYPE_UNDEFINED;
    g->tensors[0].data = NULL;
    onyx_clear_error();
    onyx_status st = op_table[i].parse(&n);
    if (st == ONYX_OK) {
      onyx_clear_error();
      st = op_table[i].infer(g, &n);
      if (st == ONYX_OK && !ir_shape_known(&g->tensors[0])) {
        fprintf(stderr, "%s: infer on a node without inputs succeeded but left its output unknown\n",
                op_table[i].name);
        CHECK(!"infer sets the output when it succeeds");
      }
    }
    if (st != ONYX_OK && !strstr(onyx_last_error(), "'bare'")) {
      fprintf(stderr, "%s: error for a node without inputs does not name it: \"%s\"\n", op_table[i].name,
              onyx_last_error());
      CHECK(!"errors name the node");
    }
    free(n.params);
    if (g->tensors[0].owns_data) free(g->tensors[0].data);
    g->tensors[0].owns_data = false;
    g->tensors[0].data = NULL;
  }
  ir_graph_free(g);
}

int main(int argc, char **argv)
{
  (void)argc;
  test_entries();
  test_lookup();
  test_bare_nodes();
  printf("%d ops in the table\n", ONYX_OP_COUNT);
  return check_summary(argv[0]);
}
