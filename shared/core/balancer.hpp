#pragma once
// The balancer interface the core owns. The balancer is the truth for "live": a pool is live
// when the balancer routes traffic to its servers.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/util/result.hpp"

namespace phoenix {

enum class AdminState { ready, drain, maint };
const char* to_string(AdminState state);

// One server as the balancer sees it.
struct Member {
  std::string name;     // member_name(label, server id) for members Phoenix added
  std::string address;  // host:port
  AdminState admin = AdminState::ready;
  bool up = false;            // the balancer considers it operational
  bool check_passed = false;  // a real health check passed (not the initial assumption)
  std::string status;         // the balancer's own words: "UP", "DOWN 1/2", "MAINT"
  std::string check_status;   // "L7OK", "L4CON", "INI", ...
  int sessions = 0;           // connections currently open through it
  int weight = 0;             // 0 while on standby: checked, but routed nothing

  // Takes new traffic (or would, once healthy): ready with a weight.
  bool admitted() const { return admin == AdminState::ready && weight > 0; }
  bool healthy() const { return up && check_passed; }
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

class Balancer {
 public:
  virtual ~Balancer() = default;
  // "haproxy backend web (/run/haproxy/admin.sock)" for messages.
  virtual std::string describe() const = 0;

  virtual Result<std::vector<Member>> members() = 0;
  // Adds members on standby: health checks run, no traffic is routed to them.
  virtual Status add_standby(const std::vector<MemberSpec>& members) = 0;
  // Puts existing members (drained, in maintenance) back on standby.
  virtual Status return_to_standby(const std::vector<std::string>& names) = 0;
  // Starts routing new traffic to members.
  virtual Status admit(const std::vector<std::string>& names) = 0;
  // Stops routing new traffic to members; requests in flight complete. Guarded by
  // `keep_serving` (see unsafe_to_reduce), checked atomically with the change where the
  // balancer allows it (HAProxy: on one connection, hence one process, even during a reload).
  virtual Result<GuardedChange> drain(const std::vector<std::string>& names,
                                      const std::vector<std::string>& keep_serving) = 0;
  // Takes members out of the balancer, with the same guard. Members that still have
  // connections open are left in maintenance and listed in `still_connected`; retry them.
  virtual Result<GuardedChange> remove(const std::vector<std::string>& names,
                                       const std::vector<std::string>& keep_serving) = 0;
  // Makes the current membership survive a restart of the balancer, where that needs work.
  virtual Status persist(const std::vector<Member>& members) = 0;
  // The membership a restart would come back with (HAProxy: the managed block of its config
  // file), or nothing when the balancer keeps no such copy.
  virtual Result<std::optional<std::vector<Member>>> durable_members() = 0;
  // An identity of the running balancer instance that changes when it reloads or restarts
  // (HAProxy: the pid answering the socket); "" when the balancer has no such notion.
  virtual Result<std::string> instance() = 0;
};

// Why taking capacity away now would be unsafe, or nothing: every member of `keep_serving`
// must be present and admitted, and at least one of them up. An empty `keep_serving` (a
// revert, nothing to protect) is always safe.
std::optional<std::string> unsafe_to_reduce(const std::vector<Member>& members,
                                            const std::vector<std::string>& keep_serving);

// True when `target`'s members are exactly the balancer's members and all are admitted.
bool only_live(const std::string& target, const std::vector<std::string>& target_members,
               const std::vector<Member>& members);

// Labels of pools with at least one admitted member, sorted.
std::vector<std::string> live_labels(const std::vector<Member>& members);
// Labels of pools with a member in any state, sorted.
std::vector<std::string> member_labels(const std::vector<Member>& members);

}  // namespace phoenix
