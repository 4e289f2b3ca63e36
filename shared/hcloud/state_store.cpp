#include "shared/hcloud/state_store.hpp"

#include <unistd.h>

#include <algorithm>

#include "shared/hcloud/labels.hpp"
#include "shared/http/url.hpp"
#include "shared/providers/file_state_store.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::hcloud {

namespace {

std::string lock_name(const std::string& service) { return "phoenix-lock-" + service; }
std::string intent_name(const std::string& service) { return "phoenix-intent-" + service; }
std::string freeze_name(const std::string& service) { return "phoenix-freeze-" + service; }
std::string watch_name(const std::string& service) { return "phoenix-watch-" + service; }
std::string freeze_guard_name(const std::string& service) { return "phoenix-freeze-guard-" + service; }

Labels holder_labels(const LockHolder& holder, const std::string& prefix) {
  return {{prefix + "host", label_value(holder.host)},
          {prefix + "pid", std::to_string(holder.pid)},
          {prefix + "start", std::to_string(holder.start_ticks)},
          {prefix + "job", label_value(holder.job)},
          {prefix + "command", label_value(holder.command)},
          {prefix + "since", unix_ms_label(holder.since)}};
}

LockHolder holder_from(const Labels& labels, const std::string& prefix) {
  const auto get = [&](const std::string& key) { return label_of(labels, prefix + key); };
  LockHolder holder;
  holder.host = get("host");
  holder.pid = static_cast<long>(util::parse_int(get("pid")).value_or(0));
  holder.start_ticks = static_cast<std::uint64_t>(std::max<std::int64_t>(util::parse_int(get("start")).value_or(0), 0));
  holder.job = get("job");
  holder.command = get("command");
  holder.since = from_unix_ms_label(get("since"));
  return holder;
}

Labels freeze_labels(const Freeze& freeze) {
  Labels labels{{"phoenix-freeze-all", freeze.all ? "true" : "false"},
                {"phoenix-freeze-since", unix_ms_label(freeze.since)}};
  if (auto reason = label_value(freeze.reason); !reason.empty()) labels["phoenix-freeze-reason"] = reason;
  if (auto by = label_value(freeze.by); !by.empty()) labels["phoenix-freeze-by"] = by;
  if (auto job = label_value(freeze.job); !job.empty()) labels["phoenix-freeze-job"] = job;
  return labels;
}

Freeze freeze_from(const Labels& labels) {
  const auto get = [&](const std::string& key) { return label_of(labels, key); };
  return Freeze{.reason = get("phoenix-freeze-reason"),
                .all = get("phoenix-freeze-all") == "true",
                .by = get("phoenix-freeze-by"),
                .job = get("phoenix-freeze-job"),
                .since = from_unix_ms_label(get("phoenix-freeze-since"))};
}

// Whether a watch group's labels record `holder`'s watch: the same process (host and pid).
bool watch_held_by(const Labels& labels, const LockHolder& holder) {
  const LockHolder owner = holder_from(labels, "phoenix-by-");
  return owner.host == label_value(holder.host) && owner.pid == holder.pid;
}

}  // namespace

HcloudStateStore::HcloudStateStore(Api& api, std::string service, std::string this_host, const util::Clock& clock,
                                   std::unique_ptr<StateStore> history)
    : api_(api),
      service_(std::move(service)),
      this_host_(label_value(this_host)),
      clock_(clock),
      history_(std::move(history)) {}

std::string HcloudStateStore::describe() const {
  return "Hetzner Cloud placement groups " + lock_name(service_) + " and " + intent_name(service_) + "; history in " +
         history_->describe();
}

Result<std::optional<std::pair<long long, Labels>>> HcloudStateStore::find_group(const std::string& name) {
  auto groups = api_.list("/placement_groups?name=" + http::url_encode(name), "placement_groups");
  if (!groups) return groups.error();
  if (groups->empty()) return std::optional<std::pair<long long, Labels>>{};
  const cJSON* group = groups->front().get();
  return std::optional<std::pair<long long, Labels>>(
      std::make_pair(static_cast<long long>(util::json_number(group, "id").value_or(0)), labels_of(group)));
}

Status HcloudStateStore::delete_group(long long id) {
  auto removed = api_.call({"DELETE", "/placement_groups/" + std::to_string(id), ""});
  // Already gone (404) is what was wanted; every other refusal is an error.
  if (!removed && !removed.error().is(ErrorCode::not_found)) return removed.error();
  return {};
}

Result<long long> HcloudStateStore::create_group(const std::string& name, const Labels& labels) {
  const std::string body = "{\"name\":\"" + name + "\",\"type\":\"spread\",\"labels\":" + labels_json(labels) + "}";
  PHX_TRY_ASSIGN(const auto created, api_.call({"POST", "/placement_groups", body}));
  const cJSON* group = cJSON_GetObjectItem(created.get(), "placement_group");
  return static_cast<long long>(util::json_number(group, "id").value_or(0));
}

Status HcloudStateStore::update_labels(long long id, const Labels& labels) {
  auto updated =
      api_.call({"PUT", "/placement_groups/" + std::to_string(id), "{\"labels\":" + labels_json(labels) + "}"});
  if (!updated) return updated.error();
  return {};
}

Status HcloudStateStore::put_group(const std::string& name, const Labels& labels) {
  PHX_TRY_ASSIGN(const auto group, find_group(name));
  if (group) return update_labels(group->first, labels);
  PHX_TRY(create_group(name, labels));
  return {};
}

Status HcloudStateStore::delete_group_named(const std::string& name) {
  PHX_TRY_ASSIGN(const auto group, find_group(name));
  if (!group) return {};
  return delete_group(group->first);
}

std::optional<std::string> HcloudStateStore::staleness(const LockHolder& holder, std::chrono::seconds stale_after) {
  return providers::staleness_seen_from(this_host_, clock_, holder, stale_after);
}

Result<std::optional<LockHolder>> HcloudStateStore::read_lock() {
  auto group = find_group(lock_name(service_));
  if (!group) return group.error();
  if (!group->has_value()) return std::optional<LockHolder>{};
  return std::optional<LockHolder>(holder_from((*group)->second, "phoenix-holder-"));
}

Result<LockOutcome> HcloudStateStore::acquire_lock(const LockRequest& request) {
  LockHolder me = request.holder;
  me.host = this_host_;
  const Labels labels = holder_labels(me, "phoenix-holder-");
  const auto created = create_group(lock_name(service_), labels);
  if (created.ok()) return LockOutcome{};
  if (!created.error().is(ErrorCode::already_exists)) return created.error();

  auto group = find_group(lock_name(service_));
  if (!group) return group.error();
  if (!group->has_value()) {
    // Released between our attempt and the look: try once more.
    PHX_TRY(create_group(lock_name(service_), labels));
    return LockOutcome{};
  }
  const LockHolder holder = holder_from((*group)->second, "phoenix-holder-");
  // A group without a holder host (made by hand) names nobody: its record is taken as one that
  // cannot be read. Its age still comes from its labels.
  const std::optional<LockHolder> named = holder.host.empty() ? std::nullopt : std::optional<LockHolder>(holder);
  PHX_TRY(check_lock_takeover(named, staleness(holder, request.stale_after), request.break_lock));
  PHX_TRY(delete_group((*group)->first));
  // Whoever creates it first after the removal holds it; a second breaker is refused here.
  const auto retaken = create_group(lock_name(service_), labels);
  if (!retaken.ok()) {
    if (retaken.error().is(ErrorCode::already_exists)) {
      return Error{ErrorKind::refused, "another command took over the stale deploy lock first", ErrorCode::lock_held};
    }
    return retaken.error();
  }
  return LockOutcome{.taken_over = LockTakeover{.holder = named}};
}

Status HcloudStateStore::release_lock(const LockHolder& holder) {
  auto group = find_group(lock_name(service_));
  if (!group) return group.error();
  if (!group->has_value()) return {};
  const LockHolder owner = holder_from((*group)->second, "phoenix-holder-");
  if (owner.host != this_host_ || owner.pid != holder.pid) return {};  // taken over meanwhile
  return delete_group((*group)->first);
}

Status HcloudStateStore::keep_lock(const LockHolder& holder) {
  PHX_TRY_ASSIGN(const auto current, read_lock());
  if (current && current->host == this_host_ && current->pid == holder.pid) return {};
  return Error{ErrorKind::refused,
               "the deploy lock is no longer ours: " +
                   (current ? "it was taken over by " + current->describe() : std::string("it was removed")) +
                   "; stopping before the next step",
               ErrorCode::lock_held};
}

Result<std::optional<Freeze>> HcloudStateStore::read_freeze() {
  PHX_TRY_ASSIGN(const auto group, find_group(freeze_name(service_)));
  if (!group) return std::optional<Freeze>{};
  return std::optional<Freeze>(freeze_from(group->second));
}

Status HcloudStateStore::replace_freeze(const std::optional<Freeze>& expected, const std::optional<Freeze>& next) {
  PHX_TRY_ASSIGN(const long long guard, take_freeze_guard());
  const Status replaced = replace_freeze_guarded(expected, next);
  // Released however the replacement went; one left behind goes stale (kFreezeGuardStale).
  const Status released = delete_group(guard);
  if (!replaced.ok()) return replaced;
  return released;
}

Result<long long> HcloudStateStore::take_freeze_guard() {
  const LockHolder me{.host = this_host_, .pid = static_cast<long>(::getpid()), .since = clock_.wall_now()};
  const Labels labels = holder_labels(me, "phoenix-holder-");
  const std::string name = freeze_guard_name(service_);
  auto created = create_group(name, labels);
  if (created || !created.error().is(ErrorCode::already_exists)) return created;
  PHX_TRY_ASSIGN(const auto group, find_group(name));
  if (group) {
    const LockHolder holder = holder_from(group->second, "phoenix-holder-");
    if (clock_.wall_now() - holder.since < kFreezeGuardStale) {
      return freeze_guard_busy("the placement group " + name, holder.who());
    }
    // Left by a writer that ended mid-way. Deleted by the id read as stale: a guard taken
    // meanwhile has another id, and of two that remove this one, one creates the next.
    PHX_TRY(delete_group(group->first));
  }
  created = create_group(name, labels);
  if (!created && created.error().is(ErrorCode::already_exists)) {
    return freeze_guard_busy("the placement group " + name, "another command, which replaced the stale one first");
  }
  return created;
}

// Labels always read as a record (a label missing reads empty): there is never an unreadable
// one to remove.
Status HcloudStateStore::clear_unreadable_freeze() {
  return freeze_changed_concurrently("placement group " + freeze_name(service_));
}

Status HcloudStateStore::replace_freeze_guarded(const std::optional<Freeze>& expected,
                                                const std::optional<Freeze>& next) {
  PHX_TRY_ASSIGN(const auto group, find_group(freeze_name(service_)));
  const std::optional<Freeze> current = group ? std::optional<Freeze>(freeze_from(group->second)) : std::nullopt;
  if (current != expected) return freeze_changed_concurrently("placement group " + freeze_name(service_));
  if (!next) return group ? delete_group(group->first) : Status{};
  if (group) return update_labels(group->first, freeze_labels(*next));
  auto created = create_group(freeze_name(service_), freeze_labels(*next));
  if (!created && created.error().is(ErrorCode::already_exists)) {
    return freeze_changed_concurrently("placement group " + freeze_name(service_));
  }
  if (!created) return created.error();
  return {};
}

// Hetzner Cloud has no conditional update or delete (no ETag, no If-Match), so a group's id
// stands for one watch's record: its holder updates it in place (a breach extends it); a later
// watch deletes it and creates its own, under a new id. clear_watch deletes by the id it read
// as its own, so a record written meanwhile (another id) is never what it removes.
Status HcloudStateStore::write_watch(const WatchRecord& record) {
  Labels labels = holder_labels(record.by, "phoenix-by-");
  labels["phoenix-watched"] = label_value(record.watched);
  if (record.fallback) labels["phoenix-fallback"] = label_value(*record.fallback);
  labels["phoenix-until"] = unix_ms_label(record.until);
  PHX_TRY_ASSIGN(const auto group, find_group(watch_name(service_)));
  if (group && watch_held_by(group->second, record.by)) return update_labels(group->first, labels);
  // Between this delete and the create no record exists: a later watch writes its record while
  // its switch holds the deploy lock, so no command that acts on the record (prune, delete,
  // archive, power-off take the lock) reads in between; status may show no watch for a moment.
  // The replacement cannot be made atomic with what Hetzner Cloud offers: a placement group's
  // name is unique in the project (the lock relies on it), so the new record cannot be created
  // under the name before the old one goes, and a rename to it is refused likewise (renaming the
  // old one away first leaves the same gap). Updating the old group's labels in place would be
  // atomic, but then an id no longer stands for one watch, and the ending watch's clear_watch
  // (read, then DELETE by id, with no If-Match) could remove the later watch's record. Records
  // under names of their own, found in one list call by a label selector (newest wins, the old
  // one deleted after the new one exists), would close the gap at the price of a new record
  // layout that every reader of the legacy name must learn.
  if (group) PHX_TRY(delete_group(group->first));
  PHX_TRY(create_group(watch_name(service_), labels));
  return {};
}

Result<std::optional<WatchRecord>> HcloudStateStore::read_watch() {
  PHX_TRY_ASSIGN(const auto group, find_group(watch_name(service_)));
  if (!group) return std::optional<WatchRecord>{};
  const auto get = [&](const std::string& key) { return label_of(group->second, key); };
  WatchRecord record;
  record.watched = get("phoenix-watched");
  if (record.watched.empty()) {
    return Error{ErrorKind::failed, "placement group " + watch_name(service_) +
                                        " names no watched pool; delete it if no watch is running"};
  }
  if (auto fallback = get("phoenix-fallback"); !fallback.empty()) record.fallback = fallback;
  record.by = holder_from(group->second, "phoenix-by-");
  record.until = from_unix_ms_label(get("phoenix-until"));
  return std::optional<WatchRecord>(record);
}

Status HcloudStateStore::clear_watch(const LockHolder& holder) {
  PHX_TRY_ASSIGN(const auto group, find_group(watch_name(service_)));
  if (!group || !watch_held_by(group->second, holder)) return {};  // none, or a later watch's
  // By the id read as ours: a later watch's record has another id (write_watch), and a group
  // already deleted by it answers 404, which delete_group takes as done.
  return delete_group(group->first);
}

Status HcloudStateStore::write_intent(const Intent& intent) {
  Labels labels = holder_labels(intent.by, "phoenix-by-");
  labels["phoenix-operation"] = to_string(intent.operation);
  labels["phoenix-target"] = intent.target;
  for (std::size_t i = 0; i < intent.from.size() && i < 8; ++i)
    labels["phoenix-from-" + std::to_string(i)] = intent.from[i];
  if (auto reason = label_value(intent.reason); !reason.empty()) labels["phoenix-reason"] = reason;
  labels["phoenix-started"] = unix_ms_label(intent.started_at);
  labels["phoenix-step"] = std::to_string(intent.step);
  labels["phoenix-steps"] = std::to_string(intent.steps);
  if (auto current = label_value(intent.current); !current.empty()) labels["phoenix-current"] = current;
  return put_group(intent_name(service_), labels);
}

Result<std::optional<Intent>> HcloudStateStore::read_intent() {
  auto group = find_group(intent_name(service_));
  if (!group) return group.error();
  if (!group->has_value()) return std::optional<Intent>{};
  const Labels& labels = (*group)->second;
  const auto get = [&](const std::string& key) { return label_of(labels, key); };
  Intent intent;
  const auto operation = parse_operation(get("phoenix-operation"));
  if (!operation) {
    return Error{ErrorKind::failed, "placement group " + intent_name(service_) +
                                        " holds no known operation; delete it if no deploy is running"};
  }
  intent.operation = *operation;
  intent.target = get("phoenix-target");
  for (int i = 0; i < 8 && !get("phoenix-from-" + std::to_string(i)).empty(); ++i) {
    intent.from.push_back(get("phoenix-from-" + std::to_string(i)));
  }
  intent.reason = get("phoenix-reason");
  intent.by = holder_from(labels, "phoenix-by-");
  intent.started_at = from_unix_ms_label(get("phoenix-started"));
  intent.step = static_cast<int>(util::parse_int(get("phoenix-step")).value_or(0));
  intent.steps = static_cast<int>(util::parse_int(get("phoenix-steps")).value_or(0));
  intent.current = get("phoenix-current");
  return std::optional<Intent>(intent);
}

Status HcloudStateStore::clear_intent() { return delete_group_named(intent_name(service_)); }

}  // namespace phoenix::hcloud
