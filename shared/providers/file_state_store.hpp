#pragma once
// A StateStore in a directory: the local provider's state directory, or any directory every
// CI agent mounts (NFS, a shared volume).
//
// Guarantees: the lock file is created with O_EXCL, so two runs never both hold it; the
// check-then-take of a stale lock is serialised by flock on a guard file (on one host, and
// across hosts where the filesystem supports flock, such as NFSv4). Intent and history writes
// are atomic and fsynced.

#include <filesystem>
#include <string>

#include "shared/core/state_store.hpp"
#include "shared/util/clock.hpp"

namespace phoenix::providers {

class FileStateStore final : public StateStore {
 public:
  FileStateStore(std::filesystem::path directory, std::string this_host, const util::Clock& clock);

  std::string describe() const override { return directory_.string(); }
  Result<LockOutcome> acquire_lock(const LockRequest& request) override;
  Status release_lock(const LockHolder& holder) override;
  Result<std::optional<LockHolder>> read_lock() override;
  std::optional<std::string> staleness(const LockHolder& holder, std::chrono::seconds stale_after) override;
  Status write_intent(const Intent& intent) override;
  Result<std::optional<Intent>> read_intent() override;
  Status clear_intent() override;
  Status append_history(const HistoryEvent& event) override;
  Result<std::vector<HistoryEvent>> read_history() override;

 private:
  std::filesystem::path lock_path() const { return directory_ / "deploy.lock"; }
  std::filesystem::path intent_path() const { return directory_ / "intent.json"; }
  std::filesystem::path history_path() const { return directory_ / "history.jsonl"; }

  std::filesystem::path directory_;
  std::string this_host_;
  const util::Clock& clock_;
};

// lock_staleness as judged on `this_host` now: a holder on this host is checked for being
// alive; one on another host only by age. Shared by the stores that keep the lock elsewhere.
std::optional<std::string> staleness_seen_from(const std::string& this_host, const util::Clock& clock,
                                               const LockHolder& holder, std::chrono::seconds stale_after);

}  // namespace phoenix::providers
