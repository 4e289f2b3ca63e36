#pragma once
// The deploy lock as a scope: taken by deploy, rollback, repair, delete and prune, released
// when the scope ends (a crash leaves it behind; `lock_staleness` tells when it may be broken).

#include <optional>
#include <string>

#include "shared/ops/services.hpp"

namespace phoenix::ops {

struct LockScope;

class DeployLock {
 public:
  // Refused while another command holds the lock: `refused` with ErrorCode::lock_busy while
  // its holder runs, ErrorCode::lock_stale when the holder is stale and `break_lock` was not
  // given (see StateStore::staleness).
  static Result<DeployLock> take(Services& services, const std::string& command, bool break_lock);
  // The lock for a command that changes something; a dry run changes nothing and takes none,
  // but is refused as the real run would be (same kind and code, ErrorCode::lock_busy or
  // lock_stale, the message saying a real run would be refused and what to do) while another
  // command holds the lock, or its stale holder does and `break_lock` was not given; and fails
  // as the real run would ("a real 'rollback' would fail: ...") when Services::state_writable
  // says the lock could not be written.
  static Result<std::optional<DeployLock>> take_unless_dry_run(Services& services, const std::string& command,
                                                               bool dry_run, bool break_lock);
  // As take_unless_dry_run, also saying whether a dry run leaves the lock stale (LockScope).
  static Result<LockScope> take_or_look(Services& services, const std::string& command, bool dry_run, bool break_lock);
  DeployLock(DeployLock&& other) noexcept;
  DeployLock& operator=(DeployLock&&) = delete;
  DeployLock(const DeployLock&) = delete;
  DeployLock& operator=(const DeployLock&) = delete;
  ~DeployLock();

  const LockHolder& holder() const { return holder_; }
  // The stale holder this lock was taken over from (--break-lock), if it was: a command refused
  // after taking the lock has changed that much, and says so.
  const std::optional<LockTakeover>& taken_over() const { return taken_over_; }

 private:
  DeployLock(StateStore* store, util::Reporter* reporter, LockHolder holder, std::optional<LockTakeover> taken_over)
      : store_(store), reporter_(reporter), holder_(std::move(holder)), taken_over_(std::move(taken_over)) {}

  StateStore* store_;
  util::Reporter* reporter_;
  LockHolder holder_;
  std::optional<LockTakeover> taken_over_;
};

// What a command that may be a dry run has of the deploy lock.
struct LockScope {
  std::optional<DeployLock> held;  // a real run's lock; nothing in a dry run, which takes none
  // A dry run that would take over a stale lock (given --break-lock): it leaves the lock stale,
  // so every command it names takes the lock only with --break-lock (past_the_lock). Never for
  // a real run: one refused after it took the lock releases it.
  bool left_stale = false;
};

LockHolder make_holder(const Services& services, const std::string& command);

// When the lock's `holder` runs on this host but is stopped (SIGSTOP, Ctrl-Z): the problem, with
// the way out ("the deploy lock holder pid P is stopped (SIGSTOP/Ctrl-Z): 'kill -CONT P' lets it
// finish, 'kill -9 P' ends it, then --break-lock"). A stopped holder is not stale (it may go on),
// yet nothing it does is bounded while it stays stopped, and a SIGTERM waits with it. Status
// reports it as a problem; taking the lock (with --break-lock too) is refused with it.
std::optional<std::string> stopped_holder(const Services& services, const LockHolder& holder);
// The way out alone, for a `holder` stopped as stopped_holder tells: "'kill -CONT P' lets it
// finish, 'kill -9 P' ends it, then --break-lock"; nothing for one that is not.
std::optional<std::string> way_out_of_stopped_holder(const Services& services, const LockHolder& holder);

// A dry run's word for the refusal a real run of `command` would meet, with its kind and code
// (so its exit code): "a real 'deploy --label 2' would be refused: <refusal>". Every dry-run
// refusal (the lock's, a freeze's) is worded by it, so they read alike.
Error refused_in_a_real_run(const std::string& command, const Error& refusal);

}  // namespace phoenix::ops
