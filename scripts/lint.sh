#!/usr/bin/env bash
# npm run lint: ESLint (typescript-eslint) over the code, Prettier's check of its layout,
# and clang-format's of the addon's. `npm run format` writes both layouts instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--fix" ]; then
  npx prettier --log-level warn --write .
  clang-format -i native/*.cc native/*.h
  exit 0
fi
npx eslint .
npx prettier --log-level warn --check .
command -v clang-format >/dev/null || { echo "lint: clang-format not found (apt-get install clang-format)" >&2; exit 2; }
clang-format --dry-run --Werror native/*.cc native/*.h
