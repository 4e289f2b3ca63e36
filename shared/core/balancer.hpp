#pragma once
// The balancer interface the core owns. The balancer is the truth for "live": a pool is live
// when the balancer routes traffic to its servers.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/util/result.hpp"

namespace phoenix {

enum class AdminState { ready, drain, maint };
const char* to_string(AdminState state);

// The latest health check of a member, in Phoenix's words (each balancer maps its own).
enum class CheckState {
  unknown,  // the balancer does not say
  pending,  // no check has run yet (just added, or the balancer just restarted)
  passed,   // the latest check passed
  failed,   // the latest check ran and failed
  off,      // health checks are disabled for this member
};
const char* to_string(CheckState state);

// A member's traffic since the balancer process started (cumulative; a reload or restart starts
// them again from 0), where the balancer counts it.
struct MemberCounters {
  long long requests = 0;           // HTTP requests answered (HAProxy req_tot)
  long long http_5xx = 0;           // responses 500-599 (hrsp_5xx)
  long long connection_errors = 0;  // connections that failed (econ)
  long long response_errors = 0;    // responses that broke off (eresp)
};

// One server as the balancer sees it.
struct Member {
  std::string name;     // member_name(label, server id) for members Phoenix added
  std::string address;  // host:port
  AdminState admin = AdminState::ready;
  bool up = false;  // the balancer considers it operational
  CheckState check = CheckState::unknown;
  int sessions = 0;  // connections currently open through it
  int weight = 0;    // 0 while on standby: checked, but routed nothing
  // The balancer's own words, for people only ("UP 1/2", "L7OK"); nothing branches on them.
  std::string status_text;
  std::string check_text;
  std::optional<MemberCounters> counters;  // nothing where the balancer does not count traffic

  // Takes new traffic (or would, once healthy): ready with a weight.
  bool admitted() const { return admin == AdminState::ready && weight > 0; }
  // Routable and verified: up, and the latest real check passed (not an initial assumption).
  bool healthy() const { return up && check == CheckState::passed; }
};

// Ready with weight 0: checked by the balancer, routed no new traffic.
inline bool on_standby(const Member& member) { return member.admin == AdminState::ready && member.weight == 0; }

// The running balancer instance and its members, read together: what a switch plans from.
struct BalancerSnapshot {
  std::string instance;         // as Balancer::instance()
  std::vector<Member> members;  // as Balancer::members(), read after the instance
  // As Balancer::uptime(), from the same answer as the instance (HAProxy: its 'show info').
  std::optional<std::chrono::seconds> uptime;
};

// What a guarded change did.
struct GuardedChange {
  bool applied = true;                       // false: the guard did not hold and nothing changed
  std::string refusal;                       // why not
  std::vector<std::string> still_connected;  // remove: members kept for their open connections
};

struct MemberSpec {
  std::string name;
  std::string host;
  int port = 0;
  std::string server_id;  // the provider's id (used by balancers that target servers by id)
};

// Member names carry the pool label and server id: "<label>:<server id>". Labels cannot
// contain ':', so the split is unambiguous.
std::string member_name(std::string_view label, std::string_view server_id);
struct MemberOwner {
  std::string label;
  std::string server_id;
};
std::optional<MemberOwner> parse_member_name(std::string_view name);
// Whether Phoenix added this member (its name is a member_name): the only members it changes.
bool added_by_phoenix(const Member& member);

// The names of the admitted members Phoenix added, sorted: what routes traffic, as the running
// membership and the one a restart comes back with are compared.
std::vector<std::string> routed_by_phoenix(const std::vector<Member>& members);

// What a balancer can do beyond the operations every balancer has. Callers branch on these,
// never on the balancer's type.
struct BalancerCapabilities {
  // Members can sit in the balancer, health-checked, with no traffic routed to them (HAProxy:
  // weight 0). Without it a member takes traffic as soon as it is healthy (Hetzner), so
  // add_standby admits and hot standby does not exist.
  bool standby = true;
  // Members can stop taking new connections while finishing open ones. Without it remove()
  // cuts them at once, after the guard.
  bool drain = true;
  // How long after add_standby the balancer's first check of a new member is due, where it
  // keeps to a schedule (HAProxy: one check interval, `inter`); zero where unknown. The wait
  // for health reads the members more often around that moment, so a switch goes on within a
  // few ms of the check instead of up to a whole poll interval later.
  std::chrono::milliseconds first_check_after{0};
};

// What a balancer's persist() does with the membership (Balancer::keeping).
enum class KeepingKind {
  written,       // writes it where a restart reads it (HAProxy: the managed block of config_file)
  by_balancer,   // nothing to write: the balancer keeps its members itself (durable by nature)
  not_kept,      // configured to write nothing, so a reload or restart loses it (HAProxy: no config_file)
  runtime_only,  // cannot write it now, and allowed not to (allow_runtime_only): a reload or restart
                 // loses it until it is written (HAProxy: config_file in a directory it may not write)
};

// Balancer::keeping's answer: what persist() does now, and for runtime_only why it cannot write
// (persistable()'s message, naming the setting to fix). Every rollback that switches at runtime
// only warns with `why`, so the balancer holds it for as long as it holds the answer.
struct MembershipKeeping {
  KeepingKind kind = KeepingKind::written;
  std::string why;  // runtime_only only
  bool runtime_only() const { return kind == KeepingKind::runtime_only; }
};

// The balancer interface the core owns. The contract below is what the executor relies on;
// tests/conformance/balancer_conformance_test.cpp checks every implementation against it.
//
// Every operation names members by member_name() and is idempotent: adding a member that is
// there, admitting an admitted one, draining a drained one or removing one that is gone
// succeeds and changes nothing. Operations on several members are one batch: the balancer
// applies all of them or reports which it did not (an error, never a silent partial change).
// Errors: `unavailable` or `timeout` when the balancer cannot be reached or answers with an
// error (re-plan or retry), `invalid` when the configuration cannot work (no such backend).
class Balancer {
 public:
  virtual ~Balancer() = default;
  // "haproxy backend web (/run/haproxy/admin.sock)" for messages.
  virtual std::string describe() const = 0;
  virtual BalancerCapabilities capabilities() const = 0;

  // Every member of the service's backend, including members Phoenix did not add.
  virtual Result<std::vector<Member>> members() = 0;
  // Adds members on standby: ready, weight 0, health checks on, routed nothing; the balancer
  // starts checking them at once. Without `capabilities().standby` they are admitted.
  virtual Status add_standby(const std::vector<MemberSpec>& members) = 0;
  // Puts existing members on standby, checks on: drained or in maintenance ones back, or
  // admitted ones (a pool that stays hot). With a non-empty `keep_serving`, guarded like
  // drain, because taking admitted members to weight 0 takes capacity away.
  virtual Result<GuardedChange> standby(const std::vector<std::string>& names,
                                        const std::vector<std::string>& keep_serving) = 0;
  // Starts routing new traffic to members (weight above 0). The caller admits only members
  // whose checks passed; the balancer does not re-check.
  virtual Status admit(const std::vector<std::string>& names) = 0;
  // Stops routing new traffic to members; requests in flight complete. Guarded by
  // `keep_serving` (see unsafe_to_reduce), checked atomically with the change where the
  // balancer allows it (HAProxy: on one connection, hence one process, even during a reload).
  // When the guard does not hold nothing changes and `applied` is false.
  virtual Result<GuardedChange> drain(const std::vector<std::string>& names,
                                      const std::vector<std::string>& keep_serving) = 0;
  // Takes members out of the balancer, with the same guard. Members that still have
  // connections open are left in maintenance and listed in `still_connected`; retry them.
  virtual Result<GuardedChange> remove(const std::vector<std::string>& names,
                                       const std::vector<std::string>& keep_serving) = 0;
  // Takes members out that are on standby with no open connections (a hot pool being deleted),
  // checked on the same connection as the removal where the balancer allows it. When one of
  // them takes traffic or holds connections meanwhile, nothing changes and `applied` is false.
  virtual Result<GuardedChange> remove_idle_standby(const std::vector<std::string>& names) = 0;
  // Makes the current membership survive a restart of the balancer, where that needs work
  // (HAProxy: the managed block of its config file); a no-op for balancers durable by nature.
  virtual Status persist(const std::vector<Member>& members) = 0;
  // Why persist() could not write now, as an `invalid` error naming the setting to fix (HAProxy:
  // balancer.config_file in a directory this user may not write); ok where it could, or where
  // nothing needs writing. Status reports it. A switch does not ask: the balancer checks it
  // itself before its first change (snapshot() and add_standby() refuse with it), so a switch
  // never stops half-way on it.
  virtual Status persistable() { return {}; }
  // Whether the access this process has may change members at all: an `invalid` error with
  // ErrorCode::changes_not_allowed naming the setting to fix when the balancer refuses every
  // change through it (HAProxy: a stats socket below 'level admin', or a backend whose algorithm
  // takes no servers at runtime), ok otherwise. Status reports
  // it. A switch does not ask: snapshot() refuses with the same error before the first change.
  virtual Status changes_allowed() { return {}; }
  // Runtime-only switching is allowed from now on in this process: the balancer checks once, at
  // its next snapshot(), add_standby(), persist() or keeping(), whether it can keep its
  // membership, and holds to that answer. When it cannot, from then on persist() writes nothing
  // and succeeds, snapshot() and add_standby() no longer refuse for it, and keeping() says
  // runtime_only and why: the change happens at runtime only. For a rollback, the way out of an
  // incident, which warns with keeping()'s `why`. A no-op where nothing needs writing.
  virtual void allow_runtime_only() {}
  // What persist() does with the membership now, so a switch never says it kept what it did not
  // (its persist step is worded by it, in a dry run's plan as in the real run) and every rollback
  // at runtime only says so. Asks the system at most what persist() would (HAProxy: once per
  // command, as allow_runtime_only decides; nothing while it is not allowed).
  virtual MembershipKeeping keeping() = 0;
  // The membership a restart would come back with, or nothing when the balancer keeps no such
  // separate copy (it is durable by nature).
  virtual Result<std::optional<std::vector<Member>>> durable_members() = 0;
  // An identity of the running balancer instance that changes when it reloads or restarts
  // (HAProxy: the pid answering the socket, and its uptime, so a restart under the same pid
  // counts too); "" when the balancer has no such notion. Compared within one command only.
  // Reads the instance alone (HAProxy: one 'show info'; no file is read), so its errors are
  // the balancer's answer's: a switch's last look asks for it after the switch was recorded.
  virtual Result<std::string> instance() = 0;
  // How long the running balancer process has been up, where the balancer says (HAProxy:
  // Uptime_sec of show info, whole seconds); nothing otherwise. Repair tells a reload from a
  // change by hand with it, as its look (snapshot()) read it.
  virtual Result<std::optional<std::chrono::seconds>> uptime() { return std::optional<std::chrono::seconds>{}; }
  // instance(), then members(), with the same errors, and uptime() (unknown where it cannot be
  // read): where the balancer allows it in one exchange (HAProxy: one connection, one write), so
  // a switch plans from one look. A reload after the instance was read shows later as a changed
  // instance.
  virtual Result<BalancerSnapshot> snapshot();
};

// allow_runtime_only() for a balancer whose membership may not be writable, in one place: until
// allow() a change that could not be kept is refused; after it, the first question is answered by
// one check, and that answer (with its reason) holds.
class RuntimeOnlyKeeping {
 public:
  // `writable` is the balancer's persistable().
  using Check = std::function<Status()>;

  void allow();
  // Before a look or a change: `writable`'s answer while runtime-only switching is not allowed;
  // ok once it is (checked once).
  Status check(const Check& writable);
  // Whether persist() writes nothing: runtime-only switching is allowed and the one check
  // (made now, when it was not yet) failed. False while it is not allowed, unchecked.
  bool runtime_only(const Check& writable);
  // The balancer's keeping() for a membership it writes when it can: written, or runtime_only
  // with the one check's reason (runtime_only() decides).
  MembershipKeeping keeping(const Check& writable);

 private:
  enum class State { required, undecided, kept, runtime_only };
  void decide(const Check& writable);

  State state_ = State::required;
  std::string why_;  // the one check's failure, at runtime only
};

// Why taking capacity away now would be unsafe, or nothing: every member of `keep_serving`
// must be present and admitted, and at least one of them up. An empty `keep_serving` (a
// revert, nothing to protect) is always safe.
std::optional<std::string> unsafe_to_reduce(const std::vector<Member>& members,
                                            const std::vector<std::string>& keep_serving);

// Why removing `names` as idle standby members would be unsafe now, or nothing: each one that
// is still there must be on standby with no open connections.
std::optional<std::string> not_idle_standby(const std::vector<Member>& members, const std::vector<std::string>& names);

// True when `target` is the only live pool: every one of `target_members` is in the balancer
// and admitted, and no other member Phoenix added is admitted. Members left in maintenance
// (still holding connections) or on standby take no new traffic and do not count; members
// Phoenix did not add are not its business.
bool only_live(const std::string& target, const std::vector<std::string>& target_members,
               const std::vector<Member>& members);

// Whether a pool with `total` members in the balancer has them all up (its latest check
// passed), and has any: a hot standby that can take traffic at once.
constexpr bool all_members_up(std::size_t up, std::size_t total) { return total > 0 && up == total; }

// Whether `label` is one of `labels` (one of the lists below).
bool has_label(const std::vector<std::string>& labels, const std::string& label);
// Labels of pools with at least one admitted member, sorted.
std::vector<std::string> live_labels(const std::vector<Member>& members);
// Labels of pools with a member in any state, sorted.
std::vector<std::string> member_labels(const std::vector<Member>& members);
// Labels of pools whose members (Phoenix's) are all on standby: the hot pools, sorted.
std::vector<std::string> standby_labels(const std::vector<Member>& members);

}  // namespace phoenix
