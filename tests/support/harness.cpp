#include "support/harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>

#include "shared/balancers/haproxy_balancer.hpp"
#include "shared/balancers/haproxy_channel.hpp"
#include "shared/http/curl_http_client.hpp"
#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/unique_fd.hpp"

namespace phoenix::testing {

namespace {

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

std::string read_or_empty(const fs::path& path) {
  auto text = util::read_file(path);
  return text ? *text : std::string();
}

bool can_connect_tcp(int port) {
  const util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

}  // namespace

fs::path binary_directory() { return PHOENIX_BIN_DIR; }
fs::path source_directory() { return PHOENIX_SOURCE_DIR; }

Result<util::ProcessIdentity> spawn_owned(const util::SpawnRequest& request) {
  // The parent-death signal follows the thread that forked, not the process: started from
  // another thread, the process would get SIGTERM as soon as that thread ends, mid-test.
  if (::gettid() != ::getpid()) {
    return Error{ErrorKind::invalid, "spawn_owned(" + (request.argv.empty() ? std::string() : request.argv.front()) +
                                         ") was called from a thread other than the main thread, which would stop "
                                         "the process when that thread ends; start it from the test's main thread"};
  }
  util::SpawnRequest owned = request;
  owned.argv.insert(owned.argv.begin(), {"setpriv", "--pdeathsig", "TERM", "--"});
  return util::spawn_detached(owned);
}

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "phoenix-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) fail("cannot create a temporary directory");
  path_ = pattern;
}

TempDir::~TempDir() {
  stop_pool_processes(path_);
  if (std::getenv("PHOENIX_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
}

int free_port() {
  const util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  socklen_t length = sizeof address;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    fail("cannot find a free port");
  }
  return ntohs(address.sin_port);
}

fs::path fresh_file(const fs::path& directory, const std::string& stem, const std::string& extension) {
  static std::atomic<unsigned> next{1};
  const fs::path path =
      directory / (stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(next++) + extension);
  std::error_code ignored;
  fs::remove(path, ignored);
  return path;
}

Haproxy::Haproxy(const fs::path& directory, HaproxyOptions options)
    : directory_(directory),
      config_file_(directory / "haproxy.cfg"),
      socket_(directory / "admin.sock"),
      port_(free_port()) {
  std::string config =
      "global\n"
      "    stats socket " +
      socket_.string() + " mode 600 level " + options.socket_level +
      "\n"
      "    maxconn 2000\n"
      "defaults\n"
      "    mode http\n"
      "    timeout connect 1s\n"
      "    timeout client 30s\n"
      "    timeout server 30s\n"
      "    timeout queue 5s\n";
  if (options.redispatch) config += "    option redispatch\n    retries 3\n";
  config +=
      "frontend fe\n"
      "    bind 127.0.0.1:" +
      std::to_string(port_) +
      "\n"
      "    default_backend " +
      options.backend +
      "\n"
      "backend " +
      options.backend +
      "\n"
      "    balance " +
      options.balance +
      "\n"
      "    option httpchk GET /health\n";
  for (const auto& line : options.backend_lines) config += "    " + line + "\n";
  if (!util::write_file_atomic(config_file_, config).ok()) fail("cannot write haproxy.cfg");
  start();
}

Haproxy::~Haproxy() { stop(); }

SampleApp::SampleApp(const fs::path& directory, const std::string& release) : port_(free_port()) {
  auto started =
      spawn_owned({{(binary_directory() / "phoenix-sample-app").string(), "--listen", address(), "--release", release},
                   directory,
                   directory / ("sample-app-" + release + ".log")});
  if (!started) fail("cannot start phoenix-sample-app: " + started.error().message);
  process_ = *started;
  for (int i = 0; i < 500 && !can_connect_tcp(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!can_connect_tcp(port_)) fail("phoenix-sample-app " + release + " did not listen on " + address());
}

SampleApp::~SampleApp() { util::stop_process(process_, std::chrono::seconds(3)); }

void Haproxy::start() {
  auto started = spawn_owned({{"haproxy", "-db", "-f", config_file_.string()}, directory_, directory_ / "haproxy.log"});
  if (!started) fail("cannot start haproxy: " + started.error().message);
  process_ = *started;
  wait_ready();
}

void Haproxy::wait_ready(pid_t answering) const {
  const std::string pid_line = "\nPid: " + std::to_string(answering) + "\n";
  for (int i = 0; i < 500; ++i) {
    if (!util::is_running(process_)) fail("haproxy exited: " + read_or_empty(directory_ / "haproxy.log"));
    haproxy::SocketRuntimeChannel channel(socket_.string(), std::chrono::seconds(2));
    auto answer = channel.run({"show info"});
    const bool answered =
        answer && !answer->empty() && (answering == 0 || ("\n" + answer->front()).find(pid_line) != std::string::npos);
    if (answered && can_connect_tcp(port_)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  fail("haproxy did not become ready");
}

void Haproxy::stop() {
  if (paused_) resume();
  if (process_.pid != 0) util::stop_process(process_, std::chrono::seconds(3));
  process_ = {};
}

void Haproxy::pause() {
  if (process_.pid == 0 || ::kill(process_.pid, SIGSTOP) != 0) fail("cannot pause haproxy");
  paused_ = true;
}

void Haproxy::resume() {
  if (process_.pid != 0) ::kill(process_.pid, SIGCONT);
  paused_ = false;
}

void Haproxy::reload() {
  const auto old = process_;
  auto started = spawn_owned({{"haproxy", "-db", "-f", config_file_.string(), "-sf", std::to_string(old.pid)},
                              directory_,
                              directory_ / "haproxy.log"});
  if (!started) fail("cannot reload haproxy: " + started.error().message);
  process_ = *started;
  wait_ready(started->pid);
  // The old process finishes its connections and exits; reap it so no zombie stays.
  for (int i = 0; i < 500 && util::is_running(old); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  util::stop_process(old, std::chrono::seconds(1));
}

void Haproxy::restart() {
  stop();
  start();
}

std::string Haproxy::url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

std::string Haproxy::command(const std::string& line) const {
  haproxy::SocketRuntimeChannel channel(socket_.string(), std::chrono::seconds(5));
  auto answers = channel.run({line});
  if (!answers || answers->empty()) fail("haproxy command failed: " + line);
  return answers->front();
}

FrozenUnixSocket::FrozenUnixSocket(fs::path path) : path_(std::move(path)) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path_.string().size() >= sizeof address.sun_path) fail("socket path too long: " + path_.string());
  std::memcpy(address.sun_path, path_.c_str(), path_.string().size() + 1);
  listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 0) != 0) {
    fail("cannot listen on " + path_.string());
  }
  // Fill the queue: connect until the kernel says it is full (EAGAIN), never accepting.
  for (int i = 0; i < 64; ++i) {
    const int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      const int error_number = errno;
      ::close(client);
      if (error_number == EAGAIN) return;
      fail("cannot fill the queue of " + path_.string() + ": " + std::strerror(error_number));
    }
    queued_.push_back(client);
  }
  fail("the accept queue of " + path_.string() + " never filled");
}

FrozenUnixSocket::~FrozenUnixSocket() {
  for (const int client : queued_) ::close(client);
  if (listener_ >= 0) ::close(listener_);
  std::error_code ec;
  fs::remove(path_, ec);
}

long long ToolResult::duration_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(ended - started).count();
}

namespace {
ToolResult run_tool_with(const std::vector<std::string>& prefix, const std::string& tool,
                         const std::vector<std::string>& arguments, const std::vector<std::string>& environment,
                         std::chrono::milliseconds timeout) {
  TempDir scratch;
  ::chmod(scratch.path().c_str(), 0755);  // readable by a tool run as another user
  util::CommandRequest request;
  request.argv = prefix;
  request.argv.push_back((binary_directory() / tool).string());
  request.argv.insert(request.argv.end(), arguments.begin(), arguments.end());
  request.environment = environment;
  request.environment.push_back("HOME=" + scratch.path().string());
  request.working_directory = scratch.path();
  request.inherit_environment = false;
  request.timeout = timeout;
  request.stderr_file = scratch.path() / "stderr";
  ToolResult result;
  result.started = std::chrono::system_clock::now();
  auto ran = util::run_command(request);
  result.ended = std::chrono::system_clock::now();
  if (!ran) fail("cannot run " + tool + ": " + ran.error().message);
  result.exit_code = ran->exit_code;
  result.signal = ran->signal;
  result.out = ran->output;
  result.err = read_or_empty(scratch.path() / "stderr");
  return result;
}
}  // namespace

std::vector<std::string> error_lines(const ToolResult& result) {
  std::vector<std::string> errors;
  for (const auto& line : util::split_lines(result.err)) {
    if (line.rfind("[+", 0) != 0) errors.push_back(line);
  }
  return errors;
}

ToolResult run_tool(const std::string& tool, const std::vector<std::string>& arguments,
                    const std::vector<std::string>& environment, std::chrono::milliseconds timeout) {
  return run_tool_with({}, tool, arguments, environment, timeout);
}

namespace {
void run_for_setup(const std::string& tool, const std::string& command, const std::string& label,
                   const std::string& config, const std::vector<std::string>& environment) {
  const auto result = run_tool(tool, {command, "--label", label, "--config", config}, environment);
  if (result.exit_code != 0) {
    fail(tool + " " + command + " --label " + label + " exited " + std::to_string(result.exit_code) + ": " +
         result.err);
  }
}
}  // namespace

bool is_stopped(pid_t pid) {
  const auto stat = util::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  const auto after_name = stat->rfind(") ");
  return after_name != std::string::npos && stat->compare(after_name + 2, 1, "T") == 0;
}

pid_t deploy_lock_holder(const fs::path& state_dir) {
  const auto text = util::read_file(state_dir / "deploy.lock");
  const auto json = text ? util::parse_json(*text, "lock") : Result<util::Json>(text.error());
  return json ? static_cast<pid_t>(util::json_number(json->get(), "pid").value_or(0)) : 0;
}

void create_pools_1_and_2(const std::string& config, ThenDeploy then, const std::vector<std::string>& environment) {
  for (const char* label : {"1", "2"}) {
    run_for_setup("create-pipeline", "run", label, config, environment);
    if (then == ThenDeploy::each_in_turn) run_for_setup("deploy-pipeline", "deploy", label, config, environment);
  }
  if (then == ThenDeploy::pool_1) run_for_setup("deploy-pipeline", "deploy", "1", config, environment);
}

pid_t running_tool(const std::string& tool, const std::string& argument) {
  const std::string suffix = "/" + tool;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const auto pid = util::parse_int(entry.path().filename().string());
    if (!pid) continue;
    const auto cmdline = util::read_file(entry.path() / "cmdline");
    if (!cmdline) continue;
    const auto argv = util::split(*cmdline, '\0');
    const bool is_tool = !argv.empty() && argv[0].size() >= suffix.size() &&
                         argv[0].compare(argv[0].size() - suffix.size(), suffix.size(), suffix) == 0;
    if (is_tool && std::find(argv.begin(), argv.end(), argument) != argv.end()) return static_cast<pid_t>(*pid);
  }
  return 0;
}

pid_t pid_of_command_line(const std::string& command_line) {
  const auto pids = util::run_command({.argv = {"pgrep", "-f", command_line}, .capture_stderr = true});
  if (!pids.ok()) return 0;
  const auto lines = util::split_lines(pids->output);
  if (lines.size() != 1) return 0;
  const auto pid = util::parse_int(util::trim(lines.front()));
  return pid ? static_cast<pid_t>(*pid) : 0;
}

ToolResult run_tool_as(const std::vector<std::string>& prefix, const std::string& tool,
                       const std::vector<std::string>& arguments, const std::vector<std::string>& environment,
                       std::chrono::milliseconds timeout) {
  return run_tool_with(prefix, tool, arguments, environment, timeout);
}

namespace {

// One HAProxy as a balancer object of the configuration (without its braces).
std::string haproxy_balancer(const Haproxy& haproxy, const ServiceOptions& options) {
  const std::string config_file =
      options.durable ? ",\n    \"config_file\": \"" + haproxy.config_file().string() + "\"" : "";
  return R"(
    "type": "haproxy",
    "socket": ")" +
         haproxy.socket().string() + R"(",
    "backend": "web",
    "health_timeout_s": )" +
         std::to_string(options.health_timeout_s) + R"(,
    "drain_timeout_s": )" +
         std::to_string(options.drain_timeout_s) + R"(,
    "allow_foreign_servers": )" +
         (options.allow_foreign_servers ? "true" : "false") + R"(,
    "check": { "interval_ms": )" +
         std::to_string(options.check_interval_ms) + R"(, "rise": 1, "fall": 2 })" + config_file + "\n  ";
}

fs::path write_config_with(const fs::path& directory, const std::string& balancers, const ServiceOptions& options) {
  std::string command = R"(["{artifact}", "--listen", "{host}:{port}", "--release", "{label}")";
  for (const auto& argument : options.extra_arguments) command += ", \"" + argument + "\"";
  command += "]";
  const std::string text = R"({
  "service": ")" + options.service +
                           R"(",
  "pool": { "size": )" + std::to_string(options.pool_size) +
                           R"( },
  "provider": {
    "type": "local",
    "state_dir": "state",
    "artifact": ")" + (binary_directory() / "phoenix-sample-app").string() +
                           R"(",
    "command": )" + command +
                           R"(
  },
  "smoke_test": {
    "timeout_s": )" + std::to_string(options.smoke_timeout_s) +
                           R"(,
    "checks": [
      { "name": "health", "path": "/health", "expect_status": 200 },
      { "name": "release", "path": "/", "expect_status": 200, "expect_body": "{label}" }
    ]
  },
  )" + balancers + R"(,
  "retention": { "keep": 2, "hot": )" +
                           std::to_string(options.hot) + R"(, "keep_good": )" + std::to_string(options.keep_good) +
                           R"( })" + (options.state.empty() ? std::string() : ",\n  \"state\": " + options.state) +
                           (options.watch.empty() ? std::string() : ",\n  \"watch\": " + options.watch) +
                           (options.notify.empty() ? std::string() : ",\n  \"notify\": " + options.notify) +
                           R"(
}
)";
  const fs::path path = directory / options.file_name;
  if (!util::write_file_atomic(path, text).ok()) fail("cannot write " + path.string());
  return path;
}

}  // namespace

fs::path write_service_config(const fs::path& directory, const Haproxy& haproxy, const ServiceOptions& options) {
  return write_config_with(directory, "\"balancer\": {" + haproxy_balancer(haproxy, options) + "}", options);
}

fs::path write_service_config(const fs::path& directory, const std::vector<const Haproxy*>& haproxies,
                              const ServiceOptions& options) {
  std::vector<std::string> objects;
  for (const Haproxy* haproxy : haproxies) objects.push_back("{" + haproxy_balancer(*haproxy, options) + "}");
  return write_config_with(directory, "\"balancers\": [" + util::join(objects, ", ") + "]", options);
}

namespace {
// The port a fake writes to `port_file` once it listens; fails the test after 5 s.
int wait_for_port_file(const fs::path& port_file, const std::string& fake) {
  for (int i = 0; i < 500; ++i) {
    if (auto text = util::read_file(port_file)) {
      if (const auto port = util::parse_int(util::trim(*text)); port && *port > 0) return static_cast<int>(*port);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  fail(fake + " did not start");
}
}  // namespace

namespace {

// Base64 of a key for the gateway (the harness does not use the code under test for it).
std::string key_base64(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8U) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(buffer >> static_cast<unsigned>(bits)) & 63U];
    }
  }
  if (bits > 0) out += alphabet[(buffer << static_cast<unsigned>(6 - bits)) & 63U];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

util::ProcessIdentity start_etcd(const fs::path& data, const std::string& name, int client_port, int peer_port,
                                 const std::string& initial_cluster, const fs::path& directory) {
  const std::string client = "http://127.0.0.1:" + std::to_string(client_port);
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
  auto started = spawn_owned({{"etcd",
                               "--name",
                               name,
                               "--data-dir",
                               data.string(),
                               "--listen-client-urls",
                               client,
                               "--advertise-client-urls",
                               client,
                               "--listen-peer-urls",
                               peer,
                               "--initial-advertise-peer-urls",
                               peer,
                               "--initial-cluster",
                               initial_cluster,
                               "--initial-cluster-state",
                               "new",
                               "--initial-cluster-token",
                               "phoenix-test-" + std::to_string(std::hash<std::string>{}(initial_cluster)),
                               "--logger",
                               "zap",
                               "--log-outputs",
                               "stderr"},
                              directory,
                              directory / ("etcd-" + name + ".log")});
  if (!started) fail("cannot start etcd (Debian package etcd-server): " + started.error().message);
  return *started;
}

}  // namespace

Etcd::Etcd(const fs::path& directory) : directory_(directory), name_("n1"), client_port_(free_port()) {
  const int peer_port = free_port();
  process_ = start_etcd(directory_ / "etcd-n1.data", name_, client_port_, peer_port,
                        name_ + "=http://127.0.0.1:" + std::to_string(peer_port), directory_);
  wait_healthy();
}

Etcd::Etcd(const fs::path& directory, const std::string& name, int client_port, int peer_port,
           const std::string& initial_cluster)
    : directory_(directory), name_(name), client_port_(client_port) {
  process_ =
      start_etcd(directory_ / ("etcd-" + name + ".data"), name_, client_port_, peer_port, initial_cluster, directory_);
}

Etcd::~Etcd() { stop(); }

std::string Etcd::endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }

bool Etcd::running() const { return process_.pid != 0 && util::is_running(process_); }

void Etcd::wait_healthy(std::chrono::milliseconds limit) const {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) fail("etcd exited: " + read_or_empty(directory_ / ("etcd-" + name_ + ".log")));
    const auto [status, body] = http_get(endpoint() + "/health");
    if (status == 200 && body.find("\"health\":\"true\"") != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  fail("etcd " + name_ + " did not become healthy");
}

void Etcd::stop() {
  if (process_.pid == 0) return;
  resume();
  util::stop_process(process_, std::chrono::seconds(5));
  process_ = {};
}

void Etcd::pause() {
  if (process_.pid != 0 && ::kill(process_.pid, SIGSTOP) == 0) paused_ = true;
}

void Etcd::resume() {
  if (process_.pid != 0 && paused_) ::kill(process_.pid, SIGCONT);
  paused_ = false;
}

std::string Etcd::call(const std::string& method, const std::string& body) const {
  http::CurlHttpClient client;
  HttpRequest request;
  request.method = "POST";
  request.url = endpoint() + "/v3/" + method;
  request.body = body;
  request.timeout = std::chrono::seconds(2);
  auto answers = client.perform({request});
  if (!answers.front() || answers.front()->status != 200) return "";
  return answers.front()->body;
}

bool Etcd::has_key(const std::string& key) const {
  const auto answer = call("kv/range", R"({"key": ")" + key_base64(key) + R"(", "count_only": true})");
  if (answer.empty()) fail("etcd did not answer a read of " + key);
  auto document = util::parse_json(answer, "etcd");
  if (!document) fail("etcd answered a read with something that is not JSON");
  return util::json_string(document->get(), "count").value_or("0") != "0";
}

std::string Etcd::member_id() const {
  auto document = util::parse_json(call("maintenance/status", "{}"), "etcd");
  if (!document) return "";
  return util::json_string(cJSON_GetObjectItemCaseSensitive(document->get(), "header"), "member_id").value_or("");
}

std::string Etcd::leader_id() const {
  auto document = util::parse_json(call("maintenance/status", "{}"), "etcd");
  if (!document) return "";
  return util::json_string(document->get(), "leader").value_or("");
}

EtcdCluster::EtcdCluster(const fs::path& directory, int size) {
  std::vector<std::pair<int, int>> ports;
  std::string initial_cluster;
  for (int i = 0; i < size; ++i) {
    ports.emplace_back(free_port(), free_port());
    initial_cluster += std::string(i > 0 ? "," : "") + "n" + std::to_string(i + 1) +
                       "=http://127.0.0.1:" + std::to_string(ports.back().second);
  }
  for (int i = 0; i < size; ++i) {
    members_.push_back(std::make_unique<Etcd>(directory, "n" + std::to_string(i + 1), ports[i].first, ports[i].second,
                                              initial_cluster));
  }
  for (const auto& member : members_) member->wait_healthy();
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> urls;
  for (const auto& member : members_) urls.push_back(member->endpoint());
  return urls;
}

std::size_t EtcdCluster::leader() const {
  for (int i = 0; i < 200; ++i) {
    std::set<std::string> leaders;
    std::map<std::string, std::size_t> index_of;
    for (std::size_t m = 0; m < members_.size(); ++m) {
      if (members_[m]->paused() || !members_[m]->running()) continue;
      index_of[members_[m]->member_id()] = m;
      leaders.insert(members_[m]->leader_id());
    }
    if (leaders.size() == 1 && index_of.count(*leaders.begin()) != 0) return index_of[*leaders.begin()];
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  fail("the etcd members do not agree on a leader");
}

std::string etcd_state_json(const std::vector<std::string>& endpoints, int lease_ttl_s, int timeout_ms) {
  std::string list;
  for (const auto& endpoint : endpoints) list += std::string(list.empty() ? "" : ", ") + "\"" + endpoint + "\"";
  return R"({ "type": "etcd", "endpoints": [)" + list + R"(], "prefix": "/phoenix", "lease_ttl_s": )" +
         std::to_string(lease_ttl_s) + R"(, "timeout_ms": )" + std::to_string(timeout_ms) + " }";
}

HcloudFake::HcloudFake(const fs::path& directory, Options options) : options_(std::move(options)) {
  if (options_.app_port == 0) options_.app_port = free_port();
  const auto port_file = fresh_file(directory, "hcloud-fake", ".port");
  auto started =
      spawn_owned({{(binary_directory() / "phoenix-hcloud-fake").string(), "--port-file", port_file.string(), "--token",
                    options_.token, "--app", (binary_directory() / "phoenix-sample-app").string(), "--app-port",
                    std::to_string(options_.app_port), "--latency-ms", std::to_string(options_.latency_ms),
                    "--action-ms", std::to_string(options_.action_ms), "--image-ms",
                    std::to_string(options_.image_ms < 0 ? options_.action_ms : options_.image_ms), "--restore-ms",
                    std::to_string(options_.restore_ms < 0 ? options_.action_ms : options_.restore_ms)},
                   directory,
                   directory / "hcloud-fake.log"});
  if (!started) fail("cannot start phoenix-hcloud-fake: " + started.error().message);
  process_ = *started;
  port_ = wait_for_port_file(port_file, "phoenix-hcloud-fake");
}

WebhookReceiver::WebhookReceiver(const fs::path& directory, Options options)
    : record_(fresh_file(directory, "webhook", ".jsonl")) {
  const auto port_file = fresh_file(directory, "webhook", ".port");
  auto started =
      spawn_owned({{(binary_directory() / "phoenix-webhook-receiver").string(), "--port-file", port_file.string(),
                    "--record", record_.string(), "--delay-ms", std::to_string(options.delay_ms), "--status",
                    std::to_string(options.status), "--fail-first", std::to_string(options.fail_first)},
                   directory,
                   directory / "webhook-receiver.log"});
  if (!started) fail("cannot start phoenix-webhook-receiver: " + started.error().message);
  process_ = *started;
  port_ = wait_for_port_file(port_file, "phoenix-webhook-receiver");
}

WebhookReceiver::~WebhookReceiver() { util::stop_process(process_, std::chrono::seconds(5)); }

std::string WebhookReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<WebhookReceiver::Request> WebhookReceiver::requests() const {
  std::vector<Request> requests;
  auto text = util::read_file(record_);
  if (!text) return requests;
  for (const auto& line : util::split_lines(*text)) {
    auto document = util::parse_json(line, record_.string());
    if (!document) fail("the webhook receiver recorded a line that is not JSON: " + line);
    const cJSON* object = document->get();
    requests.push_back(
        {util::json_string(object, "method").value_or(""), util::json_string(object, "path").value_or(""),
         util::json_string(object, "content_type").value_or(""), util::json_string(object, "body").value_or("")});
  }
  return requests;
}

std::vector<WebhookReceiver::Request> WebhookReceiver::wait_for(std::size_t count,
                                                                std::chrono::milliseconds limit) const {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto received = requests();
  while (received.size() < count && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    received = requests();
  }
  return received;
}

HcloudFake::~HcloudFake() {
  // SIGTERM makes the fake stop every server process it started.
  util::stop_process(process_, std::chrono::seconds(10));
}

std::string HcloudFake::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

std::string HcloudFake::control(const std::string& method, const std::string& path, const std::string& body) {
  http::CurlHttpClient client;
  HttpRequest request;
  request.method = method;
  request.url = "http://127.0.0.1:" + std::to_string(port_) + path;
  request.body = body;
  request.timeout = std::chrono::seconds(10);
  auto answers = client.perform({request});
  if (!answers.front()) fail("the hcloud fake did not answer " + path);
  return answers.front()->body;
}

std::string HcloudFake::create_load_balancer(const std::string& name) {
  auto answer = util::parse_json(control("POST", "/__fake/load_balancers", "{\"name\":\"" + name + "\"}"), "fake");
  if (!answer) fail("the hcloud fake did not create a load balancer");
  return "http://127.0.0.1:" + std::to_string(static_cast<int>(util::json_number(answer->get(), "port").value_or(0))) +
         "/";
}

void HcloudFake::inject(const std::string& fault_json) { control("POST", "/__fake/faults", fault_json); }

util::Json HcloudFake::stats() { return parse_output(control("GET", "/__fake/stats", "")); }

util::Json HcloudFake::api(const std::string& method, const std::string& path) {
  http::CurlHttpClient client;
  HttpRequest request;
  request.method = method;
  request.url = endpoint() + path;
  request.headers = {{"Authorization", "Bearer " + options_.token}};
  request.timeout = std::chrono::seconds(10);
  auto answers = client.perform({request});
  if (!answers.front()) fail("the hcloud fake did not answer " + path);
  return parse_output(answers.front()->body.empty() ? "{}" : answers.front()->body);
}

CiFake::CiFake(const fs::path& directory, const std::string& kind, const fs::path& seed) : kind_(kind) {
  const auto port_file = fresh_file(directory, kind + "-fake", ".port");
  std::vector<std::string> argv = {(binary_directory() / "phoenix-ci-fake").string(),
                                   "--kind",
                                   kind,
                                   "--port-file",
                                   port_file.string(),
                                   "--token",
                                   kToken,
                                   "--user",
                                   kUser,
                                   "--password",
                                   kPassword};
  if (!seed.empty()) argv.insert(argv.end(), {"--seed", seed.string()});
  auto started = spawn_owned({argv, directory, directory / (kind + "-fake.log")});
  if (!started) fail("cannot start phoenix-ci-fake: " + started.error().message);
  process_ = *started;
  port_ = wait_for_port_file(port_file, "phoenix-ci-fake");
}

CiFake::~CiFake() { util::stop_process(process_, std::chrono::seconds(5)); }

std::vector<std::string> CiFake::credentials() const {
  if (kind_ == "gocd") return {std::string("GOCD_TOKEN=") + kToken};
  return {std::string("JENKINS_USER=") + kUser, std::string("JENKINS_TOKEN=") + kPassword};
}

std::string git(const fs::path& directory, const std::vector<std::string>& arguments) {
  util::CommandRequest request;
  request.argv = {"git", "-C", directory.string()};
  request.argv.insert(request.argv.end(), arguments.begin(), arguments.end());
  request.capture_stderr = true;
  request.environment = {"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@localhost", "GIT_COMMITTER_NAME=test",
                         "GIT_COMMITTER_EMAIL=test@localhost"};
  auto ran = util::run_command(request);
  if (!ran || ran->exit_code != 0) fail("git " + util::join(arguments, " ") + " failed: " + (ran ? ran->output : ""));
  return ran->output;
}

fs::path write_hcloud_config(const fs::path& directory, const HcloudFake& fake, const HcloudServiceOptions& options) {
  std::string user_data;
  if (!options.user_data.empty()) {
    if (!util::write_file_atomic(directory / "cloud-init.yaml", options.user_data).ok())
      fail("cannot write cloud-init");
    user_data = ",\n    \"user_data_file\": \"cloud-init.yaml\"";
  }
  std::string balancer;
  if (options.balancer == "hcloud") {
    balancer = R"({ "type": "hcloud", "load_balancer": "web-lb", "health_timeout_s": )" +
               std::to_string(options.health_timeout_s) + R"(, "drain_timeout_s": 1 })";
  } else {
    balancer = R"({ "type": "haproxy", "socket": ")" + options.haproxy->socket().string() +
               R"(", "backend": "web", "config_file": ")" + options.haproxy->config_file().string() +
               R"(", "health_timeout_s": 10, "drain_timeout_s": 2, "check": { "interval_ms": 100, "rise": 1 } })";
  }
  const std::string text = R"({
  "service": "web",
  "pool": { "size": )" + std::to_string(options.pool_size) +
                           R"( },
  "provider": {
    "type": "hcloud",
    "server_type": "cx22",
    "image": "ubuntu-24.04",
    "location": "nbg1",
    "port": )" + std::to_string(fake.app_port()) +
                           R"(,
    "endpoint": ")" + fake.endpoint() +
                           R"(",
    "state_dir": "state",
    "api_timeout_s": )" + std::to_string(options.api_timeout_s) +
                           user_data + R"(
  },
  "smoke_test": {
    "timeout_s": )" + std::to_string(options.smoke_timeout_s) +
                           R"(,
    "checks": [
      { "name": "health", "path": "/health", "expect_status": 200 },
      { "name": "release", "path": "/", "expect_body": "{label}" }
    ]
  },
  "balancer": )" + balancer +
                           R"(,
  "retention": )" + options.retention +
                           R"(
}
)";
  const fs::path path = directory / options.file_name;
  if (!util::write_file_atomic(path, text).ok()) fail("cannot write " + path.string());
  return path;
}

long long ProbeSummary::others_last_ns(const std::string& release) const {
  long long last = 0;
  for (const auto& [name, at] : last_ns) {
    if (name != release) last = std::max(last, at);
  }
  return last;
}

Prober::Prober(const fs::path& directory, const std::string& url, int connections,
               std::chrono::milliseconds max_duration)
    : out_(fresh_file(directory, "probe", ".json")) {
  auto started = spawn_owned(
      {{(binary_directory() / "phoenix-prober").string(), "--url", url, "--connections", std::to_string(connections),
        "--duration-ms", std::to_string(max_duration.count()), "--out", out_.string()},
       directory,
       directory / "prober.log"});
  if (!started) fail("cannot start the prober: " + started.error().message);
  process_ = *started;
  // Give it a moment to open its connections before the test changes anything.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

Prober::~Prober() {
  if (!finished_) util::stop_process(process_, std::chrono::seconds(5));
}

ProbeSummary Prober::finish() {
  finished_ = true;
  ::kill(process_.pid, SIGTERM);
  for (int i = 0; i < 1000 && util::is_running(process_); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  util::stop_process(process_, std::chrono::seconds(1));
  auto text = util::read_file(out_);
  if (!text) fail("the prober wrote no summary");
  auto document = util::parse_json(*text, out_.string());
  if (!document) fail("the prober's summary is not JSON");
  ProbeSummary summary;
  summary.requests = static_cast<long long>(util::json_number(document->get(), "requests").value_or(0));
  summary.failed = static_cast<long long>(util::json_number(document->get(), "failed").value_or(0));
  summary.first_failure_ns = static_cast<long long>(util::json_number(document->get(), "first_failure_ns").value_or(0));
  summary.last_failure_ns = static_cast<long long>(util::json_number(document->get(), "last_failure_ns").value_or(0));
  const cJSON* releases = cJSON_GetObjectItemCaseSensitive(document->get(), "releases");
  const cJSON* release = nullptr;
  cJSON_ArrayForEach(release, releases) {
    summary.count[release->string] = static_cast<long long>(util::json_number(release, "count").value_or(0));
    summary.first_ns[release->string] = static_cast<long long>(util::json_number(release, "first_ns").value_or(0));
    summary.last_ns[release->string] = static_cast<long long>(util::json_number(release, "last_ns").value_or(0));
  }
  const cJSON* errors = cJSON_GetObjectItemCaseSensitive(document->get(), "errors");
  const cJSON* error = nullptr;
  cJSON_ArrayForEach(error, errors) summary.errors.emplace_back(error->valuestring);
  return summary;
}

ServingWatcher::ServingWatcher(const Haproxy& haproxy, std::string backend)
    : socket_(haproxy.socket().string()), backend_(std::move(backend)) {
  thread_ = std::thread([this] {
    haproxy::SocketRuntimeChannel channel(socket_, std::chrono::seconds(2));
    haproxy::HaproxyBalancer balancer(channel, {backend_, 100, 1, 2, std::nullopt});
    while (!stop_) {
      // A reload briefly leaves no socket to talk to: such samples are skipped.
      if (auto members = balancer.members()) {
        int serving = 0;
        for (const auto& member : *members) serving += member.admitted() && member.up ? 1 : 0;
        const int seen = minimum_.load();
        if (seen < 0 || serving < seen) minimum_ = serving;
        ++samples_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  });
}

ServingWatcher::~ServingWatcher() { finish(); }

int ServingWatcher::finish() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return minimum_;
}

long long wall_ns(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

bool signal_pool_servers(const fs::path& state_dir, const std::string& label, int signal) {
  const auto text = util::read_file(state_dir / "pools" / label / "pool.json");
  if (!text) return false;
  const auto document = util::parse_json(*text, "pool.json");
  if (!document) return false;
  bool any = false;
  const cJSON* server = nullptr;
  cJSON_ArrayForEach(server, cJSON_GetObjectItemCaseSensitive(document->get(), "servers")) {
    const auto pid = static_cast<pid_t>(util::json_number(server, "pid").value_or(0));
    if (pid <= 0 || ::kill(pid, signal) != 0) return false;
    any = true;
  }
  return any;
}

void stop_pool_processes(const fs::path& root) {
  std::error_code ec;
  if (!fs::exists(root, ec)) return;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    // The local provider's pool.json, and the exec example's <label>.json.
    if (it->path().extension() != ".json") continue;
    auto text = util::read_file(it->path());
    if (!text) continue;
    auto document = util::parse_json(*text, it->path().string());
    if (!document) continue;
    const cJSON* server = nullptr;
    cJSON_ArrayForEach(server, cJSON_GetObjectItemCaseSensitive(document->get(), "servers")) {
      util::ProcessIdentity process{static_cast<pid_t>(util::json_number(server, "pid").value_or(0)),
                                    static_cast<std::uint64_t>(util::json_number(server, "start_ticks").value_or(0))};
      if (process.pid > 0) util::stop_process(process, std::chrono::seconds(2));
    }
  }
}

std::set<std::string> routed_labels(const Haproxy& haproxy, const std::string& backend) {
  // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight ...
  std::set<std::string> labels;
  for (const auto& line : util::split_lines(haproxy.command("show servers state " + backend))) {
    const auto fields = util::split(line, ' ');
    if (fields.size() < 8 || fields[1] != backend) continue;
    if (fields[6] == "0" && fields[7] != "0") labels.insert(fields[3].substr(0, fields[3].find(':')));
  }
  return labels;
}

std::pair<long, std::string> http_get(const std::string& url, std::chrono::milliseconds timeout) {
  http::CurlHttpClient client;
  HttpRequest request;
  request.url = url;
  request.timeout = timeout;
  auto answers = client.perform({request});
  if (!answers.front()) return {0, ""};
  return {answers.front()->status, answers.front()->body};
}

KeepAliveClient::KeepAliveClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    fail("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
}

std::string KeepAliveClient::get(const std::string& path, std::chrono::milliseconds timeout) {
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd_.get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    return "";
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string response;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto header_end = response.find("\r\n\r\n");
    if (header_end != std::string::npos) {
      std::string headers = response.substr(0, header_end);
      std::transform(headers.begin(), headers.end(), headers.begin(), [](unsigned char c) { return std::tolower(c); });
      const auto length_at = headers.find("content-length:");
      if (length_at != std::string::npos) {
        const auto length = std::stoul(headers.substr(length_at + 15));
        if (response.size() >= header_end + 4 + length) return response.substr(header_end + 4, length);
      }
    }
    pollfd readable{fd_.get(), POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (::poll(&readable, 1, static_cast<int>(std::max<long long>(left.count(), 0))) <= 0) break;
    char buffer[4096];
    const auto got = ::recv(fd_.get(), buffer, sizeof buffer, 0);
    if (got <= 0) break;
    response.append(buffer, static_cast<std::size_t>(got));
  }
  return "";
}

util::Json parse_output(const std::string& text) {
  auto document = util::parse_json(text, "tool output");
  if (!document) fail("tool output is not JSON: " + text.substr(0, 300));
  return std::move(*document);
}

const cJSON* listed_pool(const util::Json& listing, const std::string& label) {
  const cJSON* pool = nullptr;
  cJSON_ArrayForEach(pool, cJSON_GetObjectItem(listing.get(), "pools")) {
    if (label == cJSON_GetObjectItem(pool, "label")->valuestring) return pool;
  }
  return nullptr;
}

}  // namespace phoenix::testing
