#include "fakes/fake_state_store.hpp"

#include <utility>

namespace phoenix::fakes {

Result<LockOutcome> FakeStateStore::acquire_lock(const LockRequest& request) {
  LockOutcome outcome;
  if (lock_record_unreadable) {
    // As every store judges a record it cannot read: stale, naming nobody.
    PHX_TRY(check_lock_takeover(std::nullopt, "the lock record cannot be read", request.break_lock));
    outcome.taken_over = LockTakeover{};
    lock_record_unreadable = false;
  } else if (lock) {
    // The words and codes every store answers a held lock with.
    PHX_TRY(check_lock_takeover(*lock, staleness(*lock, request.stale_after), request.break_lock));
    outcome.taken_over = LockTakeover{.holder = lock};
  }
  lock = request.holder;
  ++lock_acquisitions;
  if (on_acquired) on_acquired();
  return outcome;
}

Status FakeStateStore::release_lock(const LockHolder& holder) {
  if (lock && lock->pid == holder.pid && lock->host == holder.host) lock.reset();
  return {};
}

Result<std::optional<LockHolder>> FakeStateStore::read_lock() {
  if (const auto failure = fail_always.find("read_lock"); failure != fail_always.end()) return failure->second;
  if (lock_record_unreadable) return Error{ErrorKind::failed, "the lock record cannot be read"};
  return lock;
}

Result<std::optional<Intent>> FakeStateStore::read_intent() {
  if (const auto failure = fail_always.find("read_intent"); failure != fail_always.end()) return failure->second;
  return intent;
}

Status FakeStateStore::keep_lock(const LockHolder& holder) {
  ++keep_lock_calls;
  if (lock && lock->pid == holder.pid && lock->host == holder.host) return {};
  return Error{ErrorKind::refused, "the deploy lock is no longer ours", ErrorCode::lock_held};
}

Status FakeStateStore::write_watch(const WatchRecord& record) {
  if (const auto failure = fail_always.find("write_watch"); failure != fail_always.end()) return failure->second;
  watch = record;
  watches_written.push_back(record);
  lock_held_at_watch_write.push_back(lock.has_value());
  return {};
}

Result<std::optional<WatchRecord>> FakeStateStore::read_watch() {
  if (const auto failure = fail_always.find("read_watch"); failure != fail_always.end()) return failure->second;
  return watch;
}

Status FakeStateStore::clear_watch(const LockHolder& holder) {
  if (watch && watch->by.host == holder.host && watch->by.pid == holder.pid) watch.reset();
  return {};
}

Result<std::optional<Freeze>> FakeStateStore::read_freeze() {
  if (freeze_unreadable) return unreadable_freeze(Error{ErrorKind::invalid, *freeze_unreadable});
  return freeze;
}

Status FakeStateStore::replace_freeze(const std::optional<Freeze>& expected, const std::optional<Freeze>& next) {
  ++freeze_replacements;
  if (before_freeze_replaced) std::exchange(before_freeze_replaced, nullptr)();
  if (freeze_guard_holder) return freeze_guard_busy("fake freeze guard", *freeze_guard_holder);
  PHX_TRY(read_freeze());
  if (freeze != expected) return freeze_changed_concurrently("fake state store");
  freeze = next;
  return {};
}

Status FakeStateStore::clear_unreadable_freeze() {
  ++freeze_replacements;
  if (freeze_guard_holder) return freeze_guard_busy("fake freeze guard", *freeze_guard_holder);
  if (!freeze_unreadable) return freeze_changed_concurrently("fake state store");
  freeze_unreadable.reset();
  freeze.reset();
  return {};
}

Result<std::optional<HistoryEvent>> FakeStateStore::last_switch() {
  ++last_switch_reads;
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (is_switch(it->action) && it->result == HistoryResult::succeeded) return std::optional<HistoryEvent>(*it);
  }
  return std::optional<HistoryEvent>{};
}

Status FakeStateStore::write_intent(const Intent& written) {
  intent = written;
  intents_written.push_back(written);
  return {};
}

Status FakeStateStore::clear_intent() {
  intent.reset();
  return {};
}

Status FakeStateStore::append_history(const HistoryEvent& event) {
  if (const auto failure = fail_next.find("append_history"); failure != fail_next.end()) {
    const Error error = failure->second;
    fail_next.erase(failure);
    return error;
  }
  events.push_back(event);
  return {};
}

Result<HistoryLog> FakeStateStore::read_history() {
  ++history_reads;
  if (const auto failure = fail_always.find("read_history"); failure != fail_always.end()) return failure->second;
  return HistoryLog{events, unreadable_history};
}

}  // namespace phoenix::fakes
