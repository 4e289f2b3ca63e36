#pragma once
// Hetzner Cloud label selectors, as the API reference defines them: expressions joined by
// commas, all of which must hold: k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phoenix::fakes::hcloud {

using Labels = std::map<std::string, std::string>;

struct Selector {
  enum class Op { equals, not_equals, exists, not_exists, in, not_in };
  struct Expression {
    std::string key;
    Op op = Op::exists;
    std::vector<std::string> values;
  };
  std::vector<Expression> expressions;

  bool matches(const Labels& labels) const;
};

// nullopt when the selector is malformed (the API answers 422 invalid_input).
std::optional<Selector> parse_selector(std::string_view text);

// Label keys and values the API accepts.
bool valid_label_key(std::string_view key);
bool valid_label_value(std::string_view value);

}  // namespace phoenix::fakes::hcloud
