#pragma once
// Services wired entirely to fakes, for driving operations in unit tests.

#include <memory>

#include "fakes/fake_balancer.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/fake_http_client.hpp"
#include "fakes/fake_notifier.hpp"
#include "fakes/fake_provider.hpp"
#include "fakes/fake_state_store.hpp"
#include "fakes/recording_reporter.hpp"
#include "shared/config/config.hpp"
#include "shared/ops/services.hpp"

namespace phoenix::fakes {

// The watch the ops tests judge with: a sample a second over a 5 s window, at least 20
// requests, at most 5 % 5xx, no member down.
inline WatchThresholds test_watch_thresholds() {
  return {.interval = std::chrono::milliseconds(1000),
          .window = std::chrono::seconds(5),
          .min_requests = 20,
          .max_5xx_ratio = 0.05,
          .max_down_members = 0};
}

struct FakeWorld {
  config::Config config = default_config();
  FakeProvider provider;
  FakeBalancer balancer;
  FakeStateStore state;
  // Every server answers every check with 200 and its pool's label.
  FakeHttpClient http{[this](const HttpRequest& request) -> Result<HttpResponse> { return answer(request); }};
  FakeClock clock;
  RecordingReporter reporter;
  FakeNotifier notifier;
  ops::Services services{
      .config = config,
      .provider = provider,
      .balancer = balancer,
      .state = state,
      .http = http,
      .clock = clock,
      .reporter = reporter,
      .notifier = notifier,
      .identity = {
          .host = "agent-1", .pid = 4242, .user = "ops-a", .job = "gocd web/7/deploy/1/switch", .revision = "abc123"}};
  std::function<Result<HttpResponse>(const HttpRequest&)> http_handler;

  static config::Config default_config() {
    config::Config config;
    config.service = "web";
    config.pool_size = 2;
    config.balancer.health_timeout = std::chrono::seconds(5);
    config.balancer.drain_timeout = std::chrono::seconds(2);
    config.smoke_test.timeout = std::chrono::seconds(3);
    config.smoke_test.checks = {SmokeCheck{"health", "/health", 200, "", std::chrono::milliseconds(1000)}};
    config.retention_hot = 0;        // tests of hot standby turn it on
    config.retention_keep_good = 0;  // tests of retention by verdict turn it on
    return config;
  }

  Result<HttpResponse> answer(const HttpRequest& request) {
    if (http_handler) return http_handler(request);
    return http_answer(200, "ok\n");
  }

  // Makes `label` live in the fake balancer with every server.
  void make_live(const std::string& label) {
    for (const auto& pool : provider.pools) {
      if (pool.label() != label) continue;
      for (const auto& server : pool.servers) balancer.put_live(member_name(label, server.id), server.address());
    }
  }
};

}  // namespace phoenix::fakes
