// Invariant 12: Phoenix touches only what it made. A backend holding servers Phoenix did not
// add (a static line in haproxy.cfg, one added at run time by an operator) is refused before
// anything changes, unless the configuration lets them stay; then they are left alone.

#include <catch2/catch.hpp>

#include "shared/util/files.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct ForeignRig {
  TempDir dir;
  SampleApp static_server{dir.path(), "static"};
  Haproxy haproxy{dir.path(),
                  HaproxyOptions{.backend_lines = {"server web1 " + static_server.address() + " check inter 100ms"}}};
  std::string config_text_before;

  std::string write_config(bool allow) {
    ServiceOptions options;
    options.pool_size = 2;
    options.allow_foreign_servers = allow;
    return write_service_config(dir.path(), haproxy, options).string();
  }
};

}  // namespace

TEST_CASE("a backend with a static server line is refused before anything changes", "[e2e][foreign]") {
  ForeignRig rig;
  const auto config = rig.write_config(false);
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
  const auto before = *util::read_file(rig.haproxy.config_file());
  const auto refused = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config});
  INFO(refused.err);
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("Phoenix did not add: web1 (" + rig.static_server.address() + ")"));
  CHECK_THAT(refused.err, Catch::Contains("balancer.allow_foreign_servers"));
  CHECK(*util::read_file(rig.haproxy.config_file()) == before);
  CHECK(rig.haproxy.command("show servers state web").find("1:1") == std::string::npos);
  CHECK(http_get(rig.haproxy.url()).second == "static\n");
  const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("member web1 (" + rig.static_server.address() + ") was not added by Phoenix"));
}

TEST_CASE("allowed foreign servers are left alone by deploy, rollback and reload", "[e2e][foreign]") {
  ForeignRig rig;
  const auto config = rig.write_config(true);
  create_pools_1_and_2(config, ThenDeploy::nothing);
  // An operator also adds one at run time.
  const SampleApp manual(rig.dir.path(), "manual");
  CHECK(rig.haproxy.command("add server web/manual " + manual.address()) == "New server registered.");
  rig.haproxy.command("set server web/manual state ready");
  for (const char* label : {"1", "2", "1"}) {
    const auto deployed = run_tool("deploy-pipeline", {"deploy", "--label", label, "--config", config});
    INFO(deployed.err);
    REQUIRE(deployed.exit_code == 0);
  }
  const auto servers = rig.haproxy.command("show servers state web");
  CHECK(servers.find(" web1 ") != std::string::npos);
  CHECK(servers.find(" manual ") != std::string::npos);
  // A reload keeps the static server and Phoenix's live pool, and nothing else came back.
  // The managed block holds Phoenix's servers only: a copy of the static line there would stop
  // HAProxy from starting ("another server named 'web1'").
  const auto checked =
      util::run_command({.argv = {"haproxy", "-c", "-f", rig.haproxy.config_file().string()}, .capture_stderr = true});
  INFO(checked->output);
  REQUIRE(checked->exit_code == 0);
  rig.haproxy.reload();
  const auto reloaded = rig.haproxy.command("show servers state web");
  CHECK(reloaded.find(" web1 ") != std::string::npos);
  CHECK(reloaded.find(" 1:1 ") != std::string::npos);
  CHECK(reloaded.find(" 2:1 ") == std::string::npos);
  // The static line stays where the operator wrote it, outside Phoenix's managed block.
  const auto text = *util::read_file(rig.haproxy.config_file());
  CHECK(text.find("    server web1 " + rig.static_server.address()) < text.find("BEGIN"));
  const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  INFO(status.out);
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("web1"));
}
