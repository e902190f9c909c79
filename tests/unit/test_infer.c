/* Shape inference and constant folding on small graphs built with the model
 * builder, through the public API (load, session prepare, outputs). */
#include <stdlib.h>

#include "check.h"
#include "model_builder.h"

static void expect_dims(const onyx_tensor_info *t, int ndim, const int64_t *dims)
{
  CHECK_EQ_I64(t->ndim, ndim);
  for (int i = 0; i < ndim && i < t->ndim; i++) CHECK_EQ_I64(t->dims[i], dims[i]);
}

/* y = Identity(Relu(x + b)), b broadcast over rows. */
static void test_broadcast_chain(void)
{
  mb *b = mb_new(14);
  const float bias[4] = {-1, 0, 1, 2};
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "2,3,4");
  mb_init(b, "b", ONYX_DTYPE_FLOAT, "4", bias);
  mb_node(b, "Add", "add", "x,b", "s");
  mb_node(b, "Relu", "relu", "s", "r");
  mb_node(b, "Identity", "id", "r", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL); /* rank left to inference */
  onyx_model *m = NULL;
  onyx_session *s = NULL;
  if (!CHECK_OK(mb_load(b, &m))) goto out;
  onyx_tensor_info info;
  CHECK_OK(onyx_model_output(m, 0, &info));
  CHECK_EQ_I64(info.ndim, -1); /* as declared */
  if (!CHECK_OK(onyx_session_create(m, NULL, &s))) goto out;
  if (!CHECK_OK(onyx_session_prepare(s))) goto out;
  onyx_cost cost;
  CHECK_OK(onyx_session_cost(s, &cost));
  CHECK_EQ_I64(cost.n_nodes, 3);
  float x[24];
  for (int i = 0; i < 24; i++) x[i] = (float)(i % 5) - 2.f;
  CHECK_OK(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 3, (int64_t[]){2, 3, 4}, x));
  if (!CHECK_OK(onyx_session_run(s))) goto out;
  const void *data;
  if (!CHECK_OK(onyx_session_output(s, 0, &info, &data))) goto out;
  CHECK_EQ_I64(info.dtype, ONYX_DTYPE_FLOAT);
  expect_dims(&info, 3, (int64_t[]){2, 3, 4});
  int bad = 0;
  for (int i = 0; i < 24; i++) {
    float want = x[i] + bias[i % 4];
    if (((const float *)data)[i] != (want > 0 ? want : 0)) bad++;
  }
  CHECK_EQ_I64(bad, 0);
out:
  onyx_session_free(s);
  onyx_model_free(m);
  mb_free(b);
}

/* Symbolic dims: shapes follow the input shape set at run time. */
static void test_symbolic(void)
{
  mb *b = mb_new(13);
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "N,3");
  mb_input(b, "z", ONYX_DTYPE_FLOAT, "1,M");
  mb_node(b, "Add", "add", "x,z", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "N,3");
  onyx_model *m = NULL;
  onyx_session *s = NULL;
  if (!CHECK_OK(mb_load(b, &m))) goto out;
  onyx_tensor_info info;
  CHECK_OK(onyx_model_input(m, 0, &info));
  CHECK_EQ_I64(info.dims[0], -1);
  CHECK(info.dim_params[0] && strcmp(info.dim_params[0], "N") == 0);
  if (!CHECK_OK(onyx_session_create(m, NULL, &s))) goto out;
  /* without shapes the session cannot prepare, and says which input is missing */
  CHECK_ERR(onyx_session_prepare(s), ONYX_ERR_SHAPE, "'x'", "symbolic");
  CHECK_OK(onyx_session_set_input_shape(s, "x", 2, (int64_t[]){5, 3}));
  CHECK_OK(onyx_session_set_input_shape(s, "z", 2, (int64_t[]){1, 3}));
  if (!CHECK_OK(onyx_session_prepare(s))) goto out;
  CHECK_OK(onyx_session_input(s, 0, &info));
  expect_dims(&info, 2, (int64_t[]){5, 3});
  /* a new shape re-prepares */
  CHECK_OK(onyx_session_set_input_shape(s, "x", 2, (int64_t[]){7, 3}));
  CHECK_OK(onyx_session_prepare(s));
  CHECK_OK(onyx_session_input(s, 0, &info));
  expect_dims(&info, 2, (int64_t[]){7, 3});
  /* a symbolic dim that cannot broadcast is a shape error naming the node */
  CHECK_OK(onyx_session_set_input_shape(s, "z", 2, (int64_t[]){1, 4}));
  CHECK_ERR(onyx_session_prepare(s), ONYX_ERR_SHAPE, "Add node 'add'", "7x3", "1x4");
out:
  onyx_session_free(s);
  onyx_model_free(m);
  mb_free(b);
}

/* Constant + initializer branches fold at prepare; only the x branch runs. */
static void test_folding(void)
{
  mb *b = mb_new(13);
  const float c[2] = {1.5f, -3.f}, w[2] = {0.5f, 0.5f};
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "2");
  mb_init(b, "w", ONYX_DTYPE_FLOAT, "2", w);
  Onnx__NodeProto *k = mb_node(b, "Constant", "const", NULL, "c");
  mb_attr_tensor(b, k, "value", mb_tensor(b, "cv", ONYX_DTYPE_FLOAT, "2", c));
  mb_node(b, "Add", "fold_add", "c,w", "cw");
  mb_node(b, "Relu", "fold_relu", "cw", "cr");
  mb_node(b, "Add", "live_add", "x,cr", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "2");
  onyx_model *m = NULL;
  onyx_session *s = NULL;
  if (!CHECK_OK(mb_load(b, &m))) goto out;
  onyx_model_meta meta;
  CHECK_OK(onyx_model_get_meta(m, &meta));
  CHECK_EQ_I64(meta.n_nodes, 4);
  CHECK_EQ_I64(meta.n_params, 4); /* 2 in the initializer, 2 in the Constant */
  if (!CHECK_OK(onyx_session_create(m, NULL, &s))) goto out;
  if (!CHECK_OK(onyx_session_prepare(s))) goto out;
  onyx_cost cost;
  CHECK_OK(onyx_session_cost(s, &cost));
  CHECK_EQ_I64(cost.n_nodes, 1);
  const float x[2] = {10, 20};
  CHECK_OK(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 1, (int64_t[]){2}, x));
  if (!CHECK_OK(onyx_session_run(s))) goto out;
  onyx_tensor_info info;
  const void *data;
  if (!CHECK_OK(onyx_session_output(s, 0, &info, &data))) goto out;
  const float *y = data;
  CHECK(y[0] == 12.f && y[1] == 20.f);
out:
  onyx_session_free(s);
  onyx_model_free(m);
  mb_free(b);
}

/* Static shapes are checked at load: an impossible broadcast is refused there. */
static void test_static_error_at_load(void)
{
  mb *b = mb_new(13);
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "2,3");
  mb_init(b, "w", ONYX_DTYPE_FLOAT, "4", NULL);
  mb_node(b, "Relu", "relu", "x", "r");
  mb_node(b, "Add", "bad_add", "r,w", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "2,3");
  onyx_model *m = NULL;
  CHECK_ERR(mb_load(b, &m), ONYX_ERR_SHAPE, "Add node 'bad_add'", "2x3", "4");
  CHECK(m == NULL);
  mb_free(b);
}

/* Scalars and empty tensors flow through inference. */
static void test_scalar_and_empty(void)
{
  mb *b = mb_new(13);
  const float one = 1.f;
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "0,4");
  mb_init(b, "s", ONYX_DTYPE_FLOAT, "", &one);
  mb_node(b, "Add", "add", "x,s", "y");
  mb_node(b, "Relu", "relu", "s", "z");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "0,4");
  mb_output(b, "z", ONYX_DTYPE_FLOAT, "");
  onyx_model *m = NULL;
  onyx_session *s = NULL;
  if (!CHECK_OK(mb_load(b, &m))) goto out;
  if (!CHECK_OK(onyx_session_create(m, NULL, &s))) goto out;
  float dummy = 0;
  CHECK_OK(onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 2, (int64_t[]){0, 4}, &dummy));
  if (!CHECK_OK(onyx_session_run(s))) goto out;
  onyx_tensor_info info;
  const void *data;
  CHECK_OK(onyx_session_output(s, 0, &info, &data));
  expect_dims(&info, 2, (int64_t[]){0, 4});
  CHECK_OK(onyx_session_output(s, 1, &info, &data));
  CHECK_EQ_I64(info.ndim, 0);
  CHECK(data && *(const float *)data == 1.f);
out:
  onyx_session_free(s);
  onyx_model_free(m);
  mb_free(b);
}

int main(int argc, char **argv)
{
  (void)argc;
  test_broadcast_chain();
  test_symbolic();
  test_folding();
  test_static_error_at_load();
  test_scalar_and_empty();
  return check_summary(argv[0]);
}
