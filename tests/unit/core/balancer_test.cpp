#include "shared/core/balancer.hpp"

#include <catch2/catch.hpp>

using namespace phoenix;

TEST_CASE("a pool's members are all up only when it has some and every one is up", "[balancer][standby]") {
  CHECK(all_members_up(3, 3));
  CHECK_FALSE(all_members_up(2, 3));
  CHECK_FALSE(all_members_up(0, 0));
}

// allow_runtime_only()'s contract, as balancers keep it: refused until allowed; then one check,
// made at the first question, held to with its reason, which keeping() gives every time it is
// asked (every rollback at runtime only warns with it).
TEST_CASE("runtime-only keeping: refused until allowed, then one check, held to with its reason",
          "[balancer][durable]") {
  int checks = 0;
  bool can_write = false;
  const auto writable = [&]() -> Status {
    ++checks;
    if (can_write) return {};
    return Error{ErrorKind::invalid, "cannot be kept current"};
  };

  RuntimeOnlyKeeping keeping;
  CHECK_FALSE(keeping.runtime_only(writable));  // not allowed: persist() writes, unchecked
  CHECK(keeping.keeping(writable).kind == KeepingKind::written);
  CHECK(checks == 0);
  const auto refused = keeping.check(writable);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == "cannot be kept current");
  CHECK(keeping.check(writable).error().kind == ErrorKind::invalid);  // asked every time
  CHECK(checks == 2);

  keeping.allow();
  CHECK(checks == 2);  // allowing checks nothing
  CHECK(keeping.check(writable).ok());
  CHECK(checks == 3);
  CHECK(keeping.check(writable).ok());
  CHECK(keeping.runtime_only(writable));
  keeping.allow();  // allowed again: decided already
  can_write = true;
  for (int asked = 0; asked < 2; ++asked) {  // the answer holds, with its reason, however often asked
    const auto answer = keeping.keeping(writable);
    CHECK(answer.kind == KeepingKind::runtime_only);
    CHECK(answer.runtime_only());
    CHECK(answer.why == "cannot be kept current");
  }
  CHECK(checks == 3);

  RuntimeOnlyKeeping found_writable;
  found_writable.allow();
  const auto answer = found_writable.keeping(writable);  // the first question may be keeping()'s
  CHECK(answer.kind == KeepingKind::written);
  CHECK(answer.why.empty());
  CHECK(found_writable.check(writable).ok());
  CHECK_FALSE(found_writable.runtime_only(writable));
  CHECK(checks == 4);
}
