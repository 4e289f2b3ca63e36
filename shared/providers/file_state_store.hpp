#pragma once
// A StateStore in a directory: the local provider's state directory, or any directory every
// CI agent mounts (NFS, a shared volume).
//
// Guarantees: the lock file is created exclusively and complete (its record written to a
// temporary file, then linked to the lock's name, which fails when it exists), so two runs never
// both hold it and a lock file is never seen empty; the
// check-then-take of a stale lock is serialised by flock on a guard file (on one host, and
// across hosts where the filesystem supports flock, such as NFSv4), and so is the
// check-then-remove of a watch record (watch.json), and so is the read-compare-write of the
// freeze record (freeze.guard: two freezes never both replace the record they read). Intent,
// freeze, watch and history writes are atomic and fsynced. History is a file of JSON lines beside a small index
// (history-index.json: the number of events, the last successful switch, and which history
// file it was derived from: that file's size and inode), so the last switch is found without
// reading every event and the file is trimmed to `history_keep`. The index is written after the
// record, so a crash between the two writes leaves an index that no longer covers the history:
// a reader whose history file's size or inode differs from the index's never uses it, but scans
// the history instead (an append, under the history guard, then writes the index back). A
// last line a crash tore mid-write is moved to history.jsonl.torn by the next append (see
// quarantine_torn_tail), so it never ends up between two records, unreadable for good.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "shared/core/state_store.hpp"
#include "shared/util/clock.hpp"
#include "shared/util/files.hpp"
#include "shared/util/reporter.hpp"

namespace phoenix::providers {

class FileStateStore final : public StateStore {
 public:
  static constexpr std::size_t kDefaultHistoryKeep = 10000;
  // `reporter`, when given, hears once of a torn history record the store moved aside.
  FileStateStore(std::filesystem::path directory, std::string this_host, const util::Clock& clock,
                 std::size_t history_keep = kDefaultHistoryKeep, util::Reporter* reporter = nullptr);

  std::string describe() const override { return directory_.string(); }
  Result<LockOutcome> acquire_lock(const LockRequest& request) override;
  Status release_lock(const LockHolder& holder) override;
  Result<std::optional<LockHolder>> read_lock() override;
  std::optional<std::string> staleness(const LockHolder& holder, std::chrono::seconds stale_after) override;
  Status keep_lock(const LockHolder& holder) override;
  Status write_intent(const Intent& intent) override;
  // intent-progress.json beside intent.json, replaced atomically and never flushed.
  Status write_intent_progress(const Intent& intent) override;
  Result<std::optional<Intent>> read_intent() override;
  Status clear_intent() override;
  Status write_watch(const WatchRecord& record) override;
  Result<std::optional<WatchRecord>> read_watch() override;
  Status clear_watch(const LockHolder& holder) override;
  Result<std::optional<Freeze>> read_freeze() override;
  // Read, compared and written (atomically) under flock on freeze.guard.
  Status replace_freeze(const std::optional<Freeze>& expected, const std::optional<Freeze>& next) override;
  Status clear_unreadable_freeze() override;
  Status append_history(const HistoryEvent& event) override;
  Result<HistoryLog> read_history() override;
  Result<std::optional<HistoryEvent>> last_switch() override;

 private:
  // Which history.jsonl an index was derived from: its size, and its inode (a trim replaces
  // the file, perhaps by one of the size it had). {0, 0}: no history file.
  struct HistoryCoverage {
    std::uintmax_t bytes = 0;
    std::uintmax_t inode = 0;
    bool operator==(const HistoryCoverage&) const = default;
  };
  struct HistoryIndex {
    std::size_t events = 0;
    std::optional<HistoryEvent> last_switch;
    HistoryCoverage covers;
  };
  std::filesystem::path lock_path() const { return directory_ / "deploy.lock"; }
  // The temporary files writers of this store's files left when killed mid-write
  // (util::remove_dead_writers_temporaries): swept once per command, when it takes the lock,
  // rather than on every write (a switch writes its progress before every step).
  void remove_dead_writers_temporaries() const;
  // Removes an empty directory standing where the lock file belongs (see acquire_lock).
  Status clear_unreadable_lock() const;
  std::filesystem::path intent_path() const { return directory_ / "intent.json"; }
  std::filesystem::path progress_path() const { return directory_ / "intent-progress.json"; }
  std::filesystem::path freeze_path() const { return directory_ / "freeze.json"; }
  // flock on freeze.guard, not waited for: guard_busy (naming the holder's pid when this host's
  // /proc/locks lists it) while another process holds it.
  Result<util::FileLock> take_freeze_guard();
  // Who holds the flock on `guard`, as this host's /proc/locks and /proc/<pid> tell.
  static std::string guard_holder(const std::filesystem::path& guard);
  std::filesystem::path watch_path() const { return directory_ / "watch.json"; }
  std::filesystem::path history_path() const { return directory_ / "history.jsonl"; }
  std::filesystem::path history_index_path() const { return directory_ / "history-index.json"; }
  std::filesystem::path torn_history_path() const { return directory_ / "history.jsonl.torn"; }
  // Under the history guard, before an append: a history that does not end with a newline ends
  // in a record a crash tore. A tail that is blank or a whole record only lost its newline: true,
  // the append starts with it. Any other tail is appended (durably, first) to
  // history.jsonl.torn, kept for inspection and read by nothing, and then cut from the history
  // (the cut fsynced), with one warning: false, as for a history that ends a line or none yet.
  // Reads the last byte once; the whole file only when it does not end a line.
  Result<bool> quarantine_torn_tail();
  // The history file's size and inode now; nothing when it cannot be told (then no index
  // covers it).
  std::optional<HistoryCoverage> history_coverage() const;
  // The index when it covers the history file as it is now (one small read and one stat);
  // otherwise (missing, unreadable, written by a version that did not record what it covers,
  // or stale: a crash came between a record's append and the index's replacement) rebuilt from
  // a scan of the history, covering the file as it was stat'ed. Writes nothing: a caller under
  // the history guard writes the rebuilt index back.
  Result<HistoryIndex> read_history_index();
  Status write_history_index(const HistoryIndex& index);
  // Keeps the newest nine tenths of `history_keep` lines once there are more than it.
  Status trim_history(HistoryIndex& index);

  std::filesystem::path directory_;
  std::string this_host_;
  const util::Clock& clock_;
  std::size_t history_keep_;
  util::Reporter* reporter_;
};

// lock_staleness as judged on `this_host` now: a holder on this host is checked for being
// alive; one on another host only by age. Shared by the stores that keep the lock elsewhere.
std::optional<std::string> staleness_seen_from(const std::string& this_host, const util::Clock& clock,
                                               const LockHolder& holder, std::chrono::seconds stale_after);

}  // namespace phoenix::providers
