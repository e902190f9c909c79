/* op_broadcast_shape (numpy rules, errors) and cpu_broadcast_strides. */
#include "backend/cpu/cpu.h"
#include "check.h"
#include "ops/ops.h"

static ir_node test_node(void)
{
  ir_node n;
  memset(&n, 0, sizeof(n));
  n.op_type = "Add";
  n.name = "add_7";
  n.domain = "";
  return n;
}

static void expect_shape(int na, const int64_t *a, int nb, const int64_t *b, int nwant, const int64_t *want)
{
  ir_node n = test_node();
  int64_t out[ONYX_MAX_DIMS];
  int nout = -1;
  if (!CHECK_OK(op_broadcast_shape(&n, na, a, nb, b, &nout, out))) return;
  CHECK_EQ_I64(nout, nwant);
  for (int i = 0; i < nwant && i < nout; i++) CHECK_EQ_I64(out[i], want[i]);
  /* broadcasting is symmetric */
  nout = -1;
  if (!CHECK_OK(op_broadcast_shape(&n, nb, b, na, a, &nout, out))) return;
  CHECK_EQ_I64(nout, nwant);
  for (int i = 0; i < nwant && i < nout; i++) CHECK_EQ_I64(out[i], want[i]);
}

static void test_shapes(void)
{
  expect_shape(2, (int64_t[]){2, 3}, 1, (int64_t[]){3}, 2, (int64_t[]){2, 3});
  expect_shape(2, (int64_t[]){2, 3}, 2, (int64_t[]){2, 3}, 2, (int64_t[]){2, 3});
  expect_shape(3, (int64_t[]){2, 1, 4}, 2, (int64_t[]){3, 1}, 3, (int64_t[]){2, 3, 4});
  expect_shape(4, (int64_t[]){8, 1, 6, 1}, 3, (int64_t[]){7, 1, 5}, 4, (int64_t[]){8, 7, 6, 5});
  expect_shape(0, NULL, 1, (int64_t[]){5}, 1, (int64_t[]){5});     /* scalar */
  expect_shape(0, NULL, 0, NULL, 0, NULL);                          /* scalar with scalar */
  expect_shape(2, (int64_t[]){0, 3}, 1, (int64_t[]){1}, 2, (int64_t[]){0, 3}); /* empty dims stay empty */
  expect_shape(2, (int64_t[]){0, 3}, 2, (int64_t[]){1, 3}, 2, (int64_t[]){0, 3});
  expect_shape(4, (int64_t[]){1, 3, 1, 1}, 4, (int64_t[]){2, 1, 5, 7}, 4, (int64_t[]){2, 3, 5, 7});
}

static void test_errors(void)
{
  ir_node n = test_node();
  int64_t out[ONYX_MAX_DIMS];
  int nout = 0;
  CHECK_ERR(op_broadcast_shape(&n, 1, (int64_t[]){2}, 1, (int64_t[]){3}, &nout, out), ONYX_ERR_SHAPE,
            "Add node 'add_7'", "cannot be broadcast", "2", "3");
  CHECK_ERR(op_broadcast_shape(&n, 3, (int64_t[]){2, 3, 4}, 2, (int64_t[]){3, 5}, &nout, out), ONYX_ERR_SHAPE,
            "add_7", "2x3x4", "3x5");
  /* 0 broadcasts only against 1, never against another size */
  CHECK_ERR(op_broadcast_shape(&n, 2, (int64_t[]){0, 3}, 2, (int64_t[]){2, 3}, &nout, out), ONYX_ERR_SHAPE,
            "cannot be broadcast");
}

static void expect_strides(int no, const int64_t *od, int ni, const int64_t *id, const int64_t *want)
{
  int64_t s[ONYX_MAX_DIMS];
  for (int i = 0; i < ONYX_MAX_DIMS; i++) s[i] = -99;
  cpu_broadcast_strides(no, od, ni, id, s);
  for (int i = 0; i < no; i++) CHECK_EQ_I64(s[i], want[i]);
}

static void test_strides(void)
{
  const int64_t out[3] = {2, 3, 4};
  expect_strides(3, out, 3, (int64_t[]){2, 3, 4}, (int64_t[]){12, 4, 1});
  expect_strides(3, out, 2, (int64_t[]){3, 1}, (int64_t[]){0, 1, 0});
  expect_strides(3, out, 1, (int64_t[]){4}, (int64_t[]){0, 0, 1});
  expect_strides(3, out, 0, NULL, (int64_t[]){0, 0, 0});
  expect_strides(3, out, 3, (int64_t[]){2, 1, 4}, (int64_t[]){4, 0, 1});
  expect_strides(3, out, 3, (int64_t[]){1, 1, 1}, (int64_t[]){0, 0, 0});
  expect_strides(3, out, 3, (int64_t[]){2, 3, 1}, (int64_t[]){3, 1, 0});

  /* strides index the right element: a brute-force broadcast of a [3,1] input */
  int64_t s[3];
  const float in[3] = {10, 20, 30};
  cpu_broadcast_strides(3, out, 2, (int64_t[]){3, 1}, s);
  int bad = 0;
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 3; b++)
      for (int c = 0; c < 4; c++)
        if (in[a * s[0] + b * s[1] + c * s[2]] != in[b]) bad++;
  CHECK_EQ_I64(bad, 0);
}

int main(int argc, char **argv)
{
  (void)argc;
  test_shapes();
  test_errors();
  test_strides();
  return check_summary(argv[0]);
}
