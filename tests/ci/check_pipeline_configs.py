#!/usr/bin/env python3
"""Checks every file in pipeline-configs/ (run by tests/e2e/pipeline_configs_test.cpp).

- YAML files parse; JSON files parse.
- GoCD *.gocd.yaml files follow the gocd-yaml-config-plugin format 10 structure: allowed keys
  at each level, stages as a list, jobs as a map, tasks of known types.
- Every create-pipeline / deploy-pipeline command and option that a GoCD file or a Jenkinsfile
  calls exists in the built executables (checked against their own --help).
- The Jenkins Configuration-as-Code seed points at Jenkinsfiles that exist.

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

problems = []
calls = []  # (file, tool, arguments)


def problem(path, message):
    problems.append(f"{path}: {message}")


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
        for entry in stages:
            if not isinstance(entry, dict) or len(entry) != 1:
                problem(path, f"{where}: each stage is a one-key map")
                continue
            (stage_name, stage), = entry.items()
            for key in set(stage) - STAGE:
                problem(path, f"{where} stage {stage_name}: unknown key '{key}'")
            approval = stage.get("approval")
            if approval is not None and approval not in ("manual", "success") and not (
                    isinstance(approval, dict) and set(approval) <= APPROVAL):
                problem(path, f"{where} stage {stage_name}: bad approval")
            jobs = stage.get("jobs")
            if not isinstance(jobs, dict) or not jobs:
                problem(path, f"{where} stage {stage_name}: jobs must be a non-empty map")
                continue
            for job_name, job in jobs.items():
                for key in set(job) - JOB:
                    problem(path, f"{where} job {job_name}: unknown key '{key}'")
                for task in job.get("tasks") or []:
                    if not isinstance(task, dict) or len(set(task) & TASKS) != 1:
                        problem(path, f"{where} job {job_name}: a task must be one of {sorted(TASKS)}")
                        continue
                    if "exec" in task:
                        for key in set(task["exec"]) - EXEC:
                            problem(path, f"{where} job {job_name}: unknown exec key '{key}'")
                        if task["exec"].get("command") in TOOLS:
                            calls.append((path, task["exec"]["command"], [str(a) for a in task["exec"].get("arguments", [])]))
                for artifact in job.get("artifacts") or []:
                    if not isinstance(artifact, dict) or not set(artifact) <= {"build", "test", "external"}:
                        problem(path, f"{where} job {job_name}: bad artifact")


def check_jenkinsfile(path, text):
    if "pipeline {" not in text:
        problem(path, "not a declarative pipeline")
    for required in ("disableConcurrentBuilds()", "timestamps()"):
        if required not in text:
            problem(path, f"missing options {required}")
    for command in re.findall(r"sh '([^']*)'", text):
        words = command.split()
        for index, word in enumerate(words):
            if word in TOOLS:
                calls.append((path, word, [w.strip('"') for w in words[index + 1:] if w not in ("||", "true")]))


def check_casc(path, document, root):
    script = "".join(job.get("script", "") for job in document.get("jobs", []))
    paths = re.findall(r"scriptPath\('([^']+)'\)", script)
    if not paths:
        problem(path, "the Job DSL seed defines no pipeline jobs with scriptPath")
    for script_path in paths:
        if not os.path.exists(os.path.join(root, script_path)):
            problem(path, f"scriptPath {script_path} does not exist")


def help_text(bin_dir, tool, command):
    result = subprocess.run([os.path.join(bin_dir, tool), command, "--help"], capture_output=True, text=True)
    return result.returncode, result.stdout


def check_calls(bin_dir):
    for path, tool, arguments in calls:
        if not arguments:
            problem(path, f"{tool} called without a command")
            continue
        command = arguments[0]
        code, text = help_text(bin_dir, tool, command)
        if code != 0:
            problem(path, f"'{tool} {command}' is not a command of the built {tool}")
            continue
        for argument in arguments[1:]:
            if argument.startswith("--") and argument.split("=")[0] not in text:
                problem(path, f"'{tool} {command}' has no option {argument}")


def main():
    root, bin_dir = sys.argv[1], sys.argv[2]
    base = os.path.join(root, "pipeline-configs")
    checked = 0
    for directory, _, files in os.walk(base):
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
                        check_casc(relative, document, root)
                elif name.endswith(".json"):
                    json.loads(text)
                elif name.endswith("Jenkinsfile"):
                    check_jenkinsfile(relative, text)
            except (yaml.YAMLError, json.JSONDecodeError) as error:
                problem(relative, f"does not parse: {error}")
    check_calls(bin_dir)
    for line in problems:
        print(line)
    print(f"checked {checked} files, {len(calls)} tool calls: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
