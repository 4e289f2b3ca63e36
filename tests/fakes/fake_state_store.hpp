#pragma once
// An in-memory StateStore. Every intent written is kept, so tests see the per-step updates.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/state_store.hpp"

namespace phoenix::fakes {

class FakeStateStore final : public StateStore {
 public:
  std::string describe() const override { return "fake state store"; }
  Result<LockOutcome> acquire_lock(const LockRequest& request) override;
  Status release_lock(const LockHolder& holder) override;
  Result<std::optional<LockHolder>> read_lock() override;
  std::optional<std::string> staleness(const LockHolder&, std::chrono::seconds) override {
    return holder_gone ? std::optional<std::string>("its holder is gone") : std::nullopt;
  }
  Status keep_lock(const LockHolder& holder) override;
  Status write_intent(const Intent& intent) override;
  Result<std::optional<Intent>> read_intent() override;
  Status clear_intent() override;
  Status write_watch(const WatchRecord& record) override;
  Result<std::optional<WatchRecord>> read_watch() override;
  Status clear_watch(const LockHolder& holder) override;
  Result<std::optional<Freeze>> read_freeze() override;
  Status replace_freeze(const std::optional<Freeze>& expected, const std::optional<Freeze>& next) override;
  Status clear_unreadable_freeze() override;
  Status append_history(const HistoryEvent& event) override;
  Result<HistoryLog> read_history() override;
  Result<std::optional<HistoryEvent>> last_switch() override;

  std::optional<LockHolder> lock;
  // A lock record is there but cannot be read (read_lock fails, not retryable): taking it needs
  // --break-lock, and the takeover names nobody. Taking it clears this.
  bool lock_record_unreadable = false;
  bool holder_gone = false;
  int lock_acquisitions = 0;
  // How many times each read was made: each is a file read, or an etcd round trip, so tests
  // count what a path costs.
  int keep_lock_calls = 0;
  int last_switch_reads = 0;
  int history_reads = 0;
  // Runs when acquire_lock took the lock: tests change the world between a command's look before
  // the lock and its look under it.
  std::function<void()> on_acquired;
  std::optional<Intent> intent;
  std::vector<Intent> intents_written;
  std::optional<Freeze> freeze;
  // Runs once, at the next replace_freeze, before it compares: a test changes the record
  // between a command's read and its write (another command froze meanwhile).
  std::function<void()> before_freeze_replaced;
  int freeze_replacements = 0;  // replace_freeze calls, whatever they answered
  // A freeze record that is there but cannot be read: why (read_freeze answers
  // ErrorCode::unreadable_record with it), until a write replaces it.
  std::optional<std::string> freeze_unreadable;
  // The holder of the guard freeze writes take, while another process holds it (guard_busy).
  std::optional<std::string> freeze_guard_holder;
  std::optional<WatchRecord> watch;
  std::vector<WatchRecord> watches_written;
  std::vector<bool> lock_held_at_watch_write;  // whether the lock was held at each write_watch
  std::vector<HistoryEvent> events;
  std::vector<std::string> unreadable_history;
  // Fail the next call of this kind ("append_history") with this error.
  std::map<std::string, Error> fail_next;
  // Fail every call of this kind ("read_intent", "read_lock", "read_history") with this error.
  std::map<std::string, Error> fail_always;
};

}  // namespace phoenix::fakes
