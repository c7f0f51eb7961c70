#!/usr/bin/env bash
# The packed tarball on systems older and other than this one, for real (as root):
#   bullseye-amd64: Debian 11 (glibc 2.31, GCC 10's libstdc++), this machine's node
#     copied in, the tarball installed there with --ignore-scripts, the README example
#     and `npx sandproc run --json -- echo hi` run in a chroot.
#   bookworm-arm64: Debian 12 arm64 with Debian's own nodejs (Node 18 loads N-API 8),
#     run under qemu-user-static through binfmt_misc; the arm64 prebuild must load
#     and run the README example and `sandproc run --json -- echo hi`.
# Roots come from debootstrap off the mirror apt is configured with, and are cached
# under $SANDPROC_CI_CACHE (default /var/cache/sandproc-ci), never in the repository.
# Prints PASS/FAIL per root; exits non-zero on any failure.
#
# usage: .ci/old-distro.sh path/to/sandproc-X.Y.Z.tgz
set -euo pipefail
tgz=$(realpath "$1")
cache=${SANDPROC_CI_CACHE:-/var/cache/sandproc-ci}
mkdir -p "$cache"
# One run at a time per cache: two would share roots and mounts.
exec 9>"$cache/.lock"
flock 9

mirror=$(sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 || true)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\(http[^[:space:]]*\/debian\)[[:space:]].*/\1/p' /etc/apt/sources.list 2>/dev/null | head -1 || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

# The README example, as the tarball ships it.
example=$(mktemp)
tar -xzf "$tgz" package/README.md -O | awk '/^## Example/{on=1; next} on&&!done&&/^```js/{take=1; next} take&&/^```/{take=0; done=1} take' >"$example"
grep -q "from 'sandproc'" "$example" || { echo "FAIL: no README example in $tgz"; exit 1; }

mounted=()
cleanup() {
  for m in "${mounted[@]}"; do umount -R "$m" 2>/dev/null || umount -lR "$m" 2>/dev/null || true; done
  rm -f "$example"
}
trap cleanup EXIT

# unmount_under DIR: whatever a failed run (or debootstrap's second stage) left mounted.
unmount_under() {
  local m
  for m in $(awk -v d="$1/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m"
  done
}

# make_root NAME SUITE ARCH INCLUDE: a cached debootstrap root, made once.
make_root() {
  local name=$1 suite=$2 arch=$3 include=$4 root=$cache/$1
  local stamp="$suite $arch minbase $include $mirror unpacked"
  if [ -f "$root/.sandproc-root" ] && [ "$(cat "$root/.sandproc-root")" = "$stamp" ]; then
    echo "$name: cached root $root"
    return
  fi
  local t0=$SECONDS
  unmount_under "$root"
  unmount_under "$root.tmp"
  rm -rf --one-file-system "$root" "$root.tmp"
  if [ "$arch" = "$(dpkg --print-architecture)" ]; then
    debootstrap --variant=minbase --arch="$arch" --include="$include" "$suite" "$root.tmp" "$mirror" >"$cache/$name.log" 2>&1
  else
    # debootstrap's second stage runs every maintainer script under qemu (17 minutes
    # here). Unpacking the downloaded packages on the host is enough to run node.
    debootstrap --foreign --variant=minbase --arch="$arch" --include="$include" "$suite" "$root.tmp" "$mirror" >"$cache/$name.log" 2>&1
    local deb
    for deb in "$root.tmp"/var/cache/apt/archives/*.deb; do dpkg-deb -x "$deb" "$root.tmp"; done
    [ -e "$root.tmp/etc/passwd" ] || cp "$root.tmp/usr/share/base-passwd/passwd.master" "$root.tmp/etc/passwd"
    [ -e "$root.tmp/etc/group" ] || cp "$root.tmp/usr/share/base-passwd/group.master" "$root.tmp/etc/group"
    chroot "$root.tmp" /sbin/ldconfig
  fi
  echo "$stamp" >"$root.tmp/.sandproc-root"
  mv "$root.tmp" "$root"
  echo "$name: debootstrap $suite $arch from $mirror took $((SECONDS - t0)) s"
}

# enter ROOT: /proc, /sys (with the cgroup mounts under it) and /dev for the chroot.
enter() {
  local root=$1
  unmount_under "$root"
  mount -t proc proc "$root/proc" && mounted+=("$root/proc")
  mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" && mounted+=("$root/sys")
  mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" && mounted+=("$root/dev")
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # The chroot trusts what this machine's node trusts (a proxy's CA, say).
  cp "${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}" "$root/etc/ssl/host-ca.crt" 2>/dev/null || :
}

leave() {
  local root=$1 m
  for m in dev sys proc; do umount -R "$root/$m" 2>/dev/null || umount -lR "$root/$m"; done
  mounted=()
}

# check NAME LOG: the README example ended in an OOM kill after printing "hi" (python3
# unbuffered: on a pipe it would still hold "hi" when the kill comes), and
# `sandproc run --json -- echo hi` printed hi and exit code 0.
check() {
  local name=$1 log=$2 ok=1
  grep -q '^stdout hi$' "$log" || ok=0
  grep -q 'oom_killed: true' "$log" || ok=0
  grep -q '"line":"hi","timestamp":[0-9]*,"stream":"stdout"' "$log" || ok=0
  grep -q '"exit_code":0' "$log" || ok=0
  if [ $ok = 1 ]; then echo "PASS $name"; else echo "FAIL $name"; sed 's/^/  | /' "$log"; fi
  [ $ok = 1 ]
}

status=0

# --- Debian 11, this machine's node and npm ----------------------------------------
run_bullseye() {
  local root=$cache/bullseye-amd64 app log
  make_root bullseye-amd64 bullseye amd64 ca-certificates,python3-minimal
  local node npmdir
  node=$(node -p process.execPath)
  npmdir=$(npm root -g)/npm
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules"
  cp "$node" "$root/usr/local/bin/node"
  rm -rf "$root/usr/local/lib/node_modules/npm"
  cp -a "$npmdir" "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  app=$root/tmp/sandproc-app
  rm -rf "$app" && mkdir -p "$app"
  cp "$tgz" "$app/sandproc.tgz"
  cp "$example" "$app/example.mjs"
  echo '{"name":"app","version":"1.0.0","private":true,"type":"module"}' >"$app/package.json"
  log=$(mktemp)
  enter "$root"
  echo "bullseye-amd64: $(chroot "$root" ldd --version | head -1); $(basename "$(readlink -f "$root/usr/lib/x86_64-linux-gnu/libstdc++.so.6")"); node $(chroot "$root" /usr/local/bin/node -v)"
  local t0=$SECONDS
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt /bin/sh -ec '
    cd /tmp/sandproc-app
    npm install --ignore-scripts --no-audit --no-fund ./sandproc.tgz
    test ! -e node_modules/sandproc/build
    PYTHONUNBUFFERED=1 node example.mjs
    npx sandproc run --json -- echo hi' >"$log" 2>&1 || true
  leave "$root"
  echo "bullseye-amd64: install and runs took $((SECONDS - t0)) s"
  check bullseye-amd64 "$log" || status=1
  rm -f "$log"
}

# --- Debian 12 arm64 under qemu, Debian's nodejs ------------------------------------
binfmt_aarch64() {
  local conf=/usr/lib/binfmt.d/qemu-aarch64.conf
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  # The F flag opens the interpreter now, so it works inside chroots without a copy.
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || cat "$conf" >/proc/sys/fs/binfmt_misc/register
}

run_arm64() {
  local root=$cache/bookworm-arm64 app log
  binfmt_aarch64
  make_root bookworm-arm64 bookworm arm64 nodejs,python3-minimal
  app=$root/tmp/sandproc-app
  rm -rf "$app" && mkdir -p "$app"
  cp "$example" "$app/example.mjs"
  echo '{"name":"app","version":"1.0.0","private":true,"type":"module"}' >"$app/package.json"
  # Debian's nodejs comes without npm: the host's npm installs (the files are the same
  # for every arch), the arm64 node runs.
  npm install --prefix "$app" --ignore-scripts --no-audit --no-fund --cpu=arm64 "$tgz" >/dev/null
  # sandproc spawns with clone(CLONE_PIDFD); ask this qemu whether it emulates that.
  printf '%s\n' '#define _GNU_SOURCE' '#include <sched.h>' '#include <signal.h>' '#include <stdio.h>' \
    '#include <unistd.h>' '#include <sys/wait.h>' 'static char st[65536];' 'static int f(void* a) { _exit(0); }' \
    'int main() { int fd = -1; int p = clone(f, st + sizeof st, CLONE_PIDFD | SIGCHLD, 0, &fd);' \
    '  if (p > 0) waitpid(p, 0, 0); puts(p > 0 ? "yes" : "no"); return 0; }' >"$app/probe.c"
  aarch64-linux-gnu-gcc -static -o "$app/clone-pidfd" "$app/probe.c"
  log=$(mktemp)
  enter "$root"
  local pidfd
  pidfd=$(chroot "$root" /tmp/sandproc-app/clone-pidfd)
  echo "bookworm-arm64: $(chroot "$root" uname -m) via qemu-user $(qemu-aarch64-static --version | head -1 | awk '{print $3}'); $(chroot "$root" ldd --version | head -1); node $(chroot "$root" node -v); clone(CLONE_PIDFD) emulated: $pidfd"
  local t0=$SECONDS
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/bin:/bin /bin/sh -ec '
    cd /tmp/sandproc-app
    test ! -e node_modules/sandproc/build
    node -e "
      const dir = \"node_modules/sandproc\"
      console.log(\"addon:\", require(\"node-gyp-build\").resolve(dir))
      const b = require(\"node-gyp-build\")(dir)
      console.log(\"lookupUser:\", JSON.stringify([b.lookupUser(\"root\"), b.lookupUser(\"nobody\")]))"
    [ "$0" = yes ] || exit 0
    PYTHONUNBUFFERED=1 node example.mjs
    node node_modules/sandproc/dist/cli/main.js run --json -- echo hi' "$pidfd" >"$log" 2>&1 || true
  leave "$root"
  echo "bookworm-arm64: runs took $((SECONDS - t0)) s"
  grep -E '^(addon|lookupUser):' "$log" || true
  if grep -q '^addon: .*prebuilds/linux-arm64/sandproc.node$' "$log" &&
    grep -q '^lookupUser: \[{"name":"root","uid":0,"gid":0,.*{"name":"nobody","uid":65534,' "$log"; then
    echo "PASS bookworm-arm64: the arm64 prebuild loads and its calls answer"
  else
    echo "FAIL bookworm-arm64: the arm64 prebuild"; sed 's/^/  | /' "$log"; status=1
  fi
  if [ "$pidfd" = yes ]; then
    check bookworm-arm64 "$log" || status=1
  else
    echo "NOT RUN bookworm-arm64: spawning (README example, sandproc run): this qemu-user rejects clone(CLONE_PIDFD) with EINVAL"
  fi
  rm -f "$log"
}

run_bullseye
run_arm64
exit $status
