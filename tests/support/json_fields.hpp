#pragma once
// The fields of a JSON document as key paths, and the fields a document in docs/ lists for one
// output: what tests compare so that an output and its documentation cannot drift apart.

#include <cjson/cJSON.h>

#include <set>
#include <string>
#include <string_view>

namespace phoenix::testing {

// Every key path of `node`: "service", "pools", "pools[].servers[].id". An array's elements
// share one path ("[]"); an array of strings or numbers is its own path alone, and a key whose
// value is null is its path.
std::set<std::string> key_paths(const cJSON* node);

// The fields listed under the heading `heading` ("## `create-pipeline list --output json`") of
// the Markdown `document`: the first cell of each table row, written as `path` in backquotes,
// up to the next heading of that level. Empty when the heading is not there.
std::set<std::string> documented_fields(std::string_view document, std::string_view heading);

// The first ```json block under `heading` in `document`: the section's example. "" when none.
std::string documented_example(std::string_view document, std::string_view heading);

}  // namespace phoenix::testing
