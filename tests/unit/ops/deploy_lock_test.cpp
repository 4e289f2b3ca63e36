#include "shared/ops/deploy_lock.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "fakes/fake_services.hpp"
#include "shared/ops/status_operations.hpp"
#include "shared/util/process.hpp"

using namespace phoenix;

TEST_CASE("the lock holder is this process: host, pid and start time", "[ops][lock]") {
  fakes::FakeWorld world;
  world.services.identity.pid = ::getpid();
  const auto holder = ops::make_holder(world.services, "deploy --label 3");
  CHECK(holder.host == "agent-1");
  CHECK(holder.pid == ::getpid());
  REQUIRE(util::process_start_ticks(::getpid()));
  CHECK(holder.start_ticks == *util::process_start_ticks(::getpid()));
  CHECK(holder.command == "deploy --label 3");
}

TEST_CASE("a lock that cannot be taken says whether its holder runs (busy) or is stale", "[ops][lock]") {
  fakes::FakeWorld world;
  world.state.lock = LockHolder{.host = "agent-2", .pid = 99, .job = "", .command = "prune", .since = {}};
  SECTION("a holder that runs: waiting may help") {
    const auto refused = ops::DeployLock::take(world.services, "rollback", false);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::refused);
    CHECK(refused.error().is(ErrorCode::lock_busy));
  }
  SECTION("a stale holder: nobody releases it, only --break-lock takes it") {
    world.state.holder_gone = true;
    const auto refused = ops::DeployLock::take(world.services, "rollback", false);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::refused);
    CHECK(refused.error().is(ErrorCode::lock_stale));
    CHECK(ops::DeployLock::take(world.services, "rollback", true).ok());
  }
}

// A record that could not be read names no holder (a default one): the takeover says so, never
// "pid 0 ... since 1970".
TEST_CASE("taking over a lock whose record could not be read says so", "[ops][lock]") {
  fakes::FakeWorld world;
  world.state.lock_record_unreadable = true;
  const auto refused = ops::DeployLock::take(world.services, "deploy --label 1", false);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message ==
        "the deploy lock is stale: the lock record cannot be read; re-run with --break-lock to take it over");
  // Stale, not busy: a caller that waits for the lock (the automatic rollback) stops waiting.
  CHECK(refused.error().is(ErrorCode::lock_stale));
  REQUIRE(ops::DeployLock::take(world.services, "deploy --label 1", true).ok());
  CHECK(world.reporter.saw("took over the deploy lock of service web: its record could not be read"));
  CHECK_FALSE(world.reporter.saw("pid 0"));
  CHECK_FALSE(world.reporter.saw("1970"));
}

// Whether the record was read is its own state, not an empty host: a readable record that names
// no host still names its holder (pid, since when, what it ran).
TEST_CASE("taking over a readable lock whose holder names no host names that holder", "[ops][lock]") {
  fakes::FakeWorld world;
  world.state.lock = LockHolder{.host = "", .pid = 4242, .job = "", .command = "prune", .since = {}};
  world.state.holder_gone = true;
  const auto refused = ops::DeployLock::take(world.services, "deploy --label 1", false);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("(held by pid 4242 on an unknown host since"));
  // Its holder is gone: it ran 'prune', it is not "running" it.
  CHECK_THAT(refused.error().message, Catch::Contains(", left by 'prune')"));
  const auto dry = ops::DeployLock::take_unless_dry_run(world.services, "deploy --label 1", true, false);
  REQUIRE_FALSE(dry.ok());
  CHECK_THAT(dry.error().message, Catch::Contains(", left by 'prune')"));
  CHECK_THAT(dry.error().message, !Catch::Contains("running '"));
  REQUIRE(ops::DeployLock::take(world.services, "deploy --label 1", true).ok());
  CHECK(world.reporter.saw("took over the stale deploy lock of pid 4242 on an unknown host since"));
  CHECK(world.reporter.saw(", which was running 'prune'"));
  CHECK_FALSE(world.reporter.saw("could not be read"));
}

// A lock held from another host is judged by age alone: one that ages out before a switch's own
// waits end makes a running switch look stale. Warned when the lock is taken (or a dry run
// looks at it); the command goes on.
TEST_CASE("taking the lock warns when lock.stale_after_s is shorter than health plus drain timeouts", "[ops][lock]") {
  fakes::FakeWorld world;
  world.config.balancer.health_timeout = std::chrono::seconds(30);
  world.config.balancer.drain_timeout = std::chrono::seconds(30);
  world.config.lock_stale_after = std::chrono::seconds(60);
  REQUIRE(ops::DeployLock::take(world.services, "deploy --label 2", false).ok());
  CHECK_FALSE(world.reporter.saw("lock.stale_after_s"));
  world.config.lock_stale_after = std::chrono::seconds(59);
  REQUIRE(ops::DeployLock::take_unless_dry_run(world.services, "deploy --label 2", true, false).ok());
  CHECK(
      world.reporter.saw("warning: lock.stale_after_s (59) is shorter than health_timeout_s + drain_timeout_s (60): "
                         "a switch run from another host looks stale while it waits; raise lock.stale_after_s"));
}

namespace {

// A child of this test stopped as Ctrl-Z stops a deploy; killed and reaped when it goes.
class StoppedChild {
 public:
  StoppedChild() : pid_(::fork()) {
    if (pid_ == 0) {
      ::pause();
      ::_exit(0);
    }
    ::kill(pid_, SIGSTOP);
    int status = 0;
    ::waitpid(pid_, &status, WUNTRACED);  // returns once it is stopped
  }
  ~StoppedChild() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  StoppedChild(const StoppedChild&) = delete;
  StoppedChild& operator=(const StoppedChild&) = delete;
  pid_t pid() const { return pid_; }
  void resume() const {
    ::kill(pid_, SIGCONT);
    int status = 0;
    ::waitpid(pid_, &status, WCONTINUED);
  }

 private:
  pid_t pid_;
};

}  // namespace

// Ctrl-Z on a deploy: its process runs no step and a SIGTERM waits with it, so neither "wait for
// it to finish" nor "stop it first" gets the lock back; the refusal names what does.
TEST_CASE("a lock holder on this host that is stopped is named, with kill -CONT or kill -9", "[ops][lock]") {
  const StoppedChild child;
  fakes::FakeWorld world;
  world.state.lock = LockHolder{.host = "agent-1",
                                .pid = child.pid(),
                                .job = "",
                                .command = "deploy 6",
                                .since = {},
                                .start_ticks = util::process_start_ticks(child.pid()).value_or(0)};
  const std::string pid = std::to_string(child.pid());
  const std::string stopped = "the deploy lock holder pid " + pid + " is stopped (SIGSTOP/Ctrl-Z): 'kill -CONT " + pid +
                              "' lets it finish, 'kill -9 " + pid + "' ends it, then --break-lock";
  CHECK(ops::stopped_holder(world.services, *world.state.lock) == stopped);
  for (const bool break_lock : {false, true}) {
    const auto refused = ops::DeployLock::take(world.services, "rollback", break_lock);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::refused);
    CHECK_THAT(refused.error().message, Catch::EndsWith(stopped));
    // Not "running 'deploy 6'": the holder runs no step.
    CHECK_THAT(refused.error().message, Catch::Contains(", stopped in 'deploy 6'; "));
    CHECK_THAT(refused.error().message, !Catch::Contains("running '"));
    const auto dry = ops::DeployLock::take_unless_dry_run(world.services, "rollback", true, break_lock);
    REQUIRE_FALSE(dry.ok());
    CHECK_THAT(dry.error().message, Catch::EndsWith(stopped));
    CHECK_THAT(dry.error().message, Catch::Contains(", stopped in 'deploy 6'; "));
    CHECK_THAT(dry.error().message, !Catch::Contains("running '"));
  }
  const auto report = ops::status(world.services);
  REQUIRE(report.ok());
  CHECK(std::find(report->problems.begin(), report->problems.end(), stopped) != report->problems.end());

  child.resume();  // running again: an ordinary busy holder
  CHECK_FALSE(ops::stopped_holder(world.services, *world.state.lock));
  const auto busy = ops::DeployLock::take(world.services, "rollback", true);
  REQUIRE_FALSE(busy.ok());
  CHECK_THAT(busy.error().message, !Catch::Contains("is stopped"));
  const auto after = ops::status(world.services);
  REQUIRE(after.ok());
  CHECK(std::none_of(after->problems.begin(), after->problems.end(),
                     [](const std::string& problem) { return problem.find("is stopped") != std::string::npos; }));
}

// Another host's process table cannot be read here: its holder is judged by age, never "stopped".
TEST_CASE("a stopped pid named by a holder on another host is not this host's process", "[ops][lock]") {
  const StoppedChild child;
  fakes::FakeWorld world;
  const LockHolder elsewhere{.host = "agent-2", .pid = child.pid(), .job = "", .command = "deploy 6", .since = {}};
  CHECK_FALSE(ops::stopped_holder(world.services, elsewhere));
}

// A dry run takes no lock, so without asking it would plan a switch the real run cannot start.
TEST_CASE("a dry run fails as the real run would when the lock could not be written", "[ops][lock][dry-run]") {
  fakes::FakeWorld world;
  world.services.state_writable = [] { return Status(Error{ErrorKind::failed, "the state directory is read-only"}); };
  const auto dry = ops::DeployLock::take_unless_dry_run(world.services, "rollback --to 1", true, false);
  REQUIRE_FALSE(dry.ok());
  CHECK(dry.error().kind == ErrorKind::failed);
  CHECK(dry.error().message == "a real 'rollback --to 1' would fail: the state directory is read-only");
  CHECK_FALSE(world.state.lock.has_value());

  world.services.state_writable = [] { return Status{}; };
  CHECK(ops::DeployLock::take_unless_dry_run(world.services, "rollback --to 1", true, false).ok());
}
