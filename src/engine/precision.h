/* Precision conversion of a prepared graph for FP16 engines. */
#ifndef ONYX_ENGINE_PRECISION_H
#define ONYX_ENGINE_PRECISION_H

#include "graph/prepare.h"

#define PRECISION_NAMES 8 /* layer names kept for the report */
#define PRECISION_NAME_MAX 128

typedef struct precision_report {
  int64_t weights_converted; /* float constant elements now FLOAT16 */
  int64_t subnormal;         /* of those, non-zero values below FP16's smallest normal */
  int64_t overflow;          /* finite values beyond FP16's range (become inf) */
  int casts_added;
  int n_subnormal_layers; /* layers reading weights with subnormal FP16 values (first names below) */
  char subnormal_layers[PRECISION_NAMES][PRECISION_NAME_MAX];
  int n_fp32_layers;      /* layers kept in FP32: their weights overflow FP16 */
  char fp32_layers[PRECISION_NAMES][PRECISION_NAME_MAX];
} precision_report;

/* Every FLOAT tensor except the graph's inputs/outputs and float-typed
 * parameters (Resize roi/scales) becomes FLOAT16; constants are converted
 * (counting subnormals, as TensorRT warns); Cast nodes convert at the edges.
 * A node whose float constants hold values beyond FP16's range stays FP32
 * (its weights and outputs FLOAT, Casts around it).  Leaves the nodes
 * topologically sorted. */
onyx_status precision_convert_fp16(ir_graph *g, precision_report *r);

#endif
