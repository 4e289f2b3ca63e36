#include "shared/notify/payload.hpp"

#include "shared/util/json.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"

namespace phoenix::notify {

namespace {

constexpr int kVersion = 1;
constexpr std::size_t kMaxWhy = 1000;
constexpr std::size_t kMaxField = 200;

// A field value as it may leave the program: secrets redacted, one printable line, bounded.
std::string clean(const std::string& value, std::size_t max_length = kMaxField) {
  return util::printable(value, max_length);
}

// What was done to which pool, in words: "deploy of pool 42", "rollback to pool 41" ("rollback"
// when it names none).
std::string action_phrase(const Notification& notification) {
  const std::string pool = "pool " + clean(notification.to);
  const bool has_pool = !notification.to.empty();
  switch (notification.action) {
    case HistoryAction::deploy:
      return "deploy of " + pool;
    // A rollback refused for want of a pool to go to, or a breach nothing answered, names none.
    case HistoryAction::rollback:
      return has_pool ? "rollback to " + pool : "rollback";
    case HistoryAction::auto_rollback:
      return has_pool ? "automatic rollback to " + pool : "automatic rollback";
    case HistoryAction::repair:
      return "repair to " + pool;
    case HistoryAction::delete_pool:
      return "delete of " + pool;
    case HistoryAction::prune:
      return "prune of " + pool;
    case HistoryAction::freeze:
      return has_pool ? "freeze at " + pool : "freeze";
    case HistoryAction::unfreeze:
      return "unfreeze";
    case HistoryAction::mark_bad:
      return "marking " + pool + " bad";
    case HistoryAction::mark_good:
      return "marking " + pool + " good";
    case HistoryAction::archive:
      return "archive of " + pool;
    case HistoryAction::wake:
      return "wake of " + pool;
    case HistoryAction::breach:
      return "watch of " + pool;
  }
  return to_string(notification.action);
}

std::string result_phrase(const Notification& notification) {
  if (notification.phase == NotificationPhase::start) return "started";
  const std::string duration = util::format_duration_ms(notification.duration_ms);
  switch (notification.result) {
    case HistoryResult::succeeded:
      return notification.duration_ms > 0 ? "succeeded in " + duration : "succeeded";
    case HistoryResult::failed:
      return notification.duration_ms > 0 ? "failed after " + duration : "failed";
    case HistoryResult::refused:
      return "was refused";
    case HistoryResult::interrupted:
      return notification.duration_ms > 0 ? "was interrupted after " + duration : "was interrupted";
  }
  return to_string(notification.result);
}

std::string from_text(const Notification& notification) {
  std::vector<std::string> labels;
  for (const auto& label : notification.from) labels.push_back(clean(label));
  return util::join(labels, ", ");
}

// The pools live when a switch started, as its one line says them: replaced by a switch that
// succeeded (or, at its start, is about to replace them); still live after a refusal, or a
// switch that failed with no target (an automatic rollback that found no pool to go to), which
// changed nothing; else where it started from (one that failed was taken out again, one
// interrupted may be half done).
std::string from_phrase(const Notification& notification) {
  const std::string from = from_text(notification);
  if (notification.phase == NotificationPhase::start || notification.result == HistoryResult::succeeded)
    return "replacing " + from;
  if (notification.result == HistoryResult::refused || notification.to.empty()) return from + " still live";
  return "from " + from;
}

cJSON* string_list(const std::vector<std::string>& values) {
  cJSON* array = cJSON_CreateArray();
  for (const auto& value : values) cJSON_AddItemToArray(array, cJSON_CreateString(clean(value).c_str()));
  return array;
}

// Slack reads &, < and > as markup ("<url|text>"); anything of ours is plain text.
std::string slack_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

void add_field(cJSON* fields, const char* title, const std::string& value, bool short_field = true) {
  if (value.empty()) return;
  cJSON* field = cJSON_CreateObject();
  util::add_string(field, "title", title);
  util::add_string(field, "value", slack_escape(value));
  util::add_bool(field, "short", short_field);
  cJSON_AddItemToArray(fields, field);
}

std::string steps_text(const Notification& notification) {
  // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive) on one long
  // concatenation that starts from a literal.
  std::string text;
  for (std::size_t i = 0; i < notification.steps.size(); ++i) {
    const auto& step = notification.steps[i];
    if (i > 0) text += '\n';
    text += std::to_string(i + 1);
    text += ". ";
    text += clean(step.step);
    text += " (";
    text += util::format_duration_ms(step.duration_ms);
    text += ')';
  }
  return text;
}

// Slack's attachment colours: green for success, red for failure, blue for a start.
const char* colour(const Notification& notification) {
  if (notification.phase == NotificationPhase::start) return "#439FE0";
  return notification.result == HistoryResult::succeeded ? "good" : "danger";
}

}  // namespace

std::string notification_text(const Notification& notification) {
  std::string text =
      clean(notification.service) + ": " + action_phrase(notification) + " " + result_phrase(notification);
  if (is_switch(notification.action) && !notification.from.empty()) text += " (" + from_phrase(notification) + ")";
  if (!notification.who.empty()) text += " by " + clean(notification.who);
  if (!notification.why.empty()) text += ": " + clean(notification.why, kMaxField);
  return text;
}

std::string notification_json(const Notification& notification) {
  util::Json document(cJSON_CreateObject());
  cJSON* root = document.get();
  util::add_number(root, "version", kVersion);
  util::add_string(root, "event", event_name(notification));
  util::add_string(root, "phase", notification.phase == NotificationPhase::start ? "start" : "end");
  util::add_string(root, "action", to_string(notification.action));
  util::add_string(root, "result", result_word(notification));
  util::add_string(root, "service", clean(notification.service));
  util::add_string(root, "at", util::format_iso8601_ms(notification.at));
  cJSON_AddItemToObject(root, "from", string_list(notification.from));
  util::add_string(root, "to", clean(notification.to));
  util::add_string(root, "who", clean(notification.who));
  util::add_string(root, "job", clean(notification.job));
  util::add_string(root, "why", clean(notification.why, kMaxWhy));
  cJSON* steps = cJSON_AddArrayToObject(root, "steps");
  for (const auto& step : notification.steps) {
    cJSON* item = cJSON_CreateObject();
    util::add_string(item, "step", clean(step.step));
    util::add_number(item, "duration_ms", static_cast<double>(step.duration_ms));
    cJSON_AddItemToArray(steps, item);
  }
  util::add_number(root, "duration_ms", static_cast<double>(notification.duration_ms));
  util::add_string(root, "text", notification_text(notification));
  return util::print_json(root);
}

std::string slack_message(const Notification& notification) {
  const std::string line = notification_text(notification);
  util::Json document(cJSON_CreateObject());
  util::add_string(document.get(), "text", slack_escape(line));
  cJSON* attachments = cJSON_AddArrayToObject(document.get(), "attachments");
  cJSON* attachment = cJSON_CreateObject();
  util::add_string(attachment, "color", colour(notification));
  util::add_string(attachment, "fallback", slack_escape(line));
  cJSON* fields = cJSON_AddArrayToObject(attachment, "fields");
  add_field(fields, "Event", event_name(notification));
  add_field(fields, "Service", clean(notification.service));
  add_field(fields, "To", clean(notification.to));
  add_field(fields, "From", from_text(notification));
  add_field(fields, "Who", clean(notification.who));
  add_field(fields, "Job", clean(notification.job));
  if (notification.phase == NotificationPhase::end) {
    add_field(fields, "Result", result_word(notification));
    add_field(fields, "Duration", util::format_duration_ms(notification.duration_ms));
  }
  add_field(fields, "Why", clean(notification.why, kMaxWhy), false);
  add_field(fields, "Steps", steps_text(notification), false);
  util::add_number(attachment, "ts",
                   static_cast<double>(
                       std::chrono::duration_cast<std::chrono::seconds>(notification.at.time_since_epoch()).count()));
  cJSON_AddItemToArray(attachments, attachment);
  return util::print_json(document.get());
}

}  // namespace phoenix::notify
