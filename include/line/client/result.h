// libline's error and result types: what every call of line::client::Client returns.
//
// Plain values with no dependency on the server's sources, Boost or any JSON library, so
// programs built on libline (linectl, line-worker) only need include/line.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace line::client {

// Codes that the client itself reports, next to the API's own codes (InvalidInput,
// PoolNotFound, AllocAlreadyEnded, StoreUnavailable, ... see SPEC.md "HTTP API").
//
// No HTTP answer arrived: connection refused or reset, a timeout, or the connection dropped
// mid-request, on every attempt within the retry budget. For a call that changes state the
// outcome is then unknown (it may have committed).
inline constexpr std::string_view kUnreachable = "Unreachable";
// The server answered, but not with the JSON the API promises (http_status holds its status).
inline constexpr std::string_view kBadResponse = "BadResponse";
// The request was refused before it was sent, e.g. a payload or result that is not valid JSON
// text (http_status 0; the server saw nothing). Same code as the server's 400 on purpose:
// callers handle both alike.
inline constexpr std::string_view kInvalidInput = "InvalidInput";

// Why a call failed. Errors from the API carry its HTTP status, code and message verbatim.
struct Error {
  int http_status = 0;  // 0 = no HTTP answer (see the codes above)
  std::string code;
  std::string message;
  // HTTP attempts made for this call; more than 1 means the client retried (after a dropped
  // connection or a 503). (A retried CompleteAlloc whose first attempt committed is already
  // turned into success by the client: see Client::CompleteAlloc.)
  int attempts = 0;

  bool unreachable() const { return http_status == 0 && code == kUnreachable; }
  // "409 AllocAlreadyEnded: alloc ... already ended" or "Unreachable: connect ...: refused".
  std::string ToString() const {
    std::string out;
    if (http_status != 0) out = std::to_string(http_status) + " ";
    out += code;
    out += ": ";
    out += message;
    return out;
  }
};

// The answer of a call that returns no fields ({} on the wire).
struct Empty {};

// A value or an Error. Accessing the value of an error (or the error of a value) is a
// programming error and aborts with the error printed. Not synchronized, like any value type.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return CheckOk(), std::get<0>(v_); }
  const T& value() const& { return CheckOk(), std::get<0>(v_); }
  T&& value() && { return CheckOk(), std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    if (ok()) {
      std::fputs("line::client::Result::error() called on a value\n", stderr);
      std::abort();
    }
    return std::get<1>(v_);
  }

 private:
  void CheckOk() const {
    if (!ok()) {
      std::fprintf(stderr, "line::client::Result::value() called on an error: %s\n",
                   std::get<1>(v_).ToString().c_str());
      std::abort();
    }
  }

  std::variant<T, Error> v_;
};

}  // namespace line::client
