// The JSON of `create-pipeline list` and `deploy-pipeline history` is what docs/json-output.md
// says, field by field: the real commands print only documented fields, and each example in the
// document has the fields the real commands print in the situation it describes (pools 1 and 2
// of 2 servers each created and deployed in turn, 1 kept hot), so neither can drift from it.

#include <catch2/catch.hpp>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "support/harness.hpp"
#include "support/json_fields.hpp"
#include "support/service_rig.hpp"

using namespace phoenix;
using namespace phoenix::testing;

TEST_CASE("list and history print exactly the documented fields, as the documented examples do",
          "[e2e][json-output][docs]") {
  const auto doc = util::read_file(source_directory() / "docs" / "json-output.md");
  REQUIRE(doc);
  ServiceRig rig({.pool_size = 2, .hot = 1}, ThenDeploy::each_in_turn);
  struct Output {
    std::string heading;
    std::string tool;
    std::vector<std::string> arguments;
  };
  const std::vector<Output> outputs = {
      {"## `create-pipeline list --output json`", "create-pipeline", {"list", "--output", "json"}},
      {"## `deploy-pipeline history --output json`", "deploy-pipeline", {"history", "--output", "json"}},
  };
  for (const auto& output : outputs) {
    INFO(output.heading);
    const auto documented = documented_fields(*doc, output.heading);
    REQUIRE_FALSE(documented.empty());
    const auto printed = rig.run(output.tool, output.arguments);
    INFO(printed.err);
    REQUIRE(printed.exit_code == 0);
    const auto real = util::parse_json(printed.out, output.tool);
    REQUIRE(real);
    const auto real_fields = key_paths(real->get());
    for (const auto& field : real_fields) {
      INFO(field);
      CHECK(documented.count(field) == 1);
    }
    const auto example = util::parse_json(documented_example(*doc, output.heading), "the example");
    REQUIRE(example);
    CHECK(key_paths(example->get()) == real_fields);
  }
}
