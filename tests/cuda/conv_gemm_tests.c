/* GPU test of the cuDNN / cuBLASLt layers (Conv, ConvTranspose, Gemm, MatMul)
 * against the CPU backend.
 *
 * Each case is a one-node ONNX model built here with protobuf-c (weights as
 * initializers, or as graph inputs where the case says so), run on seeded
 * random data (uniform in [-1, 1]) on the CPU session and then on the GPU in
 * four configurations:
 *   session   the public API with backend CUDA (tactics timed, FP32 math)
 *   heur      cuda_exec with library heuristics instead of timing, FP32 math
 *   tf32      cuda_exec, timed, TF32 allowed                (1e-2 relative)
 *   fp16      the same model in FLOAT16 storage, timed      (vs the CPU run on
 *             the half-rounded inputs; 1e-2 abs + 1e-2 rel)
 * FP32 results must satisfy |gpu - cpu| <= 1e-4 + 1e-4 |cpu|; TF32 ones
 * |gpu - cpu| <= 1e-2 max(1, max |cpu|).  The conv epilogue kernel's
 * activations (used by FusedConv) are checked directly against host formulas.
 *
 * Concat without copies (src/backend/cuda/plan.c, alias_concats): small FP32
 * engines of three producers -> Concat -> Conv (built with model_builder) at
 * batch 1 along the channels, where every input must be placed inside the
 * output (the Concat layer's kernel, from onyx_context_layer, reads
 * "onyx:concat(3 of 3 in place)"), and where some or all must not: an input
 * that is also a graph output, a concat along H, batch 2.  The outputs match
 * the CPU within the FP32 tolerance either way.
 *
 * Views without copies (plan.c, alias_views): Conv -> GlobalAveragePool ->
 * Flatten -> Gemm, where the Flatten layer must run nothing
 * ("onyx:view(in place)"), and where its input is also a graph output or read
 * by a second node, so that it copies ("cudaMemcpyAsync").
 *
 * Usage: onyx_conv_gemm_tests [-v] [--filter SUBSTRING] [--cpu-only]
 * --cpu-only builds every model and runs only the CPU references (checks the
 * cases themselves on a machine without a GPU).
 * Exit 0 all passed, 1 failures, 77 no CUDA device (ctest: skipped). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_builder.h"
#include "onnx.pb-c.h"
#include "onyx.h"

#include "backend/cpu/cpu.h"
#include "backend/cuda/exec.h"
#include "backend/cuda/kernels/epilogue.h"
#include "common/util.h"
#include "graph/prepare.h"
#include "runtime/model.h"

#define MAX_IN 3
#define MAX_ATTRS 8

typedef struct attr_spec {
  const char *name;
  char kind; /* 'i' int, 'f' float, 'I' ints, 's' string */
  int64_t i;
  float f;
  int n;
  int64_t ints[9]; /* ended by INTS_END */
  const char *s;
} attr_spec;

typedef struct in_spec {
  const char *name;
  int ndim;
  int64_t dims[6];
  bool input; /* a graph input (non-constant), else an initializer */
} in_spec;

typedef struct case_spec {
  const char *label;
  const char *op;
  int n_in;
  in_spec in[MAX_IN];
  attr_spec attrs[MAX_ATTRS];
} case_spec;

#define X(...)                                                                                               \
  {                                                                                                          \
    "X", -1, {__VA_ARGS__}, true                                                                             \
  }
#define W(...)                                                                                               \
  {                                                                                                          \
    "W", -1, {__VA_ARGS__}, false                                                                            \
  }
#define WIN(...)                                                                                             \
  {                                                                                                          \
    "W", -1, {__VA_ARGS__}, true                                                                             \
  }
#define B(...)                                                                                               \
  {                                                                                                          \
    "B", -1, {__VA_ARGS__}, false                                                                            \
  }
#define INTS_END (-999)
#define IA(nm, ...)                                                                                          \
  {                                                                                                          \
    nm, 'I', 0, 0, 0, {__VA_ARGS__, INTS_END}, NULL                                                          \
  }
#define II(nm, v)                                                                                            \
  {                                                                                                          \
    nm, 'i', v, 0, 0, {0}, NULL                                                                              \
  }
#define IF(nm, v)                                                                                            \
  {                                                                                                          \
    nm, 'f', 0, v, 0, {0}, NULL                                                                              \
  }
#define IS(nm, v)                                                                                            \
  {                                                                                                          \
    nm, 's', 0, 0, 0, {0}, v                                                                                 \
  }

/* Dims lists end at the first 0 (no case uses a 0 extent); ndim -1 = count them. */
static const case_spec cases[] = {
    /* ---- Conv ---- */
    {"conv_3x3_pad1_bias_batch2",
     "Conv",
     3,
     {X(2, 8, 10, 10), W(16, 8, 3, 3), B(16)},
     {IA("pads", 1, 1, 1, 1)}},
    {"conv_stride2_nopad", "Conv", 2, {X(1, 4, 9, 9), W(8, 4, 3, 3)}, {IA("strides", 2, 2)}},
    {"conv_group2",
     "Conv",
     3,
     {X(2, 8, 7, 7), W(12, 4, 3, 3), B(12)},
     {II("group", 2), IA("pads", 1, 1, 1, 1)}},
    {"conv_depthwise",
     "Conv",
     3,
     {X(1, 16, 12, 12), W(16, 1, 3, 3), B(16)},
     {II("group", 16), IA("pads", 1, 1, 1, 1)}},
    {"conv_depthwise_stride2",
     "Conv",
     2,
     {X(2, 8, 13, 13), W(8, 1, 3, 3)},
     {II("group", 8), IA("pads", 1, 1, 1, 1), IA("strides", 2, 2)}},
    {"conv_depthwise_mult2",
     "Conv",
     2,
     {X(1, 4, 8, 8), W(8, 1, 5, 5)},
     {II("group", 4), IA("pads", 2, 2, 2, 2)}},
    {"conv_dilation2",
     "Conv",
     2,
     {X(1, 3, 11, 11), W(5, 3, 3, 3)},
     {IA("dilations", 2, 2), IA("pads", 2, 2, 2, 2)}},
    {"conv_1x1_bias", "Conv", 3, {X(2, 32, 5, 5), W(64, 32, 1, 1), B(64)}, {{0}}},
    {"conv_1x1_stride2", "Conv", 2, {X(1, 16, 8, 8), W(8, 16, 1, 1)}, {IA("strides", 2, 2)}},
    {"conv_asym_pads", "Conv", 3, {X(1, 3, 8, 8), W(4, 3, 3, 3), B(4)}, {IA("pads", 0, 1, 1, 2)}},
    {"conv_same_upper_s2",
     "Conv",
     2,
     {X(1, 3, 8, 8), W(6, 3, 3, 3)},
     {IS("auto_pad", "SAME_UPPER"), IA("strides", 2, 2)}},
    {"conv_same_lower_s2",
     "Conv",
     2,
     {X(1, 3, 8, 8), W(6, 3, 3, 3)},
     {IS("auto_pad", "SAME_LOWER"), IA("strides", 2, 2)}},
    {"conv_same_upper_k4", "Conv", 2, {X(1, 2, 7, 9), W(3, 2, 4, 4)}, {IS("auto_pad", "SAME_UPPER")}},
    {"conv_valid",
     "Conv",
     2,
     {X(1, 3, 7, 7), W(2, 3, 3, 3)},
     {IS("auto_pad", "VALID"), IA("pads", 1, 1, 1, 1)}},
    {"conv_1d", "Conv", 3, {X(2, 4, 20), W(6, 4, 5), B(6)}, {IA("pads", 2, 1), IA("strides", 2)}},
    {"conv_1d_dilated", "Conv", 2, {X(1, 3, 17), W(4, 3, 3)}, {IA("dilations", 3)}},
    {"conv_3d", "Conv", 3, {X(1, 2, 6, 6, 6), W(4, 2, 3, 3, 3), B(4)}, {IA("pads", 1, 1, 1, 1, 1, 1)}},
    {"conv_3d_stride_asym",
     "Conv",
     2,
     {X(2, 2, 5, 6, 7), W(3, 2, 2, 3, 3)},
     {IA("strides", 1, 2, 2), IA("pads", 0, 1, 0, 1, 0, 1)}},
    {"conv_rect_1x7",
     "Conv",
     2,
     {X(1, 4, 9, 15), W(8, 4, 1, 7)},
     {IA("pads", 0, 3, 0, 3), IA("strides", 1, 2)}},
    {"conv_weight_input", "Conv", 2, {X(1, 4, 6, 6), WIN(4, 4, 3, 3)}, {IA("pads", 1, 1, 1, 1)}},
    {"conv_group4_s2_asym_batch3",
     "Conv",
     3,
     {X(3, 8, 11, 11), W(8, 2, 3, 3), B(8)},
     {II("group", 4), IA("strides", 2, 2), IA("pads", 1, 0, 0, 1)}},
    {"conv_64ch_28", "Conv", 3, {X(4, 64, 28, 28), W(64, 64, 3, 3), B(64)}, {IA("pads", 1, 1, 1, 1)}},
    {"conv_7x7_s2_stem",
     "Conv",
     3,
     {X(2, 3, 32, 32), W(16, 3, 7, 7), B(16)},
     {IA("pads", 3, 3, 3, 3), IA("strides", 2, 2)}},
    /* ---- ConvTranspose ---- */
    {"convt_basic_bias", "ConvTranspose", 3, {X(1, 4, 5, 5), W(4, 6, 3, 3), B(6)}, {{0}}},
    {"convt_s2_p1_outpad1",
     "ConvTranspose",
     2,
     {X(2, 4, 5, 5), W(4, 3, 3, 3)},
     {IA("strides", 2, 2), IA("pads", 1, 1, 1, 1), IA("output_padding", 1, 1)}},
    {"convt_group2",
     "ConvTranspose",
     3,
     {X(1, 4, 4, 4), W(4, 3, 3, 3), B(6)},
     {II("group", 2), IA("strides", 2, 2)}},
    {"convt_asym_pads",
     "ConvTranspose",
     2,
     {X(1, 3, 5, 5), W(3, 2, 3, 3)},
     {IA("strides", 2, 2), IA("pads", 0, 1, 1, 0)}},
    {"convt_output_shape",
     "ConvTranspose",
     3,
     {X(1, 2, 3, 3), W(2, 3, 3, 3), B(3)},
     {IA("strides", 3, 2), IA("output_shape", 10, 8)}},
    {"convt_same_upper",
     "ConvTranspose",
     2,
     {X(1, 2, 4, 5), W(2, 2, 3, 3)},
     {IS("auto_pad", "SAME_UPPER"), IA("strides", 2, 2)}},
    {"convt_1d", "ConvTranspose", 3, {X(1, 3, 7), W(3, 2, 4), B(2)}, {IA("strides", 2)}},
    {"convt_dilation2", "ConvTranspose", 2, {X(1, 2, 5, 5), W(2, 2, 3, 3)}, {IA("dilations", 2, 2)}},
    {"convt_k4_s2_p1",
     "ConvTranspose",
     3,
     {X(2, 8, 6, 6), W(8, 4, 4, 4), B(4)},
     {IA("strides", 2, 2), IA("pads", 1, 1, 1, 1)}},
    {"convt_3d", "ConvTranspose", 2, {X(1, 2, 3, 3, 3), W(2, 2, 2, 2, 2)}, {IA("strides", 2, 2, 2)}},
    {"convt_outpad_ge_stride",
     "ConvTranspose",
     2,
     {X(1, 2, 4, 4), W(2, 2, 3, 3)},
     {IA("strides", 2, 2), IA("dilations", 3, 3), IA("output_padding", 2, 2)}},
    /* ---- Gemm ---- */
    {"gemm_bias_vec",
     "Gemm",
     3,
     {{"A", -1, {5, 7}, true}, {"B", -1, {7, 3}, false}, {"C", -1, {3}, false}},
     {{0}}},
    {"gemm_transA_fullC_ab",
     "Gemm",
     3,
     {{"A", -1, {7, 5}, true}, {"B", -1, {7, 3}, false}, {"C", -1, {5, 3}, false}},
     {II("transA", 1), IF("alpha", 0.5f), IF("beta", 2.0f)}},
    {"gemm_transB_row_C",
     "Gemm",
     3,
     {{"A", -1, {5, 7}, true}, {"B", -1, {3, 7}, false}, {"C", -1, {1, 3}, false}},
     {II("transB", 1)}},
    {"gemm_transAB_colC",
     "Gemm",
     3,
     {{"A", -1, {7, 5}, true}, {"B", -1, {3, 7}, true}, {"C", -1, {5, 1}, false}},
     {II("transA", 1), II("transB", 1)}},
    {"gemm_scalarC_beta",
     "Gemm",
     3,
     {{"A", -1, {6, 4}, true}, {"B", -1, {4, 9}, false}, {"C", -1, {1}, false}},
     {IF("beta", 0.7f)}},
    {"gemm_vecC_beta_half",
     "Gemm",
     3,
     {{"A", -1, {6, 4}, true}, {"B", -1, {4, 9}, false}, {"C", -1, {9}, true}},
     {IF("beta", 0.5f), IF("alpha", -1.5f)}},
    {"gemm_noC", "Gemm", 2, {{"A", -1, {16, 32}, true}, {"B", -1, {32, 64}, false}}, {{0}}},
    {"gemm_beta0_ignores_C",
     "Gemm",
     3,
     {{"A", -1, {4, 4}, true}, {"B", -1, {4, 4}, false}, {"C", -1, {4, 4}, false}},
     {IF("beta", 0.0f)}},
    {"gemm_linear",
     "Gemm",
     3,
     {{"A", -1, {4, 256}, true}, {"B", -1, {128, 256}, false}, {"C", -1, {128}, false}},
     {II("transB", 1)}},
    {"gemm_large",
     "Gemm",
     3,
     {{"A", -1, {64, 512}, true}, {"B", -1, {512, 256}, false}, {"C", -1, {256}, false}},
     {{0}}},
    {"gemm_m1",
     "Gemm",
     3,
     {{"A", -1, {1, 33}, true}, {"B", -1, {33, 17}, false}, {"C", -1, {1, 17}, false}},
     {IF("beta", 3.0f)}},
    /* ---- MatMul ---- */
    {"matmul_2d", "MatMul", 2, {{"A", -1, {5, 7}, true}, {"B", -1, {7, 3}, false}}, {{0}}},
    {"matmul_batched", "MatMul", 2, {{"A", -1, {3, 5, 7}, true}, {"B", -1, {3, 7, 4}, true}}, {{0}}},
    {"matmul_B_shared_fold", "MatMul", 2, {{"A", -1, {2, 3, 5, 7}, true}, {"B", -1, {7, 4}, false}}, {{0}}},
    {"matmul_A_shared", "MatMul", 2, {{"A", -1, {5, 7}, true}, {"B", -1, {2, 7, 4}, true}}, {{0}}},
    {"matmul_outer_bcast",
     "MatMul",
     2,
     {{"A", -1, {2, 1, 5, 7}, true}, {"B", -1, {1, 3, 7, 4}, true}},
     {{0}}},
    {"matmul_B_fewer_dims", "MatMul", 2, {{"A", -1, {2, 3, 5, 7}, true}, {"B", -1, {3, 7, 4}, true}}, {{0}}},
    {"matmul_A_1d", "MatMul", 2, {{"A", -1, {7}, true}, {"B", -1, {2, 7, 4}, true}}, {{0}}},
    {"matmul_B_1d", "MatMul", 2, {{"A", -1, {2, 5, 7}, true}, {"B", -1, {7}, true}}, {{0}}},
    {"matmul_both_1d", "MatMul", 2, {{"A", -1, {7}, true}, {"B", -1, {7}, true}}, {{0}}},
    {"matmul_loop_and_stride",
     "MatMul",
     2,
     {{"A", -1, {3, 1, 4, 5, 6}, true}, {"B", -1, {2, 1, 6, 3}, true}},
     {{0}}},
    {"matmul_odd_strides", "MatMul", 2, {{"A", -1, {3, 5, 7}, true}, {"B", -1, {3, 7, 3}, true}}, {{0}}},
    {"matmul_large_batched",
     "MatMul",
     2,
     {{"A", -1, {8, 64, 96}, true}, {"B", -1, {8, 96, 80}, true}},
     {{0}}},
};

/* ---- random data ---------------------------------------------------------- */

static uint64_t rng_state;
static float rnd(void)
{
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.f - 1.f;
}

/* ---- model building ------------------------------------------------------- */

typedef struct built {
  int ndim[MAX_IN];
  int64_t numel[MAX_IN];
  float *data[MAX_IN]; /* float values (half-rounded for the fp16 model) */
  void *buf;           /* serialized model */
  size_t size;
} built;

static int spec_ndim(const in_spec *s)
{
  if (s->ndim >= 0) return s->ndim;
  int n = 0;
  while (n < 6 && s->dims[n]) n++;
  return n;
}

static Onnx__TypeProto *tensor_type(int32_t elem, int ndim, const int64_t *dims, bool with_shape)
{
  Onnx__TypeProto *tp = calloc(1, sizeof(*tp));
  Onnx__TypeProto__Tensor *tt = calloc(1, sizeof(*tt));
  onnx__type_proto__init(tp);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = 1, tt->elem_type = elem;
  if (with_shape) {
    Onnx__TensorShapeProto *sh = calloc(1, sizeof(*sh));
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)ndim;
    sh->dim = calloc((size_t)ndim + 1, sizeof(*sh->dim));
    for (int i = 0; i < ndim; i++) {
      sh->dim[i] = calloc(1, sizeof(**sh->dim));
      onnx__tensor_shape_proto__dimension__init(sh->dim[i]);
      sh->dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      sh->dim[i]->dim_value = dims[i];
    }
    tt->shape = sh;
  }
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  return tp;
}

static void free_type(Onnx__TypeProto *tp)
{
  if (!tp) return;
  Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  if (tt && tt->shape) {
    for (size_t i = 0; i < tt->shape->n_dim; i++) free(tt->shape->dim[i]);
    free(tt->shape->dim);
    free(tt->shape);
  }
  free(tt);
  free(tp);
}

/* Serializes the case as a model; fills b->data with the values used.  round: values rounded to
 * float16; fp16: FLOAT16 tensors (rounded values). */
static int build_model(const case_spec *c, bool round, bool fp16, uint64_t seed, built *b)
{
  const int32_t elem = fp16 ? ONYX_DTYPE_FLOAT16 : ONYX_DTYPE_FLOAT;
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__NodeProto node;
  Onnx__OperatorSetIdProto opset, *opsets[1] = {&opset};
  Onnx__ValueInfoProto vin[MAX_IN], vout, *pin[MAX_IN], *pout[1] = {&vout};
  Onnx__TensorProto init[MAX_IN], *pinit[MAX_IN];
  Onnx__AttributeProto attrs[MAX_ATTRS], *pattrs[MAX_ATTRS];
  char *in_names[MAX_IN], *out_names[1] = {"Y"};
  uint16_t *raw[MAX_IN] = {0};
  int n_inputs = 0, n_inits = 0, n_attrs = 0;
  onnx__model_proto__init(&model);
  onnx__graph_proto__init(&graph);
  onnx__node_proto__init(&node);
  onnx__operator_set_id_proto__init(&opset);
  onnx__value_info_proto__init(&vout);
  opset.domain = "", opset.has_version = 1, opset.version = 17;
  model.has_ir_version = 1, model.ir_version = 8;
  model.n_opset_import = 1, model.opset_import = opsets;
  model.producer_name = "onyx_conv_gemm_tests";
  model.graph = &graph;
  graph.name = (char *)c->label;
  rng_state = seed * 0x9E3779B97F4A7C15ull + 12345;
  for (int k = 0; k < c->n_in; k++) {
    const in_spec *s = &c->in[k];
    int nd = spec_ndim(s);
    int64_t n = onyx_numel(nd, s->dims);
    b->ndim[k] = nd, b->numel[k] = n;
    b->data[k] = malloc((size_t)(n ? n : 1) * sizeof(float));
    raw[k] = malloc((size_t)(n ? n : 1) * 4);
    for (int64_t i = 0; i < n; i++) {
      float v = rnd();
      if (round || fp16) {
        raw[k][i] = onyx_float_to_half(v);
        v = onyx_half_to_float(raw[k][i]);
      }
      b->data[k][i] = v;
    }
    in_names[k] = (char *)s->name;
    if (s->input) {
      onnx__value_info_proto__init(&vin[n_inputs]);
      vin[n_inputs].name = (char *)s->name;
      vin[n_inputs].type = tensor_type(elem, nd, s->dims, true);
      pin[n_inputs] = &vin[n_inputs];
      n_inputs++;
    } else {
      Onnx__TensorProto *t = &init[n_inits];
      onnx__tensor_proto__init(t);
      t->name = (char *)s->name;
      t->n_dims = (size_t)nd, t->dims = (int64_t *)s->dims;
      t->has_data_type = 1, t->data_type = elem;
      t->has_raw_data = 1;
      t->raw_data.len = (size_t)n * (fp16 ? 2 : 4);
      t->raw_data.data = fp16 ? (uint8_t *)raw[k] : (uint8_t *)b->data[k];
      pinit[n_inits++] = t;
    }
  }
  for (int a = 0; a < MAX_ATTRS && c->attrs[a].name; a++) {
    const attr_spec *s = &c->attrs[a];
    Onnx__AttributeProto *p = &attrs[n_attrs];
    onnx__attribute_proto__init(p);
    p->name = (char *)s->name, p->has_type = 1;
    if (s->kind == 'i') {
      p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, p->has_i = 1, p->i = s->i;
    } else if (s->kind == 'f') {
      p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, p->has_f = 1, p->f = s->f;
    } else if (s->kind == 's') {
      p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, p->has_s = 1;
      p->s.data = (uint8_t *)s->s, p->s.len = strlen(s->s);
    } else {
      int cnt = 0;
      while (cnt < 8 && s->ints[cnt] != INTS_END) cnt++;
      p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, p->n_ints = (size_t)cnt,
      p->ints = (int64_t *)s->ints;
    }
    pattrs[n_attrs++] = p;
  }
  node.n_input = (size_t)c->n_in, node.input = in_names;
  node.n_output = 1, node.output = out_names;
  node.name = (char *)c->label, node.op_type = (char *)c->op;
  node.n_attribute = (size_t)n_attrs, node.attribute = pattrs;
  Onnx__NodeProto *pnode[1] = {&node};
  vout.name = "Y";
  vout.type = tensor_type(elem, 0, NULL, false);
  graph.n_node = 1, graph.node = pnode;
  graph.n_input = (size_t)n_inputs, graph.input = pin;
  graph.n_output = 1, graph.output = pout;
  graph.n_initializer = (size_t)n_inits, graph.initializer = pinit;
  b->size = onnx__model_proto__get_packed_size(&model);
  b->buf = malloc(b->size);
  onnx__model_proto__pack(&model, b->buf);
  for (int k = 0; k < n_inputs; k++) free_type(vin[k].type);
  free_type(vout.type);
  for (int k = 0; k < c->n_in; k++) free(raw[k]);
  return 0;
}

static void built_free(built *b)
{
  for (int k = 0; k < MAX_IN; k++) free(b->data[k]);
  free(b->buf);
  memset(b, 0, sizeof(*b));
}

/* ---- running -------------------------------------------------------------- */

typedef struct result {
  int ndim;
  int64_t dims[ONYX_MAX_DIMS];
  int64_t n;
  float *y;
} result;

static int run_session(const case_spec *c, const built *b, const onyx_model *m, onyx_backend be, result *r)
{
  onyx_session_options opt;
  onyx_session_options_init(&opt);
  opt.backend = be;
  onyx_session *s = NULL;
  onyx_tensor_info info;
  const void *y;
  int rc = -1;
  if (onyx_session_create(m, &opt, &s) != ONYX_OK) goto out;
  for (int k = 0; k < c->n_in; k++)
    if (c->in[k].input && onyx_session_set_input(s, c->in[k].name, ONYX_DTYPE_FLOAT, b->ndim[k],
                                                 c->in[k].dims, b->data[k]) != ONYX_OK)
      goto out;
  if (onyx_session_run(s) != ONYX_OK || onyx_session_output(s, 0, &info, &y) != ONYX_OK) goto out;
  r->ndim = info.ndim;
  memcpy(r->dims, info.dims, sizeof(r->dims));
  r->n = onyx_numel(info.ndim, info.dims);
  r->y = malloc((size_t)(r->n ? r->n : 1) * sizeof(float));
  memcpy(r->y, y, (size_t)r->n * sizeof(float));
  rc = 0;
out:
  onyx_session_free(s);
  return rc;
}

/* The prepared graph on cuda_exec with explicit options (what `onyx build` will do). */
static int run_exec(const case_spec *c, const built *b, const onyx_model *m, bool fp16,
                    const cuda_exec_options *co, result *r)
{
  ir_graph *g = ir_graph_clone(m->g);
  cpu_ctx cpu;
  cuda_exec *e = NULL;
  void *in_bufs[MAX_IN] = {0};
  int rc = -1;
  cpu_ctx_init(&cpu, 0);
  if (!g) goto out;
  for (int i = 0; i < g->n_inputs; i++) { /* graph inputs are the cases' 'input' tensors, in order */
    ir_tensor *t = &g->tensors[g->inputs[i]];
    int k = 0;
    while (k < c->n_in && strcmp(c->in[k].name, t->name)) k++;
    if (k == c->n_in) goto out;
    size_t es = fp16 ? 2 : 4;
    in_bufs[k] = malloc((size_t)(b->numel[k] ? b->numel[k] : 1) * es);
    for (int64_t j = 0; j < b->numel[k]; j++) {
      if (fp16)
        ((uint16_t *)in_bufs[k])[j] = onyx_float_to_half(b->data[k][j]);
      else
        ((float *)in_bufs[k])[j] = b->data[k][j];
    }
    t->data = in_bufs[k];
  }
  if (graph_prepare(g, &cpu) != ONYX_OK) goto out;
  for (int i = 0; i < g->n_tensors; i++) {
    ir_tensor *t = &g->tensors[i];
    if (t->is_const || t->data || t->ndim < 0 || t->producer < 0) continue;
    t->data = calloc(1, ir_tensor_bytes(t) ? ir_tensor_bytes(t) : 1);
    t->owns_data = true;
  }
  if (cuda_exec_create(g, co, &e) != ONYX_OK || cuda_exec_run(e, g) != ONYX_OK) goto out;
  const ir_tensor *y = &g->tensors[g->outputs[0]];
  r->ndim = y->ndim;
  memcpy(r->dims, y->dims, sizeof(r->dims));
  r->n = ir_tensor_numel(y);
  r->y = malloc((size_t)(r->n ? r->n : 1) * sizeof(float));
  for (int64_t j = 0; j < r->n; j++)
    r->y[j] = fp16 ? onyx_half_to_float(((const uint16_t *)y->data)[j]) : ((const float *)y->data)[j];
  rc = 0;
out:
  cuda_exec_free(e);
  for (int i = 0; g && i < g->n_inputs; i++) g->tensors[g->inputs[i]].data = NULL;
  ir_graph_free(g);
  for (int k = 0; k < MAX_IN; k++) free(in_bufs[k]);
  cpu_ctx_free(&cpu);
  return rc;
}

typedef enum tol_kind { TOL_FP32, TOL_TF32, TOL_FP16 } tol_kind;

/* Returns the number of mismatching elements (printing the worst); -1 on a shape mismatch. */
static int64_t compare(const result *ref, const result *got, tol_kind tk, const char *label, const char *cfg)
{
  if (ref->ndim != got->ndim || memcmp(ref->dims, got->dims, (size_t)ref->ndim * sizeof(int64_t))) {
    printf("  %s [%s]: output shape differs from the CPU's\n", label, cfg);
    return -1;
  }
  double scale = 1.0;
  for (int64_t i = 0; i < ref->n; i++)
    if (fabs(ref->y[i]) > scale) scale = fabs(ref->y[i]);
  int64_t bad = 0, worst = -1;
  double worst_excess = 0;
  for (int64_t i = 0; i < ref->n; i++) {
    double d = fabs((double)got->y[i] - ref->y[i]), tol;
    if (tk == TOL_FP32)
      tol = 1e-4 + 1e-4 * fabs(ref->y[i]);
    else if (tk == TOL_TF32)
      tol = 1e-2 * scale;
    else
      tol = 1e-2 + 1e-2 * fabs(ref->y[i]);
    if (!(d <= tol)) { /* NaN fails */
      bad++;
      if (worst < 0 || !(d - tol <= worst_excess)) worst = i, worst_excess = d - tol;
    }
  }
  if (bad)
    printf("  %s [%s]: %lld of %lld elements differ; worst at %lld: cpu %.7g gpu %.7g\n", label, cfg,
           (long long)bad, (long long)ref->n, (long long)worst, ref->y[worst], got->y[worst]);
  return bad;
}

/* ---- the epilogue kernel, directly ------------------------------------------- */

static float host_act(float x, cuda_act a)
{
  switch (a.kind) {
  case CUDA_ACT_RELU: return x > 0 ? x : 0.f;
  case CUDA_ACT_LEAKY_RELU: return x >= 0 ? x : a.alpha * x;
  case CUDA_ACT_CLIP: return a.alpha > a.beta ? a.beta : x < a.alpha ? a.alpha : x > a.beta ? a.beta : x;
  case CUDA_ACT_SIGMOID: return 1.f / (1.f + expf(-x));
  case CUDA_ACT_TANH: return tanhf(x);
  case CUDA_ACT_HARD_SIGMOID: return fmaxf(0.f, fminf(1.f, a.alpha * x + a.beta));
  case CUDA_ACT_HARD_SWISH: return x * fmaxf(0.f, fminf(1.f, a.alpha * x + a.beta));
  case CUDA_ACT_ELU: return x >= 0 ? x : a.alpha * expm1f(x);
  case CUDA_ACT_SILU: return x / (1.f + expf(-x));
  default: return x;
  }
}

static int test_epilogue(bool verbose)
{
  const int64_t N = 2, C = 5, I = 37, total = N * C * I;
  const cuda_act acts[] = {{CUDA_ACT_NONE, 0, 0},          {CUDA_ACT_RELU, 0, 0},
                           {CUDA_ACT_LEAKY_RELU, 0.1f, 0}, {CUDA_ACT_CLIP, 0.f, 6.f},
                           {CUDA_ACT_CLIP, 1.f, -1.f},     {CUDA_ACT_SIGMOID, 0, 0},
                           {CUDA_ACT_TANH, 0, 0},          {CUDA_ACT_HARD_SIGMOID, 0.2f, 0.5f},
                           {CUDA_ACT_HARD_SWISH, 1.f / 6.f, 0.5f}, {CUDA_ACT_ELU, 1.3f, 0},
                           {CUDA_ACT_SILU, 0, 0}};
  int failures = 0;
  float *y = malloc(total * sizeof(float)), *z = malloc(total * sizeof(float)),
        *bias = malloc(C * sizeof(float));
  float *out = malloc(total * sizeof(float));
  void *dy = NULL, *dz = NULL, *db = NULL;
  if (cudaMalloc(&dy, total * 4) != cudaSuccess || cudaMalloc(&dz, total * 4) != cudaSuccess ||
      cudaMalloc(&db, C * 4) != cudaSuccess) {
    printf("  epilogue: cudaMalloc failed\n");
    failures = 1;
    goto out;
  }
  rng_state = 777;
  for (int64_t i = 0; i < total; i++) y[i] = 4.f * rnd(), z[i] = rnd();
  for (int64_t i = 0; i < C; i++) bias[i] = rnd();
  for (size_t a = 0; a < ONYX_ARRAY_LEN(acts); a++) {
    for (int with = 0; with < 2; with++) { /* with bias and residual, or the activation alone */
      cudaMemcpy(dy, y, total * 4, cudaMemcpyHostToDevice);
      cudaMemcpy(dz, z, total * 4, cudaMemcpyHostToDevice);
      cudaMemcpy(db, bias, C * 4, cudaMemcpyHostToDevice);
      cudaError_t e =
          cuda_conv_epilogue(dy, with ? db : NULL, with ? dz : NULL, false, N, C, I, acts[a], false, NULL);
      if (e == cudaSuccess) e = cudaMemcpy(out, dy, total * 4, cudaMemcpyDeviceToHost);
      int bad = e != cudaSuccess;
      for (int64_t i = 0; !bad && i < total; i++) {
        float v = y[i] + (with ? bias[(i / I) % C] + z[i] : 0.f), want = host_act(v, acts[a]);
        if (!(fabsf(out[i] - want) <= 1e-5f + 1e-5f * fabsf(want))) {
          printf("  epilogue act %d%s: element %lld: want %.7g got %.7g\n", (int)acts[a].kind,
                 with ? " +bias+z" : "", (long long)i, want, out[i]);
          bad = 1;
        }
      }
      if (e != cudaSuccess) printf("  epilogue act %d: %s\n", (int)acts[a].kind, cudaGetErrorString(e));
      failures += bad;
    }
  }
  if (verbose || failures) printf("%-34s %s\n", "epilogue_activations", failures ? "FAIL" : "ok");
out:
  cudaFree(dy);
  cudaFree(dz);
  cudaFree(db);
  free(y), free(z), free(bias), free(out);
  return failures;
}

/* ---- Concat without copies (plan.c alias_concats) ---------------------------- */

/* x [N,8,8,8] -> Conv 3x3 + Relu, Conv 1x1 (output "b"), MaxPool 3x3 (each [N,8,8,8]) -> Concat along
 * axis -> Conv 1x1 -> y.  Each concat input is 2048 bytes per image: at batch 1 along axis 1 every
 * slice is one MEMPLAN_ALIGN-aligned block, so the memory plan may place all three inside the output. */
typedef struct concat_case {
  const char *label;
  int64_t batch;
  int axis;
  bool b_out;        /* "b" is a graph output too: it keeps a buffer of its own (plan.c refuses graph I/O) */
  int want_in_place; /* Concat inputs the plan must place in the output; 0: it copies them all */
} concat_case;

static const concat_case concat_cases[] = {
    {"concat_in_place_batch1_axis1", 1, 1, false, 3},
    {"concat_graph_output_copied", 1, 1, true, 2},
    {"concat_axis2_copied", 1, 2, false, 0}, /* slices of 8 rows in each of 8 channels: no one block */
    {"concat_batch2_copied", 2, 1, false, 0}, /* one block per image */
};

#define CC_F ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT

/* Adds an initializer of numel random values in [-1, 1]. */
static void cc_init(mb *b, const char *name, const char *shape, int64_t numel)
{
  float *v = malloc((size_t)numel * sizeof(float));
  for (int64_t i = 0; i < numel; i++) v[i] = rnd();
  mb_init(b, name, CC_F, shape, v);
  free(v);
}

static onyx_model *concat_model(const concat_case *c)
{
  static const int64_t pads1[4] = {1, 1, 1, 1}, k3[2] = {3, 3}, s1[2] = {1, 1};
  const int64_t yc = c->axis == 1 ? 24 : 8; /* the concat's channels */
  char shape[64];
  mb *b = mb_new(13);
  snprintf(shape, sizeof(shape), "%lld,8,8,8", (long long)c->batch);
  mb_input(b, "x", CC_F, shape);
  cc_init(b, "wa", "8,8,3,3", 8 * 8 * 9);
  cc_init(b, "ba", "8", 8);
  cc_init(b, "wb", "8,8,1,1", 8 * 8);
  cc_init(b, "bb", "8", 8);
  snprintf(shape, sizeof(shape), "6,%lld,1,1", (long long)yc);
  cc_init(b, "wc", shape, 6 * yc);
  cc_init(b, "bc", "6", 6);
  mb_attr_ints(b, mb_node(b, "Conv", "conv_a", "x,wa,ba", "ca"), "pads", 4, pads1);
  mb_node(b, "Relu", "relu_a", "ca", "a");
  mb_node(b, "Conv", "conv_b", "x,wb,bb", "b");
  Onnx__NodeProto *pool = mb_node(b, "MaxPool", "pool", "x", "p");
  mb_attr_ints(b, pool, "kernel_shape", 2, k3);
  mb_attr_ints(b, pool, "pads", 4, pads1);
  mb_attr_ints(b, pool, "strides", 2, s1);
  mb_attr_int(b, mb_node(b, "Concat", "concat", "a,b,p", "cat"), "axis", c->axis);
  mb_node(b, "Conv", "conv_c", "cat,wc,bc", "y");
  mb_output(b, "y", CC_F, NULL);
  if (c->b_out) mb_output(b, "b", CC_F, NULL);
  onyx_model *m = NULL;
  if (mb_load(b, &m) != ONYX_OK) printf("  %s: model: %s\n", c->label, onyx_last_error());
  mb_free(b);
  return m;
}

/* CPU session (input "x"): every graph output into ref[0..n_out). */
static int concat_cpu(const onyx_model *m, const float *x, const int64_t *xdims, int n_out, result *ref)
{
  onyx_session_options opt;
  onyx_session_options_init(&opt);
  onyx_session *s = NULL;
  int rc = -1;
  if (onyx_session_create(m, &opt, &s) != ONYX_OK ||
      onyx_session_set_input(s, "x", ONYX_DTYPE_FLOAT, 4, xdims, x) != ONYX_OK ||
      onyx_session_run(s) != ONYX_OK)
    goto out;
  for (int i = 0; i < n_out; i++) {
    onyx_tensor_info info;
    const void *y;
    if (onyx_session_output(s, i, &info, &y) != ONYX_OK) goto out;
    ref[i].ndim = info.ndim;
    memcpy(ref[i].dims, info.dims, sizeof(ref[i].dims));
    ref[i].n = onyx_numel(info.ndim, info.dims);
    ref[i].y = malloc((size_t)(ref[i].n ? ref[i].n : 1) * sizeof(float));
    memcpy(ref[i].y, y, (size_t)ref[i].n * sizeof(float));
  }
  rc = 0;
out:
  onyx_session_free(s);
  return rc;
}

/* An FP32 engine of the model, run once on x into got[0..n_out) (outputs named names[], shapes as
 * ref's); *kernel gets the kernel name of the model's one op_type layer (from onyx_context_layer). */
static int plan_engine(const onyx_model *m, const float *x, int n_out, const char *const *names,
                       const char *op_type, const result *ref, result *got, char *kernel, size_t kernel_size)
{
  onyx_build_options o;
  onyx_build_options_init(&o);
  o.precision = ONYX_PRECISION_FP32;
  onyx_engine *e = NULL;
  onyx_context *c = NULL;
  int rc = -1, n_layers = 0, n_op = 0;
  kernel[0] = 0;
  if (onyx_engine_build(m, &o, &e) != ONYX_OK || onyx_context_create(e, &c) != ONYX_OK ||
      onyx_context_set_binding(c, "x", (void *)x, 0) != ONYX_OK)
    goto out;
  for (int i = 0; i < n_out; i++) {
    got[i].ndim = ref[i].ndim;
    memcpy(got[i].dims, ref[i].dims, sizeof(got[i].dims));
    got[i].n = ref[i].n;
    got[i].y = malloc((size_t)(ref[i].n ? ref[i].n : 1) * sizeof(float));
    memset(got[i].y, 0xff, (size_t)ref[i].n * sizeof(float)); /* NaN poison: every element must be written */
    if (onyx_context_set_binding(c, names[i], got[i].y, 0) != ONYX_OK) goto out;
  }
  if (onyx_context_enqueue(c, NULL) != ONYX_OK || onyx_context_synchronize(c) != ONYX_OK ||
      onyx_context_num_layers(c, &n_layers) != ONYX_OK)
    goto out;
  for (int i = 0; i < n_out; i++) { /* the engine's output shapes */
    onyx_tensor_info info;
    if (onyx_context_output(c, i, &info) != ONYX_OK) goto out;
    got[i].ndim = info.ndim;
    memcpy(got[i].dims, info.dims, sizeof(got[i].dims));
  }
  for (int i = 0; i < n_layers; i++) {
    onyx_layer_info li;
    if (onyx_context_layer(c, i, &li, NULL, NULL) != ONYX_OK) goto out;
    if (strcmp(li.op_type, op_type) == 0 && n_op++ == 0) snprintf(kernel, kernel_size, "%s", li.kernel);
  }
  if (n_op != 1) {
    printf("  %d %s layers in the engine, expected 1\n", n_op, op_type);
    goto out;
  }
  rc = 0;
out:
  onyx_context_free(c);
  onyx_engine_free(e);
  return rc;
}

/* One case of the plan's in-place placements: x (random, shape xdims) through the model on the CPU and as
 * an FP32 engine; the engine's one op_type layer must run kernel `want`, and its n_out outputs (named
 * names[]) match the CPU's.  Takes m.  Returns whether it passed. */
static bool run_plan_case(const char *label, onyx_model *m, const int64_t *xdims, int n_out,
                          const char *const *names, const char *op_type, const char *want, bool cpu_only,
                          bool verbose)
{
  const int64_t xn = onyx_numel(4, xdims);
  result ref[2] = {{0}}, got[2] = {{0}};
  char kernel[128] = "";
  bool ok = false;
  float *x = malloc((size_t)xn * sizeof(float));
  for (int64_t i = 0; i < xn; i++) x[i] = rnd();
  if (!m) goto out;
  if (concat_cpu(m, x, xdims, n_out, ref)) {
    printf("  %s: CPU run failed: %s\n", label, onyx_last_error());
    goto out;
  }
  ok = true;
  if (cpu_only) goto out;
  if (plan_engine(m, x, n_out, names, op_type, ref, got, kernel, sizeof(kernel))) {
    printf("  %s: engine run failed: %s\n", label, onyx_last_error());
    ok = false;
    goto out;
  }
  if (strcmp(kernel, want) != 0) {
    printf("  %s: the %s layer runs \"%s\", expected \"%s\"\n", label, op_type, kernel, want);
    ok = false;
  }
  for (int i = 0; i < n_out; i++) {
    char cfg[64];
    snprintf(cfg, sizeof(cfg), "engine, output %s", names[i]);
    if (compare(&ref[i], &got[i], TOL_FP32, label, cfg) != 0) ok = false;
  }
out:
  if (verbose || !ok) printf("%-34s %s%s%s\n", label, ok ? "ok" : "FAIL", kernel[0] ? "  " : "", kernel);
  for (int i = 0; i < 2; i++) free(ref[i].y), free(got[i].y);
  free(x);
  onyx_model_free(m);
  return ok;
}

/* Concat without copies happens where the plan can place an input inside the output, and only there
 * (the Concat layer's kernel name says how many are in place), with the CPU's result either way. */
static int test_concat_in_place(const char *filter, bool cpu_only, bool verbose, int *n_run)
{
  static const char *const names[2] = {"y", "b"};
  int failures = 0;
  for (size_t ci = 0; ci < ONYX_ARRAY_LEN(concat_cases); ci++) {
    const concat_case *c = &concat_cases[ci];
    if (filter && !strstr(c->label, filter)) continue;
    (*n_run)++;
    const int64_t xdims[4] = {c->batch, 8, 8, 8};
    char want[64];
    if (c->want_in_place)
      snprintf(want, sizeof(want), "onyx:concat(%d of 3 in place)", c->want_in_place);
    else
      snprintf(want, sizeof(want), "onyx:strided_copy_concat");
    rng_state = (ci + 1) * 0x9E3779B97F4A7C15ull + 4242;
    onyx_model *m = concat_model(c);
    failures += !run_plan_case(c->label, m, xdims, c->b_out ? 2 : 1, names, "Concat", want, cpu_only, verbose);
  }
  return failures;
}

/* ---- views without copies (plan.c alias_views) -------------------------------- */

/* x [1,8,8,8] -> Conv 1x1 (16 channels) -> GlobalAveragePool "g" [1,16,1,1] -> Flatten [1,16] -> Gemm
 * (6 outputs) -> y.  g_out: g is a graph output too; g_read: a Relu reads g as well (output "r"). */
typedef struct view_case {
  const char *label;
  bool g_out, g_read;
  const char *want; /* the Flatten layer's kernel */
} view_case;

static const view_case view_cases[] = {
    {"view_flatten_in_place", false, false, "onyx:view(in place)"},
    {"view_input_graph_output_copied", true, false, "cudaMemcpyAsync"},
    {"view_input_read_twice_copied", false, true, "cudaMemcpyAsync"},
};

static onyx_model *view_model(const view_case *c)
{
  mb *b = mb_new(13);
  mb_input(b, "x", CC_F, "1,8,8,8");
  cc_init(b, "w", "16,8,1,1", 16 * 8);
  cc_init(b, "bias", "16", 16);
  cc_init(b, "fc", "16,6", 16 * 6);
  cc_init(b, "fcb", "6", 6);
  mb_node(b, "Conv", "conv", "x,w,bias", "c");
  mb_node(b, "GlobalAveragePool", "gap", "c", "g");
  mb_node(b, "Flatten", "flatten", "g", "f");
  mb_node(b, "Gemm", "fc", "f,fc,fcb", "y");
  mb_output(b, "y", CC_F, NULL);
  if (c->g_out) mb_output(b, "g", CC_F, NULL);
  if (c->g_read) {
    mb_node(b, "Relu", "relu", "g", "r");
    mb_output(b, "r", CC_F, NULL);
  }
  onyx_model *m = NULL;
  if (mb_load(b, &m) != ONYX_OK) printf("  %s: model: %s\n", c->label, onyx_last_error());
  mb_free(b);
  return m;
}

static int test_view_in_place(const char *filter, bool cpu_only, bool verbose, int *n_run)
{
  int failures = 0;
  for (size_t ci = 0; ci < ONYX_ARRAY_LEN(view_cases); ci++) {
    const view_case *c = &view_cases[ci];
    if (filter && !strstr(c->label, filter)) continue;
    (*n_run)++;
    const char *const names[2] = {"y", c->g_out ? "g" : "r"};
    const int64_t xdims[4] = {1, 8, 8, 8};
    rng_state = (ci + 1) * 0x9E3779B97F4A7C15ull + 777;
    onyx_model *m = view_model(c);
    setenv("ONYX_POOL_GEMM", "0", 1); /* else the head (pool, Flatten, Gemm) is one layer (engine/pool_gemm.h) */
    failures += !run_plan_case(c->label, m, xdims, c->g_out || c->g_read ? 2 : 1, names, "Flatten", c->want,
                               cpu_only, verbose);
    unsetenv("ONYX_POOL_GEMM");
  }
  return failures;
}

int main(int argc, char **argv)
{
  bool verbose = false, cpu_only = false;
  const char *filter = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-v"))
      verbose = true;
    else if (!strcmp(argv[i], "--cpu-only"))
      cpu_only = true;
    else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
      filter = argv[++i];
    else {
      fprintf(stderr, "usage: %s [-v] [--filter SUBSTRING] [--cpu-only]\n", argv[0]);
      return 2;
    }
  }
  if (!cpu_only && !onyx_cuda_available()) {
    printf("no CUDA device: skipped\n");
    return 77;
  }
  int n_run = 0, n_fail = 0;
  if (!cpu_only && (!filter || strstr("epilogue_activations", filter))) {
    n_run++;
    n_fail += test_epilogue(verbose) ? 1 : 0;
  }
  n_fail += test_concat_in_place(filter, cpu_only, verbose, &n_run);
  n_fail += test_view_in_place(filter, cpu_only, verbose, &n_run);
  const size_t ws = (size_t)1 << 30;
  const cuda_exec_options heur = {.allow_tf32 = false, .tune = false, .workspace_limit = ws};
  const cuda_exec_options tf32 = {.allow_tf32 = true, .tune = true, .workspace_limit = ws};
  const cuda_exec_options tuned = {.allow_tf32 = false, .tune = true, .workspace_limit = ws};
  for (size_t ci = 0; ci < ONYX_ARRAY_LEN(cases); ci++) {
    const case_spec *c = &cases[ci];
    if (filter && !strstr(c->label, filter)) continue;
    n_run++;
    built b = {0}, br = {0}, bh = {0};
    onyx_model *m = NULL, *mr = NULL, *mh = NULL;
    result ref = {0}, refh = {0}, got[4] = {{0}};
    const char *cfg[4] = {"session", "heur", "tf32", "fp16"};
    bool ok = true;
    build_model(c, false, false, ci + 1, &b);
    build_model(c, true, false, ci + 1, &br);
    build_model(c, true, true, ci + 1, &bh);
    if (onyx_model_load_memory(b.buf, b.size, NULL, &m) != ONYX_OK ||
        onyx_model_load_memory(br.buf, br.size, NULL, &mr) != ONYX_OK ||
        onyx_model_load_memory(bh.buf, bh.size, NULL, &mh) != ONYX_OK) {
      printf("  %s: model load failed: %s\n", c->label, onyx_last_error());
      ok = false;
      goto next;
    }
    /* CPU references: the float data, and the half-rounded data as float */
    if (run_session(c, &b, m, ONYX_BACKEND_CPU, &ref) || run_session(c, &br, mr, ONYX_BACKEND_CPU, &refh)) {
      printf("  %s: CPU run failed: %s\n", c->label, onyx_last_error());
      ok = false;
      goto next;
    }
    if (cpu_only && verbose) {
      char sd[160];
      printf("  %s: CPU output %s, y[0] %.6g\n", c->label, onyx_dims_str(ref.ndim, ref.dims, sd, sizeof(sd)),
             ref.n ? ref.y[0] : 0.0);
    }
    for (int v = 0; !cpu_only && v < 4; v++) {
      int rc = v == 0   ? run_session(c, &b, m, ONYX_BACKEND_CUDA, &got[v])
               : v == 1 ? run_exec(c, &b, m, false, &heur, &got[v])
               : v == 2 ? run_exec(c, &b, m, false, &tf32, &got[v])
                        : run_exec(c, &bh, mh, true, &tuned, &got[v]);
      if (rc) {
        printf("  %s [%s]: CUDA run failed: %s\n", c->label, cfg[v], onyx_last_error());
        ok = false;
        continue;
      }
      tol_kind tk = v == 2 ? TOL_TF32 : v == 3 ? TOL_FP16 : TOL_FP32;
      if (compare(v == 3 ? &refh : &ref, &got[v], tk, c->label, cfg[v]) != 0) ok = false;
    }
  next:
    if (verbose || !ok) printf("%-34s %s\n", c->label, ok ? "ok" : "FAIL");
    n_fail += !ok;
    for (int v = 0; v < 4; v++) free(got[v].y);
    free(ref.y), free(refh.y);
    onyx_model_free(m);
    onyx_model_free(mr);
    onyx_model_free(mh);
    built_free(&b);
    built_free(&br);
    built_free(&bh);
  }
  printf("%d run, %d passed, %d failed\n", n_run, n_run - n_fail, n_fail);
  return n_fail ? 1 : 0;
}
