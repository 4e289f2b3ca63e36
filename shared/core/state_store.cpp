#include "shared/core/state_store.hpp"

#include "shared/util/time_format.hpp"

namespace phoenix {

std::string LockHolder::who() const {
  std::string text = "pid " + std::to_string(pid) + " on " + (host.empty() ? "an unknown host" : host);
  if (!job.empty()) text += " (job " + job + ")";
  return text;
}

std::string LockHolder::describe() const {
  std::string text = who() + " since " + util::format_iso8601(since);
  if (!command.empty()) text += ", running '" + command + "'";
  return text;
}

std::optional<std::string> lock_staleness(const LockHolder& holder, const std::string& this_host, WallTime now,
                                          std::chrono::seconds stale_after, bool holder_process_running) {
  if (holder.host == this_host && !holder_process_running) {
    return "its holder (pid " + std::to_string(holder.pid) + " on this host) is no longer running";
  }
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - holder.since);
  if (age > stale_after) {
    return "it is " + std::to_string(age.count()) + " s old, older than the " + std::to_string(stale_after.count()) +
           " s limit";
  }
  return std::nullopt;
}

Status check_lock_takeover(const LockHolder& holder, const std::optional<std::string>& stale, bool break_lock) {
  if (!stale) {
    return Error{ErrorKind::refused, "another deploy holds the lock: " + holder.describe() +
                                         "; wait for it to finish (one deploy at a time per service)"};
  }
  if (!break_lock) {
    return Error{ErrorKind::refused, "the deploy lock is stale: " + *stale + " (held by " + holder.describe() +
                                         "); re-run with --break-lock to take it over"};
  }
  return {};
}

}  // namespace phoenix
