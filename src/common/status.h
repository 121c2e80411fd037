// Status and Result<T>: how every layer reports failure. No exceptions cross a module
// boundary; the API edge maps a Status code to an HTTP status in one place.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace line {

// Codes mirror the wire error codes of SPEC.md so the API edge needs no second table.
enum class Code {
  kOk = 0,
  kInvalidInput,       // 400
  kPoolNotFound,       // 404
  kWorkerNotFound,     // 404
  kAllocNotFound,      // 404
  kEvalNotFound,       // 404
  kNotFound,           // 404, unknown path
  kPoolDisbanded,      // 409
  kAllocNotOwned,      // 409
  kAllocAlreadyEnded,  // 409
  kIdempotencyConflict,  // 409
  kPayloadTooLarge,    // 413
  kMethodNotAllowed,   // 405
  kStoreUnavailable,   // 503
  kInternal,           // 500: a bug
  kConflict,           // a conditional write lost its race; never leaves the server
};

// The wire name of a code, e.g. "PoolNotFound".
const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidInput(std::string m) { return {Code::kInvalidInput, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kStoreUnavailable, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status explaining its absence.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}          // NOLINT: implicit by design
  Result(Code code, std::string message) : status_(code, std::move(message)) {}

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace line

// Propagates a failed Status from an expression returning Status.
#define LINE_RETURN_IF_ERROR(expr)          \
  do {                                      \
    ::line::Status line_status_ = (expr);   \
    if (!line_status_.ok()) return line_status_; \
  } while (0)

#define LINE_CONCAT_INNER(a, b) a##b
#define LINE_CONCAT(a, b) LINE_CONCAT_INNER(a, b)
// Declares `lhs` from a Result-returning expression, or returns its Status.
#define LINE_ASSIGN_OR_RETURN(lhs, expr) \
  LINE_ASSIGN_OR_RETURN_IMPL(LINE_CONCAT(line_result_, __LINE__), lhs, expr)
#define LINE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
