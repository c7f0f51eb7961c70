#!/usr/bin/env bash
# The prebuilds the tarball ships (run by prepack): prebuilds/linux-x64/ and
# prebuilds/linux-arm64/, N-API 8, stripped. The host's architecture is built with the
# host compiler, the other one cross-built with Debian's cross compiler.
# Binaries link the system libstdc++ and libgcc_s dynamically, and the addon's sources
# avoid every glibc and libstdc++ symbol newer than Node 20's oldest distros have:
# test/package/symbols.test.ts reads each prebuild's version needs and holds that line.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin

case "$(uname -m)" in
  x86_64) host=x64 other=arm64 triplet=aarch64-linux-gnu pkg=g++-aarch64-linux-gnu ;;
  aarch64) host=arm64 other=x64 triplet=x86-64-linux-gnu pkg=g++-x86-64-linux-gnu ;;
  *) echo "prebuild: no prebuilds are made on $(uname -m)" >&2; exit 1 ;;
esac
if ! command -v "$triplet-g++" >/dev/null; then
  echo "prebuild: $triplet-g++ is needed for the linux-$other prebuild (apt-get install $pkg)" >&2
  exit 1
fi

# N-API addons need only the running Node's headers (prebuildify would otherwise pick
# the newest Node it knows of and fetch its headers): its own install has them.
target=$(node -p process.versions.node)
prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$prefix/include/node/node_api.h" ]; then
  export npm_config_nodedir=$prefix
fi
# Each build runs in a scratch copy of the sources: prebuildify builds in ./build and
# moves the result out, and the developer's build/ must keep the addon `npm ci` made.
# The two run side by side (each compile is single-threaded).
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for a in "$host" "$other"; do
  mkdir "$scratch/$a"
  cp -r package.json binding.gyp native "$scratch/$a/"
  ln -s "$PWD/node_modules" "$scratch/$a/node_modules"
done

rm -rf prebuilds
"$bin/prebuildify" --napi --strip --target "$target" --out "$PWD" "$scratch/$host" &
native=$!
CC="$triplet-gcc" CXX="$triplet-g++" \
  "$bin/prebuildify" --napi --strip --target "$target" --strip-bin "$triplet-strip" --arch "$other" --out "$PWD" "$scratch/$other" &
cross=$!
wait $native
wait $cross

ls -l prebuilds/*/
