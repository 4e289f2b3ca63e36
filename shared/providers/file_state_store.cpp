#include "shared/providers/file_state_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "shared/core/records.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/process.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/unique_fd.hpp"

namespace phoenix::providers {

namespace fs = std::filesystem;

namespace {

// A JSON record file that may be absent: nothing, the parsed record, or an error naming the
// file and what is wrong with it.
template <class T, class Parse>
Result<std::optional<T>> read_record(const fs::path& path, Parse parse) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<T>{};
  PHX_TRY_ASSIGN(const auto text, util::read_file(path));
  PHX_TRY_ASSIGN(const auto document, util::parse_json(text, path.string()));
  auto record = parse(document.get());
  if (!record) return record.error().context(path.string());
  return std::optional<T>(std::move(*record));
}

// Decimal digits, all of them, into `value`.
bool parse_count(const std::string& text, std::uintmax_t& value) {
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  return error == std::errc{} && stop == end && !text.empty();
}

Status remove_file(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) return Error{ErrorKind::failed, "cannot remove " + path.string() + ": " + ec.message()};
  return {};
}

}  // namespace

FileStateStore::FileStateStore(fs::path directory, std::string this_host, const util::Clock& clock,
                               std::size_t history_keep, util::Reporter* reporter)
    : directory_(std::move(directory)),
      this_host_(std::move(this_host)),
      clock_(clock),
      history_keep_(std::max<std::size_t>(history_keep, 1)),
      reporter_(reporter) {}

Result<std::optional<LockHolder>> FileStateStore::read_lock() {
  std::error_code ec;
  if (!fs::exists(lock_path(), ec)) return std::optional<LockHolder>{};
  auto text = util::read_file(lock_path());
  if (!text) {
    // Released between the check and the read; otherwise a lock there that cannot be read (a
    // directory, no permission, an I/O error) still holds: acquire_lock refuses it as it does
    // an unreadable record, so every reader must see it too.
    if (!fs::exists(lock_path(), ec)) return std::optional<LockHolder>{};
    return text.error().context("the lock file " + lock_path().string() + " cannot be read");
  }
  auto document = util::parse_json(*text, lock_path().string());
  if (!document) return document.error();
  auto holder = records::lock_holder_from_json(document->get());
  if (!holder) return holder.error().context(lock_path().string());
  return std::optional<LockHolder>(*holder);
}

std::optional<std::string> staleness_seen_from(const std::string& this_host, const util::Clock& clock,
                                               const LockHolder& holder, std::chrono::seconds stale_after) {
  // Whether the holder still runs can only be told on its own host; elsewhere, its age decides.
  // Its start time tells the holder from a later process that reused its pid.
  const bool running = holder.host != this_host ||
                       util::is_running(util::ProcessIdentity{static_cast<pid_t>(holder.pid), holder.start_ticks});
  return lock_staleness(holder, this_host, clock.wall_now(), stale_after, running);
}

std::optional<std::string> FileStateStore::staleness(const LockHolder& holder, std::chrono::seconds stale_after) {
  return staleness_seen_from(this_host_, clock_, holder, stale_after);
}

// A lock taken over replaces the file by rename, which a directory in its place refuses: that
// (empty) directory goes first, so --break-lock does what the refusal said it would.
Status FileStateStore::clear_unreadable_lock() const {
  std::error_code ec;
  if (!fs::is_directory(lock_path(), ec)) return {};
  if (fs::remove(lock_path(), ec) && !ec) return {};
  return Error{ErrorKind::refused, "cannot take over the deploy lock: " + lock_path().string() +
                                       " is a directory that cannot be removed (" +
                                       (ec ? ec.message() : std::string("not empty")) +
                                       "); remove it by hand once no deploy or rollback runs"};
}

namespace {

// Taking the lock is the first change every switch, prune, delete and mark makes: when it
// cannot be written (a read-only or full file system), the command changed nothing.
Error nothing_changed(const Error& error) { return {error.kind, error.message + "; nothing was changed", error.code}; }

}  // namespace

Result<LockOutcome> FileStateStore::acquire_lock(const LockRequest& request) {
  if (auto made = util::make_directories(directory_); !made.ok()) return nothing_changed(made.error());
  auto guard = util::FileLock::acquire(directory_ / "deploy.lock.guard");
  if (!guard) return nothing_changed(guard.error());
  const std::string record = util::print_json(records::to_json(request.holder).get(), true);
  // Exclusive, and complete from the moment it has its name (see create_exclusive): an empty
  // lock file is only ever one an older version left, judged unreadable as before. Durability
  // adds nothing (a lock lost with the machine had no living holder), so it is not fsynced:
  // every deploy waits less.
  const auto created = util::create_exclusive(lock_path(), record, false);
  if (created.ok()) {
    remove_dead_writers_temporaries();
    return LockOutcome{};
  }
  if (created.error().kind != ErrorKind::refused) return nothing_changed(created.error());

  auto current = read_lock();
  std::optional<LockHolder> holder;  // nothing: the record cannot be read
  std::optional<std::string> stale;
  if (!current) {
    // Why, as the dry run and status say it: the reader's error names the file.
    stale = "its record cannot be read (" + current.error().message + ")";
  } else if (!current->has_value()) {
    stale = "the lock file " + lock_path().string() + " cannot be read";
  } else {
    holder = **current;
    stale = staleness(*holder, request.stale_after);
  }
  PHX_TRY(check_lock_takeover(holder, stale, request.break_lock));
  PHX_TRY(clear_unreadable_lock());
  PHX_TRY(util::write_file_atomic(lock_path(), record));
  remove_dead_writers_temporaries();
  return LockOutcome{.taken_over = LockTakeover{.holder = holder}};
}

void FileStateStore::remove_dead_writers_temporaries() const {
  util::remove_dead_writers_temporaries(
      directory_,
      {lock_path().filename().string(), intent_path().filename().string(), progress_path().filename().string(),
       freeze_path().filename().string(), watch_path().filename().string(), history_path().filename().string(),
       history_index_path().filename().string()});
}

Status FileStateStore::release_lock(const LockHolder& holder) {
  auto guard = util::FileLock::acquire(directory_ / "deploy.lock.guard");
  if (!guard) return guard.error();
  auto current = read_lock();
  if (!current) return current.error();
  if (!current->has_value()) return {};
  const LockHolder& owner = **current;
  if (owner.host != holder.host || owner.pid != holder.pid) return {};  // taken over meanwhile
  if (::unlink(lock_path().c_str()) != 0 && errno != ENOENT) {
    return Error{ErrorKind::failed, "cannot remove the deploy lock " + lock_path().string()};
  }
  return {};
}

Status FileStateStore::keep_lock(const LockHolder& holder) {
  PHX_TRY_ASSIGN(const auto current, read_lock());
  if (current && current->host == holder.host && current->pid == holder.pid) return {};
  return Error{ErrorKind::refused,
               "the deploy lock is no longer ours: " +
                   (current ? "it was taken over by " + current->describe() : std::string("it was removed")) +
                   "; stopping before the next step",
               ErrorCode::lock_held};
}

Status FileStateStore::write_intent(const Intent& intent) {
  PHX_TRY(util::make_directories(directory_));
  return util::write_file_atomic(intent_path(), util::print_json(records::to_json(intent).get(), true));
}

Status FileStateStore::write_intent_progress(const Intent& intent) {
  return util::write_file_atomic(progress_path(), util::print_json(records::to_json(intent).get(), true), 0644,
                                 util::Flush::atomic_only);
}

Result<std::optional<Intent>> FileStateStore::read_intent() {
  PHX_TRY_ASSIGN(auto intent, read_record<Intent>(intent_path(), records::intent_from_json));
  if (!intent) return intent;
  // The progress of the same switch, when it can be read: a progress file that is missing,
  // torn by a power loss, left by an earlier switch or naming a step the switch does not have
  // leaves the intent as written.
  auto progress = read_record<Intent>(progress_path(), records::intent_from_json);
  if (progress && *progress && same_switch(**progress, *intent) && (*progress)->step >= 0 &&
      (*progress)->step < intent->steps) {
    intent->step = (*progress)->step;
    intent->current = (*progress)->current;
  }
  return intent;
}

Status FileStateStore::clear_intent() {
  // The progress first: an intent without it reads as the switch's start, never the reverse.
  PHX_TRY(remove_file(progress_path()));
  return remove_file(intent_path());
}

Status FileStateStore::write_watch(const WatchRecord& record) {
  PHX_TRY(util::make_directories(directory_));
  auto guard = util::FileLock::acquire(directory_ / "watch.guard");
  if (!guard) return guard.error();
  return util::write_file_atomic(watch_path(), util::print_json(records::to_json(record).get(), true));
}

Result<std::optional<WatchRecord>> FileStateStore::read_watch() {
  return read_record<WatchRecord>(watch_path(), records::watch_record_from_json);
}

Status FileStateStore::clear_watch(const LockHolder& holder) {
  std::error_code ec;
  if (!fs::exists(watch_path(), ec)) return {};
  auto guard = util::FileLock::acquire(directory_ / "watch.guard");
  if (!guard) return guard.error();
  PHX_TRY_ASSIGN(const auto current, read_watch());
  if (!current || current->by.host != holder.host || current->by.pid != holder.pid) return {};  // a later watch's
  return remove_file(watch_path());
}

Result<std::optional<Freeze>> FileStateStore::read_freeze() {
  std::error_code ec;
  if (!fs::exists(freeze_path(), ec)) return std::optional<Freeze>{};
  // A read that failed is not the record's fault; text that is no freeze record is, whether it
  // is not JSON or JSON of another shape ('[]', a field missing).
  PHX_TRY_ASSIGN(const auto text, util::read_file(freeze_path()));
  auto document = util::parse_json(text, freeze_path().string());
  if (!document) return unreadable_freeze(document.error());
  auto record = records::freeze_from_json(document->get());
  if (!record) return unreadable_freeze(record.error().context(freeze_path().string()));
  return std::optional<Freeze>(std::move(*record));
}

Status FileStateStore::replace_freeze(const std::optional<Freeze>& expected, const std::optional<Freeze>& next) {
  PHX_TRY_ASSIGN(const auto guard, take_freeze_guard());
  PHX_TRY_ASSIGN(const auto current, read_freeze());
  if (current != expected) return freeze_changed_concurrently(freeze_path().string());
  if (!next) return remove_file(freeze_path());
  return util::write_file_atomic(freeze_path(), util::print_json(records::to_json(*next).get(), true));
}

Status FileStateStore::clear_unreadable_freeze() {
  PHX_TRY_ASSIGN(const auto guard, take_freeze_guard());
  const auto current = read_freeze();
  if (current) return freeze_changed_concurrently(freeze_path().string());
  if (!current.error().is(ErrorCode::unreadable_record)) return current.error();
  return remove_file(freeze_path());
}

Result<util::FileLock> FileStateStore::take_freeze_guard() {
  PHX_TRY(util::make_directories(directory_));
  // Its own guard, not the deploy lock: a freeze is made while a deploy runs. Never waited for:
  // a writer holds it for one read and one write, and one that holds it longer (stopped with
  // Ctrl-Z, a hung NFS server, a stuck process) is named, and the caller retries a bounded
  // number of times.
  const fs::path path = directory_ / "freeze.guard";
  PHX_TRY_ASSIGN(auto guard, util::FileLock::try_acquire(path));
  if (guard) return std::move(*guard);
  return freeze_guard_busy("the lock file " + path.string(), guard_holder(path));
}

std::string FileStateStore::guard_holder(const fs::path& guard) {
  const auto pid = util::flock_holder(guard);
  if (!pid) {
    return "another process (not one on this host: /proc/locks names no holder; it may run on another host "
           "sharing the state directory)";
  }
  // The kernel names the process that took the lock; one it started shares it, and holds it on
  // after that process ended (flock(1) running a command).
  if (const auto name = util::process_name(static_cast<pid_t>(*pid))) {
    return "pid " + std::to_string(*pid) + " (" + *name + ") on this host";
  }
  return "a process that pid " + std::to_string(*pid) +
         " (ended) started on this host, which keeps it open ('fuser -v " + guard.string() + "' names it)";
}

Status FileStateStore::append_history(const HistoryEvent& event) {
  PHX_TRY(util::make_directories(directory_));
  auto guard = util::FileLock::acquire(directory_ / "history.guard");
  if (!guard) return guard.error();
  PHX_TRY_ASSIGN(const bool mid_line, quarantine_torn_tail());
  PHX_TRY_ASSIGN(auto index, read_history_index());
  // Durability: the record (after the newline a whole last record lost, if any) is one write
  // with O_APPEND and one fsync of history.jsonl, so it is on disk when this returns. A torn
  // tail was copied to history.jsonl.torn and fsynced there, then cut and the cut fsynced,
  // before: a crash at any point loses no record. The index follows, replaced atomically and
  // durably (write_file_atomic), naming the size and inode of the history it covers. It is
  // derived: a crash after the record and before the index leaves an index that covers less
  // than the history, which read_history_index then rebuilds from the history (as one that is
  // missing or unreadable), so the last switch is never the one before a switch recorded.
  std::string record = mid_line ? "\n" : "";
  record += util::print_json(records::to_json(event).get()) + "\n";
  PHX_TRY(util::append_file_durable(history_path(), record));
  ++index.events;
  if (is_switch(event.action) && event.result == HistoryResult::succeeded) index.last_switch = event;
  // Appends all hold the guard, so the file grew by exactly the record; a file the append
  // created (or one that could not be stat'ed) is stat'ed anew.
  index.covers.bytes += record.size();
  if (index.covers.inode == 0) index.covers = history_coverage().value_or(HistoryCoverage{});
  if (index.events > history_keep_) PHX_TRY(trim_history(index));
  return write_history_index(index);
}

Result<bool> FileStateStore::quarantine_torn_tail() {
  // The last byte only, on every append; the whole file only when it is torn.
  {
    const util::UniqueFd fd(::open(history_path().c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return false;  // no history yet (any other problem shows in the append)
    struct stat info {};
    char last = '\n';
    if (::fstat(fd.get(), &info) != 0 || info.st_size == 0 || ::pread(fd.get(), &last, 1, info.st_size - 1) != 1 ||
        last == '\n') {
      return false;
    }
  }
  PHX_TRY_ASSIGN(const auto text, util::read_file(history_path()));
  const auto newline = text.rfind('\n');
  const std::size_t cut = newline == std::string::npos ? 0 : newline + 1;
  const std::string tail = text.substr(cut);
  // Blank, or whole with only its newline lost: the append that follows writes that newline
  // before its record, in the same write and fsync.
  if (util::trim(tail).empty()) return true;
  if (auto document = util::parse_json(tail, "tail"); document && records::history_event_from_json(document->get())) {
    return true;
  }
  PHX_TRY(util::append_line_durable(torn_history_path(), tail));
  if (::truncate(history_path().c_str(), static_cast<off_t>(cut)) != 0) {
    return Error{ErrorKind::failed,
                 "cannot cut the torn record from " + history_path().string() + ": " + std::strerror(errno)};
  }
  if (const util::UniqueFd fd(::open(history_path().c_str(), O_WRONLY | O_CLOEXEC)); fd) ::fsync(fd.get());
  if (reporter_ != nullptr) {
    reporter_->warning(history_path().string() + " ended in a record torn by a crash (" +
                       util::plural(tail.size(), "byte") + ": " + util::printable(tail, 60) + "); moved it to " +
                       torn_history_path().string() + ", which nothing reads");
  }
  return false;
}

Result<HistoryLog> FileStateStore::read_history() {
  HistoryLog log;
  std::error_code ec;
  if (!fs::exists(history_path(), ec)) return log;
  PHX_TRY_ASSIGN(const auto text, util::read_file(history_path()));
  const auto lines = util::split_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (util::trim(lines[i]).empty()) continue;
    const std::string where = history_path().string() + ":" + std::to_string(i + 1);
    auto document = util::parse_json(lines[i], where);
    auto event = document ? records::history_event_from_json(document->get()) : Result<HistoryEvent>(document.error());
    if (event) {
      log.events.push_back(std::move(*event));
    } else {
      // A torn last line is moved aside by the next append; one between two records (left by a
      // version that did not) stays until trimmed, so the line says how to clear it.
      const bool torn_tail = i + 1 == lines.size() && !text.empty() && text.back() != '\n';
      const std::string clearing = torn_tail ? "the next record written moves it to " + torn_history_path().string()
                                             : "to clear it, move line " + std::to_string(i + 1) + " into " +
                                                   torn_history_path().string() + " while no deploy or rollback runs";
      log.unreadable.push_back(where + ": unreadable record (a write torn by a crash?): " +
                               util::printable(lines[i], 60) + "; every other record is read, and " + clearing);
    }
  }
  return log;
}

Result<std::optional<HistoryEvent>> FileStateStore::last_switch() {
  PHX_TRY_ASSIGN(const auto index, read_history_index());
  return index.last_switch;
}

std::optional<FileStateStore::HistoryCoverage> FileStateStore::history_coverage() const {
  struct stat info {};
  if (::stat(history_path().c_str(), &info) == 0) {
    return HistoryCoverage{static_cast<std::uintmax_t>(info.st_size), static_cast<std::uintmax_t>(info.st_ino)};
  }
  if (errno == ENOENT) return HistoryCoverage{};
  return std::nullopt;
}

Result<FileStateStore::HistoryIndex> FileStateStore::read_history_index() {
  const auto parse = [](const cJSON* object) -> Result<HistoryIndex> {
    HistoryIndex index;
    index.events = static_cast<std::size_t>(util::json_number(object, "events").value_or(0));
    if (const cJSON* last = cJSON_GetObjectItemCaseSensitive(object, "last_switch"); cJSON_IsObject(last)) {
      PHX_TRY_ASSIGN(index.last_switch, records::history_event_from_json(last));
    }
    // Recorded as text: an inode (and a size) may exceed what a JSON number holds exactly.
    const auto bytes = util::json_string(object, "history_bytes");
    const auto inode = util::json_string(object, "history_inode");
    if (!bytes || !inode || !parse_count(*bytes, index.covers.bytes) || !parse_count(*inode, index.covers.inode)) {
      return Error{ErrorKind::failed, "does not say which history it covers"};
    }
    return index;
  };
  // The index first, then the history's size: an append in between shows as a history the
  // index does not cover (a rebuild, never a stale answer).
  auto stored = read_record<HistoryIndex>(history_index_path(), parse);
  const auto covered = history_coverage();
  if (stored && stored->has_value() && covered && (*stored)->covers == *covered) return **stored;
  // Missing (history written by an older version), unreadable, or stale (a crash between a
  // record and its index): rebuilt from the history.
  PHX_TRY_ASSIGN(const auto log, read_history());
  HistoryIndex index;
  index.covers = covered.value_or(HistoryCoverage{});
  index.events = log.events.size() + log.unreadable.size();
  for (auto it = log.events.rbegin(); it != log.events.rend() && !index.last_switch; ++it) {
    if (is_switch(it->action) && it->result == HistoryResult::succeeded) index.last_switch = *it;
  }
  return index;
}

Status FileStateStore::write_history_index(const HistoryIndex& index) {
  util::Json object(cJSON_CreateObject());
  util::add_number(object.get(), "events", static_cast<double>(index.events));
  util::add_string(object.get(), "history_bytes", std::to_string(index.covers.bytes));
  util::add_string(object.get(), "history_inode", std::to_string(index.covers.inode));
  if (index.last_switch)
    cJSON_AddItemToObject(object.get(), "last_switch", records::to_json(*index.last_switch).release());
  return util::write_file_atomic(history_index_path(), util::print_json(object.get(), true));
}

Status FileStateStore::trim_history(HistoryIndex& index) {
  PHX_TRY_ASSIGN(const auto text, util::read_file(history_path()));
  auto lines = util::split_lines(text);
  lines.erase(
      std::remove_if(lines.begin(), lines.end(), [](const std::string& line) { return util::trim(line).empty(); }),
      lines.end());
  const std::size_t kept = std::min(lines.size(), std::max<std::size_t>(history_keep_ * 9 / 10, 1));
  std::string content;
  for (std::size_t i = lines.size() - kept; i < lines.size(); ++i) content += lines[i] + "\n";
  PHX_TRY(util::write_file_atomic(history_path(), content));
  index.events = kept;
  // A new file: its inode is another, its size perhaps the one the index had before.
  index.covers = history_coverage().value_or(HistoryCoverage{});
  return {};
}

}  // namespace phoenix::providers
