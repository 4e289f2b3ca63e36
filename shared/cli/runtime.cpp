#include "shared/cli/runtime.hpp"

#include <unistd.h>

#include <cstdlib>

#include "shared/balancers/haproxy_balancer.hpp"
#include "shared/ci/ci_context.hpp"
#include "shared/hcloud/api.hpp"
#include "shared/hcloud/balancer.hpp"
#include "shared/hcloud/provider.hpp"
#include "shared/hcloud/state_store.hpp"
#include "shared/http/curl_http_client.hpp"
#include "shared/providers/exec_provider.hpp"
#include "shared/providers/file_state_store.hpp"
#include "shared/providers/local_provider.hpp"
#include "shared/util/files.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::cli {

namespace {
constexpr std::size_t kMaxTokenFileBytes = 64 * 1024;
constexpr std::size_t kMaxUserDataBytes = 32 * 1024;  // the Hetzner Cloud API's own limit for user_data
}  // namespace

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return "unknown-host";
  return buffer;
}

Result<std::string> hcloud_token(const std::optional<std::filesystem::path>& token_file) {
  std::string token;
  std::string origin = "HCLOUD_TOKEN";
  if (const char* from_environment = std::getenv("HCLOUD_TOKEN");
      from_environment != nullptr && *from_environment != '\0') {
    token = from_environment;
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

Runtime::~Runtime() = default;

Status Runtime::wire_provider(util::Clock& clock, util::Reporter& reporter) {
  const config::Config& cfg = config_;
  if (const auto* local = std::get_if<config::LocalProviderConfig>(&cfg.provider)) {
    providers::LocalProviderSettings settings{cfg.service,    local->state_dir,     local->artifact,
                                              local->command, local->start_timeout, local->environment};
    provider_ = std::make_unique<providers::LocalProvider>(settings, clock, reporter);
    state_ = std::make_unique<providers::FileStateStore>(local->state_dir / cfg.service, host_, clock);
    return {};
  }
  if (const auto* exec = std::get_if<config::ExecProviderConfig>(&cfg.provider)) {
    providers::ExecProviderSettings settings{cfg.service, exec->command, exec->timeout, exec->supports_power};
    provider_ = std::make_unique<providers::ExecProvider>(settings);
    state_ = std::make_unique<providers::FileStateStore>(exec->state_dir / cfg.service, host_, clock);
    return {};
  }
  const auto& hcloud_config = std::get<config::HcloudProviderConfig>(cfg.provider);
  auto token = hcloud_token(hcloud_config.token_file);
  if (!token) return token.error();
  hcloud::RetryPolicy policy;
  policy.deadline = hcloud_config.api_timeout;
  policy.request_timeout = std::min<std::chrono::milliseconds>(std::chrono::seconds(30), policy.deadline / 2);
  hcloud_api_ = std::make_unique<hcloud::Api>(*http_, clock, reporter, hcloud_config.endpoint, *token, policy);
  hcloud::ProviderSettings settings;
  settings.service = cfg.service;
  settings.server_type = hcloud_config.server_type;
  settings.image = hcloud_config.image;
  settings.location = hcloud_config.location;
  settings.port = hcloud_config.port;
  settings.create_timeout = hcloud_config.create_timeout;
  if (hcloud_config.user_data_file) {
    auto text = util::read_file(*hcloud_config.user_data_file, kMaxUserDataBytes);
    if (!text) return text.error().context("reading provider.user_data_file");
    settings.user_data_template = *text;
  }
  provider_ = std::make_unique<hcloud::HcloudProvider>(*hcloud_api_, settings, reporter);
  state_ = std::make_unique<hcloud::HcloudStateStore>(
      *hcloud_api_, cfg.service, host_, clock,
      std::make_unique<providers::FileStateStore>(hcloud_config.state_dir / cfg.service, host_, clock));
  return {};
}

Status Runtime::wire_balancer() {
  const config::Config& cfg = config_;
  if (const auto* haproxy = std::get_if<config::HaproxyBalancerConfig>(&cfg.balancer.kind)) {
    haproxy_channel_ = std::make_unique<haproxy::SocketRuntimeChannel>(haproxy->socket, std::chrono::seconds(10));
    haproxy::HaproxySettings settings{haproxy->backend, haproxy->check.interval_ms, haproxy->check.rise,
                                      haproxy->check.fall, haproxy->config_file};
    balancer_ = std::make_unique<haproxy::HaproxyBalancer>(*haproxy_channel_, settings);
    return {};
  }
  const auto& hcloud_config = std::get<config::HcloudBalancerConfig>(cfg.balancer.kind);
  if (!hcloud_api_) {
    return Error{ErrorKind::invalid, cfg.file.string() +
                                         ": balancer.type 'hcloud' needs provider.type 'hcloud' (a Hetzner load "
                                         "balancer targets Hetzner servers)"};
  }
  hcloud::BalancerSettings settings;
  settings.service = cfg.service;
  settings.load_balancer = hcloud_config.load_balancer;
  settings.use_private_ip = hcloud_config.use_private_ip;
  balancer_ = std::make_unique<hcloud::HcloudBalancer>(*hcloud_api_, settings);
  return {};
}

Result<std::unique_ptr<Runtime>> Runtime::create(config::Config config, util::Clock& clock, util::Reporter& reporter) {
  std::unique_ptr<Runtime> runtime(new Runtime());
  runtime->config_ = std::move(config);
  runtime->host_ = host_name();
  runtime->http_ = std::make_unique<http::CurlHttpClient>();
  PHX_TRY(runtime->wire_provider(clock, reporter));
  PHX_TRY(runtime->wire_balancer());

  const auto environment = ci::current_environment();
  const auto ci_context = ci::read_ci_context(environment);
  ops::Identity identity;
  identity.host = runtime->host_;
  identity.pid = static_cast<long>(::getpid());
  identity.user = ci_context.trigger_user;
  identity.job = ci_context.job;
  identity.revision = ci_context.revision;
  runtime->services_.reset(new ops::Services{runtime->config_, *runtime->provider_, *runtime->balancer_,
                                             *runtime->state_, *runtime->http_, clock, reporter, identity,
                                             std::nullopt});
  if (const auto found = environment.find("PHOENIX_TEST_KILL_AT_STEP"); found != environment.end()) {
    if (auto step = util::parse_int(found->second)) runtime->services_->kill_before_step = static_cast<int>(*step);
  }
  return runtime;
}

}  // namespace phoenix::cli
