// phoenix-bench-e2e: end-to-end figures from one run on one machine, printed as Markdown
// table rows. scripts/bench drives it and writes docs/benchmarks.md.
//
//   phoenix-bench-e2e switch --sizes 1,10,50     switch times under load: Phoenix's deploy and
//                                                rollback, the raw Runtime API batch (the
//                                                physical limit) and rewrite-config-and-reload
//                                                (the usual hand-made approach)
//   phoenix-bench-e2e create --sizes 1,10,50,100 create + smoke-test of local pools
//   phoenix-bench-e2e hcloud --sizes 1,10,50     create against the Hetzner fake, 100 ms per request
//   phoenix-bench-e2e startup --pools 1000       --help, list, status, history with 1,000 pools
//   phoenix-bench-e2e history --events 10000     status and history with a full history, in the
//                                                file store and in a real etcd

#include <algorithm>
#include <chrono>
#include <cstdio>
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
  long long command_ms = -1;
  long long requests = 0;
  long long failed = 0;
};

std::string cell(const Switch& result) {
  return std::to_string(result.switch_ms) + " ms (" + std::to_string(result.failed) + " failed of " +
         std::to_string(result.requests) + ")";
}

void require(bool condition, const std::string& what) {
  if (condition) return;
  std::fprintf(stderr, "phoenix-bench-e2e: %s\n", what.c_str());
  std::exit(1);
}

void run_ok(const std::string& tool, const std::vector<std::string>& arguments) {
  const auto result = run_tool(tool, arguments);
  require(result.exit_code == 0, tool + " " + util::join(arguments, " ") + " failed: " + result.err);
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
  result.switch_ms = last_other > start_ns ? (last_other - start_ns) / 1000000 : 0;
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
  haproxy::SocketRuntimeChannel channel(haproxy.socket().string(), std::chrono::seconds(10));
  auto answers = channel.run(commands);
  require(answers.ok() && answers->size() == commands.size(), "raw batch failed");
}

// The safe physical limit: the same raw batch, but the new servers join at weight 0 and get
// their weight only once HAProxy's own first check passed; then the old ones go.
void raw_batch_after_check(const Haproxy& haproxy, const fs::path& dir, const std::string& from,
                           const std::string& to) {
  haproxy::SocketRuntimeChannel channel(haproxy.socket().string(), std::chrono::seconds(10));
  const auto servers = servers_of(dir, to);
  std::vector<std::string> add;
  std::vector<std::string> switch_over;
  for (const auto& [id, address] : servers) {
    const std::string name = "web/" + to + ":" + id;
    add.insert(add.end(), {"add server " + name + " " + address + " check inter 100ms weight 0",
                           "enable health " + name, "set server " + name + " state ready"});
    switch_over.push_back("set server " + name + " weight 1");
  }
  for (const auto& server : servers_of(dir, from))
    switch_over.push_back("set server web/" + from + ":" + server.first + " state maint");
  require(channel.run(add).ok(), "raw add failed");
  for (int i = 0; i < 10000; ++i) {
    auto answer = channel.run({"show stat web 4 -1"});
    const auto stats =
        answer ? haproxy::parse_show_stat(answer->front()) : Result<std::vector<haproxy::StatRow>>(answer.error());
    if (stats) {
      std::size_t checked = 0;
      for (const auto& row : *stats)
        checked += row.server.rfind(to + ":", 0) == 0 && row.check_status == "L7OK" ? 1 : 0;
      if (checked == servers.size()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  require(channel.run(switch_over).ok(), "raw switch failed");
}

void delete_members(const Haproxy& haproxy, const fs::path& dir, const std::string& label) {
  std::vector<std::string> commands;
  for (const auto& server : servers_of(dir, label)) commands.push_back("del server web/" + label + ":" + server.first);
  for (int attempt = 0; attempt < 100; ++attempt) {
    haproxy::SocketRuntimeChannel channel(haproxy.socket().string(), std::chrono::seconds(10));
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
    require(value && *value >= 1 && *value <= 250, "bad size '" + part + "'");
    sizes.push_back(static_cast<int>(*value));
  }
  return sizes;
}

int bench_switch(const std::vector<int>& sizes) {
  std::printf(
      "| servers | Phoenix deploy | Phoenix rollback | raw batch (no health check) | raw batch + HAProxy's first check "
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
    run_ok("create-pipeline", {"run", "--label", "a", "--config", config});
    run_ok("create-pipeline", {"run", "--label", "b", "--config", config});
    run_ok("deploy-pipeline", {"deploy", "--label", "a", "--config", config});

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

// Creating a pool against the Hetzner fake with `latency_ms` added to every request, beside
// what one request after another would cost for the POSTs alone.
int bench_hcloud(const std::vector<int>& sizes, int latency_ms) {
  std::printf(
      "| servers | create-pipeline create (hcloud fake, %d ms per request) | %d ms x servers | requests | at once |\n",
      latency_ms, latency_ms);
  std::printf("|---:|---:|---:|---:|---:|\n");
  for (const int size : sizes) {
    TempDir dir;
    HcloudFake::Options options;
    options.latency_ms = latency_ms;
    options.action_ms = 0;
    HcloudFake fake(dir.path(), options);
    fake.create_load_balancer("web-lb");
    HcloudServiceOptions service;
    service.pool_size = size;
    const auto config = write_hcloud_config(dir.path(), fake, service).string();
    const auto result =
        run_tool("create-pipeline", {"create", "--label", "1", "--config", config}, {"HCLOUD_TOKEN=" + fake.token()});
    require(result.exit_code == 0, "create-pipeline create failed: " + result.err);
    const auto stats = fake.stats();
    std::printf("| %d | %lld ms | %d ms | %.0f | %.0f |\n", size, result.duration_ms(), size * latency_ms,
                util::json_number(stats.get(), "requests").value_or(0),
                util::json_number(stats.get(), "max_in_flight").value_or(0));
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
      require(result.exit_code == 0, probe.name + " failed: " + result.err);
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
  event.by = "erin";
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
    require(result.exit_code == 0, tool + " " + util::join(arguments, " ") + " failed: " + result.err);
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
  std::printf("| servers | create + smoke-test (create-pipeline run) |\n|---:|---:|\n");
  for (const int size : sizes) {
    TempDir dir;
    Haproxy haproxy(dir.path());
    ServiceOptions options;
    options.pool_size = size;
    options.smoke_timeout_s = 60;
    const auto config = write_service_config(dir.path(), haproxy, options).string();
    const auto result = run_tool("create-pipeline", {"run", "--label", "1", "--config", config});
    require(result.exit_code == 0, "create-pipeline run failed: " + result.err);
    std::printf("| %d | %lld ms |\n", size, result.duration_ms());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> arguments(argv + 1, argv + argc);
  if (arguments.size() == 3 && arguments[1] == "--sizes") {
    if (arguments[0] == "switch") return bench_switch(parse_sizes(arguments[2]));
    if (arguments[0] == "create") return bench_create(parse_sizes(arguments[2]));
    if (arguments[0] == "hcloud") return bench_hcloud(parse_sizes(arguments[2]), 100);
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
               "usage: phoenix-bench-e2e switch|create|hcloud --sizes N[,N...]\n"
               "       phoenix-bench-e2e startup --pools N\n"
               "       phoenix-bench-e2e history --events N\n");
  return 2;
}
