/* Run-time compilation of generated kernels with NVRTC (no GPU needed to
 * compile: a cubin for sm_XY is made from the source alone). */
#ifndef ONYX_BACKEND_CUDA_NVRTC_H
#define ONYX_BACKEND_CUDA_NVRTC_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* Compiles CUDA C++ source into a cubin for sm_<major><minor> (malloc'd into
 * *cubin).  Math as nvcc's defaults except --fmad=false, so that a*b+c is
 * rounded twice as on the CPU reference.  On failure: ONYX_ERR_BACKEND with
 * NVRTC's log (the start of it) in the message, after "name: ". */
onyx_status cuda_nvrtc_compile(const char *src, const char *name, int major, int minor, uint8_t **cubin,
                               size_t *size);
/* How many compilations this process has run (successful or not). */
int cuda_nvrtc_compiles(void);
/* "nvrtc13.0" into buf. */
void cuda_nvrtc_version(char *buf, size_t cap);

#endif
