#include "shared/ci/snapshot.hpp"

#include <algorithm>
#include <array>
#include <functional>

#include "shared/util/strings.hpp"

namespace phoenix::ci {

SnapshotChange diff(const Snapshot& before, const Snapshot& after) {
  SnapshotChange change;
  for (const auto& [path, content] : after) {
    const auto found = before.find(path);
    if (found == before.end()) {
      change.added.push_back(path);
    } else if (found->second != content) {
      change.modified.push_back(path);
    }
  }
  for (const auto& [path, content] : before) {
    if (after.count(path) == 0) change.removed.push_back(path);
  }
  return change;
}

std::string commit_message(const std::string& source, const SnapshotChange& change) {
  std::string message = "ci-config backup from " + source + ": " + std::to_string(change.added.size()) + " added, " +
                        std::to_string(change.modified.size()) + " changed, " + std::to_string(change.removed.size()) +
                        " removed\n\n";
  for (const auto& path : change.added) message += "added    " + path + "\n";
  for (const auto& path : change.modified) message += "changed  " + path + "\n";
  for (const auto& path : change.removed) message += "removed  " + path + "\n";
  return message;
}

std::string gocd_pipeline_path(std::string_view name) {
  return std::string(kGocdPipelinesDir) + "/" + std::string(name) + ".gocd.yaml";
}

namespace {
constexpr std::size_t kMaxFileName = 255;
constexpr std::string_view kHex = "0123456789ABCDEF";

std::optional<int> hex_value(char c) {
  const auto at = kHex.find(c);
  return at == std::string_view::npos ? std::nullopt : std::optional<int>(static_cast<int>(at));
}
}  // namespace

std::optional<std::string> job_file_name(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return std::nullopt;
  std::string file;
  for (const char byte : name) {
    if (util::is_name_char(byte)) {
      file += byte;
      continue;
    }
    const auto c = static_cast<unsigned char>(byte);
    file += {'%', kHex[c >> 4U], kHex[c & 0x0fU]};
  }
  if (file.size() > kMaxFileName) return std::nullopt;
  return file;
}

std::optional<std::string> job_name_of_file(std::string_view file) {
  std::string name;
  for (std::size_t i = 0; i < file.size(); ++i) {
    if (file[i] != '%') {
      name += file[i];
      continue;
    }
    const auto high = i + 2 < file.size() ? hex_value(file[i + 1]) : std::nullopt;
    const auto low = i + 2 < file.size() ? hex_value(file[i + 2]) : std::nullopt;
    if (!high || !low) return std::nullopt;
    name += static_cast<char>(*high * 16 + *low);
    i += 2;
  }
  // Only the one spelling job_file_name() writes: no other file maps to the same job.
  if (job_file_name(name) != std::optional<std::string>(file)) return std::nullopt;
  return name;
}

std::optional<std::string> jenkins_job_path(std::string_view full_name) {
  std::string path(kJenkinsJobsDir);
  for (const auto& part : util::split(full_name, '/')) {
    const auto file = job_file_name(part);
    if (!file) return std::nullopt;
    path += (path.size() > kJenkinsJobsDir.size() ? "/jobs/" : "/") + *file;
  }
  return path + "/config.xml";
}

std::optional<std::string> jenkins_job_name(std::string_view path) {
  const std::string prefix = std::string(kJenkinsJobsDir) + "/";
  if (!path.starts_with(prefix)) return std::nullopt;
  // <a>/config.xml, <a>/jobs/<b>/config.xml, ...: names at even places, "jobs" between them.
  const auto parts = util::split(path.substr(prefix.size()), '/');
  if (parts.size() < 2 || parts.size() % 2 != 0 || parts.back() != "config.xml") return std::nullopt;
  std::string name;
  for (std::size_t i = 0; i + 1 < parts.size(); i += 2) {
    const auto part = job_name_of_file(parts[i]);
    if (!part || (i > 0 && parts[i - 1] != "jobs")) return std::nullopt;
    name += (name.empty() ? "" : "/") + *part;
  }
  return name;
}

bool safe_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 200) return false;
  return std::all_of(name.begin(), name.end(), util::is_name_char);
}

std::string mask_clear_secrets(std::string_view xml, int& masked) {
  static const char* const kSecretElements[] = {"password", "secret", "token", "passphrase", "apiToken", "privateKey"};
  std::string out(xml);
  for (const char* element : kSecretElements) {
    const std::string open = "<" + std::string(element) + ">";
    const std::string close = "</" + std::string(element) + ">";
    std::size_t position = 0;
    while ((position = out.find(open, position)) != std::string::npos) {
      const std::size_t start = position + open.size();
      const std::size_t end = out.find(close, start);
      if (end == std::string::npos) break;
      const std::string_view value = util::trim(std::string_view(out).substr(start, end - start));
      // Jenkins stores secrets encrypted with its master key as "{AQAAABAAAA...}".
      const bool encrypted = value.size() > 2 && value.front() == '{' && value.back() == '}';
      if (!value.empty() && !encrypted && value != "****") {
        out.replace(start, end - start, "****");
        ++masked;
      }
      position = start;
    }
  }
  return out;
}

namespace {

constexpr std::array<std::string_view, 4> kGocdClearAttributes = {"agentAutoRegisterKey", "webhookSecret",
                                                                  "tokenGenerationKey", "password"};
constexpr std::array<const char*, 6> kJenkinsSecretElements = {"password",   "secret",   "token",
                                                               "passphrase", "apiToken", "privateKey"};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool gocd_encrypted(std::string_view value) { return value.starts_with("AES:"); }

// A value that needs masking: not empty and not masked already.
bool clear_value(std::string_view value) { return !util::trim(value).empty() && value != kSecretMask; }

struct Span {
  std::size_t begin = 0;  // of the value
  std::size_t end = 0;
};

// Every value of attribute `name` in `text` (name="..." or name='...', spaces around '=').
std::vector<Span> attribute_values(std::string_view text, std::string_view name) {
  std::vector<Span> spans;
  for (std::size_t at = text.find(name); at != std::string_view::npos; at = text.find(name, at + 1)) {
    if (at == 0 || !is_space(text[at - 1])) continue;
    std::size_t i = at + name.size();
    while (i < text.size() && is_space(text[i])) ++i;
    if (i >= text.size() || text[i] != '=') continue;
    ++i;
    while (i < text.size() && is_space(text[i])) ++i;
    if (i >= text.size() || (text[i] != '"' && text[i] != '\'')) continue;
    const std::size_t close = text.find(text[i], i + 1);
    if (close == std::string_view::npos) break;
    spans.push_back({i + 1, close});
  }
  return spans;
}

// Every text content of element `name` (<name>...</name>, <name attr="..">...</name>).
std::vector<Span> element_values(std::string_view xml, std::string_view name) {
  std::vector<Span> spans;
  const std::string open = "<" + std::string(name);
  const std::string close = "</" + std::string(name) + ">";
  for (std::size_t at = xml.find(open); at != std::string_view::npos; at = xml.find(open, at + 1)) {
    const std::size_t after = at + open.size();
    if (after >= xml.size() || (xml[after] != '>' && !is_space(xml[after]))) continue;
    const std::size_t tag_end = xml.find('>', after);
    if (tag_end == std::string_view::npos) break;
    if (xml[tag_end - 1] == '/') continue;  // <name/>
    const std::size_t end = xml.find(close, tag_end + 1);
    if (end == std::string_view::npos) break;
    spans.push_back({tag_end + 1, end});
  }
  return spans;
}

// Replaces the spans of `text` chosen by `mask_it` with the mask, in place.
void mask_spans(std::string& text, std::vector<Span> spans, const std::function<bool(std::string_view)>& mask_it,
                int& masked) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin > b.begin; });
  for (const auto& span : spans) {
    const std::string_view value = std::string_view(text).substr(span.begin, span.end - span.begin);
    if (!mask_it(value)) continue;
    text.replace(span.begin, span.end - span.begin, kSecretMask);
    ++masked;
  }
}

// The values of variables marked secure="true" (GoCD encrypts them when it loads the file).
std::vector<Span> secure_variable_values(std::string_view xml) {
  std::vector<Span> spans;
  for (const auto& variable : element_values(xml, "variable")) {
    const std::size_t tag_start = xml.rfind("<variable", variable.begin);
    const std::string_view tag = xml.substr(tag_start, variable.begin - tag_start);
    const auto secure = attribute_values(tag, "secure");
    if (secure.empty() || tag.substr(secure[0].begin, secure[0].end - secure[0].begin) != "true") continue;
    for (auto value : element_values(xml.substr(variable.begin, variable.end - variable.begin), "value")) {
      spans.push_back({variable.begin + value.begin, variable.begin + value.end});
    }
  }
  return spans;
}

std::size_t line_of(std::string_view text, std::size_t position) {
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<long>(position), '\n'));
}

// Tokens recognisable by their form: a prefix and a minimum run of token characters after it.
struct TokenForm {
  std::string_view prefix;
  std::size_t min_length;
  const char* what;
};
constexpr std::array<TokenForm, 7> kTokenForms = {{{"ghp_", 30, "a GitHub token"},
                                                   {"gho_", 30, "a GitHub token"},
                                                   {"ghs_", 30, "a GitHub token"},
                                                   {"github_pat_", 30, "a GitHub token"},
                                                   {"glpat-", 20, "a GitLab token"},
                                                   {"xoxb-", 20, "a Slack token"},
                                                   {"AKIA", 16, "an AWS access key"}}};

bool token_char(char c) { return util::is_ascii_alnum(c) || c == '_' || c == '-'; }

std::optional<std::string> find_token(std::string_view content) {
  for (const auto& form : kTokenForms) {
    for (std::size_t at = content.find(form.prefix); at != std::string_view::npos;
         at = content.find(form.prefix, at + 1)) {
      if (at > 0 && token_char(content[at - 1])) continue;
      std::size_t end = at + form.prefix.size();
      while (end < content.size() && token_char(content[end])) ++end;
      if (end - at - form.prefix.size() >= form.min_length) {
        return "line " + std::to_string(line_of(content, at)) + ": " + form.what;
      }
    }
  }
  return std::nullopt;
}

std::optional<std::size_t> url_credentials(std::string_view content) {
  for (std::size_t at = content.find("://"); at != std::string_view::npos; at = content.find("://", at + 3)) {
    const std::size_t authority = at + 3;
    const std::size_t end = content.find_first_of("/ \t\n\"'<>", authority);
    const std::size_t sign = content.find('@', authority);
    if (sign == std::string_view::npos || (end != std::string_view::npos && sign > end)) continue;
    const std::string_view user_info = content.substr(authority, sign - authority);
    const auto colon = user_info.find(':');
    if (colon != std::string_view::npos && clear_value(user_info.substr(colon + 1))) return at;
  }
  return std::nullopt;
}

// A secret element of a Jenkins config.xml: where its value is, and a key naming its place
// (the element path and the element's rank among those with the same path).
struct SecretElement {
  std::string place;
  Span value;
};

std::vector<SecretElement> secret_elements(std::string_view xml) {
  std::vector<SecretElement> found;
  std::vector<std::string> path;
  std::map<std::string, int> seen;
  std::size_t at = 0;
  while ((at = xml.find('<', at)) != std::string_view::npos) {
    if (xml.substr(at, 4) == "<!--") {
      at = xml.find("-->", at);
      continue;
    }
    if (xml.substr(at, 9) == "<![CDATA[") {
      at = xml.find("]]>", at);
      continue;
    }
    const std::size_t end = xml.find('>', at);
    if (end == std::string_view::npos) break;
    const std::string_view tag = xml.substr(at + 1, end - at - 1);
    at = end + 1;
    if (tag.empty() || tag.front() == '?' || tag.front() == '!') continue;
    if (tag.front() == '/') {
      if (!path.empty()) path.pop_back();
      continue;
    }
    const std::string name(tag.substr(0, std::min(tag.size(), tag.find_first_of(" \t\r\n/"))));
    if (tag.back() == '/') continue;
    path.push_back(name);
    if (std::find(kJenkinsSecretElements.begin(), kJenkinsSecretElements.end(), name) == kJenkinsSecretElements.end()) {
      continue;
    }
    const std::size_t close = xml.find("</" + name + ">", at);
    if (close == std::string_view::npos) break;
    const std::string key = util::join(path, "/");
    found.push_back({key + "#" + std::to_string(seen[key]++), {at, close}});
  }
  return found;
}

}  // namespace

std::string mask_gocd_secrets(std::string_view xml, int& masked) {
  std::string out(xml);
  for (const auto name : kGocdClearAttributes) mask_spans(out, attribute_values(out, name), clear_value, masked);
  const auto unencrypted = [](std::string_view value) { return clear_value(value) && !gocd_encrypted(value); };
  mask_spans(out, attribute_values(out, "encryptedPassword"), unencrypted, masked);
  mask_spans(out, element_values(out, "encryptedValue"), unencrypted, masked);
  mask_spans(out, secure_variable_values(out), clear_value, masked);
  return out;
}

std::optional<std::string> find_known_secret(std::string_view content, bool xml) {
  const auto at_line = [&](std::size_t position, const std::string& what) {
    return "line " + std::to_string(line_of(content, position)) + ": " + what;
  };
  if (const auto key = content.find("-----BEGIN "); key != std::string_view::npos) {
    const auto line_end = content.find('\n', key);
    if (content.substr(key, line_end - key).find("PRIVATE KEY-----") != std::string_view::npos) {
      return at_line(key, "a private key");
    }
  }
  if (auto url = url_credentials(content)) return at_line(*url, "a password in a URL");
  if (auto token = find_token(content)) return token;
  if (!xml) return std::nullopt;
  for (const auto name : kGocdClearAttributes) {
    for (const auto& span : attribute_values(content, name)) {
      if (clear_value(content.substr(span.begin, span.end - span.begin))) {
        return at_line(span.begin, "the attribute " + std::string(name) + " in clear");
      }
    }
  }
  for (const auto& span : element_values(content, "encryptedValue")) {
    const auto value = content.substr(span.begin, span.end - span.begin);
    if (clear_value(value) && !gocd_encrypted(value)) return at_line(span.begin, "an encryptedValue in clear");
  }
  int clear_elements = 0;
  const std::string masked = mask_clear_secrets(content, clear_elements);
  if (clear_elements > 0) {
    const auto differs = std::mismatch(content.begin(), content.end(), masked.begin(), masked.end()).first;
    return at_line(static_cast<std::size_t>(differs - content.begin()), "a secret element in clear");
  }
  return std::nullopt;
}

SecretMerge keep_server_secrets(std::string_view backup, std::string_view server) {
  std::map<std::string, std::string> server_values;
  for (const auto& element : secret_elements(server)) {
    server_values[element.place] =
        std::string(server.substr(element.value.begin, element.value.end - element.value.begin));
  }
  SecretMerge merge{std::string(backup), 0, {}};
  auto elements = secret_elements(backup);
  std::reverse(elements.begin(), elements.end());  // replace from the end: earlier positions stay valid
  for (const auto& element : elements) {
    const auto value = backup.substr(element.value.begin, element.value.end - element.value.begin);
    if (util::trim(value) != kSecretMask) continue;
    const auto found = server_values.find(element.place);
    if (found != server_values.end() && util::trim(found->second) == kSecretMask) continue;  // no secret there either
    if (found == server_values.end() || util::trim(found->second).empty()) {
      merge.missing.push_back(element.place.substr(0, element.place.find('#')));
      continue;
    }
    merge.xml.replace(element.value.begin, element.value.end - element.value.begin, found->second);
    ++merge.kept;
  }
  std::reverse(merge.missing.begin(), merge.missing.end());
  return merge;
}

int masked_secret_count(std::string_view xml) {
  int count = 0;
  for (const auto& element : secret_elements(xml)) {
    if (util::trim(xml.substr(element.value.begin, element.value.end - element.value.begin)) == kSecretMask) ++count;
  }
  return count;
}

bool is_jenkins_folder(std::string_view config_xml) {
  // The root element, after the XML declaration and comments.
  std::size_t at = 0;
  while ((at = config_xml.find('<', at)) != std::string_view::npos) {
    if (config_xml.substr(at, 2) == "<?" || config_xml.substr(at, 2) == "<!") {
      at = config_xml.find('>', at);
      if (at == std::string_view::npos) return false;
      continue;
    }
    constexpr std::string_view kFolder = "com.cloudbees.hudson.plugins.folder.Folder";
    const std::size_t after = at + 1 + kFolder.size();
    return config_xml.substr(at + 1).starts_with(kFolder) && after < config_xml.size() &&
           (config_xml[after] == '>' || is_space(config_xml[after]));
  }
  return false;
}

}  // namespace phoenix::ci
