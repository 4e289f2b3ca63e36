#pragma once
// Parsing HAProxy's Runtime API answers (HAProxy 2.6). Pure functions: text in, values out.
// Parsing goes by header names, never by column position, so added columns do not matter.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/core/balancer.hpp"
#include "shared/util/result.hpp"

namespace phoenix::haproxy {

// The answers of an interactive session ("prompt" first, then one command per line): one
// string per command after the prompt, without trailing newlines. `output` is all that was
// read until the connection closed.
std::vector<std::string> split_interactive_answers(std::string_view output);

struct StatRow {
  std::string proxy;
  std::string server;
  int sessions = 0;          // scur
  std::string status;        // "UP", "DOWN 1/2", "MAINT", "DRAIN", "no check"
  std::string check_status;  // "L7OK", "INI", ... without the "* " in-progress marker
  int weight = 0;
  std::string address;                     // addr
  std::optional<MemberCounters> counters;  // req_tot, hrsp_5xx, econ, eresp (absent in TCP mode)
};

// `show stat [<backend>] 4 -1` CSV. Rows for FRONTEND/BACKEND lines are skipped.
Result<std::vector<StatRow>> parse_show_stat(std::string_view csv);

// How a backend's algorithm, as `show stat` names it (its `algo` column), takes the servers added
// at runtime.
enum class AlgorithmKind {
  dynamic,  // roundrobin, leastconn, first, random ("unknown" in 2.6), and any name not below
  fixed,    // static-rr: never ("Backend must use a dynamic load balancing")
  hashed,   // source, uri, url_param, hdr, rdp-cookie, hash: only with 'hash-type consistent',
            // which show stat does not say
};
AlgorithmKind algorithm_kind(std::string_view algo);

// What makes `backend`, whose algorithm `show stat` names `algo` (nothing: not known), take
// servers at runtime: for a hash algorithm "add 'hash-type consistent' to backend 'web'
// (keeping 'balance source')", which keeps its stickiness; for static-rr "give backend 'web'
// 'balance roundrobin' or 'balance leastconn'"; where the algorithm is not known or takes servers
// (the backend changed since it was read), both.
std::string dynamic_algorithm_advice(std::string_view backend, const std::optional<std::string>& algo);

// The `algo` column of the BACKEND row of `show stat <backend> 2 -1`; nothing when the answer has
// no such row or column (a HAProxy that does not say).
std::optional<std::string> backend_algorithm(std::string_view csv);

struct ServerStateRow {
  std::string backend;
  std::string server;
  std::string address;  // srv_addr
  int port = 0;         // srv_port
  int operational = 0;  // srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping
  int admin = 0;        // srv_admin_state bitmask
  int user_weight = 0;  // srv_uweight
};

// `show servers state [<backend>]`: a version line, a '#' header line, then one line per server.
Result<std::vector<ServerStateRow>> parse_servers_state(std::string_view text);

// The members of one backend, joining both answers by server name.
std::vector<Member> to_members(const std::vector<ServerStateRow>& states, const std::vector<StatRow>& stats);

AdminState admin_state_from_bits(int bits);
// Phoenix's check state from `show stat`'s status and check_status columns.
CheckState check_state(std::string_view status, std::string_view check_status);

}  // namespace phoenix::haproxy
