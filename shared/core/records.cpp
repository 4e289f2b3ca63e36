#include "shared/core/records.hpp"

#include "shared/util/time_format.hpp"

namespace phoenix::records {

namespace {

Error bad_record(const std::string& what) { return {ErrorKind::failed, "corrupt record: " + what}; }

std::string string_or(const cJSON* object, const char* key, std::string fallback = {}) {
  return util::json_string(object, key).value_or(std::move(fallback));
}

Result<WallTime> read_time(const cJSON* object, const char* key) {
  const auto text = util::json_string(object, key);
  if (!text) return bad_record(std::string("missing ") + key);
  const auto time = util::parse_iso8601(*text);
  if (!time) return bad_record(std::string(key) + " is not an ISO 8601 time: " + *text);
  return *time;
}

void add_time(cJSON* object, const char* key, WallTime time) {
  util::add_string(object, key, util::format_iso8601_ms(time));
}

}  // namespace

void write_metadata(cJSON* object, const PoolMetadata& meta) {
  util::add_string(object, "label", meta.label);
  add_time(object, "created_at", meta.created_at);
  util::add_string(object, "revision", meta.revision);
  util::add_string(object, "triggered_by", meta.triggered_by);
  util::add_string(object, "smoke", to_string(meta.smoke));
  util::add_string(object, "verdict", to_string(meta.verdict));
  util::add_string(object, "verdict_reason", meta.verdict_reason);
  if (!meta.verdict_by.empty()) util::add_string(object, "verdict_by", meta.verdict_by);
  if (meta.verdict_at) add_time(object, "verdict_at", *meta.verdict_at);
  if (!meta.rebuild_of.empty()) util::add_string(object, "rebuild_of", meta.rebuild_of);
  if (meta.rebuild_source != RebuildSource::unflagged) {
    util::add_string(object, "rebuild_source", to_string(meta.rebuild_source));
  }
  if (meta.last_wake) {
    cJSON* wake = cJSON_AddObjectToObject(object, "last_wake");
    util::add_string(wake, "from", to_string(meta.last_wake->from));
    util::add_number(wake, "ms", static_cast<double>(meta.last_wake->ms));
    add_time(wake, "at", meta.last_wake->at);
  }
}

Result<PoolMetadata> read_metadata(const cJSON* object) {
  PoolMetadata meta;
  meta.label = string_or(object, "label");
  if (meta.label.empty()) return bad_record("pool without a label");
  auto created = read_time(object, "created_at");
  if (!created) return created.error();
  meta.created_at = *created;
  meta.revision = string_or(object, "revision");
  meta.triggered_by = string_or(object, "triggered_by");
  const auto smoke = parse_smoke_verdict(string_or(object, "smoke", "pending"));
  const auto verdict = parse_live_verdict(string_or(object, "verdict", "unknown"));
  if (!smoke || !verdict) return bad_record("pool " + meta.label + " has an unknown verdict");
  meta.smoke = *smoke;
  meta.verdict = *verdict;
  meta.verdict_reason = string_or(object, "verdict_reason");
  meta.verdict_by = string_or(object, "verdict_by");
  // Only words about the verdict: a time that cannot be read is left out, not the whole pool.
  meta.verdict_at = util::parse_iso8601(string_or(object, "verdict_at"));
  meta.rebuild_of = string_or(object, "rebuild_of");
  const auto source = parse_rebuild_source(string_or(object, "rebuild_source", "unflagged"));
  if (!source) return bad_record("pool " + meta.label + " has an unknown rebuild_source");
  meta.rebuild_source = *source;
  if (const cJSON* wake = cJSON_GetObjectItemCaseSensitive(object, "last_wake"); cJSON_IsObject(wake)) {
    const auto from = parse_tier(string_or(wake, "from"));
    const auto ms = util::json_number(wake, "ms");
    auto at = read_time(wake, "at");
    if (!from || !ms || *ms < 0 || !at) return bad_record("pool " + meta.label + " has an unreadable last_wake");
    meta.last_wake = WakeRecord{*from, static_cast<long long>(*ms), *at};
  }
  return meta;
}

util::Json to_json(const LockHolder& holder) {
  util::Json object(cJSON_CreateObject());
  util::add_string(object.get(), "host", holder.host);
  util::add_number(object.get(), "pid", static_cast<double>(holder.pid));
  util::add_string(object.get(), "job", holder.job);
  util::add_string(object.get(), "command", holder.command);
  add_time(object.get(), "since", holder.since);
  if (holder.start_ticks != 0) util::add_number(object.get(), "start_ticks", static_cast<double>(holder.start_ticks));
  return object;
}

namespace {

// What makes `object` no lock holder, in words ("pid is not a number"), or "" when it is one as
// far as its type and its pid and since go: every writer writes both.
std::string not_a_lock_holder(const cJSON* object) {
  if (!cJSON_IsObject(object)) return "not a JSON object";
  const cJSON* pid = cJSON_GetObjectItemCaseSensitive(object, "pid");
  if (pid == nullptr) return "pid is missing";
  if (!cJSON_IsNumber(pid)) return "pid is not a number";
  const cJSON* since = cJSON_GetObjectItemCaseSensitive(object, "since");
  if (since == nullptr) return "since is missing";
  if (!cJSON_IsString(since)) return "since is not a string";
  return "";
}

}  // namespace

Result<LockHolder> lock_holder_from_json(const cJSON* object) {
  if (const auto wrong = not_a_lock_holder(object); !wrong.empty()) {
    return Error{ErrorKind::failed, "not a lock record: " + wrong};
  }
  LockHolder holder;
  holder.host = string_or(object, "host");
  holder.pid = static_cast<long>(util::json_number(object, "pid").value_or(0));
  holder.job = string_or(object, "job");
  holder.command = string_or(object, "command");
  auto since = read_time(object, "since");
  if (!since) return since.error();
  holder.since = *since;
  // Absent in records written before it was kept: then the pid alone identifies the holder.
  holder.start_ticks = static_cast<std::uint64_t>(util::json_number(object, "start_ticks").value_or(0));
  return holder;
}

util::Json to_json(const Intent& intent) {
  util::Json object(cJSON_CreateObject());
  util::add_string(object.get(), "operation", to_string(intent.operation));
  util::add_string(object.get(), "target", intent.target);
  cJSON* from = cJSON_AddArrayToObject(object.get(), "from");
  for (const auto& label : intent.from) cJSON_AddItemToArray(from, cJSON_CreateString(label.c_str()));
  util::add_string(object.get(), "reason", intent.reason);
  cJSON_AddItemToObject(object.get(), "by", to_json(intent.by).release());
  add_time(object.get(), "started_at", intent.started_at);
  util::add_number(object.get(), "step", intent.step);
  util::add_number(object.get(), "steps", intent.steps);
  util::add_string(object.get(), "current", intent.current);
  return object;
}

Result<Intent> intent_from_json(const cJSON* object) {
  Intent intent;
  const auto operation = parse_operation(string_or(object, "operation"));
  intent.target = string_or(object, "target");
  if (!operation || intent.target.empty()) return bad_record("intent without a known operation or a target");
  intent.operation = *operation;
  const cJSON* from = cJSON_GetObjectItemCaseSensitive(object, "from");
  const cJSON* label = nullptr;
  cJSON_ArrayForEach(label, from) {
    if (cJSON_IsString(label)) intent.from.emplace_back(label->valuestring);
  }
  intent.reason = string_or(object, "reason");
  if (const cJSON* by = cJSON_GetObjectItemCaseSensitive(object, "by"); cJSON_IsObject(by)) {
    auto holder = lock_holder_from_json(by);
    if (!holder) return holder.error().context("by");
    intent.by = *holder;
  }
  auto started = read_time(object, "started_at");
  if (!started) return started.error();
  intent.started_at = *started;
  intent.step = static_cast<int>(util::json_number(object, "step").value_or(0));
  intent.steps = static_cast<int>(util::json_number(object, "steps").value_or(0));
  intent.current = string_or(object, "current");
  return intent;
}

util::Json to_json(const HistoryEvent& event) {
  util::Json object(cJSON_CreateObject());
  add_time(object.get(), "at", event.at);
  util::add_string(object.get(), "action", to_string(event.action));
  util::add_string(object.get(), "label", event.label);
  util::add_string(object.get(), "from", event.from);
  util::add_string(object.get(), "result", to_string(event.result));
  util::add_number(object.get(), "duration_ms", static_cast<double>(event.duration_ms));
  util::add_string(object.get(), "by", event.by);
  if (!event.job.empty()) util::add_string(object.get(), "job", event.job);
  util::add_string(object.get(), "detail", event.detail);
  return object;
}

Result<HistoryEvent> history_event_from_json(const cJSON* object) {
  HistoryEvent event;
  auto at = read_time(object, "at");
  if (!at) return at.error();
  event.at = *at;
  const auto action = parse_history_action(string_or(object, "action"));
  if (!action) return bad_record("history event with an unknown action '" + string_or(object, "action") + "'");
  event.action = *action;
  event.label = string_or(object, "label");
  event.from = string_or(object, "from");
  const auto result = parse_history_result(string_or(object, "result"));
  if (!result) return bad_record("history event with an unknown result '" + string_or(object, "result") + "'");
  event.result = *result;
  event.duration_ms = static_cast<long long>(util::json_number(object, "duration_ms").value_or(0));
  event.by = string_or(object, "by");
  event.job = string_or(object, "job");
  event.detail = string_or(object, "detail");
  return event;
}

util::Json to_json(const WatchRecord& record) {
  util::Json object(cJSON_CreateObject());
  util::add_string(object.get(), "watched", record.watched);
  if (record.fallback) util::add_string(object.get(), "fallback", *record.fallback);
  cJSON_AddItemToObject(object.get(), "by", to_json(record.by).release());
  add_time(object.get(), "until", record.until);
  return object;
}

Result<WatchRecord> watch_record_from_json(const cJSON* object) {
  WatchRecord record;
  record.watched = string_or(object, "watched");
  if (record.watched.empty()) return bad_record("watch record without the watched pool");
  if (auto fallback = util::json_string(object, "fallback")) record.fallback = *fallback;
  const cJSON* by = cJSON_GetObjectItemCaseSensitive(object, "by");
  if (!cJSON_IsObject(by)) return bad_record("watch record without its holder");
  PHX_TRY_ASSIGN(record.by, lock_holder_from_json(by));
  PHX_TRY_ASSIGN(record.until, read_time(object, "until"));
  return record;
}

util::Json to_json(const Freeze& freeze) {
  util::Json object(cJSON_CreateObject());
  util::add_string(object.get(), "reason", freeze.reason);
  cJSON_AddBoolToObject(object.get(), "all", freeze.all);
  util::add_string(object.get(), "by", freeze.by);
  util::add_string(object.get(), "job", freeze.job);
  add_time(object.get(), "since", freeze.since);
  return object;
}

Result<Freeze> freeze_from_json(const cJSON* object) {
  Freeze freeze;
  freeze.reason = string_or(object, "reason");
  freeze.all = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(object, "all"));
  freeze.by = string_or(object, "by");
  freeze.job = string_or(object, "job");
  PHX_TRY_ASSIGN(freeze.since, read_time(object, "since"));
  return freeze;
}

}  // namespace phoenix::records
