#include "shared/balancers/haproxy_config_file.hpp"

#include <catch2/catch.hpp>

using namespace phoenix::haproxy;

namespace {
const char* kConfig =
    "global\n"
    "    stats socket /run/haproxy/admin.sock mode 600 level admin\n"
    "frontend fe\n"
    "    bind :80\n"
    "    default_backend web\n"
    "backend web\n"
    "    balance roundrobin\n"
    "    option httpchk GET /health\n"
    "\n"
    "backend api\n"
    "    balance leastconn\n";
}

TEST_CASE("the managed block is inserted at the end of the backend section", "[haproxy][config-file]") {
  auto updated = with_managed_servers(kConfig, "web", {"server 1:1 127.0.0.1:8000 check weight 1"});
  REQUIRE(updated.ok());
  CHECK_THAT(*updated, Catch::Contains("    option httpchk GET /health\n    # BEGIN phoenix managed servers"));
  CHECK_THAT(*updated,
             Catch::Contains(
                 "    server 1:1 127.0.0.1:8000 check weight 1\n    # END phoenix managed servers\n\nbackend api"));
  CHECK(managed_servers(*updated, "web") == std::vector<std::string>{"server 1:1 127.0.0.1:8000 check weight 1"});
  CHECK(managed_servers(*updated, "api").empty());
}

TEST_CASE("rewriting the block replaces it and keeps everything else", "[haproxy][config-file]") {
  auto first = with_managed_servers(kConfig, "web", {"server 1:1 a:1", "server 1:2 a:2"});
  auto second = with_managed_servers(*first, "web", {"server 2:1 b:1"});
  REQUIRE(second.ok());
  CHECK(managed_servers(*second, "web") == std::vector<std::string>{"server 2:1 b:1"});
  auto emptied = with_managed_servers(*second, "web", {});
  REQUIRE(emptied.ok());
  CHECK(managed_servers(*emptied, "web").empty());
  // Same content in, same content out: no rewrite churn.
  CHECK(*with_managed_servers(*emptied, "web", {}) == *emptied);
}

TEST_CASE("a missing backend or a broken block is refused", "[haproxy][config-file]") {
  CHECK_THAT(with_managed_servers(kConfig, "nope", {}).error().message, Catch::Contains("no 'backend nope' section"));
  auto block = *with_managed_servers(kConfig, "web", {"server 1:1 a:1"});
  const auto end = block.find("    # END phoenix managed servers\n");
  block.erase(end, std::string("    # END phoenix managed servers\n").size());
  CHECK_THAT(with_managed_servers(block, "web", {}).error().message, Catch::Contains("no end marker"));
}

TEST_CASE("backend names are matched exactly, and listen sections count", "[haproxy][config-file]") {
  const std::string config = "backend webx\n    balance roundrobin\nlisten web\n    bind :81\n";
  auto updated = with_managed_servers(config, "web", {"server 1:1 a:1"});
  REQUIRE(updated.ok());
  CHECK(managed_servers(*updated, "webx").empty());
  CHECK(managed_servers(*updated, "web").size() == 1);
}

TEST_CASE("servers the configuration defines itself are listed apart from the managed block",
          "[haproxy][config-file]") {
  const std::string config =
      "backend web\n    balance roundrobin\n    server legacy 10.0.0.1:80 check\n"
      "    default-server inter 1s\n";
  auto updated = with_managed_servers(config, "web", {"server 1:1 a:1"});
  REQUIRE(updated.ok());
  CHECK(configured_servers(*updated, "web") == std::vector<std::string>{"server legacy 10.0.0.1:80 check"});
  CHECK(managed_servers(*updated, "web") == std::vector<std::string>{"server 1:1 a:1"});
  CHECK(configured_servers(*updated, "api").empty());
}
