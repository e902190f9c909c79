/* Parameters shared by the parse/infer functions and the kernels of the
 * reduction family (ops/reduce.c, ops/resize.c, ops/resize_taps.c,
 * backend/cpu/{reduce,resize}.c, backend/cuda/k_{reduce,resize}.c). */
#ifndef ONYX_OPS_REDUCE_H
#define ONYX_OPS_REDUCE_H

#include "ops/ops.h"

/* Softmax, LogSoftmax. */
typedef struct softmax_params {
  int64_t axis;
  bool coerce_2d; /* opset < 13: flatten to [prod(dims[:axis]), prod(dims[axis:])] */
} softmax_params;

/* Softmax runs over len elements spaced inner apart, outer*inner times. */
onyx_status softmax_layout(const ir_node *n, const ir_tensor *x, int64_t *outer, int64_t *len, int64_t *inner);

/* ReduceMean, ReduceSum, ReduceMax. */
typedef struct reduce_params {
  bool keepdims;
  bool noop_with_empty_axes;
  bool axes_from_input; /* this opset takes axes as input 1 */
  int n_axes;           /* from the attribute; 0 when absent */
  int64_t axes[ONYX_MAX_DIMS];
} reduce_params;

/* Which of the rank dims of input 0 are reduced; *noop when the reduction is an identity
 * (empty axes with noop_with_empty_axes).  Reads the constant axes input when there is one. */
onyx_status reduce_axes_mask(const ir_graph *g, const ir_node *n, int rank, bool *mask, bool *noop);

/* ArgMax. */
typedef struct argmax_params {
  int64_t axis;
  bool keepdims;
  bool select_last_index;
} argmax_params;

/* Resize, Upsample. */
typedef enum resize_mode { RESIZE_NEAREST, RESIZE_LINEAR, RESIZE_CUBIC } resize_mode;

typedef enum resize_coord {
  COORD_HALF_PIXEL,
  COORD_HALF_PIXEL_SYMMETRIC,
  COORD_PYTORCH_HALF_PIXEL,
  COORD_ALIGN_CORNERS,
  COORD_ASYMMETRIC,
  COORD_TF_HALF_PIXEL_FOR_NN,
  COORD_TF_CROP_AND_RESIZE,
} resize_coord;

typedef enum resize_nearest {
  NEAREST_ROUND_PREFER_FLOOR,
  NEAREST_ROUND_PREFER_CEIL,
  NEAREST_FLOOR,
  NEAREST_CEIL,
  NEAREST_SIMPLE, /* opset < 11 (Upsample, Resize-10): truncate when upsampling, ceil when downsampling */
} resize_nearest;

typedef enum resize_aspect { ASPECT_STRETCH, ASPECT_NOT_LARGER, ASPECT_NOT_SMALLER } resize_aspect;

typedef struct resize_params {
  resize_mode mode;
  resize_coord coord;
  resize_nearest nearest;
  float cubic_a;
  bool exclude_outside;
  float extrapolation;
  resize_aspect aspect;
  int in_roi, in_scales, in_sizes; /* input indices, -1 when this opset has no such input */
  int n_attr_scales;               /* Upsample-7: scales attribute */
  float attr_scales[ONYX_MAX_DIMS];
  int n_axes; /* opset 18 'axes'; 0 when absent (all axes) */
  int64_t axes[ONYX_MAX_DIMS];
} resize_params;

/* A resize specialised to its input shape: output dims, per-dim scale, and roi. */
typedef struct resize_plan {
  int ndim;
  int64_t out[ONYX_MAX_DIMS];
  double scale[ONYX_MAX_DIMS];
  double roi_start[ONYX_MAX_DIMS], roi_end[ONYX_MAX_DIMS];
} resize_plan;

/* Computes the plan from input 0's shape and the constant roi/scales/sizes inputs. */
onyx_status resize_make_plan(const ir_graph *g, const ir_node *n, resize_plan *plan);

/* The most taps one output coordinate reads along one dim (cubic's 4). */
#define RESIZE_MAX_TAPS 4

/* The taps of dim d (input length in_len, element stride stride): for each of the plan->out[d]
 * output coordinates o, its input offsets (index * stride, the index clamped to the input) and
 * weights from off[o * pitch] and w[o * pitch], and outside[o] (tf_crop_and_resize: o maps outside
 * the input).  pitch 0 packs them: k entries apart.  Returns k, the taps per coordinate: 1 for
 * nearest, and for any dim where every coordinate has one tap of weight 1 (stored at o * pitch,
 * or at o when packed). */
int resize_dim_taps(const resize_params *p, const resize_plan *plan, int d, int64_t in_len, int64_t stride,
                    int pitch, int64_t *off, float *w, uint8_t *outside);

#endif
