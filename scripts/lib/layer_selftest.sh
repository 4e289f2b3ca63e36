# shellcheck shell=bash
# check_layers_catches_a_wrong_include: copies the sources to a temporary directory, adds an
# include that breaks the layer table (core using ops), and expects scripts/check-layers to
# fail naming that file and line. A check that cannot fail is no check.
check_layers_catches_a_wrong_include() {
  local copy output status
  copy=$(mktemp -d)
  # The working tree as it is (tracked and new files), so the check runs on uncommitted work too.
  (cd "$PHOENIX_ROOT" && git ls-files -z --cached --others --exclude-standard -- ARCHITECTURE.md CMakeLists.txt \
    shared create-pipeline deploy-pipeline tests | while IFS= read -r -d '' file; do
    [ -f "$file" ] && cp --parents -t "$copy" "$file"
  done)
  sed -i '1a #include "shared/ops/services.hpp"' "$copy/shared/core/pool.cpp"
  output=$("$PHOENIX_ROOT/scripts/check-layers" --root "$copy" 2>&1)
  status=$?
  rm -rf "$copy"
  if [ "$status" -eq 1 ] && grep -q '^shared/core/pool.cpp:2: core may not use ops' <<<"$output"; then
    echo "check-layers caught the wrong include: $(grep '^shared/core/pool.cpp:2:' <<<"$output")"
    return 0
  fi
  echo "check-layers did not catch a wrong include in shared/core/pool.cpp (exit $status):"
  echo "$output"
  return 1
}
