#ifndef ONYX_OPS_ELEMENTWISE_H
#define ONYX_OPS_ELEMENTWISE_H

#include "ops/ops.h"

typedef struct binary_params {
  bool legacy;  /* opset < 7 broadcast=1 form */
  int64_t axis; /* legacy alignment axis (-1: suffix) */
} binary_params;

/* LeakyRelu, Elu, HardSigmoid. */
typedef struct activation_params {
  float alpha, beta;
} activation_params;

/* Clip before opset 11 takes its bounds as attributes. */
typedef struct clip_params {
  bool has_lo, has_hi;
  float lo, hi;
} clip_params;

typedef struct cast_params {
  onyx_dtype to;
} cast_params;

typedef struct dropout_params {
  float ratio; /* attribute (opset < 12); the optional input replaces it from opset 12 */
} dropout_params;

/* B's shape as numpy broadcasting should see it (legacy axis form padded;
 * PRelu before opset 7: a 1-D slope of C values applies along axis 1). */
onyx_status binary_effective_shape(const ir_node *n, const ir_tensor *a, const ir_tensor *b, int *ndim,
                                   int64_t *dims);

#endif
