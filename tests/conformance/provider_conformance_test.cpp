// The Provider contract (shared/core/provider.hpp), one set of cases run against every
// implementation: LocalProvider (real processes on loopback), ExecProvider with the shipped
// example (pipeline-configs/exec-example/pool.py), HcloudProvider against the Hetzner Cloud
// contract fake (phoenix-hcloud-fake, whose servers are real processes), and the in-memory
// FakeProvider. A new provider gets every case by adding its rig to the list below.

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "conformance/conformance.hpp"
#include "fakes/fake_provider.hpp"
#include "fakes/recording_reporter.hpp"
#include "shared/hcloud/api.hpp"
#include "shared/hcloud/labels.hpp"
#include "shared/hcloud/provider.hpp"
#include "shared/http/curl_http_client.hpp"
#include "shared/providers/exec_provider.hpp"
#include "shared/providers/local_provider.hpp"
#include "shared/util/clock.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using phoenix::conformance::eventually;

namespace provider_conformance {

// What a case needs from the world around a provider.
class ProviderRig {
 public:
  virtual ~ProviderRig() = default;
  virtual Provider& provider() = 0;
  // True when servers are real processes: they answer HTTP, and stop when powered off or
  // destroyed. FakeProvider's servers are addresses only.
  virtual bool runs_servers() const = 0;
  // What the provider keeps of a free-text metadata field (the verdict reason).
  virtual std::string kept_text(const std::string& text) const { return text; }
};

class LocalRig final : public ProviderRig {
 public:
  LocalRig()
      : provider_(providers::LocalProviderSettings{.service = "web",
                                                   .state_dir = dir_.path() / "state",
                                                   .artifact = testing::binary_directory() / "phoenix-sample-app",
                                                   .command = {"{artifact}", "--listen", "{host}:{port}", "--release",
                                                               "{label}"},
                                                   .start_timeout = std::chrono::seconds(20)},
                  clock_, reporter_) {}
  Provider& provider() override { return provider_; }
  bool runs_servers() const override { return true; }

 private:
  testing::TempDir dir_;  // its destructor stops every server recorded under it, by pid
  util::SystemClock clock_;
  fakes::RecordingReporter reporter_;
  providers::LocalProvider provider_;
};

class ExecRig final : public ProviderRig {
 public:
  ExecRig()
      : provider_(providers::ExecProviderSettings{
            .service = "web",
            .command = {(testing::source_directory() / "pipeline-configs" / "exec-example" / "pool.py").string(),
                        "--state", (dir_.path() / "exec-state").string(), "--artifact",
                        (testing::binary_directory() / "phoenix-sample-app").string()},
            .timeout = std::chrono::seconds(60),
            .supports_power = true,
            .supports_archive = true}) {}
  Provider& provider() override { return provider_; }
  bool runs_servers() const override { return true; }

 private:
  testing::TempDir dir_;  // its destructor stops every server the example recorded, by pid
  providers::ExecProvider provider_;
};

class HcloudRig final : public ProviderRig {
 public:
  HcloudRig()
      : fake_(dir_.path(), testing::HcloudFake::Options{.action_ms = 10}),
        api_(http_, clock_, reporter_, fake_.endpoint(), fake_.token(), policy()),
        provider_(api_,
                  hcloud::ProviderSettings{.service = "web",
                                           .server_type = "cx22",
                                           .image = "ubuntu-24.04",
                                           .location = "nbg1",
                                           .user_data_template = "#cloud-config\n# release {label}\n",
                                           .port = fake_.app_port(),
                                           .create_timeout = std::chrono::seconds(20)},
                  reporter_) {}
  Provider& provider() override { return provider_; }
  bool runs_servers() const override { return true; }
  // Metadata lives in server labels, whose values allow 63 characters of [A-Za-z0-9._-]
  // (shared/hcloud/labels.hpp: "free text is what survived").
  std::string kept_text(const std::string& text) const override { return hcloud::label_value(text); }

 private:
  static hcloud::RetryPolicy policy() {
    hcloud::RetryPolicy policy;
    policy.deadline = std::chrono::seconds(20);
    policy.request_timeout = std::chrono::seconds(10);
    return policy;
  }

  testing::TempDir dir_;
  testing::HcloudFake fake_;  // stops every server process it started when it goes
  http::CurlHttpClient http_;
  util::SystemClock clock_;
  fakes::RecordingReporter reporter_;
  hcloud::Api api_;
  hcloud::HcloudProvider provider_;
};

class FakeRig final : public ProviderRig {
 public:
  Provider& provider() override { return fake_; }
  bool runs_servers() const override { return false; }

 private:
  fakes::FakeProvider fake_;
};

// ---------------------------------------------------------------------------------------------

PoolSpec spec_for(const std::string& label, int size) {
  PoolSpec spec;
  spec.meta.label = label;
  spec.meta.created_at = conformance::wall_ms(std::chrono::system_clock::now() - std::chrono::minutes(3));
  spec.meta.revision = "4f2a9c1";
  spec.meta.triggered_by = "ops-a";
  spec.size = size;
  return spec;
}

Pool create(Provider& provider, const PoolSpec& spec) {
  auto pool = provider.create_pool(spec);
  if (!pool) FAIL("create_pool " << spec.meta.label << " failed: " << pool.error().message);
  return *pool;
}

std::vector<Pool> list(Provider& provider) {
  auto pools = provider.list_pools();
  if (!pools) FAIL("list_pools failed: " << pools.error().message);
  return *pools;
}

// The pool labelled `label` in list_pools(), which must be there exactly once.
Pool listed(Provider& provider, const std::string& label) {
  const auto pools = list(provider);
  const auto count = std::count_if(pools.begin(), pools.end(), [&](const Pool& pool) { return pool.label() == label; });
  if (count != 1) FAIL("list_pools shows pool " << label << " " << count << " times");
  return *find_pool(pools, label);
}

void check_metadata(const PoolMetadata& actual, const PoolMetadata& expected) {
  INFO("metadata of pool " << expected.label);
  CHECK(actual.label == expected.label);
  CHECK(actual.created_at == expected.created_at);
  CHECK(actual.revision == expected.revision);
  CHECK(actual.triggered_by == expected.triggered_by);
  CHECK(actual.smoke == expected.smoke);
  CHECK(actual.verdict == expected.verdict);
  CHECK(actual.verdict_reason == expected.verdict_reason);
  CHECK(actual.verdict_by == expected.verdict_by);
  CHECK(actual.verdict_at == expected.verdict_at);
}

std::vector<std::string> ids(const Pool& pool) {
  std::vector<std::string> out;
  for (const auto& server : pool.servers) out.push_back(server.id);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> addresses(const Pool& pool) {
  std::vector<std::string> out;
  for (const auto& server : pool.servers) out.push_back(server.address());
  std::sort(out.begin(), out.end());
  return out;
}

// What answers GET `path` on a server: the status (0: nothing answers) and the body.
std::pair<long, std::string> ask(const Server& server, const std::string& path) {
  return testing::http_get("http://" + server.address() + path);
}

// Every server of `pool` answers with its release; the provider may still be starting it.
void check_serving(const Pool& pool) {
  for (const auto& server : pool.servers) {
    INFO("server " << server.id << " at " << server.address());
    CHECK(eventually([&] { return ask(server, "/health").first == 200; }, std::chrono::seconds(10)));
    CHECK(ask(server, "/").second == pool.label() + "\n");
  }
}

void check_not_serving(const Pool& pool) {
  for (const auto& server : pool.servers) {
    INFO("server " << server.id << " at " << server.address());
    CHECK(ask(server, "/health").first == 0);
  }
}

#define CONFORMANCE_PROVIDER_RIGS LocalRig, ExecRig, HcloudRig, FakeRig

TEMPLATE_TEST_CASE("create_pool gives size servers with unique ids and addresses; list_pools shows it and its metadata",
                   "[provider]", CONFORMANCE_PROVIDER_RIGS) {
  TestType rig;
  Provider& provider = rig.provider();
  const auto spec = spec_for("20", 3);
  const Pool pool = create(provider, spec);

  CHECK(pool.label() == "20");
  CHECK(pool.complete);
  CHECK(pool.power == PowerState::on);
  check_metadata(pool.meta, spec.meta);
  REQUIRE(pool.servers.size() == 3);
  const auto server_ids = ids(pool);
  const auto server_addresses = addresses(pool);
  CHECK(std::set<std::string>(server_ids.begin(), server_ids.end()).size() == 3);
  CHECK(std::set<std::string>(server_addresses.begin(), server_addresses.end()).size() == 3);
  for (const auto& server : pool.servers) {
    INFO("server " << server.id);
    CHECK_FALSE(server.id.empty());
    CHECK(std::all_of(server.id.begin(), server.id.end(), util::is_name_char));
    CHECK_FALSE(server.host.empty());
    CHECK(server.port > 0);
    CHECK(server.port <= 65535);
  }
  if (rig.runs_servers()) check_serving(pool);

  const Pool shown = listed(provider, "20");
  check_metadata(shown.meta, spec.meta);
  CHECK(shown.complete);
  CHECK(shown.power == PowerState::on);
  CHECK(ids(shown) == server_ids);
  CHECK(addresses(shown) == server_addresses);
  for (const auto& server : shown.servers) CHECK(server.state == ServerState::running);
}

TEMPLATE_TEST_CASE("update_metadata replaces the verdicts, and list_pools shows them", "[provider]",
                   CONFORMANCE_PROVIDER_RIGS) {
  TestType rig;
  Provider& provider = rig.provider();
  const auto spec = spec_for("21", 1);
  create(provider, spec);

  PoolMetadata meta = spec.meta;
  meta.smoke = SmokeVerdict::passed;
  meta.verdict = LiveVerdict::bad;
  meta.verdict_reason = "error-rate-above-5-percent";
  meta.verdict_by = "ops-a";  // who gave the verdict and when (whole milliseconds: what labels keep)
  meta.verdict_at = WallTime(std::chrono::milliseconds(1795000000123LL));
  REQUIRE_OK(provider.update_metadata(meta));
  check_metadata(listed(provider, "21").meta, meta);

  meta.verdict = LiveVerdict::good;
  meta.verdict_reason.clear();
  meta.verdict_by.clear();  // a record without them, as one written before they were kept
  meta.verdict_at.reset();
  REQUIRE_OK(provider.update_metadata(meta));
  check_metadata(listed(provider, "21").meta, meta);

  // A reason as an operator writes it.
  meta.verdict = LiveVerdict::bad;
  meta.verdict_reason = "rolled back: 5xx on /checkout (ticket OPS-42)";
  REQUIRE_OK(provider.update_metadata(meta));
  const PoolMetadata shown = listed(provider, "21").meta;
  CHECK(shown.verdict == LiveVerdict::bad);
  CHECK(shown.verdict_reason == rig.kept_text(meta.verdict_reason));
}

TEMPLATE_TEST_CASE("create_pool again for a pool that exists creates no more servers", "[provider]",
                   CONFORMANCE_PROVIDER_RIGS) {
  TestType rig;
  Provider& provider = rig.provider();
  const auto spec = spec_for("22", 2);
  const Pool first = create(provider, spec);
  const Pool again = create(provider, spec);
  CHECK(ids(again) == ids(first));
  CHECK(addresses(again) == addresses(first));
  check_metadata(again.meta, spec.meta);

  const Pool shown = listed(provider, "22");
  CHECK(shown.servers.size() == 2);
  CHECK(ids(shown) == ids(first));
  if (rig.runs_servers()) check_serving(shown);
}

TEMPLATE_TEST_CASE("set_power stops and starts a pool's servers, keeping their ids and addresses", "[provider]",
                   CONFORMANCE_PROVIDER_RIGS) {
  TestType rig;
  Provider& provider = rig.provider();
  if (!provider.tiers().off) {
    // Documented: callers only power pools when tiers().off says so.
    WARN(provider.describe() << " has no power control; set_power is never called");
    return;
  }
  const Pool pool = create(provider, spec_for("23", 2));

  REQUIRE_OK(provider.set_power(pool, PowerState::off));
  Pool shown = listed(provider, "23");
  CHECK(shown.power == PowerState::off);
  for (const auto& server : shown.servers) CHECK(server.state == ServerState::stopped);
  CHECK(ids(shown) == ids(pool));
  CHECK(addresses(shown) == addresses(pool));
  if (rig.runs_servers()) check_not_serving(pool);

  REQUIRE_OK(provider.set_power(shown, PowerState::on));
  shown = listed(provider, "23");
  CHECK(shown.power == PowerState::on);
  CHECK(ids(shown) == ids(pool));
  CHECK(addresses(shown) == addresses(pool));
  if (rig.runs_servers()) check_serving(shown);
  shown = listed(provider, "23");
  for (const auto& server : shown.servers) CHECK(server.state == ServerState::running);
}

TEMPLATE_TEST_CASE("destroy_pool removes the pool and stops its servers; other pools stay and addresses stay unique",
                   "[provider]", CONFORMANCE_PROVIDER_RIGS) {
  TestType rig;
  Provider& provider = rig.provider();
  const Pool doomed = create(provider, spec_for("24", 2));
  const Pool kept = create(provider, spec_for("25", 1));

  REQUIRE_OK(provider.destroy_pool(doomed));
  const auto pools = list(provider);
  CHECK(find_pool(pools, "24") == nullptr);
  REQUIRE(find_pool(pools, "25") != nullptr);
  CHECK(addresses(*find_pool(pools, "25")) == addresses(kept));
  if (rig.runs_servers()) {
    check_not_serving(doomed);
    check_serving(kept);
  }

  // A pool created after a destroy gets addresses of its own, never those of a pool that lives.
  const Pool next = create(provider, spec_for("26", 2));
  for (const auto& address : addresses(next)) {
    INFO("address " << address);
    const auto others = addresses(kept);
    CHECK(std::find(others.begin(), others.end(), address) == others.end());
  }
  if (rig.runs_servers()) check_serving(next);
}

TEMPLATE_TEST_CASE(
    "the cold tier is what the provider declares: archive keeps an image and drops the servers, "
    "restore brings them back, destroy removes the image",
    "[provider][tiers]", CONFORMANCE_PROVIDER_RIGS) {
  TestType rig;
  Provider& provider = rig.provider();
  const auto spec = spec_for("27", 2);
  const Pool pool = create(provider, spec);
  if (!provider.tiers().cold) {
    // Declared without it: archiving is refused and the pool is untouched.
    const auto refused = provider.archive_pool(pool, nullptr);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::invalid);
    CHECK(listed(provider, "27").servers.size() == 2);
    CHECK_FALSE(provider.restore_pool(pool).ok());
    return;
  }
  PoolMetadata meta = spec.meta;
  meta.smoke = SmokeVerdict::passed;
  meta.verdict = LiveVerdict::good;
  REQUIRE_OK(provider.update_metadata(meta));

  // Refused just before destroying (the balancer took a server meanwhile): every server stays.
  Pool shown = listed(provider, "27");
  const auto stopped = provider.archive_pool(shown, [] {
    return Status{Error{ErrorKind::refused, "a server joined the balancer meanwhile"}};
  });
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.error().kind == ErrorKind::refused);
  shown = listed(provider, "27");
  CHECK_FALSE(shown.cold());
  CHECK(ids(shown) == ids(pool));
  if (rig.runs_servers()) check_serving(shown);

  int checks = 0;
  const auto archive = provider.archive_pool(shown, [&] {
    ++checks;
    return Status{};
  });
  REQUIRE_OK(archive);
  CHECK(checks == 1);
  CHECK(archive->ready);
  CHECK(archive->servers == 2);
  CHECK_FALSE(archive->id.empty());
  shown = listed(provider, "27");
  CHECK(shown.cold());
  CHECK(shown.tier() == Tier::cold);
  CHECK(shown.servers.empty());
  REQUIRE(shown.archive.has_value());
  CHECK(shown.archive->id == archive->id);
  check_metadata(shown.meta, meta);
  if (rig.runs_servers()) check_not_serving(pool);

  // A cold pool's verdicts still change; archiving it again changes nothing.
  meta.verdict_reason = "kept-cold";
  REQUIRE_OK(provider.update_metadata(meta));
  check_metadata(listed(provider, "27").meta, meta);
  const auto again = provider.archive_pool(listed(provider, "27"), nullptr);
  REQUIRE_OK(again);
  CHECK(again->id == archive->id);

  REQUIRE_OK(provider.restore_pool(listed(provider, "27")));
  shown = listed(provider, "27");
  CHECK_FALSE(shown.cold());
  CHECK(shown.tier() == Tier::running);
  CHECK(shown.complete);
  CHECK(shown.servers.size() == 2);
  check_metadata(shown.meta, meta);
  REQUIRE(shown.archive.has_value());  // kept: archiving the pool again is quick
  if (rig.runs_servers()) check_serving(shown);

  REQUIRE_OK(provider.destroy_pool(shown));
  CHECK(find_pool(list(provider), "27") == nullptr);
  if (rig.runs_servers()) check_not_serving(shown);
}

}  // namespace provider_conformance
