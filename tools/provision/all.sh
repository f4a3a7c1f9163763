#!/usr/bin/env bash
# Brings a fresh machine to the point where the whole test suite runs: Debian packages, npm packages,
# Kafka jars and the Go-built tools (cached outside the repository, keyed by version).
# Each step is its own numbered script in this folder and is idempotent: a second run is quick.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for step in "$here"/[0-9][0-9]-*.sh; do
  echo "==> provision: $(basename "$step")"
  start=$(date +%s)
  bash "$step"
  echo "<== provision: $(basename "$step") ($(( $(date +%s) - start )) s)"
done
