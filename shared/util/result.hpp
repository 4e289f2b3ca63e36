#pragma once
// Result types for failures a caller handles. Exceptions are only for aborting (see cli/app).
//
// An Error carries a kind that decides what the caller does with it: `timeout` and
// `unavailable` are worth retrying, the others are not. Each kind maps to one exit code.

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace phoenix {

enum class ErrorKind {
  failed,       // the operation ran and did not succeed (smoke test failed, pool unhealthy)
  invalid,      // usage or configuration error: the input is wrong
  refused,      // a safety rule said no (live pool, lock held)
  unavailable,  // an external system could not be reached or answered with an error
  timeout,      // an external system did not answer in time
};

// The documented exit code for an error kind: 1 failed, 2 usage, 3 refused, 4 unavailable.
int exit_code_for(ErrorKind kind);
const char* to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::failed;
  std::string message;

  bool retryable() const { return kind == ErrorKind::timeout || kind == ErrorKind::unavailable; }
  // The same error with context in front: "reading pool.json: <message>".
  Error context(const std::string& prefix) const { return {kind, prefix + ": " + message}; }
};

inline Error make_error(ErrorKind kind, std::string message) { return {kind, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace phoenix

// Returns the error of a Result<void> expression from the enclosing function.
#define PHX_TRY(expr)                                          \
  do {                                                         \
    auto phx_try_status_ = (expr);                             \
    if (!phx_try_status_.ok()) return phx_try_status_.error(); \
  } while (false)
