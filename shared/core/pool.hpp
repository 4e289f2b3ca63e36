#pragma once
// The domain: pools of servers for one release label, and what is known about them.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phoenix {

using WallTime = std::chrono::system_clock::time_point;

enum class SmokeVerdict { pending, passed, failed };
enum class LiveVerdict { unknown, good, bad };
enum class PowerState { on, off };
// Where a pool is kept, warmest first: on standby in the balancer (hot), on servers that run
// (running) or are stopped (off), or only as an image of its release with no servers (cold).
// Hot is the balancer's to say; the provider knows the other three.
enum class Tier { hot, running, off, cold };
// What the pool a rebuild was made from was known as when it was rebuilt: a rebuild of a release
// marked bad or that failed its smoke test needs --force, and its record says so.
enum class RebuildSource { unflagged, marked_bad, smoke_failed };
// What the provider knows of one server.
enum class ServerState { running, starting, stopped, dead, unknown };

const char* to_string(SmokeVerdict verdict);
const char* to_string(LiveVerdict verdict);
const char* to_string(PowerState power);
const char* to_string(ServerState state);
const char* to_string(Tier tier);
const char* to_string(RebuildSource source);  // "unflagged", "marked-bad", "smoke-failed"
// "marked bad", "smoke test failed"; "" for unflagged.
std::string describe(RebuildSource source);
std::optional<RebuildSource> parse_rebuild_source(std::string_view text);
std::optional<SmokeVerdict> parse_smoke_verdict(std::string_view text);
std::optional<LiveVerdict> parse_live_verdict(std::string_view text);
std::optional<PowerState> parse_power_state(std::string_view text);
std::optional<ServerState> parse_server_state(std::string_view text);
std::optional<Tier> parse_tier(std::string_view text);

struct Server {
  std::string id;    // the provider's id, unique within the pool; [A-Za-z0-9._-]+
  std::string host;  // where the balancer and smoke tests reach it
  int port = 0;
  ServerState state = ServerState::unknown;

  std::string address() const { return host + ":" + std::to_string(port); }
};

// One measured wake: how long bringing a pool back from `from` (off or cold) took, until its
// servers ran and passed the smoke test; the switch that follows is not counted.
struct WakeRecord {
  Tier from = Tier::cold;
  long long ms = 0;
  WallTime at{};
};

// What Phoenix records about a pool, kept with the provider so any CI agent sees it.
struct PoolMetadata {
  std::string label;
  WallTime created_at{};
  std::string revision;      // source revision the release was built from
  std::string triggered_by;  // who or what started the create pipeline
  SmokeVerdict smoke = SmokeVerdict::pending;
  LiveVerdict verdict = LiveVerdict::unknown;
  std::string verdict_reason;
  // Who gave the pool `verdict` and when: the person history names for the command that set it
  // (the CI trigger user, else the host) and the time it was written. Kept with the verdict, so
  // who marked a pool bad is known when the command's history event was never written (a
  // rollback killed before its end) or has left a bounded history. "" and no time in records
  // written before they were kept.
  std::string verdict_by;
  std::optional<WallTime> verdict_at;
  // A rebuild: the pool whose release this pool runs on fresh servers (create-pipeline
  // rebuild), or "". The provider creates it from that pool's release, not the configured one.
  std::string rebuild_of;
  // What `rebuild_of` was known as when it was rebuilt (--force for a bad one).
  RebuildSource rebuild_source = RebuildSource::unflagged;
  // The last time this pool was woken from off or cold, and how long it took.
  std::optional<WakeRecord> last_wake;
};

// The image of a pool's release the provider keeps (a Hetzner snapshot): what a cold pool is,
// and what its servers are recreated from without deploying the release again.
struct Archive {
  std::string id;      // the provider's id of the image
  bool ready = false;  // false while the provider is still making it
  double size_gb = 0;  // what the provider bills, 0 while it is not known yet
  int servers = 0;     // how many servers the pool had: a restore recreates as many
  WallTime created_at{};
};

struct Pool {
  PoolMetadata meta;
  PowerState power = PowerState::on;
  bool complete = true;  // false while (or if a crash interrupted) creation
  std::vector<Server> servers;
  // Why the provider cannot read the pool's record ("<path>: not valid JSON ..."); empty when
  // it can. See Provider::list_pools for what an unreadable pool holds.
  std::string unreadable;
  // A delete of the pool did not finish (it stopped part-way): the pool is unreadable, and
  // `unreadable` says what is left where. Deleting it again (delete, prune) finishes it.
  bool deleting = false;
  std::optional<Archive> archive;  // the pool's image, kept until the pool is deleted
  // What the provider bills the servers as, for cost estimates ("cx22", "nbg1"); "" when the
  // provider does not say.
  std::string server_type;
  std::string location;

  const std::string& label() const { return meta.label; }
  bool readable() const { return unreadable.empty(); }
  // Only the archive is left, or what a crash left of an archive or a restore: the pool must be
  // restored from its archive before it can serve.
  bool cold() const { return archive.has_value() && (servers.empty() || !complete); }
  // The provider's tier: cold, off (every server stopped) or running.
  Tier tier() const;
  const Server* find_server(std::string_view id) const;
  // How many servers the provider reports running. What status reports and what a power-on or
  // a resumed wake starts (every other server).
  std::size_t servers_running() const;
  // How many servers may be running: those reported running and those whose state the provider
  // cannot tell (unknown), which are not taken for dead; only a server known stopped, dead or
  // starting is not counted. What the planner judges whether a pool can take traffic by.
  std::size_t servers_maybe_running() const;
};

// What a rebuild of `from` would be a rebuild of: a release marked bad, one that failed its
// smoke test, or one a forced rebuild already carried along (until it is marked good). A
// rebuild of anything but `unflagged` needs --force.
RebuildSource rebuild_source_of(const Pool& from);

// What decides the way out of an unreadable pool: whether the balancer routes to it (as a live
// pool, or a standby with connections), when delete refuses it, and the known-good pool to make
// live instead, if there is one.
struct UnreadableWayOut {
  bool routed = false;
  std::optional<std::string> make_live;
  bool lock_stale = false;  // the deploy lock is stale: the deploy named carries --break-lock
};

// For an unreadable pool, what an operator needs in one line: what is wrong, what still runs
// and the ways out, none of them a command that refuses: delete (for a pool whose delete did not
// finish: delete or prune again), or while the balancer routes to it, making another pool live
// first. "" for a readable pool.
std::string describe_unreadable(const Pool& pool, const UnreadableWayOut& way_out = {});

// For a pool whose creation did not finish, the command(s) that finish it, quoted, as one
// clause ("re-run '...' first"). A pool with no recorded revision refuses a re-run (a label
// names one revision forever), so its way on is to delete it and create it again; one with a
// revision is named with it, so the re-run works from any shell.
std::string finish_creating_advice(const Pool& pool);

// Whether `pool` was found (not null), its record read, and it is marked bad.
bool found_marked_bad(const Pool* pool);

// For a rebuild, the release it carries and what is known of it live, as one clause: "release
// 1, rebuilt as 1.r1, no live verdict" (or "judged good live", "marked bad"); "" for a pool that
// is no rebuild. A rebuild ranks by its own creation time, not its release's, so a rollback that
// chooses one says which release production goes back to.
std::string describe_rebuild(const Pool& pool);

// Newest first by creation time, then by label for a stable order.
void sort_newest_first(std::vector<Pool>& pools);
const Pool* find_pool(const std::vector<Pool>& pools, std::string_view label);

}  // namespace phoenix
