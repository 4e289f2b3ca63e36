#include "create-pipeline/commands.hpp"

#include "shared/core/label.hpp"
#include "shared/core/render.hpp"
#include "shared/ops/operations.hpp"
#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::create_pipeline {

namespace {

using cli::CommandContext;
namespace po = boost::program_options;

Result<int> size_option(const CommandContext& context, const ops::Services& services) {
  const auto size = context.get<int>("size");
  if (!size) return services.config.pool_size;
  if (*size < 1 || *size > 1000) {
    return Error{ErrorKind::invalid, "--size must be between 1 and 1000, not " + std::to_string(*size)};
  }
  return *size;
}

std::string servers_table(const Pool& pool) {
  std::vector<std::vector<std::string>> rows = {{"SERVER", "ADDRESS", "STATE"}};
  for (const auto& server : pool.servers) rows.push_back({server.id, server.address(), to_string(server.state)});
  return render_table(rows);
}

Status write_junit(const CommandContext& context, const SmokeReport& report) {
  const auto path = context.get<std::string>("junit");
  if (!path) return {};
  const std::filesystem::path file(*path);
  if (file.has_parent_path()) PHX_TRY(util::make_directories(file.parent_path()));
  auto written = util::write_file_atomic(file, render_junit(report));
  if (!written.ok()) return written.error().context("writing the JUnit report");
  return {};
}

std::string smoke_summary(const SmokeReport& report) {
  std::string out = "smoke test " + std::string(report.passed() ? "passed" : "FAILED") + " for pool " + report.label +
                    ": " + std::to_string(report.outcomes.size() - report.failures()) + " of " +
                    std::to_string(report.outcomes.size()) + " checks passed\n";
  for (const auto& outcome : report.outcomes) {
    if (!outcome.passed)
      out += "  server " + outcome.server_id + " (" + outcome.address + ") " + outcome.check + ": " + outcome.message +
             "\n";
  }
  return out;
}

// Smoke-tests a pool, writes JUnit, prints the summary; a failed check is exit 1.
Status smoke_and_report(CommandContext& context, ops::Services& services, const std::string& label) {
  auto report = ops::smoke_test(services, label);
  if (!report) return report.error();
  PHX_TRY(write_junit(context, *report));
  context.print(smoke_summary(*report));
  if (!report->passed()) {
    return Error{ErrorKind::failed, "smoke test failed for pool " + label + ": " + std::to_string(report->failures()) +
                                        " of " + std::to_string(report->outcomes.size()) + " checks failed"};
  }
  return {};
}

Status create_and_report(CommandContext& context, ops::Services& services, const std::string& label) {
  auto size = size_option(context, services);
  if (!size) return size.error();
  auto created = ops::create_pool(services, {label, *size});
  if (!created) return created.error();
  context.print(
      std::string(created->already_existed ? "pool " + label + " already existed\n" : "created pool " + label + "\n") +
      servers_table(created->pool));
  return {};
}

Status run_create(CommandContext& context) {
  auto label = cli::label_option(context);
  if (!label) return label.error();
  auto services = context.services();
  if (!services) return services.error();
  return create_and_report(context, **services, *label);
}

Status run_smoke_test(CommandContext& context) {
  auto label = cli::label_option(context);
  if (!label) return label.error();
  auto services = context.services();
  if (!services) return services.error();
  return smoke_and_report(context, **services, *label);
}

Status run_run(CommandContext& context) {
  auto label = cli::label_option(context);
  if (!label) return label.error();
  auto services = context.services();
  if (!services) return services.error();
  PHX_TRY(create_and_report(context, **services, *label));
  return smoke_and_report(context, **services, *label);
}

Status run_list(CommandContext& context) {
  auto services = context.services();
  if (!services) return services.error();
  auto listing = ops::list_pools(**services);
  if (!listing) return listing.error();
  context.print(context.global().output == cli::OutputFormat::json ? render_pools_json(*listing)
                                                                   : render_pools_table(*listing));
  return {};
}

Status run_delete(CommandContext& context) {
  auto label = context.get<std::string>("label");
  if (!label) return Error{ErrorKind::invalid, "delete needs --label L (the pool to delete)"};
  PHX_TRY(validate_label(*label, "--label"));
  auto services = context.services();
  if (!services) return services.error();
  const bool dry_run = context.flag("dry-run");
  PHX_TRY(ops::delete_pool(**services, {*label, dry_run, context.flag("break-lock")}));
  context.print(dry_run ? "would delete pool " + *label + "\n" : "deleted pool " + *label + "\n");
  return {};
}

Status run_prune(CommandContext& context) {
  auto services = context.services();
  if (!services) return services.error();
  const int keep = context.get<int>("keep").value_or((*services)->config.retention_keep);
  if (keep < 0 || keep > 1000)
    return Error{ErrorKind::invalid, "--keep must be between 0 and 1000, not " + std::to_string(keep)};
  const bool dry_run = context.flag("dry-run");
  auto result = ops::prune_pools(**services, {keep, dry_run, context.flag("break-lock")});
  if (!result) return result.error();
  std::string out;
  const auto& removed = dry_run ? result->decision.remove : result->deleted;
  out += std::string(dry_run ? "would delete: " : "deleted: ") +
         (removed.empty() ? "nothing" : util::join(removed, ", ")) + "\n";
  for (const auto& [label, why] : result->decision.keep) out += "kept " + label + ": " + why + "\n";
  for (const auto& label : result->refused) out += "refused " + label + ": it joined the balancer meanwhile\n";
  context.print(out);
  return {};
}

Status run_power(CommandContext& context, PowerState power) {
  auto label = context.get<std::string>("label");
  if (!label) return Error{ErrorKind::invalid, "power-on and power-off need --label L"};
  PHX_TRY(validate_label(*label, "--label"));
  auto services = context.services();
  if (!services) return services.error();
  PHX_TRY(ops::set_pool_power(**services, *label, power));
  context.print("pool " + *label + " is powered " + to_string(power) + "\n");
  return {};
}

void label_and_size(po::options_description& options) {
  cli::add_label_option(options, false);
  options.add_options()("size,n", po::value<int>()->value_name("N"), "servers in the pool (default: pool.size)");
}

void junit_option(po::options_description& options) {
  options.add_options()("junit", po::value<std::string>()->value_name("FILE"),
                        "write JUnit XML for GoCD test artifacts or Jenkins' junit step");
}

void dry_run_and_lock(po::options_description& options) {
  options.add_options()("dry-run", po::bool_switch(), "show what would be deleted, change nothing")(
      "break-lock", po::bool_switch(), "take over a stale deploy lock (its holder is gone or too old)");
}

cli::Program make_program() {
  cli::Program program;
  program.name = "create-pipeline";
  program.description =
      "The per-commit pipeline of the Phoenix Server Pattern: create a pool of fresh servers for a\n"
      "release label, deploy the release onto it, smoke-test it and record the verdict. It never\n"
      "touches the load balancer. Its manual final step deletes old pools, never a live one.";
  program.commands = {
      {"create", "create the pool and deploy the release onto it", "create [--label L] [--size N]",
       "Creates the servers of pool L all at once and starts the release on them. Re-running it\n"
       "for an existing pool changes nothing; for a pool whose creation was interrupted, it\n"
       "completes the pool.",
       "create-pipeline create --label 42 --config web.json", false, label_and_size, run_create},
      {"smoke-test", "check every server; record passed/failed", "smoke-test [--label L] [--junit FILE]",
       "Runs the configured smoke checks against every server of pool L at once, retrying until\n"
       "smoke_test.timeout_s, and records the verdict on the pool. Exit 1 when a check fails.",
       "create-pipeline smoke-test --label 42 --junit reports/smoke.xml", false,
       [](po::options_description& options) {
         cli::add_label_option(options, false);
         junit_option(options);
       },
       run_smoke_test},
      {"run", "create + smoke-test (the per-commit stage)", "run [--label L] [--size N] [--junit FILE]",
       "Creates pool L and smoke-tests it: the whole per-commit stage in one command.",
       "create-pipeline run --junit reports/smoke.xml   # label from GO_PIPELINE_LABEL or BUILD_NUMBER", false,
       [](po::options_description& options) {
         label_and_size(options);
         junit_option(options);
       },
       run_run},
      {"list", "pools, newest first, with live/smoke/power state", "list [--output table|json]",
       "Lists every pool of the service, newest first. LIVE comes from the balancer, everything\n"
       "else from the provider.",
       "create-pipeline list --output json", true, nullptr, run_list},
      {"delete", "smart delete of one pool", "delete --label L [--dry-run]",
       "Destroys pool L and its servers. Refused (exit 3) while any of its servers is a member of\n"
       "the balancer in any state: the balancer is read again, under the deploy lock, immediately\n"
       "before anything is destroyed.",
       "create-pipeline delete --label 40 --dry-run", false,
       [](po::options_description& options) {
         cli::add_label_option(options, true);
         dry_run_and_lock(options);
       },
       run_delete},
      {"prune", "smart delete of all but the newest N non-live pools", "prune [--keep N] [--dry-run]",
       "Deletes every pool except the live one, pools still in the balancer, and the newest N\n"
       "others (default: retention.keep).",
       "create-pipeline prune --keep 3 --dry-run", false,
       [](po::options_description& options) {
         options.add_options()("keep", po::value<int>()->value_name("N"),
                               "non-live pools to keep (default: retention.keep)");
         dry_run_and_lock(options);
       },
       run_prune},
      {"power-off", "stop a pool's servers, keeping it (cheap retention)", "power-off --label L",
       "Stops every server of pool L, keeping its addresses and release; refused while it is in\n"
       "the balancer. Deploying a powered-off pool powers it on and smoke-tests it first.",
       "create-pipeline power-off --label 40", false,
       [](po::options_description& options) { cli::add_label_option(options, true); },
       [](CommandContext& context) { return run_power(context, PowerState::off); }},
      {"power-on", "start a powered-off pool's servers again", "power-on --label L",
       "Starts every server of pool L again on its old address.", "create-pipeline power-on --label 40", false,
       [](po::options_description& options) { cli::add_label_option(options, true); },
       [](CommandContext& context) { return run_power(context, PowerState::on); }},
  };
  return program;
}

}  // namespace

const cli::Program& program() {
  static const cli::Program instance = make_program();
  return instance;
}

}  // namespace phoenix::create_pipeline
