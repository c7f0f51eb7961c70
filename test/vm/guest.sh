#!/usr/bin/env bash
# guest.sh: the part of run-v2.sh that runs inside the VM, as root, in the repo.
# Usage: bash test/vm/guest.sh TEST_FILE...
set -uo pipefail
fs=$(stat -f -c %T /sys/fs/cgroup)
[ "$fs" = cgroup2fs ] || { echo "run-v2: /sys/fs/cgroup is $fs, not cgroup2" >&2; exit 2; }
# The guest has no network set up; tests that run `sandproc serve` talk to it over loopback.
ip link set lo up 2>/dev/null || true
echo "run-v2: kernel $(uname -r), cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
node_modules/.bin/vitest run --reporter=verbose "$@"
rc=$?
# The suite must leave no cgroup of its own behind (docs/guarantees.md: "No leaks").
left=$(find /sys/fs/cgroup -mindepth 1 -type d -name 'sandproc*' 2>/dev/null)
if [ -n "$left" ]; then
  echo "run-v2: cgroups left behind:" $left >&2
  [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
