/* Status and the thread-local last-error message. */
#ifndef ONYX_COMMON_STATUS_H
#define ONYX_COMMON_STATUS_H

#include "onyx.h"

/* Record an error message for this thread and return its status, so that
 * "return onyx_error(ONYX_ERR_IO, "cannot open '%s'", path);" reads naturally. */
onyx_status onyx_error(onyx_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the current message with context ("while loading X: ...") and pass s through. */
onyx_status onyx_error_context(onyx_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void onyx_clear_error(void);

#define ONYX_TRY(expr)                  \
  do {                                  \
    onyx_status try_st_ = (expr);       \
    if (try_st_ != ONYX_OK) return try_st_; \
  } while (0)

#endif
