#include "shared/cli/runtime.hpp"

#include <unistd.h>

#include "shared/balancers/haproxy_balancer.hpp"
#include "shared/ci/ci_context.hpp"
#include "shared/http/curl_http_client.hpp"
#include "shared/providers/file_state_store.hpp"
#include "shared/providers/local_provider.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::cli {

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return "unknown-host";
  return buffer;
}

Runtime::~Runtime() = default;

Result<std::unique_ptr<Runtime>> Runtime::create(config::Config config, util::Clock& clock, util::Reporter& reporter) {
  std::unique_ptr<Runtime> runtime(new Runtime());
  runtime->config_ = std::move(config);
  const config::Config& cfg = runtime->config_;
  runtime->http_ = std::make_unique<http::CurlHttpClient>();

  std::filesystem::path state_dir;
  if (const auto* local = std::get_if<config::LocalProviderConfig>(&cfg.provider)) {
    providers::LocalProviderSettings settings{cfg.service, local->state_dir, local->artifact, local->command,
                                              local->start_timeout};
    runtime->provider_ = std::make_unique<providers::LocalProvider>(settings, clock, reporter);
    state_dir = local->state_dir;
  } else {
    return Error{ErrorKind::invalid, cfg.file.string() + ": provider type '" + config::provider_type(cfg.provider) +
                                         "' is not available in this build"};
  }

  if (const auto* haproxy = std::get_if<config::HaproxyBalancerConfig>(&cfg.balancer.kind)) {
    auto channel = std::make_shared<haproxy::SocketRuntimeChannel>(haproxy->socket, std::chrono::seconds(10));
    haproxy::HaproxySettings settings{haproxy->backend, haproxy->check.interval_ms, haproxy->check.rise,
                                      haproxy->check.fall, haproxy->config_file};
    runtime->balancer_ = std::make_unique<haproxy::HaproxyBalancer>(*channel, settings);
    runtime->balancer_parts_ = channel;
  } else {
    return Error{ErrorKind::invalid, cfg.file.string() + ": balancer type '" +
                                         config::balancer_type(cfg.balancer.kind) + "' is not available in this build"};
  }

  runtime->state_ = std::make_unique<providers::FileStateStore>(state_dir / cfg.service, host_name(), clock);

  const auto environment = ci::current_environment();
  const auto ci_context = ci::read_ci_context(environment);
  ops::Identity identity;
  identity.host = host_name();
  identity.pid = static_cast<long>(::getpid());
  identity.user = ci_context.trigger_user;
  identity.job = ci_context.job;
  identity.revision = ci_context.revision;
  runtime->services_.reset(new ops::Services{cfg, *runtime->provider_, *runtime->balancer_, *runtime->state_,
                                             *runtime->http_, clock, reporter, identity, std::nullopt});
  if (const auto found = environment.find("PHOENIX_TEST_KILL_AT_STEP"); found != environment.end()) {
    if (auto step = util::parse_int(found->second)) runtime->services_->kill_before_step = static_cast<int>(*step);
  }
  return runtime;
}

}  // namespace phoenix::cli
