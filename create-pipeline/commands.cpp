#include "create-pipeline/commands.hpp"

#include <algorithm>

#include "shared/core/label.hpp"
#include "shared/core/render.hpp"
#include "shared/ops/pool_operations.hpp"
#include "shared/ops/tier_operations.hpp"
#include "shared/util/files.hpp"
#include "shared/util/interrupt.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/writable.hpp"

namespace phoenix::create_pipeline {

namespace {

using cli::CommandContext;
using cli::OptionKind;
using cli::OptionSpec;

Result<int> size_option(const CommandContext& context, const ops::Services& services) {
  const auto size = context.args().integer("size");
  if (!size) return services.config.pool_size;
  if (*size < 1 || *size > 1000) {
    return Error{ErrorKind::invalid, "--size must be between 1 and 1000, not " + std::to_string(*size)};
  }
  return static_cast<int>(*size);
}

std::string servers_table(const Pool& pool) {
  std::vector<std::vector<std::string>> rows = {{"SERVER", "ADDRESS", "STATE"}};
  for (const auto& server : pool.servers) rows.push_back({server.id, server.address(), to_string(server.state)});
  return render_table(rows);
}

// --junit is checked before anything changes (exit 2): a report that cannot be written would
// otherwise fail the stage after its pool was created and passed, leaving a run that cannot be
// repeated. The file must not be a directory, and the directory it goes in (or the nearest
// existing one above it) must accept a new file now (a probe file is created and removed).
Status check_junit_option(const CommandContext& context) {
  const auto path = context.args().text("junit");
  if (!path) return {};
  const std::filesystem::path file(*path);
  const auto refuse = [&](const std::string& why) {
    return Error{ErrorKind::invalid, "--junit " + util::shell_quote(*path) + ": " + why};
  };
  std::error_code ec;
  if (file.filename().empty() || std::filesystem::is_directory(file, ec)) {
    return refuse("it is a directory; name the report file in it, such as " +
                  util::shell_quote((file / "smoke.xml").lexically_normal().string()));
  }
  // The directory the file goes in, or the nearest one of its ancestors that exists: the
  // directories missing between them are created when the report is written (a CI workspace
  // starts without reports/, and the shipped pipelines write reports/smoke.xml).
  const auto directory = util::nearest_existing_directory(file.parent_path());
  const auto probe = util::probe_writable_directory(directory);
  switch (probe.obstacle) {
    case util::WriteObstacle::none:
      return {};
    case util::WriteObstacle::missing:
    case util::WriteObstacle::not_directory:
      return refuse(directory.string() + " is not a directory");
    case util::WriteObstacle::not_writable:
    case util::WriteObstacle::full:
    case util::WriteObstacle::other:
      break;
  }
  return refuse("cannot write a file in " + directory.string() + " (" + probe.reason + ")");
}

Status write_junit(const CommandContext& context, const std::string& xml) {
  const auto path = context.args().text("junit");
  if (!path) return {};
  const std::filesystem::path file(*path);
  if (file.has_parent_path()) PHX_TRY(util::make_directories(file.parent_path()));
  util::remove_dead_writers_temporaries(file);  // one write per command: its sweep is here
  auto written = util::write_file_atomic(file, xml);
  if (!written.ok()) return written.error().context("writing the JUnit report");
  return {};
}

// A run or rebuild that failed or was refused before a smoke report of pool `label` was written
// writes one naming why (render_junit_not_run); a stop by a signal writes none. The outcome is
// returned as it was; a report that cannot be written adds a warning.
Status reported_in_junit(const CommandContext& context, const ops::Services& services, const std::string& label,
                         const Status& outcome, bool smoke_reported) {
  if (outcome.ok() || smoke_reported || outcome.error().is(ErrorCode::interrupted)) return outcome;
  const auto xml =
      render_junit_not_run(services.config.service, label, services.clock.wall_now(), outcome.error().message);
  if (const auto written = write_junit(context, xml); !written.ok()) services.reporter.warning(written.error().message);
  return outcome;
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

// Smoke-tests a pool, writes JUnit (and says so in `reported`), prints the summary; a failed
// check is exit 1.
Status smoke_and_report(CommandContext& context, ops::Services& services, const std::string& label,
                        bool* reported = nullptr) {
  auto report = ops::smoke_test(services, label);
  if (!report) return report.error();
  PHX_TRY(write_junit(context, render_junit(*report)));
  if (reported != nullptr) *reported = true;
  context.print(smoke_summary(*report));
  if (!report->passed()) {
    return Error{ErrorKind::failed, "smoke test failed for pool " + label + ": " + std::to_string(report->failures()) +
                                        " of " + std::to_string(report->outcomes.size()) + " checks failed"};
  }
  return {};
}

// The command line that runs `command` for pool `label` again: the same command, with the
// options given that shape what it does, and for a create or run the revision it records (given
// or from the CI environment, so the line records the same one from any shell).
std::string rerun_command(const CommandContext& context, const std::string& command, const std::string& label,
                          const std::string& revision = "") {
  const auto& args = context.args();
  std::string line = "create-pipeline " + command;
  if (const auto from = args.text("from")) line += " --from " + *from;
  line += " --label " + label;
  if (const auto size = args.integer("size")) line += " --size " + std::to_string(*size);
  if (args.flag("force")) line += " --force";  // a rebuild of a bad release needed it, and needs it again
  if (!revision.empty()) line += " --revision " + util::shell_quote(revision);
  if (const auto junit = args.text("junit")) line += " --junit " + util::shell_quote(*junit);
  return line;
}

// The command line that smoke-tests pool `label`, writing the JUnit report where the stopped
// command would have.
std::string smoke_test_command(const CommandContext& context, const std::string& label) {
  std::string line = "create-pipeline smoke-test --label " + label;
  if (const auto junit = context.args().text("junit")) line += " --junit " + util::shell_quote(*junit);
  return line;
}

// Where a create, run or rebuild of pool `label` stands when a signal stops it.
enum class StoppedPool {
  incomplete,  // stopped while its servers started
  complete,    // stopped after every server started: only its smoke test is left
};

// How a create, run or rebuild of pool `label` that a signal stopped is finished: `rerun` (the
// same command again) where the pool records a revision, since a re-run of a label with the same
// revision resumes it (invariant 10). A pool that records no revision refuses every re-run (exit
// 3): a complete one is finished by its smoke test alone, an incomplete one is deleted and
// created again.
std::string how_to_finish(const CommandContext& context, const std::string& rerun, const std::string& label,
                          const std::string& revision, StoppedPool stopped) {
  if (!revision.empty()) return ops::finishes_it({rerun});
  const std::string refused = "pool " + label + " records no revision, so a re-run is refused: ";
  if (stopped == StoppedPool::complete) return refused + ops::finishes_it({smoke_test_command(context, label)});
  return refused + ops::finishes_it({"create-pipeline delete --label " + label, rerun}) +
         " (given --revision, a re-run alone would)";
}

// SIGINT, SIGTERM and SIGHUP stop creating and smoke-testing at a safe point (servers recorded,
// no verdict recorded, no JUnit written) with the interrupted error; its one line ends with
// `finishing` (see how_to_finish), which names the commands that finish the work.
Status naming_finishing_command(const Status& status, const std::string& finishing) {
  if (status.ok() || !status.error().is(ErrorCode::interrupted)) return status;
  const Error& stopped = status.error();
  return Error{stopped.kind, stopped.message + "; " + finishing, stopped.code};
}

void print_created(const CommandContext& context, const ops::CreateResult& created) {
  const std::string& label = created.pool.label();
  context.print(
      std::string(created.already_existed ? "pool " + label + " already existed\n" : "created pool " + label + "\n") +
      servers_table(created.pool));
}

Status create_and_report(CommandContext& context, ops::Services& services, const std::string& label) {
  auto size = size_option(context, services);
  if (!size) return size.error();
  const auto revision = context.args().text("revision");
  if (revision && revision->empty()) {
    return Error{ErrorKind::invalid,
                 "--revision is empty; give the commit id the pool is built from, or leave "
                 "--revision out to record the CI's commit (GIT_COMMIT)"};
  }
  if (revision && (revision->size() > 200 || !util::is_valid_utf8(*revision) ||
                   revision->find_first_of("\r\n") != std::string::npos)) {
    return Error{ErrorKind::invalid, "--revision must be one line of at most 200 bytes (a commit id)"};
  }
  PHX_TRY_ASSIGN(const auto created, ops::create_pool(services, {.label = label, .size = *size, .revision = revision}));
  print_created(context, created);
  return {};
}

// A stop asked for once pool `label` is created, before its smoke test starts.
Status stop_before_smoke_test(const ops::Services& services, const std::string& label) {
  if (!services.stop_requested || !services.stop_requested()) return {};
  return util::stopped_by_signal("after pool " + label +
                                 " was created, before its smoke test: no verdict was recorded");
}

// Rebuilds the release of pool `from` and smoke-tests the new pool, whose label it sets in
// `new_label` once it is known.
Status rebuild_and_smoke(CommandContext& context, ops::Services& services, const std::string& from,
                         std::string& new_label, bool& smoke_reported) {
  PHX_TRY(services.http.usable());  // it smoke-tests what it creates: nothing created without HTTP
  std::optional<int> size;
  if (context.args().integer("size")) {
    PHX_TRY_ASSIGN(size, size_option(context, services));
  }
  PHX_TRY_ASSIGN(const auto spec, ops::plan_rebuild(services, {.from = from,
                                                               .label = context.args().text("label"),
                                                               .size = size,
                                                               .force = context.args().flag("force")}));
  // From here on the new pool's label is known, and the finishing command names it: stopped
  // while its servers start or during its smoke test, like run.
  const util::InterruptScope stoppable;
  new_label = spec.meta.label;
  const std::string rerun = rerun_command(context, "rebuild", new_label);
  const auto finish = [&](StoppedPool stopped) {
    return how_to_finish(context, rerun, new_label, spec.meta.revision, stopped);
  };
  auto created = ops::create_rebuild(services, spec);
  if (!created) return naming_finishing_command(created.error(), finish(StoppedPool::incomplete));
  print_created(context, *created);
  const std::string after_creation = finish(StoppedPool::complete);
  PHX_TRY(naming_finishing_command(stop_before_smoke_test(services, new_label), after_creation));
  return naming_finishing_command(smoke_and_report(context, services, new_label, &smoke_reported), after_creation);
}

Status run_rebuild(CommandContext& context) {
  const auto from = context.args().text("from");
  if (!from) return Error{ErrorKind::invalid, "rebuild needs --from L (the pool whose release to rebuild)"};
  PHX_TRY(validate_label(*from, "--from"));
  const auto label = context.args().text("label");
  if (label) PHX_TRY(validate_label(*label, "--label"));
  PHX_TRY(check_junit_option(context));
  PHX_TRY_ASSIGN(auto services, context.services());
  // Refused before its label is chosen, the report names the --label asked for, else the pool
  // whose release it rebuilds.
  std::string new_label = label.value_or(*from);
  bool smoke_reported = false;
  const Status done = rebuild_and_smoke(context, *services, *from, new_label, smoke_reported);
  return reported_in_junit(context, *services, new_label, done, smoke_reported);
}

Status run_create(CommandContext& context) {
  auto label = context.label();
  if (!label) return label.error();
  auto services = context.services();
  if (!services) return services.error();
  const util::InterruptScope stoppable;
  const std::string revision = ops::revision_to_record(**services, context.args().text("revision"));
  return naming_finishing_command(create_and_report(context, **services, *label),
                                  how_to_finish(context, rerun_command(context, "create", *label, revision), *label,
                                                revision, StoppedPool::incomplete));
}

Status run_smoke_test(CommandContext& context) {
  auto label = context.label();
  if (!label) return label.error();
  PHX_TRY(check_junit_option(context));
  auto services = context.services();
  if (!services) return services.error();
  const util::InterruptScope stoppable;
  return naming_finishing_command(smoke_and_report(context, **services, *label),
                                  ops::finishes_it({smoke_test_command(context, *label)}));
}

// Creates pool `label` (or finds it created) and smoke-tests it.
Status create_and_smoke(CommandContext& context, ops::Services& services, const std::string& label,
                        bool& smoke_reported) {
  PHX_TRY(services.http.usable());  // it smoke-tests what it creates: nothing created without HTTP
  const util::InterruptScope stoppable;
  const std::string revision = ops::revision_to_record(services, context.args().text("revision"));
  const std::string rerun = rerun_command(context, "run", label, revision);
  PHX_TRY(naming_finishing_command(create_and_report(context, services, label),
                                   how_to_finish(context, rerun, label, revision, StoppedPool::incomplete)));
  const std::string after_creation = how_to_finish(context, rerun, label, revision, StoppedPool::complete);
  PHX_TRY(naming_finishing_command(stop_before_smoke_test(services, label), after_creation));
  return naming_finishing_command(smoke_and_report(context, services, label, &smoke_reported), after_creation);
}

Status run_run(CommandContext& context) {
  auto label = context.label();
  if (!label) return label.error();
  PHX_TRY(check_junit_option(context));
  auto services = context.services();
  if (!services) return services.error();
  bool smoke_reported = false;
  const Status done = create_and_smoke(context, **services, *label, smoke_reported);
  return reported_in_junit(context, **services, *label, done, smoke_reported);
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
  auto label = context.args().text("label");
  if (!label) return Error{ErrorKind::invalid, "delete needs --label L (the pool to delete)"};
  PHX_TRY(validate_label(*label, "--label"));
  auto services = context.services();
  if (!services) return services.error();
  const bool dry_run = context.args().flag("dry-run");
  PHX_TRY(ops::delete_pool(**services, {.label = *label,
                                        .dry_run = dry_run,
                                        .break_lock = context.args().flag("break-lock"),
                                        .force = context.args().flag("force")}));
  context.print(dry_run ? "would delete pool " + *label + "\n" : "deleted pool " + *label + "\n");
  return {};
}

// Every pool, newest first: what prune does (or did) with it, and why.
std::string prune_table(const ops::PruneResult& result, bool dry_run) {
  const auto listed = [](const std::vector<std::string>& labels, const std::string& label) {
    return std::find(labels.begin(), labels.end(), label) != labels.end();
  };
  std::vector<std::vector<std::string>> rows = {{"POOL", "PRUNE", "WHY"}};
  for (const auto& verdict : result.decision.pools) {
    std::string action;
    std::string why = verdict.why;
    switch (verdict.action) {
      case PruneAction::keep:
        action = "keep";
        break;
      case PruneAction::power_off:
        action = dry_run ? "would power off" : "powered off";
        break;
      case PruneAction::archive:
        action = dry_run ? "would archive" : "archived";
        break;
      case PruneAction::remove:
        action = dry_run ? "would delete" : "deleted";
        break;
    }
    if (!dry_run && verdict.action != PruneAction::keep) {
      if (listed(result.refused, verdict.label)) {
        action = "kept";
        why = "it joined the balancer meanwhile";
      } else if (!listed(result.powered_off, verdict.label) && !listed(result.archived, verdict.label) &&
                 !listed(result.deleted, verdict.label)) {
        action = "not done";
      }
    }
    rows.push_back({verdict.label, action, why});
  }
  if (rows.size() == 1) return "no pools\n";
  return render_table(rows);
}

Status run_prune(CommandContext& context) {
  auto services = context.services();
  if (!services) return services.error();
  const auto& config = (*services)->config;
  const auto keep_option = context.args().integer("keep");
  const long long keep = keep_option.value_or(config.retention_keep);
  if (keep < 0 || keep > 1000)
    return Error{ErrorKind::invalid, "--keep must be between 0 and 1000, not " + std::to_string(keep)};
  const bool dry_run = context.args().flag("dry-run");
  // --keep N keeps N pools as they are; without it, the configured tiers apply.
  auto result = ops::prune_pools(**services, {.keep = static_cast<int>(keep),
                                              .tiers = keep_option ? std::nullopt : config.retention_tiers,
                                              .dry_run = dry_run,
                                              .break_lock = context.args().flag("break-lock")});
  if (!result) return result.error();
  context.print(prune_table(*result, dry_run));
  return {};
}

Status run_archive(CommandContext& context) {
  auto label = context.args().text("label");
  if (!label) return Error{ErrorKind::invalid, "archive needs --label L (the pool to archive)"};
  PHX_TRY(validate_label(*label, "--label"));
  auto services = context.services();
  if (!services) return services.error();
  const bool dry_run = context.args().flag("dry-run");
  PHX_TRY_ASSIGN(const auto archived, ops::archive_pool(**services, {.label = *label,
                                                                     .dry_run = dry_run,
                                                                     .break_lock = context.args().flag("break-lock")}));
  if (dry_run) {
    context.print("would archive pool " + *label + "\n");
  } else if (archived.already_cold) {
    context.print("pool " + *label + " is already cold (snapshot " + archived.archive.id + ")\n");
  } else {
    context.print("archived pool " + *label + ": snapshot " + archived.archive.id + ", " +
                  util::plural(archived.servers_deleted, "server") + " deleted (" +
                  util::format_duration_ms(archived.duration_ms) + ")\n");
  }
  return {};
}

Status run_power(CommandContext& context, PowerState power) {
  auto label = context.args().text("label");
  if (!label) return Error{ErrorKind::invalid, "power-on and power-off need --label L"};
  PHX_TRY(validate_label(*label, "--label"));
  auto services = context.services();
  if (!services) return services.error();
  PHX_TRY(ops::set_pool_power(**services, *label, power, context.args().flag("break-lock")));
  context.print("pool " + *label + " is powered " + to_string(power) + "\n");
  return {};
}

const OptionSpec kSizeOption{.name = "size",
                             .short_name = 'n',
                             .kind = OptionKind::integer,
                             .value_name = "N",
                             .help = "servers in the pool (default: pool.size)"};
const OptionSpec kJunitOption{.name = "junit",
                              .kind = OptionKind::text,
                              .value_name = "FILE",
                              .help = "write JUnit XML for GoCD test artifacts or Jenkins' junit step"};
const OptionSpec kRevisionOption{.name = "revision",
                                 .kind = OptionKind::text,
                                 .value_name = "REV",
                                 .help =
                                     "the source revision the release was built from (default: GO_REVISION*, "
                                     "GIT_COMMIT); a label names one revision forever"};
const OptionSpec kKeepOption{.name = "keep",
                             .kind = OptionKind::integer,
                             .value_name = "N",
                             .help = "non-live pools to keep (default: retention.keep)"};

cli::Program make_program() {
  const auto dry_run = cli::dry_run_option("show what would be done to each pool and why, change nothing");
  return {
      .name = "create-pipeline",
      .description =
          "The per-commit pipeline of the Phoenix Server Pattern: create a pool of fresh servers for a\n"
          "release label, deploy the release onto it, smoke-test it and record the verdict. It never\n"
          "touches the load balancer. Its manual final step deletes old pools, never a live one.",
      .commands =
          {
              {.name = "create",
               .summary = "create the pool and deploy the release onto it",
               .synopsis = "create [--label L] [--size N]",
               .details = "Creates the servers of pool L all at once and starts the release on them. Re-running it\n"
                          "for an existing pool of the same revision changes nothing; for a pool whose creation was\n"
                          "interrupted, it completes the pool. A label that exists with another revision (or none\n"
                          "recorded) is refused with exit 3: a label names one revision forever.",
               .example = "create-pipeline create --label 42 --config web.json",
               .options = {cli::label_option(false), kSizeOption, kRevisionOption},
               .run = run_create},
              {.name = "smoke-test",
               .summary = "check every server; record passed/failed",
               .synopsis = "smoke-test [--label L] [--junit FILE]",
               .details = "Runs the configured smoke checks against every server of pool L at once, retrying until\n"
                          "smoke_test.timeout_s, and records the verdict on the pool. Exit 1 when a check fails.",
               .example = "create-pipeline smoke-test --label 42 --junit reports/smoke.xml",
               .options = {cli::label_option(false), kJunitOption},
               .run = run_smoke_test},
              {.name = "run",
               .summary = "create + smoke-test (the per-commit stage)",
               .synopsis = "run [--label L] [--size N] [--junit FILE]",
               .details = "Creates pool L and smoke-tests it: the whole per-commit stage in one command.",
               .example = "create-pipeline run --junit reports/smoke.xml   # label from GO_PIPELINE_LABEL or "
                          "BUILD_NUMBER",
               .options = {cli::label_option(false), kSizeOption, kRevisionOption, kJunitOption},
               .run = run_run},
              {.name = "rebuild",
               .summary = "the same release on fresh servers, smoke-tested",
               .synopsis = "rebuild --from L [--label NEW] [--size N] [--junit FILE] [--force]",
               .details =
                   "Creates pool NEW (default L.r1, L.r2, ...) from exactly pool L's release and revision,\n"
                   "and smoke-tests it like run: the recovery for failures that are not the code's (a broken or\n"
                   "compromised server, a patched base image). It never touches the balancer; deploy NEW\n"
                   "when it passed. A pool L that is marked bad or failed its smoke test is refused (exit 3)\n"
                   "unless --force; NEW then records it ('list': \"rebuild of L (marked bad)\") and a plain\n"
                   "rollback never chooses NEW until it is marked good.",
               .example = "create-pipeline rebuild --from 41 --junit reports/smoke.xml",
               .options = {{.name = "from",
                            .kind = OptionKind::text,
                            .value_name = "L",
                            .help = "the pool whose release to rebuild (required)"},
                           {.name = "label",
                            .short_name = 'l',
                            .kind = OptionKind::text,
                            .value_name = "NEW",
                            .help = "the new pool's label (default: L.r1, L.r2, ...)"},
                           {.name = "size",
                            .short_name = 'n',
                            .kind = OptionKind::integer,
                            .value_name = "N",
                            .help = "servers in the new pool (default: as many as L has)"},
                           kJunitOption,
                           {.name = "force",
                            .help = "rebuild even a release marked bad or that failed its smoke test"}},
               .run = run_rebuild},
              {.name = "list",
               .summary = "pools, newest first: tier, verdicts, monthly cost, wake time",
               .synopsis = "list [--output table|json]",
               .details = "Lists every pool of the service, newest first. TIER is live, hot (on standby, a pool that\n"
                          "served), member (still in the balancer, or left on standby by an interrupted deploy that\n"
                          "never routed to it), running, off (powered off) or cold (only a snapshot kept); COST\n"
                          "is an estimate from the provider's prices per month (none for local); WAKE is what waking\n"
                          "a pool from its tier took the last time any pool was woken from it; a pool whose delete\n"
                          "stopped part-way is 'deleting (interrupted)' until delete or prune finishes it.",
               .example = "create-pipeline list --output json",
               .output_option = true,
               .run = run_list},
              {.name = "delete",
               .summary = "smart delete of one pool",
               .synopsis = "delete --label L [--dry-run]",
               .details =
                   "Destroys pool L and its servers. Refused (exit 3) while any of its servers takes traffic\n"
                   "or holds connections: the balancer is read again, under the deploy lock, immediately before\n"
                   "anything is destroyed. A hot pool (on standby, idle) is taken out of the balancer first.\n"
                   "Refused (exit 3) too, unless --force, when L is one of the last retention.keep_good\n"
                   "known-good pools besides the live and hot ones, or when L is the hot standby and the last\n"
                   "known-good pool besides the live one. --dry-run says when the real run would be refused.\n"
                   "A delete that stopped part-way leaves the pool listed as 'deleting (interrupted)'; running it\n"
                   "again finishes it.",
               .example = "create-pipeline delete --label 40 --dry-run",
               .options = {cli::label_option(true),
                           dry_run,
                           cli::break_lock_option(),
                           {.name = "force",
                            .help = "delete even one of the last known-good pools, or the last rollback target"}},
               .run = run_delete},
              {.name = "prune",
               .summary = "smart delete of all but N non-live pools, known-good ones kept first",
               .synopsis = "prune [--keep N] [--dry-run]",
               .details = "Deletes every pool except the live one, the hot ones and others still in the balancer,\n"
                          "and N others (default: retention.keep): known-good pools take those places first, then\n"
                          "pools not judged yet (creation cut short, smoke test not run), then pools that failed\n"
                          "their smoke test or are marked bad, newest first within each; it never leaves fewer than\n"
                          "retention.keep_good known-good pools. With retention.running, .off and .cold (and no\n"
                          "--keep) the kept pools fill the tiers in that order: the first stay as they are, the next\n"
                          "are powered off, the next archived; moves happen before any delete. A pool whose delete\n"
                          "stopped part-way is finished. Prints every pool with what happens to it and why\n"
                          "(--dry-run: what would).",
               .example = "create-pipeline prune --keep 3 --dry-run",
               .options = {kKeepOption, dry_run, cli::break_lock_option()},
               .run = run_prune},
              {.name = "archive",
               .summary = "keep only a snapshot of a pool: the cold tier",
               .synopsis = "archive --label L [--dry-run]",
               .details = "Snapshots one server of the known-good pool L (its release, as deployed), and once the\n"
                          "snapshot is ready deletes the pool's servers. The pool stays in list, cold, with its\n"
                          "verdicts and revision; deploying or rolling back to it recreates its servers from the\n"
                          "snapshot, smoke-tests them, then switches. Refused (exit 3) while the balancer has any of\n"
                          "its servers, and for a pool that failed its smoke test or is marked bad. Only where the\n"
                          "provider has a cold tier (hcloud; exec with supports_archive).",
               .example = "create-pipeline archive --label 40",
               .options = {cli::label_option(true), dry_run, cli::break_lock_option()},
               .run = run_archive},
              {.name = "power-off",
               .summary = "stop a pool's servers, keeping them (retention tier off)",
               .synopsis = "power-off --label L",
               .details = "Stops every server of pool L, keeping its addresses and release; refused while it is in\n"
                          "the balancer, or while a deploy, rollback or prune holds the deploy lock. Deploying a "
                          "powered-off pool powers it on and smoke-tests it first. On\n"
                          "Hetzner Cloud a powered-off server is billed like a running one: it saves boot time,\n"
                          "not money (see archive).",
               .example = "create-pipeline power-off --label 40",
               .options = {cli::label_option(true), cli::break_lock_option()},
               .run = [](CommandContext& context) { return run_power(context, PowerState::off); }},
              {.name = "power-on",
               .summary = "start a powered-off pool's servers again",
               .synopsis = "power-on --label L",
               .details = "Starts every server of pool L that does not run, again on its old address. The "
                          "servers were not checked: the pool's smoke verdict is pending (a deploy or rollback "
                          "to it is refused) until 'create-pipeline smoke-test --label L' passes.",
               .example = "create-pipeline power-on --label 40",
               .options = {cli::label_option(true)},
               .run = [](CommandContext& context) { return run_power(context, PowerState::on); }},
          },
  };
}

}  // namespace

const cli::Program& program() {
  static const cli::Program instance = make_program();
  return instance;
}

}  // namespace phoenix::create_pipeline
