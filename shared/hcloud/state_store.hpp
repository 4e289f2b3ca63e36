#pragma once
// Deploy coordination in Hetzner Cloud itself, so every CI agent sees it: the deploy lock is a
// placement group named phoenix-lock-<service> (names are unique per project, so creating it
// is atomic), its holder in labels; the intent record is the labels of a placement group
// phoenix-intent-<service>, the freeze those of phoenix-freeze-<service>, a running watch those of
// phoenix-watch-<service>. History goes to a file store
// (`provider.state_dir`): put that on shared storage if every agent should see the same history.
//
// The freeze is replaced only under a guard, since the API has no conditional update (no ETag,
// no If-Match): replace_freeze creates the placement group phoenix-freeze-guard-<service> (the
// API refuses a name that exists, so one command holds it at a time), then reads the freeze,
// compares it with the one expected, writes or deletes it, and deletes the guard. A guard older
// than kFreezeGuardStale (its writer ended mid-way) is deleted by the next writer. Guarded
// writers exclude each other as long as each finishes within that time; the API calls of one
// replacement take seconds.

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "shared/core/state_store.hpp"
#include "shared/hcloud/api.hpp"

namespace phoenix::hcloud {

class HcloudStateStore final : public StateStore {
 public:
  // A freeze guard older than this was left by a writer that ended mid-way: taken over.
  static constexpr std::chrono::seconds kFreezeGuardStale{120};

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
  Result<std::optional<Freeze>> read_freeze() override;
  // Read, compared and written while this command holds the freeze guard (see above).
  Status replace_freeze(const std::optional<Freeze>& expected, const std::optional<Freeze>& next) override;
  Status clear_unreadable_freeze() override;
  Status append_history(const HistoryEvent& event) override { return history_->append_history(event); }
  Result<HistoryLog> read_history() override { return history_->read_history(); }
  Result<std::optional<HistoryEvent>> last_switch() override { return history_->last_switch(); }

 private:
  // The placement group with this name: (id, labels), or nothing.
  Result<std::optional<std::pair<long long, std::map<std::string, std::string>>>> find_group(const std::string& name);
  // Creates the group and returns its id; ErrorCode::already_exists when the name is taken.
  Result<long long> create_group(const std::string& name, const std::map<std::string, std::string>& labels);
  Status update_labels(long long id, const std::map<std::string, std::string>& labels);
  // Creates the group, or replaces the labels of the one that exists.
  Status put_group(const std::string& name, const std::map<std::string, std::string>& labels);
  Status delete_group_named(const std::string& name);
  // Deletes the placement group; one that is already gone is not an error.
  Status delete_group(long long id);
  // Creates the freeze guard and returns its id, first deleting one older than
  // kFreezeGuardStale; guard_busy while another command holds it.
  Result<long long> take_freeze_guard();
  Status replace_freeze_guarded(const std::optional<Freeze>& expected, const std::optional<Freeze>& next);

  Api& api_;
  std::string service_;
  std::string this_host_;
  const util::Clock& clock_;
  std::unique_ptr<StateStore> history_;
};

}  // namespace phoenix::hcloud
