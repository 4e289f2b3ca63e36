#include "shared/core/render.hpp"

#include <algorithm>
#include <cstdio>

#include "shared/core/planner.hpp"
#include "shared/core/tiers.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"

namespace phoenix {

namespace {

std::string servers_summary(const Pool& pool) {
  return std::to_string(pool.servers_running()) + "/" + std::to_string(pool.servers.size()) + " running";
}

cJSON* string_array(const std::vector<std::string>& values) {
  cJSON* array = cJSON_CreateArray();
  for (const auto& value : values) cJSON_AddItemToArray(array, cJSON_CreateString(value.c_str()));
  return array;
}

}  // namespace

std::string render_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

namespace {

// The pool's tier in words: "live" and "member" (in the balancer, routed or not yet removed)
// besides the retention tiers. Without the balancer, the provider's tier with a "?".
std::string tier_text(const PoolListing& listing, const Pool& pool) {
  if (pool.deleting) return "deleting (interrupted)";
  if (listing.balancer_error) return std::string(to_string(pool.tier())) + "?";
  if (has_label(listing.live, pool.label())) return "live";
  if (has_label(listing.hot, pool.label())) return "hot";
  if (has_label(listing.in_balancer, pool.label())) return "member";
  return to_string(pool.tier());
}

std::optional<MonthlyCost> cost_of(const PoolListing& listing, const Pool& pool) {
  if (!listing.prices) return std::nullopt;
  return estimate_monthly_cost(pool, *listing.prices, listing.tiers);
}

std::string cost_text(const PoolListing& listing, const Pool& pool) {
  if (listing.prices_error) return "?";
  if (!listing.prices) return "-";
  const auto cost = cost_of(listing, pool);
  return cost ? format_cost(*cost) : "?";
}

// What waking the pool from its tier took the last time any pool was woken from it.
std::string wake_text(const PoolListing& listing, const Pool& pool) {
  const std::string tier = tier_text(listing, pool);
  if (tier == "hot") return "none (on standby)";
  if (tier != "off" && tier != "cold") return tier == "running" ? "none" : "-";
  const auto measured = last_wake(listing.pools, pool.tier());
  return measured ? util::format_duration_ms(measured->wake.ms) : "not measured";
}

// "rebuild of 42", "rebuild of 42 (marked bad)", or "-".
std::string origin_text(const PoolMetadata& meta) {
  if (meta.rebuild_of.empty()) return "-";
  const auto source = describe(meta.rebuild_source);
  return "rebuild of " + meta.rebuild_of + (source.empty() ? "" : " (" + source + ")");
}

std::string servers_text(const Pool& pool) {
  if (pool.cold() && pool.servers.empty()) {
    return "0 (snapshot" + std::string(pool.archive->ready ? "" : " in progress") + ", " +
           util::plural(static_cast<std::size_t>(pool.archive->servers), "server") + ")";
  }
  std::string servers = servers_summary(pool);
  if (!pool.complete) servers += " (incomplete)";
  return servers;
}

}  // namespace

std::string render_pools_table(const PoolListing& listing) {
  if (listing.pools.empty()) return "no pools for service " + listing.service + "\n";
  std::vector<std::vector<std::string>> rows = {
      {"LABEL", "TIER", "SMOKE", "VERDICT", "SERVERS", "COST/MONTH", "WAKE", "CREATED", "REVISION", "ORIGIN"}};
  for (const auto& pool : listing.pools) {
    if (!pool.readable()) {
      // Nothing of its record is known: no verdicts, no creation time.
      rows.push_back({pool.label(), tier_text(listing, pool), "?", "?",
                      servers_summary(pool) + (pool.deleting ? " (half deleted)" : " (unreadable)"), "?", "?", "?", "?",
                      "?"});
      continue;
    }
    rows.push_back({pool.label(), tier_text(listing, pool), to_string(pool.meta.smoke), to_string(pool.meta.verdict),
                    servers_text(pool), cost_text(listing, pool), wake_text(listing, pool),
                    util::format_iso8601(pool.meta.created_at),
                    pool.meta.revision.empty() ? "-" : pool.meta.revision.substr(0, 12), origin_text(pool.meta)});
  }
  std::string out = render_table(rows);
  if (listing.prices) {
    out += "costs are estimates from the provider's net prices per month";
    out += listing.tiers.off_is_billed ? "; a powered-off server is billed like a running one\n" : "\n";
  }
  if (listing.prices_error) out += "costs unknown: " + *listing.prices_error + "\n";
  if (listing.left_on_standby) {
    const std::string operation = to_string(listing.left_by);
    out += "pool " + *listing.left_on_standby + " is left in standby by an interrupted " + operation +
           ": it never served, so it is no hot standby, and a switch elsewhere removes it ('deploy-pipeline status' "
           "says how to finish that " +
           operation + ")\n";
  }
  for (const auto& pool : listing.pools) {
    if (pool.readable()) continue;
    // Routed: a member in the balancer that is not an (idle) standby, which delete refuses.
    const bool routed =
        std::find(listing.in_balancer.begin(), listing.in_balancer.end(), pool.label()) != listing.in_balancer.end() &&
        std::find(listing.hot.begin(), listing.hot.end(), pool.label()) == listing.hot.end();
    const UnreadableWayOut way_out{
        .routed = routed, .make_live = pool_to_make_live(pool.label(), listing.pools, listing.live, listing.hot)};
    out += "\n" + describe_unreadable(pool, way_out) + "\n";
  }
  return out;
}

namespace {

void add_pool_tiers(cJSON* item, const PoolListing& listing, const Pool& pool) {
  util::add_string(item, "tier", tier_text(listing, pool));
  if (const auto cost = cost_of(listing, pool)) {
    cJSON* object = cJSON_AddObjectToObject(item, "monthly_cost");
    util::add_number(object, "amount", cost->amount);
    util::add_string(object, "currency", cost->currency);
    util::add_string(object, "basis", cost->basis);
  } else {
    cJSON_AddNullToObject(item, "monthly_cost");
  }
  const auto measured = pool.tier() == Tier::running ? std::nullopt : last_wake(listing.pools, pool.tier());
  if (measured) {
    cJSON* wake = cJSON_AddObjectToObject(item, "wake");
    util::add_string(wake, "from", to_string(measured->wake.from));
    util::add_number(wake, "ms", static_cast<double>(measured->wake.ms));
    util::add_string(wake, "measured_at", util::format_iso8601_ms(measured->wake.at));
    util::add_string(wake, "pool", measured->pool);
  } else {
    cJSON_AddNullToObject(item, "wake");
  }
  if (pool.archive) {
    cJSON* archive = cJSON_AddObjectToObject(item, "archive");
    util::add_string(archive, "id", pool.archive->id);
    util::add_bool(archive, "ready", pool.archive->ready);
    util::add_number(archive, "size_gb", pool.archive->size_gb);
    util::add_number(archive, "servers", pool.archive->servers);
  } else {
    cJSON_AddNullToObject(item, "archive");
  }
}

}  // namespace

std::string render_pools_json(const PoolListing& listing) {
  util::Json document(cJSON_CreateObject());
  util::add_string(document.get(), "service", listing.service);
  if (listing.balancer_error) util::add_string(document.get(), "balancer_error", *listing.balancer_error);
  if (listing.prices_error) util::add_string(document.get(), "prices_error", *listing.prices_error);
  cJSON* pools = cJSON_AddArrayToObject(document.get(), "pools");
  for (const auto& pool : listing.pools) {
    cJSON* item = cJSON_CreateObject();
    util::add_string(item, "label", pool.label());
    util::add_bool(item, "live", has_label(listing.live, pool.label()));
    util::add_bool(item, "hot", has_label(listing.hot, pool.label()));
    add_pool_tiers(item, listing, pool);
    util::add_string(item, "smoke", to_string(pool.meta.smoke));
    util::add_string(item, "verdict", to_string(pool.meta.verdict));
    util::add_string(item, "verdict_reason", pool.meta.verdict_reason);
    util::add_string(item, "power", to_string(pool.power));
    util::add_string(item, "created_at", util::format_iso8601_ms(pool.meta.created_at));
    util::add_string(item, "revision", pool.meta.revision);
    util::add_string(item, "triggered_by", pool.meta.triggered_by);
    util::add_string(item, "rebuild_of", pool.meta.rebuild_of);
    util::add_string(item, "rebuild_source", to_string(pool.meta.rebuild_source));
    util::add_bool(item, "complete", pool.complete);
    if (!pool.readable()) util::add_string(item, "unreadable", pool.unreadable);
    if (pool.deleting) util::add_bool(item, "deleting", true);
    cJSON* servers = cJSON_AddArrayToObject(item, "servers");
    for (const auto& server : pool.servers) {
      cJSON* entry = cJSON_CreateObject();
      util::add_string(entry, "id", server.id);
      util::add_string(entry, "address", server.address());
      util::add_string(entry, "state", to_string(server.state));
      cJSON_AddItemToArray(servers, entry);
    }
    cJSON_AddItemToArray(pools, item);
  }
  return util::print_json(document.get(), true);
}

std::string render_status_table(const StatusReport& report) {
  std::string out = "service  " + report.service + "\n";
  if (report.balancer_error) {
    out += "live     unknown (balancer: unavailable)\n";
  } else {
    std::vector<std::string> unknown;
    for (const auto& balancer : report.unanswered) unknown.push_back("balancer " + balancer.balancer + ": unknown");
    out += "live     " + (report.live.empty() ? std::string("none") : util::join(report.live, ", ")) +
           (unknown.empty() ? "" : " (" + util::join(unknown, ", ") + ")") + "\n";
  }
  for (const auto& pool : report.standby) out += "standby  " + pool.describe() + "\n";
  if (report.lock) out += "lock     held by " + describe_lock_line(*report.lock, report.lock_state) + "\n";
  if (report.watch) out += "watch    " + describe_watch_line(*report.watch) + "\n";
  for (const auto& note : report.notes) out += "note     " + note + "\n";
  if (!report.members.empty()) {
    out += "\n";
    // With several balancers each row says whose member it is.
    const bool several = std::any_of(report.members.begin(), report.members.end(),
                                     [](const MemberRow& member) { return !member.balancer.empty(); });
    std::vector<std::vector<std::string>> rows = {{"POOL", "SERVER", "ADDRESS", "STATE", "HEALTH", "CONNECTIONS"}};
    if (several) rows.front().insert(rows.front().begin(), "BALANCER");
    for (const auto& member : report.members) {
      rows.push_back({member.pool.empty() ? "?" : member.pool, member.server, member.address, member.state,
                      member.health, std::to_string(member.sessions)});
      if (several) rows.back().insert(rows.back().begin(), member.balancer);
    }
    out += render_table(rows);
  }
  out += "\n";
  if (report.problems.empty()) {
    out += "no problems\n";
  } else {
    out += "problems:\n";
    for (const auto& problem : report.problems) out += "  - " + problem + "\n";
  }
  return out;
}

std::string render_status_json(const StatusReport& report) {
  util::Json document(cJSON_CreateObject());
  util::add_string(document.get(), "service", report.service);
  cJSON_AddItemToObject(document.get(), "live", string_array(report.live));
  cJSON* standby = cJSON_AddArrayToObject(document.get(), "standby");
  for (const auto& pool : report.standby) {
    cJSON* item = cJSON_CreateObject();
    util::add_string(item, "pool", pool.label);
    util::add_number(item, "members", static_cast<double>(pool.members));
    util::add_number(item, "up", static_cast<double>(pool.up));
    util::add_string(item, "check", pool.check);
    cJSON_AddItemToObject(item, "checking", string_array(pool.checking));
    util::add_bool(item, "marked_bad", !pool.bad_mark.empty());
    util::add_string(item, "marked_bad_reason", pool.bad_reason);
    cJSON_AddItemToArray(standby, item);
  }
  cJSON_AddItemToObject(document.get(), "notes", string_array(report.notes));
  cJSON* members = cJSON_AddArrayToObject(document.get(), "members");
  for (const auto& member : report.members) {
    cJSON* item = cJSON_CreateObject();
    if (!member.balancer.empty()) util::add_string(item, "balancer", member.balancer);
    util::add_string(item, "pool", member.pool);
    util::add_string(item, "server", member.server);
    util::add_string(item, "address", member.address);
    util::add_string(item, "state", member.state);
    util::add_string(item, "health", member.health);
    util::add_number(item, "connections", member.sessions);
    cJSON_AddItemToArray(members, item);
  }
  cJSON_AddItemToObject(document.get(), "problems", string_array(report.problems));
  if (report.balancer_error) util::add_string(document.get(), "balancer_error", *report.balancer_error);
  if (report.state_store_error) util::add_string(document.get(), "state_store_error", *report.state_store_error);
  if (!report.unanswered.empty()) {
    cJSON* unanswered = cJSON_AddArrayToObject(document.get(), "unanswered_balancers");
    for (const auto& balancer : report.unanswered) {
      cJSON* item = cJSON_CreateObject();
      util::add_string(item, "balancer", balancer.balancer);
      util::add_string(item, "error", balancer.error);
      cJSON_AddItemToArray(unanswered, item);
    }
  }
  if (report.interrupted) {
    cJSON* interrupted = cJSON_AddObjectToObject(document.get(), "interrupted");
    util::add_string(interrupted, "operation", to_string(report.interrupted->operation));
    util::add_string(interrupted, "target", report.interrupted->target);
    util::add_number(interrupted, "step", report.interrupted->step);
    util::add_number(interrupted, "steps", report.interrupted->steps);
    util::add_string(interrupted, "started_at", util::format_iso8601(report.interrupted->started_at));
  }
  if (report.freeze) {
    cJSON* freeze = cJSON_AddObjectToObject(document.get(), "freeze");
    util::add_string(freeze, "reason", report.freeze->reason);
    util::add_bool(freeze, "all", report.freeze->all);
    util::add_string(freeze, "by", report.freeze->by);
    util::add_string(freeze, "since", util::format_iso8601(report.freeze->since));
  }
  if (report.watch) {
    cJSON* watch = cJSON_AddObjectToObject(document.get(), "watch");
    util::add_string(watch, "pool", report.watch->watched);
    if (report.watch->fallback) util::add_string(watch, "fallback", *report.watch->fallback);
    util::add_string(watch, "until", util::format_iso8601(report.watch->until));
    util::add_string(watch, "host", report.watch->by.host);
    util::add_number(watch, "pid", static_cast<double>(report.watch->by.pid));
    util::add_string(watch, "job", report.watch->by.job);
  }
  if (report.lock) {
    cJSON* lock = cJSON_AddObjectToObject(document.get(), "lock");
    util::add_string(lock, "host", report.lock->host);
    util::add_number(lock, "pid", static_cast<double>(report.lock->pid));
    util::add_string(lock, "job", report.lock->job);
    util::add_string(lock, "command", report.lock->command);
    util::add_string(lock, "since", util::format_iso8601(report.lock->since));
    util::add_string(lock, "state", to_string(report.lock_state));
  }
  return util::print_json(document.get(), true);
}

std::string status_problems_found(std::size_t problems, bool json) {
  return util::plural(problems, "problem") + " found; " +
         (json ? "see \"problems\" in the JSON on stdout" : "see above");
}

std::string render_history_table(const HistoryLog& log) {
  std::string unreadable;
  for (const auto& line : log.unreadable) unreadable += "unreadable: " + line + "\n";
  const auto& events = log.events;
  if (events.empty()) return "no deploys or rollbacks yet\n" + unreadable;
  std::vector<std::vector<std::string>> rows = {
      {"AT", "ACTION", "LABEL", "FROM", "RESULT", "DURATION", "BY", "JOB", "DETAIL"}};
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    // "-" for an empty field, so that every row has every column (a rollback refused for want
    // of a target names no label).
    rows.push_back({util::format_iso8601(it->at), to_string(it->action), it->label.empty() ? "-" : it->label,
                    it->from.empty() ? "-" : it->from, to_string(it->result), util::format_duration_ms(it->duration_ms),
                    it->by.empty() ? "-" : it->by, it->job.empty() ? "-" : it->job, util::printable(it->detail, 80)});
  }
  return render_table(rows) + unreadable;
}

std::string render_history_json(const std::string& service, const HistoryLog& log) {
  util::Json document(cJSON_CreateObject());
  util::add_string(document.get(), "service", service);
  cJSON* list = cJSON_AddArrayToObject(document.get(), "events");
  for (auto it = log.events.rbegin(); it != log.events.rend(); ++it) {
    cJSON* item = cJSON_CreateObject();
    util::add_string(item, "at", util::format_iso8601_ms(it->at));
    util::add_string(item, "action", to_string(it->action));
    util::add_string(item, "label", it->label);
    util::add_string(item, "from", it->from);
    util::add_string(item, "result", to_string(it->result));
    util::add_number(item, "duration_ms", static_cast<double>(it->duration_ms));
    util::add_string(item, "by", it->by);
    util::add_string(item, "job", it->job);
    util::add_string(item, "detail", it->detail);
    cJSON_AddItemToArray(list, item);
  }
  cJSON_AddItemToObject(document.get(), "unreadable", string_array(log.unreadable));
  return util::print_json(document.get(), true);
}

std::string format_recovery_time(long long milliseconds) {
  constexpr long long kMinute = 60 * 1000;
  constexpr long long kHour = 60 * kMinute;
  constexpr long long kDay = 24 * kHour;
  char buffer[48];
  if (milliseconds < kMinute) return util::format_duration_ms(milliseconds);
  if (milliseconds < kHour) {
    std::snprintf(buffer, sizeof buffer, "%lld min %02lld s", milliseconds / kMinute, milliseconds % kMinute / 1000);
  } else if (milliseconds < kDay) {
    std::snprintf(buffer, sizeof buffer, "%lld h %02lld min", milliseconds / kHour, milliseconds % kHour / kMinute);
  } else {
    std::snprintf(buffer, sizeof buffer, "%lld d %lld h", milliseconds / kDay, milliseconds % kDay / kHour);
  }
  return buffer;
}

std::string render_recovery_table(const RecoverySummary& summary, const std::vector<std::string>& unreadable) {
  std::string unreadable_lines;
  for (const auto& line : unreadable) unreadable_lines += "unreadable: " + line + "\n";
  if (summary.months.empty()) return "no deploys or rollbacks yet\n" + unreadable_lines;
  const auto time_or_dash = [](const std::optional<long long>& ms) {
    return ms ? format_recovery_time(*ms) : std::string("-");
  };
  std::vector<std::vector<std::string>> rows = {
      {"MONTH", "DEPLOYS", "ROLLBACKS", "AUTO-ROLLBACKS", "RECOVERIES", "MEDIAN TTR", "WORST TTR"}};
  for (const auto& month : summary.months) {
    rows.push_back({month.month, std::to_string(month.deploys), std::to_string(month.rollbacks),
                    std::to_string(month.auto_rollbacks), std::to_string(month.recoveries),
                    time_or_dash(month.median_recovery_ms), time_or_dash(month.worst_recovery_ms)});
  }
  std::string out = render_table(rows);
  out +=
      "months in UTC; time to recover (TTR): from the switch that made the rolled-back pool live to the end of "
      "the rollback; from " +
      util::plural(summary.events, "history event") +
      (summary.since ? " since " + util::format_iso8601(*summary.since) : std::string()) + "\n";
  return out + unreadable_lines;
}

std::string render_recovery_json(const std::string& service, const RecoverySummary& summary,
                                 const std::vector<std::string>& unreadable) {
  util::Json document(cJSON_CreateObject());
  util::add_string(document.get(), "service", service);
  util::add_number(document.get(), "events", static_cast<double>(summary.events));
  if (summary.since) {
    util::add_string(document.get(), "since", util::format_iso8601_ms(*summary.since));
  } else {
    cJSON_AddNullToObject(document.get(), "since");
  }
  const auto add_ms = [](cJSON* item, const char* key, const std::optional<long long>& ms) {
    if (ms) {
      util::add_number(item, key, static_cast<double>(*ms));
    } else {
      cJSON_AddNullToObject(item, key);
    }
  };
  cJSON* list = cJSON_AddArrayToObject(document.get(), "months");
  for (const auto& month : summary.months) {
    cJSON* item = cJSON_CreateObject();
    util::add_string(item, "month", month.month);
    util::add_number(item, "deploys", static_cast<double>(month.deploys));
    util::add_number(item, "rollbacks", static_cast<double>(month.rollbacks));
    util::add_number(item, "auto_rollbacks", static_cast<double>(month.auto_rollbacks));
    util::add_number(item, "recoveries", static_cast<double>(month.recoveries));
    add_ms(item, "median_recovery_ms", month.median_recovery_ms);
    add_ms(item, "worst_recovery_ms", month.worst_recovery_ms);
    cJSON_AddItemToArray(list, item);
  }
  cJSON_AddItemToObject(document.get(), "unreadable", string_array(unreadable));
  return util::print_json(document.get(), true);
}

namespace {

// What is live as the plan starts: the pools it replaces, or, where the target is live already
// (the re-run of an interrupted switch), every live pool, so two live at once read as such.
std::string live_now(const SwitchPlan& plan) {
  const std::string replacing = plan.from.empty() ? "" : "replacing " + util::join(plan.from, ", ");
  if (std::find(plan.live.begin(), plan.live.end(), plan.target) != plan.live.end()) {
    return "live now: " + util::join(plan.live, ", ") + (replacing.empty() ? "" : "; " + replacing);
  }
  return replacing.empty() ? "nothing is live now" : replacing;
}

}  // namespace

std::string render_plan(const SwitchPlan& plan) {
  std::string out = "plan: make pool " + plan.target + " live (" + live_now(plan) + ")\n";
  std::size_t number = 1;
  if (plan.wake) {
    out += "  " + std::to_string(number++) + ". wake pool " + plan.target + " from " + to_string(*plan.wake) + ": " +
           (*plan.wake == Tier::cold ? "recreate its servers from its archive" : "power its servers on") +
           ", smoke-test them\n";
    if (plan.steps.empty()) return out + "  then the switch, planned once its servers exist\n";
  }
  if (plan.steps.empty() && plan.restart_routes) {
    return out + "  nothing to switch: it is already the only live pool\n  " + std::to_string(number) + ". " +
           describe_restart_keeping(*plan.restart_routes, plan.keeping) + "\n";
  }
  if (plan.steps.empty()) return out + "  nothing to do: it is already the only live pool\n";
  for (const auto& step : plan.steps)
    out += "  " + std::to_string(number++) + ". " + describe(step, plan.keeping) + "\n";
  return out;
}

}  // namespace phoenix
