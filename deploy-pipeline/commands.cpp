#include "deploy-pipeline/commands.hpp"

#include <cstdlib>

#include "shared/ci/ci_config.hpp"
#include "shared/core/label.hpp"
#include "shared/core/render.hpp"
#include "shared/http/curl_http_client.hpp"
#include "shared/ops/operations.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::deploy_pipeline {

namespace {

using cli::CommandContext;
namespace po = boost::program_options;

std::string switch_summary(const std::string& operation, const ops::SwitchResult& result) {
  if (result.dry_run) return render_plan(result.plan);
  if (result.plan.steps.empty()) return "pool " + result.plan.target + " is live (it already was)\n";
  std::string out = operation + ": pool " + result.plan.target + " is live";
  if (!result.plan.from.empty()) out += ", replacing " + util::join(result.plan.from, ", ");
  out += " (" + util::format_duration_ms(result.duration_ms) + ")\n";
  if (!result.left_in_maintenance.empty()) {
    out += "left in maintenance (connections still open): " + util::join(result.left_in_maintenance, ", ") + "\n";
  }
  return out;
}

Status run_deploy(CommandContext& context) {
  // Under GoCD the deploy pipeline inherits the create pipeline's label (${upstream}).
  auto label = cli::label_option(context);
  if (!label) return label.error();
  auto services = context.services();
  if (!services) return services.error();
  auto result =
      ops::deploy(**services, {*label, context.flag("force"), context.flag("dry-run"), context.flag("break-lock")});
  if (!result) return result.error();
  context.print(switch_summary("deploy", *result));
  return {};
}

Status run_rollback(CommandContext& context) {
  ops::RollbackOptions options;
  // GoCD exec tasks do not expand $VARS: a rollback pipeline passes its parameters as
  // PHOENIX_ROLLBACK_TO and PHOENIX_ROLLBACK_REASON, which the tool reads itself.
  options.to = context.get<std::string>("to");
  const char* origin = "--to";
  if (!options.to) {
    if (const char* to = std::getenv("PHOENIX_ROLLBACK_TO"); to != nullptr && *to != '\0') {
      options.to = to;
      origin = "PHOENIX_ROLLBACK_TO";
    }
  }
  if (options.to) PHX_TRY(validate_label(*options.to, origin));
  options.reason = context.get<std::string>("reason").value_or("");
  if (const char* reason = std::getenv("PHOENIX_ROLLBACK_REASON"); options.reason.empty() && reason != nullptr) {
    options.reason = reason;
  }
  if (options.reason.size() > 500 || !util::is_valid_utf8(options.reason)) {
    return Error{ErrorKind::invalid, "--reason must be valid UTF-8 text of at most 500 bytes"};
  }
  options.force = context.flag("force");
  options.dry_run = context.flag("dry-run");
  options.break_lock = context.flag("break-lock");
  auto services = context.services();
  if (!services) return services.error();
  auto result = ops::rollback(**services, options);
  if (!result) return result.error();
  context.print(switch_summary("rollback", *result));
  return {};
}

Status run_repair(CommandContext& context) {
  auto services = context.services();
  if (!services) return services.error();
  auto result = ops::repair(**services, {context.flag("dry-run"), context.flag("break-lock")});
  if (!result) return result.error();
  context.print(switch_summary("repair", *result));
  return {};
}

Status run_status(CommandContext& context) {
  auto services = context.services();
  if (!services) return services.error();
  auto report = ops::status(**services);
  if (!report) return report.error();
  context.print(context.global().output == cli::OutputFormat::json ? render_status_json(*report)
                                                                   : render_status_table(*report));
  if (!report->problems.empty()) {
    return Error{ErrorKind::failed, util::plural(report->problems.size(), "problem") + " found; see above"};
  }
  return {};
}

Status run_history(CommandContext& context) {
  auto services = context.services();
  if (!services) return services.error();
  auto events = ops::history(**services);
  if (!events) return events.error();
  context.print(context.global().output == cli::OutputFormat::json
                    ? render_history_json((*services)->config.service, *events)
                    : render_history_table(*events));
  return {};
}

ci::Credentials ci_credentials(const std::string& system) {
  const auto get = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value != nullptr ? value : "");
  };
  if (system == "gocd") return {get("GOCD_TOKEN"), get("GOCD_USER"), get("GOCD_PASSWORD")};
  return {"", get("JENKINS_USER"), get("JENKINS_TOKEN")};
}

Status require_credentials(const std::string& system, const ci::Credentials& credentials) {
  if (system == "gocd" && credentials.bearer_token.empty() &&
      (credentials.user.empty() || credentials.password.empty())) {
    return Error{ErrorKind::invalid, "no GoCD credentials: set GOCD_TOKEN, or GOCD_USER and GOCD_PASSWORD"};
  }
  if (system == "jenkins" && (credentials.user.empty() || credentials.password.empty())) {
    return Error{ErrorKind::invalid, "no Jenkins credentials: set JENKINS_USER and JENKINS_TOKEN (an API token)"};
  }
  return {};
}

Result<std::string> ci_system(const CommandContext& context, const char* option) {
  const auto system = context.get<std::string>(option);
  if (!system) return Error{ErrorKind::invalid, std::string("ci-config needs --") + option + " gocd|jenkins"};
  if (*system != "gocd" && *system != "jenkins") {
    return Error{ErrorKind::invalid, std::string("--") + option + " must be 'gocd' or 'jenkins', not '" +
                                         util::printable(*system, 40) + "'"};
  }
  return *system;
}

Status run_ci_backup(CommandContext& context) {
  auto system = ci_system(context, "from");
  if (!system) return system.error();
  const auto url = context.get<std::string>("url");
  const auto dir = context.get<std::string>("dir");
  const auto repo = context.get<std::string>("repo");
  if (url.has_value() == dir.has_value())
    return Error{ErrorKind::invalid, "ci-config backup needs exactly one of --url URL and --dir DIR"};
  if (!repo) return Error{ErrorKind::invalid, "ci-config backup needs --repo DIR (a git working tree)"};
  const auto credentials = ci_credentials(*system);
  if (url) PHX_TRY(require_credentials(*system, credentials));
  ci::BackupOptions options;
  options.system = *system;
  options.url = url;
  if (dir) options.dir = std::filesystem::path(*dir);
  options.repo = *repo;
  options.require_remote = context.flag("push");
  http::CurlHttpClient http;
  auto result = ci::backup(http, credentials, context.reporter(), options);
  if (!result) return result.error();
  std::string out = result->committed ? "backup committed to " + *repo + "\n" : "no changes; nothing committed\n";
  for (const auto& path : result->change.added) out += "  added    " + path + "\n";
  for (const auto& path : result->change.modified) out += "  changed  " + path + "\n";
  for (const auto& path : result->change.removed) out += "  removed  " + path + "\n";
  if (result->pushed) out += "pushed\n";
  context.print(out);
  return {};
}

Status run_ci_restore(CommandContext& context) {
  auto system = ci_system(context, "to");
  if (!system) return system.error();
  const auto url = context.get<std::string>("url");
  const auto repo = context.get<std::string>("repo");
  if (!url || !repo) return Error{ErrorKind::invalid, "ci-config restore needs --url URL and --repo DIR"};
  const auto credentials = ci_credentials(*system);
  PHX_TRY(require_credentials(*system, credentials));
  ci::RestoreOptions options;
  options.system = *system;
  options.url = *url;
  options.repo = *repo;
  options.dry_run = context.flag("dry-run");
  options.repo_url = context.get<std::string>("repo-url");
  if (auto id = context.get<std::string>("config-repo-id")) options.config_repo_id = *id;
  http::CurlHttpClient http;
  auto result = ci::restore(http, credentials, context.reporter(), options);
  if (!result) return result.error();
  std::string out;
  if (result->plan.empty()) out += "nothing to change: the server already matches " + *repo + "\n";
  for (const auto& line : result->plan) out += std::string(options.dry_run ? "would " : "") + line + "\n";
  for (const auto& line : result->unchanged) out += "unchanged: " + line + "\n";
  context.print(out);
  return {};
}

Status run_ci_config(CommandContext& context) {
  const auto action = context.get<std::string>("action");
  if (action == "backup") return run_ci_backup(context);
  if (action == "restore") return run_ci_restore(context);
  return Error{ErrorKind::invalid, "ci-config needs 'backup' or 'restore' (see 'deploy-pipeline ci-config --help')"};
}

void switch_options(po::options_description& options) {
  options.add_options()("force", po::bool_switch(), "deploy even though the pool's smoke verdict is not 'passed'")(
      "dry-run", po::bool_switch(), "print the plan, change nothing")(
      "break-lock", po::bool_switch(), "take over a stale deploy lock (its holder is gone or too old)");
}

cli::Program make_program() {
  cli::Program program;
  program.name = "deploy-pipeline";
  program.description =
      "The manual pipeline of the Phoenix Server Pattern: make any existing pool live behind the\n"
      "load balancer (add the new servers, wait until they are healthy, drain and remove the old\n"
      "ones, destroy nothing), roll back in one step, and show status and history.";
  program.commands = {
      {"deploy", "make pool L the live pool", "deploy [--label L] [--dry-run] [--force]",
       "Adds pool L's servers to the balancer on standby, waits until the balancer's own health\n"
       "checks pass for every one, routes traffic to them, then drains and removes the old servers\n"
       "(which keep running). If they are not healthy within balancer.health_timeout_s they are\n"
       "taken out again, the old pool keeps serving, and the exit code is 1. The label defaults to\n"
       "GO_PIPELINE_LABEL (GoCD) or BUILD_NUMBER (Jenkins).",
       "deploy-pipeline deploy --label 42 --config web.json", false,
       [](po::options_description& options) {
         cli::add_label_option(options, false);
         switch_options(options);
       },
       run_deploy},
      {"rollback", "make the previous known-good pool live again", "rollback [--to L] [--reason TEXT]",
       "Makes the newest pool older than the live one whose smoke test passed and that is not\n"
       "marked bad live again (or pool L with --to), and marks the pool rolled back from as bad\n"
       "with the reason. Re-running an interrupted rollback finishes it. --to and --reason default\n"
       "to PHOENIX_ROLLBACK_TO and PHOENIX_ROLLBACK_REASON (for CI servers that do not expand\n"
       "variables in arguments).",
       "deploy-pipeline rollback --reason 'checkout errors after 42'", false,
       [](po::options_description& options) {
         options.add_options()("to", po::value<std::string>()->value_name("L"), "the pool to roll back to")(
             "reason", po::value<std::string>()->value_name("TEXT"), "why, recorded on the bad pool and in history");
         switch_options(options);
       },
       run_rollback},
      {"status", "live pool, each member's balancer state, problems", "status [--output table|json]",
       "Shows the live pool and every member as the balancer sees it, and reports problems: an\n"
       "interrupted deploy, two pools live, members left in drain or maintenance, members whose\n"
       "server no longer exists. Exit 1 when there is a problem.",
       "deploy-pipeline status --output json", true, nullptr, run_status},
      {"history", "past deploys and rollbacks", "history [--output table|json]",
       "Lists past deploys, rollbacks, repairs and deletes, newest first.", "deploy-pipeline history", true, nullptr,
       run_history},
      {"repair", "finish an interrupted switch, or make exactly one pool live", "repair [--dry-run]",
       "Finishes an interrupted deploy or rollback. Otherwise keeps the pool the last switch made\n"
       "live (or the newest live one) and removes every other member from the balancer.",
       "deploy-pipeline repair", false,
       [](po::options_description& options) {
         options.add_options()("dry-run", po::bool_switch(), "print the plan, change nothing")(
             "break-lock", po::bool_switch(), "take over a stale deploy lock");
       },
       run_repair},
      {"ci-config", "back up the CI server's pipeline configuration to git, or restore it",
       "ci-config backup --from gocd|jenkins (--url URL | --dir DIR) --repo DIR [--push]\n"
       "       deploy-pipeline ci-config restore --to gocd|jenkins --url URL --repo DIR [--dry-run]",
       "backup writes every GoCD pipeline (exported as YAML) or Jenkins job (config.xml, folders\n"
       "included) into the git working tree --repo, or the server's own files with --dir (GoCD's\n"
       "cruise-config.xml, JENKINS_HOME/jobs), commits only when something changed, and pushes when\n"
       "the repository has a remote (--push: fail when it has none). Clear-text secrets are masked,\n"
       "and a file that still holds a known secret is refused (exit 3); back up GoCD's cipher.aes\n"
       "and Jenkins' secrets/master.key separately. restore registers the repository as a GoCD\n"
       "config repository and waits until GoCD parsed it (its parse errors: exit 1), or creates and\n"
       "updates each Jenkins job, never writing a mask over a secret the server has (exit 3 for a\n"
       "job it leaves alone); a second run changes nothing.\n"
       "Credentials: GOCD_TOKEN (or GOCD_USER and GOCD_PASSWORD), JENKINS_USER and JENKINS_TOKEN.",
       "deploy-pipeline ci-config backup --from jenkins --url https://jenkins.example --repo ci-backup --push", false,
       [](po::options_description& options) {
         options.add_options()("action", po::value<std::string>()->value_name("backup|restore"), "what to do")(
             "from", po::value<std::string>()->value_name("gocd|jenkins"), "backup: the CI server's kind")(
             "to", po::value<std::string>()->value_name("gocd|jenkins"), "restore: the CI server's kind")(
             "url", po::value<std::string>()->value_name("URL"),
             "the CI server's address (GoCD: http://host:8153 or its HTTPS proxy; Jenkins: http://host:8080)")(
             "dir", po::value<std::string>()->value_name("DIR"), "backup: the server's own files instead of its API")(
             "repo", po::value<std::string>()->value_name("DIR"), "the git working tree of the backup")(
             "push", po::bool_switch(), "backup: require a remote to push to (pushing is automatic)")(
             "dry-run", po::bool_switch(), "restore: print the plan, change nothing")(
             "repo-url", po::value<std::string>()->value_name("URL"),
             "restore to GoCD: the URL GoCD clones (default: the repository's remote)")(
             "config-repo-id", po::value<std::string>()->value_name("ID"),
             "restore to GoCD: the config repository's id (default phoenix-ci-config)");
       },
       run_ci_config, "action"},
  };
  return program;
}

}  // namespace

const cli::Program& program() {
  static const cli::Program instance = make_program();
  return instance;
}

}  // namespace phoenix::deploy_pipeline
