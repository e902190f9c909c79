#include "common/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MSG_CAP 1024
static _Thread_local char last_msg[MSG_CAP];

static const char *const status_names[] = {
    [ONYX_OK] = "ok",
    [ONYX_ERR_INVALID_ARG] = "invalid argument",
    [ONYX_ERR_IO] = "I/O error",
    [ONYX_ERR_PARSE] = "parse error",
    [ONYX_ERR_INVALID_MODEL] = "invalid model",
    [ONYX_ERR_UNSUPPORTED] = "unsupported",
    [ONYX_ERR_SHAPE] = "shape error",
    [ONYX_ERR_NO_MEMORY] = "out of memory",
    [ONYX_ERR_BACKEND] = "backend error",
    [ONYX_ERR_INTERNAL] = "internal error",
};
_Static_assert(sizeof(status_names) / sizeof(status_names[0]) == ONYX_STATUS_COUNT,
               "status_names must cover every onyx_status");

const char *onyx_status_name(onyx_status s)
{
  if ((unsigned)s >= ONYX_STATUS_COUNT) return "unknown status";
  return status_names[s];
}

const char *onyx_last_error(void) { return last_msg; }

void onyx_clear_error(void) { last_msg[0] = '\0'; }

onyx_status onyx_error(onyx_status s, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_msg, MSG_CAP, fmt, ap);
  va_end(ap);
  return s;
}

onyx_status onyx_error_context(onyx_status s, const char *fmt, ...)
{
  char prefix[MSG_CAP], old[MSG_CAP];
  size_t plen;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, MSG_CAP, fmt, ap);
  va_end(ap);
  memcpy(old, last_msg, MSG_CAP);
  plen = strlen(prefix);
  if (plen > MSG_CAP / 2) plen = MSG_CAP / 2; /* keep room for the original message */
  prefix[plen] = '\0';
  snprintf(last_msg, MSG_CAP, "%s: %.*s", prefix, (int)(MSG_CAP - plen - 3), old);
  return s;
}
