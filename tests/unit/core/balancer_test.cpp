#include "shared/core/balancer.hpp"

#include <catch2/catch.hpp>

using namespace phoenix;

TEST_CASE("a pool's members are all up only when it has some and every one is up", "[balancer][standby]") {
  CHECK(all_members_up(3, 3));
  CHECK_FALSE(all_members_up(2, 3));
  CHECK_FALSE(all_members_up(0, 0));
}

// allow_runtime_only()'s contract, as balancers keep it: refused until allowed; then one check,
// made at the first question, warned once when it fails, and held to.
TEST_CASE("runtime-only keeping: refused until allowed, then one check, warned once", "[balancer][durable]") {
  int checks = 0;
  bool can_write = false;
  const auto writable = [&]() -> Status {
    ++checks;
    if (can_write) return {};
    return Error{ErrorKind::invalid, "cannot be kept current"};
  };
  std::vector<std::string> warned;
  const auto warn = [&warned](const Error& why) { warned.push_back(why.message); };

  RuntimeOnlyKeeping keeping;
  CHECK_FALSE(keeping.runtime_only(writable));  // not allowed: persist() writes, unchecked
  CHECK(checks == 0);
  const auto refused = keeping.check(writable);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == "cannot be kept current");
  CHECK(keeping.check(writable).error().kind == ErrorKind::invalid);  // asked every time
  CHECK(checks == 2);

  keeping.allow(warn);
  CHECK(checks == 2);                         // allowing checks nothing
  CHECK_FALSE(keeping.found_runtime_only());  // not checked yet
  CHECK(keeping.check(writable).ok());
  CHECK(keeping.found_runtime_only());
  CHECK(checks == 3);  // asking what was found checks nothing
  CHECK(keeping.check(writable).ok());
  CHECK(keeping.runtime_only(writable));
  keeping.allow(warn);  // allowed again: decided already
  can_write = true;
  CHECK(keeping.runtime_only(writable));  // the answer holds
  CHECK(checks == 3);
  CHECK(warned == std::vector<std::string>{"cannot be kept current"});

  RuntimeOnlyKeeping found_writable;
  found_writable.allow(warn);
  CHECK_FALSE(found_writable.runtime_only(writable));  // the first question is persist()'s
  CHECK(found_writable.check(writable).ok());
  CHECK_FALSE(found_writable.found_runtime_only());
  CHECK(checks == 4);
  CHECK(warned.size() == 1);
}
