#include "shared/cli/runtime.hpp"

#include <unistd.h>

#include <algorithm>
#include <variant>

#include "shared/balancers/haproxy_balancer.hpp"
#include "shared/cli/state_directory.hpp"
#include "shared/etcd/etcd_state_store.hpp"
#include "shared/hcloud/api.hpp"
#include "shared/hcloud/balancer.hpp"
#include "shared/hcloud/provider.hpp"
#include "shared/hcloud/state_store.hpp"
#include "shared/http/curl_http_client.hpp"
#include "shared/notify/notifier_set.hpp"
#include "shared/providers/exec_provider.hpp"
#include "shared/providers/file_state_store.hpp"
#include "shared/providers/local_provider.hpp"
#include "shared/util/files.hpp"
#include "shared/util/interrupt.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/url.hpp"

namespace phoenix::cli {

namespace {

// std::visit with one lambda per alternative: a missing alternative does not compile.
template <class... Lambdas>
struct Overloaded : Lambdas... {
  using Lambdas::operator()...;
};
template <class... Lambdas>
Overloaded(Lambdas...) -> Overloaded<Lambdas...>;

constexpr std::size_t kMaxTokenFileBytes = 64 * 1024;
constexpr std::size_t kMaxUrlBytes = 4096;
// The part of a URL after its host is registered as a secret from this length on: shorter
// ones ("/", "/hook") name an endpoint rather than hold a credential.
constexpr std::size_t kMinSecretPath = 8;
constexpr std::size_t kMaxUserDataBytes = 32 * 1024;  // the Hetzner Cloud API's own limit for user_data

}  // namespace

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return "unknown-host";
  return buffer;
}

Result<std::string> hcloud_token(const ci::Environment& environment,
                                 const std::optional<std::filesystem::path>& token_file) {
  std::string token;
  std::string origin = "HCLOUD_TOKEN";
  if (const auto found = environment.find("HCLOUD_TOKEN"); found != environment.end() && !found->second.empty()) {
    token = found->second;
  } else if (!token_file) {
    return Error{ErrorKind::invalid, "no Hetzner Cloud token: set HCLOUD_TOKEN or provider.token_file"};
  } else {
    auto text = util::read_file(*token_file, kMaxTokenFileBytes);
    if (!text) return text.error().context("reading provider.token_file");
    origin = "provider.token_file " + token_file->string();
    std::vector<std::string> lines;
    for (const auto& line : util::split_lines(*text)) {
      if (!util::trim(line).empty()) lines.emplace_back(util::trim(line));
    }
    // All of it is secret, whatever is wrong with it: nothing of it may be printed.
    for (const auto& line : lines) util::register_secret(line);
    if (lines.empty()) return Error{ErrorKind::invalid, origin + " is empty"};
    if (lines.size() > 1) {
      return Error{ErrorKind::invalid, origin + " has " + std::to_string(lines.size()) +
                                           " lines; it must hold the token alone (the content is not shown)"};
    }
    token = lines.front();
  }
  util::register_secret(token);
  // A line break would inject HTTP headers; no character of the token is shown.
  PHX_TRY(util::check_token_characters(token, origin));
  return token;
}

namespace {

// Whether the configuration talks HTTP beyond smoke tests (which ask for themselves): the
// Hetzner API, etcd, webhook or Slack notifiers, watch checks. libcurl is then loaded before
// the command starts, so a missing one is one line and exit 2 before anything changes, never
// a failed check, a breach or an etcd "unavailable" in the middle of a switch.
bool talks_http(const config::Config& config) {
  const auto is_hcloud_balancer = [](const config::BalancerConfig& balancer) {
    return std::holds_alternative<config::HcloudBalancerConfig>(balancer.kind);
  };
  const auto is_http_notifier = [](const config::NotifierConfig& notifier) {
    return !std::holds_alternative<config::CommandNotifierConfig>(notifier.kind);
  };
  return std::holds_alternative<config::HcloudProviderConfig>(config.provider) ||
         std::holds_alternative<config::EtcdStateConfig>(config.state) ||
         std::any_of(config.balancers.begin(), config.balancers.end(), is_hcloud_balancer) ||
         std::any_of(config.notify.begin(), config.notify.end(), is_http_notifier) || !config.watch.checks.empty();
}

// "$CHAT_HOOK" or "file /etc/phoenix/chat-hook": where a notifier's URL comes from, for messages.
std::string url_origin(const config::SecretUrlSource& source) {
  return source.file ? "file " + source.file->string() : "$" + source.environment;
}

void register_url_secrets(const std::string& url) {
  util::register_secret(url);
  const auto scheme_end = url.find("://");
  const auto path_start = scheme_end == std::string::npos ? std::string::npos : url.find('/', scheme_end + 3);
  if (path_start != std::string::npos && url.size() - path_start >= kMinSecretPath) {
    util::register_secret(std::string_view(url).substr(path_start));
  }
}

}  // namespace

Result<std::string> notifier_url(const ci::Environment& environment, const config::SecretUrlSource& source) {
  const std::string origin = "the URL in " + url_origin(source);
  std::string url;
  if (source.file) {
    auto text = util::read_file(*source.file, kMaxUrlBytes);
    if (!text) return text.error().context("reading url_file");
    const auto lines = util::split_lines(*text);
    url = lines.empty() ? std::string() : std::string(util::trim(lines.front()));
  } else if (const auto found = environment.find(source.environment); found != environment.end()) {
    url = std::string(util::trim(found->second));
  }
  if (url.empty()) return Error{ErrorKind::invalid, origin + " is missing or empty"};
  register_url_secrets(url);
  // The problem names a position and never a part of the URL: all of it is a secret.
  if (const auto check = util::check_url(url); !check.ok()) {
    return Error{ErrorKind::invalid,
                 origin + " is not a valid URL: " + check.problem->describe() + " (the value is not shown)"};
  }
  return url;
}

Runtime::Runtime(ci::Environment environment, const GlobalOptions& global, RunHooks hooks)
    : environment_(std::move(environment)),
      hooks_(std::move(hooks)),
      clock_(std::make_unique<util::SystemClock>()),
      host_(host_name()) {
  const util::ConsoleStyle style{global.verbosity, util::color_wanted(stderr, global.no_color)};
  reporter_ = std::make_unique<util::ConsoleReporter>(stderr, style, *clock_);
}

Runtime::~Runtime() = default;

std::optional<std::string> Runtime::variable(const std::string& name) const {
  const auto found = environment_.find(name);
  if (found == environment_.end() || found->second.empty()) return std::nullopt;
  return found->second;
}

HttpClient& Runtime::http() {
  if (!http_) http_ = std::make_unique<http::CurlHttpClient>();
  return *http_;
}

Result<ci::Credentials> Runtime::ci_credentials(ci::System system) const {
  const auto get = [&](const char* name) { return variable(name).value_or(""); };
  if (system == ci::System::gocd) {
    ci::Credentials credentials{get("GOCD_TOKEN"), get("GOCD_USER"), get("GOCD_PASSWORD")};
    if (credentials.bearer_token.empty() && (credentials.user.empty() || credentials.password.empty())) {
      return Error{ErrorKind::invalid, "no GoCD credentials: set GOCD_TOKEN, or GOCD_USER and GOCD_PASSWORD"};
    }
    return credentials;
  }
  ci::Credentials credentials{"", get("JENKINS_USER"), get("JENKINS_TOKEN")};
  if (credentials.user.empty() || credentials.password.empty()) {
    return Error{ErrorKind::invalid, "no Jenkins credentials: set JENKINS_USER and JENKINS_TOKEN (an API token)"};
  }
  return credentials;
}

Status Runtime::wire_provider() {
  const config::Config& cfg = config_;
  auto& clock = *clock_;
  auto& reporter = *reporter_;
  const auto file_store = [&](const std::filesystem::path& state_dir) {
    return std::make_unique<providers::FileStateStore>(state_dir / cfg.service, host_, clock, cfg.history_keep,
                                                       &reporter);
  };
  return std::visit(
      Overloaded{
          [&](const config::LocalProviderConfig& local) -> Status {
            provider_ = std::make_unique<providers::LocalProvider>(
                providers::LocalProviderSettings{.service = cfg.service,
                                                 .state_dir = local.state_dir,
                                                 .artifact = local.artifact,
                                                 .command = local.command,
                                                 .start_timeout = local.start_timeout,
                                                 .environment = local.environment,
                                                 .stop_requested = util::interrupt_requested},
                clock, reporter);
            state_ = file_store(local.state_dir);
            return {};
          },
          [&](const config::ExecProviderConfig& exec) -> Status {
            provider_ = std::make_unique<providers::ExecProvider>(
                providers::ExecProviderSettings{.service = cfg.service,
                                                .command = exec.command,
                                                .timeout = exec.timeout,
                                                .supports_power = exec.supports_power,
                                                .supports_archive = exec.supports_archive,
                                                .stop_signal = util::interrupt_signal,
                                                .stop_grace = exec.stop_grace});
            state_ = file_store(exec.state_dir);
            return {};
          },
          [&](const config::HcloudProviderConfig& hcloud_config) -> Status {
            PHX_TRY_ASSIGN(const std::string token, hcloud_token(environment_, hcloud_config.token_file));
            hcloud::RetryPolicy policy;
            policy.deadline = hcloud_config.api_timeout;
            policy.request_timeout = std::min<std::chrono::milliseconds>(std::chrono::seconds(30), policy.deadline / 2);
            hcloud_api_ = std::make_unique<hcloud::Api>(http(), clock, reporter, hcloud_config.endpoint, token, policy);
            hcloud::ProviderSettings settings{.service = cfg.service,
                                              .server_type = hcloud_config.server_type,
                                              .image = hcloud_config.image,
                                              .location = hcloud_config.location,
                                              .port = hcloud_config.port,
                                              .create_timeout = hcloud_config.create_timeout,
                                              .stop_requested = util::interrupt_requested};
            if (hcloud_config.user_data_file) {
              auto text = util::read_file(*hcloud_config.user_data_file, kMaxUserDataBytes);
              if (!text) return text.error().context("reading provider.user_data_file");
              settings.user_data_template = *text;
            }
            provider_ = std::make_unique<hcloud::HcloudProvider>(*hcloud_api_, settings, reporter);
            state_ = std::make_unique<hcloud::HcloudStateStore>(*hcloud_api_, cfg.service, host_, clock,
                                                                file_store(hcloud_config.state_dir));
            return {};
          },
      },
      cfg.provider);
}

// Every entry of `balancers` (or the one `balancer`), in order; each has its own connection.
Status Runtime::wire_balancers() {
  const config::Config& cfg = config_;
  for (const auto& entry : cfg.balancers) {
    auto balancer = std::visit(
        Overloaded{
            [&](const config::HaproxyBalancerConfig& haproxy) -> Result<std::unique_ptr<Balancer>> {
              auto& channel = haproxy_channels_.emplace_back(
                  std::make_unique<haproxy::SocketRuntimeChannel>(haproxy.socket, std::chrono::seconds(10)));
              return std::unique_ptr<Balancer>(std::make_unique<haproxy::HaproxyBalancer>(
                  *channel, haproxy::HaproxySettings{.backend = haproxy.backend,
                                                     .check_interval_ms = haproxy.check.interval_ms,
                                                     .rise = haproxy.check.rise,
                                                     .fall = haproxy.check.fall,
                                                     .config_file = haproxy.config_file}));
            },
            [&](const config::HcloudBalancerConfig& hcloud_config) -> Result<std::unique_ptr<Balancer>> {
              // Reading the configuration refuses this, at the line of the balancer's type; a
              // Config built otherwise must still not reach a missing API.
              if (!hcloud_api_) {
                return config::error_at(cfg, "balancer.type", "balancer.type 'hcloud' needs provider.type 'hcloud'");
              }
              return std::unique_ptr<Balancer>(std::make_unique<hcloud::HcloudBalancer>(
                  *hcloud_api_, hcloud::BalancerSettings{.service = cfg.service,
                                                         .load_balancer = hcloud_config.load_balancer,
                                                         .use_private_ip = hcloud_config.use_private_ip}));
            },
        },
        entry.kind);
    if (!balancer) return balancer.error();
    balancers_.push_back(std::move(*balancer));
  }
  if (balancers_.empty()) return Error{ErrorKind::invalid, cfg.file.string() + ": no balancer is configured"};
  return {};
}

// `state: {"type": "file"}` (the default) keeps the store wire_provider chose: a directory
// under the provider's state_dir, or placement groups for hcloud.
Status Runtime::wire_state() {
  const config::Config& cfg = config_;
  return std::visit(Overloaded{
                        [&](const config::FileStateConfig& /*file*/) -> Status { return {}; },
                        [&](const config::EtcdStateConfig& etcd_config) -> Status {
                          state_ = std::make_unique<etcd::EtcdStateStore>(
                              etcd::EtcdSettings{.endpoints = etcd_config.endpoints,
                                                 .prefix = etcd_config.prefix,
                                                 .service = cfg.service,
                                                 .lease_ttl = etcd_config.lease_ttl,
                                                 .timeout = etcd_config.timeout,
                                                 .history_keep = cfg.history_keep},
                              http(), [] { return std::make_unique<http::CurlHttpClient>(); }, host_, *clock_);
                          return {};
                        },
                    },
                    cfg.state);
}

// Every notify[] entry. One that cannot work (its URL is missing) does not stop the command:
// it is reported with the first notification, like a notifier that fails.
void Runtime::wire_notifiers() {
  notifier_ = std::make_unique<notify::NotifierSet>(http(), *clock_);
  for (const auto& entry : config_.notify) {
    const auto http_target = [&](const char* type,
                                 const config::SecretUrlSource& source) -> std::optional<notify::HttpTarget> {
      const std::string name = std::string(type) + " (URL from " + url_origin(source) + ")";
      auto url = notifier_url(environment_, source);
      if (!url) {
        notifier_->add_unusable(name, url.error());
        return std::nullopt;
      }
      return notify::HttpTarget{.name = name, .url = *url, .timeout = entry.timeout};
    };
    std::visit(
        Overloaded{
            [&](const config::WebhookNotifierConfig& webhook) {
              if (auto target = http_target("webhook", webhook.url)) {
                notifier_->add(std::make_unique<notify::WebhookNotifier>(http(), *clock_, *target));
              }
            },
            [&](const config::SlackNotifierConfig& slack) {
              if (auto target = http_target("slack", slack.url)) {
                notifier_->add(std::make_unique<notify::SlackNotifier>(http(), *clock_, *target));
              }
            },
            [&](const config::CommandNotifierConfig& command) {
              const std::string name =
                  "command (" + std::filesystem::path(command.command.front()).filename().string() + ")";
              notifier_->add(std::make_unique<notify::CommandNotifier>(
                  *clock_, notify::CommandTarget{.name = name, .argv = command.command, .timeout = entry.timeout}));
            },
        },
        entry.kind);
  }
}

std::vector<ops::NamedBalancer> Runtime::named_balancers() const {
  std::vector<ops::NamedBalancer> named;
  if (balancers_.size() < 2) return named;  // the one balancer needs no name
  for (std::size_t i = 0; i < balancers_.size(); ++i) named.push_back({config_.balancers[i].name, balancers_[i].get()});
  return named;
}

Status Runtime::wire(config::Config config) {
  config_ = std::move(config);
  if (talks_http(config_)) PHX_TRY(http().usable());
  PHX_TRY(wire_provider());
  PHX_TRY(wire_balancers());
  PHX_TRY(wire_state());
  wire_notifiers();
  const auto ci_context = ci::read_ci_context(environment_);
  services_ = std::make_unique<ops::Services>(ops::Services{
      .config = config_,
      .provider = *provider_,
      .balancer = *balancers_.front(),
      .balancers = named_balancers(),
      .state = *state_,
      .http = http(),
      .clock = *clock_,
      .reporter = *reporter_,
      .notifier = *notifier_,
      .identity = ops::Identity{.host = host_,
                                .pid = static_cast<long>(::getpid()),
                                .user = ci_context.trigger_user,
                                .job = ci_context.job,
                                .revision = ci_context.revision},
      .stop_requested = util::interrupt_requested,
      .before_switch_step = hooks_.before_switch_step,
      .while_waking = hooks_.while_waking,
      .state_writable = [this]() -> Status {
        if (!state_directory_refuses_lock(config_)) return {};
        // Kind failed: the program's last line adds which directory, its key and the fix.
        return Error{ErrorKind::failed, "the deploy lock could not be created, so nothing would be changed"};
      },
  });
  return {};
}

Result<ops::Services*> Runtime::services(const std::optional<std::string>& config_option) {
  if (!services_) {
    PHX_TRY_ASSIGN(auto config,
                   config::load_config(config::choose_config_file(config_option, variable("PHOENIX_CONFIG"))));
    PHX_TRY(wire(std::move(config)));
  }
  return services_.get();
}

}  // namespace phoenix::cli
