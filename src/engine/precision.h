/* Precision conversion of a prepared graph for FP16 engines. */
#ifndef ONYX_ENGINE_PRECISION_H
#define ONYX_ENGINE_PRECISION_H

#include "graph/prepare.h"

typedef struct precision_report {
  int64_t weights_converted; /* float constant elements now FLOAT16 */
  int64_t subnormal;         /* of those, non-zero values below FP16's smallest normal */
  int64_t overflow;          /* finite values beyond FP16's range (become inf) */
  int casts_added;
} precision_report;

/* Every FLOAT tensor except the graph's inputs/outputs and float-typed
 * parameters (Resize roi/scales) becomes FLOAT16; constants are converted
 * (counting subnormals and overflows, as TensorRT warns); Cast nodes convert
 * at the edges.  Leaves the nodes topologically sorted. */
onyx_status precision_convert_fp16(ir_graph *g, precision_report *r);

#endif
