// RETURN_IF_ERROR / ASSIGN_OR_RETURN: the status macros that Debian 12's abseil (20220623) does not
// ship.
#ifndef WHALEFEED_COMMON_STATUS_MACROS_H_
#define WHALEFEED_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) and returns it from the enclosing function unless it is OK.
#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::absl::Status whalefeed_status_ = (expr);             \
    if (!whalefeed_status_.ok()) return whalefeed_status_; \
  } while (false)

#define WHALEFEED_STATUS_CONCAT_INNER_(a, b) a##b
#define WHALEFEED_STATUS_CONCAT_(a, b) WHALEFEED_STATUS_CONCAT_INNER_(a, b)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); returns its status from the
// enclosing function on error, else moves the value into `lhs` (which may be a declaration such as
// `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr)                                                              \
  WHALEFEED_ASSIGN_OR_RETURN_IMPL_(WHALEFEED_STATUS_CONCAT_(whalefeed_statusor_, __LINE__), lhs, \
                                   expr)

#define WHALEFEED_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                     \
  if (!statusor.ok()) return std::move(statusor).status();    \
  lhs = std::move(statusor).value()

#endif  // WHALEFEED_COMMON_STATUS_MACROS_H_
