#include "shared/providers/local_provider.hpp"

#include <signal.h>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <set>
#include <thread>

#include "fakes/recording_reporter.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"
#include "support/unwritable.hpp"

using namespace phoenix;

namespace {
struct LocalProviderRig {
  testing::TempDir dir;
  util::SystemClock clock;
  fakes::RecordingReporter reporter;
  providers::LocalProviderSettings settings{"web",
                                            dir.path() / "state",
                                            testing::binary_directory() / "phoenix-sample-app",
                                            {"{artifact}", "--listen", "{host}:{port}", "--release", "{label}"},
                                            std::chrono::seconds(10)};
  providers::LocalProvider provider{settings, clock, reporter};

  // A copy of pool `label`'s record beside the state, so the temporary directory's cleanup
  // stops its servers by pid even after the test corrupted or removed the original.
  void keep_record_copy(const std::string& label) {
    const auto text = util::read_file(dir.path() / "state" / "web" / "pools" / label / "pool.json");
    REQUIRE(text.ok());
    REQUIRE(util::write_file_atomic(dir.path() / ("pool-" + label + ".json"), *text).ok());
  }

  PoolSpec spec(const std::string& label, int size) {
    PoolSpec pool;
    pool.meta.label = label;
    pool.meta.created_at = clock.wall_now();
    pool.size = size;
    return pool;
  }
};

// The session process `pid` belongs to (field 6 of /proc/<pid>/stat), or -1.
pid_t session_of(pid_t pid) {
  const auto stat = util::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return -1;
  const auto fields = util::split(stat->substr(stat->rfind(')') + 2), ' ');  // from field 3 (state)
  if (fields.size() < 4) return -1;
  return static_cast<pid_t>(util::parse_int(fields[3]).value_or(-1));
}
}  // namespace

TEST_CASE("a local pool is real processes, each on its own loopback address", "[local-provider]") {
  LocalProviderRig rig;
  auto pool = rig.provider.create_pool(rig.spec("7", 3));
  REQUIRE(pool.ok());
  REQUIRE(pool->servers.size() == 3);
  std::set<std::string> hosts;
  for (const auto& server : pool->servers) {
    CHECK(server.state == ServerState::running);
    CHECK(server.host.rfind("127.", 0) == 0);
    hosts.insert(server.host);
    CHECK(testing::http_get("http://" + server.address() + "/").second == "7\n");
  }
  CHECK(hosts.size() == 3);
  // The pool has its own copy of the release.
  CHECK(std::filesystem::exists(rig.dir.path() / "state" / "web" / "pools" / "7" / "release" / "phoenix-sample-app"));
  REQUIRE(rig.provider.destroy_pool(*pool).ok());
  CHECK(rig.provider.list_pools()->empty());
  CHECK(testing::http_get("http://" + pool->servers[0].address() + "/").first == 0);
}

TEST_CASE("a retained pool keeps running its own release after the artifact changes", "[local-provider]") {
  LocalProviderRig rig;
  // A private artifact this test can replace.
  const auto artifact = rig.dir.path() / "app";
  REQUIRE(util::copy_tree(testing::binary_directory() / "phoenix-sample-app", artifact).ok());
  rig.settings.artifact = artifact;
  providers::LocalProvider provider{rig.settings, rig.clock, rig.reporter};
  auto pool = provider.create_pool(rig.spec("1", 1));
  REQUIRE(pool.ok());
  REQUIRE(util::write_file_atomic(artifact, "#!/bin/sh\nexit 1\n", 0755).ok());
  const auto copy = rig.dir.path() / "state" / "web" / "pools" / "1" / "release" / "app";
  CHECK(util::read_file(copy)->size() > 1000);  // still the real binary
  auto listed = provider.list_pools();
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().servers[0].state == ServerState::running);
  REQUIRE(provider.destroy_pool(listed->front()).ok());
}

TEST_CASE("a server that dies shows as dead; power off and on keep the addresses", "[local-provider]") {
  LocalProviderRig rig;
  auto pool = rig.provider.create_pool(rig.spec("3", 2));
  REQUIRE(pool.ok());
  REQUIRE(rig.provider.set_power(*pool, PowerState::off).ok());
  auto listed = rig.provider.list_pools();
  CHECK(listed->front().power == PowerState::off);
  CHECK(listed->front().servers[0].state == ServerState::stopped);
  REQUIRE(rig.provider.set_power(listed->front(), PowerState::on).ok());
  listed = rig.provider.list_pools();
  CHECK(listed->front().servers[0].address() == pool->servers[0].address());
  CHECK(testing::http_get("http://" + pool->servers[1].address() + "/health").first == 200);

  testing::stop_pool_processes(rig.dir.path());
  listed = rig.provider.list_pools();
  CHECK(listed->front().servers[0].state == ServerState::dead);
  REQUIRE(rig.provider.destroy_pool(listed->front()).ok());
}

TEST_CASE("a release that cannot start fails creation with its log", "[local-provider]") {
  LocalProviderRig rig;
  const auto artifact = rig.dir.path() / "broken";
  REQUIRE(util::write_file_atomic(artifact, "#!/bin/sh\necho 'missing libfoo' >&2\nexit 1\n", 0755).ok());
  rig.settings.artifact = artifact;
  providers::LocalProvider provider{rig.settings, rig.clock, rig.reporter};
  auto pool = provider.create_pool(rig.spec("9", 1));
  REQUIRE_FALSE(pool.ok());
  CHECK(pool.error().kind == ErrorKind::failed);
  CHECK_THAT(pool.error().message, Catch::Contains("exited right after starting"));
  CHECK_THAT(pool.error().message, Catch::Contains("missing libfoo"));
  // The pool is listed as incomplete, so status and delete can see it.
  auto listed = provider.list_pools();
  REQUIRE(listed->size() == 1);
  CHECK_FALSE(listed->front().complete);

  // A release that exits without a word names its empty log, and where to look.
  REQUIRE(util::write_file_atomic(artifact, "#!/bin/sh\nexit 1\n", 0755).ok());
  auto silent = provider.create_pool(rig.spec("10", 1));
  REQUIRE_FALSE(silent.ok());
  CHECK_THAT(silent.error().message, Catch::Contains("exited right after starting (check provider.command); its log "));
  CHECK_THAT(silent.error().message, Catch::EndsWith("1.log is empty"));
}

TEST_CASE("a missing artifact is a configuration error", "[local-provider]") {
  LocalProviderRig rig;
  rig.settings.artifact = rig.dir.path() / "nope";
  providers::LocalProvider provider{rig.settings, rig.clock, rig.reporter};
  auto pool = provider.create_pool(rig.spec("1", 1));
  REQUIRE_FALSE(pool.ok());
  CHECK(pool.error().kind == ErrorKind::invalid);
  CHECK(provider.list_pools()->empty());
}

TEST_CASE("a server that never listens is stopped, and the creation fails", "[local-provider]") {
  LocalProviderRig rig;
  const auto artifact = rig.dir.path() / "mute";
  REQUIRE(util::write_file_atomic(artifact, "#!/bin/sh\necho 'listening soon'\nexec sleep 60\n", 0755).ok());
  rig.settings.artifact = artifact;
  rig.settings.start_timeout = std::chrono::seconds(1);
  providers::LocalProvider provider{rig.settings, rig.clock, rig.reporter};
  auto pool = provider.create_pool(rig.spec("5", 2));
  REQUIRE_FALSE(pool.ok());
  CHECK(pool.error().kind == ErrorKind::failed);
  CHECK_THAT(pool.error().message, Catch::Contains("2 servers of pool 5 did not accept connections within 1 s"));
  CHECK_THAT(pool.error().message, Catch::Contains("were stopped"));
  CHECK_THAT(pool.error().message, Catch::Contains("listening soon"));
  auto listed = provider.list_pools();
  REQUIRE(listed->size() == 1);
  CHECK_FALSE(listed->front().complete);
  REQUIRE(listed->front().servers.size() == 2);
  for (const auto& server : listed->front().servers) CHECK(server.state == ServerState::dead);
}

TEST_CASE("a re-run adopts servers an interrupted run started and waits until they listen", "[local-provider]") {
  LocalProviderRig rig;
  const auto slow_release = [&](const std::string& name, int seconds) {
    const auto path = rig.dir.path() / name;
    REQUIRE(util::write_file_atomic(path,
                                    "#!/bin/sh\nsleep " + std::to_string(seconds) + "\nexec " +
                                        (testing::binary_directory() / "phoenix-sample-app").string() + " \"$@\"\n",
                                    0755)
                .ok());
    return path;
  };
  rig.settings.artifact = slow_release("slow", 1);
  providers::LocalProvider provider{rig.settings, rig.clock, rig.reporter};
  auto pool = provider.create_pool(rig.spec("6", 2));
  REQUIRE(pool.ok());
  // What an interrupted run leaves: server 1 recorded and still starting (slower than any
  // new one), server 2 recorded but gone, the pool not complete.
  testing::stop_pool_processes(rig.dir.path() / "state");
  const auto directory = rig.dir.path() / "state" / "web" / "pools" / "6";
  const auto& first = pool->servers[0];
  auto starting =
      util::spawn_detached({{slow_release("slower", 3).string(), "--listen", first.address(), "--release", "6"},
                            directory,
                            directory / "logs" / "1.log"});
  REQUIRE(starting.ok());
  auto record = util::parse_json(*util::read_file(directory / "pool.json"), "pool.json");
  cJSON* recorded = cJSON_GetArrayItem(cJSON_GetObjectItem(record->get(), "servers"), 0);
  cJSON_ReplaceItemInObject(recorded, "pid", cJSON_CreateNumber(starting->pid));
  cJSON_ReplaceItemInObject(recorded, "start_ticks", cJSON_CreateNumber(static_cast<double>(starting->start_ticks)));
  cJSON_ReplaceItemInObject(record->get(), "complete", cJSON_CreateFalse());
  REQUIRE(util::write_file_atomic(directory / "pool.json", util::print_json(record->get(), true)).ok());

  auto again = provider.create_pool(rig.spec("6", 2));
  REQUIRE(again.ok());
  CHECK(rig.reporter.saw("adopting 1 server of pool 6 that an interrupted run started"));
  CHECK(rig.reporter.saw("starting 1 server of pool 6 at once"));
  // Returned only once both listen, the adopted one still the same process.
  for (const auto& server : again->servers) {
    CHECK(testing::http_get("http://" + server.address() + "/").second == "6\n");
  }
  CHECK(util::is_running(*starting));
  REQUIRE(provider.destroy_pool(*again).ok());
  CHECK_FALSE(util::is_running(*starting));
}

TEST_CASE("a re-run stops and starts anew a server an interrupted run recorded but never released",
          "[local-provider]") {
  LocalProviderRig rig;
  auto pool = rig.provider.create_pool(rig.spec("7", 1));
  REQUIRE(pool.ok());
  testing::stop_pool_processes(rig.dir.path() / "state");
  const auto directory = rig.dir.path() / "state" / "web" / "pools" / "7";
  std::filesystem::remove(directory / "logs" / "1.log");  // the held process never writes one
  // What a run killed between recording and releasing leaves on a loaded machine: the held
  // process, its gate closed, not yet scheduled to notice it (modelled by SIGSTOP). Alive now,
  // it exits without running anything as soon as it runs again.
  util::ProcessIdentity held;
  {
    auto process = util::GatedProcess::spawn(
        {{(testing::binary_directory() / "phoenix-sample-app").string(), "--listen", pool->servers[0].address()},
         directory,
         directory / "logs" / "1.log"});
    REQUIRE(process.ok());
    held = process->identity();
    // Stopped once it waits at its gate (it leads a session of its own by then), so that it
    // has dropped this test's signal handlers.
    for (int i = 0; i < 500 && session_of(held.pid) != held.pid; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    REQUIRE(session_of(held.pid) == held.pid);
    REQUIRE(::kill(held.pid, SIGSTOP) == 0);
  }  // the gate closes here, as when its creator dies
  REQUIRE(util::is_running(held));
  auto record = util::parse_json(*util::read_file(directory / "pool.json"), "pool.json");
  cJSON* recorded = cJSON_GetArrayItem(cJSON_GetObjectItem(record->get(), "servers"), 0);
  cJSON_ReplaceItemInObject(recorded, "pid", cJSON_CreateNumber(held.pid));
  cJSON_ReplaceItemInObject(recorded, "start_ticks", cJSON_CreateNumber(static_cast<double>(held.start_ticks)));
  cJSON_ReplaceItemInObject(recorded, "released", cJSON_CreateFalse());
  cJSON_ReplaceItemInObject(record->get(), "complete", cJSON_CreateFalse());
  REQUIRE(util::write_file_atomic(directory / "pool.json", util::print_json(record->get(), true)).ok());
  // It gets the CPU again a second later, while the re-run waits for its servers.
  std::thread scheduler([&] {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (util::is_running(held)) ::kill(held.pid, SIGCONT);
  });

  auto again = rig.provider.create_pool(rig.spec("7", 1));
  scheduler.join();
  INFO((again.ok() ? std::string("created") : again.error().message));
  REQUIRE(again.ok());
  CHECK(rig.reporter.saw("stopping 1 server of pool 7 that an interrupted run had not released"));
  CHECK(rig.reporter.saw("starting 1 server of pool 7 at once"));
  CHECK(testing::http_get("http://" + again->servers[0].address() + "/").second == "7\n");
  CHECK_FALSE(util::is_running(held));
  REQUIRE(rig.provider.destroy_pool(*again).ok());
}

TEST_CASE("two creates of the same pool at once: one set of servers, both succeed", "[local-provider]") {
  LocalProviderRig rig;
  fakes::RecordingReporter other_reporter;
  providers::LocalProvider other{rig.settings, rig.clock, other_reporter};
  Result<Pool> first = Error{ErrorKind::failed, "not run"};
  Result<Pool> second = Error{ErrorKind::failed, "not run"};
  std::thread racer([&] { second = other.create_pool(rig.spec("8", 3)); });
  first = rig.provider.create_pool(rig.spec("8", 3));
  racer.join();
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  std::set<std::string> addresses;
  for (const auto& pool : {*first, *second}) {
    for (const auto& server : pool.servers) addresses.insert(server.address());
  }
  CHECK(addresses.size() == 3);
  REQUIRE(rig.provider.destroy_pool(*first).ok());
  for (const auto& address : addresses) CHECK(testing::http_get("http://" + address + "/").first == 0);
}

TEST_CASE("a pool whose pool.json is corrupt is listed as unreadable with the servers that still run",
          "[local-provider][unreadable]") {
  LocalProviderRig rig;
  auto pool = rig.provider.create_pool(rig.spec("4", 2));
  REQUIRE(pool.ok());
  rig.keep_record_copy("4");
  const auto record = rig.dir.path() / "state" / "web" / "pools" / "4" / "pool.json";
  REQUIRE(util::write_file_atomic(record, "{\"label\": \"4\", \"servers\": [").ok());

  auto listed = rig.provider.list_pools();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  const Pool& unreadable = listed->front();
  CHECK(unreadable.label() == "4");
  CHECK_FALSE(unreadable.readable());
  CHECK_FALSE(unreadable.complete);
  CHECK_THAT(unreadable.unreadable, Catch::Contains(record.string()));
  // Found in the process table: the id from the log each server writes, the address from the
  // socket it listens on.
  REQUIRE(unreadable.servers.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(unreadable.servers[i].id == pool->servers[i].id);
    CHECK(unreadable.servers[i].address() == pool->servers[i].address());
    CHECK(unreadable.servers[i].state == ServerState::running);
  }
  CHECK_FALSE(rig.reporter.saw("skipping"));
}

TEST_CASE("deleting an unreadable pool stops every process Phoenix started for it, and nothing else",
          "[local-provider][unreadable]") {
  LocalProviderRig rig;
  auto pool = rig.provider.create_pool(rig.spec("4", 2));
  REQUIRE(pool.ok());
  const auto directory = rig.dir.path() / "state" / "web" / "pools" / "4";
  auto text = util::read_file(directory / "pool.json");
  REQUIRE(text.ok());
  auto document = util::parse_json(*text, "pool.json");
  REQUIRE(document.ok());
  std::vector<util::ProcessIdentity> servers;
  const cJSON* server = nullptr;
  cJSON_ArrayForEach(server, cJSON_GetObjectItem(document->get(), "servers")) {
    servers.push_back({static_cast<pid_t>(util::json_number(server, "pid").value_or(0)),
                       static_cast<std::uint64_t>(util::json_number(server, "start_ticks").value_or(0))});
  }
  REQUIRE(servers.size() == 2);
  rig.keep_record_copy("4");
  // A shell an operator left in the pool's directory: same working directory, not Phoenix's.
  // It lives long enough for a slow (sanitized, loaded) run and is stopped however the test ends.
  auto bystander = util::spawn_detached({{"sleep", "300"}, directory, {}, std::nullopt});
  REQUIRE(bystander.ok());
  const std::unique_ptr<void, std::function<void(void*)>> stop_bystander(
      &bystander, [&](void*) { util::stop_process(*bystander, std::chrono::seconds(1)); });
  REQUIRE(util::write_file_atomic(directory / "pool.json", "").ok());

  auto listed = rig.provider.list_pools();
  REQUIRE(listed->size() == 1);
  REQUIRE_FALSE(listed->front().readable());
  const auto destroyed = rig.provider.destroy_pool(listed->front());
  INFO((destroyed.ok() ? std::string() : destroyed.error().message));
  CHECK(destroyed.ok());
  for (const auto& process : servers) CHECK_FALSE(util::is_running(process));
  CHECK(util::is_running(*bystander));
  CHECK_FALSE(std::filesystem::exists(directory));
  CHECK(rig.provider.list_pools()->empty());
}

TEST_CASE("a pool whose pool.json was deleted while its servers run is listed as unreadable",
          "[local-provider][unreadable]") {
  LocalProviderRig rig;
  auto pool = rig.provider.create_pool(rig.spec("5", 1));
  REQUIRE(pool.ok());
  const auto directory = rig.dir.path() / "state" / "web" / "pools" / "5";
  rig.keep_record_copy("5");
  std::filesystem::remove(directory / "pool.json");

  auto listed = rig.provider.list_pools();
  REQUIRE(listed->size() == 1);
  CHECK_FALSE(listed->front().readable());
  CHECK(listed->front().servers.size() == 1);
  REQUIRE(rig.provider.destroy_pool(listed->front()).ok());
  CHECK(testing::http_get("http://" + pool->servers[0].address() + "/").first == 0);

  // A directory without pool.json and without a server (a create that has not recorded any
  // yet) is not a pool.
  std::filesystem::create_directories(rig.dir.path() / "state" / "web" / "pools" / "6");
  CHECK(rig.provider.list_pools()->empty());
  CHECK(rig.reporter.saw("skipping pool directory"));
}

// A pool.json copied or edited into another pool's directory would stand for the pool its label
// names: it is unreadable, like a corrupt one, so nothing acts on it; the pool it names stays.
TEST_CASE("a pool.json whose label is not its directory's is unreadable", "[local-provider][unreadable]") {
  LocalProviderRig rig;
  REQUIRE(rig.provider.create_pool(rig.spec("4", 1)).ok());
  REQUIRE(rig.provider.create_pool(rig.spec("5", 1)).ok());
  rig.keep_record_copy("5");
  const auto record = rig.dir.path() / "state" / "web" / "pools" / "5" / "pool.json";
  auto document = util::parse_json(*util::read_file(record), record.string());
  REQUIRE(document.ok());
  cJSON_ReplaceItemInObject(document->get(), "label", cJSON_CreateString("4"));
  REQUIRE(util::write_file_atomic(record, util::print_json(document->get(), true)).ok());

  auto listed = rig.provider.list_pools();
  REQUIRE(listed.ok());
  sort_newest_first(*listed);
  REQUIRE(listed->size() == 2);
  const Pool* four = find_pool(*listed, "4");
  const Pool* five = find_pool(*listed, "5");
  REQUIRE(four != nullptr);
  REQUIRE(five != nullptr);
  CHECK(four->readable());
  CHECK_FALSE(five->readable());
  CHECK(five->unreadable == record.string() + " names label 4, not 5 (the directory it is in)");
  CHECK(five->servers.size() == 1);  // found in the process table
  PoolMetadata meta;
  meta.label = "5";
  meta.verdict = LiveVerdict::bad;
  CHECK_FALSE(rig.provider.update_metadata(meta).ok());
  REQUIRE(rig.provider.destroy_pool(*five).ok());
  REQUIRE(rig.provider.destroy_pool(*four).ok());
}

// A create that failed before writing pool.json (disk full while copying the release) leaves a
// directory with no record and no process: the warning names the ways out, and
// remove_unrecorded removes it; a directory with a record or with a process of it is not removed.
TEST_CASE("a pool directory without pool.json is named with its ways out and can be removed",
          "[local-provider][unreadable]") {
  LocalProviderRig rig;
  const auto directory = rig.dir.path() / "state" / "web" / "pools" / "9";
  std::filesystem::create_directories(directory / "release.partial");
  REQUIRE(util::write_file_atomic(directory / "release.partial" / "half", "x").ok());

  CHECK(rig.provider.list_pools()->empty());
  CHECK(rig.reporter.saw("warning: skipping pool directory " + directory.string() +
                         ": it has no pool.json (a create of it is running, or failed before recording it); "
                         "'create-pipeline create --label 9' finishes it, 'create-pipeline delete --label 9' removes "
                         "it"));
  CHECK(rig.provider.remove_unrecorded("8", false).value() == false);  // nothing there
  CHECK(rig.provider.remove_unrecorded("9", true).value() == true);
  CHECK(std::filesystem::exists(directory));  // a dry run only looks
  CHECK(rig.provider.remove_unrecorded("9", false).value() == true);
  CHECK_FALSE(std::filesystem::exists(directory));
  CHECK(rig.provider.list_pools()->empty());

  // A pool with a record is no leftover.
  REQUIRE(rig.provider.create_pool(rig.spec("4", 1)).ok());
  rig.keep_record_copy("4");
  CHECK(rig.provider.remove_unrecorded("4", false).value() == false);
  // A process of it that runs (its record lost) is never left running unaccounted for: the
  // directory is listed as an unreadable pool, and remove_unrecorded refuses.
  std::filesystem::remove(directory.parent_path() / "4" / "pool.json");
  const auto removed = rig.provider.remove_unrecorded("4", false);
  REQUIRE_FALSE(removed.ok());
  CHECK_THAT(removed.error().message, Catch::Contains("pool 4 has no record, yet 1 process of it runs"));
  CHECK(std::filesystem::exists(directory.parent_path() / "4"));
  auto listed = rig.provider.list_pools();
  REQUIRE(listed->size() == 1);
  REQUIRE(rig.provider.destroy_pool(listed->front()).ok());
}

TEST_CASE("a pool whose record changes readability while it is deleted is kept", "[local-provider][unreadable]") {
  LocalProviderRig rig;
  auto pool = rig.provider.create_pool(rig.spec("7", 1));
  REQUIRE(pool.ok());
  const auto record = rig.dir.path() / "state" / "web" / "pools" / "7" / "pool.json";
  rig.keep_record_copy("7");
  const auto text = *util::read_file(record);
  REQUIRE(util::write_file_atomic(record, "garbage").ok());
  auto listed = rig.provider.list_pools();
  REQUIRE(listed->size() == 1);
  // Restored between the listing and the delete: the caller's checks were made on another pool.
  REQUIRE(util::write_file_atomic(record, text).ok());
  const auto destroyed = rig.provider.destroy_pool(listed->front());
  REQUIRE_FALSE(destroyed.ok());
  CHECK_THAT(destroyed.error().message, Catch::Contains("became readable"));
  CHECK(testing::http_get("http://" + pool->servers[0].address() + "/").second == "7\n");
  REQUIRE(rig.provider.destroy_pool(*pool).ok());
}

// A prune judged pool 7 incomplete and unjudged, then waited for its lock while a resumed
// create-pipeline run finished and smoke-tested it; the delete went ahead on the old judgement.
TEST_CASE("a pool that a run finished while its delete waited is kept", "[local-provider]") {
  LocalProviderRig rig;
  auto pool = rig.provider.create_pool(rig.spec("7", 1));
  REQUIRE(pool.ok());
  Pool judged = *pool;
  judged.complete = false;  // as listed before the run finished it
  judged.meta.smoke = SmokeVerdict::pending;
  auto meta = pool->meta;
  meta.smoke = SmokeVerdict::passed;
  REQUIRE(rig.provider.update_metadata(meta).ok());
  const auto destroyed = rig.provider.destroy_pool(judged);
  REQUIRE_FALSE(destroyed.ok());
  CHECK(destroyed.error().kind == ErrorKind::refused);
  CHECK(destroyed.error().is(ErrorCode::changed_concurrently));
  CHECK(destroyed.error().message ==
        "pool 7 changed while this waited for its lock (now complete, smoke verdict passed: a create-pipeline run "
        "finished it meanwhile); nothing was deleted, look at it again");
  CHECK(testing::http_get("http://" + pool->servers[0].address() + "/").second == "7\n");
  auto listed = rig.provider.list_pools();
  REQUIRE(listed.ok());
  REQUIRE(rig.provider.destroy_pool(listed->front()).ok());
}

// A delete that could not remove the pool's directory (a file in it cannot be removed) left a
// hidden directory for good: the pool vanished from the list and nothing finished it. The pool
// lists half deleted, the error says what is left and how to finish, and a delete finishes it.
TEST_CASE("a delete that stops part-way leaves the pool listed half deleted until a delete finishes it",
          "[local-provider][deleting]") {
  LocalProviderRig rig;
  auto pool = rig.provider.create_pool(rig.spec("6", 2));
  REQUIRE(pool.ok());
  const auto pools = rig.dir.path() / "state" / "web" / "pools";
  {
    testing::Unwritable stuck(pools / "6" / "logs");
    REQUIRE(stuck.active());
    const auto destroyed = rig.provider.destroy_pool(*pool);
    REQUIRE_FALSE(destroyed.ok());
    CHECK_THAT(destroyed.error().message,
               Catch::StartsWith("pool 6 is half deleted (its servers are stopped): cannot remove " +
                                 (pools / ".deleting-6-").string()) &&
                   Catch::Contains("; left there: ") && Catch::Contains(" files, for example logs/") &&
                   Catch::EndsWith(". Once that can be removed (permissions, chattr +i, a mount under it), "
                                   "'create-pipeline delete --label 6' finishes the delete"));
    for (const auto& server : pool->servers) CHECK(testing::http_get("http://" + server.address() + "/").first == 0);

    auto listed = rig.provider.list_pools();
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 1);
    const Pool& half = listed->front();
    CHECK(half.label() == "6");
    CHECK(half.deleting);
    CHECK_FALSE(half.readable());
    CHECK_FALSE(half.complete);
    CHECK_THAT(half.unreadable,
               Catch::StartsWith("a delete of it stopped part-way and left " + (pools / ".deleting-6-").string()));
    CHECK(half.servers.empty());
    // While it still cannot be removed, deleting again says the same, and the pool stays listed.
    const auto again = rig.provider.destroy_pool(half);
    REQUIRE_FALSE(again.ok());
    CHECK_THAT(again.error().message, Catch::StartsWith("pool 6 is half deleted"));
    CHECK(rig.provider.list_pools()->size() == 1);
  }
  auto listed = rig.provider.list_pools();
  REQUIRE(listed->size() == 1);
  REQUIRE(rig.provider.destroy_pool(listed->front()).ok());
  CHECK(rig.provider.list_pools()->empty());
  CHECK(std::filesystem::is_empty(pools));
}

// What a delete left may still have servers running in it (a run killed between renaming the
// directory and stopping them, by an older Phoenix, or a process started there by hand): they are
// listed with the pool, never forgotten, and the delete that finishes it stops them.
TEST_CASE("servers still running in what a delete left are listed with the pool and stopped by the delete",
          "[local-provider][deleting]") {
  LocalProviderRig rig;
  auto pool = rig.provider.create_pool(rig.spec("8", 1));
  REQUIRE(pool.ok());
  rig.keep_record_copy("8");
  const auto pools = rig.dir.path() / "state" / "web" / "pools";
  std::filesystem::rename(pools / "8", pools / ".deleting-8-1");

  auto listed = rig.provider.list_pools();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  const Pool& half = listed->front();
  CHECK(half.deleting);
  REQUIRE(half.servers.size() == 1);
  CHECK(half.servers[0].id == "1");
  CHECK(half.servers[0].address() == pool->servers[0].address());
  CHECK(half.servers[0].state == ServerState::running);
  CHECK(describe_unreadable(half) ==
        "pool 8 is half deleted: " + half.unreadable + "; 1 server of it still runs (" + pool->servers[0].address() +
            "). Once what stopped it is fixed, 'create-pipeline delete --label 8' (or prune) stops every process of "
            "it and finishes the delete");

  REQUIRE(rig.provider.destroy_pool(half).ok());
  CHECK(testing::http_get("http://" + pool->servers[0].address() + "/").first == 0);
  CHECK_FALSE(std::filesystem::exists(pools / ".deleting-8-1"));
  CHECK(rig.provider.list_pools()->empty());
}
