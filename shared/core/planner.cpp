#include "shared/core/planner.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "shared/core/advice.hpp"
#include "shared/core/state_store.hpp"
#include "shared/core/tiers.hpp"
#include "shared/core/verdict_history.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"

namespace phoenix {

const char* to_string(StepKind kind) {
  switch (kind) {
    case StepKind::add_standby:
      return "add-standby";
    case StepKind::standby:
      return "standby";
    case StepKind::wait_healthy:
      return "wait-healthy";
    case StepKind::admit:
      return "admit";
    case StepKind::drain:
      return "drain";
    case StepKind::wait_drained:
      return "wait-drained";
    case StepKind::remove:
      return "remove";
    case StepKind::persist:
      return "persist";
  }
  return "step";
}

namespace {

std::string list_members(const std::vector<std::string>& names) {
  constexpr std::size_t shown = 6;
  std::vector<std::string> head(names.begin(), names.begin() + static_cast<long>(std::min(shown, names.size())));
  std::string text = util::join(head, ", ");
  if (names.size() > shown) text += ", ... (" + std::to_string(names.size() - shown) + " more)";
  return text;
}

std::string member_count(std::size_t count) { return util::plural(count, "member"); }

const Pool* newest_of(const std::vector<Pool>& pools, const std::vector<std::string>& labels) {
  const Pool* newest = nullptr;
  for (const auto& label : labels) {
    const Pool* pool = find_pool(pools, label);
    if (pool != nullptr && (newest == nullptr || pool->meta.created_at > newest->meta.created_at)) newest = pool;
  }
  return newest;
}

// Invariant 12: Phoenix changes only members it added. A backend that holds others is refused
// before anything changes, unless the operator said they stay.
Status check_foreign_members(const std::vector<Member>& members, bool keep_foreign) {
  if (keep_foreign) return {};
  std::vector<std::string> foreign;
  for (const auto& member : members) {
    if (!added_by_phoenix(member)) foreign.push_back(member.name + " (" + member.address + ")");
  }
  if (foreign.empty()) return {};
  return Error{ErrorKind::invalid, "the backend holds " + util::plural(foreign.size(), "server") +
                                       " Phoenix did not add: " + list_members(foreign) +
                                       "; Phoenix changes only the servers it added. Remove them from the backend "
                                       "(a static 'server' line belongs in no Phoenix backend), or set "
                                       "balancer.allow_foreign_servers to true to leave them serving beside it"};
}

// The membership after the switch: the target's servers admitted, and those of the pools that
// stay hot on standby (weight 0). Members Phoenix did not add are not Phoenix's to keep; the
// balancer keeps them where the operator put them.
void add_end_state(const Pool& pool, int weight, std::vector<Member>& membership) {
  for (const auto& server : pool.servers) {
    Member member;
    member.name = member_name(pool.label(), server.id);
    member.address = server.address();
    member.admin = AdminState::ready;
    member.weight = weight;
    membership.push_back(std::move(member));
  }
}

// The persist step goes just before the first step that routes to the target or takes
// capacity away (see Step::membership), else last.
void insert_persist(SwitchPlan& plan, const Pool& target, const std::vector<Pool>& pools,
                    const std::set<std::string>& hot) {
  const auto first_change = std::find_if(plan.steps.begin(), plan.steps.end(), [](const Step& step) {
    const bool takes_capacity = step.kind == StepKind::drain || step.kind == StepKind::remove ||
                                (step.kind == StepKind::standby && !step.keep_serving.empty());
    return step.kind == StepKind::admit || takes_capacity;
  });
  Step persist{StepKind::persist, {}, {}, {}};
  add_end_state(target, 1, persist.membership);
  for (const auto& label : hot) add_end_state(*find_pool(pools, label), 0, persist.membership);
  plan.steps.insert(first_change, std::move(persist));
}

// Whether a balancer that keeps its membership so writes nothing a restart reads.
bool writes_nothing(KeepingKind keeping) {
  return keeping == KeepingKind::not_kept || keeping == KeepingKind::runtime_only;
}

std::string describe_persist(const std::string& count, KeepingKind keeping) {
  if (keeping == KeepingKind::by_balancer) {
    return "nothing to keep for restarts (" + count + "): the balancer keeps its members itself";
  }
  if (writes_nothing(keeping)) {
    return "not keeping the new membership for restarts (" + count + "): a reload or restart of the balancer loses it";
  }
  return "keep the new membership for restarts (" + count + ")";
}

}  // namespace

std::string describe(const Step& step, KeepingKind keeping) {
  const auto count = member_count(step.members.size());
  const auto names = list_members(step.members);
  switch (step.kind) {
    case StepKind::add_standby:
      return "add " + count + " on standby: " + names;
    case StepKind::standby:
      return "put " + count + " on standby (checked, no traffic): " + names;
    case StepKind::wait_healthy:
      return "wait until the balancer reports " + count + " healthy: " + names;
    case StepKind::admit:
      return "route traffic to " + count + ": " + names;
    case StepKind::drain:
      return "drain " + count + ": " + names;
    case StepKind::wait_drained:
      return "wait for the connections of " + count + " to finish: " + names;
    case StepKind::remove:
      return "remove " + count + " from the balancer: " + names;
    case StepKind::persist:
      return describe_persist(member_count(step.membership.size()), keeping);
  }
  return "step";
}

std::string describe_restart_keeping(const std::vector<std::string>& restart_routes, KeepingKind keeping) {
  const std::string routes = restart_routes.empty() ? std::string("no member") : util::join(restart_routes, ", ");
  if (writes_nothing(keeping)) {
    return "not keeping the running membership for restarts: a reload or restart of the balancer routes to " + routes;
  }
  return "keep the running membership for restarts (a restart would route to " + routes + " now)";
}

namespace {

using MemberIndex = std::map<std::string, const Member*>;

Status check_target(const SwitchRequest& request, const Pool* target) {
  if (target == nullptr) {
    return Error{ErrorKind::invalid,
                 "there is no pool '" + request.target + "'; 'create-pipeline list' shows the pools that exist"};
  }
  if (!target->readable()) return Error{ErrorKind::invalid, describe_unreadable(*target)};
  // A cold pool has no servers (or what an interrupted archive or restore left): waking it
  // restores them. A powered-off one is woken too. Anything else must be whole.
  if (!target->cold()) {
    if (!target->complete) {
      return Error{ErrorKind::invalid,
                   "pool " + request.target + " was not created completely; " + finish_creating_advice(*target)};
    }
    if (target->servers.empty()) {
      return Error{ErrorKind::invalid,
                   "pool " + request.target + " has no servers; deploy another pool, or " + fixed_or_rebuilt_release()};
    }
  }
  if (target->meta.smoke != SmokeVerdict::passed && !request.force) {
    return Error{ErrorKind::refused, "pool " + request.target + " has smoke verdict '" + to_string(target->meta.smoke) +
                                         "', not 'passed'; run 'create-pipeline smoke-test --label " + request.target +
                                         "', or deploy anyway with --force"};
  }
  // A release known to be bad goes back into production only by a decision, never by a
  // mistyped label or a re-run CI stage (the same rule as 'rollback --to').
  if (target->meta.verdict == LiveVerdict::bad && !request.force) {
    return Error{ErrorKind::refused, "pool " + request.target + " is " + describe_bad_mark_briefly(*target) +
                                         "; deploy it anyway with --force, or clear the mark first with "
                                         "'deploy-pipeline mark-good --label " +
                                         request.target + "'"};
  }
  return {};
}

// Whether every server of `pool` is a member on standby whose latest check passed: the
// balancer has been verifying it all along, so it can take traffic without waiting.
bool hot_and_healthy(const Pool& pool, const MemberIndex& by_name) {
  for (const auto& server : pool.servers) {
    const auto found = by_name.find(member_name(pool.label(), server.id));
    if (found == by_name.end() || !on_standby(*found->second) || !found->second->healthy()) return false;
  }
  return true;
}

// The steps that bring the target in: add what is missing on standby, put back on standby
// what was drained, wait for the balancer's own checks (skipped when the whole pool is hot and
// healthy), then admit.
struct TargetSteps {
  Step additions{StepKind::add_standby, {}, {}, {}};
  Step back_to_standby{StepKind::standby, {}, {}, {}};
  Step wait_healthy{StepKind::wait_healthy, {}, {}, {}};
  Step admit{StepKind::admit, {}, {}, {}};
  std::set<std::string> names;
};

TargetSteps target_steps(const Pool& target, const MemberIndex& by_name) {
  TargetSteps steps;
  const bool instant = hot_and_healthy(target, by_name);
  for (const auto& server : target.servers) {
    const auto name = member_name(target.label(), server.id);
    steps.names.insert(name);
    const auto found = by_name.find(name);
    if (found == by_name.end()) {
      steps.additions.members.push_back(name);
      steps.additions.additions.push_back({name, server.host, server.port, server.id});
      steps.admit.members.push_back(name);
      continue;
    }
    const Member& member = *found->second;
    if (member.admin != AdminState::ready) steps.back_to_standby.members.push_back(name);
    if (!member.admitted()) steps.admit.members.push_back(name);
  }
  if (!instant) steps.wait_healthy.members = steps.admit.members;
  return steps;
}

// The pools that stay hot after the switch: the newest `request.hot` usable ones among the pools
// it replaces (first) and those already on standby, never one of `request.never_hot`. Bad,
// failed or incomplete pools are no rollback target and never stay hot.
std::set<std::string> choose_hot(const SwitchRequest& request, const std::vector<Pool>& pools,
                                 const std::vector<Member>& members) {
  std::set<std::string> chosen;
  if (request.hot <= 0) return chosen;
  const int hot = request.hot;
  const auto live = live_labels(members);
  const auto in_balancer = member_labels(members);
  std::vector<Pool> replaced;
  std::vector<Pool> standing_by;
  for (const auto& pool : pools) {
    if (pool.label() == request.target || !usable_rollback_target(pool) || has_label(request.never_hot, pool.label())) {
      continue;
    }
    if (std::find(live.begin(), live.end(), pool.label()) != live.end()) {
      replaced.push_back(pool);
    } else if (std::find(in_balancer.begin(), in_balancer.end(), pool.label()) != in_balancer.end()) {
      standing_by.push_back(pool);
    }
  }
  sort_newest_first(replaced);
  sort_newest_first(standing_by);
  for (const auto* group : {&replaced, &standing_by}) {
    for (const auto& pool : *group) {
      if (static_cast<int>(chosen.size()) < hot) chosen.insert(pool.label());
    }
  }
  return chosen;
}

// The steps for everything else Phoenix added: pools that stay hot go (or stay) on standby,
// checks on; the rest are drained and removed. Capacity leaves only while the target serves.
struct OldSteps {
  Step to_standby{StepKind::standby, {}, {}, {}};
  Step drain{StepKind::drain, {}, {}, {}};
  Step wait_drained{StepKind::wait_drained, {}, {}, {}};
  Step remove{StepKind::remove, {}, {}, {}};
};

OldSteps old_steps(const std::vector<Member>& members, const std::set<std::string>& target_names,
                   const std::set<std::string>& hot, Step& back_to_standby) {
  OldSteps steps;
  const std::vector<std::string> keep_serving(target_names.begin(), target_names.end());
  steps.to_standby.keep_serving = keep_serving;
  steps.drain.keep_serving = keep_serving;
  steps.remove.keep_serving = keep_serving;
  for (const auto& member : members) {
    const auto owner = parse_member_name(member.name);
    if (!owner || target_names.count(member.name) != 0) continue;
    if (hot.count(owner->label) != 0) {
      if (member.admitted()) {
        steps.to_standby.members.push_back(member.name);
      } else if (member.admin != AdminState::ready) {
        back_to_standby.members.push_back(member.name);
      }
      continue;
    }
    if (member.admitted()) steps.drain.members.push_back(member.name);
    if (member.admitted() || member.admin == AdminState::drain) steps.wait_drained.members.push_back(member.name);
    steps.remove.members.push_back(member.name);
  }
  return steps;
}

// Servers of hot pools that are not in the balancer at all join on standby with the target's
// additions (no wait: they take no traffic).
void add_missing_hot(const std::vector<Pool>& pools, const std::set<std::string>& hot, const MemberIndex& by_name,
                     Step& additions) {
  for (const auto& label : hot) {
    for (const auto& server : find_pool(pools, label)->servers) {
      const auto name = member_name(label, server.id);
      if (by_name.count(name) != 0) continue;
      additions.members.push_back(name);
      additions.additions.push_back({name, server.host, server.port, server.id});
    }
  }
}

}  // namespace

namespace {

// Smoke-tested, not marked bad, complete or archived: a pool an operator expects a rollback to
// weigh, so one passed over is named with why (a flagged rebuild among them).
bool smoke_passed_not_bad(const Pool& pool) {
  return (pool.complete || pool.archive.has_value()) && pool.meta.smoke == SmokeVerdict::passed &&
         pool.meta.verdict != LiveVerdict::bad;
}

}  // namespace

bool usable_rollback_target(const Pool& pool) {
  return pool.complete && !pool.servers.empty() && pool.power == PowerState::on &&
         pool.meta.smoke == SmokeVerdict::passed && pool.meta.verdict != LiveVerdict::bad && !flagged_rebuild(pool);
}

// A member named like one of the target's servers but at another address is left from an
// earlier pool that had the same label (its state was lost, the label was used again): taking
// it for the target's server would route to whatever answers there, or to nothing.
Status check_stale_members(const Pool& target, const std::vector<Member>& members) {
  for (const auto& server : target.servers) {
    const auto name = member_name(target.label(), server.id);
    for (const auto& member : members) {
      if (member.name != name || member.address.empty() || member.address == server.address()) continue;
      return Error{ErrorKind::refused, "the balancer's member " + name + " is at " + member.address + ", but pool " +
                                           target.label() + "'s server " + server.id + " is at " + server.address() +
                                           ": a member left from an earlier pool with the same label; take it out "
                                           "of the balancer by hand, then re-run"};
    }
  }
  return {};
}

Result<SwitchPlan> plan_switch(const SwitchRequest& request, const std::vector<Pool>& pools,
                               const std::vector<Member>& members) {
  const Pool* target = find_pool(pools, request.target);
  PHX_TRY(check_target(request, target));
  PHX_TRY(check_foreign_members(members, request.keep_foreign));
  if (!target->cold()) PHX_TRY(check_stale_members(*target, members));
  MemberIndex by_name;
  for (const auto& member : members) by_name[member.name] = &member;

  SwitchPlan plan;
  plan.target = request.target;
  plan.live = live_labels(members);
  for (const auto& label : plan.live) {
    if (label != request.target) plan.from.push_back(label);
  }
  if (target->cold()) {
    plan.wake = Tier::cold;  // no servers to plan for until it is woken
    return plan;
  }
  if (target->power == PowerState::off) plan.wake = Tier::off;
  auto in = target_steps(*target, by_name);
  const auto hot = choose_hot(request, pools, members);
  plan.hot.assign(hot.begin(), hot.end());
  auto out = old_steps(members, in.names, hot, in.back_to_standby);
  add_missing_hot(pools, hot, by_name, in.additions);
  for (Step* step : {&in.additions, &in.back_to_standby, &in.wait_healthy, &in.admit, &out.to_standby, &out.drain,
                     &out.wait_drained, &out.remove}) {
    if (!step->members.empty()) plan.steps.push_back(std::move(*step));
  }
  if (!plan.steps.empty()) insert_persist(plan, *target, pools, hot);
  return plan;
}

std::vector<Step> plan_revert(const std::string& target, const std::vector<Member>& members) {
  Step remove{StepKind::remove, {}, {}, {}};
  for (const auto& member : members) {
    const auto owner = parse_member_name(member.name);
    if (owner && owner->label == target && !member.admitted()) remove.members.push_back(member.name);
  }
  if (remove.members.empty()) return {};
  return {remove};
}

namespace {

// "hot standby", "running", "powered off", "cold": where a rollback candidate is kept.
std::string kept_as(Tier tier) {
  if (tier == Tier::hot) return "hot standby";
  if (tier == Tier::off) return "powered off";
  return to_string(tier);
}

// The members of `label` in the balancer, and how many of them are up.
struct MemberCount {
  std::size_t total = 0;
  std::size_t up = 0;
  std::size_t down = 0;  // not up, and the latest check ran and failed
};

MemberCount count_members(const std::vector<Member>& members, const std::string& label) {
  MemberCount count;
  for (const auto& member : members) {
    const auto owner = parse_member_name(member.name);
    if (!owner || owner->label != label) continue;
    ++count.total;
    if (member.up) ++count.up;
    if (!member.up && member.check == CheckState::failed) ++count.down;
  }
  return count;
}

// A hot standby whose members in the balancer are all up.
bool up_hot_standby(const Pool& pool, const std::vector<Member>& members, const std::vector<std::string>& standby) {
  if (!has_label(standby, pool.label())) return false;
  const auto count = count_members(members, pool.label());
  return all_members_up(count.up, count.total);
}

// The pools of `sorted` (newest first) that `eligible` accepts and 'rollback --to' can go to
// without --force (known-good, servers running, not excluded by `hints`), a hot one first (its
// switch is instant), else the newest.
std::vector<const Pool*> usable_targets(const std::vector<Pool>& sorted, const std::vector<Member>& members,
                                        const RollbackHints& hints, const std::function<bool(const Pool&)>& eligible) {
  const auto standby = standby_labels(members);
  std::vector<const Pool*> usable;
  for (const auto& pool : sorted) {
    if (eligible(pool) && !has_label(hints.excluded, pool.label()) &&
        rollback_candidate_problem(pool, members).empty()) {
      usable.push_back(&pool);
    }
  }
  std::stable_partition(usable.begin(), usable.end(),
                        [&](const Pool* pool) { return has_label(standby, pool->label()); });
  return usable;
}

// "pool 6 (newer, hot standby) is known-good: 'deploy-pipeline rollback --to 6'": `usable`
// (not empty) named with how each is kept (after `age`), and the command that goes to the first
// (with --break-lock while the deploy lock is stale: `lock_stale`).
std::string known_good_named(const std::vector<const Pool*>& usable, const std::vector<Member>& members,
                             const std::string& age, bool lock_stale) {
  const auto standby = standby_labels(members);
  std::vector<std::string> named;
  for (const Pool* pool : usable) named.push_back(pool->label() + " (" + age + kept_as(tier_of(*pool, standby)) + ")");
  return (usable.size() == 1 ? "pool " : "pools ") + util::join(named, ", ") + (usable.size() == 1 ? " is" : " are") +
         " known-good: '" + past_the_lock("deploy-pipeline rollback --to " + usable.front()->label(), lock_stale) + "'";
}

constexpr const char* kNoOtherKnownGood = "no other pool is known-good with all its servers running";

// The usable_targets that a plain rollback from `from` passes over for not being older than it:
// newer, or any other when its record cannot be read (its creation time unknown).
std::vector<const Pool*> newer_usable(const std::vector<Pool>& sorted, const std::vector<Member>& members,
                                      const Pool& from, const RollbackHints& hints) {
  return usable_targets(sorted, members, hints, [&](const Pool& pool) {
    return pool.label() != from.label() && (!from.readable() || pool.meta.created_at >= from.meta.created_at);
  });
}

// The ways on when no pool can take traffic back: a release built afresh; and where a pool that
// is neither live (`live`) nor excluded is marked bad but could serve otherwise (the mark may be a
// mistake), going to it anyway or clearing its mark.
std::string no_target_way_on(const std::vector<Pool>& sorted, const std::vector<Member>& members,
                             const std::vector<std::string>& live, const RollbackHints& hints) {
  const std::string fresh = "deploy " + fixed_or_rebuilt_release(hints.lock_stale);
  for (const auto& pool : sorted) {
    if (has_label(live, pool.label()) || has_label(hints.excluded, pool.label()) ||
        pool.meta.verdict != LiveVerdict::bad) {
      continue;
    }
    Pool unmarked = pool;
    unmarked.meta.verdict = LiveVerdict::unknown;
    if (!rollback_candidate_problem(unmarked, members).empty()) continue;
    return fresh + "; or, if pool " + pool.label() + " was marked bad by mistake, '" +
           past_the_lock("deploy-pipeline rollback --to " + pool.label() + " --force", hints.lock_stale) +
           "' (or clear its mark first with 'deploy-pipeline mark-good --label " + pool.label() + "')";
  }
  return fresh;
}

// The refusal of a plain rollback from the live pool `from` that found no pool older than it
// (`what` says so): the known-good pools newer than it that can take traffic back (typically the
// hot standby after a deploy back to an older release), which a plain rollback never picks by
// itself, named with the command that goes to the first of them (a hot one first: its switch is
// instant; else the newest). `sorted` is newest first. When `from` is unreadable its creation
// time is unknown: every other such pool is named, none of them "newer". With none, says so and
// the ways on.
Error no_older_target(const std::string& what, const std::vector<Pool>& sorted, const std::vector<Member>& members,
                      const Pool& from, const RollbackHints& hints) {
  const auto newer = newer_usable(sorted, members, from, hints);
  if (!newer.empty()) {
    return Error{ErrorKind::failed,
                 what + "; " + known_good_named(newer, members, from.readable() ? "newer, " : "", hints.lock_stale),
                 ErrorCode::newer_candidates_only};
  }
  return Error{ErrorKind::failed,
               what + "; " + kNoOtherKnownGood + "; " + no_target_way_on(sorted, members, {from.label()}, hints),
               ErrorCode::no_candidate};
}

// The oldest of the live pools (`live`), or null when one of them is not there or cannot be read
// (its creation time unknown).
const Pool* oldest_live(const std::vector<Pool>& sorted, const std::vector<std::string>& live) {
  const Pool* oldest = nullptr;
  for (const auto& label : live) {
    const Pool* pool = find_pool(sorted, label);
    if (pool == nullptr || !pool->readable()) return nullptr;
    if (oldest == nullptr || pool->meta.created_at < oldest->meta.created_at) oldest = pool;
  }
  return oldest;
}

// Whether a plain rollback from several live pools (`live`) may go to `pool`: the pool the last
// switch replaced when that switch made one of them live, or a pool older than all of them
// (`oldest`). Never a newer one: it may never have served.
bool back_from_several(const Pool& pool, const std::vector<std::string>& live, const Pool& oldest,
                       const RollbackHints& hints) {
  if (has_label(live, pool.label())) return false;
  const bool replaced = has_label(live, hints.last_made_live) && hints.last_replaced == pool.label();
  return replaced || pool.meta.created_at < oldest.meta.created_at;
}

// "; or 'deploy-pipeline deploy --label 7' deploys pool 7, an untried release (it never served)":
// the known-good pools (`newer`) a rollback from several live pools passes over for being newer
// than one of them, as the deploy they are; an untried release where history says it never served
// (`hints.never_served`). "" with none.
std::string newer_as_deploy(const std::vector<const Pool*>& newer, const RollbackHints& hints) {
  if (newer.empty()) return "";
  const std::string& label = newer.front()->label();
  const std::string what =
      has_label(hints.never_served, label) ? ", an untried release (it never served)" : ", newer than a live pool";
  return "; or '" + past_the_lock("deploy-pipeline deploy --label " + label, hints.lock_stale) + "' deploys pool " +
         label + what;
}

// The refusal of a plain rollback while several pools are live (`live`): which one to go to is
// the operator's to name, so it names the known-good pools a rollback from them may go to
// (back_from_several), with the command that goes to the first, and a newer known-good one as a
// deploy (newer_as_deploy); with none, says so, the ways on, and which live pool repair keeps.
Error several_live_refusal(const std::vector<Pool>& sorted, const std::vector<Member>& members,
                           const std::vector<std::string>& live, const RollbackHints& hints) {
  const std::string what = "more than one pool is live (" + util::join(live, ", ") + ")";
  const Pool* oldest = oldest_live(sorted, live);
  const auto others = usable_targets(sorted, members, hints, [&](const Pool& pool) {
    return !has_label(live, pool.label()) && (oldest == nullptr || back_from_several(pool, live, *oldest, hints));
  });
  const auto newer = usable_targets(sorted, members, hints, [&](const Pool& pool) {
    return oldest != nullptr && !has_label(live, pool.label()) && !back_from_several(pool, live, *oldest, hints);
  });
  if (!others.empty()) {
    return Error{ErrorKind::failed, what + "; name the pool to roll back to with --to: " +
                                        known_good_named(others, members, "", hints.lock_stale) +
                                        newer_as_deploy(newer, hints)};
  }
  const std::string kept = repair_keeps(sorted, live, hints.last_made_live);
  const std::string why = kept == hints.last_made_live ? "the last switch made it live" : "the newest of them";
  const bool kept_bad = found_marked_bad(find_pool(sorted, kept));
  return Error{ErrorKind::failed,
               what + " and no pool " + (newer.empty() ? "that is not live" : "older than them") +
                   " is known-good with all its servers running; " + no_target_way_on(sorted, members, live, hints) +
                   newer_as_deploy(newer, hints) + "; until then '" +
                   past_the_lock("deploy-pipeline repair", hints.lock_stale) + "' keeps only pool " + kept + " live (" +
                   why + (kept_bad ? "; it is marked bad" : "") + "), or '" +
                   past_the_lock("deploy-pipeline deploy --label P --force", hints.lock_stale) +
                   "' keeps the live pool P you name",
               ErrorCode::no_candidate};
}

// Whether every live pool (`live`) is there, readable and marked bad.
bool every_live_bad(const std::vector<Pool>& pools, const std::vector<std::string>& live) {
  return std::all_of(live.begin(), live.end(),
                     [&](const std::string& label) { return found_marked_bad(find_pool(pools, label)); });
}

// The refusal of a plain rollback whose live pool (`live`) no longer exists with the provider (its
// servers deleted behind Phoenix's back): with no creation time nothing counts as older, so the
// operator names the target; the known-good pools that can take traffic back are named with the
// command that goes to the first (a hot one first: its switch is instant), or, with none,
// the ways on.
Error gone_live_refusal(const std::vector<Pool>& sorted, const std::vector<Member>& members, const std::string& live,
                        const RollbackHints& hints) {
  const std::string what = "the live pool " + live + " no longer exists with the provider, so no pool counts as older";
  const auto others = usable_targets(sorted, members, hints, [&](const Pool& pool) { return pool.label() != live; });
  if (!others.empty()) {
    return Error{ErrorKind::failed, what + "; name the pool to roll back to with --to: " +
                                        known_good_named(others, members, "", hints.lock_stale)};
  }
  return Error{ErrorKind::failed,
               what + "; " + kNoOtherKnownGood + "; " + no_target_way_on(sorted, members, {live}, hints),
               ErrorCode::no_candidate};
}

// The pool the last successful switch replaced, when that switch made `from` live and the pool
// can take traffic back; else null. A problem found is added to `passed_over`.
const Pool* last_replaced_pool(const std::vector<Pool>& pools, const std::vector<Member>& members, const Pool& from,
                               const RollbackHints& hints, std::vector<std::string>& passed_over) {
  if (hints.last_made_live != from.label() || hints.last_replaced.empty() || hints.last_replaced == from.label() ||
      has_label(hints.excluded, hints.last_replaced)) {
    return nullptr;
  }
  const Pool* replaced = find_pool(pools, hints.last_replaced);
  if (replaced == nullptr || !replaced->readable()) return nullptr;
  const auto problem = rollback_candidate_problem(*replaced, members);
  if (problem.empty()) return replaced;
  if (smoke_passed_not_bad(*replaced)) passed_over.push_back(replaced->label() + " (" + problem + ")");
  return nullptr;
}

// The newest pool older than `from` that can take traffic back; of pools created at the same
// time an UP hot standby first. Known-good pools passed over are added to `passed_over`.
const Pool* newest_older_pool(const std::vector<Pool>& sorted, const std::vector<Member>& members, const Pool& from,
                              const RollbackHints& hints, std::vector<std::string>& passed_over) {
  const auto standby = standby_labels(members);
  const Pool* chosen = nullptr;
  for (const auto& pool : sorted) {
    if (pool.meta.created_at >= from.meta.created_at || pool.label() == from.label()) continue;
    if (has_label(hints.excluded, pool.label()) || !pool.readable()) continue;
    if (chosen != nullptr && pool.meta.created_at < chosen->meta.created_at) break;
    const auto problem = rollback_candidate_problem(pool, members);
    if (!problem.empty()) {
      const auto named = pool.label() + " (" + problem + ")";
      if (smoke_passed_not_bad(pool) && !has_label(passed_over, named)) passed_over.push_back(named);
      continue;
    }
    if (chosen == nullptr || (!up_hot_standby(*chosen, members, standby) && up_hot_standby(pool, members, standby))) {
      chosen = &pool;
    }
  }
  return chosen;
}

// A plain rollback from several live pools (`live`), every one of them marked bad (every_live_bad):
// no live pool is worth keeping, so the choice is made as from one, from all of them: the pool the
// last switch replaced, when that switch made one of them live and the pool can take traffic back;
// else the newest pool older than all of them that can. None when there is none.
std::optional<RollbackChoice> several_live_target(const std::vector<Pool>& sorted, const std::vector<Member>& members,
                                                  const std::vector<std::string>& live, const RollbackHints& hints) {
  const Pool* oldest = oldest_live(sorted, live);
  if (oldest == nullptr || !every_live_bad(sorted, live)) return std::nullopt;
  const std::string from = util::join(live, ",");
  std::vector<std::string> passed_over;
  if (const Pool* made_live = find_pool(sorted, hints.last_made_live);
      made_live != nullptr && has_label(live, made_live->label())) {
    if (const Pool* replaced = last_replaced_pool(sorted, members, *made_live, hints, passed_over);
        replaced != nullptr && !has_label(live, replaced->label())) {
      return RollbackChoice{replaced->label(), from, RollbackRule::last_replaced};
    }
  }
  if (const Pool* older = newest_older_pool(sorted, members, *oldest, hints, passed_over)) {
    return RollbackChoice{older->label(), from, RollbackRule::newest_older};
  }
  return std::nullopt;
}

}  // namespace

RollbackHints rollback_hints_from(const std::optional<HistoryEvent>& last_switch, std::vector<std::string> excluded) {
  RollbackHints hints{.last_made_live = "",
                      .last_replaced = "",
                      .excluded = std::move(excluded),
                      .lock_stale = false,
                      .never_served = {}};
  if (!last_switch) return hints;
  hints.last_made_live = last_switch->label;
  if (last_switch->from.find(',') == std::string::npos) hints.last_replaced = last_switch->from;
  return hints;
}

std::string repair_keeps(const std::vector<Pool>& pools, const std::vector<std::string>& live,
                         const std::string& last_made_live) {
  if (has_label(live, last_made_live)) return last_made_live;
  std::vector<Pool> sorted = pools;
  sort_newest_first(sorted);
  for (const auto& pool : sorted) {
    if (has_label(live, pool.label())) return pool.label();
  }
  return live.empty() ? std::string() : live.back();
}

bool plain_rollback_could_choose(const Pool& pool, const std::vector<Pool>& pools, const std::vector<Member>& members,
                                 const RollbackHints& hints) {
  const auto live = live_labels(members);
  if (live.size() != 1 || pool.label() == live.front() || has_label(hints.excluded, pool.label())) return false;
  const Pool* from = find_pool(pools, live.front());
  if (from == nullptr || !from->readable() || !rollback_candidate_problem(pool, members).empty()) return false;
  const bool last_replaced = hints.last_made_live == from->label() && hints.last_replaced == pool.label();
  return last_replaced || pool.meta.created_at < from->meta.created_at;
}

std::string rollback_candidate_problem(const Pool& pool, const std::vector<Member>& members) {
  if (!pool.readable()) return "its record cannot be read";
  if (pool.meta.verdict == LiveVerdict::bad) return "marked bad";
  if (pool.meta.smoke != SmokeVerdict::passed) return "smoke test " + std::string(to_string(pool.meta.smoke));
  if (flagged_rebuild(pool))
    return "a rebuild of pool " + pool.meta.rebuild_of + ", " + describe(pool.meta.rebuild_source);
  if (!known_good(pool)) return "not created completely";
  return serving_problem(pool, members);
}

std::string serving_problem(const Pool& pool, const std::vector<Member>& members) {
  // Kept powered off or cold: the rollback wakes it and smoke-tests it first.
  if (pool.cold() || pool.power == PowerState::off) return "";
  // A provider that cannot tell (unknown) is not taken for a dead server.
  const std::size_t running = pool.servers_maybe_running();
  if (running < pool.servers.size()) {
    return std::to_string(running) + "/" + std::to_string(pool.servers.size()) + " servers running";
  }
  const auto count = count_members(members, pool.label());
  if (count.total > 0 && count.down == count.total) {
    return count.total == 1 ? std::string("its 1 member in the balancer is down")
                            : "its " + util::plural(count.total, "member") + " in the balancer are all down";
  }
  return "";
}

Status check_target_runs(const Pool& pool, const std::optional<std::string>& alternative, bool can_power_on) {
  if (!pool.readable() || pool.cold() || pool.power == PowerState::off || pool.servers.empty()) return {};
  if (pool.servers_maybe_running() > 0) return {};
  const std::string& label = pool.label();
  // Restarting the recorded servers keeps the pool what it was (same release, same place in the
  // rollback order); a rebuild is a newer pool that a plain rollback passes over.
  const std::string restart = can_power_on ? "'create-pipeline power-on --label " + label +
                                                 "' restarts its servers, then 'create-pipeline smoke-test --label " +
                                                 label + "' checks them; or "
                                           : std::string();
  return Error{ErrorKind::refused, "pool " + label + " has 0/" + std::to_string(pool.servers.size()) +
                                       " servers running, so it cannot take traffic; nothing was changed. " + restart +
                                       "'create-pipeline rebuild --from " + label +
                                       "' builds the same release on fresh servers" +
                                       (alternative ? "; or 'deploy-pipeline rollback --to " + *alternative +
                                                          "' (pool " + *alternative + " is known-good and running)"
                                                    : std::string())};
}

std::string partly_running_warning(const Pool& pool) {
  if (!pool.readable() || pool.cold() || pool.power == PowerState::off) return "";
  const std::size_t running = pool.servers_maybe_running();
  if (running == 0 || running == pool.servers.size()) return "";
  return "pool " + pool.label() + " has only " + std::to_string(running) + "/" + std::to_string(pool.servers.size()) +
         " servers running; going ahead, but its other members will not become healthy";
}

Result<RollbackChoice> choose_rollback_target(const std::vector<Pool>& pools, const std::vector<Member>& members,
                                              const std::optional<std::string>& explicit_target,
                                              const RollbackHints& hints) {
  const auto live = live_labels(members);
  // A named pool that does not exist is a usage error (exit 2) whatever is live.
  if (explicit_target && find_pool(pools, *explicit_target) == nullptr) {
    return Error{ErrorKind::invalid, "there is no pool '" + *explicit_target +
                                         "' to roll back to; 'create-pipeline list' shows the pools that exist"};
  }
  if (live.empty()) {
    const std::string deploy = "'deploy-pipeline deploy --label " + explicit_target.value_or("L") + "'";
    return Error{ErrorKind::failed, "nothing is live, so there is nothing to roll back from; use " + deploy};
  }
  if (explicit_target) {
    std::vector<std::string> others;
    for (const auto& label : live) {
      if (label != *explicit_target) others.push_back(label);
    }
    return RollbackChoice{*explicit_target, util::join(others, ","), RollbackRule::named};
  }
  std::vector<Pool> sorted = pools;
  sort_newest_first(sorted);
  if (live.size() > 1) {
    if (auto back = several_live_target(sorted, members, live, hints)) return *back;
    return several_live_refusal(sorted, members, live, hints);
  }
  const Pool* from = newest_of(sorted, live);
  if (from == nullptr) return gone_live_refusal(sorted, members, live.front(), hints);
  if (!from->readable()) {
    return no_older_target("the record of the live pool " + from->label() + " cannot be read (creation time of pool " +
                               from->label() + " unknown), so no pool counts as older than it",
                           sorted, members, *from, hints);
  }
  std::vector<std::string> passed_over;
  if (const Pool* replaced = last_replaced_pool(sorted, members, *from, hints, passed_over)) {
    return RollbackChoice{replaced->label(), from->label(), RollbackRule::last_replaced};
  }
  if (const Pool* older = newest_older_pool(sorted, members, *from, hints, passed_over)) {
    return RollbackChoice{older->label(), from->label(), RollbackRule::newest_older};
  }
  return no_older_target(
      "no pool older than the live pool " + from->label() +
          " passed its smoke test, is not marked bad and has all its servers running" +
          (passed_over.empty() ? std::string() : " (passed over: " + util::join(passed_over, ", ") + ")"),
      sorted, members, *from, hints);
}

bool flagged_rebuild(const Pool& pool) {
  return pool.meta.rebuild_source != RebuildSource::unflagged && pool.meta.verdict != LiveVerdict::good;
}

bool known_good(const Pool& pool) { return smoke_passed_not_bad(pool) && !flagged_rebuild(pool); }

const char* to_string(PruneAction action) {
  switch (action) {
    case PruneAction::keep:
      return "keep";
    case PruneAction::power_off:
      return "power off";
    case PruneAction::archive:
      return "archive";
    case PruneAction::remove:
      return "delete";
  }
  return "keep";
}

namespace {

// Why a pool is no good to keep, or "" when it is: the mark and its reason, without who and when
// (a column of prune's table).
std::string unusable_because(const Pool& pool) {
  if (pool.meta.verdict == LiveVerdict::bad) {
    return "marked bad" + (pool.meta.verdict_reason.empty() ? std::string() : ": " + pool.meta.verdict_reason);
  }
  if (pool.meta.smoke == SmokeVerdict::failed) return "smoke test failed";
  if (flagged_rebuild(pool))
    return "a rebuild of pool " + pool.meta.rebuild_of + ", " + describe(pool.meta.rebuild_source);
  return "";
}

}  // namespace

namespace {

// The order in which pools take prune's kept places: known-good ones first, then those nobody has
// judged yet (a creation cut short, a smoke test not run), then failed and bad ones; newest first
// within each.
enum class KeepClass { known_good, unjudged, unusable };

KeepClass keep_class(const Pool& pool) {
  if (known_good(pool)) return KeepClass::known_good;
  return unusable_because(pool).empty() ? KeepClass::unjudged : KeepClass::unusable;
}

// What a pool's class is, as prune's table words why it keeps it: "known good", "not created
// completely", "smoke verdict pending", "smoke test failed", "marked bad: <reason>".
std::string class_words(const Pool& pool) {
  switch (keep_class(pool)) {
    case KeepClass::known_good:
      return "known good";
    case KeepClass::unjudged:
      if (!pool.complete && !pool.archive) return "not created completely";
      return "smoke verdict " + std::string(to_string(pool.meta.smoke));
    case KeepClass::unusable:
      break;
  }
  return unusable_because(pool);
}

// "known good, kept place 2 of retention.keep 3": why a pool holds the kept place `place` (from 0)
// of a count `count` of the retention key `key`.
std::string kept_place(const Pool& pool, const std::string& kept, int place, const std::string& key, int count) {
  return class_words(pool) + ", " + kept + " place " + std::to_string(place + 1) + " of " + key + " " +
         std::to_string(count);
}

// The verdict for a pool that takes the kept place `place` (from 0) of tier `tier` (running, off
// or cold). Prune never moves a pool up: one already colder than its place stays as it is.
PruneVerdict place_in_tier(const Pool& pool, Tier tier, int place, const RetentionPolicy& policy) {
  const TierCounts& counts = *policy.tiers;
  const Tier now = pool.tier();
  const auto as_it_is = [&](std::string why) {
    if (now != tier) why += ", already " + std::string(to_string(now));
    return PruneVerdict{pool.label(), PruneAction::keep, why};
  };
  if (tier == Tier::running) {
    return as_it_is(kept_place(pool, "kept running:", place, "retention.running", counts.running));
  }
  if (tier == Tier::off) {
    const std::string why = kept_place(pool, "kept powered off:", place - counts.running, "retention.off", counts.off);
    if (now != Tier::running) return as_it_is(why);
    if (!policy.available.off) return {pool.label(), PruneAction::keep, why + "; the provider cannot power off"};
    // A creation cut short is finished by running its create again, which a pool powered off
    // would refuse: it stays as it is until it is finished or deleted.
    if (!pool.complete) return {pool.label(), PruneAction::keep, why + "; left running until its create finishes it"};
    return {pool.label(), PruneAction::power_off, why};
  }
  const std::string why =
      kept_place(pool, "kept cold:", place - counts.running - counts.off, "retention.cold", counts.cold);
  if (now == Tier::cold) return as_it_is(why);
  if (!known_good(pool)) {
    const auto unusable = unusable_because(pool);
    return {pool.label(), PruneAction::remove,
            (unusable.empty() ? "smoke verdict " + std::string(to_string(pool.meta.smoke)) : unusable) +
                ": only known-good pools are archived"};
  }
  if (!policy.available.cold) return {pool.label(), PruneAction::keep, why + "; the provider cannot archive"};
  return {pool.label(), PruneAction::archive, why};
}

// The kept place `index` among the tiers, warmest first; nothing past the last one.
std::optional<Tier> tier_of_place(int index, const TierCounts& counts) {
  if (index < counts.running) return Tier::running;
  if (index < counts.running + counts.off) return Tier::off;
  if (index < counts.total()) return Tier::cold;
  return std::nullopt;
}

// A known-good pool kept for retention.keep_good: as it is without tiers, else in the coldest
// tier the provider has.
PruneVerdict keep_for_rollback(const Pool& pool, const RetentionPolicy& policy) {
  PruneVerdict verdict{pool.label(), PruneAction::keep,
                       "known-good rollback target (retention.keep_good " + std::to_string(policy.keep_good) + ")"};
  if (!policy.tiers || pool.tier() == Tier::cold) return verdict;
  if (policy.available.cold) {
    verdict.action = PruneAction::archive;
    verdict.why += ", archived";
  } else if (policy.available.off && pool.tier() == Tier::running) {
    verdict.action = PruneAction::power_off;
    verdict.why += ", powered off";
  }
  return verdict;
}

// When one readable pool is live: when it was created (a plain rollback goes to an older pool).
// Otherwise nothing, and every pool counts as one a rollback can go to.
std::optional<WallTime> live_creation(const std::vector<Pool>& pools, const std::vector<std::string>& live) {
  if (live.size() != 1) return std::nullopt;
  const Pool* pool = find_pool(pools, live.front());
  if (pool == nullptr || !pool->readable()) return std::nullopt;
  return pool->meta.created_at;
}

// The pools a plain rollback can go to, as retention counts them (prune's keep_good and
// delete's check share it): those older than the one live pool. A newer build that was never
// deployed is no rollback target and never stands in for the release that served before.
struct PlainRollbackReach {
  std::optional<WallTime> live_created;  // none: no single readable live pool, every pool counts
  bool operator()(const Pool& pool) const { return !live_created || pool.meta.created_at < *live_created; }
};

PlainRollbackReach plain_rollback_reach(const std::vector<Pool>& pools, const std::vector<std::string>& live) {
  return {live_creation(pools, live)};
}

// Why prune keeps a pool the balancer holds on standby: prune leaves the balancer to switches
// and to delete. The newest `hot` usable ones are the hot standby; any other (no rollback target,
// or beyond retention.hot) leaves standby at the next switch, and delete takes it out now.
std::string standby_why(const Pool& pool, bool hot_standby, int hot) {
  if (hot_standby) return "hot standby (retention.hot)";
  std::string because = "beyond retention.hot " + std::to_string(hot);
  if (!usable_rollback_target(pool)) {
    const auto unusable = unusable_because(pool);
    because = unusable.empty() ? "no rollback target" : unusable;
  }
  return "on standby in the balancer (" + because +
         "): it leaves standby at the next switch; 'create-pipeline delete --label " + pool.label() +
         "' takes it out now";
}

// A pool nobody has judged yet, created less than a run's bound ago, may be one a
// create-pipeline run is creating or smoke-testing right now (on another agent, while other
// runs judged newer pools): prune leaves it. A creator's clock ahead of this one widens that by
// as much; a creation time further ahead than a run's bound is no clock skew but a record
// written wrong, and would keep the pool for good: it does not count.
bool may_be_in_the_making(const Pool& pool, const RetentionPolicy& policy) {
  return policy.run_bound.count() > 0 && pool.meta.smoke == SmokeVerdict::pending && !pool.archive &&
         pool.meta.created_at + policy.run_bound > policy.now && pool.meta.created_at <= policy.now + policy.run_bound;
}

// "12:03:04 UTC" on the day of `now`, else the date too.
std::string moment_words(WallTime time, WallTime now) {
  const std::string iso = util::format_iso8601(time);
  return iso.substr(0, 10) == util::format_iso8601(now).substr(0, 10) ? clock_time_utc(time) : iso;
}

std::string in_the_making_why(const Pool& pool, const RetentionPolicy& policy) {
  return "smoke verdict pending, created at " + moment_words(pool.meta.created_at, policy.now) +
         ": a create-pipeline run may be creating or smoke-testing it until " +
         moment_words(pool.meta.created_at + policy.run_bound, policy.now) + "; 'create-pipeline delete --label " +
         pool.label() + "' removes it now";
}

}  // namespace

PruneDecision plan_prune(const std::vector<Pool>& pools, const std::vector<Member>& members,
                         const RetentionPolicy& policy, const std::vector<ProtectedPool>& protected_pools) {
  std::vector<Pool> sorted = pools;
  sort_newest_first(sorted);
  const auto live = live_labels(members);
  const auto hot = standby_labels(members);
  const auto in_balancer = member_labels(members);
  PruneDecision decision;
  std::vector<bool> fixed;              // kept because the balancer has it, or a watch needs it
  std::vector<std::size_t> candidates;  // indexes into decision.pools, in the order of KeepClass
  int hot_seen = 0;                     // usable pools on standby so far, newest first
  for (const auto& pool : sorted) {
    PruneVerdict verdict{.label = pool.label(), .action = PruneAction::remove};
    const auto guarded = std::find_if(protected_pools.begin(), protected_pools.end(),
                                      [&](const ProtectedPool& entry) { return entry.label == pool.label(); });
    if (has_label(live, pool.label())) {
      verdict = {pool.label(), PruneAction::keep, "live"};
    } else if (guarded != protected_pools.end()) {
      verdict = {pool.label(), PruneAction::keep, guarded->why};
    } else if (has_label(hot, pool.label())) {
      const bool hot_standby = usable_rollback_target(pool) && hot_seen++ < policy.hot;
      verdict = {pool.label(), PruneAction::keep, standby_why(pool, hot_standby, policy.hot)};
    } else if (has_label(in_balancer, pool.label())) {
      verdict = {pool.label(), PruneAction::keep, "still a member of the balancer"};
    } else if (may_be_in_the_making(pool, policy)) {
      verdict = {pool.label(), PruneAction::keep, in_the_making_why(pool, policy)};
    }
    fixed.push_back(verdict.kept());
    decision.pools.push_back(verdict);
  }
  for (const auto kept_first : {KeepClass::known_good, KeepClass::unjudged, KeepClass::unusable}) {
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      if (!fixed[i] && keep_class(sorted[i]) == kept_first) candidates.push_back(i);
    }
  }
  int place = 0;
  for (const auto i : candidates) {
    if (!policy.tiers) {
      if (place < policy.keep) {
        decision.pools[i] = {sorted[i].label(), PruneAction::keep,
                             kept_place(sorted[i], "kept", place, "retention.keep", policy.keep)};
      }
    } else if (const auto tier = tier_of_place(place, *policy.tiers)) {
      decision.pools[i] = place_in_tier(sorted[i], *tier, place, policy);
    }
    ++place;
  }
  // keep_good counts the pools a plain rollback can go to: older than the live pool. A newer
  // build that was never deployed is kept by `keep` if at all, and is no rollback target; the
  // pools that served before the live one are kept first.
  // A known-good pool whose servers do not run (a process died, a host rebooted) is no rollback
  // target until they are started again: it does not count, and pools that can serve are kept
  // first; then those, so that a reboot that stopped every pool does not let prune delete them
  // all.
  const auto reachable = plain_rollback_reach(sorted, live);
  const auto can_serve = [&](const Pool& pool) { return serving_problem(pool, members).empty(); };
  int good = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (!fixed[i] && decision.pools[i].kept() && known_good(sorted[i]) && reachable(sorted[i]) &&
        can_serve(sorted[i])) {
      ++good;
    }
  }
  for (int pass = 0; pass < 4; ++pass) {
    const bool serving = pass < 2;
    const bool in_reach = pass % 2 == 0;
    for (std::size_t i = 0; i < sorted.size() && good < policy.keep_good; ++i) {
      const Pool& pool = sorted[i];
      if (decision.pools[i].kept() || !known_good(pool) || reachable(pool) != in_reach || can_serve(pool) != serving) {
        continue;
      }
      decision.pools[i] = keep_for_rollback(pool, policy);
      if (!serving) decision.pools[i].why += " once its servers run again (" + serving_problem(pool, members) + ")";
      ++good;
    }
  }
  // Not "older than the newest N": a known-good pool older than one nobody judged yet keeps its
  // place before it.
  const std::string beyond = policy.tiers ? "beyond retention (" + std::to_string(policy.tiers->running) +
                                                " running, " + std::to_string(policy.tiers->off) + " off, " +
                                                std::to_string(policy.tiers->cold) + " cold)"
                                          : "beyond retention.keep " + std::to_string(policy.keep);
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    auto& verdict = decision.pools[i];
    if (verdict.action == PruneAction::power_off) decision.power_off.push_back(verdict.label);
    if (verdict.action == PruneAction::archive) decision.archive.push_back(verdict.label);
    if (verdict.kept()) continue;
    if (verdict.why.empty()) {
      const auto unusable = unusable_because(sorted[i]);
      verdict.why = unusable.empty() ? class_words(sorted[i]) + ", " + beyond : unusable;
    }
    decision.remove.push_back(verdict.label);
  }
  return decision;
}

namespace {

// How a balancer member stands for a server of a pool: by its member name, or only by address (a
// member added by hand, or left by an earlier pool that had the same label).
enum class MemberMatch { none, by_address, by_name };

// Matches members against one pool's servers; built once per pool, asked per member.
class PoolMembers {
 public:
  explicit PoolMembers(const Pool& pool) : label_(pool.label()) {
    for (const auto& server : pool.servers) addresses_.insert(server.address());
  }
  MemberMatch match(const Member& member) const {
    const auto owner = parse_member_name(member.name);
    if (owner && owner->label == label_) return MemberMatch::by_name;
    return addresses_.count(member.address) > 0 ? MemberMatch::by_address : MemberMatch::none;
  }

 private:
  std::string label_;
  std::set<std::string> addresses_;
};

}  // namespace

Result<std::vector<std::string>> check_deletable(const Pool& pool, const std::vector<Member>& members) {
  const PoolMembers ours(pool);
  std::vector<std::string> standby;
  for (const auto& member : members) {
    const MemberMatch match = ours.match(member);
    if (match == MemberMatch::none) continue;
    const bool by_name = match == MemberMatch::by_name;
    if (by_name && on_standby(member) && member.sessions == 0) {
      standby.push_back(member.name);
      continue;
    }
    const std::string state =
        on_standby(member)
            ? "on standby with " + util::plural(static_cast<std::size_t>(member.sessions), "open connection")
            : std::string(to_string(member.admin)) + " with weight " + std::to_string(member.weight);
    return Error{ErrorKind::refused, "pool " + pool.label() + " is in the balancer: member " + member.name + " (" +
                                         member.address + ") is " + state + ", " + (member.up ? "up" : "down") +
                                         "; make another pool live first"};
  }
  return standby;
}

Status check_not_kept_for_restarts(const Pool& pool, const std::vector<Member>& durable) {
  const PoolMembers ours(pool);
  for (const auto& member : durable) {
    if (ours.match(member) == MemberMatch::none || !member.admitted()) continue;
    return Error{ErrorKind::refused,
                 "pool " + pool.label() +
                     " is what a reload or restart of the balancer routes to: the membership "
                     "kept in balancer.config_file has " +
                     member.name + " at weight " + std::to_string(member.weight) +
                     ", although the running balancer may not (a switch kept at runtime only); deleting it would leave "
                     "a reload routing to servers that are gone. Make balancer.config_file writable, run "
                     "'deploy-pipeline repair' to keep the running membership, then delete it"};
  }
  return {};
}

std::optional<std::string> pool_to_make_live(const std::string& label, const std::vector<Pool>& pools,
                                             const std::vector<std::string>& live,
                                             const std::vector<std::string>& hot) {
  std::vector<Pool> sorted = pools;
  sort_newest_first(sorted);
  std::optional<std::string> newest;
  for (const auto& pool : sorted) {
    if (pool.label() == label || has_label(live, pool.label()) || !known_good(pool)) continue;
    if (has_label(hot, pool.label())) return pool.label();
    if (!newest) newest = pool.label();
  }
  return newest;
}

UnreadableWayOut unreadable_way_out(const Pool& pool, const std::vector<Pool>& pools,
                                    const std::vector<Member>& members) {
  return {.routed = !check_deletable(pool, members).ok(),
          .make_live = pool_to_make_live(pool.label(), pools, live_labels(members), standby_labels(members))};
}

Status check_keeps_rollback_target(const std::string& label, const std::vector<Pool>& pools,
                                   const std::vector<Member>& members, int keep_good) {
  const Pool* pool = find_pool(pools, label);
  const auto live = live_labels(members);
  const auto hot = standby_labels(members);
  if (pool == nullptr || !known_good(*pool) || has_label(live, label)) return {};
  // Only pools a plain rollback can go to count, as for prune: a newer build never deployed is
  // no rollback target, so deleting one leaves as many as before, and none stands in for one.
  const auto reachable = plain_rollback_reach(pools, live);
  const bool is_hot = has_label(hot, label);
  if (!is_hot && !reachable(*pool)) return {};
  // Pools whose servers do not run count only once they run again (as for prune).
  int others = 0;      // known-good pools a plain rollback can go to, besides the hot ones and this one
  int any_others = 0;  // such pools, hot or not, besides this one
  for (const auto& other : pools) {
    if (other.label() == label || !known_good(other) || has_label(live, other.label()) || !reachable(other) ||
        !serving_problem(other, members).empty()) {
      continue;
    }
    ++any_others;
    if (!has_label(hot, other.label())) ++others;
  }
  if (is_hot) {
    // The hot standby is the fastest rollback target (one batch of weight changes); keep_good
    // does not count it, but deleting the last rollback target of any kind is refused.
    if (any_others > 0) return {};
    return Error{ErrorKind::refused, "pool " + label +
                                         " is the hot standby and the last known-good pool besides the live one "
                                         "that a plain rollback can go to (older than the live pool); deleting it "
                                         "leaves no pool to roll back to (docs/safety.md, \"Rollback targets\"). "
                                         "Create or mark good another pool first, or pass --force"};
  }
  if (others >= keep_good) return {};
  return Error{ErrorKind::refused,
               "pool " + label + " is " +
                   (others == 0 ? std::string("the last known-good pool")
                                : "one of the last " + std::to_string(others + 1) + " known-good pools") +
                   " older than the live one (which a plain rollback can go to) besides the hot "
                   "ones, and retention.keep_good is " +
                   std::to_string(keep_good) +
                   "; deleting it leaves fewer rollback targets (docs/safety.md, \"Rollback targets\"). Delete "
                   "another pool, or pass --force"};
}

}  // namespace phoenix
