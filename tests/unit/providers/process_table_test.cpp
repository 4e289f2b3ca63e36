#include "shared/providers/process_table.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "support/harness.hpp"

using namespace phoenix;
using providers::is_within;
using providers::processes_working_in;

TEST_CASE("a path is within a directory by whole components", "[process-table]") {
  CHECK(is_within("/a/b", "/a/b"));
  CHECK(is_within("/a/b/c/d", "/a/b"));
  CHECK(is_within("/a/b/c", "/a/b/"));
  CHECK(is_within("/a/b/../b/c", "/a/b"));
  CHECK_FALSE(is_within("/a/bc", "/a/b"));
  CHECK_FALSE(is_within("/a", "/a/b"));
  CHECK_FALSE(is_within("/x/b", "/a/b"));
  CHECK_FALSE(is_within("/a/b", ""));
}

TEST_CASE("the process table shows who works in a directory, with its output, environment and listener",
          "[process-table]") {
  testing::TempDir dir;
  const auto work = dir.path() / "pool";
  std::filesystem::create_directories(work / "logs");
  std::filesystem::create_directories(dir.path() / "pool-other");
  const int port = testing::free_port();
  auto server = util::spawn_detached({{(testing::binary_directory() / "phoenix-sample-app").string(), "--listen",
                                       "127.0.0.1:" + std::to_string(port), "--release", "1"},
                                      work,
                                      work / "logs" / "1.log",
                                      std::vector<std::string>{"HOME=" + work.string(), "MARK=yes"}});
  REQUIRE(server.ok());
  // Elsewhere, in a directory whose name only starts like it: not found.
  auto other = util::spawn_detached({{"sleep", "20"}, dir.path() / "pool-other", {}, std::nullopt});
  REQUIRE(other.ok());
  for (int i = 0; i < 200 && testing::http_get("http://127.0.0.1:" + std::to_string(port) + "/health").first != 200;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  const auto found = processes_working_in(work);
  REQUIRE(found.size() == 1);
  const auto& facts = found.front();
  CHECK(facts.identity.pid == server->pid);
  CHECK(facts.identity.start_ticks == server->start_ticks);
  CHECK(facts.output == std::filesystem::canonical(work / "logs" / "1.log"));
  CHECK(facts.variable("MARK") == std::string("yes"));
  CHECK_FALSE(facts.variable("PATH"));
  CHECK(facts.arguments.at(2) == "127.0.0.1:" + std::to_string(port));
  CHECK(facts.listening == std::vector<std::string>{"127.0.0.1:" + std::to_string(port)});

  util::stop_process(*server, std::chrono::seconds(2));
  util::stop_process(*other, std::chrono::seconds(1));
  CHECK(processes_working_in(work).empty());
}
