#include "shared/util/files.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::util;

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
