/* A cheap walk over protobuf wire bytes before protobuf-c decodes them.
 *
 * protobuf-c decodes a nested message by recursing, with no depth limit and
 * about a kilobyte of stack a level: a file of a few hundred kilobytes that
 * nests TypeProto.sequence_type (or subgraph attributes) ten thousand deep
 * overflows the stack.  It also allocates one struct per message before onyx
 * can count anything, so a file of millions of empty nodes costs gigabytes.
 * wire_check walks the bytes iteratively, following the message descriptors
 * that protobuf-c generated from onnx.proto, and refuses such files first. */
#ifndef ONYX_ONNX_WIRE_CHECK_H
#define ONYX_ONNX_WIRE_CHECK_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "onyx.h"

/* Deepest message nesting accepted (the top-level message is 1).  The same as
 * protobuf's own default recursion limit, so every file the reference tools
 * read is accepted; 100 levels of protobuf-c take about 100 KiB of stack. */
#define WIRE_MAX_DEPTH 100

/* Most nodes (and, each separately, tensors and attributes) a model may hold,
 * subgraphs included: ONYX_MAX_NODES when set to a positive integer, else
 * 10,000,000.  All messages together may be 16 times that. */
size_t wire_max_nodes(void);

/* Checks the nesting depth and the message counts of a serialised message of
 * type desc.  Bytes that are not well-formed protobuf are left to protobuf-c
 * to refuse (ONYX_OK here): this check only looks for what protobuf-c would
 * accept but should not be asked to decode.  what names the input in errors. */
onyx_status wire_check(const void *data, size_t size, const ProtobufCMessageDescriptor *desc, const char *what);

#endif
