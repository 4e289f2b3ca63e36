#pragma once
// The `local` provider, the embedded default: every server is a real process of the release's
// artifact on its own loopback address and port. Each pool gets its own copy of the artifact,
// so a retained pool keeps running its own release whatever later builds do (invariant 7).
//
// State directory layout, per service:
//   pools/<label>/pool.json        metadata and servers (pid, address), written atomically
//   pools/<label>/pool.json.lock   flock: one run at a time creates, powers, updates or deletes it
//   pools/<label>/release/<name>   the pool's copy of the artifact
//   pools/<label>/logs/<id>.log    each server's stdout and stderr
//   pools/.deleting-<label>-<pid>  what a delete of <label> that stopped part-way left (listed as
//                                  the pool, half deleted; deleting it again finishes it)
//   address-counter                the last loopback address handed out
//
// Every server runs with the pool's directory as its working directory and HOME, so the
// servers of a pool whose pool.json is lost or corrupt are still found (in /proc) and stopped.

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "shared/core/provider.hpp"
#include "shared/providers/process_table.hpp"
#include "shared/util/clock.hpp"
#include "shared/util/files.hpp"
#include "shared/util/process.hpp"
#include "shared/util/reporter.hpp"

namespace phoenix::providers {

struct LocalProviderSettings {
  std::string service;
  std::filesystem::path state_dir;
  std::filesystem::path artifact;
  std::vector<std::string> command;  // {artifact} {host} {port} {label}
  std::chrono::seconds start_timeout{30};
  // Servers start with a clean environment, never the CI job's (it holds secrets): PATH,
  // HOME (the pool's directory), LANG=C.UTF-8, then these NAME, value pairs.
  std::vector<std::pair<std::string, std::string>> environment;
  // True once SIGINT, SIGTERM or SIGHUP asked the command to stop: waiting for servers to listen
  // ends with the interrupted error (they are recorded, and keep starting; a re-run adopts
  // them). Empty: never.
  std::function<bool()> stop_requested;
};

struct LocalServerRecord {
  std::string id;
  std::string host;
  int port = 0;
  util::ProcessIdentity process;
  // Whether `process` was released (ran its command). False from the record written before the
  // release until the one written after it: a run killed in between leaves a process that may
  // still be held. Records without the field count as released.
  bool released = true;
};

struct LocalPoolRecord {
  PoolMetadata meta;
  PowerState power = PowerState::on;
  bool complete = false;
  std::string artifact;  // path of the pool's copy, relative to the pool directory
  std::vector<LocalServerRecord> servers;
};

class LocalProvider final : public Provider {
 public:
  LocalProvider(LocalProviderSettings settings, util::Clock& clock, util::Reporter& reporter);

  std::string describe() const override;
  Result<std::vector<Pool>> list_pools() override;
  Result<Pool> create_pool(const PoolSpec& spec) override;
  Status destroy_pool(const Pool& pool) override;
  // A pool directory without pool.json and without a process of the pool: what a create that
  // failed before writing pool.json (disk full) left. Removed under the pool's lock, so never
  // while a create of it runs.
  Result<bool> remove_unrecorded(const std::string& label, bool dry_run) override;
  Status update_metadata(const PoolMetadata& meta) override;
  // Stopped processes cost nothing; the local provider keeps no images, so it has no cold tier.
  ProviderTiers tiers() const override { return {.off = true, .off_is_billed = false, .cold = false}; }
  Status set_power(const Pool& pool, PowerState power) override;
  Result<Archive> archive_pool(const Pool& pool, const BeforeDestroying& before_destroying) override;
  Result<Pool> restore_pool(const Pool& pool) override;
  Result<std::optional<PriceSheet>> prices() override { return std::optional<PriceSheet>(); }

  std::filesystem::path service_directory() const { return settings_.state_dir / settings_.service; }

 private:
  // Where a pool's release comes from: the configured artifact, or for a rebuild the copy in
  // the pool it rebuilds.
  Result<std::filesystem::path> release_source(const PoolMetadata& meta);
  std::filesystem::path pool_directory(const std::string& label) const;
  Result<LocalPoolRecord> load(const std::string& label) const;
  Status save(const LocalPoolRecord& record) const;
  Pool to_pool(const LocalPoolRecord& record) const;
  // The processes Phoenix started for pool `label` that run now, found in the process table,
  // not in its record: working in the pool's directory, with HOME set to it (see
  // server_environment) or running the pool's copy of the release.
  std::vector<ProcessFacts> find_pool_processes(const std::string& label) const;
  // The same in `directory`, where what a delete of pool `label` left was moved (its servers'
  // HOME and arguments still name the pool's own directory).
  std::vector<ProcessFacts> find_processes_in(const std::filesystem::path& directory, const std::string& label) const;
  // What deletes of pool `label` that stopped part-way left: the hidden directories
  // remove_pool_directory renamed its directory to, in name order.
  std::vector<std::filesystem::path> deletion_leftovers(const std::string& label) const;
  // Pool `label` as list_pools lists what deletes of it left (`leftovers`): unreadable and
  // `deleting`, with every server still running there.
  Pool half_deleted_pool(const std::string& label, const std::vector<std::filesystem::path>& leftovers) const;
  // Finishes the deletes of pool `label` that stopped part-way: stops whatever of it still runs
  // there, then removes every leftover. Nothing left is success.
  Status finish_deletion(const std::string& label) const;
  // A pool whose pool.json cannot be read (Provider::list_pools): its label, `problem`, and a
  // server per process found (its id from the log it writes, its address from the socket it
  // listens on).
  Pool unreadable_pool(const std::string& label, const std::string& problem) const;
  // The last step of deleting pool `label` (its processes stopped, under its lock): its directory
  // is renamed to a hidden .deleting-<label>-<pid> first, so a crash never leaves a pool that
  // lists as whole with part of it gone, then removed. What cannot be removed stays there, and
  // list_pools lists it as the pool, half deleted, until a delete finishes it.
  Status remove_pool_directory(const std::string& label) const;
  // The lock that serialises every change of one pool between runs (create, power, metadata,
  // destroy). Waits for another holder, reporting it, but not forever.
  Result<util::FileLock> lock_pool(const std::string& label) const;
  std::vector<std::string> server_command(const LocalPoolRecord& record, const LocalServerRecord& server) const;
  // Starts the servers at `indices` (all at once). Each is recorded in pool.json (pid and
  // start time) before it runs anything, and recorded again as released once it ran its
  // command; see util::GatedProcess.
  Status start_servers(LocalPoolRecord& record, const std::vector<std::size_t>& indices);
  // Stops every recorded process of `record` that runs but was not recorded as released: an
  // interrupted run was killed between recording and releasing it. Such a process is likely
  // still held; it exits by itself without running anything once it gets the CPU, which on a
  // loaded machine may be after a re-run looked, so it is never adopted. (Its creator is gone:
  // the caller holds the pool's lock, which the creator held.) Fails when one does not stop.
  Status stop_unreleased(const LocalPoolRecord& record) const;
  // Waits until each server at `indices` accepts connections. One that exits fails the call;
  // ones still not listening at provider.start_timeout_s are stopped, and the call fails.
  Status wait_until_listening(const LocalPoolRecord& record, std::vector<std::size_t> waiting);
  // Stops the unreleased processes an interrupted run left, starts every server of `record` not
  // running, adopts the ones running (an interrupted run started them), and waits for all of
  // them to listen.
  Status run_servers(LocalPoolRecord& record);
  Result<std::vector<std::string>> allocate_hosts(std::size_t count) const;
  std::vector<std::string> server_environment(const std::filesystem::path& pool_directory) const;

  LocalProviderSettings settings_;
  util::Clock& clock_;
  util::Reporter& reporter_;
};

}  // namespace phoenix::providers
