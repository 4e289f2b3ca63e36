#!/usr/bin/env python3
"""Checks every file in pipeline-configs/ (run by tests/e2e/pipeline_configs_test.cpp).

- YAML files parse; JSON files parse.
- GoCD *.gocd.yaml files follow the gocd-yaml-config-plugin format 10 structure: allowed keys
  at each level, stages as a list, jobs as a map, tasks of known types. Jobs that run Phoenix
  are pinned to agents (resources), manual approvals are limited to roles or users, secrets
  come from secret references or encrypted secure variables, and pipelines that change pools
  are locked (lock_behavior; lockOnFailure for deploys, which must be looked at when they fail).
- Jenkinsfiles (declarative): an input waits outside any agent (agent none at the top, an agent
  per stage) and does not queue later builds; every command that changes pools runs inside
  lock(), the same resource everywhere; every command that records history knows the person
  (BUILD_USER); a git push has an SSH key bound around it; the per-commit job has a trigger.
- Every create-pipeline / deploy-pipeline command and option that a GoCD file or a Jenkinsfile
  calls exists in the built executables (checked against their own --help), and every PHOENIX_*
  variable a pipeline sets is read by a command it runs (its --help names the variable as an
  option's default). Both come from the binaries, so an option lands in the check with the
  option itself. GoCD exec tasks pass no $VARS to the tools (GoCD does not expand them).
- Alert-triggered rollbacks (a Jenkinsfile with a Generic Webhook Trigger; a GoCD pipeline
  that the user "alertmanager" schedules, or that declares PHOENIX_EXPECT_LIVE): the trigger
  takes its token from a credential, and its JSONPaths and filter, applied as the plugin applies
  them to a sample Alertmanager notification, start a build for a firing notification about one
  release of the service and for nothing else (resolved, no common release); every rollback
  passes the alert's release as PHOENIX_EXPECT_LIVE (or --expect-live) and refuses an empty one
  first (the tools read an empty variable as unset); a GoCD one never starts on a material
  change (manual first stage) and declares every variable the relay
  (gocd/alertmanager-relay.py) sends for the sample, which GoCD would otherwise refuse (422).
- Python files compile.
- The Jenkins Configuration-as-Code seed points at Jenkinsfiles that exist and declares the
  same triggers and parameters as each of them (a Jenkinsfile's take effect only after a build).

    check_pipeline_configs.py SOURCE_DIR BIN_DIR
"""
import json
import os
import re
import subprocess
import sys

import yaml

TOP = {"format_version", "pipelines", "environments", "common"}
PIPELINE = {"group", "label_template", "lock_behavior", "timer", "parameters", "environment_variables",
            "secure_variables", "materials", "stages", "template", "display_order", "tracking_tool"}
STAGE = {"approval", "jobs", "clean_workspace", "fetch_materials", "keep_artifacts", "environment_variables",
         "secure_variables"}
JOB = {"tasks", "artifacts", "resources", "timeout", "environment_variables", "secure_variables", "tabs",
       "elastic_profile_id", "run_instances"}
TASKS = {"exec", "fetch", "script", "plugin"}
EXEC = {"command", "arguments", "working_directory", "run_if"}
APPROVAL = {"type", "allow_only_on_success", "users", "roles"}
MATERIAL_KINDS = {"git", "hg", "svn", "p4", "tfs", "pipeline", "dependency", "package", "plugin", "scm"}
TOOLS = {"create-pipeline", "deploy-pipeline"}
# Commands that change pools or the balancer: they take Phoenix's deploy lock, so the CI server
# must serialise them (a second one waits instead of failing with exit 3).
SWITCHING = {("deploy-pipeline", "deploy"), ("deploy-pipeline", "rollback"), ("deploy-pipeline", "repair"),
             ("create-pipeline", "prune"), ("create-pipeline", "delete")}
# Commands that record who ran them (pool metadata or history).
RECORDING = SWITCHING | {("create-pipeline", "run"), ("create-pipeline", "create"),
                         ("create-pipeline", "smoke-test")}
SECRET_NAME = re.compile(r"(TOKEN|PASSWORD|SECRET|PASSPHRASE|_KEY)$")
# Alert-triggered rollbacks: the CI user Alertmanager's requests run as, the variable and option
# that name the release the alert is about, and the shell test that refuses an empty one.
ALERT_USER = "alertmanager"
EXPECT_LIVE = "PHOENIX_EXPECT_LIVE"
EXPECT_LIVE_OPTION = "--expect-live"
EXPECT_LIVE_GUARD = re.compile(r'(test|\[)\s+-n\s+"\$\{?' + EXPECT_LIVE + r'\}?"')
RELAY = "pipeline-configs/gocd/alertmanager-relay.py"
# What Alertmanager sends (webhook version 4), to see which variables the relay asks GoCD for.
SAMPLE_NOTIFICATION = {
    "version": "4", "groupKey": "{}:{alertname=\"WebErrors\"}", "truncatedAlerts": 0, "status": "firing",
    "receiver": "phoenix", "externalURL": "http://alertmanager.example.com:9093",
    "groupLabels": {"alertname": "WebErrors", "service": "web", "release": "42-1a2b3c4"},
    "commonLabels": {"alertname": "WebErrors", "service": "web", "release": "42-1a2b3c4"},
    "commonAnnotations": {"summary": "5xx ratio 0.31"},
    "alerts": [{"status": "firing", "labels": {"alertname": "WebErrors", "service": "web", "release": "42-1a2b3c4"},
                "annotations": {"summary": "5xx ratio 0.31"}, "startsAt": "2026-01-01T03:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "0123456789abcdef"}],
}
INPUT_STEP = re.compile(r"(^|[=(\s])input\s*(\(|message\b)")
SECRET_REFERENCE = re.compile(r"^\{\{SECRET:\[[^\]]+\]\[[^\]]+\]\}\}$")

problems = []
calls = []  # (file, tool, arguments)
variables_set = []  # (file, where, variable, [(tool, arguments) run with it])
gocd_alert_pipelines = []  # (file, where, {variables it declares})


def problem(path, message):
    problems.append(f"{path}: {message}")


# ---- GoCD -------------------------------------------------------------------------------------

def exec_calls(job):
    """(tool, arguments) of every exec task of a job that runs create-pipeline or deploy-pipeline."""
    found = []
    for task in job.get("tasks") or []:
        if isinstance(task, dict) and isinstance(task.get("exec"), dict) and task["exec"].get("command") in TOOLS:
            found.append((task["exec"]["command"], [str(a) for a in task["exec"].get("arguments", [])]))
    return found


def check_gocd_variables(path, where, owner):
    for name, value in (owner.get("environment_variables") or {}).items():
        if SECRET_NAME.search(name) and not SECRET_REFERENCE.match(str(value)):
            problem(path, f"{where}: {name} is in clear; use a secret reference "
                          "\"{{SECRET:[config][key]}}\" or secure_variables")
    for name, value in (owner.get("secure_variables") or {}).items():
        if not str(value).startswith("AES:"):
            problem(path, f"{where}: secure variable {name} is not encrypted with the server's key (AES:...)")


def check_gocd_approval(path, where, approval):
    if approval is None or approval == "success":
        return
    if approval == "manual":
        return problem(path, f"{where}: the manual approval is open to every user; limit it with roles")
    if not isinstance(approval, dict) or not set(approval) <= APPROVAL or \
            approval.get("type") not in ("manual", "success"):
        return problem(path, f"{where}: bad approval")
    if approval["type"] == "manual" and not (approval.get("roles") or approval.get("users")):
        problem(path, f"{where}: the manual approval is open to every user; limit it with roles")


def check_gocd_job(path, where, job):
    for key in set(job) - JOB:
        problem(path, f"{where}: unknown key '{key}'")
    for task in job.get("tasks") or []:
        if not isinstance(task, dict) or len(set(task) & TASKS) != 1:
            problem(path, f"{where}: a task must be one of {sorted(TASKS)}")
            continue
        if "exec" in task:
            for key in set(task["exec"]) - EXEC:
                problem(path, f"{where}: unknown exec key '{key}'")
    for tool, arguments in exec_calls(job):
        calls.append((path, tool, arguments))
        for argument in arguments:
            if re.search(r"\$\{?[A-Za-z_]", argument):
                problem(path, f"{where}: '{tool} {' '.join(arguments)}' passes '{argument}', but GoCD exec tasks "
                              "do not expand variables; the tools read them from the environment themselves")
    if exec_calls(job) and not (job.get("resources") or job.get("elastic_profile_id")):
        problem(path, f"{where}: runs Phoenix on any agent; pin it to agents that have it with resources")
    for artifact in job.get("artifacts") or []:
        if not isinstance(artifact, dict) or not set(artifact) <= {"build", "test", "external"}:
            problem(path, f"{where}: bad artifact")
    check_gocd_variables(path, where, job)


def check_gocd_locking(path, where, pipeline, commands):
    switching = sorted({f"{tool} {arguments[0]}" for tool, arguments in commands
                        if arguments and (tool, arguments[0]) in SWITCHING})
    behaviour = pipeline.get("lock_behavior", "none")
    if switching and behaviour not in ("lockOnFailure", "unlockWhenFinished"):
        problem(path, f"{where}: runs {', '.join(switching)} without lock_behavior; "
                      "a second run would fail with exit 3 instead of waiting")
    if "deploy-pipeline deploy" in switching and behaviour != "lockOnFailure":
        problem(path, f"{where}: a failed deploy must be looked at before the next: lock_behavior: lockOnFailure")


def check_gocd_credentials(path, where, pipeline, commands):
    names = set(pipeline.get("environment_variables") or {}) | set(pipeline.get("secure_variables") or {})
    for tool, arguments in commands:
        if arguments[:1] == ["ci-config"] and "gocd" in arguments and not (
                "GOCD_TOKEN" in names or {"GOCD_USER", "GOCD_PASSWORD"} <= names):
            problem(path, f"{where}: ci-config needs GOCD_TOKEN from the pipeline's secrets, "
                          "not from the agent's environment")


def declared_variables(*owners):
    names = set()
    for owner in owners:
        names |= set(owner.get("environment_variables") or {}) | set(owner.get("secure_variables") or {})
    return names


def is_gocd_alert_pipeline(pipeline, first_stage):
    """Whether Alertmanager starts the pipeline: its first stage admits the user Alertmanager's
    requests run as, or the pipeline expects a live pool."""
    approval = first_stage.get("approval") if isinstance(first_stage, dict) else None
    users = approval.get("users") or [] if isinstance(approval, dict) else []
    return ALERT_USER in users or EXPECT_LIVE in declared_variables(pipeline)


def check_gocd_alert_job(path, where, names, job):
    """The rollbacks of a job Alertmanager starts: the release comes in PHOENIX_EXPECT_LIVE and
    an empty one is refused by an earlier task."""
    guarded = False
    for task in job.get("tasks") or []:
        command = task.get("exec") if isinstance(task, dict) else None
        if not isinstance(command, dict):
            continue
        arguments = [str(a) for a in command.get("arguments") or []]
        if any(EXPECT_LIVE_GUARD.search(a) for a in arguments) and command.get("run_if", "passed") == "passed":
            guarded = True
        if command.get("command") != "deploy-pipeline" or arguments[:1] != ["rollback"]:
            continue
        if EXPECT_LIVE not in names:
            problem(path, f"{where}: 'deploy-pipeline rollback' runs on an alert without {EXPECT_LIVE}: "
                          "a stale alert would roll back a later release")
        elif not guarded:
            problem(path, f"{where}: 'deploy-pipeline rollback' runs on an alert without first refusing an empty "
                          f"{EXPECT_LIVE} (test -n \"${EXPECT_LIVE}\"); the tools read an empty variable as unset")


def check_gocd_alert_pipeline(path, where, pipeline, first_stage_name, first_stage):
    approval = first_stage.get("approval")
    if not (approval == "manual" or isinstance(approval, dict) and approval.get("type") == "manual"):
        problem(path, f"{where} stage {first_stage_name}: an alert rollback would also start on every change of its "
                      "materials; make its first stage manual (approval type manual, users: [alertmanager])")
    for entry in pipeline.get("stages") or []:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue
        (stage_name, stage), = entry.items()
        for job_name, job in (stage.get("jobs") or {}).items() if isinstance(stage, dict) else []:
            if isinstance(job, dict):
                names = declared_variables(pipeline, stage, job)
                check_gocd_alert_job(path, f"{where} job {job_name}", names, job)
                gocd_alert_pipelines.append((path, f"{where} job {job_name}", names))


def note_variables(path, where, names, commands):
    for name in sorted(names):
        if name.startswith("PHOENIX_"):
            variables_set.append((path, where, name, commands))


def check_gocd(path, document):
    if not isinstance(document, dict):
        return problem(path, "not a mapping")
    for key in set(document) - TOP:
        problem(path, f"unknown top-level key '{key}'")
    if document.get("format_version") != 10:
        problem(path, "format_version must be 10")
    pipelines = document.get("pipelines")
    if not isinstance(pipelines, dict) or not pipelines:
        return problem(path, "no pipelines")
    for name, pipeline in pipelines.items():
        where = f"pipeline {name}"
        for key in set(pipeline) - PIPELINE:
            problem(path, f"{where}: unknown key '{key}'")
        if pipeline.get("lock_behavior") not in (None, "none", "lockOnFailure", "unlockWhenFinished"):
            problem(path, f"{where}: bad lock_behavior")
        check_gocd_variables(path, where, pipeline)
        materials = pipeline.get("materials")
        if not isinstance(materials, dict) or not materials:
            problem(path, f"{where}: materials must be a non-empty map")
        else:
            for material, attributes in materials.items():
                if not isinstance(attributes, dict) or not (set(attributes) & MATERIAL_KINDS):
                    problem(path, f"{where}: material {material} has no known kind")
        stages = pipeline.get("stages")
        if not isinstance(stages, list) or not stages:
            problem(path, f"{where}: stages must be a non-empty list")
            continue
        commands = []
        for entry in stages:
            if not isinstance(entry, dict) or len(entry) != 1:
                problem(path, f"{where}: each stage is a one-key map")
                continue
            (stage_name, stage), = entry.items()
            for key in set(stage) - STAGE:
                problem(path, f"{where} stage {stage_name}: unknown key '{key}'")
            check_gocd_approval(path, f"{where} stage {stage_name}", stage.get("approval"))
            check_gocd_variables(path, f"{where} stage {stage_name}", stage)
            jobs = stage.get("jobs")
            if not isinstance(jobs, dict) or not jobs:
                problem(path, f"{where} stage {stage_name}: jobs must be a non-empty map")
                continue
            for job_name, job in jobs.items():
                check_gocd_job(path, f"{where} job {job_name}", job)
                commands += exec_calls(job)
                note_variables(path, f"{where} job {job_name}", declared_variables(stage, job), exec_calls(job))
        check_gocd_locking(path, where, pipeline, commands)
        check_gocd_credentials(path, where, pipeline, commands)
        note_variables(path, where, declared_variables(pipeline), commands)
        first = stages[0] if isinstance(stages[0], dict) and len(stages[0]) == 1 else {None: {}}
        (first_name, first_stage), = first.items()
        if isinstance(first_stage, dict) and is_gocd_alert_pipeline(pipeline, first_stage):
            check_gocd_alert_pipeline(path, where, pipeline, first_name, first_stage)


# ---- Groovy (Jenkinsfiles and the Job DSL seed) -----------------------------------------------

class Block:
    """A `head { ... }` block of Groovy: its statements and nested blocks, in order."""

    def __init__(self, head, parent):
        self.head = head
        self.parent = parent
        self.statements = []
        self.children = []

    @property
    def name(self):
        match = re.match(r"[A-Za-z_][A-Za-z0-9_]*", self.head)
        return match.group(0) if match else ""

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def ancestors(self):
        block = self.parent
        while block is not None:
            yield block
            block = block.parent

    def child(self, name):
        return next((block for block in self.children if block.name == name), None)

    def nearest(self, name):
        return next((block for block in self.ancestors() if block.name == name), None)


def parse_groovy(text):
    """Blocks and statements of Groovy source, enough for declarative pipelines and Job DSL:
    comments dropped, strings kept verbatim (their braces ignored), newlines inside () and []
    do not end a statement. Returns the root block, or raises ValueError on unbalanced braces."""
    root = Block("", None)
    current = root
    buffer = []
    depth = 0
    i = 0

    def flush():
        statement = "".join(buffer).strip()
        buffer.clear()
        if statement:
            current.statements.append(statement)

    while i < len(text):
        if text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        c = text[i]
        if text.startswith("'''", i) or text.startswith('"""', i):
            end = text.find(text[i:i + 3], i + 3)
            end = len(text) if end < 0 else end + 3
            buffer.append(text[i:end])
            i = end
            continue
        if c in "'\"":
            j = i + 1
            while j < len(text) and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            buffer.append(text[i:j + 1])
            i = j + 1
            continue
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        if c == "{" and depth == 0:
            block = Block("".join(buffer).strip(), current)
            buffer.clear()
            current.children.append(block)
            current = block
        elif c == "}" and depth == 0:
            flush()
            if current.parent is None:
                raise ValueError("unbalanced '}'")
            current = current.parent
        elif c in "\n;" and depth == 0:
            flush()
        else:
            buffer.append(c)
        i += 1
    flush()
    if current is not root:
        raise ValueError("unbalanced '{'")
    return root


def literals(text):
    """The string literals in a piece of Groovy, without their quotes."""
    return [a or b for a, b in re.findall(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", text)]


def statement_name(statement):
    match = re.match(r"[A-Za-z_][A-Za-z0-9_]*", statement)
    return match.group(0) if match else ""


def shell_commands(block):
    """The command of every `sh '...'` step directly in a block."""
    for statement in block.statements:
        if statement_name(statement) == "sh" and literals(statement):
            yield literals(statement)[0]


def tool_calls(command):
    """(tool, arguments) of each create-pipeline / deploy-pipeline call in a shell command."""
    words = command.split()
    found = []
    for index, word in enumerate(words):
        if word in TOOLS:
            arguments = []
            for argument in words[index + 1:]:
                if argument in ("||", "&&", ";", "|"):
                    break
                arguments.append(argument.strip('"'))
            found.append((word, arguments))
    return found


def stage_of(block):
    return block if block.name == "stage" else block.nearest("stage")


def agent_of(block):
    """'none', 'any', a label, or None when the block (a pipeline or stage) declares no agent."""
    if block.child("agent"):
        return "label"
    for statement in block.statements:
        if statement_name(statement) == "agent":
            return statement.split(None, 1)[1].strip() if " " in statement else "?"
    return None


GROOVY_VALUE = r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|true|false|-?[0-9]+)"


def groovy_value(text):
    return text[1:-1] if text[:1] in "'\"" else text


def bracketed(text, start):
    """The text between the bracket at `start` and the one that closes it, strings skipped."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c in "'\"":
            end = text.find(c, i + 1)
            while end > 0 and text[end - 1] == "\\":
                end = text.find(c, end + 1)
            i = len(text) if end < 0 else end + 1
            continue
        depth += {"[": 1, "(": 1, "]": -1, ")": -1}.get(c, 0)
        if depth == 0:
            return text[start + 1:i]
        i += 1
    return text[start + 1:]


class GenericTrigger:
    """The Generic Webhook Trigger's settings and variables ({key: JSONPath}), read from a
    Jenkinsfile's GenericTrigger(...) call or a Job DSL genericTrigger { ... } block, so that the
    two can be compared and checked."""

    def __init__(self, settings, variables):
        self.settings = settings
        self.variables = variables

    @staticmethod
    def from_call(statement):
        variables = {}
        listed = re.search(r"genericVariables\s*:\s*\[", statement)
        rest = statement
        if listed:
            inside = bracketed(statement, listed.end() - 1)
            rest = statement[:listed.start()] + statement[listed.end() + len(inside) + 1:]
            position = 0
            while (start := inside.find("[", position)) >= 0:
                entry = bracketed(inside, start)
                fields = {k: groovy_value(v) for k, v in re.findall(r"(\w+)\s*:\s*" + GROOVY_VALUE, entry)}
                if "key" in fields:
                    variables[fields["key"]] = fields.get("value", "")
                position = start + len(entry) + 2
        settings = {k: groovy_value(v) for k, v in re.findall(r"(\w+)\s*:\s*" + GROOVY_VALUE, rest)}
        return GenericTrigger(settings, variables)

    @staticmethod
    def from_block(block):
        variables = {}
        for variable in (b for b in block.walk() if b.name == "genericVariable"):
            fields = {statement_name(s): (literals(s) or [""])[0] for s in variable.statements}
            if "key" in fields:
                variables[fields["key"]] = fields.get("value", "")
        settings = {}
        for statement in block.statements:
            match = re.match(r"(\w+)\s*\(\s*" + GROOVY_VALUE + r"\s*\)$", statement)
            if match:
                settings[match.group(1)] = groovy_value(match.group(2))
        return GenericTrigger(settings, variables)

    def key(self):
        return ("GenericTrigger", tuple(sorted(self.settings.items())), tuple(sorted(self.variables.items())))


def triggers_of(block):
    """{(kind, spec)} of a Jenkinsfile's `triggers { pollSCM('...') }` block; a Generic Webhook
    Trigger as GenericTrigger.key()."""
    found = set()
    triggers = block.child("triggers") if block else None
    for statement in triggers.statements if triggers else []:
        if statement_name(statement) == "GenericTrigger":
            found.add(GenericTrigger.from_call(statement).key())
        else:
            found.add((statement_name(statement), tuple(literals(statement))))
    return found


def generic_trigger_of(block):
    triggers = block.child("triggers") if block else None
    for statement in triggers.statements if triggers else []:
        if statement_name(statement) == "GenericTrigger":
            return GenericTrigger.from_call(statement)
    return None


def parameters_of(block):
    parameters = block.child("parameters") if block else None
    names = set()
    for statement in parameters.statements if parameters else []:
        match = re.search(r"name:\s*'([^']+)'", statement)
        if match:
            names.add(match.group(1))
    return names


def sets_build_user(block):
    """Whether BUILD_USER (the person) is set for the steps in a block."""
    stage = stage_of(block)
    for owner in (stage, block.nearest("pipeline")):
        environment = owner.child("environment") if owner else None
        if environment and any(statement_name(s) == "BUILD_USER" for s in environment.statements):
            return True
    input_block = stage.child("input") if stage else None
    if input_block and any(statement_name(s) == "submitterParameter" and literals(s) == ["BUILD_USER"]
                           for s in input_block.statements):
        return True
    return any(a.name == "wrap" and "BuildUser" in a.head for a in block.ancestors())


def stage_lock(stage):
    options = stage.child("options") if stage else None
    return next((s for s in options.statements if statement_name(s) == "lock"), None) if options else None


def binds_ssh_key(block):
    for ancestor in [block] + list(block.ancestors()):
        if ancestor.name == "sshagent":
            return True
        if ancestor.name == "withCredentials" and "sshUserPrivateKey" in ancestor.head:
            return any(a.name == "withEnv" and "GIT_SSH_COMMAND" in a.head for a in [block] + list(block.ancestors()))
    return False


jenkins_files = {}  # path relative to the root -> {"triggers", "parameters"}
lock_resources = {}  # resource -> first place it was seen


def check_jenkins_steps(path, pipeline, has_input):
    for block in pipeline.walk():
        stage = stage_of(block)
        where = f"stage '{literals(stage.head)[0]}'" if stage and literals(stage.head) else "pipeline"
        in_steps = block.name == "steps" or block.nearest("steps") is not None
        if in_steps and stage is not None and agent_of(stage) not in (None, "none"):
            for statement in block.statements:
                if INPUT_STEP.search(statement):
                    problem(path, f"{where}: waits for input while holding an agent")
        for command in shell_commands(block):
            if "git push" in command or any(t == "deploy-pipeline" and a[:2] == ["ci-config", "backup"]
                                            for t, a in tool_calls(command)):
                if not binds_ssh_key(block):
                    problem(path, f"{where}: '{command}' pushes with git but no SSH key is bound around it "
                                  "(withCredentials sshUserPrivateKey with GIT_SSH_COMMAND, or sshagent)")
            for tool, arguments in tool_calls(command):
                calls.append((path, tool, arguments))
                key = (tool, arguments[0] if arguments else "")
                if key in SWITCHING:
                    lock = next((a for a in [block] + list(block.ancestors()) if a.name == "lock"), None)
                    resource = literals(lock.head)[:1] if lock else literals(stage_lock(stage) or "")[:1]
                    if not resource:
                        problem(path, f"{where}: '{tool} {key[1]}' runs outside lock(); a second one would "
                                      "fail with exit 3 instead of waiting")
                    else:
                        lock_resources.setdefault(resource[0], f"{path} {where}")
                if key in RECORDING and not sets_build_user(block):
                    problem(path, f"{where}: '{tool} {key[1]}' would record the agent's user, not the person: "
                                  "set BUILD_USER (input submitterParameter, the cause API, or the BuildUser wrapper)")
    if has_input:
        for stage in (b for b in pipeline.walk() if b.name == "stage"):
            if stage.child("input") and stage_lock(stage):
                problem(path, f"stage '{literals(stage.head)[0]}': lock in options is taken before the input, "
                              "so a pending approval would hold it; lock inside steps")


def environment_values(block):
    """{name: value text} of the environment blocks of a pipeline or stage and its ancestors."""
    values = {}
    for owner in [block] + list(block.ancestors()):
        environment = owner.child("environment") if owner.name in ("pipeline", "stage") else None
        for statement in environment.statements if environment else []:
            name, _, value = statement.partition("=")
            values.setdefault(name.strip(), value.strip())
    return values


def json_path(document, path):
    """The value at a JSONPath of the form $.a.b[0].c, or None."""
    if not path.startswith("$"):
        return None
    value = document
    for name, index in re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[([0-9]+)\]", path[1:]):
        if name and isinstance(value, dict) and name in value:
            value = value[name]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return None
    return value


def triggers_on(trigger, notification):
    """Whether the Generic Webhook Trigger starts a build for this notification, as the plugin
    decides: variables from their JSONPaths (an unresolved one stays '$NAME' in the text), the
    filter text rendered longest name first, and the expression searched for in it."""
    text = trigger.settings.get("regexpFilterText", "")
    for key in sorted(trigger.variables, key=lambda k: (-len(k), k)):
        value = json_path(notification, trigger.variables[key])
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            text = text.replace("${" + key + "}", str(value)).replace("$" + key, str(value))
    expression = trigger.settings.get("regexpFilterExpression", "")
    return not (text or expression) or re.search(expression, text) is not None


def notification_variant(change):
    notification = json.loads(json.dumps(SAMPLE_NOTIFICATION))
    change(notification)
    return notification


def check_generic_trigger(path, trigger):
    """A webhook that can start a rollback: a token from a credential, and only firing
    notifications whose alerts name one release of the service start it."""
    if trigger.settings.get("token"):
        problem(path, "the Generic Webhook Trigger's token is in clear in the file; keep it in a credential "
                      "(tokenCredentialId)")
    if not trigger.settings.get("tokenCredentialId"):
        problem(path, "the Generic Webhook Trigger has no tokenCredentialId: without a token anyone who can "
                      "reach Jenkins (as any user who can see the job) could start a rollback")
    labels = SAMPLE_NOTIFICATION["commonLabels"]
    if not triggers_on(trigger, SAMPLE_NOTIFICATION):
        problem(path, f"the Generic Webhook Trigger does not start on a firing notification about release "
                      f"{labels['release']} of {labels['service']} (check its JSONPaths and filter)")
    if triggers_on(trigger, notification_variant(lambda n: n.update(status="resolved"))):
        problem(path, "the Generic Webhook Trigger does not start only on firing notifications: a resolved one "
                      "would roll back (filter on a variable from $.status)")
    if triggers_on(trigger, notification_variant(lambda n: n["commonLabels"].pop("release"))):
        problem(path, "the Generic Webhook Trigger starts on alerts without one common release label: nothing "
                      "would say which release is bad (filter on the release variable)")


def check_alert_rollbacks(path, pipeline, trigger):
    """Every rollback a webhook starts names the release the alert is about, and refuses to run
    without one."""
    for block in pipeline.walk():
        for command in shell_commands(block):
            for tool, arguments in tool_calls(command):
                if (tool, arguments[:1]) != ("deploy-pipeline", ["rollback"]) or EXPECT_LIVE_OPTION in arguments:
                    continue
                stage = stage_of(block)
                where = f"stage '{literals(stage.head)[0]}'" if stage and literals(stage.head) else "pipeline"
                value = environment_values(block).get(EXPECT_LIVE)
                release = SAMPLE_NOTIFICATION["commonLabels"]["release"]
                if value is None or not any(re.search(rf"\b{key}\b", value) and
                                            json_path(SAMPLE_NOTIFICATION, path) == release
                                            for key, path in trigger.variables.items()):
                    problem(path, f"{where}: 'deploy-pipeline rollback' runs on an alert without {EXPECT_LIVE} "
                                  "from the alert's release: a stale alert would roll back a later release")
                    continue
                steps = block if block.name == "steps" else block.nearest("steps")
                if not any(EXPECT_LIVE_GUARD.search(c) for b in (steps or block).walk() for c in shell_commands(b)):
                    problem(path, f"{where}: 'deploy-pipeline rollback' runs on an alert without first refusing "
                                  f"an empty {EXPECT_LIVE} (test -n \"${EXPECT_LIVE}\"); the tools read an empty "
                                  "variable as unset")


def check_jenkinsfile(path, text):
    try:
        root = parse_groovy(text)
    except ValueError as error:
        return problem(path, f"does not parse: {error}")
    pipeline = root.child("pipeline")
    if pipeline is None:
        return problem(path, "not a declarative pipeline")
    options = pipeline.child("options")
    option_names = {statement_name(s) for s in options.statements} if options else set()
    if "timestamps" not in option_names:
        problem(path, "missing options timestamps()")
    stages = [b for b in pipeline.walk() if b.name == "stage"]
    has_input = any(stage.child("input") for stage in stages) or any(
        INPUT_STEP.search(s) for b in pipeline.walk() for s in b.statements)
    if has_input:
        if agent_of(pipeline) != "none":
            problem(path, "waits for input inside the top-level agent, holding it for as long as the input is "
                          "pending; use 'agent none' and an agent per stage")
        if "disableConcurrentBuilds" in option_names:
            problem(path, "disableConcurrentBuilds() queues every later build behind a pending input")
    elif "disableConcurrentBuilds" not in option_names:
        problem(path, "missing options disableConcurrentBuilds()")
    if agent_of(pipeline) == "none":
        for stage in stages:
            if stage.child("steps") and agent_of(stage) in (None, "none"):
                problem(path, f"stage '{literals(stage.head)[0]}': runs steps without an agent")
    check_jenkins_steps(path, pipeline, has_input)
    trigger = generic_trigger_of(pipeline)
    if trigger:
        check_generic_trigger(path, trigger)
        check_alert_rollbacks(path, pipeline, trigger)
    commands = [(t, a) for p, t, a in calls if p == path]
    note_variables(path, "environment", set(environment_values(pipeline)) | {
        name for stage in pipeline.walk() if stage.name == "stage" for name in environment_values(stage)}, commands)
    triggers = triggers_of(pipeline)
    if any(t == "create-pipeline" and a[:1] == ["run"] for p, t, a in calls if p == path) and not triggers:
        problem(path, "the per-commit job declares no trigger (pollSCM): it would never start")
    jenkins_files[path] = {"triggers": triggers, "parameters": parameters_of(pipeline)}


def seed_triggers(job):
    found = set()
    for block in job.walk():
        if block.name == "triggers" and block.nearest("pipelineTriggers"):
            for trigger in block.children:
                if trigger.name in ("genericTrigger", "GenericTrigger"):
                    found.add(GenericTrigger.from_block(trigger).key())
                else:
                    found.add((trigger.name, tuple(l for s in trigger.statements for l in literals(s))))
    return found


def check_casc(path, document, root):
    script = "".join(job.get("script", "") for job in document.get("jobs", []))
    try:
        seed = parse_groovy(script)
    except ValueError as error:
        return problem(path, f"the Job DSL seed does not parse: {error}")
    jobs = [b for b in seed.walk() if b.name == "pipelineJob"]
    if not jobs:
        problem(path, "the Job DSL seed defines no pipeline jobs")
    for job in jobs:
        name = (literals(job.head) or ["?"])[0]
        script_path = next((literals(s)[0] for b in job.walk() for s in b.statements
                            if statement_name(s) == "scriptPath" and literals(s)), None)
        if script_path is None:
            problem(path, f"job {name}: no scriptPath")
            continue
        if not os.path.exists(os.path.join(root, script_path)):
            problem(path, f"scriptPath {script_path} does not exist")
            continue
        declared = jenkins_files.get(script_path)
        if declared is None:
            continue
        # The Job DSL names a cron trigger's spec spec(...) and a poll's scmpoll_spec(...).
        if seed_triggers(job) != declared["triggers"]:
            problem(path, f"job {name}: the seed's triggers {sorted(seed_triggers(job))} differ from "
                          f"{script_path}'s {sorted(declared['triggers'])}")
        parameters = {literals(s)[0] for b in job.walk() if b.name == "parameters"
                      for s in b.statements if literals(s)}
        if parameters != declared["parameters"]:
            problem(path, f"job {name}: the seed's parameters {sorted(parameters)} differ from "
                          f"{script_path}'s {sorted(declared['parameters'])}")


# ---- Commands and options ---------------------------------------------------------------------

# An option as --help defines it: "  -l [ --label ] L" or "  --junit FILE" at the start of a line
# (description lines are indented further and may mention other commands' options).
OPTION_LINE = re.compile(r"^  (?:-\w \[ )?(--[a-z0-9][a-z0-9-]*)")


def help_text(bin_dir, tool, command):
    """The exit code and the text of `tool command --help`."""
    result = subprocess.run([os.path.join(bin_dir, tool), command, "--help"], capture_output=True, text=True)
    return result.returncode, result.stdout


def help_options(bin_dir, tool, command):
    """The exit code of `tool command --help` and the long options it defines."""
    code, text = help_text(bin_dir, tool, command)
    return code, {match.group(1) for match in map(OPTION_LINE.match, text.splitlines()) if match}


def check_calls(bin_dir):
    for path, tool, arguments in calls:
        if not arguments:
            problem(path, f"{tool} called without a command")
            continue
        command = arguments[0]
        code, options = help_options(bin_dir, tool, command)
        if code != 0:
            problem(path, f"'{tool} {command}' is not a command of the built {tool}")
            continue
        if not options:
            problem(path, f"'{tool} {command} --help' lists no options; cannot check the call")
            continue
        # Whole names only: a prefix may be ambiguous, or become so when an option is added.
        for argument in arguments[1:]:
            if argument.startswith("--") and argument.split("=")[0] not in options:
                problem(path, f"'{tool} {command}' has no option {argument}")


def check_variables(bin_dir):
    """Every PHOENIX_* variable a pipeline sets is the default of an option of a command it runs:
    a misspelt one, or one the built tools do not read yet, would be ignored without a word."""
    helps = {}
    for path, where, name, commands in variables_set:
        run = sorted({(tool, arguments[0]) for tool, arguments in commands if arguments})
        for key in run:
            if key not in helps:
                helps[key] = help_text(bin_dir, *key)
        if not any(helps[key][0] == 0 and re.search(r"\$\{?" + name + r"\b", helps[key][1]) for key in run):
            commands_run = ", ".join(f"'{tool} {command} --help'" for tool, command in run) or "no command"
            problem(path, f"{where}: {name} is set but no command run with it reads it ({commands_run} names "
                          f"no ${name})")


def check_relay(root):
    """The relay's request for a firing alert names variables every GoCD alert pipeline declares
    (GoCD refuses undeclared ones with 422), PHOENIX_EXPECT_LIVE among them."""
    if not gocd_alert_pipelines:
        return
    relay = os.path.join(root, RELAY)
    if not os.path.exists(relay):
        return problem(RELAY, "missing: GoCD alert pipelines are scheduled through it")
    ran = subprocess.run([sys.executable, relay, "--print", "--pipeline", "web-alert-rollback", "--service", "web"],
                         input=json.dumps(SAMPLE_NOTIFICATION), capture_output=True, text=True, timeout=60)
    if ran.returncode != 0 or "\n\n" not in ran.stdout:
        return problem(RELAY, f"turns no firing notification into a schedule request: {ran.stderr.strip()}")
    body = json.loads(ran.stdout.split("\n\n", 1)[1])
    sent = {variable.get("name") for variable in body.get("environment_variables", [])}
    if EXPECT_LIVE not in sent:
        problem(RELAY, f"does not send {EXPECT_LIVE}: the rollback would not know the release the alert is about")
    for path, where, names in gocd_alert_pipelines:
        for name in sorted(sent - names):
            problem(path, f"{where}: the relay sends {name}, which the pipeline does not declare, so GoCD refuses "
                          "the schedule request (422)")


def main():
    root, bin_dir = sys.argv[1], sys.argv[2]
    base = os.path.join(root, "pipeline-configs")
    checked = 0
    seeds = []
    for directory, _, files in sorted(os.walk(base)):
        for name in sorted(files):
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root)
            with open(path) as source:
                text = source.read()
            checked += 1
            try:
                if name.endswith((".yaml", ".yml")):
                    document = yaml.safe_load(text)
                    if name.endswith(".gocd.yaml"):
                        check_gocd(relative, document)
                    elif name == "jenkins.yaml":
                        seeds.append((relative, document))
                elif name.endswith(".json"):
                    json.loads(text)
                elif name.endswith("Jenkinsfile"):
                    check_jenkinsfile(relative, text)
                elif name.endswith(".py"):
                    compile(text, relative, "exec")
            except (yaml.YAMLError, json.JSONDecodeError, SyntaxError) as error:
                problem(relative, f"does not parse: {error}")
    for relative, document in seeds:  # after the Jenkinsfiles they point at
        check_casc(relative, document, root)
    if len(lock_resources) > 1:
        places = "; ".join(f"'{r}' in {w}" for r, w in sorted(lock_resources.items()))
        problem("pipeline-configs", f"commands that change pools lock different resources, so they do not "
                                    f"wait for each other: {places}")
    check_calls(bin_dir)
    check_variables(bin_dir)
    check_relay(root)
    for line in problems:
        print(line)
    print(f"checked {checked} files, {len(calls)} tool calls: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
