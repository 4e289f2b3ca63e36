#include "shared/util/writable.hpp"

#include <catch2/catch.hpp>

#include "shared/util/files.hpp"
#include "support/harness.hpp"
#include "support/unwritable.hpp"

using namespace phoenix;
using namespace phoenix::util;

TEST_CASE("a directory that accepts files passes the probe and keeps no probe file", "[writable]") {
  phoenix::testing::TempDir dir;
  const auto probe = probe_writable_directory(dir.path());
  CHECK(probe.obstacle == WriteObstacle::none);
  CHECK(probe.reason.empty());
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("the probe tells a missing directory, a file and a directory that refuses writes apart", "[writable]") {
  phoenix::testing::TempDir dir;
  CHECK(probe_writable_directory(dir.path() / "missing").obstacle == WriteObstacle::missing);
  REQUIRE(write_file_atomic(dir.path() / "file", "x").ok());
  CHECK(probe_writable_directory(dir.path() / "file").obstacle == WriteObstacle::not_directory);
  CHECK(probe_writable_directory(dir.path() / "file" / "below").obstacle == WriteObstacle::missing);
  // /proc exists, but no file can be created in it: not "missing".
  CHECK(probe_writable_directory("/proc").obstacle == WriteObstacle::other);

  const auto locked = dir.path() / "locked";
  REQUIRE(make_directories(locked).ok());
  phoenix::testing::Unwritable unwritable(locked);
  REQUIRE(unwritable.active());
  const auto probe = probe_writable_directory(locked);
  CHECK(probe.obstacle == WriteObstacle::not_writable);
  CHECK_FALSE(probe.reason.empty());
  unwritable.release();
  CHECK(fs::is_empty(locked));
}

// A dry run asks without creating anything: the same answers for what it can see.
TEST_CASE("writability checked without writing tells the same obstacles apart and creates nothing", "[writable]") {
  phoenix::testing::TempDir dir;
  CHECK(check_writable_without_writing(dir.path()).obstacle == WriteObstacle::none);
  CHECK(check_writable_without_writing(dir.path() / "missing").obstacle == WriteObstacle::missing);
  REQUIRE(write_file_atomic(dir.path() / "file", "x").ok());
  CHECK(check_writable_without_writing(dir.path() / "file").obstacle == WriteObstacle::not_directory);

  const auto locked = dir.path() / "locked";
  REQUIRE(make_directories(locked).ok());
  phoenix::testing::Unwritable unwritable(locked);
  REQUIRE(unwritable.active());
  const auto checked = check_writable_without_writing(locked);
  CHECK(checked.obstacle == WriteObstacle::not_writable);
  CHECK_FALSE(checked.reason.empty());
  unwritable.release();
  CHECK(check_writable_without_writing(locked).obstacle == WriteObstacle::none);
  CHECK(fs::is_empty(locked));
}

TEST_CASE("the nearest existing directory of a path is itself, else its nearest existing ancestor", "[writable]") {
  phoenix::testing::TempDir dir;
  CHECK(nearest_existing_directory(dir.path()) == dir.path());
  CHECK(nearest_existing_directory(dir.path() / "not" / "yet") == dir.path());
  CHECK(nearest_existing_directory("/") == "/");
  // A relative path climbs to the working directory at most.
  CHECK(nearest_existing_directory("phoenix-no-such-directory/sub") == ".");
  CHECK(nearest_existing_directory("") == ".");
}
