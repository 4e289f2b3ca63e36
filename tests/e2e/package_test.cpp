// Packaging: cmake --install and the Debian package CPack makes, inspected, checked by lintian
// and used as a Debian user would: manual pages, bash completion, the example configuration.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <regex>
#include <set>

#include "shared/util/files.hpp"
#include "shared/util/process.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {
util::CommandResult run_command(const std::vector<std::string>& argv, const fs::path& directory = {},
                                const std::vector<std::string>& environment = {}) {
  util::CommandRequest request;
  request.argv = argv;
  request.working_directory = directory;
  request.environment = environment;
  request.capture_stderr = true;
  request.timeout = std::chrono::minutes(5);
  auto ran = util::run_command(request);
  REQUIRE(ran.ok());
  return *ran;
}

std::string run(const std::vector<std::string>& argv, const fs::path& directory = {}) {
  const auto ran = run_command(argv, directory);
  INFO(util::join(argv, " ") << "\n" << ran.output);
  REQUIRE(ran.exit_code == 0);
  return ran.output;
}

const fs::path build_directory() { return binary_directory().parent_path(); }

fs::path make_package(const fs::path& directory) {
  run({"cpack", "-G", "DEB", "-B", directory.string()}, build_directory());
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.path().extension() == ".deb") return entry.path();
  }
  FAIL("cpack made no .deb in " << directory);
  return {};
}

const std::vector<std::string> kPrograms = {"create-pipeline", "deploy-pipeline"};

// The commands a program's --help lists.
std::vector<std::string> commands_of(const fs::path& program) {
  std::vector<std::string> commands;
  bool listing = false;
  for (const auto& line : util::split_lines(run({program.string(), "--help"}))) {
    if (line == "Commands:") {
      listing = true;
    } else if (listing && line.rfind("  ", 0) == 0) {
      commands.push_back(util::split(std::string(util::trim(line)), ' ').front());
    } else if (listing) {
      break;
    }
  }
  return commands;
}

// What bash completion offers for the words typed so far (the last one is being completed).
std::vector<std::string> complete(const fs::path& script, const fs::path& bin, const std::vector<std::string>& words) {
  std::string typed;
  for (const auto& word : words) typed += " '" + word + "'";
  const auto ran = run_command(
      {"bash", "-c",
       "source '" + script.string() + "'; COMP_WORDS=(" + typed + "); COMP_CWORD=" + std::to_string(words.size() - 1) +
           "; _phoenix_pipeline; printf '%s\\n' \"${COMPREPLY[@]}\""},
      {}, {"PATH=" + bin.string() + ":/usr/bin:/bin"});
  REQUIRE(ran.exit_code == 0);
  auto offered = util::split_lines(ran.output);
  std::erase(offered, "");  // printf's one empty line for no offers
  return offered;
}
}  // namespace

TEST_CASE("cmake --install puts the executables, examples, pipelines, manual pages and completion in place",
          "[e2e][package]") {
  TempDir dir;
  run({"cmake", "--install", build_directory().string(), "--prefix", (dir.path() / "usr").string()});
  for (const char* file :
       {"usr/bin/create-pipeline", "usr/bin/deploy-pipeline", "usr/lib/phoenix/phoenix-sample-app",
        "usr/share/phoenix/pipeline-configs/gocd/web.gocd.yaml",
        "usr/share/phoenix/pipeline-configs/jenkins/jenkins.yaml",
        "usr/share/phoenix/pipeline-configs/examples/web.local.json", "usr/share/doc/phoenix/README.md",
        "usr/share/doc/phoenix/copyright", "usr/share/doc/phoenix/changelog.gz",
        "usr/share/man/man1/create-pipeline.1.gz", "usr/share/man/man1/deploy-pipeline.1.gz",
        "usr/share/bash-completion/completions/create-pipeline",
        "usr/share/bash-completion/completions/deploy-pipeline",
        // A <root>/usr install keeps the configuration in <root>/etc, as the package does in /etc.
        "etc/phoenix/web.json"}) {
    INFO(file);
    CHECK(std::filesystem::exists(dir.path() / file));
  }
  CHECK_THAT(run({(dir.path() / "usr/bin/deploy-pipeline").string(), "--help"}),
             Catch::Contains("Usage: deploy-pipeline"));
  // The release the installed example configuration names is the one the package installs.
  const auto example = util::read_file(dir.path() / "etc/phoenix/web.json");
  REQUIRE(example.ok());
  CHECK_THAT(*example, Catch::Contains("\"artifact\": \"/usr/lib/phoenix/phoenix-sample-app\""));
}

TEST_CASE("the Debian package carries both executables, examples and pipelines, with its dependencies",
          "[e2e][package]") {
  TempDir dir;
  const auto package = make_package(dir.path());
  const auto info = run({"dpkg-deb", "--info", package.string()});
  CHECK_THAT(info, Catch::Contains("Package: phoenix"));
  CHECK_THAT(info, Catch::Contains("libcurl4"));
  CHECK_THAT(info, Catch::Contains("libcjson1"));
  CHECK_THAT(info, Catch::Contains("libboost-program-options"));
  CHECK_THAT(info, Catch::Contains("Depends: python3"));  // pipeline-configs/exec-example/pool.py
  const auto contents = run({"dpkg-deb", "--contents", package.string()});
  for (const char* file : {"./usr/bin/create-pipeline", "./usr/bin/deploy-pipeline",
                           "./usr/share/phoenix/pipeline-configs/gocd/web.gocd.yaml",
                           "./usr/share/phoenix/pipeline-configs/jenkins/create.Jenkinsfile",
                           "./usr/share/phoenix/pipeline-configs/exec-example/pool.py",
                           "./usr/share/phoenix/pipeline-configs/examples/web.local.json",
                           "./usr/share/doc/phoenix/copyright", "./usr/share/doc/phoenix/changelog.gz",
                           "./usr/share/man/man1/create-pipeline.1.gz", "./usr/share/man/man1/deploy-pipeline.1.gz",
                           "./usr/share/bash-completion/completions/deploy-pipeline", "./etc/phoenix/web.json"}) {
    CHECK_THAT(contents, Catch::Contains(file));
  }
  // /etc/phoenix/web.json is a conffile: an upgrade keeps the operator's edits.
  CHECK(util::trim(run({"dpkg-deb", "--info", package.string(), "conffiles"})) == "/etc/phoenix/web.json");

  // What the package installs runs, and its configuration is one every shipped pipeline can use.
  const auto root = dir.path() / "root";
  run({"dpkg-deb", "--extract", package.string(), root.string()});
  CHECK_THAT(run({(root / "usr/bin/create-pipeline").string(), "--version"}), Catch::Contains("create-pipeline 0.1.0"));
  // Its state directory is the target machine's: the copy checked keeps its state here instead.
  auto installed = util::read_file(root / "etc/phoenix/web.json");
  REQUIRE(installed.ok());
  const std::string shipped_state = "\"state_dir\": \"/var/lib/phoenix\"";
  REQUIRE(installed->find(shipped_state) != std::string::npos);
  const auto configuration = dir.path() / "web.json";
  REQUIRE(util::write_file_atomic(configuration,
                                  util::replace_all(*installed, shipped_state,
                                                    "\"state_dir\": \"" + (dir.path() / "state").string() + "\""))
              .ok());
  const auto loaded =
      run_command({(root / "usr/bin/deploy-pipeline").string(), "history", "--config", configuration.string()});
  INFO(loaded.output);
  CHECK(loaded.exit_code == 0);
  CHECK(loaded.output == "no deploys or rollbacks yet\n");

  // Stripped, and built hardened: stack protector, read-only relocations bound at load time.
  for (const char* binary :
       {"usr/bin/create-pipeline", "usr/bin/deploy-pipeline", "usr/lib/phoenix/phoenix-sample-app"}) {
    INFO(binary);
    const auto path = (root / binary).string();
    CHECK(run({"readelf", "-S", "--wide", path}).find(".debug_info") == std::string::npos);
    CHECK_THAT(run({"readelf", "-d", path}), Catch::Contains("BIND_NOW"));
    CHECK_THAT(run({"readelf", "-l", "--wide", path}), Catch::Contains("GNU_RELRO"));
  }
  CHECK_THAT(run({"readelf", "--dyn-syms", "--wide", (root / "usr/bin/deploy-pipeline").string()}),
             Catch::Contains("__stack_chk_fail"));
  // libcurl is loaded on the first HTTP request, not at start-up (a rollback on HAProxy makes
  // none): the commands do not link it, and the package depends on it by hand.
  CHECK_THAT(info, Catch::Contains("libcurl4 (>= 7.85.0)"));
  for (const char* binary : {"usr/bin/create-pipeline", "usr/bin/deploy-pipeline"}) {
    INFO(binary);
    CHECK(run({"readelf", "-d", (root / binary).string()}).find("libcurl") == std::string::npos);
  }
}

TEST_CASE("lintian finds no error and no warning in the Debian package", "[e2e][package]") {
  TempDir dir;
  const auto package = make_package(dir.path());
  const auto checked = run_command({"lintian", "--fail-on", "error,warning", package.string()});
  INFO(checked.output);
  CHECK(checked.exit_code == 0);
  for (const auto& line : util::split_lines(checked.output)) {
    CHECK_FALSE(line.rfind("E: ", 0) == 0);
    CHECK_FALSE(line.rfind("W: ", 0) == 0);
  }
}

TEST_CASE("the manual pages say what --help says, command by command", "[e2e][package]") {
  for (const auto& program : kPrograms) {
    INFO(program);
    const auto binary = binary_directory() / program;
    const auto page = run({"gzip", "-dc", (build_directory() / "packaging" / (program + ".1.gz")).string()});
    std::string title = program;
    std::transform(title.begin(), title.end(), title.begin(), [](unsigned char c) { return std::toupper(c); });
    CHECK_THAT(page, Catch::Contains(".TH " + title + " \"1\""));
    CHECK_THAT(page, Catch::Contains(program + " 0.1.0"));
    const auto commands = commands_of(binary);
    REQUIRE(commands.size() >= 5);
    for (const auto& command : commands) {
      INFO(command);
      CHECK_THAT(page, Catch::Contains(".SS " + command + "\n"));
      // The command's usage line, as its --help prints it.
      const auto usage = util::split_lines(run({binary.string(), command, "--help"})).front();
      CHECK_THAT(page, Catch::Contains(util::replace_all(usage, "\\", "\\e")));
    }
  }
}

TEST_CASE("every command answers --version", "[e2e][package]") {
  for (const auto& program : kPrograms) {
    const auto binary = binary_directory() / program;
    CHECK(run({binary.string(), "--version"}) == program + " 0.1.0\n");
    for (const auto& command : commands_of(binary)) {
      INFO(program << " " << command);
      CHECK(run({binary.string(), command, "--version"}) == program + " 0.1.0\n");
    }
  }
}

TEST_CASE("bash completion offers the commands and options the programs have", "[e2e][package]") {
  const auto script = source_directory() / "packaging" / "bash-completion.bash";
  const auto bin = binary_directory();
  const auto commands = complete(script, bin, {"deploy-pipeline", ""});
  for (const char* command : {"deploy", "rollback", "status", "history", "repair", "ci-config", "--version"}) {
    CHECK(std::find(commands.begin(), commands.end(), command) != commands.end());
  }
  CHECK(complete(script, bin, {"create-pipeline", "pr"}) == std::vector<std::string>{"prune"});
  CHECK(complete(script, bin, {"deploy-pipeline", "deploy", "--dry"}) == std::vector<std::string>{"--dry-run"});
  CHECK(complete(script, bin, {"deploy-pipeline", "ci-config", "b"}) == std::vector<std::string>{"backup"});
  CHECK(complete(script, bin, {"deploy-pipeline", "ci-config", "backup", "--from", "j"}) ==
        std::vector<std::string>{"jenkins"});
  CHECK(complete(script, bin, {"deploy-pipeline", "status", "--output", ""}) ==
        std::vector<std::string>{"table", "json"});
  // A pool label is no CI server's kind.
  CHECK(complete(script, bin, {"deploy-pipeline", "rollback", "--to", ""}).empty());
  CHECK(complete(script, bin, {"create-pipeline", "rebuild", "--from", ""}).empty());
}

TEST_CASE("a user's build does not turn warnings into errors; scripts/test does", "[e2e][package]") {
  TempDir dir;
  run({"cmake", "-S", source_directory().string(), "-B", (dir.path() / "build").string(), "-G", "Ninja",
       "-DCMAKE_BUILD_TYPE=Release", "-DPHOENIX_BENCHMARKS=OFF"});
  const auto cache = *util::read_file(dir.path() / "build" / "CMakeCache.txt");
  CHECK_THAT(cache, Catch::Contains("PHOENIX_WERROR:BOOL=OFF"));
  CHECK_THAT(cache, Catch::Contains("PHOENIX_HARDENING:BOOL=ON"));
  const auto test_script = *util::read_file(source_directory() / "scripts" / "test");
  CHECK_THAT(test_script, Catch::Contains("-DPHOENIX_WERROR=ON"));
  CHECK_THAT(test_script, Catch::Contains("-DCMAKE_BUILD_TYPE=Release"));
}

TEST_CASE("docs/environment.md names every environment variable the code reads", "[e2e][package]") {
  // Variables appear in the code as "NAME_WITH_UNDERSCORES" literals (the CI servers' and
  // Phoenix's own), or as getenv("NAME") / get("NAME") lookups (USER, PATH).
  static const std::regex variable(R"re("([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+_?)"|(?:getenv|get)\("([A-Z][A-Z0-9_]*)"\))re");
  std::set<std::string> names;
  for (const char* folder : {"shared", "create-pipeline", "deploy-pipeline"}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(source_directory() / folder)) {
      if (entry.path().extension() != ".cpp") continue;
      const auto text = *util::read_file(entry.path());
      for (std::sregex_iterator match(text.begin(), text.end(), variable), end; match != end; ++match) {
        names.insert((*match)[1].matched ? (*match)[1].str() : (*match)[2].str());
      }
    }
  }
  REQUIRE(names.count("PHOENIX_CONFIG") == 1);
  REQUIRE(names.count("USER") == 1);
  const auto page = *util::read_file(source_directory() / "docs" / "environment.md");
  for (const auto& name : names) {
    INFO(name);
    CHECK_THAT(page, Catch::Contains("`" + name));
  }
}
