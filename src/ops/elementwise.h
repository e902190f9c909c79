#ifndef ONYX_OPS_ELEMENTWISE_H
#define ONYX_OPS_ELEMENTWISE_H

#include "ops/ops.h"

typedef struct binary_params {
  bool legacy;  /* opset < 7 broadcast=1 form */
  int64_t axis; /* legacy alignment axis (-1: suffix) */
} binary_params;

/* B's shape as numpy broadcasting should see it (legacy axis form padded). */
onyx_status binary_effective_shape(const ir_node *n, const ir_tensor *a, const ir_tensor *b, int *ndim,
                                   int64_t *dims);

#endif
