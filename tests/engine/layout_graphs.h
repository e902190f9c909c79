/* Small conv graphs for the channels-last tests: the layout pass's unit test
 * (tests/engine/layout_tests.c, no GPU) checks where the layouts and reformats
 * go, and the GPU test (tests/cuda/nhwc_tests.c) runs them as FP16 engines
 * against the CPU.  Each is an ONNX model built in memory (model_builder)
 * with seeded random weights, float input "x" (and others where named) and
 * float output "y". */
#ifndef ONYX_TESTS_ENGINE_LAYOUT_GRAPHS_H
#define ONYX_TESTS_ENGINE_LAYOUT_GRAPHS_H

#include "model_builder.h"

typedef struct layout_graph {
  const char *name;
  const char *what;
  mb *(*build)(void);
  int expect_reformats; /* from the layout pass with cuda_op_layouts; -1: not asserted */
  int expect_filters;   /* filters stored KRSC; -1: not asserted */
  int expect_gemm;      /* 1x1 convs the CUDA backend's GEMM form can run (l_conv.c); -1: not asserted */
  int expect_pairs;     /* pairs of steps the CUDA plan runs concurrently (plan.h); -1: not asserted */
  int expect_splitk;    /* convs onyx's split-K kernel runs with ONYX_CONV_SPLITK=1 on sm_90 (channels-last
                         * FP16, group 1, input and output channels multiples of 32; l_conv.c) */
  int expect_pool_gemm; /* classifier heads (GlobalAveragePool + Flatten/Reshape + Gemm) fused into one
                         * FusedPoolGemm layer (engine/pool_gemm.h: batch <= 8) */
} layout_graph;

extern const layout_graph layout_graphs[];
extern const int n_layout_graphs;

#endif
