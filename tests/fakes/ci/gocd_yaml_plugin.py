#!/usr/bin/env python3
"""What the GoCD YAML config plugin does with a config repository checkout, for phoenix-ci-fake.

Reads every *.gocd.yaml / *.gocd.yml file under CHECKOUT and prints one JSON object:

    {"pipelines": [{"name", "group", "file", "yaml", "upstreams": [...]}], "errors": ["file: message", ...]}

The rules are the plugin's own (its RootTransform, PipelineTransform, StageTransform,
JobTransform and MaterialTransform reject these), plus the one GoCD applies to a repository as a
whole: pipeline names are unique. Checks against the rest of the server (a name defined
elsewhere, an upstream pipeline that does not exist) are the fake's, which knows the server.

    gocd_yaml_plugin.py CHECKOUT
"""
import json
import os
import sys

import yaml

TOP = ("format_version", "pipelines", "environments", "common")
MATERIAL_TYPES = {"git", "hg", "svn", "p4", "tfs", "pipeline", "dependency", "package", "plugin", "scm",
                  "configrepo"}
TASK_TYPES = {"exec", "fetch", "fetch_artifact", "script", "plugin", "rake", "ant", "nant"}


class Rejected(Exception):
    pass


def single_key(entry, what):
    if not isinstance(entry, dict) or len(entry) != 1:
        raise Rejected(f"expected {what} hash to have 1 item")
    return next(iter(entry.items()))


def material_upstreams(materials):
    if not isinstance(materials, dict) or not materials:
        raise Rejected("expected a hash of pipeline materials")
    upstreams = []
    for name, material in materials.items():
        if not isinstance(material, dict):
            raise Rejected(f"material {name} is not a hash")
        kinds = (set(material) & MATERIAL_TYPES) | ({material["type"]} if "type" in material else set())
        if not kinds:
            raise Rejected(f"Could not determine material type of {name}")
        if "pipeline" in material:
            if "stage" not in material:
                raise Rejected(f"dependency material {name} requires a stage")
            upstreams.append(str(material["pipeline"]))
    return upstreams


def check_job(name, job):
    if not isinstance(job, dict):
        raise Rejected(f"job {name} is not a hash")
    tasks = job.get("tasks")
    if tasks is not None and not isinstance(tasks, list):
        raise Rejected(f"job {name}: tasks must be a list")
    for task in tasks or []:
        if not isinstance(task, dict) or not set(task) & TASK_TYPES:
            raise Rejected(f"job {name}: could not determine task type of {task}")
    if job.get("resources") and job.get("elastic_profile_id"):
        raise Rejected(f"job {name}: resources and elastic_profile_id cannot both be set")


def check_stage(entry):
    name, stage = single_key(entry, "stage")
    if not isinstance(stage, dict):
        raise Rejected(f"stage {name} is not a hash")
    approval = stage.get("approval")
    if isinstance(approval, dict):
        approval = approval.get("type")
    if approval not in (None, "manual", "success"):
        raise Rejected(f"stage {name}: approval type must be manual or success")
    jobs = stage.get("jobs")
    if jobs is None and "tasks" in stage:
        jobs = {name: {"tasks": stage["tasks"]}}
    if not isinstance(jobs, dict) or not jobs:
        raise Rejected(f"stage {name} has no jobs")
    for job_name, job in jobs.items():
        check_job(job_name, job)


def check_pipeline(name, pipeline):
    if not isinstance(pipeline, dict):
        raise Rejected("pipeline is not a hash")
    upstreams = material_upstreams(pipeline.get("materials"))
    stages = pipeline.get("stages")
    if "template" not in pipeline and (not isinstance(stages, list) or not stages):
        raise Rejected("expected a list of pipeline stages or a template reference")
    for stage in stages or []:
        check_stage(stage)
    if pipeline.get("lock_behavior") not in (None, "none", "lockOnFailure", "unlockWhenFinished"):
        raise Rejected(f"invalid lock_behavior {pipeline['lock_behavior']}")
    return upstreams


def parse_file(path, relative, text, result):
    if not text.strip():
        result["errors"].append(f"{relative}: File is empty")
        return
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        result["errors"].append(f"{relative}: {error}")
        return
    if not isinstance(document, dict):
        result["errors"].append(f"{relative}: expected a hash at the top")
        return
    for key in document:
        if key not in TOP:
            result["errors"].append(f"{relative}: {key} is invalid, expected format_version, pipelines, "
                                    "environments, or common")
            return
    version = document.get("format_version", 1)
    if not isinstance(version, int) or not 1 <= version <= 10:
        result["errors"].append(f"{relative}: unsupported format_version {version}")
        return
    pipelines = document.get("pipelines") or {}
    for name, pipeline in pipelines.items():
        try:
            upstreams = check_pipeline(name, pipeline)
        except Rejected as error:
            result["errors"].append(f"{relative}: Failed to parse pipeline {name}; {error}")
            continue
        own = text if len(pipelines) == 1 else yaml.safe_dump(
            {"format_version": version, "pipelines": {name: pipeline}}, sort_keys=False)
        result["pipelines"].append({"name": str(name), "group": str(pipeline.get("group", "defaultGroup")),
                                    "file": relative, "yaml": own, "upstreams": upstreams})


def main():
    checkout = sys.argv[1]
    result = {"pipelines": [], "errors": []}
    for directory, folders, files in os.walk(checkout):
        folders[:] = sorted(f for f in folders if f != ".git")
        for name in sorted(files):
            if name.endswith((".gocd.yaml", ".gocd.yml")):
                path = os.path.join(directory, name)
                with open(path, encoding="utf-8") as source:
                    parse_file(path, os.path.relpath(path, checkout), source.read(), result)
    files_of = {}
    for pipeline in result["pipelines"]:
        files_of.setdefault(pipeline["name"], []).append(pipeline["file"])
    for name, files in sorted(files_of.items()):
        if len(files) > 1:
            result["errors"].append(f"You have defined multiple pipelines named '{name}'. Pipeline names must be "
                                    f"unique. Source(s): {files}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
