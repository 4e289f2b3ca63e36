#include "shared/core/pool.hpp"

#include <algorithm>

#include "shared/core/advice.hpp"

namespace phoenix {

const char* to_string(SmokeVerdict verdict) {
  switch (verdict) {
    case SmokeVerdict::pending:
      return "pending";
    case SmokeVerdict::passed:
      return "passed";
    case SmokeVerdict::failed:
      return "failed";
  }
  return "pending";
}

const char* to_string(LiveVerdict verdict) {
  switch (verdict) {
    case LiveVerdict::unknown:
      return "unknown";
    case LiveVerdict::good:
      return "good";
    case LiveVerdict::bad:
      return "bad";
  }
  return "unknown";
}

const char* to_string(PowerState power) { return power == PowerState::on ? "on" : "off"; }

const char* to_string(ServerState state) {
  switch (state) {
    case ServerState::running:
      return "running";
    case ServerState::starting:
      return "starting";
    case ServerState::stopped:
      return "stopped";
    case ServerState::dead:
      return "dead";
    case ServerState::unknown:
      return "unknown";
  }
  return "unknown";
}

const char* to_string(Tier tier) {
  switch (tier) {
    case Tier::hot:
      return "hot";
    case Tier::running:
      return "running";
    case Tier::off:
      return "off";
    case Tier::cold:
      return "cold";
  }
  return "running";
}

std::optional<SmokeVerdict> parse_smoke_verdict(std::string_view text) {
  for (auto value : {SmokeVerdict::pending, SmokeVerdict::passed, SmokeVerdict::failed}) {
    if (text == to_string(value)) return value;
  }
  return std::nullopt;
}

std::optional<LiveVerdict> parse_live_verdict(std::string_view text) {
  for (auto value : {LiveVerdict::unknown, LiveVerdict::good, LiveVerdict::bad}) {
    if (text == to_string(value)) return value;
  }
  return std::nullopt;
}

std::optional<PowerState> parse_power_state(std::string_view text) {
  for (auto value : {PowerState::on, PowerState::off}) {
    if (text == to_string(value)) return value;
  }
  return std::nullopt;
}

std::optional<ServerState> parse_server_state(std::string_view text) {
  for (auto value :
       {ServerState::running, ServerState::starting, ServerState::stopped, ServerState::dead, ServerState::unknown}) {
    if (text == to_string(value)) return value;
  }
  return std::nullopt;
}

const char* to_string(RebuildSource source) {
  switch (source) {
    case RebuildSource::unflagged:
      return "unflagged";
    case RebuildSource::marked_bad:
      return "marked-bad";
    case RebuildSource::smoke_failed:
      return "smoke-failed";
  }
  return "unflagged";
}

std::string describe(RebuildSource source) {
  if (source == RebuildSource::marked_bad) return "marked bad";
  if (source == RebuildSource::smoke_failed) return "smoke test failed";
  return "";
}

std::optional<RebuildSource> parse_rebuild_source(std::string_view text) {
  for (auto value : {RebuildSource::unflagged, RebuildSource::marked_bad, RebuildSource::smoke_failed}) {
    if (text == to_string(value)) return value;
  }
  return std::nullopt;
}

std::optional<Tier> parse_tier(std::string_view text) {
  for (auto value : {Tier::hot, Tier::running, Tier::off, Tier::cold}) {
    if (text == to_string(value)) return value;
  }
  return std::nullopt;
}

Tier Pool::tier() const {
  if (cold()) return Tier::cold;
  return power == PowerState::off ? Tier::off : Tier::running;
}

const Server* Pool::find_server(std::string_view id) const {
  for (const auto& server : servers) {
    if (server.id == id) return &server;
  }
  return nullptr;
}

std::size_t Pool::servers_running() const {
  return static_cast<std::size_t>(std::count_if(
      servers.begin(), servers.end(), [](const Server& server) { return server.state == ServerState::running; }));
}

std::size_t Pool::servers_maybe_running() const {
  return static_cast<std::size_t>(std::count_if(servers.begin(), servers.end(), [](const Server& server) {
    return server.state == ServerState::running || server.state == ServerState::unknown;
  }));
}

bool found_marked_bad(const Pool* pool) {
  return pool != nullptr && pool->readable() && pool->meta.verdict == LiveVerdict::bad;
}

std::string finish_creating_advice(const Pool& pool) {
  const std::string create = "'create-pipeline create --label " + pool.label();
  if (pool.meta.revision.empty()) {
    return "it records no revision, so a re-run is refused: 'create-pipeline delete --label " + pool.label() +
           "', then " + create + "' create it anew (given --revision, a later re-run would finish it)";
  }
  return "re-run " + create + " --revision " + pool.meta.revision + "' first";
}

std::string describe_unreadable(const Pool& pool, const UnreadableWayOut& way_out) {
  if (pool.readable()) return "";
  std::string running;
  for (const auto& server : pool.servers) {
    if (!running.empty()) running += ", ";
    running += server.host.empty() ? "server " + server.id : server.address();
  }
  const std::size_t count = pool.servers.size();
  const std::string still = count == 0   ? "no server of it runs"
                            : count == 1 ? "1 server of it still runs (" + running + ")"
                                         : std::to_string(count) + " servers of it still run (" + running + ")";
  const std::string what = pool.deleting ? " is half deleted: " : " is unreadable: ";
  if (!way_out.routed && pool.deleting) {
    return "pool " + pool.label() + what + pool.unreadable + "; " + still + ". Once what stopped it is fixed, " +
           "'create-pipeline delete --label " + pool.label() +
           "' (or prune) stops every process of it and finishes "
           "the delete";
  }
  if (!way_out.routed) {
    return "pool " + pool.label() + what + pool.unreadable + "; " + still + ". Restore its record, or " +
           "'create-pipeline delete --label " + pool.label() + "' stops every process of it and removes the pool";
  }
  const std::string other =
      way_out.make_live
          ? "'" + past_the_lock("deploy-pipeline deploy --label " + *way_out.make_live, way_out.lock_stale) + "'"
          : "build one with 'create-pipeline run --label L', then '" +
                past_the_lock("deploy-pipeline deploy --label L", way_out.lock_stale) + "'";
  return "pool " + pool.label() + what + pool.unreadable + "; " + still +
         ". The balancer routes to it: " + (pool.deleting ? "" : "restore its record, or ") +
         "make another pool live first (" + other +
         "); it can be deleted only once the balancer no longer routes to it";
}

std::string describe_rebuild(const Pool& pool) {
  if (pool.meta.rebuild_of.empty()) return "";
  const char* verdict = pool.meta.verdict == LiveVerdict::good  ? "judged good live"
                        : pool.meta.verdict == LiveVerdict::bad ? "marked bad"
                                                                : "no live verdict";
  return "release " + pool.meta.rebuild_of + ", rebuilt as " + pool.label() + ", " + verdict;
}

void sort_newest_first(std::vector<Pool>& pools) {
  std::sort(pools.begin(), pools.end(), [](const Pool& a, const Pool& b) {
    if (a.meta.created_at != b.meta.created_at) return a.meta.created_at > b.meta.created_at;
    return a.meta.label > b.meta.label;
  });
}

const Pool* find_pool(const std::vector<Pool>& pools, std::string_view label) {
  for (const auto& pool : pools) {
    if (pool.meta.label == label) return &pool;
  }
  return nullptr;
}

RebuildSource rebuild_source_of(const Pool& from) {
  if (from.meta.verdict == LiveVerdict::bad) return RebuildSource::marked_bad;
  if (from.meta.smoke == SmokeVerdict::failed) return RebuildSource::smoke_failed;
  if (from.meta.verdict != LiveVerdict::good) return from.meta.rebuild_source;
  return RebuildSource::unflagged;
}

}  // namespace phoenix
