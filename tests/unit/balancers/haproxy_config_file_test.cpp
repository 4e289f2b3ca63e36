#include "shared/balancers/haproxy_config_file.hpp"

#include <catch2/catch.hpp>
#include <functional>

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
  CHECK(managed_servers(*updated, "web").value() ==
        std::vector<std::string>{"server 1:1 127.0.0.1:8000 check weight 1"});
  CHECK(managed_servers(*updated, "api").value().empty());
}

TEST_CASE("rewriting the block replaces it and keeps everything else", "[haproxy][config-file]") {
  auto first = with_managed_servers(kConfig, "web", {"server 1:1 a:1", "server 1:2 a:2"});
  auto second = with_managed_servers(*first, "web", {"server 2:1 b:1"});
  REQUIRE(second.ok());
  CHECK(managed_servers(*second, "web").value() == std::vector<std::string>{"server 2:1 b:1"});
  auto emptied = with_managed_servers(*second, "web", {});
  REQUIRE(emptied.ok());
  CHECK(managed_servers(*emptied, "web").value().empty());
  // Same content in, same content out: no rewrite churn.
  CHECK(*with_managed_servers(*emptied, "web", {}) == *emptied);
}

TEST_CASE("a missing backend or a broken block is refused", "[haproxy][config-file]") {
  CHECK_THAT(with_managed_servers(kConfig, "nope", {}).error().message, Catch::Contains("no 'backend nope' section"));
  auto block = *with_managed_servers(kConfig, "web", {"server 1:1 a:1"});
  const auto end = block.find("    # END phoenix managed servers\n");
  block.erase(end, std::string("    # END phoenix managed servers\n").size());
  CHECK_THAT(with_managed_servers(block, "web", {}).error().message, Catch::Contains("no end marker"));
  CHECK_THAT(managed_servers(kConfig, "nope").error().message, Catch::Contains("no 'backend nope' section"));
}

namespace {
// kConfig with a managed block of two servers in backend web, then `edit` applied to its text.
std::string damaged_config(const std::function<void(std::string&)>& edit) {
  std::string text = *with_managed_servers(kConfig, "web", {"server 1:1 a:1", "server 1:2 a:2"});
  edit(text);
  return text;
}
void erase_line(std::string& text, const std::string& line) {
  const auto at = text.find(line + "\n");
  REQUIRE(at != std::string::npos);
  text.erase(at, line.size() + 1);
}
void insert_before(std::string& text, const std::string& anchor, const std::string& line) {
  const auto at = text.find(anchor);
  REQUIRE(at != std::string::npos);
  text.insert(at, line + "\n");
}
const std::string kBegin = "    " + std::string(kManagedBegin);
const std::string kEnd = "    " + std::string(kManagedEnd);
}  // namespace

TEST_CASE("a managed block that is not exactly one well-formed pair is refused with the line to fix",
          "[haproxy][config-file]") {
  struct Damage {
    std::string name;
    std::function<void(std::string&)> edit;
    std::string expected;  // part of the message
  };
  // The block's lines: 9 begin, 10-11 servers, 12 end; "backend api" follows on 14.
  const std::vector<Damage> damages = {
      {"the begin marker deleted", [](std::string& t) { erase_line(t, kBegin); },
       "line 11: the managed block of backend web has its end marker but no begin marker; put the line '# BEGIN"},
      {"the end marker deleted", [](std::string& t) { erase_line(t, kEnd); },
       "line 9: the managed block of backend web has its begin marker but no end marker; put the line '# END"},
      {"a second block", [](std::string& t) { insert_before(t, "\nbackend api", kBegin + "\n" + kEnd); },
       "line 13: the managed block of backend web has a second begin marker (the first is on line 9)"},
      {"a second end marker", [](std::string& t) { insert_before(t, "\nbackend api", kEnd); },
       "line 13: the managed block of backend web has a second end marker (the first is on line 12)"},
      {"the markers swapped",
       [](std::string& t) {
         erase_line(t, kBegin);
         insert_before(t, "\nbackend api", kBegin);
       },
       "line 11: the managed block of backend web has its end marker above its begin marker (line 12)"},
      {"an edited marker",
       [](std::string& t) { t.replace(t.find("# END phoenix managed servers"), 29, "# END phoenix managed"); },
       "line 12: the managed block of backend web has an edited marker '# END phoenix managed'; restore it to exactly"},
      {"a line that is not a server line", [](std::string& t) { insert_before(t, kEnd, "    balance leastconn"); },
       "line 12: the managed block of backend web holds a line that is not a server line: 'balance leastconn'"},
  };
  for (const auto& damage : damages) {
    INFO(damage.name);
    const auto text = damaged_config(damage.edit);
    INFO(text);
    const auto read = managed_servers(text, "web");
    REQUIRE_FALSE(read.ok());
    CHECK(read.error().kind == phoenix::ErrorKind::invalid);
    CHECK_THAT(read.error().message, Catch::Contains(damage.expected));
    const auto written = with_managed_servers(text, "web", {"server 2:1 b:1"});
    REQUIRE_FALSE(written.ok());
    CHECK(written.error().message == read.error().message);
    // Another backend's block is its own business.
    CHECK(managed_servers(text, "api").ok());
  }
}

TEST_CASE("backend names are matched exactly, and listen sections count", "[haproxy][config-file]") {
  const std::string config = "backend webx\n    balance roundrobin\nlisten web\n    bind :81\n";
  auto updated = with_managed_servers(config, "web", {"server 1:1 a:1"});
  REQUIRE(updated.ok());
  CHECK(managed_servers(*updated, "webx").value().empty());
  CHECK(managed_servers(*updated, "web").value().size() == 1);
}

TEST_CASE("servers the configuration defines itself are listed apart from the managed block",
          "[haproxy][config-file]") {
  const std::string config =
      "backend web\n    balance roundrobin\n    server legacy 10.0.0.1:80 check\n"
      "    default-server inter 1s\n";
  auto updated = with_managed_servers(config, "web", {"server 1:1 a:1"});
  REQUIRE(updated.ok());
  CHECK(configured_servers(*updated, "web") == std::vector<std::string>{"server legacy 10.0.0.1:80 check"});
  CHECK(managed_servers(*updated, "web").value() == std::vector<std::string>{"server 1:1 a:1"});
  CHECK(configured_servers(*updated, "api").empty());
}

TEST_CASE("a backend's hash-type: its own line, else its defaults section's, else unknown", "[haproxy][config-file]") {
  const std::string defaults_consistent =
      "global\n    maxconn 10\ndefaults\n    mode http\n    hash-type consistent\n    balance source\n";
  // Its own line wins, the last one of them; a comment is no line.
  CHECK(hash_type(defaults_consistent + "backend web\n    hash-type map-based\n", "web") == HashType::map_based);
  CHECK(hash_type("backend web\n    hash-type map-based\n    hash-type consistent sdbm\n", "web") ==
        HashType::consistent);
  CHECK(hash_type("defaults\nlisten web\n    bind :80\n    # hash-type consistent\n", "web") == HashType::map_based);
  // From the last defaults section above it; one without a hash-type line means map-based.
  CHECK(hash_type(defaults_consistent + "backend web\n    balance uri\n", "web") == HashType::consistent);
  CHECK(hash_type(defaults_consistent + "defaults\n    mode http\nbackend web\n    balance source\n", "web") ==
        HashType::map_based);
  CHECK(hash_type("defaults\n    mode http\nbackend web\n    balance source\n" + defaults_consistent, "web") ==
        HashType::map_based);
  // From the named defaults its header names.
  CHECK(hash_type("defaults base\n    hash-type consistent\ndefaults\n    mode http\nbackend web from base\n", "web") ==
        HashType::consistent);
  // Where the file cannot tell: no such backend; no defaults section above it (HAProxy may read one
  // from an earlier file); a defaults section that inherits from another; a method it does not name.
  CHECK(hash_type(defaults_consistent, "web") == HashType::unknown);
  CHECK(hash_type("backend web\n    balance source\n", "web") == HashType::unknown);
  CHECK(hash_type("defaults base\n    hash-type consistent\ndefaults more from base\n    mode http\nbackend web\n",
                  "web") == HashType::unknown);
  CHECK(hash_type("backend web from nowhere\n", "web") == HashType::unknown);
  CHECK(hash_type("backend web\n    hash-type something-new\n", "web") == HashType::unknown);
}
