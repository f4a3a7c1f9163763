#!/usr/bin/env bash
# actionlint lints .github/workflows (tests/cli/actionlint.test.ts and CI run it). Built from the Go
# module proxy into a cache dir keyed by version; a second run finds the binary and exits at once.
# Prints the binary path on its last line (the workflow test uses the same path).
set -euo pipefail
version="v1.7.12"
cache="${CLASSROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/classroom-platform}/actionlint/$version"
bin="$cache/bin/actionlint"
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "50-actionlint: 'go' is not on PATH; install Go first" >&2; exit 1; }
  mkdir -p "$cache"
  # Build into a temp dir and rename, so an interrupted run never leaves a half-written binary behind.
  tmp="$(mktemp -d "$cache/bin.tmp.XXXXXX")"
  GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "github.com/rhysd/actionlint/cmd/actionlint@$version"
  rm -rf "$cache/bin"
  mv "$tmp" "$cache/bin"
fi
echo "actionlint $("$bin" -version | head -1)"
echo "$bin"
