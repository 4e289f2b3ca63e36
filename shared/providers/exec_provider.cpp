#include "shared/providers/exec_provider.hpp"

#include <algorithm>

#include "shared/core/label.hpp"
#include "shared/core/records.hpp"
#include "shared/util/interrupt.hpp"
#include "shared/util/process.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"

namespace phoenix::providers {

namespace {

bool valid_server_id(const std::string& id) {
  return !id.empty() && id.size() <= 63 && std::all_of(id.begin(), id.end(), util::is_name_char);
}

util::Json metadata_json(const PoolMetadata& meta) {
  util::Json object(cJSON_CreateObject());
  records::write_metadata(object.get(), meta);
  return object;
}

}  // namespace

Result<Archive> archive_from_exec_json(const cJSON* object, const std::string& origin) {
  Archive archive;
  archive.id = util::json_string(object, "id").value_or("");
  archive.ready = util::json_bool(object, "ready").value_or(true);
  archive.size_gb = util::json_number(object, "size_gb").value_or(0);
  archive.servers = static_cast<int>(util::json_number(object, "servers").value_or(0));
  if (const auto created = util::json_string(object, "created_at")) {
    archive.created_at = util::parse_iso8601(*created).value_or(WallTime{});
  }
  if (!cJSON_IsObject(object) || archive.id.empty() || archive.servers < 1 || archive.size_gb < 0) {
    return Error{ErrorKind::unavailable, origin + ": an archive needs an \"id\" and \"servers\" (at least 1)"};
  }
  return archive;
}

Result<Pool> pool_from_exec_json(const cJSON* object, const std::string& origin) {
  if (!cJSON_IsObject(object)) return Error{ErrorKind::unavailable, origin + ": a pool is not a JSON object"};
  const cJSON* metadata = cJSON_GetObjectItemCaseSensitive(object, "metadata");
  auto meta = records::read_metadata(cJSON_IsObject(metadata) ? metadata : object);
  if (!meta) return Error{ErrorKind::unavailable, origin + ": " + meta.error().message};
  if (!validate_label(meta->label, origin).ok()) {
    return Error{ErrorKind::unavailable,
                 origin + ": pool label '" + util::printable(meta->label, 64) + "' is not valid"};
  }
  Pool pool;
  pool.meta = *meta;
  pool.power = parse_power_state(util::json_string(object, "power").value_or("on")).value_or(PowerState::on);
  pool.complete = util::json_bool(object, "complete").value_or(true);
  if (const cJSON* archive = cJSON_GetObjectItemCaseSensitive(object, "archive"); archive && !cJSON_IsNull(archive)) {
    auto parsed = archive_from_exec_json(archive, origin + ": pool " + meta->label);
    if (!parsed) return parsed.error();
    pool.archive = *parsed;
  }
  const cJSON* servers = cJSON_GetObjectItemCaseSensitive(object, "servers");
  if (!cJSON_IsArray(servers))
    return Error{ErrorKind::unavailable, origin + ": pool " + meta->label + " has no 'servers' list"};
  const cJSON* item = nullptr;
  cJSON_ArrayForEach(item, servers) {
    Server server;
    server.id = util::json_string(item, "id").value_or("");
    server.host = util::json_string(item, "host").value_or("");
    server.port = static_cast<int>(util::json_number(item, "port").value_or(0));
    server.state =
        parse_server_state(util::json_string(item, "state").value_or("unknown")).value_or(ServerState::unknown);
    if (!valid_server_id(server.id) || server.host.empty() || server.port <= 0 || server.port > 65535) {
      return Error{ErrorKind::unavailable,
                   origin + ": a server of pool " + meta->label + " needs an id of [A-Za-z0-9._-], a host and a port"};
    }
    pool.servers.push_back(server);
  }
  return pool;
}

ExecProvider::ExecProvider(ExecProviderSettings settings) : settings_(std::move(settings)) {}

std::string ExecProvider::describe() const {
  return "exec provider (" + util::shell_quote(settings_.command.front()) + ")";
}

namespace {

// A `create` of pool `label` that was passed the stop signal and did not answer: how it ended,
// and where that leaves the pool. The caller names the command that finishes it (the create
// again: idempotent, docs/exec-provider.md).
Error stopped_command(const std::string& what, const std::string& label, const util::CommandResult& ran,
                      std::chrono::milliseconds grace) {
  std::string ended;
  if (ran.killed_after_grace) {
    ended = "did not end within " + util::format_duration_ms(grace.count()) + " (provider.stop_grace_s) and was killed";
  } else if (ran.signal != 0) {
    ended = "ended by signal " + std::to_string(ran.signal);
  } else {
    ended = "exited with " + std::to_string(ran.exit_code);
  }
  return util::stopped_by_signal("while " + what + " created pool " + label +
                                 ": the signal was passed on to it, and it " + ended + "; pool " + label +
                                 " was not created completely (it is what the command left)");
}

}  // namespace

Result<util::Json> ExecProvider::run(const std::string& operation, util::Json request,
                                     const std::optional<std::string>& stopping_pool) {
  util::add_string(request.get(), "service", settings_.service);
  util::CommandRequest command;
  command.argv = settings_.command;
  command.argv.push_back(operation);
  command.input = util::print_json(request.get(), true);
  command.timeout = settings_.timeout;
  if (stopping_pool) {
    command.stop_signal = settings_.stop_signal;
    command.stop_grace = settings_.stop_grace;
  }
  const std::string what =
      "the exec provider's '" + operation + "' (" + util::shell_quote(settings_.command.front()) + ")";
  auto ran = util::run_command(command);
  if (!ran) return ran.error().context(what);
  // Passed the stop and still finished with an answer: the work is done, and the caller stops
  // at its next safe point.
  if (ran->passed_on_signal != 0 && (ran->exit_code != 0 || ran->killed_after_grace)) {
    return stopped_command(what, stopping_pool.value_or(""), *ran, settings_.stop_grace);
  }
  if (ran->exit_code != 0) {
    return Error{ErrorKind::unavailable, what +
                                             (ran->signal != 0 ? " was killed by signal " + std::to_string(ran->signal)
                                                               : " exited with " + std::to_string(ran->exit_code)) +
                                             "; its messages are above"};
  }
  if (ran->output_truncated) {
    return Error{ErrorKind::unavailable, what + " printed more than " +
                                             std::to_string(command.max_output / (1024 * 1024)) +
                                             " MiB on stdout; an answer is one JSON object"};
  }
  auto answer = util::parse_json(ran->output, what);
  if (!answer) {
    return Error{ErrorKind::unavailable, what + " printed something that is not JSON on stdout: " +
                                             util::printable(util::trim(ran->output), 120)};
  }
  if (!cJSON_IsObject(answer->get())) return Error{ErrorKind::unavailable, what + " must print a JSON object"};
  if (auto error = util::json_string(answer->get(), "error")) {
    return Error{ErrorKind::failed, what + " reported: " + util::printable(*error, 300)};
  }
  return answer;
}

Result<std::vector<Pool>> ExecProvider::list_pools() {
  auto answer = run("list", util::Json(cJSON_CreateObject()));
  if (!answer) return answer.error();
  const cJSON* pools = cJSON_GetObjectItemCaseSensitive(answer->get(), "pools");
  if (!cJSON_IsArray(pools))
    return Error{ErrorKind::unavailable, "the exec provider's 'list' answer has no 'pools' list"};
  std::vector<Pool> out;
  const cJSON* item = nullptr;
  cJSON_ArrayForEach(item, pools) {
    auto pool = pool_from_exec_json(item, "the exec provider's 'list' answer");
    if (!pool) return pool.error();
    out.push_back(*pool);
  }
  return out;
}

Result<Pool> ExecProvider::create_pool(const PoolSpec& spec) {
  util::Json request(cJSON_CreateObject());
  util::add_string(request.get(), "label", spec.meta.label);
  util::add_number(request.get(), "size", spec.size);
  cJSON_AddItemToObject(request.get(), "metadata", metadata_json(spec.meta).release());
  auto answer = run("create", std::move(request), spec.meta.label);
  if (!answer) return answer.error();
  return pool_from_exec_json(cJSON_GetObjectItemCaseSensitive(answer->get(), "pool"),
                             "the exec provider's 'create' answer");
}

Status ExecProvider::destroy_pool(const Pool& pool) {
  util::Json request(cJSON_CreateObject());
  util::add_string(request.get(), "label", pool.label());
  auto answer = run("destroy", std::move(request));
  if (!answer) return answer.error();
  return {};
}

Status ExecProvider::update_metadata(const PoolMetadata& meta) {
  util::Json request(cJSON_CreateObject());
  util::add_string(request.get(), "label", meta.label);
  cJSON_AddItemToObject(request.get(), "metadata", metadata_json(meta).release());
  auto answer = run("update-metadata", std::move(request));
  if (!answer) return answer.error();
  return {};
}

Status ExecProvider::set_power(const Pool& pool, PowerState power) {
  util::Json request(cJSON_CreateObject());
  util::add_string(request.get(), "label", pool.label());
  auto answer = run(power == PowerState::on ? "power-on" : "power-off", std::move(request));
  if (!answer) return answer.error();
  return {};
}

Result<Archive> ExecProvider::archive_pool(const Pool& pool, const BeforeDestroying& before_destroying) {
  if (before_destroying) PHX_TRY(before_destroying());
  util::Json request(cJSON_CreateObject());
  util::add_string(request.get(), "label", pool.label());
  cJSON_AddItemToObject(request.get(), "metadata", metadata_json(pool.meta).release());
  PHX_TRY_ASSIGN(const auto answer, run("archive", std::move(request)));
  return archive_from_exec_json(cJSON_GetObjectItemCaseSensitive(answer.get(), "archive"),
                                "the exec provider's 'archive' answer");
}

Result<Pool> ExecProvider::restore_pool(const Pool& pool) {
  util::Json request(cJSON_CreateObject());
  util::add_string(request.get(), "label", pool.label());
  cJSON_AddItemToObject(request.get(), "metadata", metadata_json(pool.meta).release());
  PHX_TRY_ASSIGN(const auto answer, run("restore", std::move(request)));
  return pool_from_exec_json(cJSON_GetObjectItemCaseSensitive(answer.get(), "pool"),
                             "the exec provider's 'restore' answer");
}

}  // namespace phoenix::providers
