/* The graph IR: tensors and nodes in arrays, referred to by index.
 *
 * A model's graph is built once by the ONNX loader and never changed; a
 * session copies it (sharing constant data and parsed parameters) and then
 * infers shapes, folds constants and binds buffers on its copy. */
#ifndef ONYX_GRAPH_IR_H
#define ONYX_GRAPH_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

typedef enum ir_attr_type {
  IR_ATTR_UNDEFINED = 0,
  IR_ATTR_FLOAT,
  IR_ATTR_INT,
  IR_ATTR_STRING,
  IR_ATTR_TENSOR,
  IR_ATTR_FLOATS,
  IR_ATTR_INTS,
  IR_ATTR_STRINGS,
  IR_ATTR_OTHER, /* graphs, sparse tensors, type protos: kept by name only */
} ir_attr_type;

typedef struct ir_tensor ir_tensor;

typedef struct ir_attr {
  char *name;
  ir_attr_type type;
  int64_t i;
  float f;
  char *s;
  size_t n;       /* length of ints/floats/strings */
  int64_t *ints;
  float *floats;
  char **strings;
  ir_tensor *t;   /* IR_ATTR_TENSOR: a standalone tensor (not in the graph) */
} ir_attr;

struct ir_tensor {
  char *name;
  onyx_dtype dtype;         /* UNDEFINED until known */
  int ndim;                 /* -1 until known */
  int64_t dims[ONYX_MAX_DIMS];  /* -1 for symbolic/unknown */
  char *dim_param[ONYX_MAX_DIMS]; /* declared symbolic names (graph inputs/outputs) */
  void *data;               /* value: constant, folded, or the run-time buffer */
  bool is_const;            /* value known before run (initializer, Constant, folded) */
  bool owns_data;           /* free(data) when the graph is freed */
  bool is_initializer;
  bool value_wanted;        /* shape inference needs its value (a shape input): see onyx_session_prepare */
  int producer;             /* node index, or -1 */
  uint8_t layout;           /* physical order (ir_layout): logical dims stay NCHW whatever it is */
};

/* How a tensor's elements lie in memory.  Channels-last applies to 4-D tensors
 * (N, C, H, W) only: element (n, c, h, w) at ((n * H + h) * W + w) * C + c.  A
 * 4-D constant filter (M, C, kh, kw) in channels-last is stored KRSC
 * (M, kh, kw, C), which is the same formula.  Set by the layout pass of FP16
 * engines (engine/layout.h); never stored in engine files (plans are rebuilt). */
typedef enum ir_layout {
  IR_LAYOUT_ROW_MAJOR = 0,
  IR_LAYOUT_CHANNELS_LAST = 1,
} ir_layout;

typedef struct ir_node {
  char *name;     /* never NULL: loader names anonymous nodes "<op>_<index>" */
  char *op_type;
  char *domain;   /* "" for ai.onnx */
  int op;         /* onyx_op (ops/ops.h) */
  int64_t opset;  /* opset version of its domain in this model */
  int n_in, n_out;
  int *in, *out;  /* tensor indices; -1 is an omitted optional input */
  int n_attrs;
  ir_attr *attrs;
  void *params;   /* op-specific, from the op's parse(); flat, free()d with the node */
  bool folded;    /* outputs all computed at prepare time; skipped at run */
  bool owns_node_data; /* attrs and params are this node's own even in a clone (nodes made by graph passes) */
} ir_node;

typedef struct ir_opset {
  char *domain;
  int64_t version;
} ir_opset;

typedef struct ir_graph {
  ir_tensor *tensors;
  int n_tensors, cap_tensors;
  ir_node *nodes;
  int n_nodes, cap_nodes;
  int *inputs, n_inputs;   /* graph inputs that are not initializers */
  int *outputs, n_outputs;
  /* name -> tensor index (open addressing) */
  int *hash;
  int hash_cap;
  /* model metadata */
  int64_t ir_version;
  char *producer_name, *producer_version, *graph_name;
  ir_opset *opsets;
  int n_opsets;
  char **meta_keys, **meta_values; /* ModelProto.metadata_props, n_meta pairs */
  int n_meta;
  bool borrows_node_data; /* a clone: attrs and params belong to the source graph */
} ir_graph;

ir_graph *ir_graph_new(void);
void ir_graph_free(ir_graph *g);
/* Deep-copies the structure; constant data, attributes and params are shared
 * with src (the copy does not own them), run-time buffers are not copied. */
ir_graph *ir_graph_clone(const ir_graph *src);

/* -1 if absent. */
int ir_find_tensor(const ir_graph *g, const char *name);
/* Whether tensor t is one of the graph's inputs or outputs. */
bool ir_is_graph_io(const ir_graph *g, int t);
/* Adds a tensor with this name; fails (INVALID_MODEL) if it exists. Returns index or -1. */
int ir_add_tensor(ir_graph *g, const char *name);
/* Returns the existing tensor or adds one; -1 on allocation failure. */
int ir_get_or_add_tensor(ir_graph *g, const char *name);
/* Appends a node (copying nothing: takes ownership of its fields). -1 on failure. */
int ir_add_node(ir_graph *g, const ir_node *n);

void ir_attr_clear(ir_attr *a);
void ir_tensor_clear(ir_tensor *t);
void ir_node_clear(ir_node *n);

/* Attribute lookup (NULL if absent) and typed getters with defaults. */
const ir_attr *ir_attr_find(const ir_node *n, const char *name);
int64_t ir_attr_int(const ir_node *n, const char *name, int64_t def);
float ir_attr_float(const ir_node *n, const char *name, float def);
const char *ir_attr_string(const ir_node *n, const char *name, const char *def);
/* Copies up to cap ints; returns count, or -1 if absent. */
int ir_attr_ints(const ir_node *n, const char *name, int64_t *out, int cap);

/* Tensor helpers. */
static inline ir_tensor *ir_in(const ir_graph *g, const ir_node *n, int i)
{
  return (i < n->n_in && n->in[i] >= 0) ? &g->tensors[n->in[i]] : NULL;
}
static inline ir_tensor *ir_out(const ir_graph *g, const ir_node *n, int i)
{
  return (i < n->n_out && n->out[i] >= 0) ? &g->tensors[n->out[i]] : NULL;
}
int64_t ir_tensor_numel(const ir_tensor *t); /* -1 if shape unknown */
size_t ir_tensor_bytes(const ir_tensor *t);
/* Set dtype and shape of an output. */
void ir_tensor_set(ir_tensor *t, onyx_dtype dt, int ndim, const int64_t *dims);
bool ir_shape_known(const ir_tensor *t);
/* Reads element i of an integer/bool tensor as int64 (for shape inputs). */
int64_t ir_tensor_get_i64(const ir_tensor *t, int64_t i);
/* Reads element i of a numeric tensor as double. */
double ir_tensor_get_f64(const ir_tensor *t, int64_t i);
/* "Conv node 'conv1'" — for error messages. */
const char *ir_node_desc(const ir_node *n, char *buf, size_t cap);

#endif
