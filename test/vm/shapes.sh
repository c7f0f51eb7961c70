#!/usr/bin/env bash
# shapes.sh: the deployment shapes of docs/deploying.md (root cgroup, a shared cgroup,
# --cgroup-parent, systemd units with and without delegation, containers as PID 1 with
# and without nsdelegate), each with `sandproc serve` for real inside the cgroup v2 VM
# (../shared/tools/cgroup2-vm). Prints what serve said at start in each shape.
#
# Usage: test/vm/shapes.sh [REPO_DIR]   (default: this script's repository)
# Exit status: vitest's; non-zero also when a sandproc or sandproc-<pid> cgroup was left behind.
set -euo pipefail
repo=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
vm=${CGROUP2_VM:-$repo/../shared/tools/cgroup2-vm}
[ -x "$vm" ] || vm=$(command -v cgroup2-vm) || { echo "shapes: cgroup2-vm not found; set CGROUP2_VM" >&2; exit 2; }
# The guest cannot see /tmp, /dev or /run of this machine (see run-v2.sh).
case "$repo/" in
  /tmp/*|/dev/*|/run/*)
    copy=$(mktemp -d /var/tmp/sandproc-vm.XXXXXX)
    trap 'rm -rf "$copy"' EXIT
    cp -a "$repo/." "$copy/"
    repo=$copy
    ;;
esac
# serve runs as the package installs it: dist/, built from the sources now.
(cd "$repo" && node_modules/.bin/tsc -p tsconfig.build.json)
# The guest has no network set up: the checks talk to serve over loopback.
"$vm" "$repo" bash -c '
  ip link set lo up
  export CI=1
  rc=0
  node_modules/.bin/vitest run --config test/vm/shapes/vitest.config.ts --reporter=verbose || rc=$?
  left=$(find /sys/fs/cgroup -mindepth 1 -type d -regex ".*/sandproc\(-[0-9]+\)?" 2>/dev/null)
  [ -z "$left" ] || { echo "shapes: cgroups left behind:" $left >&2; [ "$rc" -ne 0 ] || rc=1; }
  exit $rc'
