#include "deploy-pipeline/commands.hpp"

#include "shared/ci/ci_config.hpp"
#include "shared/cli/state_directory.hpp"
#include "shared/core/label.hpp"
#include "shared/core/recovery_summary.hpp"
#include "shared/core/render.hpp"
#include "shared/core/watch.hpp"
#include "shared/ops/status_operations.hpp"
#include "shared/ops/switch_operations.hpp"
#include "shared/ops/verdict_operations.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/url.hpp"

namespace phoenix::deploy_pipeline {

namespace {

using cli::CommandContext;
using cli::OptionKind;
using cli::OptionSpec;

// Whether a command needs --reason: always, or only when given (then not blank), or never
// (blank counts as not given: a CI variable set empty).
enum class ReasonNeed { required, not_blank_if_given, optional };

// Free text recorded in history and shown to people: one line, valid UTF-8, bounded.
Result<std::string> reason_option(const CommandContext& context, ReasonNeed need) {
  const auto reason = context.args().text("reason");
  if (!reason || util::trim(*reason).empty()) {
    if (need == ReasonNeed::required) {
      return Error{ErrorKind::invalid, "--reason TEXT is required: say why, for the next person"};
    }
    if (reason && need == ReasonNeed::not_blank_if_given) {
      return Error{ErrorKind::invalid,
                   context.args().origin("reason") + " is blank: say why, for the next person, or leave it out"};
    }
    return std::string();
  }
  if (reason->size() > 500 || !util::is_valid_utf8(*reason) || reason->find('\n') != std::string::npos) {
    return Error{ErrorKind::invalid,
                 context.args().origin("reason") + " must be one line of valid UTF-8 of at most 500 bytes"};
  }
  return *reason;
}

Result<std::string> required_label(const CommandContext& context, const char* command) {
  const auto label = context.args().text("label");
  if (!label) return Error{ErrorKind::invalid, std::string(command) + " needs --label L (the pool)"};
  PHX_TRY(validate_label(*label, "--label"));
  return *label;
}

// A dry run's plan: with several balancers each one's (the switch runs each kind of step in
// all of them before the next kind); then what --watch would do after it.
std::string dry_run_summary(const ops::SwitchResult& result) {
  std::string out;
  if (result.balancer_plans.empty()) out = render_plan(result.plan);
  for (const auto& balancer : result.balancer_plans)
    out += "balancer " + balancer.balancer + ": " + render_plan(balancer.plan);
  if (result.watch_preview) out += *result.watch_preview + "\n";
  return out;
}

std::string switch_summary(const std::string& operation, const ops::SwitchResult& result) {
  if (result.dry_run) return dry_run_summary(result);
  if (result.plan.steps.empty()) {
    std::string out = "pool " + result.plan.target + " is live (it already was)\n";
    if (!result.runtime_only.empty()) {
      out += "WARNING: nothing was switched, and the running membership is not kept for restarts in " +
             util::join(result.runtime_only, ", ") +
             " (balancer.config_file cannot be written): a reload or restart routes to " +
             ops::kept_membership_words(result.restart_pools) + " until 'deploy-pipeline repair' writes it\n";
    }
    return out;
  }
  std::string out = operation + ": pool " + result.plan.target + " is live";
  if (!result.plan.from.empty()) out += ", replacing " + util::join(result.plan.from, ", ");
  out += " (" + util::format_duration_ms(result.duration_ms) + ")\n";
  if (!result.left_in_maintenance.empty()) {
    out += "left in maintenance (connections still open): " + util::join(result.left_in_maintenance, ", ") + "\n";
  }
  if (result.watched_ms) {
    out +=
        "watched pool " + result.plan.target + " for " + util::format_duration_ms(*result.watched_ms) + ": no breach\n";
  }
  if (!result.runtime_only.empty()) {
    out += "WARNING: switched at runtime only in " + util::join(result.runtime_only, ", ") +
           " (balancer.config_file cannot be written): a reload or restart routes to " +
           ops::kept_membership_words(result.restart_pools) + " until 'deploy-pipeline repair' writes it\n";
  }
  if (result.history_warning) out += "WARNING: " + *result.history_warning + "\n";
  return out;
}

// --watch DURATION: "30s", "10m", "1h".
Result<std::optional<std::chrono::seconds>> watch_option(const CommandContext& context) {
  const auto text = context.args().text("watch");
  if (!text) return std::optional<std::chrono::seconds>{};
  const auto duration = parse_watch_duration(*text);
  if (!duration) {
    return Error{ErrorKind::invalid, context.args().origin("watch") +
                                         " must be a duration like 30s, 10m or 1h (at most "
                                         "24h), not '" +
                                         util::printable(*text, 40) + "'"};
  }
  return std::optional<std::chrono::seconds>(*duration);
}

Status run_deploy(CommandContext& context) {
  // Under GoCD the deploy pipeline inherits the create pipeline's label (${upstream}).
  auto label = context.label();
  if (!label) return label.error();
  PHX_TRY_ASSIGN(const auto watch, watch_option(context));
  auto services = context.services();
  if (!services) return services.error();
  const auto& args = context.args();
  auto result = ops::deploy(**services, {.label = *label,
                                         .force = args.flag("force"),
                                         .dry_run = args.flag("dry-run"),
                                         .break_lock = args.flag("break-lock"),
                                         .watch = watch});
  if (!result) return result.error();
  context.print(switch_summary("deploy", *result));
  return {};
}

// A target that is not what the operator meant, taken from PHOENIX_ROLLBACK_TO (a variable
// left over in a CI job), is a mystery unless the error says where it came from; GO_PIPELINE_LABEL
// and PHOENIX_EXPECT_LIVE are named the same way by validate_label.
Error naming_the_target_source(const Error& error, const cli::Arguments& args) {
  const std::string origin = args.origin("to");
  if (!args.text("to") || origin == "--to" || error.kind != ErrorKind::invalid) return error;
  return Error{error.kind,
               error.message + " (the pool to roll back to, '" + *args.text("to") + "', came from " + origin + ")",
               error.code};
}

Status run_rollback(CommandContext& context) {
  const auto& args = context.args();
  ops::RollbackOptions options{.to = args.text("to"),
                               .reason = args.text("reason").value_or(""),
                               .force = args.flag("force"),
                               .dry_run = args.flag("dry-run"),
                               .break_lock = args.flag("break-lock"),
                               .expect_live = args.text("expect-live")};
  if (options.to) PHX_TRY(validate_label(*options.to, args.origin("to")));
  if (options.expect_live) PHX_TRY(validate_label(*options.expect_live, args.origin("expect-live")));
  PHX_TRY_ASSIGN(options.watch, watch_option(context));
  PHX_TRY_ASSIGN(options.reason, reason_option(context, ReasonNeed::optional));
  auto services = context.services();
  if (!services) return services.error();
  auto result = ops::rollback(**services, options);
  if (!result) return naming_the_target_source(result.error(), args);
  context.print(switch_summary("rollback", *result));
  return {};
}

Status run_freeze(CommandContext& context) {
  PHX_TRY_ASSIGN(const auto reason, reason_option(context, ReasonNeed::required));
  PHX_TRY_ASSIGN(auto services, context.services());
  PHX_TRY(ops::freeze(*services, {.reason = reason, .all = context.args().flag("all")}));
  context.print(std::string(context.args().flag("all") ? "deploys, rollbacks and repairs" : "deploys") +
                " are frozen: " + reason + "\n");
  return {};
}

Status run_unfreeze(CommandContext& context) {
  PHX_TRY_ASSIGN(auto services, context.services());
  PHX_TRY_ASSIGN(const auto removed, ops::unfreeze(*services));
  if (removed.lifted) {
    context.print("unfrozen (was: " + removed.lifted->reason + ")\n");
  } else if (removed.unreadable) {
    context.print("unfrozen: cleared the freeze record that could not be read (" + *removed.unreadable + ")\n");
  } else {
    context.print("nothing was frozen\n");
  }
  return {};
}

Status run_verdict(CommandContext& context, LiveVerdict verdict) {
  const bool bad = verdict == LiveVerdict::bad;
  PHX_TRY_ASSIGN(const auto label, required_label(context, bad ? "mark-bad" : "mark-good"));
  PHX_TRY_ASSIGN(const auto reason,
                 reason_option(context, bad ? ReasonNeed::required : ReasonNeed::not_blank_if_given));
  PHX_TRY_ASSIGN(auto services, context.services());
  PHX_TRY(ops::set_verdict(*services, {.label = label, .verdict = verdict, .reason = reason}));
  context.print("pool " + label + " is marked " + to_string(verdict) + "\n");
  return {};
}

Status run_repair(CommandContext& context) {
  auto services = context.services();
  if (!services) return services.error();
  const auto& args = context.args();
  auto result = ops::repair(**services, {.dry_run = args.flag("dry-run"),
                                         .break_lock = args.flag("break-lock"),
                                         .revert = args.flag("revert"),
                                         .force = args.flag("force")});
  if (!result) return result.error();
  context.print(switch_summary("repair", *result));
  return {};
}

Status run_status(CommandContext& context) {
  auto services = context.services();
  if (!services) return services.error();
  auto report = ops::status(**services);
  if (!report) return report.error();
  // Every switch starts by writing there: a directory that refuses writes is a problem now.
  if (auto problem = cli::state_directory_problem((*services)->config)) report->problems.push_back(std::move(*problem));
  const bool json = context.global().output == cli::OutputFormat::json;
  context.print(json ? render_status_json(*report) : render_status_table(*report));
  // Exit 4, as for any balancer that does not answer, or 2 for one configured wrong; the report
  // says what is known.
  const bool misconfigured = report->balancer_error_kind == ErrorKind::invalid;
  const ErrorKind unanswered_kind = misconfigured ? ErrorKind::invalid : ErrorKind::unavailable;
  const std::string found = status_problems_found(report->problems.size(), json);
  if (report->balancer_error) {
    return Error{unanswered_kind,
                 std::string(misconfigured ? "the balancer cannot be used (" : "the balancer is unavailable (") +
                     *report->balancer_error + "); " + found};
  }
  if (!report->unanswered.empty()) {
    std::vector<std::string> names;
    for (const auto& balancer : report->unanswered) names.push_back(balancer.balancer);
    return Error{unanswered_kind, (names.size() == 1 ? "balancer " : "balancers ") + util::join(names, ", ") +
                                      " did not answer, the report is what the others say; " + found};
  }
  if (report->state_store_error) {
    return Error{ErrorKind::unavailable,
                 "the state store is unavailable (" + *report->state_store_error + "); " + found};
  }
  if (!report->problems.empty()) {
    return Error{ErrorKind::failed, status_problems_found(report->problems.size(), json)};
  }
  return {};
}

Status run_history(CommandContext& context) {
  auto services = context.services();
  if (!services) return services.error();
  PHX_TRY_ASSIGN(const auto log, ops::history(**services));
  for (const auto& line : log.unreadable) context.reporter().warning(line);
  const bool json = context.global().output == cli::OutputFormat::json;
  const std::string& service = (*services)->config.service;
  if (context.args().flag("summary")) {
    const auto summary = summarize_recovery(log.events);
    context.print(json ? render_recovery_json(service, summary, log.unreadable)
                       : render_recovery_table(summary, log.unreadable));
    return {};
  }
  context.print(json ? render_history_json(service, log) : render_history_table(log));
  return {};
}

Result<ci::System> ci_system(const CommandContext& context, const char* option) {
  const auto system = context.args().text(option);
  if (!system) {
    const std::string action = std::string(option) == "from" ? "backup" : "restore";
    return Error{ErrorKind::invalid, "ci-config " + action + " needs --" + option +
                                         " gocd|jenkins: the kind of CI server to " +
                                         (action == "backup" ? "read from" : "write to")};
  }
  const auto parsed = ci::parse_system(*system);
  if (!parsed) {
    return Error{ErrorKind::invalid, std::string("--") + option + " must be 'gocd' or 'jenkins', not '" +
                                         util::printable(*system, 40) + "'"};
  }
  return *parsed;
}

// --url of ci-config, checked before any request; shown without credentials or query values.
Status check_server_url(const std::string& url) {
  const auto check = util::check_url(url);
  if (check.ok()) return {};
  return Error{ErrorKind::invalid, "--url '" + util::printable(util::redact_url(url), 80) +
                                       "' is not a valid URL: " + check.problem->describe() +
                                       "; expected the CI server's address, e.g. http://gocd.example:8153"};
}

Status run_ci_backup(CommandContext& context) {
  PHX_TRY_ASSIGN(const auto system, ci_system(context, "from"));
  const auto& args = context.args();
  const auto url = args.text("url");
  const auto dir = args.text("dir");
  const auto repo = args.text("repo");
  if (url.has_value() == dir.has_value())
    return Error{ErrorKind::invalid, "ci-config backup needs exactly one of --url URL and --dir DIR"};
  if (!repo) return Error{ErrorKind::invalid, "ci-config backup needs --repo DIR (a git working tree)"};
  ci::Credentials credentials;
  if (url) {
    PHX_TRY(check_server_url(*url));
    PHX_TRY_ASSIGN(credentials, context.ci_credentials(system));
  }
  ci::BackupOptions options;
  options.system = system;
  options.url = url;
  if (dir) options.dir = std::filesystem::path(*dir);
  options.repo = *repo;
  options.require_remote = args.flag("push");
  auto result = ci::backup(context.http(), credentials, context.reporter(), options);
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
  PHX_TRY_ASSIGN(const auto system, ci_system(context, "to"));
  const auto& args = context.args();
  const auto url = args.text("url");
  const auto repo = args.text("repo");
  if (!url || !repo) return Error{ErrorKind::invalid, "ci-config restore needs --url URL and --repo DIR"};
  PHX_TRY(check_server_url(*url));
  PHX_TRY_ASSIGN(const auto credentials, context.ci_credentials(system));
  ci::RestoreOptions options;
  options.system = system;
  options.url = *url;
  options.repo = *repo;
  options.dry_run = args.flag("dry-run");
  options.repo_url = args.text("repo-url");
  if (auto id = args.text("config-repo-id")) options.config_repo_id = *id;
  auto result = ci::restore(context.http(), credentials, context.reporter(), options);
  if (!result) return result.error();
  std::string out;
  if (result->plan.empty()) out += "nothing to change: the server already matches " + *repo + "\n";
  for (const auto& line : result->plan) out += std::string(options.dry_run ? "would " : "") + line + "\n";
  for (const auto& line : result->unchanged) out += "unchanged: " + line + "\n";
  context.print(out);
  return {};
}

Status run_ci_config(CommandContext& context) {
  const auto action = context.args().text("action");
  if (action == "backup") return run_ci_backup(context);
  if (action == "restore") return run_ci_restore(context);
  return Error{ErrorKind::invalid, "ci-config needs 'backup' or 'restore' (see 'deploy-pipeline ci-config --help')"};
}

OptionSpec text_option(std::string name, std::string value_name, std::string help, std::string environment = "") {
  return {.name = std::move(name),
          .kind = OptionKind::text,
          .value_name = std::move(value_name),
          .help = std::move(help),
          .environment = std::move(environment)};
}

std::vector<OptionSpec> switch_options(std::vector<OptionSpec> own, std::string force_help) {
  own.push_back(text_option("watch", "DURATION",
                            "after the switch, watch the new pool this long (30s, 10m, 1h) and switch back on a breach "
                            "of the watch thresholds"));
  own.push_back({.name = "force", .help = std::move(force_help)});
  own.push_back(cli::dry_run_option());
  own.push_back(cli::break_lock_option());
  return own;
}

cli::Command deploy_command() {
  return {.name = "deploy",
          .summary = "make pool L the live pool",
          .synopsis = "deploy [--label L] [--watch DURATION] [--dry-run] [--force]",
          .details =
              "Adds pool L's servers to the balancer on standby, waits until the balancer's own health\n"
              "checks pass for every one, routes traffic to them, then drains and removes the old servers\n"
              "(which keep running). If they are not healthy within balancer.health_timeout_s they are\n"
              "taken out again, the old pool keeps serving, and the exit code is 1. A pool whose smoke\n"
              "verdict is not 'passed', or that is marked bad, is refused (exit 3, nothing changed) unless\n"
              "--force; 'deploy-pipeline mark-good --label L' clears a bad mark. The label defaults to\n"
              "GO_PIPELINE_LABEL (GoCD) or BUILD_NUMBER (Jenkins).",
          .example = "deploy-pipeline deploy --label 42 --config web.json",
          .options = switch_options({cli::label_option(false)},
                                    "deploy even though the pool's smoke verdict is not 'passed', or it is marked bad"),
          .run = run_deploy};
}

cli::Command rollback_command() {
  return {.name = "rollback",
          .summary = "make the previous known-good pool live again",
          .synopsis = "rollback [--to L] [--reason TEXT] [--expect-live L] [--watch DURATION]",
          .details =
              "Makes a known-good pool (smoke test passed, not marked bad) live again and marks the pool\n"
              "rolled back from as bad with the reason (one marked bad already keeps its first reason;\n"
              "the new one goes to history). Without --to: the pool the last successful switch\n"
              "replaced, if it is known-good and all its servers run; else the newest known-good pool\n"
              "older than the live one whose servers all run (an UP hot standby first among pools created\n"
              "at the same time). A pool whose servers are not all running is never chosen by itself.\n"
              "--to L: that pool (a bad or failed pool needs --force; one with no server running is\n"
              "refused). A refused rollback changes nothing;\n"
              "--expect-live L refuses unless L is the live pool, so an alert about L never rolls back a\n"
              "later release. With --watch, the pool rolled back to is watched like a deploy's.\n"
              "Re-running an interrupted rollback finishes it. --to, --reason and --expect-live default to\n"
              "PHOENIX_ROLLBACK_TO, PHOENIX_ROLLBACK_REASON and PHOENIX_EXPECT_LIVE (for CI servers that\n"
              "do not expand variables in arguments).",
          .example = "deploy-pipeline rollback --reason 'checkout errors after 42'",
          .options = switch_options(
              {text_option("to", "L", "the pool to roll back to", "PHOENIX_ROLLBACK_TO"),
               text_option("reason", "TEXT", "why, recorded on the bad pool (unless marked bad already) and in history",
                           "PHOENIX_ROLLBACK_REASON"),
               text_option("expect-live", "L",
                           "refuse (exit 3, nothing changed) unless pool L is the live one: for alert-triggered "
                           "rollbacks",
                           "PHOENIX_EXPECT_LIVE")},
              "roll back even to a pool that is marked bad or whose smoke verdict is not 'passed'"),
          .run = run_rollback};
}

cli::Command ci_config_command() {
  return {.name = "ci-config",
          .summary = "back up the CI server's pipeline configuration to git, or restore it",
          .synopsis =
              "ci-config backup --from gocd|jenkins (--url URL | --dir DIR) --repo DIR [--push]\n"
              "       deploy-pipeline ci-config restore --to gocd|jenkins --url URL --repo DIR [--dry-run]",
          .details =
              "backup writes every GoCD pipeline (exported as YAML) or Jenkins job (config.xml, folders\n"
              "included) into the git working tree --repo, or the server's own files with --dir (GoCD's\n"
              "cruise-config.xml, JENKINS_HOME/jobs), commits only when something changed, and pushes when\n"
              "the repository has a remote (--push: fail when it has none), on top of what others pushed\n"
              "there (a conflict with a local commit not pushed yet: exit 3). Clear-text secrets are masked,\n"
              "and a file that still holds a known secret is refused (exit 3); back up GoCD's cipher.aes\n"
              "and Jenkins' secrets/master.key separately. restore registers the repository as a GoCD\n"
              "config repository and waits until GoCD parsed it (its parse errors: exit 1), or creates and\n"
              "updates each Jenkins job, never writing a mask over a secret the server has (exit 3 for a\n"
              "job it leaves alone); a second run changes nothing.\n"
              "Credentials: GOCD_TOKEN (or GOCD_USER and GOCD_PASSWORD), JENKINS_USER and JENKINS_TOKEN.",
          .example =
              "deploy-pipeline ci-config backup --from jenkins --url https://jenkins.example --repo ci-backup --push",
          .options = {text_option("from", "gocd|jenkins", "backup: the CI server's kind"),
                      text_option("to", "gocd|jenkins", "restore: the CI server's kind"),
                      text_option("url", "URL",
                                  "the CI server's address (GoCD: http://host:8153 or its HTTPS proxy; Jenkins: "
                                  "http://host:8080)"),
                      text_option("dir", "DIR", "backup: the server's own files instead of its API"),
                      text_option("repo", "DIR", "the git working tree of the backup"),
                      {.name = "push", .help = "backup: require a remote to push to (pushing is automatic)"},
                      cli::dry_run_option("restore: print the plan, change nothing"),
                      text_option("repo-url", "URL",
                                  "restore to GoCD: the URL GoCD clones (default: the repository's remote)"),
                      text_option("config-repo-id", "ID",
                                  "restore to GoCD: the config repository's id (default phoenix-ci-config)")},
          .run = run_ci_config,
          .positional = "action"};
}

cli::Program make_program() {
  return {
      .name = "deploy-pipeline",
      .description =
          "The manual pipeline of the Phoenix Server Pattern: make any existing pool live behind the\n"
          "load balancer (add the new servers, wait until they are healthy, drain and remove the old\n"
          "ones, destroy nothing), roll back in one step, and show status and history.",
      .commands =
          {
              deploy_command(),
              rollback_command(),
              {.name = "status",
               .summary = "live pool, each member's balancer state, problems",
               .synopsis = "status [--output table|json]",
               .details =
                   "Shows the live pool and every member as the balancer sees it, and reports problems: an\n"
                   "interrupted deploy, two pools live, members left in drain or maintenance, members whose\n"
                   "server no longer exists. Exit 1 when there is a problem. When the balancer does not\n"
                   "answer: what can be read without it (lock, interrupted switch, watch, freeze, last switch,\n"
                   "pools), \"balancer: unavailable (...)\" as a problem, JSON field \"balancer_error\", exit 4;\n"
                   "exit 2 when a balancer is configured wrong (socket, backend, config_file).\n"
                   "Of several balancers, one that does not answer is a problem naming it, the report is what\n"
                   "the others say (JSON field \"unanswered_balancers\"), and the exit is 4 (2 for one configured\n"
                   "wrong). When the state store does not answer (etcd down), each record it could not read\n"
                   "is a problem, JSON field \"state_store_error\", exit 4.",
               .example = "deploy-pipeline status --output json",
               .output_option = true,
               .run = run_status},
              {.name = "history",
               .summary = "past deploys and rollbacks, or time to recover per month",
               .synopsis = "history [--summary] [--output table|json]",
               .details =
                   "Lists past deploys, rollbacks, repairs and deletes, newest first. With --summary: per month\n"
                   "(UTC), the deploys and rollbacks (by a person, and automatic) that succeeded, and the median\n"
                   "and worst time to recover: from the switch that made the rolled-back pool live to the end\n"
                   "of the rollback. It covers the history kept (history.keep).",
               .example = "deploy-pipeline history --summary",
               .output_option = true,
               .options = {{.name = "summary", .help = "per month: deploys, rollbacks and time to recover"}},
               .run = run_history},
              {.name = "repair",
               .summary = "finish an interrupted switch, or make exactly one pool live",
               .synopsis = "repair [--revert] [--dry-run] [--force]",
               .details = "Finishes an interrupted deploy or rollback (stopped by Ctrl-C, a cancelled CI job or a\n"
                          "crash); with --revert, returns to the pool that was live when it started instead.\n"
                          "Otherwise, when the balancer reloaded after the last recorded switch and came back with\n"
                          "an older membership (it routes elsewhere, but the membership it restarts with is still\n"
                          "the pool that switch made live), makes that pool the only live one again, as status\n"
                          "says. Otherwise makes one of the pools the balancer routes to the only live one (the one\n"
                          "the last recorded switch made live, else the newest) and removes every other member; it\n"
                          "switches to no other pool. Finishing a switch whose\n"
                          "target was marked bad (or failed its smoke test) since it started needs --force, and so\n"
                          "does --revert to a pool marked bad or failed (a rollback marks the pool it leaves bad).",
               .example = "deploy-pipeline repair --revert",
               .options = {{.name = "revert", .help = "after an interrupted switch, return to the pool live before it"},
                           {.name = "force",
                            .help = "finish a switch, or --revert to a pool, now marked bad or failed"},
                           cli::dry_run_option(),
                           cli::break_lock_option()},
               .run = run_repair},
              {.name = "freeze",
               .summary = "block deploys (with --all, rollbacks and repairs too)",
               .synopsis = "freeze --reason TEXT [--all]",
               .details = "While frozen, deploy exits 3 naming who froze, why and since when; rollback and repair\n"
                          "stay allowed unless --all. Recorded in history and shown by status. While frozen, a\n"
                          "freeze exits 3 and changes nothing, unless --all widens a freeze of deploys only\n"
                          "(its record keeps the reason it widens). Two freezes at once are judged one after\n"
                          "the other: the one that writes second sees the first.",
               .example = "deploy-pipeline freeze --reason 'Black Friday: only rollbacks'",
               .options = {text_option("reason", "TEXT", "why (required)"),
                           {.name = "all", .help = "block rollbacks and repairs too"}},
               .run = run_freeze},
              {.name = "unfreeze",
               .summary = "lift a freeze",
               .synopsis = "unfreeze",
               .details = "Lifts the freeze; recorded in history.",
               .example = "deploy-pipeline unfreeze",
               .run = run_unfreeze},
              {.name = "mark-bad",
               .summary = "mark pool L bad: no rollback target, never kept hot",
               .synopsis = "mark-bad --label L --reason TEXT",
               .details = "Changes only the pool's verdict. A bad pool is never chosen as a rollback target nor kept\n"
                          "hot, and prune deletes it first; rollback --to it needs --force.",
               .example = "deploy-pipeline mark-bad --label 42 --reason 'leaks memory'",
               .options = {cli::label_option(true), text_option("reason", "TEXT", "why (required)")},
               .run = [](CommandContext& context) { return run_verdict(context, LiveVerdict::bad); }},
              {.name = "mark-good",
               .summary = "mark pool L good",
               .synopsis = "mark-good --label L [--reason TEXT]",
               .details = "Changes only the pool's verdict; the reason, if given, is recorded with it and in history.\n"
                          "A pool whose creation did not finish is refused (exit 3): finish it with the same\n"
                          "create command, or delete it.",
               .example = "deploy-pipeline mark-good --label 41 --reason 'served the sale without errors'",
               .options = {cli::label_option(true), text_option("reason", "TEXT", "why (optional)")},
               .run = [](CommandContext& context) { return run_verdict(context, LiveVerdict::good); }},
              ci_config_command(),
          },
  };
}

}  // namespace

const cli::Program& program() {
  static const cli::Program instance = make_program();
  return instance;
}

}  // namespace phoenix::deploy_pipeline
