#pragma once
// End-to-end test support: a private temporary directory, a real HAProxy on a free loopback
// port with its own admin socket, the real binaries run as a user would run them, and the
// prober. Everything started here is stopped by pid when the owning object goes away, and gets
// SIGTERM if the test process dies first (spawn_owned).

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "shared/util/json.hpp"
#include "shared/util/process.hpp"
#include "shared/util/unique_fd.hpp"

namespace phoenix::testing {

namespace fs = std::filesystem;

// The directory the build put the binaries in.
fs::path binary_directory();
fs::path source_directory();

// Starts a long-running process the test owns, as util::spawn_detached does, and has the kernel
// send it SIGTERM when the thread that started it ends (setpriv --pdeathsig): a test process
// killed with SIGKILL, say by a CI time limit, then leaves no HAProxy, etcd or fake behind. Every
// fake stops what it started on SIGTERM. Only the test's main thread, which lives as long as the
// test process, may call it: from any other thread it starts nothing and returns an error.
Result<util::ProcessIdentity> spawn_owned(const util::SpawnRequest& request);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A free TCP port on 127.0.0.1 (bound and released).
int free_port();

// A path in `directory` for a file a started process writes (a fake's port file, the prober's
// summary): never one an earlier call of this process returned, and with no file left there. A
// fake's port file that already existed would be read as the new fake's port.
fs::path fresh_file(const fs::path& directory, const std::string& stem, const std::string& extension);

struct HaproxyOptions {
  std::string backend = "web";
  std::string socket_level = "admin";
  std::string balance = "roundrobin";
  bool redispatch = true;
  std::vector<std::string> backend_lines;  // more lines of the backend ("server legacy 127.0.0.1:8080")
};

// A real HAProxy (Debian package) on loopback: frontend on a free port, an empty dynamic
// backend, admin socket in `directory`.
class Haproxy {
 public:
  Haproxy(const fs::path& directory, HaproxyOptions options = {});
  ~Haproxy();
  Haproxy(const Haproxy&) = delete;
  Haproxy& operator=(const Haproxy&) = delete;

  void start();
  void stop();
  // Graceful reload: a new process takes over from the old one (-sf), re-reading the config.
  // Returns once the new process answers the runtime API and the port (the old one no
  // longer does) and the old one is gone.
  void reload();
  // Stop, then start again from the config file.
  void restart();
  // SIGSTOP: the process holds its port and socket and answers nothing (a frozen node);
  // SIGCONT. A paused HAProxy is continued before it is stopped.
  void pause();
  void resume();
  long pid() const { return static_cast<long>(process_.pid); }

  const fs::path& config_file() const { return config_file_; }
  const fs::path& socket() const { return socket_; }
  int port() const { return port_; }
  std::string url(const std::string& path = "/") const;
  // Runs a Runtime API command and returns its answer.
  std::string command(const std::string& line) const;

 private:
  // Until the runtime API and the port answer; with `answering`, until the runtime API's
  // answer comes from that process (during a reload the old one may still answer).
  void wait_ready(pid_t answering = 0) const;

  fs::path directory_;
  fs::path config_file_;
  fs::path socket_;
  int port_ = 0;
  util::ProcessIdentity process_;
  bool paused_ = false;
};

// One phoenix-sample-app process on 127.0.0.1, answering `release` on / and 200 on /health;
// stopped (by pid) when destroyed. For servers Phoenix did not start.
class SampleApp {
 public:
  SampleApp(const fs::path& directory, const std::string& release);
  ~SampleApp();
  SampleApp(const SampleApp&) = delete;
  SampleApp& operator=(const SampleApp&) = delete;
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  util::ProcessIdentity process_;
};

// A unix socket that listens but never accepts, its accept queue full: what a frozen HAProxy's
// stats socket looks like to a client once earlier clients filled the queue. A blocking
// connect() to it waits forever.
class FrozenUnixSocket {
 public:
  explicit FrozenUnixSocket(fs::path path);
  ~FrozenUnixSocket();
  FrozenUnixSocket(const FrozenUnixSocket&) = delete;
  FrozenUnixSocket& operator=(const FrozenUnixSocket&) = delete;
  const fs::path& path() const { return path_; }
  std::size_t queued() const { return queued_.size(); }

 private:
  fs::path path_;
  int listener_ = -1;
  std::vector<int> queued_;  // connections that filled the queue, never accepted
};

struct ToolResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
  std::chrono::system_clock::time_point started;  // wall clock, like the prober's times
  std::chrono::system_clock::time_point ended;
  long long duration_ms() const;
};

// The lines of a tool's stderr that are not progress lines ("[+0.012s] ..."): its warnings and
// its one error line.
std::vector<std::string> error_lines(const ToolResult& result);

// Runs build/bin/<tool> with `arguments`, a clean environment (plus `environment`).
ToolResult run_tool(const std::string& tool, const std::vector<std::string>& arguments,
                    const std::vector<std::string>& environment = {},
                    std::chrono::milliseconds timeout = std::chrono::minutes(3));
// The same with a prefix before the tool (`setpriv ...` to run it as another user, `prlimit
// ...` to bound its memory).
ToolResult run_tool_as(const std::vector<std::string>& prefix, const std::string& tool,
                       const std::vector<std::string>& arguments, const std::vector<std::string>& environment = {},
                       std::chrono::milliseconds timeout = std::chrono::minutes(1));

// The pid of a running build/bin/<tool> whose arguments include `argument` (a test's own
// config file names its run), or 0. What a test signals while run_tool waits in another thread.
pid_t running_tool(const std::string& tool, const std::string& argument);

// The pid of the one running command whose command line contains `command_line` (pgrep -f), or
// 0 when none or several match.
pid_t pid_of_command_line(const std::string& command_line);

// Whether process `pid` is stopped (SIGSTOP): state T in /proc/PID/stat.
bool is_stopped(pid_t pid);

// The pid in the deploy lock of the service whose state is `state_dir`, or 0 when there is none.
pid_t deploy_lock_holder(const fs::path& state_dir);

// Polls `condition` every 5 ms until it holds, for up to `limit`; whether it held. Returns false
// at once when `gave_up` holds first (the run the test waits on ended without it).
template <typename Condition, typename GaveUp>
bool holds_before(Condition condition, GaveUp gave_up, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  constexpr auto kEvery = std::chrono::milliseconds(5);
  for (auto waited = std::chrono::milliseconds(0); waited < limit; waited += kEvery) {
    if (condition()) return true;
    if (gave_up()) return false;
    std::this_thread::sleep_for(kEvery);
  }
  return false;
}

// Polls `condition` every 5 ms until it holds, for up to `limit`; whether it held.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  return holds_before(
      condition, [] { return false; }, limit);
}

// What create_pools_1_and_2 does once it creates pools 1 and 2 (in that order).
enum class ThenDeploy {
  nothing,       // create 1, create 2
  pool_1,        // create 1, create 2, deploy 1: pool 1 live, pool 2 ready to switch to
  each_in_turn,  // create 1, deploy 1, create 2, deploy 2: pool 2 live after replacing pool 1
};
// The usual start of a test: pools 1 and 2 of the service `config` describes, made with the
// real tools (`environment` added to theirs). Each run must exit 0; the first that does not
// fails the test with the command and its stderr.
void create_pools_1_and_2(const std::string& config, ThenDeploy then, const std::vector<std::string>& environment = {});

struct ServiceOptions {
  std::string service = "web";
  int pool_size = 3;
  int health_timeout_s = 10;
  int drain_timeout_s = 5;
  int check_interval_ms = 100;
  int smoke_timeout_s = 10;
  std::vector<std::string> extra_arguments;  // appended to the sample app's command
  std::string file_name = "phoenix.json";
  bool durable = true;  // keep membership in the managed block of haproxy.cfg
  bool allow_foreign_servers = false;
  std::string watch;  // the "watch" object as JSON, or "" for the defaults
  // retention.hot: most tests exercise the path through health checks, so 0; hot standby has
  // tests of its own, and the recovery loop runs with the product's default (1).
  int hot = 0;
  // retention.keep_good: 0, so tests of smart delete see the balancer's refusals alone;
  // retention by verdict has tests of its own.
  int keep_good = 0;
  std::string state;   // the "state" object as JSON ("" for none: the provider's own store)
  std::string notify;  // the "notify" array as JSON ("" for none)
};

// Writes a service configuration for the local provider and `haproxy`; returns its path.
fs::path write_service_config(const fs::path& directory, const Haproxy& haproxy, const ServiceOptions& options);
// The same behind several HAProxy instances (`balancers`, named by default: haproxy-1, ...).
fs::path write_service_config(const fs::path& directory, const std::vector<const Haproxy*>& haproxies,
                              const ServiceOptions& options);

struct ProbeSummary {
  long long requests = 0;
  long long failed = 0;
  std::map<std::string, long long> count;     // per release
  std::map<std::string, long long> first_ns;  // per release, CLOCK_MONOTONIC
  std::map<std::string, long long> last_ns;
  long long first_failure_ns = 0;  // 0: no failure
  long long last_failure_ns = 0;
  std::vector<std::string> errors;

  // When every response started coming from `release`: the last time another one answered.
  long long others_last_ns(const std::string& release) const;
};

class Prober {
 public:
  Prober(const fs::path& directory, const std::string& url, int connections = 4,
         std::chrono::milliseconds max_duration = std::chrono::minutes(2));
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;
  // Stops the prober and reads its summary.
  ProbeSummary finish();

 private:
  fs::path out_;
  util::ProcessIdentity process_;
  bool finished_ = false;
};

long long wall_ns(std::chrono::system_clock::time_point time);

// Polls HAProxy every few milliseconds on its own thread and keeps the smallest number of
// members that were admitted and UP at any sample: invariant 1 says it never reaches zero.
class ServingWatcher {
 public:
  explicit ServingWatcher(const Haproxy& haproxy, std::string backend = "web");
  ~ServingWatcher();
  ServingWatcher(const ServingWatcher&) = delete;
  ServingWatcher& operator=(const ServingWatcher&) = delete;
  // Stops watching; returns the smallest count seen (-1 when no sample could be taken).
  int finish();
  int samples() const { return samples_; }

 private:
  std::string socket_;
  std::string backend_;
  std::atomic<bool> stop_{false};
  std::atomic<int> minimum_{-1};
  std::atomic<int> samples_{0};
  std::thread thread_;
};

// A real etcd (Debian package etcd-server) on free loopback ports, its data in a directory of
// its own under `directory`. Stopped by pid when it goes away (continued first if paused).
class Etcd {
 public:
  // A single-node cluster, healthy when the constructor returns.
  explicit Etcd(const fs::path& directory);
  // A member of a cluster (see EtcdCluster): started, not waited for.
  Etcd(const fs::path& directory, const std::string& name, int client_port, int peer_port,
       const std::string& initial_cluster);
  ~Etcd();
  Etcd(const Etcd&) = delete;
  Etcd& operator=(const Etcd&) = delete;

  std::string endpoint() const;  // http://127.0.0.1:<client port>
  // Until GET /health answers {"health":"true"} (the cluster has a leader); fails the test after `limit`.
  void wait_healthy(std::chrono::milliseconds limit = std::chrono::seconds(20)) const;
  void stop();
  void pause();   // SIGSTOP: the process holds its ports and answers nothing
  void resume();  // SIGCONT
  bool paused() const { return paused_; }
  bool running() const;
  // POST /v3/<method> with a JSON body; the answer's body, "" when it did not answer.
  std::string call(const std::string& method, const std::string& body) const;
  // Whether `key` exists (a linearizable read).
  bool has_key(const std::string& key) const;
  // This member's ID and the ID of the leader it knows ("" when it does not answer).
  std::string member_id() const;
  std::string leader_id() const;

 private:
  fs::path directory_;
  std::string name_;
  int client_port_ = 0;
  util::ProcessIdentity process_;
  bool paused_ = false;
};

// Three (or `size`) etcd members on loopback forming one cluster, healthy when the constructor
// returns.
class EtcdCluster {
 public:
  explicit EtcdCluster(const fs::path& directory, int size = 3);
  std::size_t size() const { return members_.size(); }
  Etcd& member(std::size_t index) { return *members_.at(index); }
  std::vector<std::string> endpoints() const;
  // The index of the member that leads now, as the unpaused members see it; fails the test
  // when they do not agree on one within 10 s.
  std::size_t leader() const;

 private:
  std::vector<std::unique_ptr<Etcd>> members_;
};

// The JSON of a "state" object for etcd at `endpoints`.
std::string etcd_state_json(const std::vector<std::string>& endpoints, int lease_ttl_s, int timeout_ms);

// The Hetzner Cloud contract fake (phoenix-hcloud-fake) on a free loopback port.
class HcloudFake {
 public:
  struct Options {
    std::string token = "test-token-0123456789";
    int latency_ms = 0;
    int action_ms = 100;
    int image_ms = -1;    // create_image; -1: as action_ms
    int restore_ms = -1;  // a server from a snapshot; -1: as action_ms
    int app_port = 0;     // 0: a free port
  };
  HcloudFake(const fs::path& directory, Options options);
  explicit HcloudFake(const fs::path& directory) : HcloudFake(directory, Options{}) {}
  ~HcloudFake();
  HcloudFake(const HcloudFake&) = delete;
  HcloudFake& operator=(const HcloudFake&) = delete;

  std::string endpoint() const;  // http://127.0.0.1:<port>/v1
  const std::string& token() const { return options_.token; }
  int app_port() const { return options_.app_port; }
  // Creates a load balancer with a real listener; returns the listener's URL.
  std::string create_load_balancer(const std::string& name);
  // Injects API faults (see the fake's header comment).
  void inject(const std::string& fault_json);
  util::Json stats();
  // One request to the fake's API with its token (what a test inspects: "/images?type=snapshot").
  util::Json api(const std::string& method, const std::string& path);

 private:
  std::string control(const std::string& method, const std::string& path, const std::string& body);

  Options options_;
  int port_ = 0;
  util::ProcessIdentity process_;
};

// phoenix-webhook-receiver on a free loopback port: records what notifiers send.
class WebhookReceiver {
 public:
  struct Options {
    int delay_ms = 0;    // answer only after this long (a receiver that hangs)
    int status = 200;    // the answer
    int fail_first = 0;  // answer 500 to this many requests first
  };
  struct Request {
    std::string method;
    std::string path;
    std::string content_type;
    std::string body;
  };
  WebhookReceiver(const fs::path& directory, Options options);
  explicit WebhookReceiver(const fs::path& directory) : WebhookReceiver(directory, Options{}) {}
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  // http://127.0.0.1:<port><path>
  std::string url(const std::string& path) const;
  // Every request received so far, in order of arrival.
  std::vector<Request> requests() const;
  // Waits (up to `limit`) until at least `count` requests arrived; returns them.
  std::vector<Request> wait_for(std::size_t count, std::chrono::milliseconds limit = std::chrono::seconds(10)) const;

 private:
  fs::path record_;
  int port_ = 0;
  util::ProcessIdentity process_;
};

// The GoCD or Jenkins contract fake (phoenix-ci-fake) on a free loopback port.
class CiFake {
 public:
  // `seed`: GoCD *.gocd.yaml files, or a JENKINS_HOME; empty for an empty server.
  CiFake(const fs::path& directory, const std::string& kind, const fs::path& seed = {});
  ~CiFake();
  CiFake(const CiFake&) = delete;
  CiFake& operator=(const CiFake&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The environment that carries the fake's credentials to the tools.
  std::vector<std::string> credentials() const;

  static constexpr const char* kToken = "gocd-token-a1b2c3d4e5f6";
  static constexpr const char* kUser = "phoenix";
  static constexpr const char* kPassword = "jenkins-api-token-f6e5d4c3b2a1";

 private:
  std::string kind_;
  int port_ = 0;
  util::ProcessIdentity process_;
};

// Runs git in `directory`; fails the test when git fails. Returns its output.
std::string git(const fs::path& directory, const std::vector<std::string>& arguments);

struct HcloudServiceOptions {
  std::string balancer = "hcloud";  // or "haproxy" (then pass `haproxy`)
  const Haproxy* haproxy = nullptr;
  int pool_size = 3;
  std::string user_data;  // written to cloud-init.yaml when not empty
  int api_timeout_s = 20;
  int smoke_timeout_s = 20;
  int health_timeout_s = 10;
  std::string file_name = "hcloud.json";
  std::string retention = R"({ "keep": 1, "hot": 0, "keep_good": 0 })";
};

fs::path write_hcloud_config(const fs::path& directory, const HcloudFake& fake, const HcloudServiceOptions& options);

// Stops, by pid, every server process recorded under `state_dir` (the local provider's
// pool.json files, the exec example's pool files).
void stop_pool_processes(const fs::path& state_dir);

// Sends `signal` (SIGSTOP: frozen, still running to the provider; SIGCONT) to every server of
// the local provider's pool `label` under `state_dir` (from its pool.json). False when the record
// cannot be read, names no pid, or a signal cannot be sent; never signals pid 0.
bool signal_pool_servers(const fs::path& state_dir, const std::string& label, int signal);

// The labels of the pools `haproxy` routes new traffic to in `backend` (servers ready, with a weight).
std::set<std::string> routed_labels(const Haproxy& haproxy, const std::string& backend = "web");

// One HTTP GET to 127.x; returns the status and body ("" and 0 on a transport error).
std::pair<long, std::string> http_get(const std::string& url,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A client that keeps its connection open between and after requests, as browsers and
// connection-pooling HTTP clients do (libcurl's one-shot handles close theirs).
class KeepAliveClient {
 public:
  explicit KeepAliveClient(int port);
  // One GET on the held connection; the body, or "" when no whole response came in `timeout`.
  std::string get(const std::string& path, std::chrono::milliseconds timeout);

 private:
  util::UniqueFd fd_;
};

// Parses a tool's JSON output; fails the test if it is not JSON.
util::Json parse_output(const std::string& text);

// The pool `label` in a `create-pipeline list --output json` document, or null.
const cJSON* listed_pool(const util::Json& listing, const std::string& label);

}  // namespace phoenix::testing
