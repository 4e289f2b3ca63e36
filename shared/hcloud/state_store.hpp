#pragma once
// Deploy coordination in Hetzner Cloud itself, so every CI agent sees it: the deploy lock is a
// placement group named phoenix-lock-<service> (names are unique per project, so creating it
// is atomic), its holder in labels; the intent record is the labels of a placement group
// phoenix-intent-<service>. History goes to a file store (`provider.state_dir`): put that on
// shared storage if every agent should see the same history.

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
  Status write_intent(const Intent& intent) override;
  Result<std::optional<Intent>> read_intent() override;
  Status clear_intent() override;
  Status append_history(const HistoryEvent& event) override { return history_->append_history(event); }
  Result<std::vector<HistoryEvent>> read_history() override { return history_->read_history(); }

 private:
  // The placement group with this name: (id, labels), or nothing.
  Result<std::optional<std::pair<long long, std::map<std::string, std::string>>>> find_group(const std::string& name);
  Status create_group(const std::string& name, const std::map<std::string, std::string>& labels);
  // Deletes the placement group; one that is already gone is not an error.
  Status delete_group(long long id);

  Api& api_;
  std::string service_;
  std::string this_host_;
  const util::Clock& clock_;
  std::unique_ptr<StateStore> history_;
};

}  // namespace phoenix::hcloud
