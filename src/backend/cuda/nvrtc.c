#include "backend/cuda/nvrtc.h"

#include <nvrtc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static int n_compiles;

int cuda_nvrtc_compiles(void) { return __atomic_load_n(&n_compiles, __ATOMIC_SEQ_CST); }

void cuda_nvrtc_version(char *buf, size_t cap)
{
  int major = 0, minor = 0;
  if (nvrtcVersion(&major, &minor) != NVRTC_SUCCESS) major = minor = 0;
  snprintf(buf, cap, "nvrtc%d.%d", major, minor);
}

/* The log, flattened to one line of at most cap - 1 bytes. */
static void program_log(nvrtcProgram prog, char *out, size_t cap)
{
  size_t n = 0;
  out[0] = '\0';
  if (nvrtcGetProgramLogSize(prog, &n) != NVRTC_SUCCESS || n <= 1) return;
  char *log = malloc(n);
  if (!log) return;
  if (nvrtcGetProgramLog(prog, log) == NVRTC_SUCCESS) {
    size_t k = 0;
    for (size_t i = 0; log[i] && k + 1 < cap; i++) {
      char c = log[i] == '\n' || log[i] == '\r' ? ' ' : log[i];
      if (c == ' ' && k && out[k - 1] == ' ') continue;
      out[k++] = c;
    }
    out[k] = '\0';
  }
  free(log);
}

/* A failed NVRTC call: the kernel's name, the call, file and line, NVRTC's
 * status and what else is known (the compile log). */
static onyx_status nvrtc_failed(nvrtcResult r, const char *call, const char *file, int line, const char *name,
                                const char *detail)
{
  return onyx_error(ONYX_ERR_BACKEND, "%s: %s failed at %s:%d: %s%s%s", name, call, file, line,
                    r == NVRTC_SUCCESS ? "no error reported" : nvrtcGetErrorString(r), detail[0] ? ": " : "",
                    detail);
}
#define NVRTC_FAILED(r, call, detail) nvrtc_failed((r), (call), __FILE__, __LINE__, name, (detail))

onyx_status cuda_nvrtc_compile(const char *src, const char *name, int major, int minor, uint8_t **cubin,
                               size_t *size)
{
  *cubin = NULL;
  *size = 0;
  __atomic_add_fetch(&n_compiles, 1, __ATOMIC_SEQ_CST);
  nvrtcProgram prog;
  nvrtcResult r = nvrtcCreateProgram(&prog, src, "onyx_generated.cu", 0, NULL, NULL);
  if (r != NVRTC_SUCCESS) return NVRTC_FAILED(r, "nvrtcCreateProgram", "");
  char arch[48];
  snprintf(arch, sizeof(arch), "--gpu-architecture=sm_%d%d", major, minor);
  const char *opts[] = {arch, "--fmad=false", "--std=c++17"};
  onyx_status st = ONYX_OK;
  r = nvrtcCompileProgram(prog, (int)ONYX_ARRAY_LEN(opts), opts);
  if (r != NVRTC_SUCCESS) {
    char log[640], detail[720];
    program_log(prog, log, sizeof(log));
    snprintf(detail, sizeof(detail), "compiling for sm_%d%d: %s", major, minor, log[0] ? log : "no log");
    st = NVRTC_FAILED(r, "nvrtcCompileProgram", detail);
    goto out;
  }
  size_t n = 0;
  if ((r = nvrtcGetCUBINSize(prog, &n)) != NVRTC_SUCCESS || n == 0) {
    st = NVRTC_FAILED(r, "nvrtcGetCUBINSize", n == 0 ? "an empty cubin" : "");
    goto out;
  }
  uint8_t *buf = onyx_malloc(n);
  if (!buf) {
    st = ONYX_ERR_NO_MEMORY;
    goto out;
  }
  if ((r = nvrtcGetCUBIN(prog, (char *)buf)) != NVRTC_SUCCESS) {
    free(buf);
    st = NVRTC_FAILED(r, "nvrtcGetCUBIN", "");
    goto out;
  }
  *cubin = buf;
  *size = n;
out:
  nvrtcDestroyProgram(&prog);
  return st;
}
