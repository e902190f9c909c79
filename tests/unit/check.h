/* Minimal test harness: CHECK macros count failures and keep going; each
 * test program ends with "return check_summary(argv[0]);". */
#ifndef ONYX_TESTS_CHECK_H
#define ONYX_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "onyx.h"

static int check_failures_;
static int check_count_;

#define CHECK(cond)                                                         \
  do {                                                                      \
    check_count_++;                                                         \
    if (!(cond)) {                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      check_failures_++;                                                    \
    }                                                                       \
  } while (0)

/* CHECK with a printf-style explanation of the failure. */
#define CHECKF(cond, ...)                                                    \
  do {                                                                       \
    check_count_++;                                                          \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                          \
      fputc('\n', stderr);                                                  \
      check_failures_++;                                                     \
    }                                                                        \
  } while (0)

#define CHECK_EQ_I64(a, b)                                                                      \
  do {                                                                                          \
    int64_t va_ = (int64_t)(a), vb_ = (int64_t)(b);                                             \
    check_count_++;                                                                             \
    if (va_ != vb_) {                                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%" PRId64 " vs %" PRId64 ")\n", __FILE__, \
              __LINE__, #a, #b, va_, vb_);                                                      \
      check_failures_++;                                                                        \
    }                                                                                           \
  } while (0)

/* A status, and when it is an error, that the message contains each of the
 * given substrings (NULL-terminated list). */
static inline int check_status_(const char *file, int line, const char *expr, onyx_status got,
                                onyx_status want, const char *const *subs)
{
  check_count_++;
  const char *msg = onyx_last_error();
  if (got != want) {
    fprintf(stderr, "%s:%d: %s returned %s, expected %s (message: %s)\n", file, line, expr,
            onyx_status_name(got), onyx_status_name(want), got == ONYX_OK ? "" : msg);
    check_failures_++;
    return 0;
  }
  for (; subs && *subs; subs++) {
    if (!strstr(msg, *subs)) {
      fprintf(stderr, "%s:%d: %s: message \"%s\" does not mention \"%s\"\n", file, line, expr, msg, *subs);
      check_failures_++;
      return 0;
    }
  }
  return 1;
}
#define CHECK_OK(expr) check_status_(__FILE__, __LINE__, #expr, (expr), ONYX_OK, NULL)
/* CHECK_ERR(expr, ONYX_ERR_SHAPE, "node 'add'", "broadcast") */
#define CHECK_ERR(expr, want, ...) \
  check_status_(__FILE__, __LINE__, #expr, (expr), (want), (const char *const[]){__VA_ARGS__, NULL})

static inline int check_summary(const char *name)
{
  if (check_failures_) {
    fprintf(stderr, "%s: %d of %d checks FAILED\n", name, check_failures_, check_count_);
    return 1;
  }
  printf("%s: all %d checks passed\n", name, check_count_);
  return 0;
}

#endif
