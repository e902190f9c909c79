/* Shape and data-movement ops: parameters from parse(), and the resolvers
 * that shape inference and the CPU kernels share (so the kernel computes
 * exactly what inference promised).  Resolvers read constant inputs only. */
#ifndef ONYX_OPS_SHAPE_H
#define ONYX_OPS_SHAPE_H

#include "ops/ops.h"

typedef struct shape_params {
  int64_t start, end;
  bool has_end;
} shape_params;

/* Flatten, Concat, Gather. */
typedef struct axis_params {
  int64_t axis;
} axis_params;

typedef struct reshape_params {
  bool allowzero;
  int n_shape; /* -1: the shape comes from input 1 (opset >= 5) */
  int64_t shape[ONYX_MAX_DIMS];
} reshape_params;

typedef struct transpose_params {
  int n_perm; /* -1: reverse the dimensions */
  int64_t perm[ONYX_MAX_DIMS];
} transpose_params;

/* Squeeze / Unsqueeze. */
typedef struct axes_params {
  bool from_input; /* opset >= 13: axes is (optional) input 1 */
  int n_axes;      /* -1: no axes given */
  int64_t axes[ONYX_MAX_DIMS];
} axes_params;

typedef struct split_params {
  int64_t axis;
  int64_t num_outputs; /* opset 18 attribute; 0 if absent */
  int n_split;         /* from the opset < 13 attribute; -1 if absent */
  int64_t split[];
} split_params;

typedef struct slice_params {
  bool from_attrs; /* opset < 10 */
  int n;           /* number of starts/ends (attribute form) */
  int n_axes;      /* -1: default axes */
  int64_t starts[ONYX_MAX_DIMS], ends[ONYX_MAX_DIMS], axes[ONYX_MAX_DIMS];
} slice_params;

typedef enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE } pad_mode;

typedef struct pad_params {
  pad_mode mode;
  bool from_attrs; /* opset < 11: pads and value are attributes */
  int n_pads;
  int64_t pads[2 * ONYX_MAX_DIMS];
  float value;
} pad_params;

typedef struct constant_of_shape_params {
  onyx_dtype dtype;
  _Alignas(8) unsigned char value[16];
} constant_of_shape_params;

/* Element size of dtype, or an UNSUPPORTED error for strings/undefined. */
onyx_status shape_elem_size(const ir_node *n, onyx_dtype dt, size_t *esz);

/* Sets output i's dtype and shape, if the output is not omitted. */
static inline void shape_set_out(ir_graph *g, const ir_node *n, int i, onyx_dtype dt, int ndim,
                                 const int64_t *dims)
{
  ir_tensor *y = ir_out(g, n, i);
  if (y) ir_tensor_set(y, dt, ndim, dims);
}

/* Shape: the values of its output. */
onyx_status shape_op_values(const ir_node *n, const ir_tensor *x, int64_t *out);
/* Slice: for each dim of the input, the first index, the step and the count. */
onyx_status slice_resolve(const ir_graph *g, const ir_node *n, const ir_tensor *x, int64_t *start,
                          int64_t *step, int64_t *count);
/* Pad: begin pads (pads[0..r)) and end pads (pads[r..2r)) for every dim of x. */
onyx_status pad_resolve(const ir_graph *g, const ir_node *n, const ir_tensor *x, int64_t *pads);
/* Split: the size of each of the node's n_out outputs along axis (normalised). */
onyx_status split_resolve(const ir_graph *g, const ir_node *n, const ir_tensor *x, int *axis, int64_t *sizes);
/* Transpose: the permutation for x's rank. */
onyx_status transpose_resolve(const ir_node *n, const ir_tensor *x, int *perm);

#endif
