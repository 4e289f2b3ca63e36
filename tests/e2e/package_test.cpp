// Packaging: cmake --install and the Debian package CPack makes, inspected and used.

#include <catch2/catch.hpp>
#include <filesystem>

#include "shared/util/process.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {
std::string run(const std::vector<std::string>& argv, const fs::path& directory = {}) {
  util::CommandRequest request;
  request.argv = argv;
  request.working_directory = directory;
  request.capture_stderr = true;
  request.timeout = std::chrono::minutes(3);
  auto ran = util::run_command(request);
  REQUIRE(ran.ok());
  INFO(util::join(argv, " ") << "\n" << ran->output);
  REQUIRE(ran->exit_code == 0);
  return ran->output;
}

const fs::path build_directory() { return binary_directory().parent_path(); }
}  // namespace

TEST_CASE("cmake --install puts the executables, examples and pipelines in place", "[e2e][package]") {
  TempDir dir;
  run({"cmake", "--install", build_directory().string(), "--prefix", (dir.path() / "usr").string()});
  for (const char* file :
       {"usr/bin/create-pipeline", "usr/bin/deploy-pipeline", "usr/lib/phoenix/phoenix-sample-app",
        "usr/share/phoenix/pipeline-configs/gocd/web.gocd.yaml",
        "usr/share/phoenix/pipeline-configs/jenkins/jenkins.yaml",
        "usr/share/phoenix/pipeline-configs/examples/web.local.json", "usr/share/doc/phoenix/README.md"}) {
    INFO(file);
    CHECK(std::filesystem::exists(dir.path() / file));
  }
  CHECK_THAT(run({(dir.path() / "usr/bin/deploy-pipeline").string(), "--help"}),
             Catch::Contains("Usage: deploy-pipeline"));
}

TEST_CASE("the Debian package carries both executables, examples and pipelines, with its dependencies",
          "[e2e][package]") {
  TempDir dir;
  run({"cpack", "-G", "DEB", "-B", dir.path().string()}, build_directory());
  fs::path package;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.path().extension() == ".deb") package = entry.path();
  }
  REQUIRE_FALSE(package.empty());
  const auto info = run({"dpkg-deb", "--info", package.string()});
  CHECK_THAT(info, Catch::Contains("Package: phoenix"));
  CHECK_THAT(info, Catch::Contains("libcurl4"));
  CHECK_THAT(info, Catch::Contains("libcjson1"));
  CHECK_THAT(info, Catch::Contains("libboost-program-options"));
  const auto contents = run({"dpkg-deb", "--contents", package.string()});
  for (const char* file : {"./usr/bin/create-pipeline", "./usr/bin/deploy-pipeline",
                           "./usr/share/phoenix/pipeline-configs/gocd/web.gocd.yaml",
                           "./usr/share/phoenix/pipeline-configs/jenkins/create.Jenkinsfile",
                           "./usr/share/phoenix/pipeline-configs/exec-example/pool.py",
                           "./usr/share/phoenix/pipeline-configs/examples/web.local.json"}) {
    CHECK_THAT(contents, Catch::Contains(file));
  }
  // What the package installs runs.
  run({"dpkg-deb", "--extract", package.string(), (dir.path() / "root").string()});
  CHECK_THAT(run({(dir.path() / "root/usr/bin/create-pipeline").string(), "--version"}),
             Catch::Contains("create-pipeline 0.1.0"));
}
