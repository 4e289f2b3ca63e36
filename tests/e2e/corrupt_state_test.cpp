// Records that lie or cannot be read: status still shows the live pool, the members and the
// problems, naming the unreadable file and what to do; history reports garbled lines; a pool
// whose pool.json is corrupt is listed and reported as unreadable, never deployed, and delete
// still finds and stops its servers.

#include <catch2/catch.hpp>
#include <set>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct CorruptStateRig {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  std::string config;
  std::filesystem::path state = dir.path() / "state" / "web";

  CorruptStateRig() {
    ServiceOptions options;
    options.pool_size = 2;
    config = write_service_config(dir.path(), haproxy, options).string();
    // Two pools: with a rollback target, a healthy state is a status without problems.
    for (const char* label : {"0", "1"}) {
      REQUIRE(run_tool("create-pipeline", {"run", "--label", label, "--config", config}).exit_code == 0);
    }
    REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config}).exit_code == 0);
  }
};

struct RecordedServer {
  util::ProcessIdentity process;
  std::string address;
};

// The servers pool.json records, read before a test corrupts it.
std::vector<RecordedServer> recorded_servers(const fs::path& pool_json) {
  std::vector<RecordedServer> servers;
  auto text = util::read_file(pool_json);
  REQUIRE(text.ok());
  auto record = util::parse_json(*text, pool_json.string());
  REQUIRE(record.ok());
  const cJSON* server = nullptr;
  cJSON_ArrayForEach(server, cJSON_GetObjectItem(record->get(), "servers")) {
    servers.push_back({{static_cast<pid_t>(util::json_number(server, "pid").value_or(0)),
                        static_cast<std::uint64_t>(util::json_number(server, "start_ticks").value_or(0))},
                       util::json_string(server, "host").value_or("") + ":" +
                           std::to_string(static_cast<int>(util::json_number(server, "port").value_or(0)))});
  }
  return servers;
}

// Every live process whose working directory is `directory` or inside it: what no record knows.
std::set<pid_t> processes_working_in(const fs::path& directory) {
  std::set<pid_t> pids;
  std::error_code ec;
  const auto prefix = fs::weakly_canonical(directory, ec).string();
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code link_ec;
    const auto cwd = fs::read_symlink(entry.path() / "cwd", link_ec).string();
    if (link_ec || (cwd != prefix && cwd.rfind(prefix + "/", 0) != 0)) continue;
    if (util::process_start_ticks(static_cast<pid_t>(std::stoi(name)))) pids.insert(std::stoi(name));
  }
  return pids;
}

}  // namespace

TEST_CASE("a pool whose pool.json is corrupt is unreadable, never deployed, and delete stops every process of it",
          "[e2e][corrupt][unreadable]") {
  CorruptStateRig rig;
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "2", "--config", rig.config}).exit_code == 0);
  const auto pool = rig.state / "pools" / "2";
  const auto record = pool / "pool.json";
  const auto servers = recorded_servers(record);
  REQUIRE(servers.size() == 2);
  REQUIRE(processes_working_in(pool).size() == 2);
  // A copy the temporary directory's cleanup finds, so a failing test leaves no server behind.
  REQUIRE(util::write_file_atomic(rig.dir.path() / "pool-2-copy.json", *util::read_file(record)).ok());
  REQUIRE(util::write_file_atomic(record, "{\"label\": \"2\", \"smoke\": ").ok());

  const auto list = run_tool("create-pipeline", {"list", "--config", rig.config});
  INFO(list.out << list.err);
  CHECK(list.exit_code == 0);
  CHECK_THAT(list.out, Catch::Contains("2/2 running (unreadable)"));
  CHECK_THAT(list.out, Catch::Contains("pool 2 is unreadable: " + record.string()));
  CHECK_THAT(list.out,
             Catch::Contains("2 servers of it still run (" + servers[0].address + ", " + servers[1].address + ")"));
  CHECK_THAT(list.out, Catch::Contains("'create-pipeline delete --label 2' stops every process of it"));
  const auto json = parse_output(run_tool("create-pipeline", {"list", "--output", "json", "--config", rig.config}).out);
  const cJSON* listed = nullptr;
  int found = 0;
  cJSON_ArrayForEach(listed, cJSON_GetObjectItem(json.get(), "pools")) {
    if (util::json_string(listed, "label") != std::string("2")) continue;
    ++found;
    CHECK_THAT(util::json_string(listed, "unreadable").value_or(""), Catch::Contains(record.string()));
    CHECK(util::json_bool(listed, "complete") == false);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(listed, "servers")) == 2);
  }
  CHECK(found == 1);

  const auto status = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("live     1"));
  CHECK_THAT(status.out, Catch::Contains("pool 2 is unreadable: " + record.string()));
  CHECK_THAT(status.out, !Catch::Contains("no longer exists"));

  // Never deployed, never rolled back to; nor created over.
  const auto deploy = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", rig.config});
  CHECK(deploy.exit_code == 2);
  CHECK_THAT(deploy.err, Catch::Contains("pool 2 is unreadable: " + record.string()));
  CHECK(run_tool("deploy-pipeline", {"rollback", "--to", "2", "--config", rig.config}).exit_code == 2);
  const auto create = run_tool("create-pipeline", {"create", "--label", "2", "--config", rig.config});
  CHECK(create.exit_code == 1);
  CHECK_THAT(create.err, Catch::Contains("pool 2 is unreadable"));
  CHECK_THAT(run_tool("deploy-pipeline", {"status", "--config", rig.config}).out, Catch::Contains("live     1"));

  // Smart delete still refuses while the balancer routes to one of its servers, by address too.
  REQUIRE(rig.haproxy.command("add server web/by-hand " + servers[1].address) == "New server registered.");
  const auto refused = run_tool("create-pipeline", {"delete", "--label", "2", "--config", rig.config});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("member by-hand (" + servers[1].address + ")"));
  REQUIRE_THAT(rig.haproxy.command("del server web/by-hand"), Catch::Contains("Server deleted."));

  const auto deleted = run_tool("create-pipeline", {"delete", "--label", "2", "--config", rig.config});
  INFO(deleted.out << deleted.err);
  CHECK(deleted.exit_code == 0);
  for (const auto& server : servers) CHECK_FALSE(util::is_running(server.process));
  CHECK(processes_working_in(pool).empty());
  CHECK_FALSE(fs::exists(pool));
  CHECK_THAT(run_tool("create-pipeline", {"list", "--config", rig.config}).out, !Catch::Contains("unreadable"));
}

TEST_CASE("a live pool whose pool.json is corrupt is reported with advice that is never refused",
          "[e2e][corrupt][unreadable]") {
  CorruptStateRig rig;
  const auto record = rig.state / "pools" / "1" / "pool.json";
  // A copy the temporary directory's cleanup finds, so a failing test leaves no server behind.
  REQUIRE(util::write_file_atomic(rig.dir.path() / "pool-1-copy.json", *util::read_file(record)).ok());
  REQUIRE(util::write_file_atomic(record, "not json").ok());
  const auto status = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("live     1"));
  CHECK_THAT(status.out, Catch::Contains("pool 1 is unreadable: " + record.string()));
  CHECK_THAT(status.out, !Catch::Contains("no longer exists"));
  const auto refused = run_tool("create-pipeline", {"delete", "--label", "1", "--force", "--config", rig.config});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("pool 1 is in the balancer"));
  CHECK(http_get(rig.haproxy.url("/")).second == "1\n");

  // No advice that is refused: status and prune name the pool to make live first, not delete.
  const std::string make_live = "make another pool live first ('deploy-pipeline deploy --label 0')";
  CHECK_THAT(status.out, !Catch::Contains("create-pipeline delete"));
  CHECK_THAT(status.out, Catch::Contains("The balancer routes to it: restore its record, or " + make_live));
  const auto prune = run_tool("create-pipeline", {"prune", "--keep", "5", "--dry-run", "--config", rig.config});
  INFO(prune.out << prune.err);
  CHECK(prune.exit_code == 0);
  CHECK_THAT(prune.out, !Catch::Contains("create-pipeline delete"));
  CHECK_THAT(prune.out, Catch::Contains(make_live));
  // mark-bad cannot write a verdict into it: one line, the file and what to do.
  const auto mark =
      run_tool("deploy-pipeline", {"mark-bad", "--label", "1", "--reason", "500s", "--config", rig.config});
  CHECK(mark.exit_code == 1);
  CHECK(mark.err == "deploy-pipeline: error: pool 1 cannot be marked bad: its record is unreadable (" +
                        record.string() +
                        ":1:1: invalid JSON (unexpected 'n')); nothing was changed. Restore that file, then run "
                        "this "
                        "again\n");

  // The advice works; then delete is the advice, and it works.
  const auto deployed = run_tool("deploy-pipeline", {"deploy", "--label", "0", "--config", rig.config});
  INFO(deployed.err);
  REQUIRE(deployed.exit_code == 0);
  CHECK(http_get(rig.haproxy.url("/")).second == "0\n");
  const auto after = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  INFO(after.out);
  CHECK_THAT(after.out, Catch::Contains("'create-pipeline delete --label 1' stops every process of it"));
  CHECK(run_tool("create-pipeline", {"delete", "--label", "1", "--config", rig.config}).exit_code == 0);
  CHECK_FALSE(fs::exists(record.parent_path()));
}

// The one-step way out of an incident works when the live pool's record is corrupt: the
// rollback goes ahead, says once that the pool it left is not marked bad and the mark-bad to run
// later, and its dry run predicts that; the plain rollback's refusal calls no pool "newer".
TEST_CASE("a rollback away from a live pool whose pool.json is corrupt goes ahead", "[e2e][corrupt][unreadable]") {
  CorruptStateRig rig;
  const auto record = rig.state / "pools" / "1" / "pool.json";
  REQUIRE(util::write_file_atomic(rig.dir.path() / "pool-1-copy.json", *util::read_file(record)).ok());
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "2", "--config", rig.config}).exit_code == 0);
  REQUIRE(util::write_file_atomic(record, "{\"label\": \"1\", \"smoke\": ").ok());
  const std::string later = "warning: pool 1 cannot be marked bad: its record is unreadable (" + record.string();
  const std::string mark_bad = "once it is restored, run: deploy-pipeline mark-bad --label 1 --reason 'corrupt live'";

  const auto plain = run_tool("deploy-pipeline", {"rollback", "--config", rig.config});
  INFO(plain.err);
  CHECK(plain.exit_code == 3);  // no pool to go to: refused, nothing changed
  CHECK_THAT(plain.err, Catch::Contains("creation time of pool 1 unknown"));
  CHECK_THAT(plain.err, !Catch::Contains("newer"));
  CHECK_THAT(plain.err, Catch::Contains("pools 2 (running), 0 (running) are known-good: "
                                        "'deploy-pipeline rollback --to 2'"));

  const auto dry = run_tool("deploy-pipeline",
                            {"rollback", "--to", "0", "--reason", "corrupt live", "--dry-run", "--config", rig.config});
  INFO(dry.out << dry.err);
  CHECK(dry.exit_code == 0);
  CHECK_THAT(dry.err, Catch::Contains(later));
  CHECK_THAT(dry.err, Catch::Contains(mark_bad));
  CHECK(http_get(rig.haproxy.url("/")).second == "1\n");

  const auto real =
      run_tool("deploy-pipeline", {"rollback", "--to", "0", "--reason", "corrupt live", "--config", rig.config});
  INFO(real.out << real.err);
  CHECK(real.exit_code == 0);
  CHECK_THAT(real.err, Catch::Contains(later));
  CHECK_THAT(real.err, Catch::Contains(mark_bad));
  CHECK(http_get(rig.haproxy.url("/")).second == "0\n");
}

// A pool.json whose label is another pool's would stand for that pool: it is unreadable, the pool
// it names stays as it is, and status blames neither the balancer nor a vanished pool.
TEST_CASE("a pool.json that names another pool's label is unreadable", "[e2e][corrupt][unreadable]") {
  CorruptStateRig rig;
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "2", "--config", rig.config}).exit_code == 0);
  const auto record = rig.state / "pools" / "2" / "pool.json";
  REQUIRE(util::write_file_atomic(rig.dir.path() / "pool-2-copy.json", *util::read_file(record)).ok());
  auto document = util::parse_json(*util::read_file(record), record.string());
  REQUIRE(document.ok());
  cJSON_ReplaceItemInObject(document->get(), "label", cJSON_CreateString("1"));
  REQUIRE(util::write_file_atomic(record, util::print_json(document->get(), true)).ok());

  const auto list = run_tool("create-pipeline", {"list", "--config", rig.config});
  INFO(list.out << list.err);
  CHECK(list.exit_code == 0);
  CHECK_THAT(list.out, Catch::Contains("pool 2 is unreadable: " + record.string() +
                                       " names label 1, not 2 (the directory it is in)"));
  const auto json = parse_output(run_tool("create-pipeline", {"list", "--output", "json", "--config", rig.config}).out);
  std::set<std::string> labels;
  const cJSON* listed = nullptr;
  cJSON_ArrayForEach(listed, cJSON_GetObjectItem(json.get(), "pools")) {
    labels.insert(util::json_string(listed, "label").value_or(""));
  }
  CHECK(labels == std::set<std::string>{"0", "1", "2"});
  const auto status = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  INFO(status.out);
  CHECK_THAT(status.out, Catch::Contains("live     1"));
  CHECK_THAT(status.out, Catch::Contains("names label 1, not 2"));
  CHECK_THAT(status.out, !Catch::Contains("points at"));
  CHECK_THAT(status.out, !Catch::Contains("no longer exists"));
  // Nothing acts on it but delete, which stops its servers.
  CHECK(run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", rig.config}).exit_code == 2);
  CHECK(run_tool("create-pipeline", {"delete", "--label", "2", "--config", rig.config}).exit_code == 0);
  CHECK(processes_working_in(record.parent_path()).empty());
  CHECK(http_get(rig.haproxy.url("/")).second == "1\n");
}

// A create that failed before it wrote pool.json (disk full while copying the release) leaves a
// directory without a record: every command's warning names the ways out, and delete removes it.
TEST_CASE("a pool directory a failed create left without pool.json is named and deleted",
          "[e2e][corrupt][unreadable]") {
  CorruptStateRig rig;
  const auto directory = rig.state / "pools" / "9";
  fs::create_directories(directory / "release.partial");
  REQUIRE(util::write_file_atomic(directory / "release.partial" / "phoenix-sample-app", "half").ok());

  const auto list = run_tool("create-pipeline", {"list", "--config", rig.config});
  INFO(list.err);
  CHECK(list.exit_code == 0);
  CHECK_THAT(list.err, Catch::Contains("skipping pool directory " + directory.string() + ": it has no pool.json"));
  CHECK_THAT(list.err, Catch::Contains("'create-pipeline create --label 9' finishes it, 'create-pipeline delete "
                                       "--label 9' removes it"));
  const auto dry = run_tool("create-pipeline", {"delete", "--label", "9", "--dry-run", "--config", rig.config});
  CHECK(dry.exit_code == 0);
  CHECK(fs::exists(directory));
  const auto deleted = run_tool("create-pipeline", {"delete", "--label", "9", "--config", rig.config});
  INFO(deleted.out << deleted.err);
  CHECK(deleted.exit_code == 0);
  CHECK_THAT(deleted.err, Catch::Contains("removed what a create that failed before recording pool 9 left"));
  CHECK_FALSE(fs::exists(directory));
  const auto quiet = run_tool("create-pipeline", {"list", "--config", rig.config});
  CHECK_THAT(quiet.err, !Catch::Contains("skipping"));
  CHECK(run_tool("create-pipeline", {"delete", "--label", "9", "--config", rig.config}).exit_code == 2);
}

TEST_CASE("status with an empty lock and a garbled intent still shows the live pool and says what to do",
          "[e2e][status][corrupt]") {
  CorruptStateRig rig;
  REQUIRE(util::write_file_atomic(rig.state / "deploy.lock", "").ok());
  REQUIRE(util::write_file_atomic(rig.state / "intent.json", "{\"operation\": \"depl").ok());
  const auto status = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("live     1"));
  CHECK_THAT(status.out, Catch::Contains("1:1"));
  CHECK_THAT(status.out, Catch::Contains("cannot read the intent record: " + (rig.state / "intent.json").string()));
  CHECK_THAT(status.out, Catch::Contains("cannot read the deploy lock: " + (rig.state / "deploy.lock").string()));
  CHECK_THAT(status.out, Catch::Contains("--break-lock"));

  // The documented ways out work: repair takes over the unreadable lock and replaces the intent.
  const auto repaired = run_tool("deploy-pipeline", {"repair", "--break-lock", "--config", rig.config});
  INFO(repaired.err);
  CHECK(repaired.exit_code == 0);
  const auto after = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  INFO(after.out);
  CHECK(after.exit_code == 0);
}

TEST_CASE("garbled history lines are reported, and records after them are kept", "[e2e][history][corrupt]") {
  CorruptStateRig rig;
  const auto file = rig.state / "history.jsonl";
  const auto before = run_tool("deploy-pipeline", {"history", "--output", "json", "--config", rig.config});
  const int recorded = cJSON_GetArraySize(cJSON_GetObjectItem(parse_output(before.out).get(), "events"));
  // A garbled line between records (as an older version left a torn one): reported with how to
  // clear it, and every other record is read.
  REQUIRE(util::append_file_durable(file, "{\"at\": \"2026-10\n").ok());
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "2", "--config", rig.config}).exit_code == 0);  // no record
  const auto history = run_tool("deploy-pipeline", {"history", "--config", rig.config});
  INFO(history.out << history.err);
  CHECK(history.exit_code == 0);
  const std::string line = std::to_string(recorded + 1);
  CHECK_THAT(history.err, Catch::Contains("history.jsonl:" + line + ": unreadable record"));
  CHECK_THAT(history.err, Catch::Contains("to clear it, move line " + line + " into " + file.string() + ".torn"));

  // A torn last record: the next append moves it to history.jsonl.torn and says so, once.
  REQUIRE(util::append_file_durable(file, "{\"at\": \"2026-11").ok());
  const auto deployed = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", rig.config});
  INFO(deployed.err);
  REQUIRE(deployed.exit_code == 0);
  CHECK_THAT(deployed.err, Catch::Contains(file.string() + " ended in a record torn by a crash"));
  CHECK_THAT(deployed.err, Catch::Contains("moved it to " + file.string() + ".torn"));
  CHECK(util::read_file(file.string() + ".torn").value() == "{\"at\": \"2026-11\n");
  const auto json = run_tool("deploy-pipeline", {"history", "--output", "json", "--config", rig.config});
  INFO(json.err);
  CHECK_THAT(json.err, !Catch::Contains("ended in a record torn by a crash"));
  const auto document = parse_output(json.out);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(document.get(), "events")) == recorded + 1);  // the deploy
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(document.get(), "unreadable")) == 1);         // the one between records
  const auto status = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.err, !Catch::Contains("ended in a record torn by a crash"));
}

// A watch record that is garbage: prune (its dry run too), delete and power-off stop in one line
// that names the file and says what to do; status names it too; once it is removed they work.
TEST_CASE("a corrupt watch record names its file and what to do, in every command that reads it",
          "[e2e][watch-record][corrupt]") {
  CorruptStateRig rig;
  const auto record = rig.state / "watch.json";
  REQUIRE(util::write_file_atomic(record, "garbage{").ok());
  const std::string remedy = "if no watched deploy or rollback is running";
  for (const auto& arguments : std::vector<std::vector<std::string>>{{"prune", "--keep", "0", "--dry-run"},
                                                                     {"prune", "--keep", "0"},
                                                                     {"delete", "--label", "0"},
                                                                     {"power-off", "--label", "0"}}) {
    auto with_config = arguments;
    with_config.insert(with_config.end(), {"--config", rig.config});
    const auto refused = run_tool("create-pipeline", with_config);
    INFO(arguments[0] << ": " << refused.err);
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.err, Catch::StartsWith("create-pipeline: error: cannot read the record of a running watch (" +
                                              record.string()));
    CHECK_THAT(refused.err, Catch::Contains(remedy + " (a 'deploy-pipeline deploy' or 'rollback' with --watch"));
    CHECK_THAT(refused.err, Catch::Contains("remove the record it names and run the command again"));
  }
  const auto status = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("cannot read the record of a running watch: " + record.string()));
  CHECK_THAT(status.out, Catch::Contains(remedy));
  CHECK(fs::exists(rig.state / "pools" / "0"));

  REQUIRE(fs::remove(record));
  CHECK(run_tool("create-pipeline", {"prune", "--keep", "0", "--dry-run", "--config", rig.config}).exit_code == 0);
}
