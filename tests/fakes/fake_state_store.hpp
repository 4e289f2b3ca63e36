#pragma once
// An in-memory StateStore. Every intent written is kept, so tests see the per-step updates.

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
  Result<std::optional<LockHolder>> read_lock() override { return lock; }
  std::optional<std::string> staleness(const LockHolder&, std::chrono::seconds) override {
    return holder_gone ? std::optional<std::string>("its holder is gone") : std::nullopt;
  }
  Status write_intent(const Intent& intent) override;
  Result<std::optional<Intent>> read_intent() override { return intent; }
  Status clear_intent() override;
  Status append_history(const HistoryEvent& event) override;
  Result<std::vector<HistoryEvent>> read_history() override { return events; }

  std::optional<LockHolder> lock;
  bool holder_gone = false;
  int lock_acquisitions = 0;
  std::optional<Intent> intent;
  std::vector<Intent> intents_written;
  std::vector<HistoryEvent> events;
};

}  // namespace phoenix::fakes
