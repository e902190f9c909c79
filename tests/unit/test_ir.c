/* IR: the tensor name hash, attribute getters, and clone semantics. */
#include <stdlib.h>

#include "check.h"
#include "common/util.h"
#include "graph/ir.h"

static void test_hash(void)
{
  ir_graph *g = ir_graph_new();
  CHECK(g != NULL);
  if (!g) return;
  CHECK_EQ_I64(ir_find_tensor(g, "x"), -1); /* empty graph */
  enum { N = 3000 };                          /* forces several rehashes */
  char name[32];
  for (int i = 0; i < N; i++) {
    snprintf(name, sizeof(name), "t%d", i);
    CHECK_EQ_I64(ir_add_tensor(g, name), i);
  }
  CHECK_EQ_I64(g->n_tensors, N);
  int missing = 0;
  for (int i = 0; i < N; i++) {
    snprintf(name, sizeof(name), "t%d", i);
    if (ir_find_tensor(g, name) != i) missing++;
  }
  CHECK_EQ_I64(missing, 0);
  CHECK_EQ_I64(ir_find_tensor(g, "t3000"), -1);
  CHECK_EQ_I64(ir_find_tensor(g, ""), -1);
  CHECK_EQ_I64(ir_find_tensor(g, NULL), -1);
  CHECK(g->hash_cap >= 2 * g->n_tensors); /* load factor kept under 1/2 */

  /* a duplicate is refused with a message naming it, and changes nothing */
  onyx_clear_error();
  CHECK_EQ_I64(ir_add_tensor(g, "t17"), -1);
  CHECK(strstr(onyx_last_error(), "'t17'") != NULL);
  CHECK(strstr(onyx_last_error(), "twice") != NULL);
  CHECK_EQ_I64(g->n_tensors, N);
  CHECK_EQ_I64(ir_find_tensor(g, "t17"), 17);

  CHECK_EQ_I64(ir_get_or_add_tensor(g, "t5"), 5);
  CHECK_EQ_I64(ir_get_or_add_tensor(g, "fresh"), N);
  CHECK_EQ_I64(ir_get_or_add_tensor(g, "fresh"), N);
  CHECK_EQ_I64(g->tensors[N].ndim, -1);
  CHECK_EQ_I64(g->tensors[N].producer, -1);
  CHECK(strcmp(g->tensors[N].name, "fresh") == 0);
  ir_graph_free(g);
}

/* in -> Relu("r") -> mid -> Add(mid, w) -> out, w a constant owned by the graph */
static ir_graph *small_graph(void)
{
  ir_graph *g = ir_graph_new();
  if (!g) return NULL;
  int in = ir_add_tensor(g, "in"), mid = ir_add_tensor(g, "mid"), w = ir_add_tensor(g, "w"),
      out = ir_add_tensor(g, "out");
  if (in < 0 || mid < 0 || w < 0 || out < 0) goto fail;
  ir_tensor *tin = &g->tensors[in];
  tin->dtype = ONYX_DTYPE_FLOAT;
  tin->ndim = 2;
  tin->dims[0] = -1;
  tin->dims[1] = 4;
  tin->dim_param[0] = onyx_strdup("batch");
  tin->data = malloc(16); /* stands for a run-time buffer */
  tin->owns_data = true;
  ir_tensor *tw = &g->tensors[w];
  tw->dtype = ONYX_DTYPE_FLOAT;
  tw->ndim = 1;
  tw->dims[0] = 4;
  tw->data = malloc(16);
  tw->owns_data = tw->is_const = tw->is_initializer = true;
  if (!tin->dim_param[0] || !tin->data || !tw->data) goto fail;
  for (int i = 0; i < 4; i++) ((float *)tw->data)[i] = (float)i;

  g->inputs = malloc(sizeof(int));
  g->outputs = malloc(sizeof(int));
  if (!g->inputs || !g->outputs) goto fail;
  g->inputs[g->n_inputs++] = in;
  g->outputs[g->n_outputs++] = out;

  ir_node r = {0}, a = {0};
  r.name = onyx_strdup("r");
  r.op_type = onyx_strdup("Relu");
  r.domain = onyx_strdup("");
  r.n_in = r.n_out = 1;
  r.in = malloc(sizeof(int));
  r.out = malloc(sizeof(int));
  a.name = onyx_strdup("a");
  a.op_type = onyx_strdup("Add");
  a.domain = onyx_strdup("");
  a.n_in = 2;
  a.n_out = 1;
  a.in = malloc(2 * sizeof(int));
  a.out = malloc(sizeof(int));
  a.n_attrs = 1;
  a.attrs = calloc(1, sizeof(ir_attr));
  a.params = malloc(32);
  if (!r.name || !r.op_type || !r.domain || !r.in || !r.out || !a.name || !a.op_type || !a.domain || !a.in ||
      !a.out || !a.attrs || !a.params) {
    ir_node_clear(&r);
    ir_node_clear(&a);
    goto fail;
  }
  r.in[0] = in;
  r.out[0] = mid;
  a.in[0] = mid;
  a.in[1] = w;
  a.out[0] = out;
  a.attrs[0].name = onyx_strdup("alpha");
  a.attrs[0].type = IR_ATTR_FLOAT;
  a.attrs[0].f = 0.5f;
  if (ir_add_node(g, &r) < 0) {
    ir_node_clear(&r);
    ir_node_clear(&a);
    goto fail;
  }
  if (ir_add_node(g, &a) < 0) {
    ir_node_clear(&a);
    goto fail;
  }
  g->tensors[mid].producer = 0;
  g->tensors[out].producer = 1;
  return g;
fail:
  ir_graph_free(g);
  return NULL;
}

static void test_clone(void)
{
  ir_graph *src = small_graph();
  CHECK(src != NULL);
  if (!src) return;
  ir_graph *c = ir_graph_clone(src);
  CHECK(c != NULL);
  if (!c) {
    ir_graph_free(src);
    return;
  }
  int w = ir_find_tensor(src, "w"), in = ir_find_tensor(src, "in");
  CHECK_EQ_I64(ir_find_tensor(c, "w"), w); /* same indices, working hash */
  CHECK_EQ_I64(ir_find_tensor(c, "out"), ir_find_tensor(src, "out"));
  CHECK_EQ_I64(c->n_tensors, src->n_tensors);
  CHECK_EQ_I64(c->n_nodes, src->n_nodes);
  CHECK_EQ_I64(c->n_inputs, 1);
  CHECK_EQ_I64(c->inputs[0], in);
  CHECK_EQ_I64(c->outputs[0], src->outputs[0]);
  /* constant data is shared, not owned */
  CHECK(c->tensors[w].data == src->tensors[w].data);
  CHECK(!c->tensors[w].owns_data);
  CHECK(c->tensors[w].is_const);
  /* run-time buffers are not copied */
  CHECK(c->tensors[in].data == NULL);
  /* names and symbolic dims are deep copies */
  CHECK(c->tensors[in].name != src->tensors[in].name);
  CHECK(strcmp(c->tensors[in].name, "in") == 0);
  CHECK(c->tensors[in].dim_param[0] != NULL && c->tensors[in].dim_param[0] != src->tensors[in].dim_param[0]);
  CHECK(c->tensors[in].dim_param[0] && strcmp(c->tensors[in].dim_param[0], "batch") == 0);
  CHECK_EQ_I64(c->tensors[in].dims[0], -1);
  /* node structure is copied, attributes and params are borrowed */
  const ir_node *ca = &c->nodes[1], *sa = &src->nodes[1];
  CHECK(ca->in != sa->in && ca->in[0] == sa->in[0] && ca->in[1] == sa->in[1]);
  CHECK(ca->attrs == sa->attrs && ca->params == sa->params);
  CHECK(ir_attr_float(ca, "alpha", 0.f) == 0.5f);

  /* changing the clone leaves the source alone */
  c->tensors[in].dims[0] = 3;
  c->nodes[0].in[0] = -1;
  CHECK_EQ_I64(src->tensors[in].dims[0], -1);
  CHECK_EQ_I64(src->nodes[0].in[0], in);

  /* a clone of a clone, freed in any order: ASan reports a double free or a leak */
  ir_graph *c2 = ir_graph_clone(c);
  CHECK(c2 != NULL);
  if (c2) CHECK(c2->tensors[w].data == src->tensors[w].data);
  ir_graph_free(c);
  CHECK(((float *)src->tensors[w].data)[3] == 3.0f); /* still valid after the clone is gone */
  CHECK(src->nodes[1].attrs[0].f == 0.5f);
  ir_graph_free(src);
  ir_graph_free(c2);
}

static void test_attrs(void)
{
  ir_attr attrs[4];
  memset(attrs, 0, sizeof(attrs));
  int64_t ints[3] = {1, -2, 3};
  attrs[0] = (ir_attr){.name = "k", .type = IR_ATTR_INT, .i = 7};
  attrs[1] = (ir_attr){.name = "eps", .type = IR_ATTR_FLOAT, .f = 1e-5f};
  attrs[2] = (ir_attr){.name = "mode", .type = IR_ATTR_STRING, .s = "nearest"};
  attrs[3] = (ir_attr){.name = "pads", .type = IR_ATTR_INTS, .n = 3, .ints = ints};
  ir_node n = {.name = "n", .op_type = "X", .domain = "", .n_attrs = 4, .attrs = attrs};
  CHECK_EQ_I64(ir_attr_int(&n, "k", -1), 7);
  CHECK_EQ_I64(ir_attr_int(&n, "absent", -1), -1);
  CHECK(ir_attr_float(&n, "eps", 0) == 1e-5f);
  CHECK(ir_attr_float(&n, "k", 0) == 7.0f);
  CHECK(strcmp(ir_attr_string(&n, "mode", "x"), "nearest") == 0);
  CHECK(strcmp(ir_attr_string(&n, "k", "dflt"), "dflt") == 0); /* wrong type: default */
  int64_t out[2] = {0, 0};
  CHECK_EQ_I64(ir_attr_ints(&n, "pads", out, 2), 3); /* count even when cap is smaller */
  CHECK_EQ_I64(out[0], 1);
  CHECK_EQ_I64(out[1], -2);
  CHECK_EQ_I64(ir_attr_ints(&n, "absent", out, 2), -1);
  CHECK_EQ_I64(ir_attr_ints(&n, "mode", out, 2), -1);
  CHECK(ir_attr_find(&n, "eps") == &attrs[1]);
}

static void test_tensor_helpers(void)
{
  ir_tensor t = {.ndim = 3, .dims = {2, 3, 4}, .dtype = ONYX_DTYPE_FLOAT16};
  CHECK_EQ_I64(ir_tensor_numel(&t), 24);
  CHECK_EQ_I64(ir_tensor_bytes(&t), 48);
  CHECK(ir_shape_known(&t));
  t.dims[1] = -1;
  CHECK(!ir_shape_known(&t));
  CHECK_EQ_I64(ir_tensor_numel(&t), -1);
  CHECK_EQ_I64(ir_tensor_bytes(&t), 0);
  t.ndim = -1;
  CHECK(!ir_shape_known(&t));
  t.ndim = 0;
  CHECK(ir_shape_known(&t));
  CHECK_EQ_I64(ir_tensor_numel(&t), 1); /* a scalar */
  /* overflow is reported, not wrapped */
  ir_tensor big = {.ndim = 3, .dims = {INT64_C(1) << 40, INT64_C(1) << 40, 2}, .dtype = ONYX_DTYPE_FLOAT};
  CHECK_EQ_I64(ir_tensor_numel(&big), -1);
  int32_t vals[3] = {5, -6, 7};
  ir_tensor iv = {.ndim = 1, .dims = {3}, .dtype = ONYX_DTYPE_INT32, .data = vals};
  CHECK_EQ_I64(ir_tensor_get_i64(&iv, 1), -6);
  CHECK(ir_tensor_get_f64(&iv, 2) == 7.0);
}

int main(int argc, char **argv)
{
  (void)argc;
  test_hash();
  test_clone();
  test_attrs();
  test_tensor_helpers();
  return check_summary(argv[0]);
}
