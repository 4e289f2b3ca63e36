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

// What exactly went wrong, for the callers that branch on it. The kind decides the exit code;
// the code decides what a caller does about it ("already there, carry on"). Callers never
// branch on message text, which is for people and may change. Most errors carry no code.
enum class ErrorCode {
  none,
  not_found,       // the thing addressed does not exist (any more)
  already_exists,  // creating something that is there already (a name that must be unique)
  lock_held,       // the deploy lock (or a per-pool lock) belongs to someone else
  // What taking the deploy lock (ops/deploy_lock) ran into, told apart from losing a lock held
  // (lock_held): a holder that is running, so waiting may help; or a stale one (its process is
  // gone, or the lock is too old), which nobody releases and only --break-lock takes.
  lock_busy,
  lock_stale,
  interrupted,   // SIGINT, SIGTERM or SIGHUP asked the command to stop
  no_candidate,  // a choice among several found none that qualifies (a rollback with no pool to go to)
  // A plain rollback found no pool to go to, but known-good pools newer than the live one can
  // serve ('rollback --to' goes to one of them).
  newer_candidates_only,
  // A conditional write found the record changed since the caller read it (another command
  // wrote it meanwhile), and wrote nothing: read again and decide again.
  changed_concurrently,
  // A conditional write found the guard that serialises its writers held by another process
  // (one that may be stuck), and wrote nothing: nobody changed the record; waiting for the
  // holder (or stopping it) helps, reading again does not.
  guard_busy,
  // A record is there but cannot be read as one (garbled, cut short, written by something
  // else): not a failure to reach the store.
  unreadable_record,
  // The balancer may be read but refuses every change through the access Phoenix has (HAProxy:
  // a stats socket below 'level admin'): a configuration error no switch can get past.
  changes_not_allowed,
};
const char* to_string(ErrorCode code);

struct Error {
  ErrorKind kind = ErrorKind::failed;
  std::string message;
  ErrorCode code = ErrorCode::none;

  bool retryable() const { return kind == ErrorKind::timeout || kind == ErrorKind::unavailable; }
  bool is(ErrorCode wanted) const { return code == wanted; }
  // The same error with context in front: "reading pool.json: <message>".
  Error context(const std::string& prefix) const { return {kind, prefix + ": " + message, code}; }
};

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

// Evaluates a Result<T> expression; returns its error from the enclosing function, else moves
// its value into `lhs` (a declaration such as `auto pools` or an existing variable):
//   PHX_TRY_ASSIGN(auto pools, services.provider.list_pools());
// It expands to several statements: inside an `if`, use braces.
#define PHX_TRY_ASSIGN(lhs, expr) PHX_TRY_ASSIGN_IMPL_(PHX_CONCAT_(phx_try_result_, __LINE__), lhs, expr)
#define PHX_TRY_ASSIGN_IMPL_(result, lhs, expr) \
  auto result = (expr);                         \
  if (!result.ok()) return result.error();      \
  lhs = std::move(result).value()
#define PHX_CONCAT_(a, b) PHX_CONCAT_INNER_(a, b)
#define PHX_CONCAT_INNER_(a, b) a##b
