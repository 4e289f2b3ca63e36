#pragma once
// The durable half of HAProxy membership: runtime changes vanish on reload or restart, so the
// live servers are also kept in the backend of haproxy.cfg, between two marker lines that
// Phoenix owns. Pure text transformation; the balancer writes the result atomically.

#include <string>
#include <string_view>
#include <vector>

#include "shared/core/balancer.hpp"
#include "shared/util/result.hpp"

namespace phoenix::haproxy {

inline constexpr std::string_view kManagedBegin =
    "# BEGIN phoenix managed servers (written by deploy-pipeline; do not edit)";
inline constexpr std::string_view kManagedEnd = "# END phoenix managed servers";

// Both functions below are `invalid` when the backend section is missing, or when its managed
// block is damaged: anything but no block or exactly one BEGIN..END pair (markers exactly as
// above) holding only server lines. The message names the line (1-based) and what to fix.

// `config` with the managed block of `backend` replaced by `server_lines` (or inserted at the
// end of the backend section).
Result<std::string> with_managed_servers(std::string_view config, std::string_view backend,
                                         const std::vector<std::string>& server_lines);

// The server lines currently in the managed block of `backend` (without indentation); none
// when the backend has no block yet.
Result<std::vector<std::string>> managed_servers(std::string_view config, std::string_view backend);

// The server lines of `backend` outside the managed block (without indentation): servers the
// configuration defines itself, which a restart brings back without Phoenix.
std::vector<std::string> configured_servers(std::string_view config, std::string_view backend);

// How `backend` hashes, as `config` says: its own last 'hash-type' line, else that of the defaults
// section it inherits from (the one its header names with 'from <name>', else the last one above
// it), whose lack of one means HAProxy's default, map-based. `unknown` where the file cannot tell:
// no such backend, no such defaults section in this file (HAProxy may have read it from another
// file), a defaults section that inherits from another, or a method it does not name.
enum class HashType { unknown, map_based, consistent };
HashType hash_type(std::string_view config, std::string_view backend);

// A managed "server <name> <addr:port> ... weight <w> [disabled]" line as the member HAProxy
// would start with.
Result<Member> parse_server_line(std::string_view line);

}  // namespace phoenix::haproxy
