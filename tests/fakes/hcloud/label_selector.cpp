#include "fakes/hcloud/label_selector.hpp"

#include <algorithm>
#include <cctype>

#include "shared/util/strings.hpp"

namespace phoenix::fakes::hcloud {

namespace {

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool name_part(std::string_view text) {
  if (text.empty() || text.size() > 63 || !alnum(text.front()) || !alnum(text.back())) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// Splits on commas that are not inside parentheses.
std::vector<std::string> top_level_parts(std::string_view text) {
  std::vector<std::string> parts;
  std::string current;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(current);
      current.clear();
      continue;
    }
    current += c;
  }
  parts.push_back(current);
  return parts;
}

// A DNS subdomain: labels of 1-63 alphanumerics and '-' (not at either end) joined by dots,
// 253 characters at most.
bool dns_subdomain(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = text.find('.', start);
    const std::string_view label = text.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || !alnum(label.front()) || !alnum(label.back())) return false;
    if (!std::all_of(label.begin(), label.end(), [](char c) { return alnum(c) || c == '-'; })) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

// "name" or "prefix/name": the name 1-63 characters as a value's, the prefix a DNS subdomain.
bool valid_label_key(std::string_view key) {
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return name_part(key);
  return dns_subdomain(key.substr(0, slash)) && name_part(key.substr(slash + 1));
}

bool valid_label_value(std::string_view value) { return value.empty() || name_part(value); }

bool Selector::matches(const Labels& labels) const {
  for (const auto& expression : expressions) {
    const auto found = labels.find(expression.key);
    const bool has = found != labels.end();
    const auto in_values = [&] {
      return has &&
             std::find(expression.values.begin(), expression.values.end(), found->second) != expression.values.end();
    };
    switch (expression.op) {
      case Op::equals:
        if (!has || found->second != expression.values.front()) return false;
        break;
      case Op::not_equals:
        if (has && found->second == expression.values.front()) return false;
        break;
      case Op::exists:
        if (!has) return false;
        break;
      case Op::not_exists:
        if (has) return false;
        break;
      case Op::in:
        if (!in_values()) return false;
        break;
      case Op::not_in:
        if (in_values()) return false;
        break;
    }
  }
  return true;
}

std::optional<Selector> parse_selector(std::string_view text) {
  Selector selector;
  if (util::trim(text).empty()) return selector;
  for (const auto& raw : top_level_parts(text)) {
    const std::string part(util::trim(raw));
    Selector::Expression expression;
    if (part.empty()) return std::nullopt;
    const auto set_open = part.find('(');
    if (set_open != std::string::npos) {
      if (part.back() != ')') return std::nullopt;
      const auto head = util::split(std::string(util::trim(part.substr(0, set_open))), ' ');
      std::vector<std::string> words;
      for (const auto& word : head) {
        if (!word.empty()) words.push_back(word);
      }
      if (words.size() != 2 || (words[1] != "in" && words[1] != "notin")) return std::nullopt;
      expression.key = words[0];
      expression.op = words[1] == "in" ? Selector::Op::in : Selector::Op::not_in;
      for (const auto& value : util::split(part.substr(set_open + 1, part.size() - set_open - 2), ',')) {
        expression.values.emplace_back(util::trim(value));
      }
    } else if (const auto not_equals = part.find("!="); not_equals != std::string::npos) {
      expression = {part.substr(0, not_equals), Selector::Op::not_equals, {part.substr(not_equals + 2)}};
    } else if (const auto double_equals = part.find("=="); double_equals != std::string::npos) {
      expression = {part.substr(0, double_equals), Selector::Op::equals, {part.substr(double_equals + 2)}};
    } else if (const auto equals = part.find('='); equals != std::string::npos) {
      expression = {part.substr(0, equals), Selector::Op::equals, {part.substr(equals + 1)}};
    } else if (part.front() == '!') {
      expression = {part.substr(1), Selector::Op::not_exists, {}};
    } else {
      expression = {part, Selector::Op::exists, {}};
    }
    if (!valid_label_key(expression.key)) return std::nullopt;
    for (const auto& value : expression.values) {
      if (!valid_label_value(value)) return std::nullopt;
    }
    selector.expressions.push_back(expression);
  }
  return selector;
}

}  // namespace phoenix::fakes::hcloud
