# Shared by scripts/test, scripts/demo and scripts/bench: install what is missing, build.
# shellcheck shell=bash

PHOENIX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PHOENIX_PACKAGES=(
  g++ cmake ninja-build pkg-config git
  libcurl4-openssl-dev libcjson-dev libboost-program-options-dev catch2 libbenchmark-dev libcpp-httplib-dev
  haproxy etcd-server wrk clang clang-tidy clang-format libclang-rt-14-dev python3 python3-yaml
  help2man lintian
)

say() { printf '==> %s\n' "$*" >&2; }

# takes_no_arguments "$@": for a script run with no arguments. --help (or -h) prints what the
# script does (its header comment) and exits 0; any other argument exits 2, naming it.
takes_no_arguments() {
  [ $# -eq 0 ] && return 0
  local name
  name=$(basename "$0")
  case "$1" in
    -h | --help)
      [ $# -eq 1 ] || {
        echo "$name: unexpected argument '$2': scripts/$name takes none (see 'scripts/$name --help')" >&2
        exit 2
      }
      echo "usage: scripts/$name"
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
  esac
  echo "$name: unexpected argument '$1': scripts/$name takes none (see 'scripts/$name --help')" >&2
  exit 2
}

# Installs the Debian packages that are missing (as root); elsewhere names them and fails.
install_dependencies() {
  local missing=() package
  for package in "${PHOENIX_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    printf 'missing Debian packages: %s\nrun as root, or: sudo apt-get install %s\n' "${missing[*]}" "${missing[*]}" >&2
    return 2
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || { echo "apt-get update failed" >&2; return 2; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { echo "apt-get install failed" >&2; return 2; }
}

# configure_and_build <build dir> [cmake options...] [-- targets...]
configure_and_build() {
  local dir=$1
  shift
  local options=() targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do options+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift && targets=("$@")
  cmake -S "$PHOENIX_ROOT" -B "$dir" -G Ninja "${options[@]}" >/dev/null || return 1
  cmake --build "$dir" -- "${targets[@]}" || return 1
}
