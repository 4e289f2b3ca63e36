#include "shared/core/verdict_history.hpp"

#include <algorithm>

#include "shared/util/time_format.hpp"

namespace phoenix {

namespace {

// Whether `event` marks `label` bad: a mark-bad of it, a watch's breach of it, or a rollback
// (by hand or automatic) away from it that got as far as its switch (a refused one marked nothing).
bool marks_bad(const HistoryEvent& event, const std::string& label) {
  if (event.result == HistoryResult::refused) return false;
  switch (event.action) {
    case HistoryAction::mark_bad:
    case HistoryAction::breach:
      return event.label == label;
    case HistoryAction::rollback:
    case HistoryAction::auto_rollback:
      return event.from_names(label);
    default:
      return false;
  }
}

}  // namespace

bool has_served(const std::vector<HistoryEvent>& events, const std::string& label) {
  return std::any_of(events.begin(), events.end(), [&](const HistoryEvent& event) {
    return is_switch(event.action) && event.result == HistoryResult::succeeded &&
           (event.label == label || event.from_names(label));
  });
}

std::optional<HistoryEvent> bad_mark_of(const std::vector<HistoryEvent>& events, const std::string& label) {
  std::optional<HistoryEvent> mark;
  for (const auto& event : events) {
    if (event.action == HistoryAction::mark_good && event.label == label) mark.reset();
    if (!mark && marks_bad(event, label)) mark = event;
  }
  return mark;
}

std::string describe_bad_mark(const Pool& pool, const std::optional<HistoryEvent>& mark) {
  std::string text = "marked bad";
  if (mark) {
    text += " by " + (mark->by.empty() ? std::string("someone") : mark->by) +
            (mark->job.empty() ? "" : " (job " + mark->job + ")") + " at " + util::format_iso8601(mark->at);
  } else if (!pool.meta.verdict_by.empty() || pool.meta.verdict_at) {
    if (!pool.meta.verdict_by.empty()) text += " by " + pool.meta.verdict_by;
    if (pool.meta.verdict_at) text += " at " + util::format_iso8601(*pool.meta.verdict_at);
  }
  if (!pool.meta.verdict_reason.empty()) text += ": " + pool.meta.verdict_reason;
  return text;
}

std::string describe_bad_mark_briefly(const Pool& pool) {
  return "marked bad" + (pool.meta.verdict_reason.empty() ? std::string() : " (" + pool.meta.verdict_reason + ")");
}

std::optional<HistoryEvent> unanswered_breach_of(const std::vector<HistoryEvent>& events, const std::string& watched,
                                                 WallTime since) {
  std::optional<HistoryEvent> breach;
  for (const auto& event : events) {
    if (event.at < since) continue;
    if (event.action == HistoryAction::breach && event.label == watched) {
      breach = event;
    } else if (breach && event.result != HistoryResult::refused &&
               (is_switch(event.action) || (event.action == HistoryAction::mark_good && event.label == watched))) {
      breach.reset();
    }
  }
  return breach;
}

}  // namespace phoenix
