#include "shared/config/config.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "shared/config/reader.hpp"
#include "shared/core/label.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/url.hpp"

namespace phoenix::config {

namespace {

constexpr std::int64_t kMaxPoolSize = 1000;
constexpr std::int64_t kMaxSeconds = 24 * 3600;
// A service configuration is a few kilobytes; anything near this is not one.
constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;

// What a service, backend or balancer name may be (they name files, HAProxy objects, labels).
constexpr std::string_view kNameRule = "1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit";
// What an HAProxy balancer's backend may be, in its type error and its rule error alike.
constexpr std::string_view kBackendNameRule = "a plain HAProxy backend name (A-Z a-z 0-9 . _ -)";

bool is_service_name(std::string_view name) {
  // The service names files, HAProxy objects and cloud labels: the label alphabet fits all.
  return validate_label(name, "service").ok();
}

fs::path config_path(const Config& config, const std::string& value) {
  return util::resolve_against(config.directory, fs::path(value));
}

// A provider's state_dir: .phoenix beside the configuration file unless given; an empty one
// is refused (it would be the working directory of whoever runs the command).
fs::path read_state_dir(ObjectReader& reader, const Config& config) {
  const auto value = reader.string("state_dir", false).value_or(".phoenix");
  if (value.empty()) reader.fail("state_dir", "must name a directory, not be empty (leave it out for .phoenix)");
  return config_path(config, value.empty() ? ".phoenix" : value);
}

// What is wrong with a URL of the configuration, for reader.fail, or nothing. Shown through
// redact_url (no userinfo, no query values); the problem itself names a position, never a
// credential. `expected` says what to write instead.
std::optional<std::string> url_problem(std::string_view url, std::string_view expected) {
  const auto check = util::check_url(url);
  if (check.ok()) return std::nullopt;
  return "'" + util::printable(util::redact_url(url), 80) + "' is not a valid URL: " + check.problem->describe() +
         "; expected " + std::string(expected);
}

bool is_environment_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return util::is_ascii_alnum(c) || c == '_'; });
}

// provider.environment: an object of NAME: "value".
std::vector<std::pair<std::string, std::string>> read_environment(ObjectReader& reader) {
  std::vector<std::pair<std::string, std::string>> environment;
  for (const auto& name : reader.keys()) {
    auto value = reader.string(name.c_str(), true);
    if (!is_environment_name(name)) {
      reader.fail(name.c_str(), "not an environment variable name (A-Z a-z 0-9 _, not starting with a digit)");
    } else if (value) {
      environment.emplace_back(name, *value);
    }
  }
  return environment;
}

// One reader per provider and balancer type, chosen by overload (see read_alternative).
template <class T>
using Of = std::type_identity<T>;

LocalProviderConfig read_type(ObjectReader& reader, const Config& config, Of<LocalProviderConfig> /*type*/) {
  LocalProviderConfig local;
  local.state_dir = read_state_dir(reader, config);
  if (auto artifact = reader.string("artifact", true)) local.artifact = config_path(config, *artifact);
  if (auto command = reader.string_array("command", false, false)) {
    local.command = *command;
  } else {
    local.command = {"{artifact}", "--listen", "{host}:{port}", "--release", "{label}"};
  }
  if (auto timeout = reader.integer("start_timeout_s", false, 1, kMaxSeconds))
    local.start_timeout = std::chrono::seconds(*timeout);
  if (auto environment = reader.object("environment", false)) {
    local.environment = read_environment(*environment);
    reader.adopt(environment->finish());
  }
  return local;
}

// Whether the API token may go to this endpoint: over https, or over plain http to this machine
// only (a local fake of the API), judged on the parsed host: "http://127.evil.example" and
// "http://localhost:1@evil.example" go elsewhere.
bool carries_token_safely(const util::UrlParts& parts) {
  if (parts.scheme == util::UrlScheme::https) return true;
  const std::string host = util::to_lower(parts.host);
  const bool ipv4 = !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.';
  });  // check_url took it, so a dotted quad
  return !parts.has_userinfo && (host == "localhost" || host == "::1" || (ipv4 && host.rfind("127.", 0) == 0));
}

HcloudProviderConfig read_type(ObjectReader& reader, const Config& config, Of<HcloudProviderConfig> /*type*/) {
  HcloudProviderConfig hcloud;
  if (auto token_file = reader.string("token_file", false)) hcloud.token_file = config_path(config, *token_file);
  hcloud.server_type = reader.string("server_type", true).value_or("");
  hcloud.image = reader.string("image", true).value_or("");
  hcloud.location = reader.string("location", false).value_or("");
  if (auto user_data = reader.string("user_data_file", false)) hcloud.user_data_file = config_path(config, *user_data);
  if (auto port = reader.integer("port", false, 1, 65535)) hcloud.port = static_cast<int>(*port);
  if (auto endpoint = reader.string("endpoint", false)) {
    if (auto problem = url_problem(*endpoint, "the API's base URL, e.g. https://api.hetzner.cloud/v1")) {
      reader.fail("endpoint", *problem);
    } else if (!carries_token_safely(util::check_url(*endpoint).parts)) {
      reader.fail("endpoint",
                  "must be an https:// URL (plain http:// only to this machine: 127.x.x.x, localhost, [::1])");
    }
    while (!endpoint->empty() && endpoint->back() == '/') endpoint->pop_back();
    hcloud.endpoint = *endpoint;
  }
  hcloud.state_dir = read_state_dir(reader, config);
  if (auto timeout = reader.integer("create_timeout_s", false, 1, kMaxSeconds)) {
    hcloud.create_timeout = std::chrono::seconds(*timeout);
  }
  if (auto timeout = reader.integer("api_timeout_s", false, 1, kMaxSeconds)) {
    hcloud.api_timeout = std::chrono::seconds(*timeout);
  }
  return hcloud;
}

ExecProviderConfig read_type(ObjectReader& reader, const Config& config, Of<ExecProviderConfig> /*type*/) {
  ExecProviderConfig exec;
  if (auto command = reader.string_array("command", true, false)) {
    exec.command = *command;
    // A relative program path is relative to the config file, like every other path.
    if (exec.command[0].find('/') != std::string::npos) exec.command[0] = config_path(config, exec.command[0]).string();
  }
  if (auto timeout = reader.integer("timeout_s", false, 1, kMaxSeconds)) exec.timeout = std::chrono::seconds(*timeout);
  exec.state_dir = read_state_dir(reader, config);
  exec.supports_power = reader.boolean("supports_power", false).value_or(false);
  exec.supports_archive = reader.boolean("supports_archive", false).value_or(false);
  if (auto grace = reader.integer("stop_grace_s", false, 1, 600)) exec.stop_grace = std::chrono::seconds(*grace);
  return exec;
}

HaproxyBalancerConfig read_type(ObjectReader& reader, const Config& config, Of<HaproxyBalancerConfig> /*type*/) {
  HaproxyBalancerConfig haproxy;
  if (auto socket = reader.string("socket", true)) {
    const bool tcp = socket->find('/') == std::string::npos && socket->find(':') != std::string::npos;
    haproxy.socket = tcp ? *socket : config_path(config, *socket).string();
  }
  if (auto backend = reader.string("backend", true, kBackendNameRule)) {
    if (!is_service_name(*backend)) reader.fail("backend", "must be " + std::string(kBackendNameRule));
    haproxy.backend = *backend;
  }
  if (auto file = reader.string("config_file", false)) haproxy.config_file = config_path(config, *file);
  if (auto check = reader.object("check", false)) {
    if (auto interval = check->integer("interval_ms", false, 10, 60000))
      haproxy.check.interval_ms = static_cast<int>(*interval);
    if (auto rise = check->integer("rise", false, 1, 100)) haproxy.check.rise = static_cast<int>(*rise);
    if (auto fall = check->integer("fall", false, 1, 100)) haproxy.check.fall = static_cast<int>(*fall);
    reader.adopt(check->finish());
  }
  return haproxy;
}

HcloudBalancerConfig read_type(ObjectReader& reader, const Config& config, Of<HcloudBalancerConfig> /*type*/) {
  HcloudBalancerConfig hcloud;
  if (!std::holds_alternative<HcloudProviderConfig>(config.provider)) {
    reader.fail("type",
                "'hcloud' needs provider.type 'hcloud' (a Hetzner load balancer targets Hetzner servers); use type "
                "'haproxy' with this provider");
  }
  hcloud.load_balancer = reader.string("load_balancer", true).value_or("");
  hcloud.use_private_ip = reader.boolean("use_private_ip", false).value_or(false);
  return hcloud;
}

FileStateConfig read_type(ObjectReader& /*reader*/, const Config& /*config*/, Of<FileStateConfig> /*type*/) {
  return {};
}

// "http://10.0.0.5:2379" or "https://etcd-1.internal:2379" (trailing '/' removed): a valid URL
// (util::check_url) of a scheme, a host, maybe a port, and nothing else. What is wrong, or nothing.
std::optional<std::string> endpoint_problem(std::string_view url) {
  constexpr std::string_view kExpected = "an etcd client URL, http://host:port or https://host:port";
  const std::string shown = "'" + util::printable(util::redact_url(url), 60) + "'";
  if (auto problem = url_problem(url, kExpected)) return problem;
  const auto parts = util::check_url(url).parts;
  if (parts.has_userinfo || !parts.path.empty() || parts.has_query || parts.has_fragment) {
    return shown + " is not an etcd client URL (http://host:port or https://host:port, no user, path or query)";
  }
  return std::nullopt;
}

// "/phoenix", "/teams/shop/phoenix": absolute, no empty segment, a plain alphabet.
bool is_key_prefix(std::string_view prefix) {
  if (prefix.size() < 2 || prefix.front() != '/' || prefix.back() == '/') return false;
  if (prefix.find("//") != std::string_view::npos) return false;
  return std::all_of(prefix.begin(), prefix.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '.' || c == '_' || c == '-';
  });
}

EtcdStateConfig read_type(ObjectReader& reader, const Config& /*config*/, Of<EtcdStateConfig> /*type*/) {
  constexpr std::size_t kMaxEndpoints = 16;
  EtcdStateConfig etcd;
  if (auto endpoints = reader.string_array("endpoints", true, false)) {
    for (auto endpoint : *endpoints) {
      while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
      if (auto problem = endpoint_problem(endpoint)) reader.fail("endpoints", *problem);
      etcd.endpoints.push_back(endpoint);
    }
    if (etcd.endpoints.size() > kMaxEndpoints) reader.fail("endpoints", "at most 16 endpoints");
  }
  if (auto prefix = reader.string("prefix", false)) {
    if (!is_key_prefix(*prefix)) {
      reader.fail("prefix", "must start with '/', not end with '/' and use only A-Z a-z 0-9 / . _ -");
    }
    etcd.prefix = *prefix;
  }
  if (auto ttl = reader.integer("lease_ttl_s", false, 2, 600)) etcd.lease_ttl = std::chrono::seconds(*ttl);
  if (auto timeout = reader.integer("timeout_ms", false, 50, 60000)) etcd.timeout = std::chrono::milliseconds(*timeout);
  // A keep-alive (every third of the TTL) must be able to try the next endpoint before the
  // lease runs out.
  if (etcd.timeout * 3 > etcd.lease_ttl) {
    reader.fail(reader.has("timeout_ms") ? "timeout_ms" : "lease_ttl_s",
                "timeout_ms (" + std::to_string(etcd.timeout.count()) + ") must be at most a third of lease_ttl_s (" +
                    std::to_string(etcd.lease_ttl.count()) + " s), so a lease is renewed in time");
  }
  return etcd;
}

// url_env or url_file, exactly one: never the URL itself (see SecretUrlSource).
SecretUrlSource read_secret_url(ObjectReader& reader, const Config& config) {
  SecretUrlSource source;
  if (reader.has("url")) {
    reader.fail("url",
                "a webhook URL is a credential and does not belong in the configuration: name an environment "
                "variable that holds it (url_env) or a file (url_file)");
    reader.accept_rest();
    return source;
  }
  if (auto name = reader.string("url_env", false)) {
    if (!is_environment_name(*name)) {
      reader.fail("url_env", "not an environment variable name (A-Z a-z 0-9 _, not starting with a digit)");
    }
    source.environment = *name;
  }
  if (auto file = reader.string("url_file", false)) source.file = config_path(config, *file);
  if (source.environment.empty() == !source.file.has_value()) {
    reader.fail(source.file ? "url_file" : "url_env", "give exactly one of url_env and url_file");
  }
  return source;
}

WebhookNotifierConfig read_type(ObjectReader& reader, const Config& config, Of<WebhookNotifierConfig> /*type*/) {
  return {.url = read_secret_url(reader, config)};
}

SlackNotifierConfig read_type(ObjectReader& reader, const Config& config, Of<SlackNotifierConfig> /*type*/) {
  return {.url = read_secret_url(reader, config)};
}

CommandNotifierConfig read_type(ObjectReader& reader, const Config& config, Of<CommandNotifierConfig> /*type*/) {
  CommandNotifierConfig command;
  if (auto argv = reader.string_array("command", true, false)) {
    command.command = *argv;
    // A relative program path is relative to the config file, like every other path.
    if (command.command[0].find('/') != std::string::npos) {
      command.command[0] = config_path(config, command.command[0]).string();
    }
  }
  return command;
}

// "local, hcloud, exec": the kType of every alternative of `Variant`.
template <class Variant, std::size_t... I>
std::string type_names(std::index_sequence<I...> /*alternatives*/) {
  std::vector<std::string> names{std::string(std::variant_alternative_t<I, Variant>::kType)...};
  return util::join(names, ", ");
}

// Reads the alternative of `Variant` whose kType is `type` into `out`; false when none is.
template <class Variant, std::size_t... I>
bool read_alternative(std::string_view type, ObjectReader& reader, const Config& config, Variant& out,
                      std::index_sequence<I...> /*alternatives*/) {
  const auto try_one = [&](auto tag) {
    using Alternative = typename decltype(tag)::type;
    if (type != Alternative::kType) return false;
    out = read_type(reader, config, tag);
    return true;
  };
  return (try_one(Of<std::variant_alternative_t<I, Variant>>{}) || ...);
}

// The "type" key of `reader` chooses the alternative of `Variant`; `what` names the seam.
template <class Variant>
void read_typed(ObjectReader& reader, const Config& config, Variant& out, const char* what) {
  constexpr auto alternatives = std::make_index_sequence<std::variant_size_v<Variant>>{};
  const auto type = reader.string("type", true);
  if (!type || read_alternative(*type, reader, config, out, alternatives)) return;
  reader.fail("type", std::string("unknown ") + what + " '" + util::printable(*type, 40) +
                          "' (known: " + type_names<Variant>(alternatives) + ")");
  reader.accept_rest();
}

void read_provider(ObjectReader& root, Config& config, Status& status) {
  auto reader = root.object("provider", true);
  if (!reader) return;
  read_typed(*reader, config, config.provider, "provider");
  if (status.ok()) status = reader->finish();
}

// One balancer object: the keys every type has, then the type's own.
BalancerConfig read_one_balancer(ObjectReader& reader, const Config& config) {
  BalancerConfig balancer;
  balancer.name = reader.string("name", false, kNameRule).value_or("");
  if (auto timeout = reader.integer("health_timeout_s", false, 1, kMaxSeconds)) {
    balancer.health_timeout = std::chrono::seconds(*timeout);
  }
  if (auto timeout = reader.integer("drain_timeout_s", false, 0, kMaxSeconds)) {
    balancer.drain_timeout = std::chrono::seconds(*timeout);
  }
  balancer.allow_foreign_servers = reader.boolean("allow_foreign_servers", false).value_or(false);
  read_typed(reader, config, balancer.kind, "balancer");
  return balancer;
}

// Names not given are "<type>-<n>", the nth balancer of that type; every name must be unique.
void name_balancers(ObjectReader& root, const std::string& key, std::vector<BalancerConfig>& balancers) {
  std::map<std::string, int> per_type;
  std::set<std::string> seen;
  for (auto& balancer : balancers) {
    const std::string type(balancer_type(balancer));
    const int nth = ++per_type[type];
    if (balancer.name.empty()) balancer.name = type + "-" + std::to_string(nth);
  }
  for (std::size_t i = 0; i < balancers.size(); ++i) {
    const auto& balancer = balancers[i];
    // The name's place: "balancer.name", or "balancers[1].name" in a list.
    const std::string path = key + (key == "balancers" ? "[" + std::to_string(i) + "]" : "") + ".name";
    if (!validate_label(balancer.name, "balancer name").ok()) {
      root.fail_at(path, "'" + util::printable(balancer.name, 40) + "' must be " + std::string(kNameRule));
      return;
    }
    if (!seen.insert(balancer.name).second) {
      root.fail_at(path, "two balancers are named '" + balancer.name + "'; give each a unique \"name\"");
      return;
    }
  }
}

// `balancer` (one object) or `balancers` (a list of them); exactly one of the two.
void read_balancer(ObjectReader& root, Config& config, Status& status) {
  constexpr std::size_t kMaxBalancers = 16;
  if (root.has("balancer") && root.has("balancers")) {
    root.fail("balancers", "give either \"balancer\" (one) or \"balancers\" (a list), not both");
    root.accept_rest();
    return;
  }
  if (root.has("balancers")) {
    auto entries = root.object_array("balancers", true);
    if (!entries) return;
    if (entries->empty()) root.fail("balancers", "needs at least one balancer");
    if (entries->size() > kMaxBalancers) root.fail("balancers", "at most 16 balancers");
    for (auto& reader : *entries) {
      config.balancers.push_back(read_one_balancer(reader, config));
      const auto entry_status = reader.finish();
      if (!entry_status.ok() && status.ok()) status = entry_status;
    }
  } else {
    auto reader = root.object("balancer", true);
    if (!reader) return;
    config.balancers.push_back(read_one_balancer(*reader, config));
    if (status.ok()) status = reader->finish();
  }
  if (config.balancers.empty()) return;
  name_balancers(root, root.has("balancers") ? "balancers" : "balancer", config.balancers);
  config.balancer = config.balancers.front();
}

void read_state(ObjectReader& root, Config& config, Status& status) {
  auto reader = root.object("state", false);
  if (!reader) return;  // the provider's own store
  read_typed(*reader, config, config.state, "state store");
  if (status.ok()) status = reader->finish();
}

void read_notify(ObjectReader& root, Config& config, Status& status) {
  constexpr std::size_t kMaxNotifiers = 16;
  auto entries = root.object_array("notify", false);
  if (!entries) return;
  if (entries->size() > kMaxNotifiers) root.fail("notify", "at most 16 notifiers");
  for (auto& reader : *entries) {
    NotifierConfig notifier;
    if (auto timeout = reader.integer("timeout_ms", false, 100, 60000)) {
      notifier.timeout = std::chrono::milliseconds(*timeout);
    }
    read_typed(reader, config, notifier.kind, "notifier");
    const auto entry_status = reader.finish();
    if (!entry_status.ok() && status.ok()) status = entry_status;
    config.notify.push_back(std::move(notifier));
  }
}

void read_smoke_test(ObjectReader& root, Config& config, Status& status) {
  auto reader = root.object("smoke_test", false);
  if (!reader) {
    config.smoke_test.checks = {SmokeCheck{"health", "/health", 200, "", std::chrono::milliseconds(5000)}};
    return;
  }
  if (auto timeout = reader->integer("timeout_s", false, 1, kMaxSeconds))
    config.smoke_test.timeout = std::chrono::seconds(*timeout);
  if (auto checks = reader->object_array("checks", true)) {
    if (checks->empty()) reader->fail("checks", "needs at least one check");
    for (auto& check_reader : *checks) {
      SmokeCheck check;
      check.name = check_reader.string("name", true).value_or("");
      check.path = check_reader.string("path", true).value_or("/");
      if (check.path.empty() || check.path.front() != '/') {
        check_reader.fail("path", "must start with '/'");
      } else if (auto problem = util::check_url_path(check.path)) {
        check_reader.fail("path", "'" + util::printable(util::redact_url(check.path), 80) +
                                      "' is not a valid URL path: " + problem->describe() + "; expected e.g. /health");
      }
      check.expect_status = static_cast<int>(check_reader.integer("expect_status", false, 100, 599).value_or(200));
      check.expect_body = check_reader.string("expect_body", false).value_or("");
      if (auto timeout = check_reader.integer("timeout_ms", false, 1, kMaxSeconds * 1000)) {
        check.timeout = std::chrono::milliseconds(*timeout);
      }
      const auto check_status = check_reader.finish();
      if (!check_status.ok() && status.ok()) status = check_status;
      config.smoke_test.checks.push_back(check);
    }
  }
  if (status.ok()) status = reader->finish();
}

void read_watch(ObjectReader& root, Config& config, Status& status) {
  auto reader = root.object("watch", false);
  if (!reader) return;
  auto& thresholds = config.watch.thresholds;
  if (auto interval = reader->integer("interval_ms", false, 100, 60000)) {
    thresholds.interval = std::chrono::milliseconds(*interval);
  }
  if (auto window = reader->integer("window_s", false, 1, 3600)) thresholds.window = std::chrono::seconds(*window);
  if (auto minimum = reader->integer("min_requests", false, 1, 1000000000)) thresholds.min_requests = *minimum;
  if (auto ratio = reader->number("max_5xx_ratio", false, 0.0, 1.0)) thresholds.max_5xx_ratio = *ratio;
  if (auto down = reader->integer("max_down_members", false, 0, 1000))
    thresholds.max_down_members = static_cast<int>(*down);
  if (auto failures = reader->integer("check_failures", false, 1, 100)) {
    thresholds.check_failures = static_cast<int>(*failures);
  }
  if (auto checks = reader->object_array("checks", false)) {
    for (auto& check_reader : *checks) {
      WatchCheck check;
      check.check.name = check_reader.string("name", true).value_or("");
      if (auto url = check_reader.string("url", true)) {
        if (auto problem = url_problem(*url, "the public frontend, e.g. https://shop.example/health")) {
          check_reader.fail("url", *problem);
        }
        check.url = *url;
      }
      check.check.expect_status =
          static_cast<int>(check_reader.integer("expect_status", false, 100, 599).value_or(200));
      check.check.expect_body = check_reader.string("expect_body", false).value_or("");
      if (auto timeout = check_reader.integer("timeout_ms", false, 1, 60000)) {
        check.check.timeout = std::chrono::milliseconds(*timeout);
      }
      reader->adopt(check_reader.finish());
      config.watch.checks.push_back(check);
    }
  }
  if (status.ok()) status = reader->finish();
}

// retention: keep, hot, keep_good, and the tiers (running, off, cold) whose sum is keep.
void read_retention(ObjectReader& retention, Config& config) {
  const auto keep = retention.integer("keep", false, 0, 1000);
  if (keep) config.retention_keep = static_cast<int>(*keep);
  if (auto hot = retention.integer("hot", false, 0, 10)) config.retention_hot = static_cast<int>(*hot);
  if (auto good = retention.integer("keep_good", false, 0, 1000)) config.retention_keep_good = static_cast<int>(*good);
  if (!retention.has("running") && !retention.has("off") && !retention.has("cold")) return;
  TierCounts tiers;
  tiers.running = static_cast<int>(retention.integer("running", false, 0, 1000).value_or(0));
  tiers.off = static_cast<int>(retention.integer("off", false, 0, 1000).value_or(0));
  tiers.cold = static_cast<int>(retention.integer("cold", false, 0, 1000).value_or(0));
  if (keep && *keep != tiers.total()) {
    retention.fail("keep", "is " + std::to_string(*keep) + " but retention.running + off + cold is " +
                               std::to_string(tiers.total()) +
                               "; with tiers, leave keep out (it is their sum) or make them agree");
    return;
  }
  config.retention_keep = tiers.total();
  config.retention_tiers = tiers;
}

void read_small_sections(ObjectReader& root, Config& config, Status& status) {
  if (auto pool = root.object("pool", false)) {
    if (auto size = pool->integer("size", false, 1, kMaxPoolSize)) config.pool_size = static_cast<int>(*size);
    if (status.ok()) status = pool->finish();
  }
  if (auto retention = root.object("retention", false)) {
    read_retention(*retention, config);
    if (status.ok()) status = retention->finish();
  }
  if (auto history = root.object("history", false)) {
    if (auto keep = history->integer("keep", false, 10, 10000000))
      config.history_keep = static_cast<std::size_t>(*keep);
    if (status.ok()) status = history->finish();
  }
  if (auto lock = root.object("lock", false)) {
    if (auto stale = lock->integer("stale_after_s", false, 1, 30 * kMaxSeconds)) {
      config.lock_stale_after = std::chrono::seconds(*stale);
    }
    if (status.ok()) status = lock->finish();
  }
}

}  // namespace

Result<Config> parse_config(std::string_view text, const fs::path& file) {
  const std::string origin = file.string();
  auto document = util::parse_json(text, origin);
  if (!document) return document.error();
  if (!cJSON_IsObject(document->get())) {
    return Error{ErrorKind::invalid,
                 origin + ": expected a JSON object at the top, got " + util::json_type_name(document->get())};
  }
  Config config;
  config.file = file;
  config.directory = fs::absolute(file).parent_path();
  config.text = std::string(text);
  const Source source{origin, text};
  ObjectReader root(source, document->get(), "");
  Status status;
  if (auto service = root.string("service", true, kNameRule)) {
    if (!is_service_name(*service)) root.fail("service", "must be " + std::string(kNameRule));
    config.service = *service;
  }
  read_small_sections(root, config, status);
  read_provider(root, config, status);
  read_smoke_test(root, config, status);
  read_watch(root, config, status);
  read_balancer(root, config, status);
  read_state(root, config, status);
  read_notify(root, config, status);
  const auto root_status = root.finish();
  if (!root_status.ok()) return root_status.error();
  if (!status.ok()) return status.error();
  return config;
}

Result<Config> load_config(const fs::path& file) {
  auto text = util::read_file(file, kMaxConfigBytes);
  if (!text) {
    // Where the file is not there, the way on is another one; where it is, the file is what to fix.
    std::error_code ec;
    const bool there = fs::exists(file, ec);
    return Error{ErrorKind::invalid,
                 text.error().message + (there ? std::string() : " (pass --config FILE or set PHOENIX_CONFIG)")};
  }
  return parse_config(*text, file);
}

std::string_view balancer_type(const BalancerConfig& balancer) {
  return std::visit([](const auto& kind) { return std::remove_cvref_t<decltype(kind)>::kType; }, balancer.kind);
}

std::chrono::seconds longest_run(const Config& config) {
  const auto creating = std::visit(
      [](const auto& provider) -> std::chrono::seconds {
        using Kind = std::remove_cvref_t<decltype(provider)>;
        if constexpr (std::is_same_v<Kind, LocalProviderConfig>) return provider.start_timeout;
        if constexpr (std::is_same_v<Kind, HcloudProviderConfig>) return provider.create_timeout;
        if constexpr (std::is_same_v<Kind, ExecProviderConfig>) return provider.timeout;
      },
      config.provider);
  return creating + config.smoke_test.timeout + std::chrono::minutes(1);
}

Error error_at(const Config& config, std::string_view key_path, const std::string& message) {
  if (config.file.empty()) return {ErrorKind::invalid, message};
  return Source{config.file.string(), config.text}.error_at(key_path, message);
}

fs::path choose_config_file(const std::optional<std::string>& option, const std::optional<std::string>& environment) {
  if (option && !option->empty()) return *option;
  if (environment && !environment->empty()) return *environment;
  return "phoenix.json";
}

}  // namespace phoenix::config
