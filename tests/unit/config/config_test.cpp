#include "shared/config/config.hpp"

#include <catch2/catch.hpp>

using namespace phoenix;
using phoenix::config::parse_config;

namespace {

const char* kValid = R"({
  "service": "web",
  "pool": { "size": 3 },
  "provider": { "type": "local", "state_dir": ".phoenix", "artifact": "build/bin/phoenix-sample-app",
                "command": ["{artifact}", "--listen", "{host}:{port}", "--release", "{label}"] },
  "smoke_test": { "timeout_s": 30,
                  "checks": [ { "name": "health", "path": "/health", "expect_status": 200 } ] },
  "balancer": { "type": "haproxy", "socket": "/run/haproxy/admin.sock", "backend": "web",
                "config_file": "/etc/haproxy/haproxy.cfg", "health_timeout_s": 30,
                "drain_timeout_s": 30 },
  "retention": { "keep": 3 }
})";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

std::string error_of(const std::string& text) {
  auto config = parse_config(text, "/srv/web.json");
  REQUIRE_FALSE(config.ok());
  CHECK(config.error().kind == ErrorKind::invalid);
  CHECK(config.error().message.find('\n') == std::string::npos);
  CHECK_THAT(config.error().message, Catch::StartsWith("/srv/web.json"));
  return config.error().message;
}

}  // namespace

TEST_CASE("the documented example configuration loads", "[config]") {
  auto config = parse_config(kValid, "/srv/web.json");
  REQUIRE(config.ok());
  CHECK(config->service == "web");
  CHECK(config->pool_size == 3);
  CHECK(config->retention_keep == 3);
  const auto& local = std::get<config::LocalProviderConfig>(config->provider);
  CHECK(local.state_dir == "/srv/.phoenix");  // relative to the config file
  CHECK(local.artifact == "/srv/build/bin/phoenix-sample-app");
  CHECK(local.command.size() == 5);
  const auto& haproxy = std::get<config::HaproxyBalancerConfig>(config->balancer.kind);
  CHECK(haproxy.socket == "/run/haproxy/admin.sock");
  CHECK(haproxy.backend == "web");
  CHECK(config->balancer.health_timeout == std::chrono::seconds(30));
  REQUIRE(config->smoke_test.checks.size() == 1);
  CHECK(config->smoke_test.checks[0].path == "/health");
}

TEST_CASE("defaults fill what the file leaves out", "[config]") {
  auto config = parse_config(R"({"service": "api",
      "provider": {"type": "local", "artifact": "app"},
      "balancer": {"type": "haproxy", "socket": "127.0.0.1:9999", "backend": "api"}})",
                             "/etc/phoenix/api.json");
  REQUIRE(config.ok());
  CHECK(config->pool_size == 1);
  CHECK(std::get<config::LocalProviderConfig>(config->provider).state_dir == "/etc/phoenix/.phoenix");
  CHECK(std::get<config::HaproxyBalancerConfig>(config->balancer.kind).socket == "127.0.0.1:9999");
  CHECK(config->smoke_test.checks.size() == 1);
  CHECK(config->lock_stale_after == std::chrono::hours(1));
}

// Prune leaves a pool with no verdict this young: a run may still be creating or testing it.
TEST_CASE("a run's bound is the provider's create timeout, the smoke test's and a minute", "[config]") {
  auto config = parse_config(replaced(replaced(kValid, R"("command": [)", R"("start_timeout_s": 45, "command": [)"),
                                      R"("timeout_s": 30)", R"("timeout_s": 20)"),
                             "/srv/web.json");
  REQUIRE(config.ok());
  CHECK(config::longest_run(*config) == std::chrono::seconds(45 + 20 + 60));
  config->provider = config::HcloudProviderConfig{.create_timeout = std::chrono::seconds(600)};
  CHECK(config::longest_run(*config) == std::chrono::seconds(600 + 20 + 60));
  config->provider = config::ExecProviderConfig{.timeout = std::chrono::seconds(300)};
  CHECK(config::longest_run(*config) == std::chrono::seconds(300 + 20 + 60));
}

TEST_CASE("syntax errors name the file, line and column", "[config]") {
  const auto message = error_of("{\n  \"service\": \"web\",\n  oops\n}");
  CHECK_THAT(message, Catch::StartsWith("/srv/web.json:3:"));
  CHECK_THAT(error_of(""), Catch::Contains("empty"));
  CHECK_THAT(error_of("[1, 2]"), Catch::Contains("expected a JSON object"));
  CHECK_THAT(error_of(std::string(kValid) + " trailing"), Catch::Contains("invalid JSON"));
  CHECK_THAT(error_of(std::string("{\"service\": \"web\"\0}", 19)), Catch::Contains("NUL"));
}

TEST_CASE("unknown keys are refused with the key path and the line", "[config]") {
  auto message = error_of(replaced(kValid, "\"state_dir\"", "\"stat_dir\""));
  CHECK_THAT(message, Catch::Contains("unknown key 'provider.stat_dir'"));
  CHECK_THAT(message, Catch::StartsWith("/srv/web.json:4:"));
  CHECK_THAT(error_of(replaced(kValid, "\"retention\"", "\"retension\"")), Catch::Contains("unknown key 'retension'"));
  CHECK_THAT(error_of(replaced(kValid, "\"expect_status\"", "\"expected_status\"")),
             Catch::Contains("smoke_test.checks[0].expected_status"));
  CHECK_THAT(error_of(replaced(kValid, "\"keep\": 3", "\"keep\": 3, \"keep\": 4")), Catch::Contains("appears twice"));
  // A duplicate key is placed at its second occurrence, the one to remove or rename.
  CHECK(error_of(replaced(kValid, "  \"pool\"", "  \"service\": \"api\",\n  \"pool\"")) ==
        "/srv/web.json:3: key 'service' appears twice");
  CHECK(error_of(replaced(kValid, "\"keep\": 3", "\"keep\": 3,\n\"keep\": 4")) ==
        "/srv/web.json:12: key 'retention.keep' appears twice");
}

TEST_CASE("wrong types name the key and what was expected", "[config]") {
  CHECK_THAT(error_of(replaced(kValid, "\"size\": 3", "\"size\": \"3\"")),
             Catch::Contains("pool.size: expected a whole number between 1 and 1000, got string"));
  CHECK_THAT(error_of(replaced(kValid, "\"service\": \"web\"", "\"service\": 7")),
             Catch::Contains("service: expected a string, got number"));
  CHECK_THAT(error_of(replaced(kValid, "\"command\": [", "\"command\": [1, ")),
             Catch::Contains("provider.command: expected an array of strings"));
  CHECK_THAT(error_of(replaced(kValid, "\"checks\": [", "\"checks\": [ 5, ")), Catch::Contains("smoke_test.checks[0]"));
  CHECK_THAT(error_of(replaced(kValid, "\"retention\": { \"keep\": 3 }", "\"retention\": []")),
             Catch::Contains("retention: expected an object, got array"));
}

TEST_CASE("numbers out of range are refused", "[config]") {
  CHECK_THAT(error_of(replaced(kValid, "\"size\": 3", "\"size\": 0")), Catch::Contains("got 0"));
  CHECK_THAT(error_of(replaced(kValid, "\"size\": 3", "\"size\": -2")), Catch::Contains("got -2"));
  CHECK_THAT(error_of(replaced(kValid, "\"size\": 3", "\"size\": 1e300")), Catch::Contains("pool.size"));
  CHECK_THAT(error_of(replaced(kValid, "\"size\": 3", "\"size\": 2.5")), Catch::Contains("fraction"));
  CHECK_THAT(error_of(replaced(kValid, "\"keep\": 3", "\"keep\": -1")), Catch::Contains("retention.keep"));
  CHECK_THAT(error_of(replaced(kValid, "\"health_timeout_s\": 30", "\"health_timeout_s\": 99999999")),
             Catch::Contains("balancer.health_timeout_s"));
}

TEST_CASE("missing required keys are named", "[config]") {
  CHECK_THAT(error_of(replaced(kValid, "\"service\": \"web\",", "")),
             Catch::Contains("missing required key 'service'"));
  CHECK_THAT(error_of(replaced(kValid, "\"backend\": \"web\",", "")),
             Catch::Contains("missing required key 'balancer.backend'"));
  CHECK_THAT(error_of(replaced(kValid, "\"artifact\": \"build/bin/phoenix-sample-app\",", "")),
             Catch::Contains("missing required key 'provider.artifact'"));
}

TEST_CASE("values with meaning are checked beyond their type", "[config]") {
  CHECK_THAT(error_of(replaced(kValid, "\"type\": \"local\"", "\"type\": \"aws\"")),
             Catch::Contains("unknown provider 'aws' (known: local, hcloud, exec)"));
  CHECK_THAT(error_of(replaced(kValid, "\"type\": \"haproxy\"", "\"type\": \"nginx\"")),
             Catch::Contains("unknown balancer"));
  CHECK_THAT(error_of(replaced(kValid, "\"service\": \"web\"", "\"service\": \"../web\"")), Catch::Contains("service"));
  CHECK_THAT(error_of(replaced(kValid, "\"path\": \"/health\"", "\"path\": \"health\"")),
             Catch::Contains("must start with '/'"));
  CHECK_THAT(error_of(replaced(kValid, "\"backend\": \"web\"", "\"backend\": \"web;del\"")),
             Catch::Contains("balancer.backend"));
  CHECK_THAT(error_of(replaced(
                 kValid, "\"command\": [\"{artifact}\", \"--listen\", \"{host}:{port}\", \"--release\", \"{label}\"]",
                 "\"command\": []")),
             Catch::Contains("must not be empty"));
  CHECK_THAT(error_of(replaced(kValid, "\"service\": \"web\"", "\"service\": \"w\xff\"")), Catch::Contains("UTF-8"));
}

TEST_CASE("the config file comes from --config, else PHOENIX_CONFIG, else ./phoenix.json", "[config]") {
  CHECK(config::choose_config_file(std::string("a.json"), std::string("b.json")) == "a.json");
  CHECK(config::choose_config_file(std::nullopt, std::string("b.json")) == "b.json");
  CHECK(config::choose_config_file(std::nullopt, std::nullopt) == "phoenix.json");
}

TEST_CASE("a config that is a directory or missing is one clear error", "[config]") {
  auto missing = config::load_config("/nonexistent/phoenix.json");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("no such file"));
  auto directory = config::load_config("/");
  REQUIRE_FALSE(directory.ok());
  CHECK_THAT(directory.error().message, Catch::Contains("directory"));
}

TEST_CASE("provider.environment names what local servers get besides a clean environment", "[config]") {
  const auto with = [](const std::string& environment) {
    return replaced(kValid, R"("command": [)", R"("environment": )" + environment + R"(, "command": [)");
  };
  auto config = parse_config(with(R"({ "APP_MODE": "blue", "_X1": "" })"), "/srv/web.json");
  REQUIRE(config.ok());
  const auto& local = std::get<config::LocalProviderConfig>(config->provider);
  CHECK(local.environment == std::vector<std::pair<std::string, std::string>>{{"APP_MODE", "blue"}, {"_X1", ""}});
  CHECK(std::get<config::LocalProviderConfig>(parse_config(kValid, "/srv/web.json")->provider).environment.empty());

  CHECK_THAT(error_of(with(R"({ "1X": "a" })")),
             Catch::Contains("provider.environment.1X: not an environment variable name"));
  CHECK_THAT(error_of(with(R"({ "A=B": "a" })")),
             Catch::Contains("provider.environment.A=B: not an environment variable name"));
  CHECK_THAT(error_of(with(R"({ "PORT": 8080 })")),
             Catch::Contains("provider.environment.PORT: expected a string, got number"));
  CHECK_THAT(error_of(with(R"(["A=B"])")), Catch::Contains("provider.environment: expected an object, got array"));
  CHECK_THAT(error_of(with(R"({ "A": "1", "A": "2" })")), Catch::Contains("appears twice"));
}

TEST_CASE("state defaults to the provider's own store", "[config][state]") {
  auto config = parse_config(kValid, "/srv/web.json");
  REQUIRE(config.ok());
  CHECK(std::holds_alternative<config::FileStateConfig>(config->state));
  auto file = parse_config(replaced(kValid, "\"retention\"", "\"state\": { \"type\": \"file\" },\n  \"retention\""),
                           "/srv/web.json");
  REQUIRE(file.ok());
  CHECK(std::holds_alternative<config::FileStateConfig>(file->state));
}

TEST_CASE("state in etcd: endpoints, prefix, lease TTL and timeout", "[config][state]") {
  auto config = parse_config(replaced(kValid, "\"retention\"",
                                      R"("state": { "type": "etcd",
                "endpoints": ["http://10.0.0.5:2379/", "https://etcd-2.internal:2379"],
                "prefix": "/teams/shop", "lease_ttl_s": 9, "timeout_ms": 3000 },
  "retention")"),
                             "/srv/web.json");
  REQUIRE(config.ok());
  const auto& etcd = std::get<config::EtcdStateConfig>(config->state);
  CHECK(etcd.endpoints == std::vector<std::string>{"http://10.0.0.5:2379", "https://etcd-2.internal:2379"});
  CHECK(etcd.prefix == "/teams/shop");
  CHECK(etcd.lease_ttl == std::chrono::seconds(9));
  CHECK(etcd.timeout == std::chrono::milliseconds(3000));

  auto defaults =
      parse_config(replaced(kValid, "\"retention\"",
                            R"("state": { "type": "etcd", "endpoints": ["http://127.0.0.1:2379"] }, "retention")"),
                   "/srv/web.json");
  REQUIRE(defaults.ok());
  const auto& plain = std::get<config::EtcdStateConfig>(defaults->state);
  CHECK(plain.prefix == "/phoenix");
  CHECK(plain.lease_ttl == std::chrono::seconds(15));
  CHECK(plain.timeout == std::chrono::milliseconds(2000));
}

TEST_CASE("state is read strictly", "[config][state]") {
  const auto with_state = [](const std::string& state) {
    return replaced(kValid, "\"retention\"", "\"state\": " + state + ",\n  \"retention\"");
  };
  CHECK_THAT(error_of(with_state(R"({ "type": "consul" })")),
             Catch::Contains("unknown state store 'consul' (known: file, etcd)"));
  CHECK_THAT(error_of(with_state(R"({ "type": "file", "dir": "x" })")), Catch::Contains("unknown key 'state.dir'"));
  const auto etcd_error = error_of(with_state("{ \"type\": \"etcd\",\n \"endpoint\": [\"http://a:2379\"] }"));
  CHECK_THAT(etcd_error, Catch::Contains("unknown key 'state.endpoint'; did you mean 'endpoints'?"));
  CHECK_THAT(error_of(with_state(R"({ "type": "etcd" })")), Catch::Contains("missing required key 'state.endpoints'"));
  CHECK_THAT(error_of(with_state(R"({ "type": "etcd", "endpoints": ["http://a:2379"], "lease": 5 })")),
             Catch::Contains("unknown key 'state.lease'"));
  CHECK_THAT(error_of(with_state(R"({ "type": "etcd", "endpoints": [] })")), Catch::Contains("state.endpoints"));
  CHECK_THAT(error_of(with_state(R"({ "type": "etcd", "endpoints": ["10.0.0.5:2379"] })")),
             Catch::Contains("is not a valid URL: it does not start with http:// or https://; expected an etcd client "
                             "URL"));
  CHECK_THAT(error_of(with_state(R"({ "type": "etcd", "endpoints": ["http://a:2379/v3"] })")),
             Catch::Contains("is not an etcd client URL"));
  CHECK_THAT(error_of(with_state(R"({ "type": "etcd", "endpoints": ["http://a:2379"], "prefix": "phoenix" })")),
             Catch::Contains("state.prefix: must start with '/'"));
  CHECK_THAT(error_of(with_state(R"({ "type": "etcd", "endpoints": ["http://a:2379"], "prefix": "/a b" })")),
             Catch::Contains("state.prefix"));
  CHECK_THAT(error_of(with_state(R"({ "type": "etcd", "endpoints": ["http://a:2379"], "lease_ttl_s": 1 })")),
             Catch::Contains("state.lease_ttl_s: expected a whole number between 2 and 600"));
  CHECK_THAT(error_of(with_state(R"({ "type": "etcd", "endpoints": ["http://a:2379"], "timeout_ms": 0 })")),
             Catch::Contains("state.timeout_ms"));
  CHECK_THAT(error_of(with_state(R"({ "type": "etcd", "endpoints": ["http://a:2379"], "lease_ttl_s": 3,
                                     "timeout_ms": 1500 })")),
             Catch::Contains("timeout_ms (1500) must be at most a third of lease_ttl_s (3 s)"));
  // The line of the offending key, as for every other key.
  CHECK_THAT(etcd_error, Catch::StartsWith("/srv/web.json:"));
  CHECK_THAT(error_of(with_state("{ \"type\": \"etcd\",\n \"endpoints\": [\"http://a:2379\"],\n \"lease\": 5 }")),
             Catch::Matches("/srv/web.json:1[0-9]: .*"));
}

TEST_CASE("notify lists webhook, slack and command notifiers with their timeouts", "[config][notify]") {
  auto config = parse_config(replaced(kValid, "\"retention\"",
                                      R"("notify": [
    { "type": "webhook", "url_env": "PHOENIX_TEST_HOOK_URL" },
    { "type": "slack", "url_file": "secrets/slack-url", "timeout_ms": 1500 },
    { "type": "command", "command": ["bin/page-oncall", "--team", "web"], "timeout_ms": 10000 },
    { "type": "command", "command": ["logger", "-t", "phoenix"] }
  ],
  "retention")"),
                             "/srv/web.json");
  REQUIRE(config.ok());
  REQUIRE(config->notify.size() == 4);
  const auto& webhook = std::get<config::WebhookNotifierConfig>(config->notify[0].kind);
  CHECK(webhook.url.environment == "PHOENIX_TEST_HOOK_URL");
  CHECK_FALSE(webhook.url.file);
  CHECK(config->notify[0].timeout == std::chrono::milliseconds(3000));  // the default
  const auto& slack = std::get<config::SlackNotifierConfig>(config->notify[1].kind);
  CHECK(slack.url.file == std::filesystem::path("/srv/secrets/slack-url"));  // relative to the file
  CHECK(slack.url.environment.empty());
  CHECK(config->notify[1].timeout == std::chrono::milliseconds(1500));
  const auto& command = std::get<config::CommandNotifierConfig>(config->notify[2].kind);
  CHECK(command.command == std::vector<std::string>{"/srv/bin/page-oncall", "--team", "web"});
  CHECK(config->notify[2].timeout == std::chrono::milliseconds(10000));
  // A program without a slash is found on PATH, as the exec provider's.
  CHECK(std::get<config::CommandNotifierConfig>(config->notify[3].kind).command.front() == "logger");

  auto none = parse_config(kValid, "/srv/web.json");
  REQUIRE(none.ok());
  CHECK(none->notify.empty());
}

TEST_CASE("notify is read strictly, and a URL never in the file", "[config][notify]") {
  const auto with_notify = [](const std::string& entries) {
    return replaced(kValid, "\"retention\"", "\"notify\": [" + entries + "],\n  \"retention\"");
  };
  const auto in_file = error_of(with_notify(R"({ "type": "slack", "url": "https://hooks.slack.com/services/T/B/x" })"));
  CHECK_THAT(in_file, Catch::Contains("notify[0].url: a webhook URL is a credential"));
  CHECK_THAT(in_file, Catch::Contains("url_env"));
  CHECK(in_file.find("hooks.slack.com") == std::string::npos);
  CHECK_THAT(error_of(with_notify(R"({ "type": "webhook" })")),
             Catch::Contains("give exactly one of url_env and url_file"));
  CHECK_THAT(error_of(with_notify(R"({ "type": "webhook", "url_env": "A", "url_file": "b" })")),
             Catch::Contains("give exactly one of url_env and url_file"));
  CHECK_THAT(error_of(with_notify(R"({ "type": "webhook", "url_env": "1BAD" })")),
             Catch::Contains("notify[0].url_env: not an environment variable name"));
  CHECK_THAT(error_of(with_notify(R"({ "type": "pagerduty" })")),
             Catch::Contains("unknown notifier 'pagerduty' (known: webhook, slack, command)"));
  CHECK_THAT(error_of(with_notify(R"({ "type": "command" })")),
             Catch::Contains("missing required key 'notify[0].command'"));
  CHECK_THAT(error_of(with_notify(R"({ "type": "command", "command": [] })")), Catch::Contains("notify[0].command"));
  CHECK_THAT(error_of(with_notify(R"({ "type": "command", "command": ["x"], "timeout_ms": 10 })")),
             Catch::Contains("notify[0].timeout_ms: expected a whole number between 100 and 60000"));
  CHECK_THAT(error_of(with_notify(R"({ "type": "command", "command": ["x"], "events": ["deploy"] })")),
             Catch::Contains("unknown key 'notify[0].events'"));
  CHECK_THAT(error_of(with_notify(
                 R"({ "type": "webhook", "url_env": "A" }, { "type": "slack", "url_env": "B", "channel": "x" })")),
             Catch::Contains("unknown key 'notify[1].channel'"));
}

TEST_CASE("retention by tier: running, off and cold, whose sum is keep", "[config][tiers]") {
  auto config = parse_config(replaced(kValid, "\"retention\": { \"keep\": 3 }",
                                      R"("retention": { "hot": 1, "running": 1, "cold": 2, "keep_good": 2 })"),
                             "/srv/web.json");
  REQUIRE(config.ok());
  REQUIRE(config->retention_tiers.has_value());
  CHECK(config->retention_tiers->running == 1);
  CHECK(config->retention_tiers->off == 0);
  CHECK(config->retention_tiers->cold == 2);
  CHECK(config->retention_keep == 3);
  CHECK(config->retention_hot == 1);

  auto plain = parse_config(kValid, "/srv/web.json");
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->retention_tiers.has_value());

  CHECK(parse_config(replaced(kValid, "\"keep\": 3", "\"keep\": 3, \"running\": 1, \"off\": 2"), "/srv/web.json").ok());
  CHECK_THAT(error_of(replaced(kValid, "\"keep\": 3", "\"keep\": 3, \"cold\": 5")),
             Catch::Contains("retention.keep: is 3 but retention.running + off + cold is 5"));
  CHECK_THAT(error_of(replaced(kValid, "\"keep\": 3", "\"cold\": -1")), Catch::Contains("retention.cold"));
  CHECK_THAT(error_of(replaced(kValid, "\"keep\": 3", "\"warm\": 1")), Catch::Contains("unknown key 'retention.warm'"));
}

namespace {

// kValid with `balancers` in place of its `balancer`.
std::string with_balancers(const std::string& list) {
  return replaced(kValid,
                  R"("balancer": { "type": "haproxy", "socket": "/run/haproxy/admin.sock", "backend": "web",
                "config_file": "/etc/haproxy/haproxy.cfg", "health_timeout_s": 30,
                "drain_timeout_s": 30 },)",
                  "\"balancers\": " + list + ",");
}

}  // namespace

TEST_CASE("balancers: a list of balancers, named by the operator or <type>-<n>", "[config][balancers]") {
  auto config = parse_config(with_balancers(R"([
      {"type": "haproxy", "socket": "/run/a.sock", "backend": "web"},
      {"type": "haproxy", "socket": "/run/b.sock", "backend": "web", "health_timeout_s": 7},
      {"type": "haproxy", "name": "edge-3", "socket": "/run/c.sock", "backend": "web"}])"),
                             "/srv/web.json");
  REQUIRE(config.ok());
  REQUIRE(config->balancers.size() == 3);
  CHECK(config->balancers[0].name == "haproxy-1");
  CHECK(config->balancers[1].name == "haproxy-2");
  CHECK(config->balancers[2].name == "edge-3");
  CHECK(config->balancers[1].health_timeout == std::chrono::seconds(7));
  CHECK(std::get<config::HaproxyBalancerConfig>(config->balancers[1].kind).socket == "/run/b.sock");
  // The single-balancer settings are the first balancer's.
  CHECK(config->balancer.name == "haproxy-1");
  CHECK(std::get<config::HaproxyBalancerConfig>(config->balancer.kind).socket == "/run/a.sock");
}

TEST_CASE("the one balancer object is a list of one", "[config][balancers]") {
  auto config = parse_config(kValid, "/srv/web.json");
  REQUIRE(config.ok());
  REQUIRE(config->balancers.size() == 1);
  CHECK(config->balancers[0].name == "haproxy-1");
  CHECK(config->balancer.name == "haproxy-1");
}

TEST_CASE("balancer names must be unique, and balancer and balancers exclude each other", "[config][balancers]") {
  const auto duplicate = error_of(with_balancers(R"([
      {"type": "haproxy", "name": "edge", "socket": "/run/a.sock", "backend": "web"},
      {"type": "haproxy", "name": "edge", "socket": "/run/b.sock", "backend": "web"}])"));
  CHECK_THAT(duplicate, Catch::Contains("balancers") && Catch::Contains("two balancers are named 'edge'"));
  // A given name may not take the default name of another.
  const auto clash = error_of(with_balancers(R"([
      {"type": "haproxy", "socket": "/run/a.sock", "backend": "web"},
      {"type": "haproxy", "name": "haproxy-1", "socket": "/run/b.sock", "backend": "web"}])"));
  CHECK_THAT(clash, Catch::Contains("two balancers are named 'haproxy-1'"));
  const auto both = error_of(replaced(kValid, R"("retention")", R"("balancers": [
      {"type": "haproxy", "socket": "/run/b.sock", "backend": "web"}], "retention")"));
  CHECK_THAT(both, Catch::Contains("either \"balancer\" (one) or \"balancers\" (a list), not both"));
  CHECK_THAT(error_of(with_balancers("[]")), Catch::Contains("needs at least one balancer"));
  CHECK_THAT(error_of(with_balancers(R"([{"type": "haproxy", "name": "a b", "socket": "/s", "backend": "web"}])")),
             Catch::Contains("balancers[0].name: 'a b' must be"));
  // A key no balancer has is refused inside the list too.
  CHECK_THAT(error_of(with_balancers(R"([{"type": "haproxy", "socket": "/s", "backend": "web", "sockt": 1}])")),
             Catch::Contains("sockt"));
}

namespace {

// kValid with one watch check whose url is `url` (written into the JSON as it is).
std::string with_watch_url(const std::string& url) {
  return replaced(
      kValid, "\"retention\"",
      "\"watch\": { \"checks\": [ { \"name\": \"home\",\n  \"url\": \"" + url + "\" } ] },\n  \"retention\"");
}

}  // namespace

TEST_CASE("a malformed watch check URL is refused when the configuration is read", "[config][url]") {
  // Each of these passed the old http:// prefix check and made every watched deploy breach on
  // libcurl's "URL using bad/illegal format", rolling a healthy release back.
  const std::vector<std::pair<std::string, std::string>> malformed = {
      {"https://shop.example/he alth",
       "'https://shop.example/he alth' is not a valid URL: it contains a space at position 24"},
      {"https://shop.example:70000/health", "is not a valid URL: port 70000 is above 65535"},
      {"https:///health", "is not a valid URL: it has no host"},
      {"http://[::1:8080/health", "is not a valid URL: '[' at position 8 has no closing ']'"},
      {"https://shop.example/%zz", "is not a valid URL: '%' at position 22 is not followed by two hex digits"},
      {"https://shop.example:8o/", "is not a valid URL: the port has a character other than a digit at position 23"},
      {"https://shop.example/a|b", "is not a valid URL: it contains '|' at position 23"},
      {"shop.example/health", "is not a valid URL: it does not start with http:// or https://"},
  };
  for (const auto& [url, problem] : malformed) {
    INFO(url);
    const auto message = error_of(with_watch_url(url));
    CHECK_THAT(message, Catch::StartsWith("/srv/web.json:"));
    CHECK_THAT(message, Catch::Contains("watch.checks[0].url: "));
    CHECK_THAT(message, Catch::Contains(problem));
    CHECK_THAT(message, Catch::EndsWith("; expected the public frontend, e.g. https://shop.example/health"));
  }
  CHECK_THAT(error_of(with_watch_url("https://shop.example/he alth")),
             Catch::StartsWith("/srv/web.json:12: watch.checks[0].url: "));
  CHECK(parse_config(with_watch_url("https://shop.example:8443/health?probe=1"), "/srv/web.json").ok());
}

TEST_CASE("a refused URL is shown without its credentials or query values", "[config][url][secrets]") {
  const auto message = error_of(with_watch_url("https://deploy:pa55w0rd@shop.example:70000/h?token=tok-42&SECRET"));
  CHECK_THAT(message, Catch::Contains("'https://shop.example:70000/h?token=<redacted>&<redacted>' is not a valid URL: "
                                      "port 70000 is above 65535"));
  for (const char* secret : {"pa55w0rd", "deploy", "tok-42", "SECRET"})
    CHECK(message.find(secret) == std::string::npos);
  // A password with a character that makes the URL malformed: still not shown.
  for (const char* url : {"https://deploy:pa55 w0rd@shop.example/health", "https://deploy:pa55/w0rd@shop.example/h",
                          "https://deploy:pa55<w0rd@shop.example/h"}) {
    INFO(url);
    const auto refused = error_of(with_watch_url(url));
    CHECK_THAT(refused, Catch::Contains("is not a valid URL"));
    CHECK(refused.find("pa55") == std::string::npos);
    CHECK(refused.find("deploy") == std::string::npos);
  }
}

TEST_CASE("malformed etcd endpoints, Hetzner endpoints and smoke check paths are refused", "[config][url]") {
  const auto with_state = [](const std::string& endpoint) {
    return replaced(
        kValid, "\"retention\"",
        R"("state": { "type": "etcd", "endpoints": ["http://10.0.0.5:2379", ")" + endpoint + "\"] },\n  \"retention\"");
  };
  for (const auto& [endpoint, problem] : std::vector<std::pair<std::string, std::string>>{
           {"http://etcd-1:70000", "port 70000 is above 65535"},
           {"http://[::1:2379", "'[' at position 8 has no closing ']'"},
           {"http://:2379", "it has no host"},
           {"http://etcd 1:2379", "it contains a space at position 12"},
           {"http://[fe80::1]x:2379", "after the ']' of the host"},
       }) {
    INFO(endpoint);
    const auto message = error_of(with_state(endpoint));
    CHECK_THAT(message, Catch::Contains("state.endpoints: '"));
    CHECK_THAT(message, Catch::Contains("is not a valid URL: " + problem));
    CHECK_THAT(message, Catch::Contains("expected an etcd client URL"));
  }
  CHECK_THAT(error_of(with_state("http://root:pw@etcd-1:2379")),
             Catch::Contains("'http://etcd-1:2379' is not an etcd client URL (http://host:port or https://host:port, "
                             "no user, path or query)"));
  CHECK_THAT(error_of(with_state("http://etcd-1:2379?x=1")), Catch::Contains("is not an etcd client URL"));
  CHECK(parse_config(with_state("http://[::1]:2379/"), "/srv/web.json").ok());

  const auto hcloud = [](const std::string& endpoint) {
    return replaced(
        kValid, R"("type": "local", "state_dir": ".phoenix", "artifact": "build/bin/phoenix-sample-app",
                "command": ["{artifact}", "--listen", "{host}:{port}", "--release", "{label}"] })",
        R"("type": "hcloud", "server_type": "cx22", "image": "debian-12", "endpoint": ")" + endpoint + "\" }");
  };
  CHECK(parse_config(hcloud("https://api.hetzner.cloud/v1"), "/srv/web.json").ok());
  CHECK_THAT(error_of(hcloud("https://api.hetzner.cloud:99999/v1")),
             Catch::Contains("provider.endpoint: 'https://api.hetzner.cloud:99999/v1' is not a valid URL: port 99999 "
                             "is above 65535"));
  CHECK_THAT(error_of(hcloud("https://api.hetzner .cloud/v1")), Catch::Contains("provider.endpoint: "));
  // Plain http carries the API token in clear: only to this machine (a local fake of the API).
  for (const char* endpoint : {"HTTPS://api.hetzner.cloud/v1", "http://127.0.0.1:8080/v1", "http://localhost:8080/v1",
                               "http://[::1]:8080/v1"}) {
    INFO(endpoint);
    CHECK(parse_config(hcloud(endpoint), "/srv/web.json").ok());
  }
  for (const char* endpoint : {"http://api.hetzner.cloud/v1", "http://127.evil.example/v1",
                               "http://localhost.evil.example/v1", "http://localhost:1@evil.example/v1"}) {
    INFO(endpoint);
    CHECK_THAT(error_of(hcloud(endpoint)), Catch::Contains("provider.endpoint: must be an https:// URL"));
  }

  for (const auto& [path, problem] : std::vector<std::pair<std::string, std::string>>{
           {"/a%zz", "'%' at position 3 is not followed by two hex digits"},
           {"/a<b", "it contains '<' at position 3"},
           {"/a[0]", "'[' at position 3 is only allowed around an IPv6 host"},
       }) {
    INFO(path);
    CHECK_THAT(error_of(replaced(kValid, "\"path\": \"/health\"", "\"path\": \"" + path + "\"")),
               Catch::Contains("smoke_test.checks[0].path: '" + path + "' is not a valid URL path: " + problem));
  }
}

TEST_CASE("the exec provider's stop grace: 10 s unless stop_grace_s says otherwise (1-600)", "[config][exec]") {
  const std::string exec =
      replaced(kValid,
               R"("type": "local", "state_dir": ".phoenix", "artifact": "build/bin/phoenix-sample-app",
                "command": ["{artifact}", "--listen", "{host}:{port}", "--release", "{label}"])",
               R"("type": "exec", "command": ["/srv/infra/pool"])");
  auto defaulted = parse_config(exec, "/srv/web.json");
  REQUIRE(defaulted.ok());
  CHECK(std::get<config::ExecProviderConfig>(defaulted->provider).stop_grace == std::chrono::seconds(10));
  auto given = parse_config(replaced(exec, R"(["/srv/infra/pool"])", R"(["/srv/infra/pool"], "stop_grace_s": 45)"),
                            "/srv/web.json");
  REQUIRE(given.ok());
  CHECK(std::get<config::ExecProviderConfig>(given->provider).stop_grace == std::chrono::seconds(45));
  CHECK_THAT(error_of(replaced(exec, R"(["/srv/infra/pool"])", R"(["/srv/infra/pool"], "stop_grace_s": 0)")),
             Catch::Contains("provider.stop_grace_s"));
  CHECK_THAT(error_of(replaced(exec, R"(["/srv/infra/pool"])", R"(["/srv/infra/pool"], "stop_grace_s": 601)")),
             Catch::Contains("provider.stop_grace_s"));
}

// A key that occurs in several objects ("type", "interval_ms") still gets its line: the line is
// found by the key's path through the text, not by its last component alone.
TEST_CASE("errors of keys that occur in several objects carry the line of the one meant", "[config][line]") {
  const std::string text = R"({
  "service": "web",
  "pool": { "size": 3 },
  "provider": {
    "type": "local",
    "artifact": "build/bin/phoenix-sample-app"
  },
  "smoke_test": { "timeout_s": 30, "checks": [ { "name": "health", "path": "/health", "expect_status": 200 } ] },
  "balancer": {
    "type": "haproxy", "socket": "/run/haproxy/admin.sock", "backend": "web",
    "check": { "interval_ms": 500 }
  },
  "watch": { "interval_ms": 1000 },
  "notify": [
    { "type": "command", "command": ["/bin/true"] },
    { "type": "command", "command": ["/bin/true"] }
  ]
})";
  REQUIRE(parse_config(text, "/srv/web.json").ok());
  CHECK_THAT(error_of(replaced(text, "\"type\": \"local\"", "\"type\": \"Local\"")),
             Catch::StartsWith("/srv/web.json:5: provider.type: unknown provider 'Local'"));
  CHECK_THAT(error_of(replaced(text, "\"interval_ms\": 500", "\"interval_ms\": 5")),
             Catch::StartsWith("/srv/web.json:11: balancer.check.interval_ms: expected a whole number"));
  const std::string second = "{ \"type\": \"command\", \"command\": [\"/bin/true\"] }\n  ]";
  CHECK_THAT(error_of(replaced(text, second, "{ \"type\": \"pager\" }\n  ]")),
             Catch::StartsWith("/srv/web.json:16: notify[1].type: unknown notifier 'pager'"));
}

// cJSON keeps strings as C strings: "w\u0000eb" would be read as "w" and every command would
// act on another service. A NUL is refused, naming the key (and what a name may hold).
TEST_CASE("a NUL in a string is refused naming the key; an empty state_dir is refused", "[config]") {
  CHECK_THAT(
      error_of(replaced(kValid, "\"service\": \"web\"", "\"service\": \"w\\u0000eb\"")),
      Catch::Contains("service: the value holds a NUL character (\\u0000); it must be 1-63 of A-Z a-z 0-9 . _ -"));
  CHECK_THAT(error_of(replaced(kValid, "\"backend\": \"web\"", "\"backend\": \"web\\u0000x\"")),
             Catch::Contains("balancer.backend: the value holds a NUL character (\\u0000); it must be a plain HAProxy "
                             "backend name (A-Z a-z 0-9 . _ -)"));
  CHECK_THAT(error_of(replaced(kValid, "\"--release\"", "\"--rel\\u0000ease\"")),
             Catch::Contains("provider.command: an element holds a NUL character (\\u0000)"));
  // An escaped backslash before "u0000" is not a NUL.
  CHECK(parse_config(replaced(kValid, "\"state_dir\": \".phoenix\"", "\"state_dir\": \"a\\\\u0000\""), "/srv/web.json")
            .ok());
  CHECK_THAT(error_of(replaced(kValid, "\"state_dir\": \".phoenix\"", "\"state_dir\": \"\"")),
             Catch::Contains("provider.state_dir: must name a directory, not be empty"));
}

namespace {

// A configuration of one key per line, so each key's line is known: `sections` are the lines
// after "service" (line 2), the first of them on line 3.
std::string lined_config(const std::vector<std::string>& sections) {
  std::string text = "{\n\"service\": \"web\"";
  for (const auto& section : sections) text += ",\n" + section;
  return text + "\n}\n";
}

const std::string kLocalProvider =
    R"("provider": {"type": "local", "artifact": "app", "command": ["{artifact}", "{host}:{port}"]})";
const std::string kHaproxy = R"("balancer": {"type": "haproxy", "socket": "/s", "backend": "web"})";

}  // namespace

// A check that compares two keys is reported as a one-key error is: "file:line: key: ...", at
// the line of the key its message is about (the one to change), in the order the file is read.
TEST_CASE("cross-checks of two keys name the file and the line of the key they are about", "[config]") {
  struct Case {
    std::string name;
    std::vector<std::string> sections;
    std::string expected;  // the whole message
  };
  const std::vector<Case> cases = {
      {"retention.keep against the tiers",
       {kLocalProvider, kHaproxy, "\"retention\": {\"running\": 2,\n\"keep\": 3}"},
       "/srv/web.json:6: retention.keep: is 3 but retention.running + off + cold is 2; with tiers, leave keep out "
       "(it is their sum) or make them agree"},
      {"the etcd timeout against the lease",
       {kLocalProvider, kHaproxy,
        "\"state\": {\"type\": \"etcd\", \"endpoints\": [\"http://a:2379\"], \"lease_ttl_s\": 3,\n\"timeout_ms\": "
        "1500}"},
       "/srv/web.json:6: state.timeout_ms: timeout_ms (1500) must be at most a third of lease_ttl_s (3 s), so a "
       "lease is renewed in time"},
      {"a Hetzner load balancer against the provider",
       {kLocalProvider, "\"balancer\": {\"load_balancer\": \"lb\",\n\"type\": \"hcloud\"}"},
       "/srv/web.json:5: balancer.type: 'hcloud' needs provider.type 'hcloud' (a Hetzner load balancer targets "
       "Hetzner servers); use type 'haproxy' with this provider"},
      {"two balancers of one name",
       {kLocalProvider,
        "\"balancers\": [{\"type\": \"haproxy\", \"socket\": \"/a\", \"backend\": \"web\", \"name\": \"edge\"},\n"
        "{\"type\": \"haproxy\", \"socket\": \"/b\", \"backend\": \"web\",\n\"name\": \"edge\"}]"},
       "/srv/web.json:6: balancers[1].name: two balancers are named 'edge'; give each a unique \"name\""},
      {"a balancer name given to the one balancer",
       {kLocalProvider,
        "\"balancer\": {\"type\": \"haproxy\", \"socket\": \"/s\", \"backend\": \"web\",\n\"name\": \"a b\"}"},
       "/srv/web.json:5: balancer.name: 'a b' must be 1-63 of A-Z a-z 0-9 . _ -, starting with a letter or "
       "digit"},
      {"balancer and balancers together",
       {kLocalProvider, kHaproxy, "\"balancers\": [{\"type\": \"haproxy\", \"socket\": \"/b\", \"backend\": \"web\"}]"},
       "/srv/web.json:5: balancers: give either \"balancer\" (one) or \"balancers\" (a list), not both"},
      {"a notifier's url_env and url_file",
       {kLocalProvider, kHaproxy, "\"notify\": [{\"type\": \"webhook\", \"url_env\": \"A\",\n\"url_file\": \"b\"}]"},
       "/srv/web.json:6: notify[0].url_file: give exactly one of url_env and url_file"},
  };
  for (const auto& check : cases) {
    INFO(check.name);
    const auto text = lined_config(check.sections);
    INFO(text);
    CHECK(error_of(text) == check.expected);
  }
}

// Checks made once the configuration meets what it configures (the provider's tiers) place
// their errors as reading the file does.
TEST_CASE("error_at names the file and the line of a key, or gives the message alone without a file", "[config]") {
  const auto config = parse_config(
      lined_config({kLocalProvider, kHaproxy, "\"retention\": {\"running\": 1,\n\"off\": 1}"}), "/srv/web.json");
  REQUIRE(config.ok());
  const auto error = config::error_at(*config, "retention.off", "retention.off is 1, but ...");
  CHECK(error.kind == ErrorKind::invalid);
  CHECK(error.message == "/srv/web.json:6: retention.off is 1, but ...");
  CHECK(config::error_at(*config, "retention.cold", "m").message == "/srv/web.json: m");
  CHECK(config::error_at(config::Config{}, "retention.off", "m").message == "m");
}
