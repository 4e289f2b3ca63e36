#pragma once
// Deploy coordination in Hetzner Cloud itself, so every CI agent sees it: the deploy lock is a
// placement group named phoenix-lock-<service> (names are unique per project, so creating it
// is atomic), its holder in labels; the intent record is the labels of a placement group
// phoenix-intent-<service>, the freeze those of phoenix-freeze-<service>, a running watch those of
// phoenix-watch-<service>. History goes to a file store
// (`provider.state_dir`): put that on shared storage if every agent should see the same history.

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "shared/core/state_store.hpp"
#include "shared/hcloud/api.hpp"

namespace phoenix::hcloud {

class HcloudStateStore final : public StateStore {
 public:
  HcloudStateStore(Api& api, std::string service, std::string this_host, const util::Clock& clock,
                   std::unique_ptr<StateStore> history);

  std::string describe() const override;
  Result<LockOutcome> acquire_lock(const LockRequest& request) override;
  Status release_lock(const LockHolder& holder) override;
  Result<std::optional<LockHolder>> read_lock() override;
  std::optional<std::string> staleness(const LockHolder& holder, std::chrono::seconds stale_after) override;
  Status keep_lock(const LockHolder& holder) override;
  Status write_intent(const Intent& intent) override;
  Result<std::optional<Intent>> read_intent() override;
  Status clear_intent() override;
  Status write_watch(const WatchRecord& record) override;
  Result<std::optional<WatchRecord>> read_watch() override;
  Status clear_watch(const LockHolder& holder) override;
  Status write_freeze(const Freeze& freeze) override;
  Result<std::optional<Freeze>> read_freeze() override;
  Status clear_freeze() override;
  Status append_history(const HistoryEvent& event) override { return history_->append_history(event); }
  Result<HistoryLog> read_history() override { return history_->read_history(); }
  Result<std::optional<HistoryEvent>> last_switch() override { return history_->last_switch(); }

 private:
  // The placement group with this name: (id, labels), or nothing.
  Result<std::optional<std::pair<long long, std::map<std::string, std::string>>>> find_group(const std::string& name);
  Status create_group(const std::string& name, const std::map<std::string, std::string>& labels);
  // Creates the group, or replaces the labels of the one that exists.
  Status put_group(const std::string& name, const std::map<std::string, std::string>& labels);
  Status delete_group_named(const std::string& name);
  // Deletes the placement group; one that is already gone is not an error.
  Status delete_group(long long id);

  Api& api_;
  std::string service_;
  std::string this_host_;
  const util::Clock& clock_;
  std::unique_ptr<StateStore> history_;
};

}  // namespace phoenix::hcloud
