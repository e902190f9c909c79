/* Comparing what an engine was built for with the system that loads it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/status.h"
#include "engine/format.h"

static const char *cuda_str(uint32_t v, char *buf, size_t cap)
{
  if (!v) return "none";
  snprintf(buf, cap, "%u.%u", v / 1000, v % 1000 / 10);
  return buf;
}

static const char *cudnn_str(uint32_t v, char *buf, size_t cap)
{
  if (!v) return "none";
  if (v >= 90000) /* cuDNN 9 changed the encoding from 1000*major to 10000*major */
    snprintf(buf, cap, "%u.%u.%u", v / 10000, v % 10000 / 100, v % 100);
  else
    snprintf(buf, cap, "%u.%u.%u", v / 1000, v % 1000 / 100, v % 100);
  return buf;
}

static const char *cublaslt_str(uint32_t v, char *buf, size_t cap)
{
  if (!v) return "none";
  snprintf(buf, cap, "%u.%u.%u", v / 10000, v % 10000 / 100, v % 100);
  return buf;
}

/* Appends one difference to msg, "; "-separated, truncating quietly at cap. */
static void add_diff(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_diff(char *msg, size_t cap, const char *fmt, ...)
{
  size_t len = strnlen(msg, cap);
  if (len && len + 2 < cap) {
    memcpy(msg + len, "; ", 3);
    len += 2;
  }
  if (len + 1 >= cap) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + len, cap - len, fmt, ap);
  va_end(ap);
}

bool eng_fingerprint_differs(const eng_fingerprint *engine, const eng_fingerprint *here, char *msg,
                             size_t cap)
{
  char a[32], b[32], scratch[1];
  const eng_fingerprint *e = engine, *h = here;
  if (!msg || !cap) {
    msg = scratch;
    cap = sizeof(scratch);
  }
  msg[0] = '\0';
  bool differs = false;
  if (strcmp(e->gpu_name, h->gpu_name) || e->cc_major != h->cc_major || e->cc_minor != h->cc_minor) {
    add_diff(msg, cap, "engine was built for %s (sm_%u%u), this GPU is %s (sm_%u%u)", e->gpu_name,
             e->cc_major, e->cc_minor, h->gpu_name, h->cc_major, h->cc_minor);
    differs = true;
  }
  if (e->cuda_runtime != h->cuda_runtime) {
    add_diff(msg, cap, "CUDA runtime %s vs %s here", cuda_str(e->cuda_runtime, a, sizeof(a)),
             cuda_str(h->cuda_runtime, b, sizeof(b)));
    differs = true;
  }
  if (e->cudnn != h->cudnn) {
    add_diff(msg, cap, "cuDNN %s vs %s here", cudnn_str(e->cudnn, a, sizeof(a)),
             cudnn_str(h->cudnn, b, sizeof(b)));
    differs = true;
  }
  if (e->cublaslt != h->cublaslt) {
    add_diff(msg, cap, "cuBLASLt %s vs %s here", cublaslt_str(e->cublaslt, a, sizeof(a)),
             cublaslt_str(h->cublaslt, b, sizeof(b)));
    differs = true;
  }
  if (h->precision[0] && strcmp(e->precision, h->precision)) {
    add_diff(msg, cap, "precision %s vs %s here", e->precision, h->precision);
    differs = true;
  }
  if (h->build_options[0] && strcmp(e->build_options, h->build_options)) {
    add_diff(msg, cap, "build options '%s' vs '%s' here", e->build_options, h->build_options);
    differs = true;
  }
  return differs;
}

onyx_status eng_fingerprint_check(const eng_fingerprint *engine, const eng_fingerprint *here)
{
  char msg[768];
  if (!eng_fingerprint_differs(engine, here, msg, sizeof(msg))) return ONYX_OK;
  return onyx_error(ONYX_ERR_UNSUPPORTED, "engine does not match this system: %s", msg);
}
