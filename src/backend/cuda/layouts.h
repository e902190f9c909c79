/* Which layouts each CUDA implementation accepts (engine/layout.h's layout_cap),
 * indexed by onyx_op next to cuda_ops[] (registry.c).  An op not listed is
 * LAYOUT_CAP_ROW_MAJOR: the layout pass surrounds it with reformats.  Declared
 * apart from cuda_backend.h so that GPU-free code (tests of the layout pass)
 * can read it without the CUDA headers. */
#ifndef ONYX_BACKEND_CUDA_LAYOUTS_H
#define ONYX_BACKEND_CUDA_LAYOUTS_H

#include <stdint.h>

#include "engine/layout.h"
#include "ops/ops.h"

extern const uint8_t cuda_op_layouts[ONYX_OP_COUNT];

#endif
