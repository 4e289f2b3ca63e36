#include "shared/core/status.hpp"

#include <algorithm>
#include <set>

#include "shared/core/planner.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"

namespace phoenix {

std::string member_state_name(const Member& member) {
  if (member.admin == AdminState::ready && member.weight == 0) return "standby";
  return to_string(member.admin);
}

std::string StandbyPool::describe() const {
  std::string text = "pool " + label + ", " + std::to_string(up) + "/" + std::to_string(members) + " UP";
  if (!check.empty()) text += " (" + check + ")";
  if (!down.empty()) text += "; " + util::join(down, ", ");
  if (!checking.empty()) text += "; checking (first check not done yet): " + util::join(checking, ", ");
  return text;
}

namespace {

std::string health_words(const Member& member) {
  std::string text = member.status_text.empty() ? (member.up ? "up" : "down") : member.status_text;
  if (!member.check_text.empty()) text += " (" + member.check_text + ")";
  return text;
}

std::vector<StandbyPool> standby_pools(const std::vector<Member>& members) {
  std::vector<StandbyPool> pools;
  for (const auto& label : standby_labels(members)) {
    StandbyPool pool{.label = label};
    std::set<std::string> checks;
    for (const auto& member : members) {
      const auto owner = parse_member_name(member.name);
      if (!owner || owner->label != label) continue;
      ++pool.members;
      checks.insert(member.check_text);
      if (member.healthy()) {
        ++pool.up;
      } else if (member.check == CheckState::pending) {
        pool.checking.push_back(member.name + " " + health_words(member));
      } else {
        pool.down.push_back(member.name + " " + health_words(member));
      }
    }
    if (checks.size() == 1) pool.check = *checks.begin();
    pools.push_back(std::move(pool));
  }
  return pools;
}

// Hot pools, and what makes one a slower or no rollback target.
void report_standby(const StatusInputs& inputs, StatusReport& report) {
  report.standby = standby_pools(inputs.members);
  for (const auto& pool : report.standby) {
    for (const auto& down : pool.down) {
      report.problems.push_back("standby member " + down + " of hot pool " + pool.label + ": a switch to pool " +
                                pool.label +
                                " waits for its checks (or fails) instead of "
                                "being instant; look at the server, or rebuild the pool");
    }
  }
  if (!inputs.standby_supported) {
    report.notes.push_back(inputs.balancer +
                           " has no weight 0, so no pool can wait on standby: a rollback adds the pool's servers "
                           "and waits for their first checks (see docs/hcloud.md)");
  }
}

// The rollback target that must always be there (invariant 9).
// A pool retained powered off or cold is one too: a rollback wakes it first, which takes longer.
void report_rollback_target(const StatusInputs& inputs, StatusReport& report) {
  if (report.live.empty()) return;
  std::vector<std::string> retained;
  for (const auto& pool : inputs.pools) {
    if (std::find(report.live.begin(), report.live.end(), pool.label()) != report.live.end()) continue;
    if (usable_rollback_target(pool)) return;
    if (known_good(pool)) retained.push_back(pool.label() + " (" + to_string(pool.tier()) + ")");
  }
  if (!retained.empty()) {
    report.notes.push_back("every rollback target is retained powered off or cold: " + util::join(retained, ", ") +
                           "; a rollback wakes it and smoke-tests it before switching ('create-pipeline list' shows "
                           "the last measured wake times)");
    return;
  }
  report.problems.push_back(
      "no known-good pool to roll back to: every other pool failed its smoke test, is marked bad, is incomplete, "
      "or is gone; create one ('create-pipeline rebuild --from L' rebuilds a release)");
}

}  // namespace

bool deploy_lock_stale(const std::optional<std::string>& staleness, bool unreadable) {
  return staleness.has_value() || unreadable;
}

std::string past_the_lock(const std::string& command, bool lock_stale) {
  return command + (lock_stale ? " --break-lock" : "");
}

std::string describe_watch_line(const WatchRecord& watch) {
  return "pool " + watch.watched + " until " + clock_time_utc(watch.until) + ", " +
         (watch.fallback ? "falls back to pool " + *watch.fallback : std::string("no pool to fall back to")) + ", by " +
         watch.by.who();
}

StatusReport build_status(const StatusInputs& inputs) {
  StatusReport report;
  report.service = inputs.service;
  report.live = live_labels(inputs.members);
  report.lock = inputs.lock;
  report.freeze = inputs.freeze;
  if (inputs.freeze) {
    report.notes.push_back(std::string(inputs.freeze->all ? "deploys, rollbacks and repairs" : "deploys") +
                           " are frozen since " + util::format_iso8601(inputs.freeze->since) + " by " +
                           inputs.freeze->by + ": " + inputs.freeze->reason + " ('deploy-pipeline unfreeze' lifts it)");
  }
  if (inputs.watch && !inputs.watch_staleness) report.watch = inputs.watch;
  if (inputs.watch && inputs.watch_staleness) {
    report.notes.push_back("the record of a watch that no longer runs is ignored (" + describe(*inputs.watch) +
                           "): " + *inputs.watch_staleness);
  }
  auto& problems = report.problems;
  const bool lock_stale = deploy_lock_stale(inputs.lock_staleness, inputs.lock_unreadable);

  if (inputs.intent && !inputs.operation_in_progress) {
    const Intent& intent = *inputs.intent;
    report.interrupted = intent;
    problems.push_back(std::string("a ") + to_string(intent.operation) + " to pool " + intent.target + " started " +
                       util::format_iso8601(intent.started_at) + " by " + intent.by.who() +
                       " was interrupted at step " + std::to_string(intent.step + 1) + " of " +
                       std::to_string(intent.steps) + (intent.current.empty() ? "" : " (" + intent.current + ")") +
                       "; re-run '" +
                       past_the_lock("deploy-pipeline " + std::string(to_string(intent.operation)) +
                                         (intent.operation == Operation::deploy ? " --label " + intent.target : ""),
                                     lock_stale) +
                       "' or '" + past_the_lock("deploy-pipeline repair", lock_stale) + "' to finish it");
  }
  if (inputs.lock_staleness) {
    problems.push_back("the deploy lock is stale (" + *inputs.lock_staleness + "); the next deploy needs --break-lock");
  }
  if (report.live.size() > 1) {
    problems.push_back(std::to_string(report.live.size()) + " pools are live at once (" +
                       util::join(report.live, ", ") + "); run '" +
                       past_the_lock("deploy-pipeline repair", lock_stale) + "' or deploy one of them");
  }
  if (inputs.durable && !inputs.operation_in_progress) {
    std::vector<std::string> running;
    std::vector<std::string> kept;
    for (const auto& member : inputs.members) {
      if (member.admitted() && added_by_phoenix(member)) running.push_back(member.name);
    }
    for (const auto& member : *inputs.durable) {
      if (member.admitted() && added_by_phoenix(member)) kept.push_back(member.name);
    }
    std::sort(running.begin(), running.end());
    std::sort(kept.begin(), kept.end());
    if (running != kept) {
      problems.push_back("the running balancer routes to [" + util::join(running, ", ") +
                         "] but a restart would route to [" + util::join(kept, ", ") +
                         "] (a reload during a switch, or a change by hand?); run '" +
                         past_the_lock("deploy-pipeline repair", lock_stale) + "'");
    }
  }
  if (inputs.last_switch && !inputs.intent &&
      std::find(report.live.begin(), report.live.end(), inputs.last_switch->label) == report.live.end()) {
    // History is a record, not the truth: a switch whose record was lost, or a change by hand,
    // also looks like this. So say what differs, and never suggest switching back blindly.
    problems.push_back(std::string("the last ") + to_string(inputs.last_switch->action) + " in history (" +
                       util::format_iso8601(inputs.last_switch->at) + ") made pool " + inputs.last_switch->label +
                       " live, but the balancer routes to " +
                       (report.live.empty() ? std::string("no pool") : util::join(report.live, ", ")) + "; if pool " +
                       inputs.last_switch->label + " should be live, deploy it again");
  }
  if (report.live.empty() && !inputs.pools.empty()) {
    problems.push_back("no pool is live: the balancer routes traffic to no server of this service");
  }

  const auto hot_labels = inputs.intent ? std::vector<std::string>{} : standby_labels(inputs.members);
  for (const auto& member : inputs.members) {
    MemberRow row;
    row.address = member.address;
    row.state = member_state_name(member);
    row.health = health_words(member);
    row.sessions = member.sessions;
    const auto owner = parse_member_name(member.name);
    if (!owner) {
      row.server = member.name;
      if (!inputs.foreign_allowed) {
        problems.push_back("member " + member.name + " (" + member.address +
                           ") was not added by Phoenix, so deploys are refused; remove it from the backend, or set "
                           "balancer.allow_foreign_servers to true to leave it serving");
      }
      report.members.push_back(row);
      continue;
    }
    row.pool = owner->label;
    row.server = owner->server_id;
    report.members.push_back(row);

    const Pool* pool = find_pool(inputs.pools, owner->label);
    const Server* server = pool != nullptr ? pool->find_server(owner->server_id) : nullptr;
    if (pool == nullptr) {
      problems.push_back("member " + member.name + " belongs to pool " + owner->label + ", which no longer exists");
    } else if (!pool->readable()) {
      // No record to compare the member with; the pool is reported once, below.
    } else if (server == nullptr) {
      problems.push_back("member " + member.name + ": pool " + owner->label + " has no server " + owner->server_id);
    } else if (server->address() != member.address) {
      problems.push_back("member " + member.name + " points at " + member.address + " but the server is at " +
                         server->address());
    } else if (member.admitted() && server->state != ServerState::running) {
      problems.push_back("server " + owner->server_id + " of live pool " + owner->label + " is " +
                         to_string(server->state) + "; 'create-pipeline rebuild --from " + owner->label +
                         "' builds the same release on fresh servers to deploy instead");
    }
    // Not checked yet (just added, or the balancer just restarted): only a check that ran and
    // failed is a problem.
    if (member.admitted() && !member.healthy() && member.check != CheckState::pending) {
      problems.push_back("live member " + member.name + " is not healthy: " + row.health);
    }
    const bool operation_running = inputs.intent.has_value() && inputs.operation_in_progress;
    const bool hot = std::find(hot_labels.begin(), hot_labels.end(), owner->label) != hot_labels.end();
    if (!member.admitted() && !operation_running && !hot) {
      problems.push_back("member " + member.name + " is left in " + row.state + "; the next deploy or '" +
                         past_the_lock("deploy-pipeline repair", lock_stale) + "' cleans it up");
    }
  }
  for (const auto& pool : inputs.pools) {
    if (!pool.readable()) problems.push_back(describe_unreadable(pool));
  }
  if (!inputs.intent) report_standby(inputs, report);
  report_rollback_target(inputs, report);
  return report;
}

}  // namespace phoenix
