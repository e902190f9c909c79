/* graph_toposort on hand-built IR graphs, and the loader sorting a model
 * whose nodes are stored out of order. */
#include <stdlib.h>

#include "check.h"
#include "common/util.h"
#include "graph/prepare.h"
#include "model_builder.h"

/* Adds node `name` reading the comma-separated tensors `ins` and writing `outs`. */
static int add(ir_graph *g, const char *name, const char *ins, const char *outs)
{
  ir_node n = {0};
  int idx[2][8], cnt[2] = {0, 0};
  const char *lists[2] = {ins, outs};
  for (int l = 0; l < 2; l++) {
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", lists[l]);
    for (char *tok = strtok(buf, ","); tok && cnt[l] < 8; tok = strtok(NULL, ","))
      idx[l][cnt[l]++] = ir_get_or_add_tensor(g, tok);
  }
  n.name = onyx_strdup(name);
  n.op_type = onyx_strdup("Relu");
  n.domain = onyx_strdup("");
  n.n_in = cnt[0];
  n.n_out = cnt[1];
  n.in = malloc(8 * sizeof(int));
  n.out = malloc(8 * sizeof(int));
  if (!n.name || !n.op_type || !n.domain || !n.in || !n.out) {
    ir_node_clear(&n);
    return -1;
  }
  memcpy(n.in, idx[0], sizeof(idx[0]));
  memcpy(n.out, idx[1], sizeof(idx[1]));
  int r = ir_add_node(g, &n);
  if (r < 0) ir_node_clear(&n);
  return r;
}

static int position(const ir_graph *g, const char *name)
{
  for (int i = 0; i < g->n_nodes; i++)
    if (strcmp(g->nodes[i].name, name) == 0) return i;
  return -1;
}

static void test_reorder(void)
{
  ir_graph *g = ir_graph_new();
  CHECK(g != NULL);
  if (!g) return;
  /* file order: d, b, c, a, e; dependencies a->b->c->d, e independent of all */
  CHECK(add(g, "d", "t_c", "t_d") >= 0);
  CHECK(add(g, "b", "t_a", "t_b") >= 0);
  CHECK(add(g, "c", "t_b,x", "t_c") >= 0);
  CHECK(add(g, "a", "x", "t_a") >= 0);
  CHECK(add(g, "e", "x", "t_e") >= 0);
  if (!CHECK_OK(graph_toposort(g))) goto out;
  CHECK_EQ_I64(g->n_nodes, 5);
  CHECK(position(g, "a") < position(g, "b"));
  CHECK(position(g, "b") < position(g, "c"));
  CHECK(position(g, "c") < position(g, "d"));
  CHECK(position(g, "e") == 1); /* stable: independent nodes keep their file order where they can */
  /* every input is produced before it is read, and producers point at the new positions */
  for (int i = 0; i < g->n_nodes; i++) {
    for (int k = 0; k < g->nodes[i].n_in; k++) {
      const ir_tensor *t = &g->tensors[g->nodes[i].in[k]];
      CHECK(t->producer < i);
    }
    CHECK_EQ_I64(g->tensors[g->nodes[i].out[0]].producer, i);
  }
  CHECK_EQ_I64(g->tensors[ir_find_tensor(g, "x")].producer, -1);
  /* sorting a sorted graph changes nothing */
  const char *order[5];
  for (int i = 0; i < 5; i++) order[i] = g->nodes[i].name;
  CHECK_OK(graph_toposort(g));
  for (int i = 0; i < 5; i++) CHECK(g->nodes[i].name == order[i]);
out:
  ir_graph_free(g);
}

static void test_cycle(void)
{
  ir_graph *g = ir_graph_new();
  CHECK(g != NULL);
  if (!g) return;
  CHECK(add(g, "head", "x", "h") >= 0);
  CHECK(add(g, "loop_a", "h,t_b", "t_a") >= 0);
  CHECK(add(g, "loop_b", "t_a", "t_b") >= 0);
  CHECK(add(g, "tail", "t_b", "y") >= 0);
  CHECK_ERR(graph_toposort(g), ONYX_ERR_INVALID_MODEL, "cycle", "node 'loop_");
  ir_graph_free(g);

  /* a node reading its own output */
  g = ir_graph_new();
  CHECK(g != NULL);
  if (!g) return;
  CHECK(add(g, "self", "x,s", "s") >= 0);
  CHECK_ERR(graph_toposort(g), ONYX_ERR_INVALID_MODEL, "cycle", "Relu node 'self'");
  ir_graph_free(g);
}

static void test_empty(void)
{
  ir_graph *g = ir_graph_new();
  CHECK(g != NULL);
  if (!g) return;
  CHECK_OK(graph_toposort(g));
  ir_graph_free(g);
}

/* The loader sorts too: Relu(Add(x, w)) stored as [Identity, Relu, Add] runs correctly. */
static void test_loader_sorts(void)
{
  mb *b = mb_new(13);
  const float w[3] = {1, -5, 2};
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  mb_init(b, "w", ONYX_DTYPE_FLOAT, "3", w);
  mb_node(b, "Identity", "id", "r", "y");
  mb_node(b, "Relu", "relu", "s", "r");
  mb_node(b, "Add", "add", "x,w", "s");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "1,3");
  onyx_model *m = NULL;
  onyx_session *s = NULL;
  if (!CHECK_OK(mb_load(b, &m))) goto out;
  onyx_node_info ni;
  CHECK_OK(onyx_model_node(m, 0, &ni));
  CHECK(strcmp(ni.name, "add") == 0);
  CHECK_OK(onyx_model_node(m, 2, &ni));
  CHECK(strcmp(ni.name, "id") == 0);
  if (!CHECK_OK(onyx_session_create(m, NULL, &s))) goto out;
  const float x[3] = {1, 2, 3};
  CHECK_OK(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 2, (int64_t[]){1, 3}, x));
  if (!CHECK_OK(onyx_session_run(s))) goto out;
  onyx_tensor_info info;
  const void *data;
  if (!CHECK_OK(onyx_session_output(s, 0, &info, &data))) goto out;
  const float *y = data;
  CHECK(y[0] == 2.f && y[1] == 0.f && y[2] == 5.f);
out:
  onyx_session_free(s);
  onyx_model_free(m);
  mb_free(b);
}

static void test_loader_cycle(void)
{
  mb *b = mb_new(13);
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "2");
  mb_node(b, "Add", "first", "x,q", "p");
  mb_node(b, "Relu", "second", "p", "q");
  mb_output(b, "q", ONYX_DTYPE_FLOAT, "2");
  onyx_model *m = NULL;
  CHECK_ERR(mb_load(b, &m), ONYX_ERR_INVALID_MODEL, "cycle", "node '");
  CHECK(m == NULL);
  mb_free(b);
}

int main(int argc, char **argv)
{
  (void)argc;
  test_reorder();
  test_cycle();
  test_empty();
  test_loader_sorts();
  test_loader_cycle();
  return check_summary(argv[0]);
}
