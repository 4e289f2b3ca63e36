#include "shared/providers/local_provider.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>

#include "shared/core/label.hpp"
#include "shared/core/records.hpp"
#include "shared/providers/process_table.hpp"
#include "shared/util/files.hpp"
#include "shared/util/interrupt.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/unique_fd.hpp"

namespace phoenix::providers {

namespace fs = std::filesystem;

namespace {

constexpr std::chrono::milliseconds kStopGrace{3000};

util::Json record_to_json(const LocalPoolRecord& record) {
  util::Json object(cJSON_CreateObject());
  records::write_metadata(object.get(), record.meta);
  util::add_string(object.get(), "power", to_string(record.power));
  util::add_bool(object.get(), "complete", record.complete);
  util::add_string(object.get(), "artifact", record.artifact);
  cJSON* servers = cJSON_AddArrayToObject(object.get(), "servers");
  for (const auto& server : record.servers) {
    cJSON* item = cJSON_CreateObject();
    util::add_string(item, "id", server.id);
    util::add_string(item, "host", server.host);
    util::add_number(item, "port", server.port);
    util::add_number(item, "pid", server.process.pid);
    util::add_number(item, "start_ticks", static_cast<double>(server.process.start_ticks));
    util::add_bool(item, "released", server.released);
    cJSON_AddItemToArray(servers, item);
  }
  return object;
}

Result<LocalPoolRecord> record_from_json(const cJSON* object, const std::string& origin) {
  LocalPoolRecord record;
  auto meta = records::read_metadata(object);
  if (!meta) return meta.error().context(origin);
  record.meta = *meta;
  record.power = parse_power_state(util::json_string(object, "power").value_or("on")).value_or(PowerState::on);
  record.complete = util::json_bool(object, "complete").value_or(false);
  record.artifact = util::json_string(object, "artifact").value_or("");
  const cJSON* servers = cJSON_GetObjectItemCaseSensitive(object, "servers");
  const cJSON* item = nullptr;
  cJSON_ArrayForEach(item, servers) {
    LocalServerRecord server;
    server.id = util::json_string(item, "id").value_or("");
    server.host = util::json_string(item, "host").value_or("");
    server.port = static_cast<int>(util::json_number(item, "port").value_or(0));
    server.process.pid = static_cast<pid_t>(util::json_number(item, "pid").value_or(0));
    server.process.start_ticks = static_cast<std::uint64_t>(util::json_number(item, "start_ticks").value_or(0));
    server.released = util::json_bool(item, "released").value_or(true);
    if (server.id.empty() || server.host.empty())
      return Error{ErrorKind::failed, origin + ": a server has no id or host"};
    record.servers.push_back(server);
  }
  return record;
}

// A port nobody listens on at `host`, from the kernel's ephemeral range.
Result<int> free_port(const std::string& host) {
  const util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error{ErrorKind::failed, std::string("cannot create a socket: ") + std::strerror(errno)};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  ::inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  socklen_t length = sizeof address;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return Error{ErrorKind::failed, "cannot find a free port on " + host + ": " + std::strerror(errno)};
  }
  return static_cast<int>(ntohs(address.sin_port));
}

bool accepts_connections(const std::string& host, int port) {
  const util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

// The last lines of a server's log, for the error that says why it did not start.
std::string log_tail(const fs::path& log) {
  auto text = util::read_file_tail(log, 4096);
  if (!text || text->empty()) return "its log " + log.string() + " is empty";
  auto lines = util::split_lines(*text);
  const std::size_t first = lines.size() > 3 ? lines.size() - 3 : 0;
  std::vector<std::string> tail(lines.begin() + static_cast<long>(first), lines.end());
  return "its log " + log.string() + " ends with: " + util::printable(util::join(tail, " | "), 300);
}

// 127.64.0.1 onwards: every server gets an address of its own inside 127.0.0.0/8.
std::string loopback_host(std::uint64_t n) {
  const auto b = 64 + ((n >> 16) & 63);
  const auto c = (n >> 8) & 255;
  const auto d = n & 255;
  return "127." + std::to_string(b) + "." + std::to_string(c) + "." + std::to_string(d);
}

// Whether `path` lies in `directory`, given as the provider names it or resolved: /proc shows
// resolved paths, the server's command and environment hold the provider's.
bool within(const fs::path& path, const fs::path& directory) {
  std::error_code ec;
  return is_within(path, directory) || is_within(path, fs::weakly_canonical(directory, ec));
}

// Whether a process working in a pool's directory is one Phoenix started for that pool: its
// HOME is the pool's directory (the environment servers start with), or it runs the pool's
// copy of the release. A shell an operator opened there is neither.
bool started_for_pool(const ProcessFacts& process, const fs::path& directory) {
  const auto home = process.variable("HOME");
  if (home && !home->empty() && within(*home, directory) && within(directory, *home)) return true;
  const fs::path release = directory / "release";
  if (!process.executable.empty() && within(process.executable, release)) return true;
  return std::any_of(process.arguments.begin(), process.arguments.end(), [&](const std::string& argument) {
    return fs::path(argument).is_absolute() && within(argument, release);
  });
}

// The server id a process serves, from where its output goes (logs/<id>.log), or "pid-<pid>".
std::string server_id_of(const ProcessFacts& process, const fs::path& directory) {
  const fs::path& output = process.output;
  if (output.extension() == ".log" && within(output, directory / "logs") && !output.stem().empty()) {
    return output.stem().string();
  }
  return "pid-" + std::to_string(process.identity.pid);
}

// One server per id: the process that listens (a server may have helpers sharing its log),
// else the first.
std::vector<Server> servers_of(const std::vector<ProcessFacts>& processes, const fs::path& directory) {
  std::map<std::string, Server> by_id;
  for (const auto& process : processes) {
    const auto id = server_id_of(process, directory);
    const auto slot = by_id.try_emplace(id, Server{id, "", 0, ServerState::running}).first;
    if (!slot->second.host.empty() || process.listening.empty()) continue;
    const auto& address = process.listening.front();
    const auto colon = address.rfind(':');
    slot->second.host = address.substr(0, colon);
    slot->second.port = static_cast<int>(util::parse_int(address.substr(colon + 1)).value_or(0));
  }
  std::vector<Server> servers;
  servers.reserve(by_id.size());
  for (auto& [id, server] : by_id) servers.push_back(std::move(server));
  return servers;
}

constexpr std::string_view kDeletingPrefix = ".deleting-";

// The label of what a delete left, from its name (.deleting-<label>-<pid>); nothing for any other
// name.
std::optional<std::string> leftover_label(const std::string& name) {
  if (!name.starts_with(kDeletingPrefix)) return std::nullopt;
  const std::string rest = name.substr(kDeletingPrefix.size());
  const auto dash = rest.rfind('-');
  if (dash == std::string::npos || dash + 1 == rest.size() ||
      !std::all_of(rest.begin() + static_cast<long>(dash) + 1, rest.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::string label = rest.substr(0, dash);
  if (!validate_label(label, "a directory name").ok()) return std::nullopt;
  return label;
}

// What is left under `directory`: "2 files, for example logs/1.log", or "empty directories".
std::string what_is_left(const fs::path& directory) {
  std::error_code ec;
  std::size_t files = 0;
  std::string example;
  for (fs::recursive_directory_iterator it(directory, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (it->symlink_status(ec).type() == fs::file_type::directory) continue;
    if (files++ == 0) example = it->path().lexically_relative(directory).string();
  }
  if (files == 0) return "empty directories";
  return util::plural(files, "file") + ", for example " + example;
}

// A delete of pool `label` that stopped at removing `leftover`: what is left where, and the way
// on.
Error half_deleted(const std::string& label, const fs::path& leftover, const Error& failure) {
  return Error{ErrorKind::failed, "pool " + label + " is half deleted (its servers are stopped): " + failure.message +
                                      "; left there: " + what_is_left(leftover) +
                                      ". Once that can be removed (permissions, chattr +i, a mount under it), "
                                      "'create-pipeline delete --label " +
                                      label + "' finishes the delete"};
}

// "pid 4242, 4243": the processes an error names.
std::string pid_list(const std::vector<ProcessFacts>& processes) {
  std::vector<std::string> pids;
  pids.reserve(processes.size());
  for (const auto& process : processes) pids.push_back(std::to_string(process.identity.pid));
  return "pid " + util::join(pids, ", ");
}

// Processes of pool `label` that a delete stopped and that still run: the pool is kept.
Error not_stopped(const std::string& label, const std::vector<ProcessFacts>& left) {
  return Error{ErrorKind::failed, util::plural(left.size(), "process", "processes") + " of pool " + label +
                                      " did not stop (" + pid_list(left) + "); the pool is kept"};
}

}  // namespace

LocalProvider::LocalProvider(LocalProviderSettings settings, util::Clock& clock, util::Reporter& reporter)
    : settings_(std::move(settings)), clock_(clock), reporter_(reporter) {}

std::string LocalProvider::describe() const { return "local provider (" + service_directory().string() + ")"; }

fs::path LocalProvider::pool_directory(const std::string& label) const { return service_directory() / "pools" / label; }

Result<LocalPoolRecord> LocalProvider::load(const std::string& label) const {
  const fs::path file = pool_directory(label) / "pool.json";
  auto text = util::read_file(file);
  if (!text) return text.error();
  auto document = util::parse_json(*text, file.string());
  if (!document) return Error{ErrorKind::failed, document.error().message};
  auto record = record_from_json(document->get(), file.string());
  // A record copied or edited into another pool's directory: trusted, it would stand for the
  // pool its label names (that pool vanishing from the list, its members blamed on the
  // balancer), so it is as unreadable as a corrupt one and nothing acts on it.
  if (record && record->meta.label != label) {
    return Error{ErrorKind::failed,
                 file.string() + " names label " + record->meta.label + ", not " + label + " (the directory it is in)"};
  }
  return record;
}

Status LocalProvider::save(const LocalPoolRecord& record) const {
  return util::write_file_atomic(pool_directory(record.meta.label) / "pool.json",
                                 util::print_json(record_to_json(record).get(), true));
}

Pool LocalProvider::to_pool(const LocalPoolRecord& record) const {
  Pool pool;
  pool.meta = record.meta;
  pool.power = record.power;
  pool.complete = record.complete;
  for (const auto& server : record.servers) {
    ServerState state = ServerState::dead;
    if (util::is_running(server.process)) {
      state = ServerState::running;
    } else if (record.power == PowerState::off) {
      state = ServerState::stopped;
    } else if (server.process.pid == 0) {
      state = ServerState::starting;
    }
    pool.servers.push_back({server.id, server.host, server.port, state});
  }
  return pool;
}

std::vector<ProcessFacts> LocalProvider::find_pool_processes(const std::string& label) const {
  return find_processes_in(pool_directory(label), label);
}

std::vector<ProcessFacts> LocalProvider::find_processes_in(const fs::path& directory, const std::string& label) const {
  const fs::path own = pool_directory(label);
  auto processes = processes_working_in(directory);
  std::erase_if(processes, [&](const ProcessFacts& process) {
    return !started_for_pool(process, directory) && !started_for_pool(process, own);
  });
  return processes;
}

std::vector<fs::path> LocalProvider::deletion_leftovers(const std::string& label) const {
  std::vector<fs::path> leftovers;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(service_directory() / "pools", ec)) {
    if (entry.is_directory(ec) && leftover_label(entry.path().filename().string()) == label) {
      leftovers.push_back(entry.path());
    }
  }
  std::sort(leftovers.begin(), leftovers.end());
  return leftovers;
}

Pool LocalProvider::half_deleted_pool(const std::string& label, const std::vector<fs::path>& leftovers) const {
  Pool pool;
  pool.meta.label = label;
  pool.complete = false;
  pool.deleting = true;
  std::vector<std::string> left;
  for (const auto& leftover : leftovers) {
    left.push_back(leftover.string() + " (" + what_is_left(leftover) + ")");
    const auto servers = servers_of(find_processes_in(leftover, label), leftover);
    pool.servers.insert(pool.servers.end(), servers.begin(), servers.end());
  }
  pool.unreadable = "a delete of it stopped part-way and left " + util::join(left, ", ");
  return pool;
}

Status LocalProvider::finish_deletion(const std::string& label) const {
  const auto leftovers = deletion_leftovers(label);
  for (const auto& leftover : leftovers) {
    for (const auto& process : find_processes_in(leftover, label)) util::stop_process(process.identity, kStopGrace);
    if (const auto left = find_processes_in(leftover, label); !left.empty()) return not_stopped(label, left);
  }
  for (const auto& leftover : leftovers) {
    reporter_.step("finishing the delete of pool " + label + ": removing " + leftover.string());
    if (auto removed = util::remove_tree(leftover); !removed.ok())
      return half_deleted(label, leftover, removed.error());
  }
  return {};
}

Pool LocalProvider::unreadable_pool(const std::string& label, const std::string& problem) const {
  Pool pool;
  pool.meta.label = label;
  pool.complete = false;
  pool.unreadable = problem;
  pool.servers = servers_of(find_pool_processes(label), pool_directory(label));
  return pool;
}

Result<std::vector<Pool>> LocalProvider::list_pools() {
  std::vector<Pool> pools;
  const fs::path directory = service_directory() / "pools";
  std::error_code ec;
  if (!fs::exists(directory, ec)) return pools;
  std::map<std::string, std::vector<fs::path>> leftovers;  // what deletes that stopped part-way left, by label
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    const std::string label = entry.path().filename().string();
    if (!entry.is_directory() || label.empty()) continue;
    if (label.front() == '.') {
      if (const auto of = leftover_label(label)) leftovers[*of].push_back(entry.path());
      continue;
    }
    auto record = load(label);
    if (record) {
      pools.push_back(to_pool(*record));
      continue;
    }
    // Listed, not skipped: skipping would make the pool look gone while its servers run.
    Pool pool = unreadable_pool(label, record.error().message);
    // A create that is running writes pool.json before it starts any server: servers found
    // after a failed read may belong to a record written meanwhile, so it is read once more.
    if (auto again = load(label)) {
      pools.push_back(to_pool(*again));
      continue;
    }
    if (std::error_code missing; !fs::exists(entry.path() / "pool.json", missing) && pool.servers.empty()) {
      // Servers are recorded before any starts: a create that is running, or one that stopped
      // before it started anything.
      reporter_.warning("skipping pool directory " + entry.path().string() +
                        ": it has no pool.json (a create of it is running, or failed before recording it); "
                        "'create-pipeline create --label " +
                        label + "' finishes it, 'create-pipeline delete --label " + label + "' removes it");
      continue;
    }
    pools.push_back(std::move(pool));
  }
  if (ec) return Error{ErrorKind::failed, "cannot list " + directory.string() + ": " + ec.message()};
  for (auto& [label, left] : leftovers) {
    std::sort(left.begin(), left.end());
    if (std::error_code exists; !fs::is_directory(pool_directory(label), exists)) {
      pools.push_back(half_deleted_pool(label, left));
      continue;
    }
    // A pool of that label was made again (before a half-deleted pool listed, create refused it).
    reporter_.warning(left.front().string() + " is what a delete of an earlier pool " + label + " left, and pool " +
                      label + " exists again: once no process works there, remove it by hand");
  }
  return pools;
}

Result<std::vector<std::string>> LocalProvider::allocate_hosts(std::size_t count) const {
  PHX_TRY(util::make_directories(service_directory()));
  const fs::path counter_file = service_directory() / "address-counter";
  auto lock = util::FileLock::acquire(counter_file.string() + ".lock");
  if (!lock) return lock.error();
  std::uint64_t next = 1;
  if (auto text = util::read_file(counter_file)) {
    if (auto value = util::parse_int(util::trim(*text)); value && *value > 0) next = static_cast<std::uint64_t>(*value);
  }
  std::vector<std::string> hosts;
  while (hosts.size() < count) {
    next = next % (64ULL << 16) == 0 ? 1 : next;  // wrap within 127.64.0.0/10
    const auto last_octet = next & 255;
    if (last_octet != 0 && last_octet != 255) hosts.push_back(loopback_host(next));
    ++next;
  }
  util::remove_dead_writers_temporaries(service_directory(), {counter_file.filename().string()});
  PHX_TRY(util::write_file_atomic(counter_file, std::to_string(next) + "\n"));
  return hosts;
}

std::vector<std::string> LocalProvider::server_environment(const fs::path& pool_directory) const {
  const char* path = std::getenv("PATH");
  std::map<std::string, std::string> variables = {
      {"PATH", path != nullptr && *path != '\0' ? path : "/usr/local/bin:/usr/bin:/bin"},
      {"HOME", pool_directory.string()},
      {"LANG", "C.UTF-8"}};
  for (const auto& [name, value] : settings_.environment) variables[name] = value;
  std::vector<std::string> entries;
  entries.reserve(variables.size());
  for (const auto& [name, value] : variables) entries.push_back(name + "=" + value);
  return entries;
}

Result<util::FileLock> LocalProvider::lock_pool(const std::string& label) const {
  const fs::path lock_file = pool_directory(label) / "pool.json.lock";
  // The pool's record is written only under this lock: the temporary files writers killed
  // mid-write left of it are swept here, once per change of the pool, not on every write.
  const auto swept = [&](util::FileLock held) {
    util::remove_dead_writers_temporaries(pool_directory(label), {"pool.json"});
    return held;
  };
  auto lock = util::FileLock::try_acquire(lock_file);
  if (!lock) return lock.error();
  if (*lock) return swept(std::move(**lock));
  reporter_.step("another run is creating or changing pool " + label + "; waiting for it to finish");
  // Long enough for another run to copy the release and start its servers; never forever.
  const auto patience = settings_.start_timeout * 2 + std::chrono::seconds(60);
  const auto deadline = clock_.now() + patience;
  while (clock_.now() < deadline) {
    clock_.sleep_for(std::chrono::milliseconds(50));
    lock = util::FileLock::try_acquire(lock_file);
    if (!lock) return lock.error();
    if (*lock) return swept(std::move(**lock));
  }
  return Error{ErrorKind::refused, "another run held pool " + label + " for more than " +
                                       std::to_string(patience.count()) + " s (its lock " + lock_file.string() +
                                       "); is a create-pipeline of it stuck?"};
}

std::vector<std::string> LocalProvider::server_command(const LocalPoolRecord& record,
                                                       const LocalServerRecord& server) const {
  const std::string artifact = (pool_directory(record.meta.label) / record.artifact).string();
  std::vector<std::string> argv;
  for (const auto& part : settings_.command) {
    std::string value = util::replace_all(part, "{artifact}", artifact);
    value = util::replace_all(value, "{host}", server.host);
    value = util::replace_all(value, "{port}", std::to_string(server.port));
    value = util::replace_all(value, "{label}", record.meta.label);
    argv.push_back(value);
  }
  return argv;
}

Status LocalProvider::start_servers(LocalPoolRecord& record, const std::vector<std::size_t>& indices) {
  // Held processes take two descriptors each until released: start them in batches.
  constexpr std::size_t kBatch = 64;
  const fs::path directory = pool_directory(record.meta.label);
  PHX_TRY(util::make_directories(directory / "logs"));
  const auto environment = server_environment(directory);
  for (std::size_t first = 0; first < indices.size(); first += kBatch) {
    const std::size_t last = std::min(indices.size(), first + kBatch);
    std::vector<util::GatedProcess> held;
    held.reserve(last - first);
    for (std::size_t k = first; k < last; ++k) {
      auto& server = record.servers[indices[k]];
      auto process = util::GatedProcess::spawn(
          {server_command(record, server), directory, directory / "logs" / (server.id + ".log"), environment});
      if (!process) return process.error().context("starting server " + server.id + " of pool " + record.meta.label);
      server.process = process->identity();
      server.released = false;
      held.push_back(std::move(*process));
    }
    // Recorded before they run: a run killed from here on leaves nothing no record knows.
    // Killed before this save, the held processes exit without running anything; killed
    // before the save below, they are recorded as not released, and a re-run stops them.
    PHX_TRY(save(record));
    for (std::size_t k = first; k < last; ++k) {
      const auto released = held[k - first].release();
      if (!released.ok()) {
        return released.error().context("starting server " + record.servers[indices[k]].id + " of pool " +
                                        record.meta.label);
      }
      record.servers[indices[k]].released = true;
    }
    PHX_TRY(save(record));
  }
  return {};
}

Status LocalProvider::stop_unreleased(const LocalPoolRecord& record) const {
  std::vector<const LocalServerRecord*> unreleased;
  for (const auto& server : record.servers) {
    if (!server.released && util::is_running(server.process)) unreleased.push_back(&server);
  }
  if (unreleased.empty()) return {};
  reporter_.step("stopping " + util::plural(unreleased.size(), "server") + " of pool " + record.meta.label +
                 " that an interrupted run had not released");
  for (const auto* server : unreleased) {
    util::stop_process(server->process, kStopGrace);
    if (util::is_running(server->process)) {
      return Error{ErrorKind::failed, "server " + server->id + " of pool " + record.meta.label + " (pid " +
                                          std::to_string(server->process.pid) +
                                          "), which an interrupted run had not released, did not stop"};
    }
  }
  return {};
}

Status LocalProvider::wait_until_listening(const LocalPoolRecord& record, std::vector<std::size_t> waiting) {
  const fs::path directory = pool_directory(record.meta.label);
  const auto deadline = clock_.now() + settings_.start_timeout;
  while (!waiting.empty()) {
    std::vector<std::size_t> still_waiting;
    for (const auto index : waiting) {
      const auto& server = record.servers[index];
      if (accepts_connections(server.host, server.port)) continue;
      if (!util::is_running(server.process)) {
        return Error{ErrorKind::failed, "server " + server.id + " of pool " + record.meta.label +
                                            " exited right after starting (check provider.command); " +
                                            log_tail(directory / "logs" / (server.id + ".log"))};
      }
      still_waiting.push_back(index);
    }
    waiting.swap(still_waiting);
    if (waiting.empty()) break;
    if (settings_.stop_requested && settings_.stop_requested()) {
      return util::stopped_by_signal("while " + util::plural(waiting.size(), "server") + " of pool " +
                                     record.meta.label + (waiting.size() == 1 ? " was" : " were") + " starting: all " +
                                     std::to_string(record.servers.size()) +
                                     " are recorded and the pool is not complete");
    }
    if (clock_.now() >= deadline) {
      // Servers that never listen are stopped, not left running for nobody.
      for (const auto index : waiting) util::stop_process(record.servers[index].process, kStopGrace);
      const auto& server = record.servers[waiting.front()];
      return Error{ErrorKind::failed,
                   util::plural(waiting.size(), "server") + " of pool " + record.meta.label +
                       " did not accept connections within " + std::to_string(settings_.start_timeout.count()) +
                       " s (provider.start_timeout_s) and " + (waiting.size() == 1 ? "was" : "were") +
                       " stopped, for example " + server.host + ":" + std::to_string(server.port) + "; " +
                       log_tail(directory / "logs" / (server.id + ".log"))};
    }
    clock_.sleep_for(std::chrono::milliseconds(10));
  }
  return {};
}

Status LocalProvider::run_servers(LocalPoolRecord& record) {
  PHX_TRY(stop_unreleased(record));
  std::vector<std::size_t> to_start;
  std::vector<std::size_t> all;
  for (std::size_t i = 0; i < record.servers.size(); ++i) {
    all.push_back(i);
    if (!util::is_running(record.servers[i].process)) to_start.push_back(i);
  }
  if (to_start.size() < all.size()) {
    reporter_.step("adopting " + util::plural(all.size() - to_start.size(), "server") + " of pool " +
                   record.meta.label + " that an interrupted run started");
  }
  reporter_.step("starting " + util::plural(to_start.size(), "server") + " of pool " + record.meta.label + " at once");
  PHX_TRY(start_servers(record, to_start));
  // Adopted servers too: running is not listening.
  return wait_until_listening(record, all);
}

Result<fs::path> LocalProvider::release_source(const PoolMetadata& meta) {
  if (meta.rebuild_of.empty()) return settings_.artifact;
  // A rebuild runs the very release the other pool runs: its own copy, not the configured
  // artifact, which may have been rebuilt since.
  auto source = load(meta.rebuild_of);
  if (!source) return source.error().context("reading pool " + meta.rebuild_of + ", the release to rebuild");
  return pool_directory(meta.rebuild_of) / source->artifact;
}

Result<Pool> LocalProvider::create_pool(const PoolSpec& spec) {
  const std::string& label = spec.meta.label;
  const fs::path directory = pool_directory(label);
  std::error_code ec;
  PHX_TRY_ASSIGN(const fs::path artifact, release_source(spec.meta));
  if (!fs::exists(directory / "pool.json", ec) && !fs::exists(artifact, ec)) {
    return Error{ErrorKind::invalid,
                 "the release artifact " + artifact.string() + " does not exist (provider.artifact); build it first"};
  }
  // One run at a time per pool: a concurrent create of the same label waits here, then finds
  // the pool complete.
  PHX_TRY(util::make_directories(directory));
  auto lock = lock_pool(label);
  if (!lock) return lock.error();

  LocalPoolRecord record;
  if (fs::exists(directory / "pool.json", ec)) {
    auto existing = load(label);
    if (!existing) return existing.error();
    if (existing->complete) return to_pool(*existing);
    record = *existing;
    reporter_.step("resuming the interrupted creation of pool " + label);
  } else {
    record.meta = spec.meta;
    record.artifact = (fs::path("release") / artifact.filename()).string();
  }

  // The pool's own copy of the release, made whole before anything runs from it.
  if (!fs::exists(directory / record.artifact, ec)) {
    if (!fs::exists(artifact, ec)) {
      return Error{ErrorKind::invalid,
                   "the release artifact " + artifact.string() + " does not exist (provider.artifact); build it first"};
    }
    reporter_.step("copying release " + artifact.string() + " into pool " + label);
    const fs::path staging = directory / "release.partial";
    PHX_TRY(util::remove_tree(staging));
    PHX_TRY(util::make_directories(staging));
    PHX_TRY(util::copy_tree(artifact, staging / artifact.filename()));
    PHX_TRY(util::remove_tree(directory / "release"));
    fs::rename(staging, directory / "release", ec);
    if (ec)
      return Error{ErrorKind::failed,
                   "cannot move the release into place in " + directory.string() + ": " + ec.message()};
  }

  if (record.servers.empty()) {
    // The servers are recorded (address, port, no process yet) before any of them starts.
    auto hosts = allocate_hosts(static_cast<std::size_t>(spec.size));
    if (!hosts) return hosts.error();
    for (int i = 0; i < spec.size; ++i) {
      auto port = free_port((*hosts)[static_cast<std::size_t>(i)]);
      if (!port) return port.error();
      record.servers.push_back({std::to_string(i + 1), (*hosts)[static_cast<std::size_t>(i)], *port, {}});
    }
    PHX_TRY(save(record));
  }

  PHX_TRY(run_servers(record));
  record.complete = true;
  PHX_TRY(save(record));
  return to_pool(record);
}

Status LocalProvider::destroy_pool(const Pool& pool) {
  const std::string& label = pool.label();
  if (pool.deleting) return finish_deletion(label);
  const fs::path directory = pool_directory(label);
  if (pool.readable()) {
    if (auto record = load(label); !record) return record.error();
  } else if (std::error_code ec; !fs::is_directory(directory, ec)) {
    return Error{ErrorKind::invalid, "pool " + label + " does not exist: there is no " + directory.string()};
  }
  // Not while a create (or a power change) of the pool runs: it would start servers after
  // they were stopped here.
  auto lock = lock_pool(label);
  if (!lock) return lock.error();
  auto record = load(label);
  if (record.ok() != pool.readable()) {
    // The caller judged the pool (which servers, which addresses) on what it read before.
    return Error{ErrorKind::failed, "the record of pool " + label + " (" + (directory / "pool.json").string() + ") " +
                                        (record ? "became readable" : "became unreadable: " + record.error().message) +
                                        " while it was being deleted; nothing was stopped, run the delete again"};
  }
  if (record && (record->complete != pool.complete || record->meta.smoke != pool.meta.smoke)) {
    // A create-pipeline run resumed it while this waited for the lock: what the caller judged
    // (a prune: an incomplete pool nobody judged) is no longer so.
    return Error{ErrorKind::refused,
                 "pool " + label + " changed while this waited for its lock (now " +
                     (record->complete ? "complete" : "incomplete") + ", smoke verdict " +
                     to_string(record->meta.smoke) +
                     ": a create-pipeline run finished it meanwhile); nothing was deleted, look at it again",
                 ErrorCode::changed_concurrently};
  }
  if (record) {
    for (const auto& server : record->servers) util::stop_process(server.process, kStopGrace);
  }
  // Then whatever else Phoenix started there: every server of an unreadable pool, and anything
  // a record no longer knows.
  for (const auto& process : find_pool_processes(label)) util::stop_process(process.identity, kStopGrace);
  if (const auto left = find_pool_processes(label); !left.empty()) return not_stopped(label, left);
  return remove_pool_directory(label);
}

Status LocalProvider::remove_pool_directory(const std::string& label) const {
  const fs::path directory = pool_directory(label);
  // Rename first: a crash leaves a hidden directory, never a half-deleted pool that lists.
  const fs::path doomed = service_directory() / "pools" / (".deleting-" + label + "-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::rename(directory, doomed, ec);
  if (ec) return Error{ErrorKind::failed, "cannot remove " + directory.string() + ": " + ec.message()};
  if (auto removed = util::remove_tree(doomed); !removed.ok()) return half_deleted(label, doomed, removed.error());
  return {};
}

Result<bool> LocalProvider::remove_unrecorded(const std::string& label, bool dry_run) {
  if (!validate_label(label, "label").ok()) return false;
  const fs::path directory = pool_directory(label);
  std::error_code ec;
  if (!fs::is_directory(directory, ec) || fs::exists(directory / "pool.json", ec)) return false;
  if (dry_run) return true;
  // A create of it that is running holds this lock until it recorded the pool or failed.
  auto lock = lock_pool(label);
  if (!lock) return lock.error();
  if (fs::exists(directory / "pool.json", ec)) {
    return Error{ErrorKind::failed, "a create recorded pool " + label + " (" + (directory / "pool.json").string() +
                                        ") while it was being removed; nothing was removed, run the delete again"};
  }
  // Servers are recorded before any starts, so none should run; one that does is stopped by
  // deleting the pool as unreadable (list_pools lists it then), never left running here.
  if (const auto running = find_pool_processes(label); !running.empty()) {
    return Error{ErrorKind::failed, "pool " + label + " has no record, yet " +
                                        util::plural(running.size(), "process", "processes") + " of it " +
                                        (running.size() == 1 ? "runs" : "run") + " (" + pid_list(running) +
                                        "); nothing was removed, run the delete again (it stops them)"};
  }
  PHX_TRY(remove_pool_directory(label));
  return true;
}

Status LocalProvider::update_metadata(const PoolMetadata& meta) {
  auto lock = lock_pool(meta.label);
  if (!lock) return lock.error();
  auto record = load(meta.label);
  if (!record) return record.error();
  record->meta = meta;
  return save(*record);
}

Status LocalProvider::set_power(const Pool& pool, PowerState power) {
  auto lock = lock_pool(pool.label());
  if (!lock) return lock.error();
  auto record = load(pool.label());
  if (!record) return record.error();
  if (power == PowerState::off) {
    for (auto& server : record->servers) util::stop_process(server.process, kStopGrace);
    record->power = PowerState::off;
    return save(*record);
  }
  record->power = PowerState::on;
  PHX_TRY(save(*record));
  return run_servers(*record);
}

Result<Archive> LocalProvider::archive_pool(const Pool& pool, const BeforeDestroying& /*before_destroying*/) {
  return Error{ErrorKind::invalid, describe() + " has no cold tier: it cannot archive pool " + pool.label()};
}

Result<Pool> LocalProvider::restore_pool(const Pool& pool) {
  return Error{ErrorKind::invalid, describe() + " has no cold tier: it cannot restore pool " + pool.label()};
}

}  // namespace phoenix::providers
