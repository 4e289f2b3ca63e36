#include "deploy-pipeline/commands.hpp"

#include "shared/core/label.hpp"
#include "shared/core/render.hpp"
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
  auto label = context.get<std::string>("label");
  if (!label) return Error{ErrorKind::invalid, "deploy needs --label L (the pool to make live)"};
  PHX_TRY(validate_label(*label, "--label"));
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
  options.to = context.get<std::string>("to");
  if (options.to) PHX_TRY(validate_label(*options.to, "--to"));
  options.reason = context.get<std::string>("reason").value_or("");
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
      {"deploy", "make pool L the live pool", "deploy --label L [--dry-run] [--force]",
       "Adds pool L's servers to the balancer on standby, waits until the balancer's own health\n"
       "checks pass for every one, routes traffic to them, then drains and removes the old servers\n"
       "(which keep running). If they are not healthy within balancer.health_timeout_s they are\n"
       "taken out again, the old pool keeps serving, and the exit code is 1.",
       "deploy-pipeline deploy --label 42 --config web.json", false,
       [](po::options_description& options) {
         cli::add_label_option(options, true);
         switch_options(options);
       },
       run_deploy},
      {"rollback", "make the previous known-good pool live again", "rollback [--to L] [--reason TEXT]",
       "Makes the newest pool older than the live one whose smoke test passed and that is not\n"
       "marked bad live again (or pool L with --to), and marks the pool rolled back from as bad\n"
       "with the reason. Re-running an interrupted rollback finishes it.",
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
  };
  return program;
}

}  // namespace

const cli::Program& program() {
  static const cli::Program instance = make_program();
  return instance;
}

}  // namespace phoenix::deploy_pipeline
