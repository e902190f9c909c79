/* A tiny ONNX model builder for tests: fills protobuf-c Onnx__* structs and
 * packs them, so that tests make the (good and bad) models they need at run
 * time instead of committing binaries.
 *
 * Everything a builder allocates is owned by it and freed by mb_free().
 * Shapes are strings: "2,3" (dims), "N,3" (a symbolic dim), "" (a scalar),
 * NULL (unknown rank).  Name lists are comma-separated: "x,w,b"; an empty
 * item ("x,,b") is an omitted optional input. */
#ifndef ONYX_TESTS_MODEL_BUILDER_H
#define ONYX_TESTS_MODEL_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"
#include "onyx.h"

typedef struct mb mb;

/* A model with ir_version 8 that imports ai.onnx at this opset. */
mb *mb_new(int64_t opset);
void mb_free(mb *b);
Onnx__ModelProto *mb_proto(mb *b);
Onnx__GraphProto *mb_graph(mb *b);

/* Zeroed memory and string copies owned by the builder. */
void *mb_alloc(mb *b, size_t n);
char *mb_str(mb *b, const char *s);

void mb_opset(mb *b, const char *domain, int64_t version);
Onnx__ValueInfoProto *mb_input(mb *b, const char *name, int dtype, const char *shape);
Onnx__ValueInfoProto *mb_output(mb *b, const char *name, int dtype, const char *shape);

/* A tensor with raw_data copied from data (numel * dtype size bytes; NULL: zeros). */
Onnx__TensorProto *mb_tensor(mb *b, const char *name, int dtype, const char *shape, const void *data);
/* The same, added to the graph's initializers. */
Onnx__TensorProto *mb_init(mb *b, const char *name, int dtype, const char *shape, const void *data);
/* Moves a tensor's data to external storage: location, and offset/length
 * when not NULL (given as strings so that tests can pass malformed ones). */
void mb_external(mb *b, Onnx__TensorProto *t, const char *location, const char *offset, const char *length);

Onnx__NodeProto *mb_node(mb *b, const char *op_type, const char *name, const char *inputs,
                         const char *outputs);
void mb_attr_int(mb *b, Onnx__NodeProto *n, const char *name, int64_t v);
void mb_attr_float(mb *b, Onnx__NodeProto *n, const char *name, float v);
void mb_attr_ints(mb *b, Onnx__NodeProto *n, const char *name, size_t count, const int64_t *v);
void mb_attr_string(mb *b, Onnx__NodeProto *n, const char *name, const char *v);
void mb_attr_tensor(mb *b, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t);

/* Serialised model (malloc'd; the caller frees it).  NULL on failure. */
uint8_t *mb_pack(mb *b, size_t *len);
/* Writes the serialised model; 0 on success. */
int mb_write(mb *b, const char *path);
/* Packs and loads through onyx_model_load_memory (base_dir NULL). */
onyx_status mb_load(mb *b, onyx_model **out);

/* Writes len bytes to path; 0 on success. */
int mb_write_bytes(const char *path, const void *data, size_t len);

#endif
