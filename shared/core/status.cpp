#include "shared/core/status.hpp"

#include <algorithm>
#include <set>

#include "shared/core/planner.hpp"
#include "shared/core/verdict_history.hpp"
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
  if (!bad_mark.empty()) text += "; " + bad_mark + ": a rollback passes it over";
  return text;
}

const char* to_string(LockHolderState state) {
  switch (state) {
    case LockHolderState::running:
      return "running";
    case LockHolderState::stopped:
      return "stopped";
    case LockHolderState::stale:
      return "stale";
  }
  return "running";
}

std::string describe_lock_line(const LockHolder& holder, LockHolderState state) {
  switch (state) {
    case LockHolderState::running:
      return holder.describe();
    case LockHolderState::stopped:
      return holder.describe("stopped (SIGSTOP/Ctrl-Z) in");
    case LockHolderState::stale:
      return holder.describe("stale, left by");
  }
  return holder.describe();
}

namespace {

bool any_live_member_up(const std::vector<Member>& members) {
  return std::any_of(members.begin(), members.end(),
                     [](const Member& member) { return member.admitted() && member.up; });
}

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

// Whether the interrupted switch's target has served, as history has it (has_served): a hot
// standby then like any other, which a switch elsewhere keeps or removes by retention.hot
// (ops::abandoned_targets). One that never served (a deploy killed before it routed to its new
// pool) is no hot standby: its members on standby are the switch's, and a switch elsewhere
// removes them. False without an interrupted switch.
bool interrupted_target_served(const StatusInputs& inputs) {
  return inputs.intent && has_served(inputs.history, inputs.intent->target);
}

// Hot pools, and what makes one a slower or no rollback target.
// During an interrupted switch its target's members on standby are the switch's, not a hot pool,
// unless the target has served (interrupted_target_served).
void report_standby(const StatusInputs& inputs, StatusReport& report) {
  report.standby = standby_pools(inputs.members);
  if (inputs.intent && !interrupted_target_served(inputs)) {
    std::erase_if(report.standby, [&](const StandbyPool& pool) { return pool.label == inputs.intent->target; });
  }
  for (auto& pool : report.standby) {
    const Pool* record = find_pool(inputs.pools, pool.label);
    if (found_marked_bad(record)) {
      pool.bad_mark = describe_bad_mark_briefly(*record);
      pool.bad_reason = record->meta.verdict_reason;
    }
    // A pool that no longer exists is no switch target: its members' own lines say that. With
    // retention.hot 0 no pool is hot: its members are left on standby (hot_standby_labels).
    if (record == nullptr || inputs.hot <= 0) continue;
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

// What a plain rollback would do now: the planner's choice from history's hints, judged once per
// report; the commands its refusal names carry --break-lock while the deploy lock is stale, and
// the pools history shows never served (where status read it) are named as the deploy of an
// untried release, never as a rollback target.
Result<RollbackChoice> plain_rollback(const StatusInputs& inputs, bool lock_stale) {
  auto hints = rollback_hints_from(inputs.last_switch);
  hints.lock_stale = lock_stale;
  if (!inputs.history.empty()) {
    for (const auto& pool : inputs.pools) {
      if (!has_served(inputs.history, pool.label())) hints.never_served.push_back(pool.label());
    }
  }
  return choose_rollback_target(inputs.pools, inputs.members, std::nullopt, hints);
}

// Why a plain rollback from several live pools chose its target (several_live_target's rules).
std::string several_live_rule_words(RollbackRule rule) {
  return rule == RollbackRule::last_replaced ? "known-good, the pool the last switch replaced"
                                             : "the newest known-good pool older than all of them";
}

// The pool 'deploy-pipeline repair' keeps live of the several live ones: the target of the
// interrupted switch it finishes, else the one repair_keeps names (as ops::repair chooses).
std::string repair_would_keep(const StatusInputs& inputs, const std::vector<std::string>& live) {
  if (inputs.intent && !inputs.operation_in_progress) return inputs.intent->target;
  if (inputs.repair_restores) return *inputs.repair_restores;
  return repair_keeps(inputs.pools, live, inputs.last_switch ? inputs.last_switch->label : std::string());
}

// Several pools live at once, and the way on. When a plain rollback has a target (`choice`: with
// several live, only when every one of them is marked bad) it comes first, before repair, which
// would keep one of the bad pools live; repair is named with the pool it keeps, and whether that
// pool is marked bad. Said first when every live pool is marked bad.
void report_several_live(const StatusInputs& inputs, StatusReport& report, const Result<RollbackChoice>& choice,
                         bool lock_stale) {
  if (report.live.size() < 2) return;
  const std::string kept = repair_would_keep(inputs, report.live);
  const bool kept_bad = found_marked_bad(find_pool(inputs.pools, kept));
  const std::string repair = "'" + past_the_lock("deploy-pipeline repair", lock_stale) + "'";
  const std::string what =
      std::to_string(report.live.size()) + " pools are live at once (" + util::join(report.live, ", ") + ")";
  if (!choice) {
    report.problems.push_back(what + "; run " + repair + " (it keeps pool " + kept + " live" +
                              (kept_bad ? ", which is marked bad" : "") + ") or deploy one of them");
    return;
  }
  report.problems.insert(report.problems.begin(),
                         what + ", every one marked bad: '" +
                             past_the_lock("deploy-pipeline rollback --to " + choice->target, lock_stale) +
                             "' rolls back to pool " + choice->target + " (" + several_live_rule_words(choice->rule) +
                             "); " + repair + " would keep pool " + kept + " live, which is marked bad");
}

// Why a plain rollback from the one live pool has no pool to go to, with its refusal (`refusal`,
// naming what it passed over and the way on): known-good pools exist, but all are newer than the
// live one; or there is no known-good pool at all.
std::string no_rollback_words(const Error& refusal) {
  if (refusal.is(ErrorCode::newer_candidates_only)) {
    return "a plain rollback has no pool to go to (" + refusal.message + ")";
  }
  return "no known-good pool to roll back to: a plain rollback has none (" + refusal.message + ")";
}

// The rollback target that must always be there (docs/safety.md, "Rollback targets"): the pool
// a plain rollback would choose now, by the planner's own rule (choose_rollback_target), so
// status and a rollback never disagree about it. A pool retained powered off or cold is one too:
// a rollback wakes it first, which takes longer. Without exactly one readable live pool, or while
// a switch runs or was interrupted (its own line names the way on), there is no plain rollback to
// judge. A live pool marked bad whose own line said there is none (`said_by_bad_live`) is not
// reported twice: one fact, one problem. `choice`: the plain rollback's (plain_rollback).
void report_rollback_target(const StatusInputs& inputs, StatusReport& report, const Result<RollbackChoice>& choice,
                            const std::vector<std::string>& said_by_bad_live) {
  if (report.live.size() != 1 || inputs.intent) return;
  const Pool* live = find_pool(inputs.pools, report.live.front());
  if (live == nullptr || !live->readable()) return;
  if (!choice) {
    if (!has_label(said_by_bad_live, live->label())) report.problems.push_back(no_rollback_words(choice.error()));
    return;
  }
  const Pool* target = find_pool(inputs.pools, choice->target);
  if (target == nullptr || (!target->cold() && target->power != PowerState::off)) return;
  report.notes.push_back("the pool a plain rollback goes to is retained powered off or cold: " + target->label() +
                         " (" + to_string(target->tier()) +
                         "); a rollback wakes it and smoke-tests it before switching ('create-pipeline list' shows "
                         "the last measured wake times)");
}

// What to do when history's last switch made `recorded` live but the balancer routes to `live`.
// With one pool routed, history may only be missing the last switch (a switch that succeeded
// but could not write its record): recording it and going back are both offered. After a reload
// since that switch (`reloaded`) history is right, and the way back comes first.
std::string history_mismatch_advice(const std::string& recorded, const std::vector<std::string>& live, bool lock_stale,
                                    bool reloaded) {
  const std::string back =
      "'" + past_the_lock("deploy-pipeline deploy --label " + recorded, lock_stale) + "' goes back to pool " + recorded;
  if (live.size() != 1) return "if pool " + recorded + " should be live, " + back;
  const std::string record_live = "'" + past_the_lock("deploy-pipeline deploy --label " + live.front(), lock_stale) +
                                  "' records pool " + live.front() + " as live";
  if (reloaded) return back + ", or " + record_live;
  return "history may be missing the last switch (its record could not be written, or a change by hand): " +
         record_live + ", " + back;
}

// Whether `live` are exactly the pools the switch `last` replaced (its `from`).
bool routes_as_before(const HistoryEvent& last, const std::vector<std::string>& live) {
  auto before = util::split(last.from, ',');
  std::erase(before, "");
  auto now = live;
  std::sort(before.begin(), before.end());
  std::sort(now.begin(), now.end());
  return !before.empty() && before == now;
}

// Where the balancer routes elsewhere than the last switch in history left it: what differs, why
// as far as status can tell, and both ways out. History is a record, not the truth: a switch whose
// record could not be written (a full disk; the switch itself succeeded and exited 0), or a change
// by hand, also looks like this, so never only the way that switches back. A balancer reloaded
// since that switch (StatusInputs::reloaded_since_last_switch) that routes to the very pools it
// replaced took them from a configuration as it was before it (an older copy put back), and that
// is the cause named.
std::string history_mismatch_problem(const StatusInputs& inputs, const std::vector<std::string>& live,
                                     bool lock_stale) {
  const HistoryEvent& last = *inputs.last_switch;
  const bool reloaded = inputs.reloaded_since_last_switch && routes_as_before(last, live);
  const std::string routes = live.empty() ? std::string("no pool") : util::join(live, ", ");
  const std::string cause = reloaded ? " reloaded since with a configuration that routes to " + routes +
                                           " again, as before that " + to_string(last.action) +
                                           " (an older configuration file put back?); "
                                     : " routes to " + routes + "; ";
  return std::string("the last ") + to_string(last.action) + " in history (" + util::format_iso8601(last.at) +
         ") made pool " + last.label + " live, but the balancer" + cause +
         history_mismatch_advice(last.label, live, lock_stale, reloaded);
}

// What repair does where the running membership differs from the one a restart comes back with:
// after a reload with an older membership (`repair_restores`), it makes the pool the last switch
// made live the only live one again; otherwise it keeps what is live. With nothing live and
// nothing to restore there is nothing to keep: a deploy of the pool a restart would route to
// (when that is one pool) makes it live again and keeps it.
std::string keep_running_membership(const StatusInputs& inputs, bool lock_stale) {
  if (inputs.repair_restores) {
    const std::string& pool = *inputs.repair_restores;
    return "run '" + past_the_lock("deploy-pipeline repair", lock_stale) + "' to make pool " + pool +
           " the only live pool again, as the last " + to_string(inputs.last_switch->action) + " left it";
  }
  if (!live_labels(inputs.members).empty()) {
    return "run '" + past_the_lock("deploy-pipeline repair", lock_stale) + "' to keep the running membership";
  }
  const auto kept = live_labels(*inputs.durable);
  const std::string label = kept.size() == 1 ? kept.front() : "L";
  return "run '" + past_the_lock("deploy-pipeline deploy --label " + label, lock_stale) + "' to make pool " + label +
         " live again and keep it for restarts (nothing is live to keep)";
}

// Why the running membership differs from the one a restart comes back with, and what to do,
// after "the running balancer routes to [...] but a restart would route to [...] ". While that
// membership cannot be written, repair is refused: the cause is named (a rollback switches at
// runtime only then; deploys and repairs are refused) and the directory comes first. Only facts
// status has are stated: whether the file can be written now and whether the last switch was a
// rollback, not that this rollback is what left the difference.
std::string restart_mismatch_advice(const StatusInputs& inputs, bool lock_stale) {
  const std::string keep = keep_running_membership(inputs, lock_stale);
  const bool rollback = inputs.last_switch && (inputs.last_switch->action == HistoryAction::rollback ||
                                               inputs.last_switch->action == HistoryAction::auto_rollback);
  if (!inputs.durable_unwritable && inputs.repair_restores) {
    return std::string("(the balancer reloaded after the last ") + to_string(inputs.last_switch->action) + ", at " +
           util::format_iso8601(inputs.last_switch->at) + ", with an older membership); " + keep;
  }
  if (!inputs.durable_unwritable) {
    return std::string(rollback ? "(a rollback while balancer.config_file could not be written, " : "(") +
           "a reload during a switch, or a change by hand?); " + keep;
  }
  const std::string cause =
      rollback ? "balancer.config_file cannot be written, so a rollback switches at runtime only; the last switch was "
                 "a rollback, at " +
                     util::format_iso8601(inputs.last_switch->at)
               : "balancer.config_file cannot be written, so the running membership is not kept";
  return "(" + cause + "); make the directory of balancer.config_file writable by this user, then " + keep;
}

// The way to serve `label`'s release from fresh servers: its rebuild, where a rebuild needs no
// --force; else (marked bad, failed its smoke test, a rebuild of such a release) a fixed release
// or a known-good one built again, since rebuilding this one would be refused.
std::string rebuild_or_fix(const std::vector<Pool>& pools, const std::string& label, bool lock_stale) {
  const Pool* pool = find_pool(pools, label);
  if (pool != nullptr && pool->readable() && rebuild_source_of(*pool) == RebuildSource::unflagged) {
    return "'create-pipeline rebuild --from " + label + "', then deploy it";
  }
  return fixed_or_rebuilt_release(lock_stale);
}

// An UP hot standby a switch can go to at once instead of the live pool: it exists, can take
// traffic back (rollback_candidate_problem), and a plain rollback could choose it or it has served
// (history), so never a newer build that never did (an abandoned deploy's pool on standby).
bool instant_way_back(const StatusInputs& inputs, const StandbyPool& standby, const RollbackHints& hints) {
  const Pool* pool = find_pool(inputs.pools, standby.label);
  if (pool == nullptr || !all_members_up(standby.up, standby.members)) return false;
  if (!rollback_candidate_problem(*pool, inputs.members).empty()) return false;
  return plain_rollback_could_choose(*pool, inputs.pools, inputs.members, hints) ||
         has_served(inputs.history, standby.label);
}

// The fastest way back to serving when no live member is up: an UP hot standby that is an
// instant way back (one batch of weight changes), else the pool a plain rollback chooses
// (`choice`), else a rebuild of the live pool where it exists, else a fixed or rebuilt release.
std::string fastest_recovery(const StatusInputs& inputs, const StatusReport& report,
                             const Result<RollbackChoice>& choice, bool lock_stale) {
  const auto hints = rollback_hints_from(inputs.last_switch);
  for (const auto& pool : report.standby) {
    if (!instant_way_back(inputs, pool, hints)) continue;
    return "'" + past_the_lock("deploy-pipeline rollback --to " + pool.label, lock_stale) + "' (pool " + pool.label +
           " is on hot standby, " + std::to_string(pool.up) + "/" + std::to_string(pool.members) + " UP)";
  }
  if (choice) return "'" + past_the_lock("deploy-pipeline rollback --to " + choice->target, lock_stale) + "'";
  return rebuild_or_fix(inputs.pools, report.live.front(), lock_stale);
}

// Live pools whose admitted members are none of them up: every request fails. Said first.
void report_outage(const StatusInputs& inputs, StatusReport& report, const Result<RollbackChoice>& choice,
                   bool lock_stale) {
  if (report.live.empty() || inputs.operation_in_progress || any_live_member_up(inputs.members)) return;
  report.problems.insert(report.problems.begin(), "no live member is up: the service is down; the fastest way back: " +
                                                      fastest_recovery(inputs, report, choice, lock_stale));
}

// What follows "the live pool L is marked bad ..." in its problem line: the rollback that answers
// it, as one command (the pool a plain rollback would choose, `choice`: the pool the last switch
// replaced, else the newest older known-good one whose servers run); or, with no pool to go back
// to, that fact and the ways on (no_rollback_words), so that one line says both; or, with several
// pools live, the advice of the refusal.
std::string rollback_advice(const StatusReport& report, const Result<RollbackChoice>& choice, bool lock_stale) {
  if (choice) {
    return "; '" + past_the_lock("deploy-pipeline rollback --to " + choice->target, lock_stale) +
           "' rolls back to pool " + choice->target;
  }
  // Several live: the refusal names the pool to go to (or says there is none, and the ways on).
  if (report.live.size() != 1) return "; " + choice.error().message;
  return std::string(choice.error().is(ErrorCode::newer_candidates_only) ? "; " : "; and there is ") +
         no_rollback_words(choice.error());
}

// A watch that died after it saw a breach (killed while its automatic rollback started): the
// breach it recorded, which no switch answered, while the watched pool is still live. Returns
// the pool it reports, if any. An interrupted switch is explained by its intent record instead.
std::optional<std::string> report_unanswered_breach(const StatusInputs& inputs, StatusReport& report, bool lock_stale) {
  if (!inputs.watch || !inputs.watch_staleness || inputs.intent) return std::nullopt;
  const WatchRecord& watch = *inputs.watch;
  if (!has_label(report.live, watch.watched)) return std::nullopt;
  const auto breach = unanswered_breach_of(inputs.history, watch.watched, watch.by.since);
  if (!breach) return std::nullopt;
  const std::string back_to = !breach->from.empty() ? breach->from : watch.fallback.value_or("L");
  report.problems.push_back(
      "pool " + watch.watched + " breached its watch at " + util::format_iso8601(breach->at) + " (" + breach->detail +
      "); its automatic rollback to " + (back_to == "L" ? std::string("an older pool") : "pool " + back_to) +
      " was interrupted: '" + past_the_lock("deploy-pipeline rollback --to " + back_to, lock_stale) + " --reason " +
      util::shell_quote("automatic: " + breach->detail) + "'");
  return watch.watched;
}

// A live pool marked bad: a release known to be bad still serves (a breach whose rollback
// failed, a mark-bad by hand). Not while a switch runs or was interrupted: that is reported
// with its own way on. Returns the pools it reported.
// With several live, the way on concerns them all: said once, on the last of their lines.
std::vector<std::string> report_bad_live(const StatusInputs& inputs, StatusReport& report,
                                         const Result<RollbackChoice>& choice, bool lock_stale,
                                         const std::optional<std::string>& reported) {
  std::vector<std::string> bad_live;
  if (inputs.intent) return bad_live;
  for (const auto& label : report.live) {
    const Pool* pool = find_pool(inputs.pools, label);
    if (pool == nullptr || !pool->readable() || pool->meta.verdict != LiveVerdict::bad || reported == label) continue;
    report.problems.push_back("the live pool " + label + " is " +
                              describe_bad_mark(*pool, bad_mark_of(inputs.history, label)));
    bad_live.push_back(label);
  }
  // With several live, a rollback that has a target was said first (report_several_live).
  const bool said = report.live.size() > 1 && choice.ok();
  if (!bad_live.empty() && !said) report.problems.back() += rollback_advice(report, choice, lock_stale);
  return bad_live;
}

// The command that finishes an interrupted switch by running it again: "deploy-pipeline deploy
// --label L", "deploy-pipeline rollback" (with or without --to, a rollback re-runs the
// interrupted one) or "deploy-pipeline repair", with --force as given. Finishing a rollback
// anyway is a decision about its target, so with --force the command names it ("rollback --to L
// --force"). Every message that names how to finish a switch builds it here.
std::string rerun_command(Operation operation, const std::string& target, bool force) {
  std::string command = "deploy-pipeline " + std::string(to_string(operation));
  if (operation == Operation::deploy) command += " --label " + target;
  if (operation == Operation::rollback && force) command += " --to " + target;
  if (force) command += " --force";
  return command;
}

// The balancer as the interrupted switch `intent` found it, as far as a rollback's choice needs
// it: the members of its target taken out (the switch added or routed them; they count for
// nothing) and the one pool it replaced routed again, whether the switch drained or removed it
// since, so that a plain rollback chooses as it would have from that pool.
std::vector<Member> members_before(const std::vector<Pool>& pools, const std::vector<Member>& members,
                                   const Intent& intent) {
  std::vector<Member> before;
  bool replaced_seen = false;
  for (const auto& member : members) {
    const auto owner = parse_member_name(member.name);
    if (owner && owner->label == intent.target) continue;
    Member kept = member;
    if (owner && intent.from.size() == 1 && owner->label == intent.from.front()) {
      kept.admin = AdminState::ready;
      kept.weight = std::max(kept.weight, 1);
      replaced_seen = true;
    }
    before.push_back(std::move(kept));
  }
  const Pool* replaced = intent.from.size() == 1 ? find_pool(pools, intent.from.front()) : nullptr;
  if (replaced != nullptr && !replaced_seen) {
    for (const auto& server : replaced->servers) {
      before.push_back(Member{.name = member_name(replaced->label(), server.id),
                              .address = server.address(),
                              .admin = AdminState::ready,
                              .up = true,
                              .check = CheckState::passed,
                              .weight = 1});
    }
  }
  return before;
}

// The pool a plain rollback would choose instead of finishing or reverting the interrupted switch
// `intent`, by the planner's rule (choose_rollback_target, as status judges the rollback target):
// from the one pool the switch replaced, never its target. None when there is none.
std::optional<std::string> rollback_instead_of(const std::vector<Pool>& pools, const std::vector<Member>& members,
                                               const Intent& intent, RollbackHints hints) {
  hints.excluded.push_back(intent.target);
  auto choice = choose_rollback_target(pools, members_before(pools, members, intent), std::nullopt, hints);
  if (!choice) return std::nullopt;
  return choice->target;
}

// The way on instead of finishing the interrupted switch `intent`.
struct WayOn {
  std::string words;  // "'<command>' <what it does>", or "" when there is none
  bool fix = true;    // false: the words only say what the revert would do (to a pool marked bad)
};

// After a deploy, 'deploy-pipeline repair --revert' (back to the one pool live before it); after
// a rollback, the pool a plain rollback would choose (rollback_instead_of), else the revert. A
// revert to a pool marked bad or failed is never the fix: the rollback's choice comes first, and
// with none the revert is named with --force and what is wrong with its pool. With --break-lock
// where the deploy lock is stale (`lock_stale`).
WayOn instead_of_finishing(const std::vector<Pool>& pools, const std::vector<Member>& members, const Intent& intent,
                           const RollbackHints& hints, const std::vector<HistoryEvent>& history,
                           bool lock_stale = false) {
  const std::string revert_problem =
      intent.from.size() == 1 ? revert_target_problem(pools, intent.from.front(), history) : std::string();
  const bool revert_fits = intent.from.size() == 1 && revert_problem.empty();
  const WayOn revert{"'" + past_the_lock("deploy-pipeline repair --revert", lock_stale) + "' returns to pool " +
                     (intent.from.empty() ? std::string() : intent.from.front()) + ", live before it"};
  if (revert_fits && intent.operation != Operation::rollback) return revert;
  if (const auto choice = rollback_instead_of(pools, members, intent, hints)) {
    return {"'" + past_the_lock("deploy-pipeline rollback --to " + *choice, lock_stale) + "' rolls back to pool " +
            *choice};
  }
  if (revert_fits) return revert;
  if (intent.from.size() != 1) return {};
  return {"no known-good pool can take over instead; '" +
              past_the_lock("deploy-pipeline repair --revert --force", lock_stale) + "' would return to pool " +
              intent.from.front() + ", live before it, which " + revert_problem,
          false};
}

// The commands that finish the interrupted switch `intent`, and the way on instead when finishing
// it needs --force (its target was marked bad, or failed its smoke test, since it started):
// "re-run 'A' or 'B' to finish it" or "pool 1 is marked bad: ...; 're-run 'A --force' or 'B
// --force' to finish it anyway, or 'C' ...".
std::string finishing_words(const StatusInputs& inputs, const Intent& intent, bool lock_stale) {
  const std::string problem = interrupted_target_problem(inputs.pools, intent, inputs.history);
  const bool force = !problem.empty();
  const std::string rerun = past_the_lock(rerun_command(intent.operation, intent.target, force), lock_stale);
  const std::string repair = past_the_lock(rerun_command(Operation::repair, intent.target, force), lock_stale);
  if (!force) return "re-run '" + rerun + "' or '" + repair + "' to finish it";
  const auto instead = instead_of_finishing(inputs.pools, inputs.members, intent,
                                            rollback_hints_from(inputs.last_switch), inputs.history, lock_stale);
  const std::string way_on = instead.words.empty() ? std::string()
                             : instead.fix         ? ", or " + instead.words + " instead"
                                                   : "; " + instead.words;
  return "pool " + intent.target + " " + problem + ", so finishing it needs --force: re-run '" + rerun + "' or '" +
         repair + "' to finish it anyway" + way_on;
}

// A wake cut short (Intent::waking), in words, with the command that finishes it: it changed no
// member yet; its re-run starts the target's servers that do not run and smoke-tests them. A
// rollback marks the live pool bad before it wakes its target: said when it did.
std::string describe_interrupted_wake(const StatusInputs& inputs, const Intent& intent, bool lock_stale) {
  std::string text = std::string("a ") + to_string(intent.operation) + " to pool " + intent.target + " started " +
                     util::format_iso8601(intent.started_at) + " by " + intent.by.who() +
                     " was interrupted while waking pool " + intent.target + ", before any balancer change; ";
  if (!interrupted_target_problem(inputs.pools, intent, inputs.history).empty()) {
    text += finishing_words(inputs, intent, lock_stale);
  } else {
    text += "'" + past_the_lock(rerun_command(intent.operation, intent.target, false), lock_stale) +
            "' finishes it: it starts the servers of pool " + intent.target +
            " that do not run, smoke-tests the pool, then switches";
  }
  std::vector<std::string> marked;
  for (const auto& label : intent.from) {
    const Pool* pool = find_pool(inputs.pools, label);
    if (intent.operation == Operation::rollback && pool != nullptr && pool->meta.verdict == LiveVerdict::bad &&
        pool->meta.verdict_reason == intent.reason) {
      marked.push_back(label);
    }
  }
  if (!marked.empty()) {
    text += "; the live pool " + util::join(marked, ", ") + " was already marked bad by it (" + intent.reason + ")";
  }
  return text;
}

// The hot pools: none with retention.hot 0 (a switch removes every pool on standby); else those
// fully on standby, during an interrupted switch but its target, whose members on standby are
// the ones the switch itself added, unless it has served.
std::vector<std::string> hot_standby_labels(const StatusInputs& inputs) {
  if (inputs.hot <= 0) return {};
  auto labels = standby_labels(inputs.members);
  if (inputs.intent && !interrupted_target_served(inputs)) std::erase(labels, inputs.intent->target);
  return labels;
}

// A member not routed to that nothing running will route or remove, and what the next command
// does with it. The members of an interrupted switch's target that has served (partly routed to,
// or on standby beside the ones it routes to) stay where a switch elsewhere keeps that pool.
std::string left_member_problem(const StatusInputs& inputs, const std::string& member, const std::string& label,
                                const std::string& state, bool lock_stale) {
  const std::string repair = past_the_lock("deploy-pipeline repair", lock_stale);
  if (interrupted_target_served(inputs) && label == inputs.intent->target) {
    const std::string operation = to_string(inputs.intent->operation);
    return "member " + member + " is left in " + state + " by the interrupted " + operation + " to pool " + label +
           ", which has served: '" + repair + "' finishes that " + operation + "; a switch elsewhere keeps pool " +
           label + " on standby as retention.hot allows";
  }
  const std::string no_hot = inputs.hot <= 0 && state == "standby" ? " (retention.hot 0 keeps no pool there)" : "";
  return "member " + member + " is left in " + state + no_hot + "; the next deploy or '" + repair + "' cleans it up";
}

// Without the balancer: what history and the provider say, as notes.
void report_without_balancer(const StatusInputs& inputs, StatusReport& report) {
  report.balancer_error = inputs.balancer_error;
  report.problems.push_back("balancer: unavailable (" + *inputs.balancer_error +
                            "); which pool is live is unknown, the rest of this report is read without it");
  if (inputs.last_switch) {
    report.notes.push_back(std::string("the last ") + to_string(inputs.last_switch->action) + " in history (" +
                           util::format_iso8601(inputs.last_switch->at) + ") made pool " + inputs.last_switch->label +
                           " live");
  }
  for (const auto& pool : inputs.pools) {
    if (!pool.readable()) continue;
    const std::size_t running = pool.servers_running();
    report.notes.push_back("pool " + pool.label() + ": " + to_string(pool.tier()) + ", smoke " +
                           to_string(pool.meta.smoke) + ", verdict " + to_string(pool.meta.verdict) + ", " +
                           std::to_string(running) + "/" + std::to_string(pool.servers.size()) + " running");
  }
}

}  // namespace

bool deploy_lock_stale(const std::optional<std::string>& staleness, bool unreadable) {
  return staleness.has_value() || unreadable;
}

bool status_needs_history(const std::vector<Pool>& pools, const std::vector<Member>& members,
                          const std::optional<WatchRecord>& watch, bool watch_stale,
                          const std::optional<Intent>& intent) {
  const auto live = live_labels(members);
  if (watch && watch_stale && has_label(live, watch->watched)) return true;
  if (intent && has_label(member_labels(members), intent->target)) return true;
  // An outage: whether a hot standby has served tells the instant way back (instant_way_back).
  if (!live.empty() && !any_live_member_up(members)) return true;
  return std::any_of(live.begin(), live.end(), [&](const std::string& label) {
    const Pool* pool = find_pool(pools, label);
    return pool != nullptr && pool->readable() && pool->meta.verdict == LiveVerdict::bad;
  });
}

std::string interrupted_target_problem(const std::vector<Pool>& pools, const Intent& intent,
                                       const std::vector<HistoryEvent>& history) {
  const Pool* pool = find_pool(pools, intent.target);
  if (pool == nullptr || !pool->readable()) return "";
  if (pool->meta.verdict == LiveVerdict::bad)
    return "is " + describe_bad_mark(*pool, bad_mark_of(history, pool->label()));
  if (pool->meta.smoke == SmokeVerdict::passed || (intent.waking() && pool->meta.smoke == SmokeVerdict::pending)) {
    return "";
  }
  return "has smoke verdict '" + std::string(to_string(pool->meta.smoke)) + "'";
}

Status check_finishing_interrupted(const std::vector<Pool>& pools, const std::vector<Member>& members,
                                   const Intent& intent, const RollbackHints& hints, bool force,
                                   const std::vector<HistoryEvent>& history, bool lock_stale) {
  if (force) return {};
  const std::string problem = interrupted_target_problem(pools, intent, history);
  if (problem.empty()) return {};
  const auto instead = instead_of_finishing(pools, members, intent, hints, history, lock_stale);
  return Error{ErrorKind::refused,
               "the interrupted " + std::string(to_string(intent.operation)) + " to pool " + intent.target +
                   " is not finished: pool " + intent.target + " " + problem + "; nothing was changed. '" +
                   past_the_lock(rerun_command(intent.operation, intent.target, true), lock_stale) + "' or '" +
                   past_the_lock(rerun_command(Operation::repair, intent.target, true), lock_stale) +
                   "' finishes it anyway" +
                   (instead.words.empty() ? std::string() : "; " + instead.words + (instead.fix ? " instead" : ""))};
}

std::string revert_target_problem(const std::vector<Pool>& pools, const std::string& back_to,
                                  const std::vector<HistoryEvent>& history) {
  const Pool* pool = find_pool(pools, back_to);
  if (pool == nullptr || !pool->readable()) return "";
  if (pool->meta.verdict == LiveVerdict::bad)
    return "is " + describe_bad_mark(*pool, bad_mark_of(history, pool->label()));
  if (pool->meta.smoke == SmokeVerdict::failed) return "has smoke verdict 'failed'";
  return "";
}

Status check_reverting_interrupted(const std::vector<Pool>& pools, const std::vector<Member>& members,
                                   const Intent& intent, const RollbackHints& hints, bool force,
                                   const std::vector<HistoryEvent>& history, bool lock_stale) {
  if (force || intent.from.size() != 1) return {};
  const std::string& back_to = intent.from.front();
  const std::string problem = revert_target_problem(pools, back_to, history);
  if (problem.empty()) return {};
  const std::string operation = to_string(intent.operation);
  std::string instead;
  if (interrupted_target_problem(pools, intent, history).empty()) {
    instead = "'" + past_the_lock("deploy-pipeline repair", lock_stale) + "' finishes the " + operation + " to pool " +
              intent.target + " instead, or ";
  } else if (const auto choice = rollback_instead_of(pools, members, intent, hints)) {
    instead = "'" + past_the_lock("deploy-pipeline rollback --to " + *choice, lock_stale) + "' rolls back to pool " +
              *choice + " instead, or ";
  }
  return Error{ErrorKind::refused, "'repair --revert' would return to pool " + back_to +
                                       ", live before the interrupted " + operation + " to pool " + intent.target +
                                       ", but pool " + back_to + " " + problem + "; nothing was changed. " + instead +
                                       "'" + past_the_lock("deploy-pipeline repair --revert --force", lock_stale) +
                                       "' returns to it anyway"};
}

std::string describe_watch_line(const WatchRecord& watch) {
  return "pool " + watch.watched + " until " + clock_time_utc(watch.until) + ", " +
         (watch.fallback ? "falls back to pool " + *watch.fallback : std::string("no pool to fall back to")) + ", by " +
         watch.by.who();
}

bool switch_running(const Intent& intent, const LockHolder& holder, bool lock_stale) {
  return !lock_stale && intent.by.host == holder.host && intent.by.pid == holder.pid;
}

StatusReport build_status(const StatusInputs& inputs) {
  StatusReport report;
  report.service = inputs.service;
  report.live = live_labels(inputs.members);
  report.lock = inputs.lock;
  if (inputs.lock_staleness) {
    report.lock_state = LockHolderState::stale;
  } else if (inputs.lock_holder_stopped) {
    report.lock_state = LockHolderState::stopped;
  }
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

  if (inputs.intent && inputs.operation_in_progress) {
    const Intent& intent = *inputs.intent;
    const std::string state = inputs.lock_holder_stopped ? " is stopped, not running (" : " is running (";
    const std::string why = inputs.lock_holder_stopped ? "; SIGSTOP/Ctrl-Z: see the deploy lock holder's problem" : "";
    report.notes.push_back(std::string("a ") + to_string(intent.operation) + " to pool " + intent.target + state +
                           intent.by.who() + ", since " + util::format_iso8601(intent.started_at) + why +
                           "), at step " + std::to_string(intent.step + 1) + " of " + std::to_string(intent.steps) +
                           (intent.current.empty() ? "" : " (" + intent.current + ")"));
  }
  if (inputs.intent && !inputs.operation_in_progress && inputs.intent->waking()) {
    report.interrupted = inputs.intent;
    problems.push_back(describe_interrupted_wake(inputs, *inputs.intent, lock_stale));
  }
  if (inputs.intent && !inputs.operation_in_progress && !inputs.intent->waking()) {
    const Intent& intent = *inputs.intent;
    report.interrupted = intent;
    problems.push_back(std::string("a ") + to_string(intent.operation) + " to pool " + intent.target + " started " +
                       util::format_iso8601(intent.started_at) + " by " + intent.by.who() +
                       " was interrupted at step " + std::to_string(intent.step + 1) + " of " +
                       std::to_string(intent.steps) + (intent.current.empty() ? "" : " (" + intent.current + ")") +
                       "; " + finishing_words(inputs, intent, lock_stale));
  }
  if (inputs.lock_staleness) {
    problems.push_back("the deploy lock is stale (" + *inputs.lock_staleness +
                       "); a deploy, rollback or repair needs --break-lock");
  }
  const auto choice = plain_rollback(inputs, lock_stale);
  report_several_live(inputs, report, choice, lock_stale);
  if (inputs.durable && !inputs.operation_in_progress) {
    const auto running = routed_by_phoenix(inputs.members);
    const auto kept = routed_by_phoenix(*inputs.durable);
    if (running != kept) {
      problems.push_back("the running balancer routes to [" + util::join(running, ", ") +
                         "] but a restart would route to [" + util::join(kept, ", ") + "] " +
                         restart_mismatch_advice(inputs, lock_stale));
    }
  }
  if (inputs.balancer_error) report_without_balancer(inputs, report);
  // After a reload with an older membership the restart's line says what repair restores.
  if (inputs.last_switch && !inputs.intent && !inputs.balancer_error && !inputs.repair_restores &&
      std::find(report.live.begin(), report.live.end(), inputs.last_switch->label) == report.live.end()) {
    problems.push_back(history_mismatch_problem(inputs, report.live, lock_stale));
  }
  if (report.live.empty() && !inputs.pools.empty() && !inputs.balancer_error) {
    problems.push_back("no pool is live: the balancer routes traffic to no server of this service");
  }

  const auto hot_labels = hot_standby_labels(inputs);
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
      const bool rebuildable = rebuild_source_of(*pool) == RebuildSource::unflagged;
      problems.push_back("server " + owner->server_id + " of live pool " + owner->label + " is " +
                         to_string(server->state) + "; " +
                         (rebuildable ? "'create-pipeline rebuild --from " + owner->label +
                                            "' builds the same release on fresh servers to deploy instead"
                                      : "deploy instead " + rebuild_or_fix(inputs.pools, owner->label, lock_stale)));
    }
    // Not checked yet (just added, or the balancer just restarted): only a check that ran and
    // failed is a problem.
    if (member.admitted() && !member.healthy() && member.check != CheckState::pending) {
      problems.push_back("live member " + member.name + " is not healthy: " + row.health);
    }
    const bool operation_running = inputs.intent.has_value() && inputs.operation_in_progress;
    const bool hot = std::find(hot_labels.begin(), hot_labels.end(), owner->label) != hot_labels.end();
    if (!member.admitted() && !operation_running && !hot) {
      problems.push_back(left_member_problem(inputs, member.name, owner->label, row.state, lock_stale));
    }
  }
  for (const auto& pool : inputs.pools) {
    if (pool.readable()) continue;
    auto way_out = unreadable_way_out(pool, inputs.pools, inputs.members);
    way_out.lock_stale = lock_stale;
    problems.push_back(describe_unreadable(pool, way_out));
  }
  const auto bad_live =
      report_bad_live(inputs, report, choice, lock_stale, report_unanswered_breach(inputs, report, lock_stale));
  report_standby(inputs, report);
  report_rollback_target(inputs, report, choice, bad_live);
  report_outage(inputs, report, choice, lock_stale);
  return report;
}

}  // namespace phoenix
