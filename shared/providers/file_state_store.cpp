#include "shared/providers/file_state_store.hpp"

#include <unistd.h>

#include "shared/core/records.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/process.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::providers {

namespace fs = std::filesystem;

FileStateStore::FileStateStore(fs::path directory, std::string this_host, const util::Clock& clock)
    : directory_(std::move(directory)), this_host_(std::move(this_host)), clock_(clock) {}

Result<std::optional<LockHolder>> FileStateStore::read_lock() {
  std::error_code ec;
  if (!fs::exists(lock_path(), ec)) return std::optional<LockHolder>{};
  auto text = util::read_file(lock_path());
  if (!text) return std::optional<LockHolder>{};  // released between the check and the read
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

Result<LockOutcome> FileStateStore::acquire_lock(const LockRequest& request) {
  PHX_TRY(util::make_directories(directory_));
  auto guard = util::FileLock::acquire(directory_ / "deploy.lock.guard");
  if (!guard) return guard.error();
  const std::string record = util::print_json(records::to_json(request.holder).get(), true);
  // O_EXCL makes the lock exclusive; durability adds nothing (a lock lost with the machine
  // had no living holder), so it is not fsynced: every deploy waits less.
  const auto created = util::create_exclusive(lock_path(), record, false);
  if (created.ok()) return LockOutcome{};
  if (created.error().kind != ErrorKind::refused) return created.error();

  auto current = read_lock();
  LockHolder holder;
  std::optional<std::string> stale;
  if (!current || !current->has_value()) {
    stale = "the lock file " + lock_path().string() + " cannot be read";
  } else {
    holder = **current;
    stale = staleness(holder, request.stale_after);
  }
  PHX_TRY(check_lock_takeover(holder, stale, request.break_lock));
  PHX_TRY(util::write_file_atomic(lock_path(), record));
  LockOutcome outcome;
  outcome.taken_over = holder;
  return outcome;
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

Status FileStateStore::write_intent(const Intent& intent) {
  PHX_TRY(util::make_directories(directory_));
  return util::write_file_atomic(intent_path(), util::print_json(records::to_json(intent).get(), true));
}

Result<std::optional<Intent>> FileStateStore::read_intent() {
  std::error_code ec;
  if (!fs::exists(intent_path(), ec)) return std::optional<Intent>{};
  auto text = util::read_file(intent_path());
  if (!text) return text.error();
  auto document = util::parse_json(*text, intent_path().string());
  if (!document) return document.error();
  auto intent = records::intent_from_json(document->get());
  if (!intent) return intent.error().context(intent_path().string());
  return std::optional<Intent>(*intent);
}

Status FileStateStore::clear_intent() {
  std::error_code ec;
  fs::remove(intent_path(), ec);
  if (ec) return Error{ErrorKind::failed, "cannot remove " + intent_path().string() + ": " + ec.message()};
  return {};
}

Status FileStateStore::append_history(const HistoryEvent& event) {
  PHX_TRY(util::make_directories(directory_));
  return util::append_file_durable(history_path(), util::print_json(records::to_json(event).get()) + "\n");
}

Result<std::vector<HistoryEvent>> FileStateStore::read_history() {
  std::vector<HistoryEvent> events;
  std::error_code ec;
  if (!fs::exists(history_path(), ec)) return events;
  auto text = util::read_file(history_path());
  if (!text) return text.error();
  for (const auto& line : util::split_lines(*text)) {
    if (util::trim(line).empty()) continue;
    // A torn last line (crash while appending) is skipped, not fatal.
    auto document = util::parse_json(line, history_path().string());
    if (!document) continue;
    auto event = records::history_event_from_json(document->get());
    if (event) events.push_back(*event);
  }
  return events;
}

}  // namespace phoenix::providers
