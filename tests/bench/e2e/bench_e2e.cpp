// phoenix-bench-e2e: end-to-end figures from one run on one machine, printed as Markdown
// table rows. scripts/bench drives it and writes docs/benchmarks.md. Timings are compared
// only with baselines measured in the same run against the same HAProxy.
//
//   phoenix-bench-e2e switch --sizes 1,10,50     switch times under load: Phoenix's deploy and
//                                                rollback, the raw Runtime API batch (the
//                                                physical limit) and rewrite-config-and-reload
//                                                (the usual hand-made approach)
//   phoenix-bench-e2e hot --sizes 10,50,200 --ansible-sizes 10,50
//                                                rollback to a hot pool beside the raw weight
//                                                batch, the gated batch and Ansible's
//                                                community.general.haproxy
//   phoenix-bench-e2e repeat --sizes 10,50,200 --runs 11
//                                                hot and cold deploys repeated, alternating
//                                                between two pools: medians beside the raw
//                                                weight batch and the gated batch
//   phoenix-bench-e2e ab --sizes 50 --runs 11 --old /path/deploy-pipeline --new /path/deploy-pipeline
//                                                two builds of deploy-pipeline, hot and cold
//                                                deploys interleaved run by run with the raw
//                                                weight batch and the gated batch: medians
//                                                side by side (for a change meant to be faster)
//   phoenix-bench-e2e scale --sizes 10,50,200,500
//                                                large pools: traffic moved vs command exit,
//                                                peak RSS, beside the raw and the gated batch
//   phoenix-bench-e2e steps --sizes 50,500       Phoenix's -v timeline of a cold deploy and a
//                                                hot rollback: where the command's time goes
//   phoenix-bench-e2e create --sizes 1,10,50,100 create + smoke-test of local pools
//   phoenix-bench-e2e hcloud --sizes 1,10,50 --latency-ms 100 --action-ms 0
//                                                create against the Hetzner fake
//   phoenix-bench-e2e startup --pools 1000       --help, list, status, history with 1,000 pools
//   phoenix-bench-e2e history --events 10000     status and history with a full history, in the
//                                                file store and in a real etcd

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "shared/balancers/haproxy_answers.hpp"
#include "shared/balancers/haproxy_channel.hpp"
#include "shared/balancers/haproxy_config_file.hpp"
#include "shared/core/records.hpp"
#include "shared/etcd/etcd_state_store.hpp"
#include "shared/http/curl_http_client.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

using WallClock = std::chrono::system_clock;

struct Switch {
  long long switch_ms = -1;  // command start until only the target answered
  long long switch_us = -1;  // the same in microseconds
  long long command_ms = -1;
  long long requests = 0;
  long long failed = 0;
  long long peak_rss_kb = -1;  // of the command, when it was one of Phoenix's
};

std::string cell(const Switch& result) {
  return std::to_string(result.switch_ms) + " ms (" + std::to_string(result.failed) + " failed of " +
         std::to_string(result.requests) + ")";
}

// A failed step ends the run by an exception, not exit(): on the way out the destructors stop
// the HAProxy, the servers and the prober it started, by pid, and remove its directories.
struct BenchFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void require(bool condition, const std::string& what) {
  if (!condition) throw BenchFailure(what);
}

void run_ok(const std::string& tool, const std::vector<std::string>& arguments) {
  const auto result = run_tool(tool, arguments);
  require(result.exit_code == 0, tool + " " + util::join(arguments, " ") + " failed: " + result.out + result.err);
}

struct TimedRun {
  ToolResult result;
  long long peak_rss_kb = -1;
};

// Runs the tool under /usr/bin/time (Debian package `time`), which reports the peak resident
// set size of the process it ran (getrusage's ru_maxrss): the command's own memory, not the
// servers it starts (they are detached and outlive it).
TimedRun run_timed(const fs::path& dir, const std::string& tool, const std::vector<std::string>& arguments,
                   const std::vector<std::string>& environment = {}) {
  const fs::path report = fresh_file(dir, "time", ".txt");
  TimedRun run;
  run.result = run_tool_as({"/usr/bin/time", "-f", "%M", "-o", report.string()}, tool, arguments, environment,
                           std::chrono::minutes(10));
  if (const auto text = util::read_file(report)) {
    const auto lines = util::split_lines(*text);
    if (!lines.empty()) run.peak_rss_kb = util::parse_int(util::trim(lines.back())).value_or(-1);
  }
  return run;
}

TimedRun run_timed_ok(const fs::path& dir, const std::string& tool, const std::vector<std::string>& arguments,
                      const std::vector<std::string>& environment = {}) {
  auto run = run_timed(dir, tool, arguments, environment);
  require(run.result.exit_code == 0,
          tool + " " + util::join(arguments, " ") + " failed: " + run.result.err + run.result.out);
  return run;
}

std::string megabytes(long long kb) {
  if (kb < 0) return "?";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(kb) / 1024.0);
  return text;
}

// Measures one switch to `target`: `action` runs while the prober sends traffic.
template <class Action>
Switch measure(const fs::path& dir, const Haproxy& haproxy, const std::string& target, Action action) {
  Prober prober(dir, haproxy.url(), 4);
  const auto started = WallClock::now();
  action();
  const auto ended = WallClock::now();
  // Enough time for anything still in flight to show up as the old release.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto probe = prober.finish();
  Switch result;
  const long long start_ns = wall_ns(started);
  const long long last_other = probe.others_last_ns(target);
  result.switch_us = last_other > start_ns ? (last_other - start_ns) / 1000 : 0;
  result.switch_ms = result.switch_us / 1000;
  result.command_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ended - started).count();
  result.requests = probe.requests;
  result.failed = probe.failed;
  require(probe.count.count(target) == 1, "release " + target + " never answered");
  return result;
}

// The pool's servers as recorded by the local provider: (id, host:port).
std::vector<std::pair<std::string, std::string>> servers_of(const fs::path& dir, const std::string& label) {
  auto text = util::read_file(dir / "state" / "web" / "pools" / label / "pool.json");
  require(text.ok(), "no pool " + label);
  auto document = util::parse_json(*text, "pool.json");
  std::vector<std::pair<std::string, std::string>> servers;
  const cJSON* server = nullptr;
  cJSON_ArrayForEach(server, cJSON_GetObjectItem(document->get(), "servers")) {
    servers.emplace_back(*util::json_string(server, "id"),
                         *util::json_string(server, "host") + ":" +
                             std::to_string(static_cast<int>(*util::json_number(server, "port"))));
  }
  return servers;
}

// The physical limit: the whole membership change as one raw Runtime API batch, with no
// health wait and no drain: new servers in and weighted, old servers to maintenance.
void raw_batch(const Haproxy& haproxy, const fs::path& dir, const std::string& from, const std::string& to) {
  std::vector<std::string> commands;
  for (const auto& [id, address] : servers_of(dir, to)) {
    commands.push_back("add server web/" + to + ":" + id + " " + address + " check inter 100ms weight 1");
    commands.push_back("enable health web/" + to + ":" + id);
    commands.push_back("set server web/" + to + ":" + id + " state ready");
  }
  for (const auto& server : servers_of(dir, from))
    commands.push_back("set server web/" + from + ":" + server.first + " state maint");
  haproxy::SocketRuntimeChannel channel(haproxy.socket().string(), std::chrono::seconds(60));
  auto answers = channel.run(commands);
  require(answers.ok() && answers->size() == commands.size(), "raw batch failed");
}

// Polls HAProxy until every server of `label` passed a check (L7OK), for up to 120 s. Every
// 10 ms, as Phoenix's executor polls outside the moment the first check is due (it reads every
// 2 ms around it): a tighter loop of `show stat` over 1,000 servers would load the HAProxy it
// measures. Left as it was measured, so Phoenix's wait can notice the check a few ms sooner.
void wait_checked(haproxy::RuntimeChannel& channel, const std::string& label, std::size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    auto answer = channel.run({"show stat web 4 -1"});
    const auto stats =
        answer ? haproxy::parse_show_stat(answer->front()) : Result<std::vector<haproxy::StatRow>>(answer.error());
    if (stats) {
      std::size_t checked = 0;
      for (const auto& row : *stats)
        checked += row.server.rfind(label + ":", 0) == 0 && row.check_status == "L7OK" ? 1 : 0;
      if (checked == count) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  require(false, "the servers of " + label + " never passed a check");
}

// Adds the servers of `label` at weight 0 with checks on (what Phoenix's hot standby looks
// like in HAProxy); returns once HAProxy's first check passed on all of them, when `wait`.
void add_standby(haproxy::RuntimeChannel& channel, const fs::path& dir, const std::string& label, bool wait) {
  const auto servers = servers_of(dir, label);
  std::vector<std::string> add;
  for (const auto& [id, address] : servers) {
    const std::string name = "web/" + label + ":" + id;
    add.insert(add.end(), {"add server " + name + " " + address + " check inter 100ms weight 0",
                           "enable health " + name, "set server " + name + " state ready"});
  }
  const auto added = channel.run(add);
  require(added.ok(), "raw add failed: " + (added ? std::string() : added.error().message));
  if (wait) wait_checked(channel, label, servers.size());
}

// The safe physical limit: the same raw batch, but the new servers join at weight 0 and get
// their weight only once HAProxy's own first check passed; then the old ones go.
void raw_batch_after_check(const Haproxy& haproxy, const fs::path& dir, const std::string& from,
                           const std::string& to) {
  haproxy::SocketRuntimeChannel channel(haproxy.socket().string(), std::chrono::seconds(60));
  add_standby(channel, dir, to, true);
  std::vector<std::string> switch_over;
  for (const auto& server : servers_of(dir, to))
    switch_over.push_back("set server web/" + to + ":" + server.first + " weight 1");
  for (const auto& server : servers_of(dir, from))
    switch_over.push_back("set server web/" + from + ":" + server.first + " state maint");
  require(channel.run(switch_over).ok(), "raw switch failed");
}

// The floor of a hot switch: both pools are in the backend, `to` on standby (weight 0, checked
// UP); one batch gives `to` its weight and takes it from `from`. No check is waited for.
void raw_weight_batch(const Haproxy& haproxy, const fs::path& dir, const std::string& from, const std::string& to) {
  std::vector<std::string> commands;
  for (const auto& server : servers_of(dir, to))
    commands.push_back("set server web/" + to + ":" + server.first + " weight 1");
  for (const auto& server : servers_of(dir, from))
    commands.push_back("set server web/" + from + ":" + server.first + " weight 0");
  haproxy::SocketRuntimeChannel channel(haproxy.socket().string(), std::chrono::seconds(60));
  auto answers = channel.run(commands);
  require(answers.ok() && answers->size() == commands.size(), "raw weight batch failed");
}

// The same weight batch as an operator's script sends it: one `socat` process per batch
// (Debian package `socat`; the HAProxy management guide's way to reach the Runtime API),
// the commands on its standard input in interactive mode, ended by `quit` so that HAProxy
// closes the connection and socat exits as soon as the last answer is read. Like Phoenix, it
// pays for starting a process; the in-process batch above does not.
void socat_weight_batch(const Haproxy& haproxy, const fs::path& dir, const std::string& from, const std::string& to) {
  std::string input = "prompt\n";
  for (const auto& server : servers_of(dir, to)) input += "set server web/" + to + ":" + server.first + " weight 1\n";
  for (const auto& server : servers_of(dir, from))
    input += "set server web/" + from + ":" + server.first + " weight 0\n";
  input += "quit\n";
  util::CommandRequest request;
  request.argv = {"socat", "-", "UNIX-CONNECT:" + haproxy.socket().string()};
  request.input = input;
  request.timeout = std::chrono::seconds(60);
  const auto ran = util::run_command(request);
  require(ran.ok() && ran->exit_code == 0, "socat weight batch failed");
  require(ran->output.find("No such server") == std::string::npos, "socat weight batch: " + ran->output);
}

// The same hot switch as a team using Ansible would write it: community.general.haproxy (one
// server per module call, the module's documented interface) in a playbook on localhost,
// enabling `to`'s servers with weight 1, then disabling `from`'s.
void ansible_switch(const Haproxy& haproxy, const fs::path& dir, const std::string& from, const std::string& to) {
  const auto hosts = [&](const std::string& label) {
    std::string list;
    for (const auto& server : servers_of(dir, label)) list += "\n        - \"" + label + ":" + server.first + "\"";
    return list;
  };
  const std::string socket = haproxy.socket().string();
  const std::string playbook =
      "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
      "    - name: admit the target's servers\n"
      "      community.general.haproxy:\n"
      "        state: enabled\n        backend: web\n        host: \"{{ item }}\"\n"
      "        socket: \"" +
      socket +
      "\"\n        weight: \"1\"\n"
      "      loop:" +
      hosts(to) +
      "\n"
      "    - name: take the previous release's servers out\n"
      "      community.general.haproxy:\n"
      "        state: disabled\n        backend: web\n        host: \"{{ item }}\"\n"
      "        socket: \"" +
      socket +
      "\"\n"
      "      loop:" +
      hosts(from) + "\n";
  const fs::path file = fresh_file(dir, "switch", ".yml");
  require(util::write_file_atomic(file, playbook).ok(), "cannot write the playbook");
  util::CommandRequest request;
  request.argv = {"ansible-playbook", "-i", "localhost,", file.string()};
  request.environment = {"HOME=" + dir.string(), "ANSIBLE_LOCALHOST_WARNING=False", "ANSIBLE_NOCOLOR=1",
                         "ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3"};
  request.inherit_environment = false;
  request.working_directory = dir;
  request.capture_stderr = true;
  request.timeout = std::chrono::minutes(10);
  const auto ran = util::run_command(request);
  require(ran.ok() && ran->exit_code == 0, "ansible-playbook failed: " + (ran ? ran->output : ran.error().message));
}

void delete_members(const Haproxy& haproxy, const fs::path& dir, const std::string& label) {
  std::vector<std::string> commands;
  for (const auto& server : servers_of(dir, label)) commands.push_back("del server web/" + label + ":" + server.first);
  for (int attempt = 0; attempt < 100; ++attempt) {
    haproxy::SocketRuntimeChannel channel(haproxy.socket().string(), std::chrono::seconds(60));
    auto answers = channel.run(commands);
    if (answers.ok() && std::all_of(answers->begin(), answers->end(), [](const std::string& a) {
          return a == "Server deleted." || a == "No such server.";
        })) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// The usual hand-made approach: write the target's servers into haproxy.cfg and reload.
void rewrite_and_reload(Haproxy& haproxy, const fs::path& dir, const std::string& to) {
  std::vector<std::string> lines;
  for (const auto& [id, address] : servers_of(dir, to))
    lines.push_back("server " + to + ":" + id + " " + address + " check inter 100ms");
  auto config = util::read_file(haproxy.config_file());
  auto updated = haproxy::with_managed_servers(*config, "web", lines);
  require(updated.ok(), "cannot rewrite haproxy.cfg");
  require(util::write_file_atomic(haproxy.config_file(), *updated).ok(), "cannot write haproxy.cfg");
  haproxy.reload();
}

std::vector<int> parse_sizes(const std::string& text) {
  std::vector<int> sizes;
  for (const auto& part : util::split(text, ',')) {
    const auto value = util::parse_int(part);
    require(value && *value >= 1 && *value <= 1000, "bad size '" + part + "' (1 to 1000)");
    sizes.push_back(static_cast<int>(*value));
  }
  return sizes;
}

// Pools "a" and "b" created and smoke-tested, "a" live: where every switch benchmark starts.
void two_pools_first_live(const std::string& config) {
  run_ok("create-pipeline", {"run", "--label", "a", "--config", config});
  run_ok("create-pipeline", {"run", "--label", "b", "--config", config});
  run_ok("deploy-pipeline", {"deploy", "--label", "a", "--config", config});
}

int bench_switch(const std::vector<int>& sizes) {
  std::printf(
      "| servers | Phoenix deploy | Phoenix rollback (cold: retention.hot 0) | raw batch (no health check) | raw batch "
      "+ HAProxy's first check "
      "| rewrite haproxy.cfg + reload |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (const int size : sizes) {
    TempDir dir;
    Haproxy haproxy(dir.path());
    ServiceOptions options;
    options.pool_size = size;
    options.health_timeout_s = 30;
    options.smoke_timeout_s = 60;
    const auto config = write_service_config(dir.path(), haproxy, options).string();
    two_pools_first_live(config);

    const auto deploy = measure(dir.path(), haproxy, "b", [&] {
      run_ok("deploy-pipeline", {"deploy", "--label", "b", "--config", config});
    });
    const auto rollback = measure(dir.path(), haproxy, "a", [&] {
      run_ok("deploy-pipeline", {"rollback", "--reason", "benchmark", "--config", config});
    });
    // a is live through Phoenix; the raw batch switches to b, then cleans a up.
    const auto raw = measure(dir.path(), haproxy, "b", [&] { raw_batch(haproxy, dir.path(), "a", "b"); });
    delete_members(haproxy, dir.path(), "a");
    const auto checked =
        measure(dir.path(), haproxy, "a", [&] { raw_batch_after_check(haproxy, dir.path(), "b", "a"); });
    delete_members(haproxy, dir.path(), "b");
    raw_batch(haproxy, dir.path(), "a", "b");  // back to b, for the reload to leave
    delete_members(haproxy, dir.path(), "a");
    // b is live as runtime servers; the hand-made way goes back to a through the config file.
    const auto reload = measure(dir.path(), haproxy, "a", [&] { rewrite_and_reload(haproxy, dir.path(), "a"); });
    std::printf("| %d | %s | %s | %s | %s | %s |\n", size, cell(deploy).c_str(), cell(rollback).c_str(),
                cell(raw).c_str(), cell(checked).c_str(), cell(reload).c_str());
    std::fflush(stdout);
  }
  return 0;
}

// Takes a pool's servers out of the backend (maintenance, then deleted); idempotent.
void remove_pool(const Haproxy& haproxy, const fs::path& dir, const std::string& label) {
  std::vector<std::string> commands;
  for (const auto& server : servers_of(dir, label))
    commands.push_back("set server web/" + label + ":" + server.first + " state maint");
  haproxy::SocketRuntimeChannel channel(haproxy.socket().string(), std::chrono::seconds(60));
  (void)channel.run(commands);  // "No such server." for those already gone
  delete_members(haproxy, dir, label);
}

// A deploy-pipeline command as the action of a measured switch; its peak RSS goes into
// `peak_rss_kb`, which the caller keeps beside the Switch that measure() returns.
auto phoenix_command(const fs::path& dir, std::vector<std::string> arguments, long long& peak_rss_kb) {
  return [&dir, arguments = std::move(arguments), &peak_rss_kb] {
    peak_rss_kb = run_timed_ok(dir, "deploy-pipeline", arguments).peak_rss_kb;
  };
}

std::string ratio(long long numerator, long long denominator) {
  if (denominator <= 0) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.2fx", static_cast<double>(numerator) / static_cast<double>(denominator));
  return text;
}

std::string command_cell(const Switch& result) {
  return std::to_string(result.switch_ms) + " ms / " + std::to_string(result.command_ms) + " ms (" +
         std::to_string(result.failed) + " failed of " + std::to_string(result.requests) + ")";
}

// The service of a switch benchmark: `size` servers per pool, `hot` pools kept on standby,
// time enough for the health checks and smoke tests of large pools on a loaded machine.
ServiceOptions switch_service(int size, int hot) {
  ServiceOptions options;
  options.pool_size = size;
  options.hot = hot;
  options.health_timeout_s = 60;
  options.smoke_timeout_s = 120;
  return options;
}

// Rollback to a hot pool (retention.hot 1: the replaced pool stays in the backend at weight 0,
// checks on) beside the floors of the same switch: the raw batch of weight changes with no
// check, the raw batch gated by HAProxy's first check of newly added servers (the floor of a
// cold switch), and Ansible's community.general.haproxy module (sizes in `ansible_sizes`).
int bench_hot(const std::vector<int>& sizes, const std::vector<int>& ansible_sizes) {
  std::printf(
      "| servers | Phoenix hot rollback | Phoenix cold deploy | raw weight batch (no check) | raw batch gated by the "
      "first check | Ansible community.general.haproxy | hot rollback / raw weight batch | cold deploy / gated "
      "batch |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const int size : sizes) {
    TempDir dir;
    Haproxy haproxy(dir.path());
    const auto config = write_service_config(dir.path(), haproxy, switch_service(size, 1)).string();
    two_pools_first_live(config);

    long long deploy_rss = -1;
    long long rollback_rss = -1;
    auto deploy = measure(dir.path(), haproxy, "b",
                          phoenix_command(dir.path(), {"deploy", "--label", "b", "--config", config}, deploy_rss));
    deploy.peak_rss_kb = deploy_rss;
    auto rollback =
        measure(dir.path(), haproxy, "a",
                phoenix_command(dir.path(), {"rollback", "--reason", "benchmark", "--config", config}, rollback_rss));
    rollback.peak_rss_kb = rollback_rss;
    // The rollback marked b bad, so b left the backend; it goes back on standby, checked UP.
    remove_pool(haproxy, dir.path(), "b");
    {
      haproxy::SocketRuntimeChannel channel(haproxy.socket().string(), std::chrono::seconds(60));
      add_standby(channel, dir.path(), "b", true);
    }
    const auto raw = measure(dir.path(), haproxy, "b", [&] { raw_weight_batch(haproxy, dir.path(), "a", "b"); });
    std::string live = "b";
    std::string other = "a";
    std::string ansible_cell = "not run";
    if (std::find(ansible_sizes.begin(), ansible_sizes.end(), size) != ansible_sizes.end()) {
      const auto ansible = measure(dir.path(), haproxy, "a", [&] { ansible_switch(haproxy, dir.path(), "b", "a"); });
      ansible_cell = cell(ansible);
      std::swap(live, other);
    }
    // The gated batch adds servers: the pool that is not live leaves the backend first.
    remove_pool(haproxy, dir.path(), other);
    const auto gated =
        measure(dir.path(), haproxy, other, [&] { raw_batch_after_check(haproxy, dir.path(), live, other); });
    std::printf("| %d | %s | %s | %s | %s | %s | %s | %s |\n", size, command_cell(rollback).c_str(),
                command_cell(deploy).c_str(), cell(raw).c_str(), cell(gated).c_str(), ansible_cell.c_str(),
                ratio(rollback.switch_ms, raw.switch_ms).c_str(), ratio(deploy.switch_ms, gated.switch_ms).c_str());
    std::fflush(stdout);
  }
  return 0;
}

long long median(std::vector<long long> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Median and fastest of microsecond times, in ms, as one cell.
std::string median_cell(const std::vector<long long>& us) {
  char text[64];
  std::snprintf(text, sizeof text, "%.1f ms (%.1f ms)", static_cast<double>(median(us)) / 1000.0,
                static_cast<double>(*std::min_element(us.begin(), us.end())) / 1000.0);
  return text;
}

// One HAProxy and two pools of `size` servers, a live and b on standby (checked UP), with two
// configurations on the same state directory: `hot` (retention.hot 1) and `cold` (retention.hot 0).
struct HotColdRig {
  explicit HotColdRig(int size) {
    auto options = switch_service(size, 0);
    options.file_name = "cold.json";
    cold = write_service_config(dir.path(), haproxy, options).string();
    options.hot = 1;
    options.file_name = "hot.json";  // the same state directory, hot standby on
    hot = write_service_config(dir.path(), haproxy, options).string();
    two_pools_first_live(hot);
    run_ok("deploy-pipeline", {"deploy", "--label", "b", "--config", hot});  // a on standby, checked UP
    run_ok("deploy-pipeline", {"deploy", "--label", "a", "--config", hot});  // b on standby
  }

  TempDir dir;
  Haproxy haproxy{dir.path()};
  std::string cold;
  std::string hot;
};

// Switches repeated `runs` times each, alternating between two pools, so that neither one
// scheduling hiccup on a busy machine nor the phase of the health checks (a new server's first
// check comes 0 to 100 ms after it is added) decides a ratio: Phoenix's hot deploy (to the pool
// on standby, retention.hot 1) beside the raw weight batch (in process, and through socat as
// an operator's script sends it), and Phoenix's cold deploy
// (retention.hot 0) beside the raw batch gated by the first check. Medians, fastest in brackets.
int bench_repeat(const std::vector<int>& sizes, int runs) {
  std::printf(
      "| servers | runs | Phoenix hot deploy | raw weight batch | hot / raw (medians) | raw weight batch through "
      "socat | hot / socat (medians) | Phoenix cold deploy | gated raw batch | cold / gated (medians) | failed "
      "requests |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const int size : sizes) {
    HotColdRig rig(size);
    const TempDir& dir = rig.dir;
    const Haproxy& haproxy = rig.haproxy;
    const std::string& cold = rig.cold;
    const std::string& hot = rig.hot;
    std::string live = "a";
    std::string other = "b";
    long long failed = 0;
    // Each run switches from `live` to `other`; they swap afterwards.
    const auto repeat = [&](const auto& switch_to_other) {
      std::vector<long long> moved;
      for (int i = 0; i < runs; ++i) {
        const auto result = measure(dir.path(), haproxy, other, [&] { switch_to_other(); });
        moved.push_back(result.switch_us);
        failed += result.failed;
        std::swap(live, other);
      }
      return moved;
    };
    const auto phoenix_deploy = [&](const std::string& config) {
      return [&, config] { run_ok("deploy-pipeline", {"deploy", "--label", other, "--config", config}); };
    };
    const auto hot_deploys = repeat(phoenix_deploy(hot));
    const auto raw = repeat([&] { raw_weight_batch(haproxy, dir.path(), live, other); });
    const auto socat = repeat([&] { socat_weight_batch(haproxy, dir.path(), live, other); });
    // Back to what Phoenix made: `live` weighted, then the other pool out of the backend.
    run_ok("deploy-pipeline", {"deploy", "--label", live, "--config", cold});
    const auto cold_deploys = repeat(phoenix_deploy(cold));
    const auto gated = repeat([&] {
      raw_batch_after_check(haproxy, dir.path(), live, other);
      remove_pool(haproxy, dir.path(), live);  // in maintenance now; out before the next run
    });
    std::printf("| %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %lld |\n", size, runs,
                median_cell(hot_deploys).c_str(), median_cell(raw).c_str(),
                ratio(median(hot_deploys), median(raw)).c_str(), median_cell(socat).c_str(),
                ratio(median(hot_deploys), median(socat)).c_str(), median_cell(cold_deploys).c_str(),
                median_cell(gated).c_str(), ratio(median(cold_deploys), median(gated)).c_str(), failed);
    std::fflush(stdout);
  }
  return 0;
}

// Two builds of deploy-pipeline compared on one rig, for a change meant to make a switch
// faster: `old_tool` and `new_tool` (paths) make the same hot deploys (to the pool on standby)
// and cold deploys (retention.hot 0), beside the same baselines as `repeat` (the raw weight
// batch, the gated raw batch), interleaved run by run in turns (old, new, baseline; then new,
// baseline, old; ...), so that load from other work on the machine and the phase of the health
// checks fall on all three alike. Medians of when the prober saw the traffic move (fastest in
// brackets), each build's ratio to the baseline, and the medians of the command's exit.
int bench_ab(const std::vector<int>& sizes, int runs, const std::string& old_tool, const std::string& new_tool) {
  std::printf(
      "| servers | switch | runs each | old: traffic moved | new: traffic moved | new - old | baseline | old / "
      "baseline | new / baseline | old: exit | new: exit | failed requests |\n");
  std::printf("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const int size : sizes) {
    HotColdRig rig(size);
    const TempDir& dir = rig.dir;
    const Haproxy& haproxy = rig.haproxy;
    const std::string& cold = rig.cold;
    const std::string& hot = rig.hot;
    std::string live = "a";
    std::string other = "b";
    // Each run switches from `live` to `other`; they swap afterwards. Arm 0: old, 1: new, 2: baseline.
    const auto compare = [&](const char* kind, const std::string& config, const std::function<void()>& baseline) {
      std::vector<long long> moved[3];
      std::vector<long long> exited[2];
      long long failed = 0;
      for (int i = 0; i < runs; ++i) {
        for (int turn = 0; turn < 3; ++turn) {
          const int arm = (i + turn) % 3;
          const auto result = measure(dir.path(), haproxy, other, [&] {
            if (arm == 2) return baseline();
            const std::string& tool = arm == 0 ? old_tool : new_tool;
            const auto ran = run_tool(tool, {"deploy", "--label", other, "--config", config});
            require(ran.exit_code == 0, tool + " deploy --label " + other + " failed: " + ran.out + ran.err);
          });
          moved[arm].push_back(result.switch_us);
          if (arm < 2) exited[arm].push_back(result.command_ms * 1000);
          failed += result.failed;
          std::swap(live, other);
        }
      }
      const auto ms = [](long long us) { return static_cast<double>(us) / 1000.0; };
      std::printf("| %d | %s | %d | %s | %s | %+.1f ms | %s | %s | %s | %.0f ms | %.0f ms | %lld |\n", size, kind, runs,
                  median_cell(moved[0]).c_str(), median_cell(moved[1]).c_str(), ms(median(moved[1]) - median(moved[0])),
                  median_cell(moved[2]).c_str(), ratio(median(moved[0]), median(moved[2])).c_str(),
                  ratio(median(moved[1]), median(moved[2])).c_str(), ms(median(exited[0])), ms(median(exited[1])),
                  failed);
      std::fflush(stdout);
    };
    compare("hot deploy / raw weight batch", hot, [&] { raw_weight_batch(haproxy, dir.path(), live, other); });
    // Back to what Phoenix makes with retention.hot 0: the other pool out of the backend.
    run_ok("deploy-pipeline", {"deploy", "--label", live, "--config", cold});
    compare("cold deploy / gated raw batch", cold, [&] {
      raw_batch_after_check(haproxy, dir.path(), live, other);
      remove_pool(haproxy, dir.path(), live);  // in maintenance now; out before the next run
    });
  }
  return 0;
}

// Large pools: Phoenix's cold deploy (retention.hot 0) with the time the prober saw the
// traffic move and the time the command took to exit reported separately, the command's peak
// RSS, beside the raw batch and the gated raw batch of the same size.
int bench_scale(const std::vector<int>& sizes) {
  std::printf(
      "| servers | Phoenix deploy: traffic moved | command exit | command / moved | peak RSS of the command | failed "
      "requests | raw batch (no check) | raw batch gated by the first check | moved / gated | command / gated |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const int size : sizes) {
    TempDir dir;
    Haproxy haproxy(dir.path());
    ServiceOptions options;
    options.pool_size = size;
    options.health_timeout_s = 120;
    options.smoke_timeout_s = 300;
    options.drain_timeout_s = 30;
    const auto config = write_service_config(dir.path(), haproxy, options).string();
    run_timed_ok(dir.path(), "create-pipeline", {"run", "--label", "a", "--config", config});
    run_timed_ok(dir.path(), "create-pipeline", {"run", "--label", "b", "--config", config});
    run_timed_ok(dir.path(), "deploy-pipeline", {"deploy", "--label", "a", "--config", config});

    long long deploy_rss = -1;
    auto deploy = measure(dir.path(), haproxy, "b",
                          phoenix_command(dir.path(), {"deploy", "--label", "b", "--config", config}, deploy_rss));
    deploy.peak_rss_kb = deploy_rss;
    remove_pool(haproxy, dir.path(), "a");  // retention.hot 0 took it out already; made sure
    const auto raw = measure(dir.path(), haproxy, "a", [&] { raw_batch(haproxy, dir.path(), "b", "a"); });
    remove_pool(haproxy, dir.path(), "b");
    const auto gated = measure(dir.path(), haproxy, "b", [&] { raw_batch_after_check(haproxy, dir.path(), "a", "b"); });
    std::printf("| %d | %lld ms | %lld ms | %s | %s | %lld of %lld | %s | %s | %s | %s |\n", size, deploy.switch_ms,
                deploy.command_ms, ratio(deploy.command_ms, deploy.switch_ms).c_str(),
                megabytes(deploy.peak_rss_kb).c_str(), deploy.failed, deploy.requests, cell(raw).c_str(),
                cell(gated).c_str(), ratio(deploy.switch_ms, gated.switch_ms).c_str(),
                ratio(deploy.command_ms, gated.switch_ms).c_str());
    std::fflush(stdout);
  }
  return 0;
}

// Where a switch's time goes: Phoenix's own -v timeline (seconds since the command began timing)
// of a cold deploy (retention.hot 0: the old pool is drained and removed) and of a rollback to
// a hot pool, beside when the prober saw the traffic move and when the command exited.
int bench_steps(const std::vector<int>& sizes) {
  for (const int size : sizes) {
    TempDir dir;
    Haproxy haproxy(dir.path());
    ServiceOptions options;
    options.pool_size = size;
    options.health_timeout_s = 120;
    options.smoke_timeout_s = 300;
    options.drain_timeout_s = 30;
    options.file_name = "cold.json";
    const auto cold = write_service_config(dir.path(), haproxy, options).string();
    options.hot = 1;
    options.file_name = "hot.json";  // the same state directory, hot standby on
    const auto hot = write_service_config(dir.path(), haproxy, options).string();
    run_ok("create-pipeline", {"run", "--label", "a", "--config", cold});
    run_ok("create-pipeline", {"run", "--label", "b", "--config", cold});
    run_ok("deploy-pipeline", {"deploy", "--label", "a", "--config", cold});
    const auto verbose = [&](ToolResult& into, std::vector<std::string> arguments) {
      return [&into, arguments = std::move(arguments)] {
        into = run_tool("deploy-pipeline", arguments, {}, std::chrono::minutes(10));
        require(into.exit_code == 0, "deploy-pipeline " + arguments[0] + " failed: " + into.out + into.err);
      };
    };
    ToolResult deploy_run;
    const auto deploy =
        measure(dir.path(), haproxy, "b", verbose(deploy_run, {"deploy", "--label", "b", "--config", cold, "-v"}));
    run_ok("deploy-pipeline", {"deploy", "--label", "a", "--config", hot});  // b stays on standby
    ToolResult rollback_run;
    const auto rollback =
        measure(dir.path(), haproxy, "b",
                verbose(rollback_run, {"rollback", "--to", "b", "--reason", "benchmark", "--config", hot, "-v"}));
    std::printf("### %d servers\n\n", size);
    std::printf(
        "Cold deploy: the prober saw the traffic move after %lld ms; the command exited after %lld "
        "ms.\n\n```\n%s```\n\n",
        deploy.switch_ms, deploy.command_ms, deploy_run.err.c_str());
    std::printf(
        "Hot rollback: the prober saw the traffic move after %lld ms; the command exited after %lld "
        "ms.\n\n```\n%s```\n\n",
        rollback.switch_ms, rollback.command_ms, rollback_run.err.c_str());
    std::fflush(stdout);
  }
  return 0;
}

// Creating a pool against the Hetzner fake with `latency_ms` added to every request, beside
// what one request after another would cost for the POSTs alone.
int bench_hcloud(const std::vector<int>& sizes, int latency_ms, int action_ms) {
  std::printf(
      "| servers | create-pipeline create (hcloud fake, %d ms per request, actions %d ms) | %d ms x servers | requests "
      "| "
      "at once | peak RSS of the command |\n",
      latency_ms, action_ms, latency_ms);
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (const int size : sizes) {
    TempDir dir;
    HcloudFake::Options options;
    options.latency_ms = latency_ms;
    options.action_ms = action_ms;
    HcloudFake fake(dir.path(), options);
    fake.create_load_balancer("web-lb");
    HcloudServiceOptions service;
    service.pool_size = size;
    service.smoke_timeout_s = 120;
    service.api_timeout_s = 60;
    const auto config = write_hcloud_config(dir.path(), fake, service).string();
    const auto run = run_timed_ok(dir.path(), "create-pipeline", {"create", "--label", "1", "--config", config},
                                  {"HCLOUD_TOKEN=" + fake.token()});
    const auto stats = fake.stats();
    std::printf("| %d | %lld ms | %d ms | %.0f | %.0f | %s |\n", size, run.result.duration_ms(), size * latency_ms,
                util::json_number(stats.get(), "requests").value_or(0),
                util::json_number(stats.get(), "max_in_flight").value_or(0), megabytes(run.peak_rss_kb).c_str());
    std::fflush(stdout);
  }
  return 0;
}

// Start-up and response time of the commands an operator runs first at 3 a.m., with 1,000
// pools recorded (999 powered off, one live pool of 3 servers).
int bench_startup(int pools, int runs) {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  run_ok("create-pipeline", {"run", "--label", "live", "--config", config});
  run_ok("deploy-pipeline", {"deploy", "--label", "live", "--config", config});
  const auto base = std::chrono::system_clock::now() - std::chrono::hours(24 * 365);
  for (int i = 0; i < pools - 1; ++i) {
    char label[16];
    std::snprintf(label, sizeof label, "p%04d", i);
    const fs::path pool = dir.path() / "state" / "web" / "pools" / label;
    std::filesystem::create_directories(pool);
    std::string text = std::string("{\"label\": \"") + label + "\", \"created_at\": \"" +
                       util::format_iso8601_ms(base + std::chrono::minutes(i)) +
                       "\", \"revision\": \"abc1234\", \"triggered_by\": \"ci\", \"smoke\": \"passed\", "
                       "\"verdict\": \"good\", \"verdict_reason\": \"\", \"power\": \"off\", \"complete\": true, "
                       "\"artifact\": \"release/app\", \"servers\": [";
    for (int s = 1; s <= 3; ++s) {
      text += std::string(s > 1 ? ", " : "") + "{\"id\": \"" + std::to_string(s) + "\", \"host\": \"127.99.0." +
              std::to_string(s) + "\", \"port\": 8080, \"pid\": 0, \"start_ticks\": 0}";
    }
    text += "]}\n";
    require(util::write_file_atomic(pool / "pool.json", text).ok(), "cannot write a pool");
  }
  struct Probe {
    std::string name;
    std::string tool;
    std::vector<std::string> arguments;
  };
  const std::vector<Probe> probes = {
      {"create-pipeline --help", "create-pipeline", {"--help"}},
      {"create-pipeline list (table)", "create-pipeline", {"list", "--config", config}},
      {"create-pipeline list --output json", "create-pipeline", {"list", "--output", "json", "--config", config}},
      {"deploy-pipeline status", "deploy-pipeline", {"status", "--config", config}},
      {"deploy-pipeline history", "deploy-pipeline", {"history", "--config", config}},
  };
  std::printf("| command (%d pools) | median | fastest | slowest |\n|---|---:|---:|---:|\n", pools);
  for (const auto& probe : probes) {
    std::vector<long long> times;
    for (int i = 0; i < runs; ++i) {
      const auto result = run_tool(probe.tool, probe.arguments);
      require(result.exit_code == 0, probe.name + " failed: " + result.out + result.err);
      times.push_back(std::chrono::duration_cast<std::chrono::microseconds>(result.ended - result.started).count());
    }
    std::sort(times.begin(), times.end());
    std::printf("| `%s` | %.1f ms | %.1f ms | %.1f ms |\n", probe.name.c_str(),
                static_cast<double>(times[times.size() / 2]) / 1000.0, static_cast<double>(times.front()) / 1000.0,
                static_cast<double>(times.back()) / 1000.0);
    std::fflush(stdout);
  }
  return 0;
}

// The i-th event of a made-up history: mostly deploys, some rollbacks and failures.
HistoryEvent history_event(int i, std::chrono::system_clock::time_point base) {
  char label[16];
  std::snprintf(label, sizeof label, "p%05d", i);
  HistoryEvent event;
  event.at = base + std::chrono::minutes(i);
  event.action = i % 10 == 0 ? HistoryAction::rollback : HistoryAction::deploy;
  event.label = label;
  event.from = "p" + std::to_string(i - 1);
  event.result = i % 7 == 0 ? HistoryResult::failed : HistoryResult::succeeded;
  event.duration_ms = 2000 + i % 1000;
  event.by = "sre1";
  event.job = "web-deploy/" + std::to_string(i) + "/switch/1/deploy";
  event.detail = i % 10 == 0 ? "checkout errors after the release" : "";
  return event;
}

// Median, fastest and slowest of `runs` runs of the tool, in ms, as a table row's cells.
std::string timing_cells(const std::string& tool, const std::vector<std::string>& arguments, int runs,
                         std::size_t min_lines) {
  std::vector<long long> times;
  for (int i = 0; i < runs; ++i) {
    const auto result = run_tool(tool, arguments);
    require(result.exit_code == 0, tool + " " + util::join(arguments, " ") + " failed: " + result.out + result.err);
    require(util::split_lines(result.out).size() >= min_lines, tool + " " + arguments[0] + " printed too little");
    times.push_back(std::chrono::duration_cast<std::chrono::microseconds>(result.ended - result.started).count());
  }
  std::sort(times.begin(), times.end());
  char cells[96];
  std::snprintf(cells, sizeof cells, "%.1f ms | %.1f ms | %.1f ms",
                static_cast<double>(times[times.size() / 2]) / 1000.0, static_cast<double>(times.front()) / 1000.0,
                static_cast<double>(times.back()) / 1000.0);
  return cells;
}

void print_history_rows(const std::string& store, const std::string& config, int events, int runs) {
  const auto lines = static_cast<std::size_t>(events);
  std::printf("| %s | `deploy-pipeline status` | %s |\n", store.c_str(),
              timing_cells("deploy-pipeline", {"status", "--config", config}, runs, 1).c_str());
  std::printf("| %s | `deploy-pipeline history` | %s |\n", store.c_str(),
              timing_cells("deploy-pipeline", {"history", "--config", config}, runs, lines).c_str());
  std::printf("| %s | `deploy-pipeline history --output json` | %s |\n", store.c_str(),
              timing_cells("deploy-pipeline", {"history", "--output", "json", "--config", config}, runs, 1).c_str());
  std::fflush(stdout);
}

// status and history with `events` events in history: the file store (history.jsonl and its
// index) and etcd (one key per event). All but the last event are written straight into the
// store; the last is a real deploy, so the store's own bookkeeping is what status reads.
int bench_history(int events, int runs) {
  const auto base = std::chrono::system_clock::now() - std::chrono::hours(24 * 400);
  std::printf("| store (%d events) | command | median | fastest | slowest |\n|---|---|---:|---:|---:|\n", events);
  {
    TempDir dir;
    Haproxy haproxy(dir.path());
    const auto config = write_service_config(dir.path(), haproxy, {}).string();
    // An older good pool: status counts a live pool with no rollback target as a problem.
    run_ok("create-pipeline", {"run", "--label", "earlier", "--config", config});
    run_ok("create-pipeline", {"run", "--label", "live", "--config", config});
    std::string lines;
    for (int i = 1; i < events; ++i) lines += util::print_json(records::to_json(history_event(i, base)).get()) + "\n";
    require(util::make_directories(dir.path() / "state" / "web").ok(), "cannot create the state directory");
    require(util::write_file_atomic(dir.path() / "state" / "web" / "history.jsonl", lines).ok(),
            "cannot write history.jsonl");
    run_ok("deploy-pipeline", {"deploy", "--label", "live", "--config", config});
    print_history_rows("file", config, events, runs);
  }
  {
    TempDir dir;
    Haproxy haproxy(dir.path());
    Etcd etcd(dir.path());
    ServiceOptions options;
    options.state = etcd_state_json({etcd.endpoint()}, 15, 2000);
    const auto config = write_service_config(dir.path(), haproxy, options).string();
    // An older good pool: status counts a live pool with no rollback target as a problem.
    run_ok("create-pipeline", {"run", "--label", "earlier", "--config", config});
    run_ok("create-pipeline", {"run", "--label", "live", "--config", config});
    http::CurlHttpClient http;
    util::SystemClock clock;
    etcd::EtcdStateStore store(
        etcd::EtcdSettings{.endpoints = {etcd.endpoint()}, .service = "web", .history_keep = 10000}, http,
        [] { return std::make_unique<http::CurlHttpClient>(); }, "bench", clock);
    const auto started = std::chrono::steady_clock::now();
    for (int i = 1; i < events; ++i) {
      require(store.append_history(history_event(i, base)).ok(), "cannot append to history in etcd");
    }
    std::fprintf(
        stderr, "phoenix-bench-e2e: %d appends to etcd took %lld ms\n", events - 1,
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()));
    run_ok("deploy-pipeline", {"deploy", "--label", "live", "--config", config});
    print_history_rows("etcd", config, events, runs);
  }
  return 0;
}

int bench_create(const std::vector<int>& sizes) {
  std::printf("| servers | create + smoke-test (create-pipeline run) | peak RSS of the command |\n|---:|---:|---:|\n");
  for (const int size : sizes) {
    TempDir dir;
    Haproxy haproxy(dir.path());
    ServiceOptions options;
    options.pool_size = size;
    options.smoke_timeout_s = 300;
    const auto config = write_service_config(dir.path(), haproxy, options).string();
    const auto run = run_timed_ok(dir.path(), "create-pipeline", {"run", "--label", "1", "--config", config});
    std::printf("| %d | %lld ms | %s |\n", size, run.result.duration_ms(), megabytes(run.peak_rss_kb).c_str());
    std::fflush(stdout);
  }
  return 0;
}

int run(const std::vector<std::string>& arguments) {
  if (arguments.size() == 3 && arguments[1] == "--sizes") {
    if (arguments[0] == "switch") return bench_switch(parse_sizes(arguments[2]));
    if (arguments[0] == "create") return bench_create(parse_sizes(arguments[2]));
    if (arguments[0] == "scale") return bench_scale(parse_sizes(arguments[2]));
    if (arguments[0] == "steps") return bench_steps(parse_sizes(arguments[2]));
  }
  if (arguments.size() == 5 && arguments[0] == "hot" && arguments[1] == "--sizes" && arguments[3] == "--ansible-sizes")
    return bench_hot(parse_sizes(arguments[2]), parse_sizes(arguments[4]));
  if (arguments.size() == 7 && arguments[0] == "hcloud" && arguments[1] == "--sizes" &&
      arguments[3] == "--latency-ms" && arguments[5] == "--action-ms") {
    const auto latency = util::parse_int(arguments[4]);
    const auto action = util::parse_int(arguments[6]);
    require(latency && action && *latency >= 0 && *action >= 0, "bad --latency-ms or --action-ms");
    return bench_hcloud(parse_sizes(arguments[2]), static_cast<int>(*latency), static_cast<int>(*action));
  }
  if (arguments.size() == 5 && arguments[0] == "repeat" && arguments[1] == "--sizes" && arguments[3] == "--runs") {
    const auto runs = util::parse_int(arguments[4]);
    require(runs && *runs >= 1 && *runs <= 1000, "bad --runs (1 to 1000)");
    return bench_repeat(parse_sizes(arguments[2]), static_cast<int>(*runs));
  }
  if (arguments.size() == 9 && arguments[0] == "ab" && arguments[1] == "--sizes" && arguments[3] == "--runs" &&
      arguments[5] == "--old" && arguments[7] == "--new") {
    const auto runs = util::parse_int(arguments[4]);
    require(runs && *runs >= 1 && *runs <= 1000, "bad --runs (1 to 1000)");
    require(fs::path(arguments[6]).is_absolute() && fs::path(arguments[8]).is_absolute(),
            "--old and --new take absolute paths of deploy-pipeline builds");
    return bench_ab(parse_sizes(arguments[2]), static_cast<int>(*runs), arguments[6], arguments[8]);
  }
  if (arguments.size() == 3 && arguments[0] == "startup" && arguments[1] == "--pools") {
    const auto pools = util::parse_int(arguments[2]);
    require(pools && *pools >= 1 && *pools <= 5000, "bad --pools");
    return bench_startup(static_cast<int>(*pools), 15);
  }
  if (arguments.size() == 3 && arguments[0] == "history" && arguments[1] == "--events") {
    const auto events = util::parse_int(arguments[2]);
    require(events && *events >= 2 && *events <= 10000, "bad --events (2 to 10000, history.keep's default)");
    return bench_history(static_cast<int>(*events), 15);
  }
  std::fprintf(stderr,
               "usage: phoenix-bench-e2e switch|create|scale|steps --sizes N[,N...]\n"
               "       phoenix-bench-e2e hot --sizes N[,N...] --ansible-sizes N[,N...]\n"
               "       phoenix-bench-e2e repeat --sizes N[,N...] --runs N\n"
               "       phoenix-bench-e2e ab --sizes N[,N...] --runs N --old PATH --new PATH\n"
               "       phoenix-bench-e2e hcloud --sizes N[,N...] --latency-ms MS --action-ms MS\n"
               "       phoenix-bench-e2e startup --pools N\n"
               "       phoenix-bench-e2e history --events N\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& failure) {  // BenchFailure, or the harness's own
    std::fprintf(stderr, "phoenix-bench-e2e: %s\n", failure.what());
    return 1;
  }
}
