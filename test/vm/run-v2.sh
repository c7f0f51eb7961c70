#!/usr/bin/env bash
# run-v2.sh: runs test files on cgroup v2 for real, inside the cgroup2 VM
# (../shared/tools/cgroup2-vm), so that the v2 code paths are exercised on a machine
# whose own memory controller is on v1.
#
# Usage: test/vm/run-v2.sh [REPO_DIR] [TEST_FILE...]
#   REPO_DIR   the repository (a directory holding package.json); default: this script's
#   TEST_FILE  vitest file filters, relative to REPO_DIR; default: test/cgroup/manager.test.ts
#
# The VM sees this machine's filesystem read-only under a throwaway overlay, so REPO_DIR
# must already hold node_modules (and build/ for tests that load the addon).
# Environment: CGROUP2_VM (path of the VM tool), plus the tool's own CGROUP2_VM_* knobs.
# Exit status: vitest's; non-zero also when the guest is not v2 or a sandproc cgroup
# was left behind.
set -euo pipefail
if [ $# -gt 0 ] && [ -f "$1/package.json" ]; then
  repo=$(cd "$1" && pwd)
  shift
else
  repo=$(cd "$(dirname "$0")/../.." && pwd)
fi
[ $# -gt 0 ] || set -- test/cgroup/manager.test.ts
vm=${CGROUP2_VM:-$repo/../shared/tools/cgroup2-vm}
[ -x "$vm" ] || vm=$(command -v cgroup2-vm) || { echo "run-v2: cgroup2-vm not found; set CGROUP2_VM" >&2; exit 2; }
# The guest mounts a fresh tmpfs on /tmp and has its own /dev and /run: a repository
# there (a CI clone, say) is invisible to it. Run from a copy it can see instead.
case "$repo/" in
  /tmp/*|/dev/*|/run/*)
    copy=$(mktemp -d /var/tmp/sandproc-vm.XXXXXX)
    trap 'rm -rf "$copy"' EXIT
    cp -a "$repo/." "$copy/"
    echo "run-v2: $repo is hidden from the guest; running from a copy in $copy" >&2
    repo=$copy
    ;;
esac
"$vm" "$repo" bash test/vm/guest.sh "$@"
