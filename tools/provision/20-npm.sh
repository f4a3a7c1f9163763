#!/usr/bin/env bash
# npm packages from the lock file, including `node@22`, which puts Node 22 first on the PATH of every
# npm script (the machines ship Node 20, past its end of life). Skipped when node_modules already
# matches the lock file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat node_modules/.lock-sha256 2>/dev/null)" != "$want" ] || [ ! -x node_modules/.bin/node ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > node_modules/.lock-sha256
fi
echo "node $(node_modules/.bin/node --version)"
