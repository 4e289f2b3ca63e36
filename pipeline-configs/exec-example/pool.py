#!/usr/bin/env python3
"""A working example of Phoenix's exec provider protocol (docs/exec-provider.md).

Every "server" is a local process of the release's artifact on its own loopback address, so
the example runs anywhere; replace the bodies of create/destroy/power/archive/restore with calls
to terraform or your cloud's CLI and keep the JSON in and out as it is.

The optional cold tier ("supports_archive": true): `archive` keeps an image of the pool's
release (here a copy of its artifact; in a cloud, a snapshot of one server's disk) and only then
removes the servers; `restore` recreates the servers from that image.

    pool.py --state DIR --artifact PATH <operation>     (the request JSON arrives on stdin)
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time


def fail(message, code=1):
    print(f"pool.py: {message}", file=sys.stderr)
    sys.exit(code)


def arguments():
    args = sys.argv[1:]
    options = {}
    while len(args) > 1 and args[0].startswith("--"):
        options[args[0][2:]] = args[1]
        args = args[2:]
    if len(args) != 1 or "state" not in options or "artifact" not in options:
        fail("usage: pool.py --state DIR --artifact PATH <operation>", 2)
    return options, args[0]


def pool_file(state, service, label):
    return os.path.join(state, service, label + ".json")


def save(path, pool):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "w") as out:
        json.dump(pool, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def alive(pid):
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def free_port(host):
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def start(server, artifact, label, log_dir):
    os.makedirs(log_dir, exist_ok=True)
    with open(os.path.join(log_dir, server["id"] + ".log"), "ab") as log:
        process = subprocess.Popen(
            [artifact, "--listen", f"{server['host']}:{server['port']}", "--release", label],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    server["pid"] = process.pid


def wait_listening(servers, seconds=20):
    deadline = time.time() + seconds
    for server in servers:
        while True:
            with socket.socket() as probe:
                if probe.connect_ex((server["host"], server["port"])) == 0:
                    break
            if time.time() > deadline:
                fail(f"server {server['id']} did not start listening")
            time.sleep(0.01)


def stop(server):
    pid = server.get("pid", 0)
    if pid and alive(pid):
        os.killpg(pid, signal.SIGTERM)
        for _ in range(300):
            if not alive(pid):
                break
            time.sleep(0.01)


def public(pool):
    """The pool as the protocol describes it (without this example's private fields)."""
    power = pool.get("power", "on")
    servers = []
    for server in pool["servers"]:
        state = "running" if alive(server.get("pid", 0)) else ("stopped" if power == "off" else "dead")
        servers.append({"id": server["id"], "host": server["host"], "port": server["port"], "state": state})
    answer = {"metadata": pool["metadata"], "power": power, "complete": True, "servers": servers}
    if "archive" in pool:
        answer["archive"] = pool["archive"]
    return answer


def new_servers(service, label, size):
    base = sum(map(ord, service + label)) % 200 + 20
    servers = []
    for index in range(1, size + 1):
        host = f"127.80.{base}.{index}"
        servers.append({"id": str(index), "host": host, "port": free_port(host)})
    return servers


def archive(pool, state, service, label):
    """The image first, the servers only once it exists."""
    if "archive" not in pool:
        image = os.path.join(state, service, label + ".archive")
        shutil.rmtree(image, ignore_errors=True)
        os.makedirs(image)
        copy = shutil.copy2(pool["artifact"], image)
        pool["archive"] = {
            "id": "archive-" + label,
            "ready": True,
            "size_gb": round(os.path.getsize(copy) / 1e9, 6),
            "servers": len(pool["servers"]),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        pool["artifact"] = copy
        save(pool_file(state, service, label), pool)
    for server in pool["servers"]:
        stop(server)
    pool["servers"] = []
    pool["power"] = "off"
    save(pool_file(state, service, label), pool)
    shutil.rmtree(os.path.join(state, service, label + ".release"), ignore_errors=True)


def restore(pool, state, service, label, log_dir):
    if not pool["servers"]:
        pool["servers"] = new_servers(service, label, pool["archive"]["servers"])
    for server in pool["servers"]:
        if not alive(server.get("pid", 0)):
            start(server, pool["artifact"], label, log_dir)
    wait_listening(pool["servers"])
    pool["power"] = "on"
    save(pool_file(state, service, label), pool)


def main():
    options, operation = arguments()
    request = json.load(sys.stdin)
    state, service = options["state"], request["service"]
    label = request.get("label", "")
    path = pool_file(state, service, label)
    log_dir = os.path.join(state, service, label + ".logs")

    if operation == "list":
        pools = []
        directory = os.path.join(state, service)
        for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
            if name.endswith(".json"):
                with open(os.path.join(directory, name)) as source:
                    pools.append(public(json.load(source)))
        print(json.dumps({"pools": pools}))
    elif operation == "create":
        if os.path.exists(path):
            with open(path) as source:
                print(json.dumps({"pool": public(json.load(source))}))
            return
        # Each pool keeps its own copy of the release, so later builds never change it.
        release = os.path.join(state, service, label + ".release")
        os.makedirs(release, exist_ok=True)
        artifact = shutil.copy2(options["artifact"], release)
        servers = new_servers(service, label, int(request["size"]))
        for server in servers:
            start(server, artifact, label, log_dir)
        wait_listening(servers)
        pool = {"metadata": request["metadata"], "power": "on", "servers": servers, "artifact": artifact}
        save(path, pool)
        print(json.dumps({"pool": public(pool)}))
    elif operation in ("destroy", "update-metadata", "power-off", "power-on", "archive", "restore"):
        if not os.path.exists(path):
            fail(f"no pool {label}")
        with open(path) as source:
            pool = json.load(source)
        if operation == "destroy":
            for server in pool["servers"]:
                stop(server)
            os.remove(path)
            shutil.rmtree(log_dir, ignore_errors=True)
            shutil.rmtree(os.path.join(state, service, label + ".release"), ignore_errors=True)
            shutil.rmtree(os.path.join(state, service, label + ".archive"), ignore_errors=True)
        elif operation == "archive":
            archive(pool, state, service, label)
            print(json.dumps({"archive": pool["archive"]}))
            return
        elif operation == "restore":
            if "archive" not in pool:
                fail(f"pool {label} has no archive")
            restore(pool, state, service, label, log_dir)
            print(json.dumps({"pool": public(pool)}))
            return
        elif operation == "update-metadata":
            pool["metadata"] = request["metadata"]
            save(path, pool)
        elif operation == "power-off":
            for server in pool["servers"]:
                stop(server)
            pool["power"] = "off"
            save(path, pool)
        else:
            for server in pool["servers"]:
                if not alive(server.get("pid", 0)):
                    start(server, pool["artifact"], label, log_dir)
            wait_listening(pool["servers"])
            pool["power"] = "on"
            save(path, pool)
        print("{}")
    else:
        fail(f"unknown operation '{operation}'", 2)


if __name__ == "__main__":
    main()
