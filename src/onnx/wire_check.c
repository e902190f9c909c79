/* Iterative pre-scan of protobuf wire bytes: nesting depth and message counts
 * (why: see wire_check.h). */
#include "onnx/wire_check.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/status.h"
#include "onnx.pb-c.h"

#define DEFAULT_MAX_NODES 10000000
#define ALL_MESSAGES_FACTOR 16

size_t wire_max_nodes(void)
{
  const char *env = getenv("ONYX_MAX_NODES");
  if (env && *env) {
    char *end;
    unsigned long long v = strtoull(env, &end, 10);
    if (*end == '\0' && v > 0 && v <= SIZE_MAX / ALL_MESSAGES_FACTOR) return (size_t)v;
  }
  return DEFAULT_MAX_NODES;
}

/* Reads a varint of at most 10 bytes below end; false if it is cut short or longer. */
static bool read_varint(const uint8_t *p, size_t *i, size_t end, uint64_t *v)
{
  *v = 0;
  for (int k = 0; k < 10 && *i < end; k++) {
    uint8_t b = p[(*i)++];
    *v |= (uint64_t)(b & 0x7f) << (7 * k);
    if (!(b & 0x80)) return true;
  }
  return false;
}

typedef struct frame {
  const ProtobufCMessageDescriptor *desc;
  size_t end; /* offset just past this message's bytes */
} frame;

typedef struct counted {
  const ProtobufCMessageDescriptor *desc;
  const char *what;
  size_t n;
} counted;

onyx_status wire_check(const void *data, size_t size, const ProtobufCMessageDescriptor *desc,
                       const char *what)
{
  const uint8_t *p = data;
  frame stack[WIRE_MAX_DEPTH];
  counted counts[] = {{&onnx__node_proto__descriptor, "nodes", 0},
                      {&onnx__tensor_proto__descriptor, "tensors", 0},
                      {&onnx__attribute_proto__descriptor, "attributes", 0}};
  const size_t limit = wire_max_nodes();
  size_t all = 0;
  int depth = 0; /* stack[depth] is the message being read */
  size_t i = 0;
  stack[0] = (frame){desc, size};
  for (;;) {
    while (depth > 0 && i == stack[depth].end) depth--;
    if (i >= stack[depth].end) break; /* the top-level message is done */
    size_t end = stack[depth].end, at = i;
    uint64_t key, len;
    if (!read_varint(p, &i, end, &key)) return ONYX_OK; /* malformed: protobuf-c says so */
    switch (key & 7) {
    case 0:
      if (!read_varint(p, &i, end, &len)) return ONYX_OK;
      break;
    case 1:
      if (end - i < 8) return ONYX_OK;
      i += 8;
      break;
    case 5:
      if (end - i < 4) return ONYX_OK;
      i += 4;
      break;
    case 2: {
      if (!read_varint(p, &i, end, &len) || len > end - i) return ONYX_OK;
      const ProtobufCFieldDescriptor *f = NULL;
      if (key >> 3 <= UINT32_MAX)
        f = protobuf_c_message_descriptor_get_field(stack[depth].desc, (unsigned)(key >> 3));
      if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE) { /* bytes, strings, packed numbers, unknown fields */
        i += (size_t)len;
        break;
      }
      const ProtobufCMessageDescriptor *sub = f->descriptor;
      if (depth + 1 >= WIRE_MAX_DEPTH)
        return onyx_error(ONYX_ERR_INVALID_MODEL,
                          "%s nests protobuf messages more than %d deep (%s at byte %zu, inside %s); "
                          "refused before decoding",
                          what, WIRE_MAX_DEPTH, sub->name, at, stack[depth].desc->name);
      if (++all > limit * ALL_MESSAGES_FACTOR)
        return onyx_error(ONYX_ERR_UNSUPPORTED,
                          "%s holds more than %zu protobuf messages (%d times the node limit; set "
                          "ONYX_MAX_NODES to change it)",
                          what, limit * ALL_MESSAGES_FACTOR, ALL_MESSAGES_FACTOR);
      for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++)
        if (sub == counts[k].desc && ++counts[k].n > limit)
          return onyx_error(ONYX_ERR_UNSUPPORTED,
                            "%s holds more than %zu %s (subgraphs included; set ONYX_MAX_NODES to change "
                            "the limit)",
                            what, limit, counts[k].what);
      stack[++depth] = (frame){sub, i + (size_t)len}; /* read its fields next */
      break;
    }
    default: return ONYX_OK; /* groups and invalid wire types: protobuf-c refuses them */
    }
  }
  return ONYX_OK;
}
