# A private HAProxy on loopback for the demo and benchmarks: generated config, free port, own
# admin socket, stopped by pid.
# shellcheck shell=bash

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_haproxy <dir> [check options]: sets HAPROXY_PORT, HAPROXY_SOCKET, HAPROXY_CONFIG, HAPROXY_PID.
start_haproxy() {
  local dir=$1
  HAPROXY_PORT=$(free_port)
  HAPROXY_SOCKET="$dir/admin.sock"
  HAPROXY_CONFIG="$dir/haproxy.cfg"
  cat >"$HAPROXY_CONFIG" <<CFG
global
    stats socket $HAPROXY_SOCKET mode 600 level admin
    maxconn 4000
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout queue 5s
    option redispatch
    retries 3
frontend fe
    bind 127.0.0.1:$HAPROXY_PORT
    default_backend web
backend web
    balance roundrobin
    option httpchk GET /health
CFG
  haproxy -D -f "$HAPROXY_CONFIG" -p "$dir/haproxy.pid" || return 1
  HAPROXY_PID=$(cat "$dir/haproxy.pid")
}

stop_haproxy() {
  [ -n "${HAPROXY_PID:-}" ] && kill "$HAPROXY_PID" 2>/dev/null
  HAPROXY_PID=
}

# Stops, by pid, every server process the local provider recorded under <state dir>.
stop_pool_processes() {
  local file pid
  while IFS= read -r file; do
    for pid in $(sed -n 's/.*"pid":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$file"); do
      [ "$pid" -gt 1 ] && kill "$pid" 2>/dev/null
    done
  done < <(find "$1" -name pool.json 2>/dev/null)
}

# write_local_config <file> <state dir> <pool size> [extra release arguments]: the embedded
# default against our HAProxy (extra arguments go to each server, e.g. "--fail-after", "8").
write_local_config() {
  cat >"$1" <<CFG
{
  "service": "web",
  "pool": { "size": $3 },
  "provider": {
    "type": "local",
    "state_dir": "$2",
    "artifact": "$PHOENIX_ROOT/build/bin/phoenix-sample-app",
    "command": ["{artifact}", "--listen", "{host}:{port}", "--release", "{label}"${4:+, $4}]
  },
  "smoke_test": {
    "timeout_s": 30,
    "checks": [
      { "name": "health", "path": "/health", "expect_status": 200 },
      { "name": "release", "path": "/", "expect_status": 200, "expect_body": "{label}" }
    ]
  },
  "balancer": {
    "type": "haproxy",
    "socket": "$HAPROXY_SOCKET",
    "backend": "web",
    "config_file": "$HAPROXY_CONFIG",
    "health_timeout_s": 30,
    "drain_timeout_s": 10,
    "check": { "interval_ms": 100, "rise": 1, "fall": 2 }
  },
  "watch": { "interval_ms": 250, "window_s": 3, "min_requests": 20, "max_5xx_ratio": 0.05 },
  "retention": { "keep": 1 }
}
CFG
}
