#include "fakes/fake_state_store.hpp"

namespace phoenix::fakes {

Result<LockOutcome> FakeStateStore::acquire_lock(const LockRequest& request) {
  LockOutcome outcome;
  if (lock) {
    // The words and codes every store answers a held lock with.
    PHX_TRY(check_lock_takeover(*lock, staleness(*lock, request.stale_after), request.break_lock));
    outcome.taken_over = lock;
  }
  lock = request.holder;
  ++lock_acquisitions;
  return outcome;
}

Status FakeStateStore::release_lock(const LockHolder& holder) {
  if (lock && lock->pid == holder.pid && lock->host == holder.host) lock.reset();
  return {};
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
  events.push_back(event);
  return {};
}

}  // namespace phoenix::fakes
