#include "layout_graphs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT

static uint64_t lg_seed = 12345;

/* An initializer of seeded random values in [lo, hi). */
static void rnd(mb *b, const char *name, const char *shape, float lo, float hi)
{
  int64_t n = 1;
  for (const char *p = shape; *p;) {
    n *= strtoll(p, (char **)&p, 10);
    if (*p == ',') p++;
  }
  float *v = malloc((size_t)(n ? n : 1) * sizeof(float));
  for (int64_t i = 0; i < n; i++) {
    lg_seed = lg_seed * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = lo + (hi - lo) * (float)((double)(lg_seed >> 11) / 9007199254740992.0);
  }
  mb_init(b, name, F, shape, v);
  free(v);
}

static void ints(mb *b, Onnx__NodeProto *n, const char *name, int count, int64_t a0, int64_t a1, int64_t a2,
                 int64_t a3)
{
  const int64_t v[4] = {a0, a1, a2, a3};
  mb_attr_ints(b, n, name, (size_t)count, v);
}

/* Conv with weights "<name>_w" [m, c/group, k, k] and bias "<name>_b" (scaled for stable magnitudes). */
static Onnx__NodeProto *conv(mb *b, const char *name, const char *in, const char *out, int c, int m, int k,
                             int group, int pad, int stride)
{
  char w[64], bias[64], shape[64], inputs[160];
  snprintf(w, sizeof(w), "%s_w", name);
  snprintf(bias, sizeof(bias), "%s_b", name);
  snprintf(shape, sizeof(shape), "%d,%d,%d,%d", m, c / group, k, k);
  float scale = 1.5f / (float)(c / group * k * k);
  rnd(b, w, shape, -scale * 1.7f, scale * 1.7f);
  snprintf(shape, sizeof(shape), "%d", m);
  rnd(b, bias, shape, -0.2f, 0.2f);
  snprintf(inputs, sizeof(inputs), "%s,%s,%s", in, w, bias);
  Onnx__NodeProto *n = mb_node(b, "Conv", name, inputs, out);
  if (group > 1) mb_attr_int(b, n, "group", group);
  if (pad) ints(b, n, "pads", 4, pad, pad, pad, pad);
  if (stride > 1) ints(b, n, "strides", 2, stride, stride, 0, 0);
  return n;
}

static mb *model(const char *x_shape, const char *y_shape)
{
  mb *b = mb_new(13);
  mb_input(b, "x", F, x_shape);
  mb_output(b, "y", F, y_shape);
  return b;
}

/* Conv + Relu, MaxPool, Conv + residual Add + Relu, global pool, Flatten: ResNet in small. */
static mb *g_resnet_block(void)
{
  mb *b = model("2,8,16,16", "2,16");
  conv(b, "c1", "x", "c1", 8, 16, 3, 1, 1, 1);
  mb_node(b, "Relu", "r1", "c1", "r1");
  Onnx__NodeProto *p = mb_node(b, "MaxPool", "pool", "r1", "p");
  ints(b, p, "kernel_shape", 2, 2, 2, 0, 0);
  ints(b, p, "strides", 2, 2, 2, 0, 0);
  conv(b, "c2", "p", "c2", 16, 16, 3, 1, 1, 1);
  mb_node(b, "Add", "add", "c2,p", "a");
  mb_node(b, "Relu", "r2", "a", "r2");
  mb_node(b, "GlobalAveragePool", "gap", "r2", "g");
  mb_node(b, "Flatten", "flat", "g", "y");
  return b;
}

/* A row-major-only op (Softmax over channels) between two convs, small maps: cheaper row-major
 * throughout than two reformats. */
static mb *sandwich(const char *xs, const char *ys)
{
  mb *b = model(xs, ys);
  conv(b, "c1", "x", "c1", 8, 16, 3, 1, 1, 1);
  Onnx__NodeProto *s = mb_node(b, "Softmax", "softmax", "c1", "s");
  mb_attr_int(b, s, "axis", 1);
  conv(b, "c2", "s", "y", 16, 8, 3, 1, 1, 1);
  return b;
}
static mb *g_softmax_small(void) { return sandwich("1,8,8,8", "1,8,8,8"); }
/* Large maps: both convs run channels-last, reformats on either side of the Softmax. */
static mb *g_softmax_large(void) { return sandwich("1,8,128,128", "1,8,128,128"); }

/* Split, Concat along channels, nearest Resize, Sigmoid * x (SiLU): a YOLO neck in small. */
static mb *g_yolo_like(void)
{
  mb *b = model("1,8,12,12", "1,8,24,24");
  conv(b, "c1", "x", "c1", 8, 16, 1, 1, 0, 1);
  int64_t split[2] = {8, 8};
  mb_init(b, "split", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, "2", split);
  Onnx__NodeProto *sp = mb_node(b, "Split", "split", "c1,split", "sa,sb");
  mb_attr_int(b, sp, "axis", 1);
  conv(b, "c2", "sb", "c2", 8, 8, 3, 1, 1, 1);
  mb_node(b, "Sigmoid", "sig2", "c2", "sg2");
  mb_node(b, "Mul", "silu2", "c2,sg2", "m2");
  Onnx__NodeProto *cat = mb_node(b, "Concat", "cat", "sa,sb,m2", "cat");
  mb_attr_int(b, cat, "axis", 1);
  float scales[4] = {1, 1, 2, 2};
  mb_init(b, "scales", F, "4", scales);
  Onnx__NodeProto *rs = mb_node(b, "Resize", "up", "cat,,scales", "up");
  mb_attr_string(b, rs, "mode", "nearest");
  conv(b, "c3", "up", "y", 24, 8, 3, 1, 1, 1);
  return b;
}

/* Depthwise stride-2 SAME_UPPER conv (asymmetric pads: the pre-pad path), AveragePool,
 * BatchNormalization, Clip, and a 1x1 conv with asymmetric explicit pads. */
static mb *g_depthwise_asym(void)
{
  mb *b = model("2,8,15,15", "2,16,9,9");
  Onnx__NodeProto *dw = conv(b, "dw", "x", "dw", 8, 8, 3, 8, 0, 2);
  mb_attr_string(b, dw, "auto_pad", "SAME_UPPER");
  Onnx__NodeProto *ap = mb_node(b, "AveragePool", "avg", "dw", "ap");
  ints(b, ap, "kernel_shape", 2, 3, 3, 0, 0);
  ints(b, ap, "pads", 4, 1, 1, 1, 1);
  rnd(b, "bn_s", "8", 0.5f, 1.5f);
  rnd(b, "bn_b", "8", -0.5f, 0.5f);
  rnd(b, "bn_m", "8", -0.2f, 0.2f);
  rnd(b, "bn_v", "8", 0.5f, 1.5f);
  mb_node(b, "BatchNormalization", "bn", "ap,bn_s,bn_b,bn_m,bn_v", "bn");
  float lo = 0.f, hi = 0.8f;
  mb_init(b, "clip_lo", F, "", &lo);
  mb_init(b, "clip_hi", F, "", &hi);
  mb_node(b, "Clip", "clip", "bn,clip_lo,clip_hi", "cl");
  Onnx__NodeProto *pw = conv(b, "pw", "cl", "y", 8, 16, 1, 1, 0, 1);
  ints(b, pw, "pads", 4, 0, 0, 1, 1);
  return b;
}

/* A conv's 4-D output is the graph output: the final Cast reads it channels-last. */
static mb *g_conv_output(void)
{
  mb *b = model("1,4,10,10", "1,16,10,10");
  conv(b, "c1", "x", "y", 4, 16, 3, 1, 1, 1);
  return b;
}

/* One weight read by a conv and by a Where: the conv gets a KRSC twin, the Where the original. */
static mb *g_shared_weight(void)
{
  mb *b = model("1,8,16,16", "1,16,16,16");
  mb_input(b, "sel", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, "16,8,3,3");
  mb_output(b, "y2", F, "16,8,3,3");
  conv(b, "c1", "x", "y", 8, 16, 3, 1, 1, 1);
  rnd(b, "alt", "16,8,3,3", -1.f, 1.f);
  mb_node(b, "Where", "where", "sel,c1_w,alt", "y2");
  return b;
}

/* Per-channel constants broadcast against the maps (Mul by [1,C,1,1], Sub of [C,1,1]), a
 * FusedPointwise-able chain, then a conv. */
static mb *g_per_channel(void)
{
  mb *b = model("1,8,16,16", "1,8,16,16");
  conv(b, "c1", "x", "c1", 8, 16, 3, 1, 1, 1);
  rnd(b, "scale", "1,16,1,1", 0.5f, 1.5f);
  rnd(b, "shift", "16,1,1", -0.5f, 0.5f);
  mb_node(b, "Mul", "mul", "c1,scale", "m");
  mb_node(b, "Sub", "sub", "m,shift", "s");
  mb_node(b, "Tanh", "tanh", "s", "t");
  conv(b, "c2", "t", "y", 16, 8, 3, 1, 1, 1);
  return b;
}

/* Detection-head style: conv maps reshaped and transposed to rows (read channels-last). */
static mb *g_reshape_head(void)
{
  mb *b = model("1,8,12,12", "1,144,24");
  conv(b, "c1", "x", "c1", 8, 16, 3, 1, 1, 1);
  conv(b, "c2", "x", "c2", 8, 8, 1, 1, 0, 1);
  Onnx__NodeProto *cat = mb_node(b, "Concat", "cat", "c1,c2", "cat");
  mb_attr_int(b, cat, "axis", 1);
  int64_t shape[3] = {1, 24, 144};
  mb_init(b, "shape", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, "3", shape);
  mb_node(b, "Reshape", "reshape", "cat,shape", "rs");
  Onnx__NodeProto *tr = mb_node(b, "Transpose", "transpose", "rs", "y");
  ints(b, tr, "perm", 3, 0, 2, 1, 0);
  return b;
}

/* Pad (reflect, asymmetric) between convs, and a Transpose of a 4-D map back into a conv. */
static mb *g_pad_transpose(void)
{
  mb *b = model("1,8,10,12", "1,8,15,13");
  conv(b, "c1", "x", "c1", 8, 16, 3, 1, 1, 1);
  int64_t pads[8] = {0, 0, 1, 2, 0, 0, 2, 1};
  mb_init(b, "pads", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, "8", pads);
  Onnx__NodeProto *pd = mb_node(b, "Pad", "pad", "c1,pads", "pd");
  mb_attr_string(b, pd, "mode", "reflect");
  Onnx__NodeProto *tr = mb_node(b, "Transpose", "transpose", "pd", "tr");
  ints(b, tr, "perm", 4, 0, 1, 3, 2);
  conv(b, "c2", "tr", "y", 16, 8, 3, 1, 1, 1);
  return b;
}

/* Squeeze-and-excitation: global pool, 1x1 convs on [N, C, 1, 1] (both layouts alike), the
 * gate broadcast back over the map. */
static mb *g_se_block(void)
{
  mb *b = model("2,16,8,8", "2,16,8,8");
  conv(b, "c1", "x", "c1", 16, 16, 3, 1, 1, 1);
  mb_node(b, "GlobalAveragePool", "gap", "c1", "g");
  conv(b, "fc1", "g", "f1", 16, 4, 1, 1, 0, 1);
  mb_node(b, "Relu", "fr", "f1", "fr");
  conv(b, "fc2", "fr", "f2", 4, 16, 1, 1, 0, 1);
  mb_node(b, "Sigmoid", "gate", "f2", "gt");
  mb_node(b, "Mul", "scale", "c1,gt", "sc");
  conv(b, "c2", "sc", "y", 16, 16, 3, 1, 1, 1);
  return b;
}

/* ResNet's downsampling block: 3x3/2 + ReLU, 3x3, a 1x1/2 shortcut, Add + ReLU; then a 1x1 without
 * a bias whose residual Add + ReLU fuse into it.  Both 1x1 convs can run as cuBLASLt GEMMs (the
 * strided one after a gather). */
static mb *g_downsample(void)
{
  mb *b = model("2,16,14,14", "2,32,7,7");
  conv(b, "c1", "x", "c1", 16, 32, 3, 1, 1, 2);
  mb_node(b, "Relu", "r1", "c1", "r1");
  conv(b, "c2", "r1", "c2", 32, 32, 3, 1, 1, 1);
  conv(b, "ds", "x", "ds", 16, 32, 1, 1, 0, 2);
  mb_node(b, "Add", "add", "c2,ds", "a");
  mb_node(b, "Relu", "r2", "a", "r2");
  rnd(b, "pw_w", "32,32,1,1", -0.08f, 0.08f);
  mb_node(b, "Conv", "pw", "r2,pw_w", "pw");
  mb_node(b, "Add", "add2", "pw,r2", "a2");
  mb_node(b, "Relu", "r3", "a2", "y");
  return b;
}

/* Two branches after a Split: 3x3 on the first 32 channels, 1x1 8 -> 32 on the other 8, each pooled,
 * multiplied.  The two convs run as a pair; s1 (the 3x3's input, read by nothing else) and c (the 1x1's
 * output) are the largest tensors live after the Split, so a serial plan puts c on s1's bytes, which a
 * pair must not (tests/engine/layout_tests.c). */
static mb *g_branches(void)
{
  mb *b = model("1,40,16,16", "1,32,1,1");
  int64_t split[2] = {32, 8};
  mb_init(b, "split", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, "2", split);
  Onnx__NodeProto *sp = mb_node(b, "Split", "split", "x,split", "s1,s2");
  mb_attr_int(b, sp, "axis", 1);
  conv(b, "c1", "s1", "b", 32, 32, 3, 1, 1, 1);
  conv(b, "c2", "s2", "c", 8, 32, 1, 1, 0, 1);
  mb_node(b, "GlobalAveragePool", "gap_b", "b", "gb");
  mb_node(b, "GlobalAveragePool", "gap_c", "c", "gc");
  mb_node(b, "Mul", "mul", "gb,gc", "y");
  return b;
}

/* ResNet's stem, Conv 7x7/2/3 + Relu + MaxPool 3x3/2/1, on an odd-sized image, then a residual 3x3 conv:
 * FP16 engines run the stem as one FusedConvPool layer reading the FLOAT input (the input Cast folded). */
static Onnx__NodeProto *stem_pool(mb *b, const char *in, const char *out)
{
  Onnx__NodeProto *p = mb_node(b, "MaxPool", "pool", in, out);
  ints(b, p, "kernel_shape", 2, 3, 3, 0, 0);
  ints(b, p, "strides", 2, 2, 2, 0, 0);
  ints(b, p, "pads", 4, 1, 1, 1, 1);
  return p;
}
static mb *g_stem(void)
{
  mb *b = model("2,3,61,75", "2,64,16,19");
  conv(b, "c1", "x", "c1", 3, 64, 7, 1, 3, 2);
  mb_node(b, "Relu", "r1", "c1", "r1");
  stem_pool(b, "r1", "p");
  conv(b, "c2", "p", "c2", 64, 64, 3, 1, 1, 1);
  mb_node(b, "Add", "add", "c2,p", "a");
  mb_node(b, "Relu", "r2", "a", "y");
  return b;
}
/* The stem without Relu (the pool's -inf padding matters), 4 channels in, 128 out; the input is also
 * read by a global pool, so its Cast stays and the fused layer reads FP16. */
static mb *g_stem_shared_input(void)
{
  mb *b = model("1,4,40,36", "1,128,10,9");
  mb_output(b, "y2", F, "1,4,1,1");
  conv(b, "c1", "x", "c1", 4, 128, 7, 1, 3, 2);
  stem_pool(b, "c1", "y");
  mb_node(b, "GlobalMaxPool", "gmp", "x", "y2");
  return b;
}

/* A ResNet layer3-like block with many channels on a small map, batch 2: 3x3/2 64 -> 128 + ReLU, 3x3 128 ->
 * 128 with a 1x1/2 shortcut (Add + ReLU), then a 3x3 with dilation 2 and pads 2, 1, 2, 3 (top, left,
 * bottom, right) back to 64 channels: every conv one the split-K kernel covers. */
static mb *g_deep_block(void)
{
  mb *b = model("2,64,9,9", "2,64,5,5");
  conv(b, "c1", "x", "c1", 64, 128, 3, 1, 1, 2);
  mb_node(b, "Relu", "r1", "c1", "r1");
  conv(b, "c2", "r1", "c2", 128, 128, 3, 1, 1, 1);
  conv(b, "ds", "x", "ds", 64, 128, 1, 1, 0, 2);
  mb_node(b, "Add", "add", "c2,ds", "a");
  mb_node(b, "Relu", "r2", "a", "r2");
  Onnx__NodeProto *c3 = conv(b, "c3", "r2", "y", 128, 64, 3, 1, 0, 1);
  ints(b, c3, "dilations", 2, 2, 2, 0, 0);
  ints(b, c3, "pads", 4, 2, 1, 2, 3);
  return b;
}

/* A classifier head: W "<name>_w" ([m, k] with transB, else [k, m]) and, when c_shape, C "<name>_c". */
static Onnx__NodeProto *gemm(mb *b, const char *name, const char *in, const char *out, int k, int m, int trans_b,
                             const char *c_shape)
{
  char w[64], c[64], shape[64], inputs[200];
  snprintf(w, sizeof(w), "%s_w", name);
  snprintf(c, sizeof(c), "%s_c", name);
  snprintf(shape, sizeof(shape), "%d,%d", trans_b ? m : k, trans_b ? k : m);
  float scale = 2.f / (float)k;
  rnd(b, w, shape, -scale, scale);
  if (c_shape) rnd(b, c, c_shape, -0.5f, 0.5f);
  snprintf(inputs, sizeof(inputs), "%s,%s%s%s", in, w, c_shape ? "," : "", c_shape ? c : "");
  Onnx__NodeProto *n = mb_node(b, "Gemm", name, inputs, out);
  if (trans_b) mb_attr_int(b, n, "transB", 1);
  return n;
}

/* Conv + Relu, then GlobalAveragePool, Flatten and Gemm (transB, bias [100]): ResNet's head. */
static mb *g_head(void)
{
  mb *b = model("2,8,9,9", "2,100");
  conv(b, "c1", "x", "c1", 8, 64, 3, 1, 1, 1);
  mb_node(b, "Relu", "r1", "c1", "r1");
  mb_node(b, "GlobalAveragePool", "gap", "r1", "g");
  mb_node(b, "Flatten", "flat", "g", "f");
  gemm(b, "fc", "f", "y", 64, 100, 1, "100");
  return b;
}

/* A head with 36 channels (not a multiple of 8), a Reshape to [3, 36], W as [k, m] (transB 0), C [1, 37],
 * alpha and beta. */
static mb *g_head_reshape(void)
{
  mb *b = model("3,8,5,7", "3,37");
  conv(b, "c1", "x", "c1", 8, 36, 1, 1, 0, 1);
  mb_node(b, "Relu", "r1", "c1", "r1");
  mb_node(b, "GlobalAveragePool", "gap", "r1", "g");
  int64_t shape[2] = {3, 36};
  mb_init(b, "shape", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, "2", shape);
  mb_node(b, "Reshape", "reshape", "g,shape", "f");
  Onnx__NodeProto *n = gemm(b, "fc", "f", "y", 36, 37, 0, "1,37");
  mb_attr_float(b, n, "alpha", 0.5f);
  mb_attr_float(b, n, "beta", 0.25f);
  return b;
}

/* The head at batch 9: beyond the fused kernel's batches, three layers. */
static mb *g_head_batch9(void)
{
  mb *b = model("9,16,4,4", "9,10");
  conv(b, "c1", "x", "c1", 16, 32, 3, 1, 1, 1);
  mb_node(b, "GlobalAveragePool", "gap", "c1", "g");
  mb_node(b, "Flatten", "flat", "g", "f");
  gemm(b, "fc", "f", "y", 32, 10, 1, "10");
  return b;
}

const layout_graph layout_graphs[] = {
    {"resnet_block", "conv+relu, maxpool, residual add, global pool, flatten", g_resnet_block, 0, 2, 0, 0, 0, 0},
    {"softmax_small", "Softmax between convs on small maps (stays row-major)", g_softmax_small, 0, 0, 0, 0, 0, 0},
    {"softmax_large", "Softmax between convs on large maps (a reformat each side)", g_softmax_large, 2, 2, 0,
     0, 0, 0},
    {"yolo_like", "split, concat, resize, SiLU", g_yolo_like, 0, 3, -1, 0, 0, 0},
    {"depthwise_asym", "depthwise SAME_UPPER s2, avgpool, batchnorm, clip, asym 1x1", g_depthwise_asym, 0, 2,
     0, 0, 0, 0},
    {"conv_output", "a 4-D conv output is the graph output", g_conv_output, 0, 1, 0, 0, 0, 0},
    {"shared_weight", "a filter also read by another node (KRSC twin)", g_shared_weight, 0, 1, 0, 2, 0, 0},
    {"per_channel", "per-channel constants broadcast against NHWC maps", g_per_channel, 0, 2, 0, 0, 0, 0},
    {"reshape_head", "concat, reshape and transpose read channels-last", g_reshape_head, 0, 2, -1, 1, 0, 0},
    {"pad_transpose", "reflect pad and a 4-D transpose between convs", g_pad_transpose, 0, 2, 0, 0, 0, 0},
    {"se_block", "squeeze-and-excitation on [N, C, 1, 1] maps", g_se_block, 0, 2, -1, 0, 0, 0},
    {"downsample", "1x1/2 shortcut, Add + ReLU, a bias-less 1x1 with residual", g_downsample, 0, 4, 2, 1, 2, 0},
    {"branches", "split, a 3x3 beside a 1x1 (a pair), pools beside each other", g_branches, 0, 2, -1, 2, 1, 0},
    {"stem", "conv 7x7/2 + relu + maxpool 3x3/2 (one fused layer), residual 3x3", g_stem, 0, 2, 0, -1, 1, 0},
    {"stem_shared_input", "the stem without relu, 4 -> 128 channels, its input read twice", g_stem_shared_input,
     0, 1, 0, -1, 0, 0},
    {"deep_block", "batch 2, 3x3/2 64 -> 128, 3x3 + 1x1/2 shortcut, dilated 3x3 with asymmetric pads",
     g_deep_block, 0, 4, 1, 1, 4, 0},
    {"head", "conv + relu, global pool, flatten, gemm (one fused head layer)", g_head, 0, 1, 0, 0, 0, 1},
    {"head_reshape", "36 channels, reshape, gemm with W as k x m, C [1, m], alpha, beta", g_head_reshape, 0, 1,
     -1, 0, 0, 1},
    {"head_batch9", "the head at batch 9 (not fused)", g_head_batch9, 0, 1, 0, 0, 0, 0},
};
const int n_layout_graphs = (int)(sizeof(layout_graphs) / sizeof(layout_graphs[0]));
