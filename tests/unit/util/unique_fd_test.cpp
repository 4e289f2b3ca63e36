#include "shared/util/unique_fd.hpp"

#include <fcntl.h>

#include <catch2/catch.hpp>
#include <cerrno>

using phoenix::util::UniqueFd;

namespace {
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }
int open_null() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }
}  // namespace

TEST_CASE("a UniqueFd closes its descriptor exactly once, when its owner goes", "[util][unique-fd]") {
  int raw = -1;
  {
    const UniqueFd fd(open_null());
    raw = fd.get();
    REQUIRE(fd.valid());
    CHECK(is_open(raw));
  }
  CHECK_FALSE(is_open(raw));
}

TEST_CASE("moving a UniqueFd moves ownership; reset and release do what they say", "[util][unique-fd]") {
  UniqueFd first(open_null());
  const int raw = first.get();
  UniqueFd second(std::move(first));
  CHECK_FALSE(first.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is the contract
  CHECK(second.get() == raw);
  UniqueFd third;
  third = std::move(second);
  CHECK(third.get() == raw);
  CHECK(is_open(raw));

  third.reset(open_null());
  CHECK_FALSE(is_open(raw));  // the old one closed when a new one was taken

  const int kept = third.release();
  CHECK_FALSE(third.valid());
  CHECK(is_open(kept));  // released, not closed
  ::close(kept);
}
