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
  // Stops routing new traffic to members; requests in flight complete.
  virtual Status drain(const std::vector<std::string>& names) = 0;
  // Takes members out of the balancer. Returns the names it could not remove yet because
  // connections are still open; the caller retries them.
  virtual Result<std::vector<std::string>> remove(const std::vector<std::string>& names) = 0;
  // Makes the current membership survive a restart of the balancer, where that needs work.
  virtual Status persist(const std::vector<Member>& members) = 0;
};

// Labels of pools with at least one admitted member, sorted.
std::vector<std::string> live_labels(const std::vector<Member>& members);
// Labels of pools with a member in any state, sorted.
std::vector<std::string> member_labels(const std::vector<Member>& members);

}  // namespace phoenix
