/* Limits and hostile models: absurd attributes and shapes (a table of small
 * models, each loaded and prepared on the CPU: every one must fail with the
 * expected status and a message naming the node and the problem), protobuf
 * nesting far beyond any real model (protobuf-c would recurse off the stack),
 * and models with more nodes, tensors, attributes or messages than the limits
 * (ONYX_MAX_NODES), made at test time. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "common/util.h"
#include "model_builder.h"
#include "onnx/loader.h"

#define BIG (INT64_C(1) << 62)

/* ---- absurd attributes and shapes ------------------------------------------ */

static void x_nchw(mb *b, const char *shape)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, shape);
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}

/* Conv of x (shape) with a weight of wshape; attributes added by the caller. */
static Onnx__NodeProto *conv(mb *b, const char *xshape, const char *wshape)
{
  x_nchw(b, xshape);
  mb_init(b, "w", ONYX_DTYPE_FLOAT, wshape, NULL);
  return mb_node(b, "Conv", "conv", "x,w", "y");
}

static void conv_kernel_larger(mb *b) { conv(b, "1,1,4,4", "1,1,5,5"); }
static void conv_stride_zero(mb *b) { mb_attr_ints(b, conv(b, "1,1,4,4", "1,1,3,3"), "strides", 2, (int64_t[]){1, 0}); }
static void conv_dilation_zero(mb *b)
{
  mb_attr_ints(b, conv(b, "1,1,4,4", "1,1,3,3"), "dilations", 2, (int64_t[]){0, 1});
}
static void conv_group_not_dividing(mb *b) { mb_attr_int(b, conv(b, "1,3,4,4", "2,1,3,3"), "group", 2); }
static void conv_group_zero(mb *b) { mb_attr_int(b, conv(b, "1,3,4,4", "2,3,3,3"), "group", 0); }
static void conv_group_negative(mb *b) { mb_attr_int(b, conv(b, "1,3,4,4", "2,3,3,3"), "group", -3); }
static void conv_negative_pads(mb *b)
{
  mb_attr_ints(b, conv(b, "1,1,4,4", "1,1,3,3"), "pads", 4, (int64_t[]){0, -1, 0, 0});
}
static void conv_huge_pads(mb *b)
{
  mb_attr_ints(b, conv(b, "1,1,4,4", "1,1,3,3"), "pads", 4, (int64_t[]){BIG, BIG, BIG, BIG});
}
static void conv_huge_dilation(mb *b)
{
  mb_attr_ints(b, conv(b, "1,1,4,4", "1,1,3,3"), "dilations", 2, (int64_t[]){BIG, 1});
}
static void conv_huge_stride(mb *b)
{
  mb_attr_ints(b, conv(b, "1,1,4,4", "1,1,3,3"), "strides", 2, (int64_t[]){BIG, BIG});
}
static void conv_largest_stride(mb *b) /* the largest supported: one output pixel */
{
  mb_attr_ints(b, conv(b, "1,1,4,4", "1,1,3,3"), "strides", 2, (int64_t[]){INT32_MAX, INT32_MAX});
}
static void conv_odd_pads(mb *b)
{
  mb_attr_ints(b, conv(b, "1,1,4,4", "1,1,3,3"), "pads", 3, (int64_t[]){1, 1, 1});
}
static void conv_weight_rank(mb *b) { conv(b, "1,1,4,4", "1,1,3"); }
static void conv_empty_kernel(mb *b) { conv(b, "1,1,4,4", "1,1,0,3"); }
static void conv_kernel_shape_disagrees(mb *b)
{
  mb_attr_ints(b, conv(b, "1,1,4,4", "1,1,3,3"), "kernel_shape", 2, (int64_t[]){2, 2});
}
static void conv_input_rank2(mb *b) { conv(b, "1,4", "1,4"); }

static Onnx__NodeProto *conv_t(mb *b, const char *xshape, const char *wshape)
{
  x_nchw(b, xshape);
  mb_init(b, "w", ONYX_DTYPE_FLOAT, wshape, NULL);
  return mb_node(b, "ConvTranspose", "deconv", "x,w", "y");
}
static void deconv_huge_stride(mb *b)
{
  mb_attr_ints(b, conv_t(b, "1,1,4,4", "1,1,3,3"), "strides", 2, (int64_t[]){BIG, 1});
}
static void deconv_stride_times_input(mb *b) /* 2^31 x 200000 > 2^48 */
{
  mb_attr_ints(b, conv_t(b, "1,1,200000,1", "1,1,3,1"), "strides", 2, (int64_t[]){INT32_MAX, 1});
}
static void deconv_output_over_limit(mb *b) /* 2^31 x 1000 floats: 8 TiB */
{
  mb_attr_ints(b, conv_t(b, "1,1,1000,1", "1,1,3,1"), "strides", 2, (int64_t[]){INT32_MAX, 1});
}
static void deconv_huge_output_shape(mb *b)
{
  mb_attr_ints(b, conv_t(b, "1,1,4,4", "1,1,3,3"), "output_shape", 2, (int64_t[]){BIG, BIG});
}
static void deconv_pads_swallow_output(mb *b)
{
  mb_attr_ints(b, conv_t(b, "1,1,4,4", "1,1,3,3"), "pads", 4, (int64_t[]){4, 4, 4, 4});
}
static void deconv_huge_output_padding(mb *b)
{
  mb_attr_ints(b, conv_t(b, "1,1,4,4", "1,1,3,3"), "output_padding", 2, (int64_t[]){BIG, 0});
}

static Onnx__NodeProto *pool(mb *b, const char *op, const char *xshape, int64_t k)
{
  x_nchw(b, xshape);
  Onnx__NodeProto *n = mb_node(b, op, "pool", "x", "y");
  mb_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){k, k});
  return n;
}
static void pool_kernel_zero(mb *b) { pool(b, "MaxPool", "1,1,4,4", 0); }
static void pool_kernel_larger(mb *b) { pool(b, "AveragePool", "1,1,4,4", 6); }
static void pool_kernel_huge(mb *b) { pool(b, "MaxPool", "1,1,4,4", BIG); }
static void pool_pads_not_below_kernel(mb *b)
{
  mb_attr_ints(b, pool(b, "MaxPool", "1,1,4,4", 2), "pads", 4, (int64_t[]){2, 0, 0, 0});
}
static void pool_stride_zero(mb *b)
{
  mb_attr_ints(b, pool(b, "MaxPool", "1,1,4,4", 2), "strides", 2, (int64_t[]){0, 0});
}
static void pool_no_kernel(mb *b)
{
  x_nchw(b, "1,1,4,4");
  mb_node(b, "MaxPool", "pool", "x", "y");
}

/* Resize (opset 13: X, roi, scales, sizes). */
static void resize_scales(mb *b, float s)
{
  x_nchw(b, "1,1,4,4");
  mb_init(b, "scales", ONYX_DTYPE_FLOAT, "4", (float[]){1, 1, s, s});
  mb_node(b, "Resize", "resize", "x,,scales", "y");
}
static void resize_scale_huge(mb *b) { resize_scales(b, 1e30f); }
static void resize_scale_big_product(mb *b) { resize_scales(b, 1e6f); } /* each axis fits, the tensor not */
static void resize_scale_zero(mb *b) { resize_scales(b, 0.f); }
static void resize_scale_negative(mb *b) { resize_scales(b, -2.f); }
static void resize_scale_nan(mb *b) { resize_scales(b, NAN); }
static void resize_scale_inf(mb *b) { resize_scales(b, INFINITY); }
static void resize_sizes(mb *b, int64_t s)
{
  x_nchw(b, "1,1,4,4");
  mb_init(b, "sizes", ONYX_DTYPE_INT64, "4", (int64_t[]){1, 1, s, s});
  mb_node(b, "Resize", "resize", "x,,,sizes", "y");
}
static void resize_sizes_huge(mb *b) { resize_sizes(b, BIG); }
static void resize_sizes_negative(mb *b) { resize_sizes(b, -4); }

/* ConstantOfShape / Expand / Reshape with a constant shape input. */
static void shape_op(mb *b, const char *op, const char *xshape, int n, const int64_t *shape)
{
  char s[16];
  snprintf(s, sizeof(s), "%d", n);
  if (xshape) mb_input(b, "x", ONYX_DTYPE_FLOAT, xshape);
  mb_init(b, "shape", ONYX_DTYPE_INT64, s, shape);
  mb_node(b, op, "op", xshape ? "x,shape" : "shape", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}
static void cos_overflow(mb *b) { shape_op(b, "ConstantOfShape", NULL, 3, (int64_t[]){BIG, BIG, 4}); }
static void cos_too_big(mb *b) { shape_op(b, "ConstantOfShape", NULL, 2, (int64_t[]){1 << 30, 1 << 30}); }
static void cos_negative(mb *b) { shape_op(b, "ConstantOfShape", NULL, 2, (int64_t[]){2, -1}); }
static void expand_overflow(mb *b) { shape_op(b, "Expand", "1,1", 3, (int64_t[]){BIG, BIG, 1}); }
static void expand_too_big(mb *b) { shape_op(b, "Expand", "1,1", 2, (int64_t[]){1 << 30, 1 << 30}); }
static void expand_negative(mb *b) { shape_op(b, "Expand", "1,1", 2, (int64_t[]){-2, 1}); }
static void reshape_overflow(mb *b) { shape_op(b, "Reshape", "2,3", 3, (int64_t[]){BIG, BIG, -1}); }
static void reshape_negative(mb *b) { shape_op(b, "Reshape", "2,3", 2, (int64_t[]){-3, -2}); }
static void reshape_two_minus_one(mb *b) { shape_op(b, "Reshape", "2,3", 2, (int64_t[]){-1, -1}); }
static void reshape_count(mb *b) { shape_op(b, "Reshape", "2,3", 2, (int64_t[]){4, 2}); }

static void pad_huge(mb *b)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "2,3");
  mb_init(b, "pads", ONYX_DTYPE_INT64, "4", (int64_t[]){0, BIG, 0, BIG});
  mb_node(b, "Pad", "pad", "x,pads", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}
static void pad_too_big(mb *b)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "2,3");
  mb_init(b, "pads", ONYX_DTYPE_INT64, "4", (int64_t[]){1 << 20, 1 << 20, 1 << 20, 1 << 20});
  mb_node(b, "Pad", "pad", "x,pads", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}

/* Shapes declared on the graph input. */
static void input_dims_overflow(mb *b)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "4611686018427387904,4611686018427387904,4");
  mb_node(b, "Relu", "relu", "x", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}
static void input_too_big(mb *b)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1073741824,1073741824");
  mb_node(b, "Relu", "relu", "x", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}
static void input_huge_then_pad(mb *b) /* a dim near INT64_MAX, then made larger */
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "9223372036854775807,0");
  mb_init(b, "pads", ONYX_DTYPE_INT64, "4", (int64_t[]){1 << 20, 0, 0, 0});
  mb_node(b, "Pad", "pad", "x,pads", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}

/* Constant values and initializers. */
static void constant_huge(mb *b)
{
  Onnx__TensorProto *t = mb_tensor(b, "v", ONYX_DTYPE_FLOAT, "1", NULL);
  t->dims = mb_alloc(b, 2 * sizeof(int64_t));
  t->n_dims = 2;
  t->dims[0] = t->dims[1] = INT64_C(1) << 31; /* 2^62 floats: the byte size overflows */
  Onnx__NodeProto *n = mb_node(b, "Constant", "const", NULL, "y");
  mb_attr_tensor(b, n, "value", t);
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}
static void initializer_over_limit(mb *b) /* 2^31 x 2^4 floats = 128 GiB: over the limit, not overflowing */
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1");
  Onnx__TensorProto *t = mb_init(b, "w", ONYX_DTYPE_FLOAT, "1", NULL);
  t->dims = mb_alloc(b, 2 * sizeof(int64_t));
  t->n_dims = 2;
  t->dims[0] = INT64_C(1) << 31;
  t->dims[1] = 16;
  mb_node(b, "Add", "add", "x,w", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}

/* Axes out of range. */
static void axis_node(mb *b, const char *op, int64_t axis)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "2,3");
  mb_attr_int(b, mb_node(b, op, "op", "x", "y"), "axis", axis);
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}
static void softmax_axis(mb *b) { axis_node(b, "Softmax", 5); }
static void flatten_axis(mb *b) { axis_node(b, "Flatten", INT64_MIN); }
static void concat_axis(mb *b) { axis_node(b, "Concat", BIG); }
static void gather_axis(mb *b)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "2,3");
  mb_init(b, "i", ONYX_DTYPE_INT64, "1", (int64_t[]){0});
  mb_attr_int(b, mb_node(b, "Gather", "gather", "x,i", "y"), "axis", -3);
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}
static void transpose_perm(mb *b)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "2,3");
  mb_attr_ints(b, mb_node(b, "Transpose", "transpose", "x", "y"), "perm", 2, (int64_t[]){0, 0});
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}
static void split_too_many(mb *b)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "2,3");
  mb_init(b, "s", ONYX_DTYPE_INT64, "2", (int64_t[]){BIG, BIG}); /* the sum overflows */
  mb_attr_int(b, mb_node(b, "Split", "split", "x,s", "y,z"), "axis", 1);
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}
static void matmul_mismatch(mb *b)
{
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "2,3");
  mb_init(b, "w", ONYX_DTYPE_FLOAT, "4,5", NULL);
  mb_node(b, "MatMul", "matmul", "x,w", "y");
  mb_output(b, "y", ONYX_DTYPE_FLOAT, NULL);
}

typedef struct op_case {
  const char *name;
  void (*build)(mb *b);
  onyx_status want; /* ONYX_OK: a positive control */
  const char *subs[5]; /* NULL-terminated */
} op_case;

#define SHAPE ONYX_ERR_SHAPE
#define INVALID ONYX_ERR_INVALID_MODEL
#define UNSUP ONYX_ERR_UNSUPPORTED

static const op_case op_cases[] = {
    {"conv_kernel_larger_than_input", conv_kernel_larger, SHAPE, {"Conv node 'conv'", "kernel extent 5", "larger"}},
    {"conv_stride_zero", conv_stride_zero, INVALID, {"Conv node 'conv'", "'strides'", "value 0", ">= 1"}},
    {"conv_dilation_zero", conv_dilation_zero, INVALID, {"Conv node 'conv'", "'dilations'", ">= 1"}},
    {"conv_group_not_dividing", conv_group_not_dividing, SHAPE, {"Conv node 'conv'", "group 2", "3 input channels"}},
    {"conv_group_zero", conv_group_zero, INVALID, {"Conv node 'conv'", "group 0"}},
    {"conv_group_negative", conv_group_negative, INVALID, {"Conv node 'conv'", "group -3"}},
    {"conv_negative_pads", conv_negative_pads, INVALID, {"Conv node 'conv'", "'pads'", "value -1"}},
    {"conv_huge_pads", conv_huge_pads, UNSUP, {"Conv node 'conv'", "'pads'", "at most 2147483647"}},
    {"conv_huge_dilation", conv_huge_dilation, UNSUP, {"Conv node 'conv'", "'dilations'", "at most"}},
    {"conv_huge_stride", conv_huge_stride, UNSUP, {"Conv node 'conv'", "'strides'", "at most"}},
    {"conv_largest_stride", conv_largest_stride, ONYX_OK, {NULL}},
    {"conv_odd_pads", conv_odd_pads, INVALID, {"Conv node 'conv'", "'pads' has 3 values"}},
    {"conv_weight_rank", conv_weight_rank, SHAPE, {"Conv node 'conv'", "ranks differ"}},
    {"conv_empty_kernel", conv_empty_kernel, SHAPE, {"Conv node 'conv'", "empty kernel"}},
    {"conv_kernel_shape_disagrees", conv_kernel_shape_disagrees, SHAPE, {"Conv node 'conv'", "kernel_shape"}},
    {"conv_input_rank2", conv_input_rank2, SHAPE, {"Conv node 'conv'", "rank 2"}},
    {"deconv_huge_stride", deconv_huge_stride, UNSUP, {"ConvTranspose node 'deconv'", "'strides'"}},
    {"deconv_stride_times_input", deconv_stride_times_input, SHAPE,
     {"ConvTranspose node 'deconv'", "too large", "stride 2147483647, input 200000"}},
    {"deconv_output_over_limit", deconv_output_over_limit, SHAPE, {"ConvTranspose node 'deconv'", "tensor limit"}},
    {"deconv_huge_output_shape", deconv_huge_output_shape, UNSUP, {"ConvTranspose node 'deconv'", "output_shape"}},
    {"deconv_pads_swallow_output", deconv_pads_swallow_output, SHAPE,
     {"ConvTranspose node 'deconv'", "output size", "pads 4, 4"}},
    {"deconv_huge_output_padding", deconv_huge_output_padding, UNSUP,
     {"ConvTranspose node 'deconv'", "output_padding"}},
    {"pool_kernel_zero", pool_kernel_zero, INVALID, {"MaxPool node 'pool'", "'kernel_shape'", ">= 1"}},
    {"pool_kernel_larger_than_input", pool_kernel_larger, SHAPE, {"AveragePool node 'pool'", "kernel extent 6"}},
    {"pool_kernel_huge", pool_kernel_huge, UNSUP, {"MaxPool node 'pool'", "'kernel_shape'"}},
    {"pool_pads_not_below_kernel", pool_pads_not_below_kernel, INVALID, {"MaxPool node 'pool'", "pads (2, 0)"}},
    {"pool_stride_zero", pool_stride_zero, INVALID, {"MaxPool node 'pool'", "'strides'"}},
    {"pool_no_kernel_shape", pool_no_kernel, INVALID, {"MaxPool node 'pool'", "kernel_shape is required"}},
    {"resize_scale_huge", resize_scale_huge, SHAPE, {"Resize node 'resize'", "too large"}},
    {"resize_scale_big_product", resize_scale_big_product, SHAPE,
     {"Resize node 'resize'", "tensor limit", "ONYX_MAX_TENSOR_BYTES"}},
    {"resize_scale_zero", resize_scale_zero, INVALID, {"Resize node 'resize'", "scale 0", "> 0"}},
    {"resize_scale_negative", resize_scale_negative, INVALID, {"Resize node 'resize'", "scale -2"}},
    {"resize_scale_nan", resize_scale_nan, INVALID, {"Resize node 'resize'", "scale nan"}},
    {"resize_scale_inf", resize_scale_inf, INVALID, {"Resize node 'resize'", "scale inf"}},
    {"resize_sizes_huge", resize_sizes_huge, SHAPE, {"Resize node 'resize'", "out of range"}},
    {"resize_sizes_negative", resize_sizes_negative, SHAPE, {"Resize node 'resize'", "size -4"}},
    {"constant_of_shape_overflow", cos_overflow, SHAPE, {"ConstantOfShape node 'op'"}},
    {"constant_of_shape_too_big", cos_too_big, SHAPE, {"ConstantOfShape node 'op'", "tensor limit"}},
    {"constant_of_shape_negative", cos_negative, SHAPE, {"ConstantOfShape node 'op'", "negative"}},
    {"expand_overflow", expand_overflow, SHAPE, {"Expand node 'op'"}},
    {"expand_too_big", expand_too_big, SHAPE, {"Expand node 'op'", "tensor limit"}},
    {"expand_negative", expand_negative, SHAPE, {"Expand node 'op'"}},
    {"reshape_overflow", reshape_overflow, SHAPE, {"Reshape node 'op'"}},
    {"reshape_negative", reshape_negative, SHAPE, {"Reshape node 'op'"}},
    {"reshape_two_minus_one", reshape_two_minus_one, SHAPE, {"Reshape node 'op'"}},
    {"reshape_count", reshape_count, SHAPE, {"Reshape node 'op'"}},
    {"pad_huge", pad_huge, SHAPE, {"Pad node 'pad'", "out of range"}},
    {"pad_too_big", pad_too_big, SHAPE, {"Pad node 'pad'", "tensor limit"}},
    {"input_dims_overflow", input_dims_overflow, SHAPE, {"graph input 'x'", "tensor limit"}},
    {"input_too_big", input_too_big, SHAPE, {"graph input 'x'", "1073741824x1073741824", "ONYX_MAX_TENSOR_BYTES"}},
    {"input_huge_dim_empty_tensor", input_huge_then_pad, SHAPE, {"graph input 'x'", "9223372036854775807x0"}},
    {"constant_huge", constant_huge, INVALID, {"Constant node 'const'", "too large"}},
    {"initializer_over_limit", initializer_over_limit, INVALID, {"'w'", "too large", "ONYX_MAX_TENSOR_BYTES"}},
    {"softmax_axis", softmax_axis, SHAPE, {"Softmax node 'op'", "axis 5"}},
    {"flatten_axis", flatten_axis, SHAPE, {"Flatten node 'op'", "axis"}},
    {"concat_axis", concat_axis, SHAPE, {"Concat node 'op'", "axis"}},
    {"gather_axis", gather_axis, SHAPE, {"Gather node 'gather'", "axis -3"}},
    {"transpose_perm", transpose_perm, SHAPE, {"Transpose node 'transpose'", "perm"}},
    {"split_sizes_overflow", split_too_many, SHAPE, {"Split node 'split'", "add up to more than"}},
    {"matmul_mismatch", matmul_mismatch, SHAPE, {"MatMul node 'matmul'", "2x3", "4x5"}},
};

/* Loads the case and, when that works, prepares a CPU session: the status of
 * the first step that fails. */
static onyx_status load_and_prepare(mb *b)
{
  onyx_model *m = NULL;
  onyx_session *s = NULL;
  onyx_clear_error();
  onyx_status st = mb_load(b, &m);
  if (st == ONYX_OK) st = onyx_session_create(m, NULL, &s);
  if (st == ONYX_OK) st = onyx_session_prepare(s);
  onyx_session_free(s);
  onyx_model_free(m);
  return st;
}

static void test_op_cases(void)
{
  /* a limit far below RAM, so that the "too big" cases do not depend on the machine */
  setenv("ONYX_MAX_TENSOR_BYTES", "1073741824", 1);
  int n = (int)(sizeof(op_cases) / sizeof(op_cases[0]));
  for (int i = 0; i < n; i++) {
    const op_case *c = &op_cases[i];
    mb *b = mb_new(13);
    c->build(b);
    onyx_status st = load_and_prepare(b);
    if (!check_status_(__FILE__, __LINE__, c->name, st, c->want, c->subs))
      fprintf(stderr, "  case %s failed (message: %s)\n", c->name, st == ONYX_OK ? "" : onyx_last_error());
    else if (getenv("ONYX_TEST_VERBOSE"))
      printf("  %-32s %s\n", c->name, st == ONYX_OK ? "(ok)" : onyx_last_error());
    mb_free(b);
  }
  unsetenv("ONYX_MAX_TENSOR_BYTES");
  printf("%d attribute and shape cases checked\n", n);
}

/* ---- protobuf nesting -------------------------------------------------------- */

/* A message is made from the inside out: the innermost bytes, then wraps, each
 * putting the bytes so far in a length-delimited field after some other
 * fields (pre).  The sizes are computed first, then the bytes written from
 * the outside in, so that 100000 levels take linear time. */
typedef struct wrap {
  const uint8_t *pre;
  size_t npre;
  int field;
} wrap;

static size_t varint_len(uint64_t v)
{
  size_t n = 1;
  while (v >= 0x80) v >>= 7, n++;
  return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
  while (v >= 0x80) *p++ = (uint8_t)(v | 0x80), v >>= 7;
  *p++ = (uint8_t)v;
  return p;
}

/* wraps[0] is applied first (innermost); NULL on allocation failure. */
static uint8_t *nest(const uint8_t *inner, size_t ninner, const wrap *wraps, size_t nwraps, size_t *len)
{
  size_t *size = malloc((nwraps + 1) * sizeof(*size));
  if (!size) return NULL;
  size[0] = ninner;
  for (size_t j = 0; j < nwraps; j++) {
    const wrap *w = &wraps[j];
    size[j + 1] = w->npre + varint_len((uint64_t)w->field << 3 | 2) + varint_len(size[j]) + size[j];
  }
  *len = size[nwraps];
  uint8_t *buf = malloc(*len), *p = buf;
  for (size_t j = nwraps; buf && j-- > 0;) {
    if (wraps[j].npre) memcpy(p, wraps[j].pre, wraps[j].npre);
    p += wraps[j].npre;
    p = put_varint(p, (uint64_t)wraps[j].field << 3 | 2);
    p = put_varint(p, size[j]);
  }
  if (buf && ninner) memcpy(p, inner, ninner);
  free(size);
  return buf;
}

/* ModelProto fields before the graph: ir_version 8, opset_import { version 13 }. */
static const uint8_t model_pre[] = {0x08, 8, 0x42, 2, 0x10, 13};

/* A graph input whose type is a sequence of a sequence ... of a float tensor,
 * levels deep: the model nests 5 + 2 * levels messages. */
static uint8_t *nested_sequence_model(size_t levels, size_t *len)
{
  static const uint8_t tensor_type[] = {0x0a, 2, 0x08, 1}; /* TypeProto { tensor_type { elem_type: FLOAT } } */
  static const uint8_t name_x[] = {0x0a, 1, 'x'};          /* ValueInfoProto.name */
  size_t nw = 2 * levels + 3;
  wrap *w = malloc(nw * sizeof(*w));
  if (!w) return NULL;
  for (size_t i = 0; i < levels; i++) {
    w[2 * i] = (wrap){NULL, 0, 1};     /* TypeProto.Sequence.elem_type */
    w[2 * i + 1] = (wrap){NULL, 0, 4}; /* TypeProto.sequence_type */
  }
  w[nw - 3] = (wrap){name_x, sizeof(name_x), 2};         /* ValueInfoProto.type */
  w[nw - 2] = (wrap){NULL, 0, 11};                       /* GraphProto.input */
  w[nw - 1] = (wrap){model_pre, sizeof(model_pre), 7};   /* ModelProto.graph */
  uint8_t *buf = nest(tensor_type, sizeof(tensor_type), w, nw, len);
  free(w);
  return buf;
}

/* If nodes whose then_branch is a graph holding an If node ..., levels deep:
 * the model nests 2 + 3 * levels messages. */
static uint8_t *nested_if_model(size_t levels, size_t *len)
{
  static const uint8_t node_pre[] = {0x22, 2, 'I', 'f'}; /* NodeProto.op_type */
  static const uint8_t attr_pre[] = {0x0a, 11, 't', 'h', 'e', 'n', '_', 'b', 'r', 'a', 'n', 'c', 'h',
                                     0xa0, 0x01, 5}; /* AttributeProto.name, type: GRAPH */
  size_t nw = 3 * levels + 1;
  wrap *w = malloc(nw * sizeof(*w));
  if (!w) return NULL;
  for (size_t i = 0; i < levels; i++) {
    w[3 * i] = (wrap){attr_pre, sizeof(attr_pre), 6}; /* AttributeProto.g */
    w[3 * i + 1] = (wrap){node_pre, sizeof(node_pre), 5}; /* NodeProto.attribute */
    w[3 * i + 2] = (wrap){NULL, 0, 1};                    /* GraphProto.node */
  }
  w[nw - 1] = (wrap){model_pre, sizeof(model_pre), 7};
  uint8_t *buf = nest(NULL, 0, w, nw, len);
  free(w);
  return buf;
}

static onyx_status load_bytes(const uint8_t *buf, size_t len)
{
  onyx_model *m = NULL;
  onyx_clear_error();
  onyx_status st = onyx_model_load_memory(buf, len, NULL, &m);
  onyx_model_free(m);
  return st;
}

static void test_nesting(void)
{
  size_t len;
  uint8_t *buf;
  /* 5 + 2 * 47 = 99 and 2 + 3 * 32 = 98 levels: decoded, then refused for what they hold */
  if ((buf = nested_sequence_model(47, &len)))
    CHECK_ERR(load_bytes(buf, len), ONYX_ERR_UNSUPPORTED, "'x'", "not a tensor");
  free(buf);
  if ((buf = nested_if_model(32, &len))) CHECK_ERR(load_bytes(buf, len), ONYX_ERR_UNSUPPORTED, "'If'");
  free(buf);
  /* 101 levels and far beyond: refused before protobuf-c recurses */
  const size_t deep[] = {48, 1000, 100000};
  for (size_t k = 0; k < sizeof(deep) / sizeof(deep[0]); k++) {
    if (!(buf = nested_sequence_model(deep[k], &len))) continue;
    CHECK_ERR(load_bytes(buf, len), ONYX_ERR_INVALID_MODEL, "more than 100 deep", "onnx.TypeProto");
    free(buf);
    if (!(buf = nested_if_model(deep[k], &len))) continue;
    CHECK_ERR(load_bytes(buf, len), ONYX_ERR_INVALID_MODEL, "more than 100 deep", "onnx.GraphProto");
    free(buf);
  }
  /* the same check guards a lone TensorProto: no nesting there, so it loads */
  static const uint8_t tensor[] = {0x08, 2, 0x10, 1, 0x42, 1, 't', 0x4a, 0}; /* dims 2, FLOAT, name, 0 raw bytes */
  ir_tensor t;
  CHECK_ERR(onnx_load_tensor(tensor, sizeof(tensor), &t), ONYX_ERR_INVALID_MODEL, "raw_data has 0 bytes");
  printf("nesting cases checked\n");
}

/* ---- counts -------------------------------------------------------------------- */

/* x -> Relu -> ... -> y, n nodes (and n attributes, n initializers when asked). */
static mb *chain(int n, bool attrs, bool inits)
{
  mb *b = mb_new(13);
  mb_input(b, "x", ONYX_DTYPE_FLOAT, "1,3");
  char in[32] = "x", out[32], name[32];
  for (int i = 0; i < n; i++) {
    snprintf(out, sizeof(out), i + 1 == n ? "y" : "t%d", i);
    snprintf(name, sizeof(name), "n%d", i);
    Onnx__NodeProto *node = mb_node(b, "Relu", name, in, out);
    if (attrs) mb_attr_int(b, node, "unused", i);
    if (inits) mb_init(b, name, ONYX_DTYPE_FLOAT, "1", NULL);
    snprintf(in, sizeof(in), "%s", out);
  }
  mb_output(b, "y", ONYX_DTYPE_FLOAT, "1,3");
  return b;
}

static onyx_status load_chain(int n, bool attrs, bool inits)
{
  mb *b = chain(n, attrs, inits);
  onyx_model *m = NULL;
  onyx_clear_error();
  onyx_status st = mb_load(b, &m);
  onyx_model_free(m);
  mb_free(b);
  return st;
}

static void test_counts(void)
{
  setenv("ONYX_MAX_NODES", "1000", 1);
  CHECK_OK(load_chain(1000, false, false));
  CHECK_ERR(load_chain(1001, false, false), ONYX_ERR_UNSUPPORTED, "more than 1000 nodes", "ONYX_MAX_NODES");
  CHECK_OK(load_chain(500, true, true));
  CHECK_ERR(load_chain(1001, true, false), ONYX_ERR_UNSUPPORTED, "more than 1000 nodes");
  /* 600 nodes with an attribute each and 600 initializers, then 401 more attributes on the last node */
  mb *b = chain(600, true, true);
  Onnx__GraphProto *g = mb_graph(b);
  for (int i = 0; i < 401; i++) mb_attr_int(b, g->node[g->n_node - 1], "extra", i);
  onyx_model *m = NULL;
  CHECK_ERR(mb_load(b, &m), ONYX_ERR_UNSUPPORTED, "more than 1000 attributes");
  mb_free(b);
  b = chain(10, false, true);
  for (int i = 0; i < 991; i++) mb_init(b, "more", ONYX_DTYPE_FLOAT, "1", NULL);
  CHECK_ERR(mb_load(b, &m), ONYX_ERR_UNSUPPORTED, "more than 1000 tensors");
  mb_free(b);
  /* messages of other kinds: 16 * 1000 metadata entries */
  b = chain(3, false, false);
  Onnx__ModelProto *mp = mb_proto(b);
  mp->n_metadata_props = 16001;
  mp->metadata_props = mb_alloc(b, mp->n_metadata_props * sizeof(*mp->metadata_props));
  for (size_t i = 0; i < mp->n_metadata_props; i++) {
    Onnx__StringStringEntryProto *e = mb_alloc(b, sizeof(*e));
    onnx__string_string_entry_proto__init(e);
    mp->metadata_props[i] = e;
  }
  CHECK_ERR(mb_load(b, &m), ONYX_ERR_UNSUPPORTED, "more than 16000 protobuf messages", "ONYX_MAX_NODES");
  mb_free(b);
  CHECK(m == NULL);
  unsetenv("ONYX_MAX_NODES");

  /* the default limit, 10 million: a graph of 10,000,001 empty nodes (20 MB) is refused
   * before protobuf-c allocates a struct for each */
  const size_t nodes = 10000001;
  static const uint8_t empty_node[] = {0x0a, 0};
  size_t head = sizeof(model_pre) + 1 + varint_len(2 * nodes), len = head + 2 * nodes;
  uint8_t *buf = malloc(len);
  CHECK(buf != NULL);
  if (buf) {
    uint8_t *p = buf;
    memcpy(p, model_pre, sizeof(model_pre));
    p += sizeof(model_pre);
    *p++ = 0x3a; /* ModelProto.graph */
    p = put_varint(p, 2 * nodes);
    for (size_t i = 0; i < nodes; i++, p += 2) memcpy(p, empty_node, 2);
    CHECK_ERR(load_bytes(buf, len), ONYX_ERR_UNSUPPORTED, "more than 10000000 nodes");
    free(buf);
  }
  printf("count limits checked\n");
}

int main(int argc, char **argv)
{
  (void)argc;
  test_op_cases();
  test_nesting();
  test_counts();
  return check_summary(argv[0]);
}
