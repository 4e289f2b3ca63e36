#pragma once
// The service configuration: one JSON file per service (docs/configuration.md).
// Loading validates everything up front; nothing acts on a configuration that did not load.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "shared/core/planner.hpp"
#include "shared/core/smoke.hpp"
#include "shared/core/watch.hpp"
#include "shared/util/result.hpp"

namespace phoenix::config {

namespace fs = std::filesystem;

// Every provider, balancer and state store type is one struct with its `kType` name, one
// alternative of ProviderConfig, BalancerKind or StateConfig, and one reader in config.cpp;
// the readers are found through the variant, and cli/runtime.cpp wires each alternative with
// std::visit, so a type that is missing anywhere does not compile.

struct LocalProviderConfig {
  static constexpr std::string_view kType = "local";
  fs::path state_dir;                // default: .phoenix beside the config file
  fs::path artifact;                 // a file or a folder, copied into each pool
  std::vector<std::string> command;  // {artifact} {host} {port} {label} are filled in
  std::chrono::seconds start_timeout{30};
  // NAME, value: added to the clean environment servers start with (nothing is inherited).
  std::vector<std::pair<std::string, std::string>> environment;
};

struct HcloudProviderConfig {
  static constexpr std::string_view kType = "hcloud";
  std::optional<fs::path> token_file;  // HCLOUD_TOKEN wins when set
  std::string server_type;
  std::string image;
  std::string location;
  std::optional<fs::path> user_data_file;
  int port = 8080;
  std::string endpoint = "https://api.hetzner.cloud/v1";
  fs::path state_dir;  // history (lock and intent live in Hetzner Cloud itself)
  std::chrono::seconds create_timeout{600};
  std::chrono::seconds api_timeout{120};  // one API call, retries included
};

struct ExecProviderConfig {
  static constexpr std::string_view kType = "exec";
  std::vector<std::string> command;
  std::chrono::seconds timeout{600};
  fs::path state_dir;
  bool supports_power = false;
  bool supports_archive = false;        // the command has the `archive` and `restore` verbs (the cold tier)
  std::chrono::seconds stop_grace{10};  // a stopped `create`: from the passed-on signal to SIGKILL
};

using ProviderConfig = std::variant<LocalProviderConfig, HcloudProviderConfig, ExecProviderConfig>;

struct HealthCheckConfig {
  int interval_ms = 500;
  int rise = 2;
  int fall = 2;
};

struct HaproxyBalancerConfig {
  static constexpr std::string_view kType = "haproxy";
  std::string socket;  // a unix socket path, or host:port
  std::string backend;
  std::optional<fs::path> config_file;  // where live membership is kept durable
  HealthCheckConfig check;
};

struct HcloudBalancerConfig {
  static constexpr std::string_view kType = "hcloud";
  std::string load_balancer;
  bool use_private_ip = false;
};

using BalancerKind = std::variant<HaproxyBalancerConfig, HcloudBalancerConfig>;

struct BalancerConfig {
  // Names the balancer in messages, the intent record and status: "name", else "<type>-<n>"
  // (the nth balancer of its type); unique within a configuration.
  std::string name;
  BalancerKind kind;
  std::chrono::seconds health_timeout{30};
  std::chrono::seconds drain_timeout{30};
  bool allow_foreign_servers = false;  // servers Phoenix did not add may stay in the backend
};

// Where the deploy lock, the intent record, the freeze and history live (docs/scaling.md).
// "file": the provider's own store (a directory under its state_dir; placement groups for
// hcloud). "etcd": an etcd cluster every CI agent reaches, through its v3 JSON gateway.
struct FileStateConfig {
  static constexpr std::string_view kType = "file";
};

struct EtcdStateConfig {
  static constexpr std::string_view kType = "etcd";
  std::vector<std::string> endpoints;       // "http://10.0.0.5:2379", tried in order
  std::string prefix = "/phoenix";          // keys live under <prefix>/<service>/
  std::chrono::seconds lease_ttl{15};       // a killed holder's lock frees itself within this
  std::chrono::milliseconds timeout{2000};  // one request to one endpoint
};

using StateConfig = std::variant<FileStateConfig, EtcdStateConfig>;

// Where a notifier's URL comes from. A webhook URL is a credential (anyone holding a Slack
// incoming-webhook URL can post to the channel), so it is never written in the configuration:
// exactly one of an environment variable and a file (its first line) gives it.
struct SecretUrlSource {
  std::string environment;       // the variable's name, or ""
  std::optional<fs::path> file;  // resolved against the configuration's directory
};

// notify[]: where notifications go (docs/notifications.md). One struct per type with its
// `kType`, like providers and balancers.
struct WebhookNotifierConfig {
  static constexpr std::string_view kType = "webhook";
  SecretUrlSource url;
};

struct SlackNotifierConfig {
  static constexpr std::string_view kType = "slack";
  SecretUrlSource url;
};

struct CommandNotifierConfig {
  static constexpr std::string_view kType = "command";
  std::vector<std::string> command;  // run without a shell, the JSON document on stdin
};

using NotifierKind = std::variant<WebhookNotifierConfig, SlackNotifierConfig, CommandNotifierConfig>;

struct NotifierConfig {
  NotifierKind kind;
  // The whole delivery of one notification, its one retry included.
  std::chrono::milliseconds timeout{3000};
};

struct SmokeTestConfig {
  std::chrono::seconds timeout{30};
  std::vector<SmokeCheck> checks;
};

struct Config {
  fs::path file;       // as given
  fs::path directory;  // relative paths in the file are relative to this
  std::string text;    // the file's text, for error_at
  std::string service;
  int pool_size = 1;
  ProviderConfig provider;
  SmokeTestConfig smoke_test;
  // Every balancer the service sits behind (`balancers`, or the one `balancer`), in the order
  // of the file; a switch acts on all of them as one unit (docs/scaling.md).
  std::vector<BalancerConfig> balancers;
  // The first of `balancers`, for the settings read where one balancer is meant.
  BalancerConfig balancer;
  StateConfig state;  // default: the provider's own store
  int retention_keep = 3;
  int retention_hot = 1;        // replaced pools kept on standby in the balancer
  int retention_keep_good = 2;  // known-good pools prune and delete never go below
  // retention.running/off/cold: how many kept pools prune leaves in each tier (their sum is
  // retention_keep). Nothing: prune keeps retention_keep pools as they are.
  std::optional<TierCounts> retention_tiers;
  std::chrono::seconds lock_stale_after{3600};
  std::size_t history_keep = 10000;  // events; the oldest are dropped beyond it
  WatchSettings watch;               // deploy --watch: thresholds and checks
  std::vector<NotifierConfig> notify;
};

// "haproxy", "hcloud": the type of a balancer.
std::string_view balancer_type(const BalancerConfig& balancer);

// The longest a create-pipeline run works on a pool after recording its creation time: the
// provider's bound on creating it (local: provider.start_timeout_s; hcloud:
// provider.create_timeout_s; exec: provider.timeout_s), smoke_test.timeout_s, and a minute for
// the rest (copying the artifact, recording the verdict, a clock a little behind).
std::chrono::seconds longest_run(const Config& config);

// Reads and validates a configuration file. Every error is `invalid` and names the file,
// the key and, where it can, the line.
Result<Config> load_config(const fs::path& file);
// The same from text already read (`file` names it in errors and anchors relative paths).
Result<Config> parse_config(std::string_view text, const fs::path& file);

// An `invalid` error about the key at `key_path` ("retention.off", "balancers[1].name"), placed
// as the errors of reading the file are: "web.json:12: <message>" with the key's line (or
// "web.json: <message>" where the key is not in the text). For checks made once the
// configuration meets what it configures, such as the provider's tiers. A configuration not
// read from a file (no `file`) gives the message alone.
Error error_at(const Config& config, std::string_view key_path, const std::string& message);

// The file to use: --config, else $PHOENIX_CONFIG, else ./phoenix.json.
fs::path choose_config_file(const std::optional<std::string>& option, const std::optional<std::string>& environment);

}  // namespace phoenix::config
