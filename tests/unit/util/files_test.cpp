#include "shared/util/files.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "support/harness.hpp"
#include "support/unwritable.hpp"

using namespace phoenix;
using namespace phoenix::util;

namespace {

// A pid that ran and no longer does: a child that exited and was reaped.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

void make_old_file(const fs::path& path) {
  REQUIRE(write_file_atomic(path, "partial").ok());
  fs::last_write_time(path, fs::file_time_type::clock::now() - std::chrono::minutes(5));
}

}  // namespace

// kill -9 between creating and renaming the temporary file leaves it behind: the sweep its
// owner runs once per command removes it, but never a live writer's, a fresh one, or another
// file's.
TEST_CASE("the sweep removes the temporary files dead writers left of the files it names", "[files]") {
  phoenix::testing::TempDir dir;
  const auto path = dir.path() / "intent.json";
  const std::string dead = std::to_string(dead_pid());
  REQUIRE(::kill(std::stoi(dead), 0) != 0);
  const auto dead_writers = dir.path() / ("intent.json.tmp-" + dead + "-818146");
  const auto live_writers = dir.path() / ("intent.json.tmp-" + std::to_string(::getppid()) + "-16915795");
  const auto fresh = dir.path() / ("intent.json.tmp-" + dead + "-1");
  const auto other_file = dir.path() / ("lock.json.tmp-" + dead + "-7");
  const auto not_ours = dir.path() / ("intent.json.tmp-" + dead + "-x");
  for (const auto& file : {dead_writers, live_writers, other_file, not_ours}) make_old_file(file);
  REQUIRE(write_file_atomic(fresh, "being written").ok());

  // An atomic write alone sweeps nothing (it would read the directory on every write).
  REQUIRE(write_file_atomic(path, "{}").ok());
  CHECK(fs::exists(dead_writers));
  remove_dead_writers_temporaries(dir.path(), {"intent.json"});
  CHECK_FALSE(fs::exists(dead_writers));
  CHECK(fs::exists(live_writers));
  CHECK(fs::exists(fresh));
  CHECK(fs::exists(other_file));
  CHECK(fs::exists(not_ours));
  CHECK(read_file(path).value() == "{}");
}

TEST_CASE("atomic writes replace whole files and keep their mode", "[files]") {
  phoenix::testing::TempDir dir;
  const auto path = dir.path() / "state.json";
  REQUIRE(write_file_atomic(path, "one").ok());
  CHECK(read_file(path).value() == "one");
  ::chmod(path.c_str(), 0600);
  REQUIRE(write_file_atomic(path, "two").ok());
  CHECK(read_file(path).value() == "two");
  struct stat info {};
  ::stat(path.c_str(), &info);
  CHECK((info.st_mode & 0777) == 0600);
  // No temporary files are left behind.
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("exclusive creation refuses an existing file", "[files]") {
  phoenix::testing::TempDir dir;
  const auto path = dir.path() / "lock";
  REQUIRE(create_exclusive(path, "a").ok());
  const auto again = create_exclusive(path, "b");
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == ErrorKind::refused);
  CHECK(read_file(path).value() == "a");
}

// The deploy lock is made with create_exclusive: a reader (status, --break-lock) that saw the
// name with no content yet would judge a live holder's lock unreadable, hence stale.
TEST_CASE("a file created exclusively is never seen empty, and leaves no temporary file", "[files][lock]") {
  phoenix::testing::TempDir dir;
  const auto path = dir.path() / "deploy.lock";
  std::atomic<bool> done{false};
  auto reader = std::async(std::launch::async, [&] {
    int seen_empty = 0;
    while (!done) {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      struct stat info {};
      if (::fstat(fd, &info) == 0 && info.st_size == 0) ++seen_empty;
      ::close(fd);
    }
    return seen_empty;
  });
  for (int i = 0; i < 5000; ++i) {
    REQUIRE(create_exclusive(path, "{\"pid\": 1}", false).ok());
    REQUIRE(::unlink(path.c_str()) == 0);
  }
  done = true;
  CHECK(reader.get() == 0);
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("reading a directory or a missing file is a clear invalid error", "[files]") {
  phoenix::testing::TempDir dir;
  CHECK_THAT(read_file(dir.path()).error().message, Catch::Contains("it is a directory"));
  CHECK_THAT(read_file(dir.path() / "missing").error().message, Catch::Contains("no such file"));
}

TEST_CASE("copy_tree copies files and folders, keeping permissions", "[files]") {
  phoenix::testing::TempDir dir;
  REQUIRE(make_directories(dir.path() / "src" / "bin").ok());
  REQUIRE(write_file_atomic(dir.path() / "src" / "bin" / "app", "#!/bin/sh\n", 0755).ok());
  REQUIRE(copy_tree(dir.path() / "src", dir.path() / "dst").ok());
  struct stat info {};
  REQUIRE(::stat((dir.path() / "dst" / "bin" / "app").c_str(), &info) == 0);
  CHECK((info.st_mode & 0111) != 0);
  REQUIRE(remove_tree(dir.path() / "dst").ok());
  CHECK_FALSE(fs::exists(dir.path() / "dst"));
  CHECK(remove_tree(dir.path() / "dst").ok());
}

namespace {
// Runs `read` on its own thread and waits at most 5 s. A read still blocked in open() on the
// FIFO is released by opening the FIFO's other end, so a regression fails instead of hanging.
Result<std::string> read_fifo_within_seconds(const fs::path& fifo) {
  auto outcome = std::make_shared<std::promise<Result<std::string>>>();
  auto answer = outcome->get_future();
  std::thread([fifo, outcome] { outcome->set_value(read_file(fifo)); }).detach();
  if (answer.wait_for(std::chrono::seconds(5)) == std::future_status::ready) return answer.get();
  const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
  if (writer >= 0) ::close(writer);
  answer.wait();
  return Error{ErrorKind::timeout, "read_file blocked on the FIFO for 5 s"};
}
}  // namespace

TEST_CASE("a FIFO, a device or a file above the limit is refused at once", "[files]") {
  phoenix::testing::TempDir dir;
  const auto fifo = dir.path() / "config.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto from_fifo = read_fifo_within_seconds(fifo);
  REQUIRE_FALSE(from_fifo.ok());
  CHECK(from_fifo.error().kind == ErrorKind::invalid);
  CHECK_THAT(from_fifo.error().message, Catch::Contains("not a regular file (it is a FIFO)"));

  const auto zero = read_file("/dev/zero");
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error().kind == ErrorKind::invalid);
  CHECK_THAT(zero.error().message, Catch::Contains("/dev/zero: not a regular file (it is a character device)"));

  // A sparse file: large on paper, no disk used.
  const auto huge = dir.path() / "huge";
  REQUIRE(write_file_atomic(huge, "").ok());
  fs::resize_file(huge, kMaxFileBytes + 1);
  CHECK_THAT(read_file(huge).error().message,
             Catch::Contains("larger than " + std::to_string(kMaxFileBytes) + " bytes"));
  REQUIRE(write_file_atomic(huge, "12345").ok());
  CHECK(read_file(huge, 5).value() == "12345");
  CHECK_THAT(read_file(huge, 4).error().message, Catch::Contains("larger than 4 bytes"));
}

TEST_CASE("read_file_tail reads the end of a file, and only regular files", "[files]") {
  phoenix::testing::TempDir dir;
  const auto log = dir.path() / "server.log";
  REQUIRE(write_file_atomic(log, "first line\nlast line\n").ok());
  CHECK(read_file_tail(log, 10).value() == "last line\n");
  CHECK(read_file_tail(log, 1000).value() == "first line\nlast line\n");
  CHECK_THAT(read_file_tail("/dev/zero", 10).error().message, Catch::Contains("not a regular file"));
}

TEST_CASE("an atomic write through a symbolic link replaces the file it points to", "[files]") {
  phoenix::testing::TempDir dir;
  REQUIRE(make_directories(dir.path() / "etc").ok());
  const auto target = dir.path() / "etc" / "haproxy.cfg";
  REQUIRE(write_file_atomic(target, "old", 0640).ok());
  // A relative link to a link to the file.
  fs::create_symlink("etc/haproxy.cfg", dir.path() / "inner.cfg");
  fs::create_symlink(dir.path() / "inner.cfg", dir.path() / "haproxy.cfg");

  REQUIRE(write_file_atomic(dir.path() / "haproxy.cfg", "new").ok());
  CHECK(fs::is_symlink(dir.path() / "haproxy.cfg"));
  CHECK(fs::is_symlink(dir.path() / "inner.cfg"));
  CHECK(read_file(target).value() == "new");
  struct stat info {};
  ::stat(target.c_str(), &info);
  CHECK((info.st_mode & 0777) == 0640);
  // No temporary file beside the link or the target.
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 3);
  CHECK(std::distance(fs::directory_iterator(dir.path() / "etc"), fs::directory_iterator()) == 1);

  // A dangling link gets its file created; a loop is an error, not a replaced link.
  fs::create_symlink("etc/new.cfg", dir.path() / "dangling.cfg");
  REQUIRE(write_file_atomic(dir.path() / "dangling.cfg", "created").ok());
  CHECK(fs::is_symlink(dir.path() / "dangling.cfg"));
  CHECK(read_file(dir.path() / "etc" / "new.cfg").value() == "created");
  fs::create_symlink("loop-b", dir.path() / "loop-a");
  fs::create_symlink("loop-a", dir.path() / "loop-b");
  const auto looped = write_file_atomic(dir.path() / "loop-a", "x");
  REQUIRE_FALSE(looped.ok());
  CHECK_THAT(looped.error().message, Catch::Contains("Too many levels of symbolic links"));
  CHECK(fs::is_symlink(dir.path() / "loop-a"));
}

// The temporary file an atomic write goes through is gone by the time anyone reads the error:
// the error names the file the caller asked for.
TEST_CASE("a failed atomic write names the file, never its temporary file", "[files]") {
  phoenix::testing::TempDir dir;
  const auto path = dir.path() / "freeze.json";
  phoenix::testing::Unwritable unwritable(dir.path());
  REQUIRE(unwritable.active());
  const auto written = write_file_atomic(path, "{}");
  REQUIRE_FALSE(written.ok());
  CHECK_THAT(written.error().message, Catch::StartsWith("cannot write " + path.string() + ": "));
  CHECK_THAT(written.error().message, !Catch::Contains(".tmp-"));
}

TEST_CASE("a random suffix is a decimal number below 10^9 that differs from call to call", "[files]") {
  const std::string first = util::random_suffix();
  const std::string second = util::random_suffix();
  for (const auto& suffix : {first, second}) {
    CHECK_FALSE(suffix.empty());
    CHECK(suffix.size() <= 9);
    CHECK(suffix.find_first_not_of("0123456789") == std::string::npos);
  }
  CHECK(first != second);
}

// A guard held by a process that does not let go (stopped with SIGSTOP or Ctrl-Z while it held
// it) must not hang the next command: acquire gives up after its patience, naming the holder
// and the way on, and takes the lock once it is free.
TEST_CASE("a lock held by a stopped process is waited for a bounded time, naming the holder", "[files][lock]") {
  phoenix::testing::TempDir dir;
  const auto path = dir.path() / "history.guard";
  const pid_t holder = ::fork();
  REQUIRE(holder >= 0);
  if (holder == 0) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) ::_exit(1);
    ::raise(SIGSTOP);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(holder, &status, WUNTRACED) == holder);
  REQUIRE(WIFSTOPPED(status));
  const auto busy = FileLock::acquire(path, std::chrono::milliseconds(100));
  ::kill(holder, SIGKILL);
  ::waitpid(holder, &status, 0);
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.error().kind == ErrorKind::unavailable);
  CHECK(busy.error().is(ErrorCode::guard_busy));
  const std::string pid = std::to_string(holder);
  CHECK_THAT(busy.error().message, Catch::StartsWith("the lock file " + path.string() + " stayed held for ") &&
                                       Catch::Contains("by pid " + pid) &&
                                       Catch::Contains("stopped (SIGSTOP/Ctrl-Z): 'kill -CONT " + pid + "'"));
  CHECK(FileLock::acquire(path, std::chrono::milliseconds(100)).ok());  // the holder is gone
}
