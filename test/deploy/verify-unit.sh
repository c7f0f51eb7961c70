#!/usr/bin/env bash
# verify-unit.sh: `systemd-analyze verify deploy/sandproc.service` (Debian's systemd
# package; PID 1 need not be systemd), with the CLI where `npm install -g` would put it.
# The stand-in `sandproc` goes on a tmpfs over /usr/local/sbin in a mount namespace of
# its own, so nothing on this machine changes. Fails on any complaint, warnings included.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v systemd-analyze >/dev/null; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd
fi
[ -f "$repo/dist/cli/main.js" ] || { echo "verify-unit: build dist/ first (npm ci does)" >&2; exit 2; }
out=$(unshare --mount sh -c '
  mount -t tmpfs tmpfs /usr/local/sbin &&
  printf "#!/bin/sh\nexec node %s/dist/cli/main.js \"\$@\"\n" "$1" >/usr/local/sbin/sandproc &&
  chmod +x /usr/local/sbin/sandproc &&
  systemd-analyze verify "$1/deploy/sandproc.service" 2>&1' sh "$repo") || { echo "$out" >&2; exit 1; }
[ -z "$out" ] || { echo "verify-unit: systemd-analyze verify complained:" >&2; echo "$out" >&2; exit 1; }
echo "verify-unit: systemd-analyze verify deploy/sandproc.service: no complaints ($(systemd-analyze --version | head -1))"
