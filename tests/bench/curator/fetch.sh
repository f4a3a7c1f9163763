#!/usr/bin/env bash
# Apache Curator jars for the CuratorCache anchor of `npm run bench:discovery` (not needed by any test,
# so not a provision step: CI never downloads them). tests/bench/curator/pom.xml is a throwaway project
# depending on curator-recipes; Maven copies its runtime dependencies into a cache dir keyed by the
# Curator version, as tools/provision/30-kafka.sh does for Kafka. A second run finds the marker file.
# Prints the jar directory on its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pom="$here/pom.xml"
version="$(sed -n 's:.*<curator.version>\(.*\)</curator.version>.*:\1:p' "$pom")"
[ -n "$version" ] || { echo "curator/fetch: no <curator.version> in $pom" >&2; exit 1; }
cache="${CLASSROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/classroom-platform}/curator/$version"
jars="$cache/jars"
if [ ! -f "$cache/.complete" ]; then
  command -v mvn >/dev/null || { echo "curator/fetch: 'mvn' is not on PATH; install Maven first (tools/provision/10-debian.sh)" >&2; exit 1; }
  mkdir -p "$cache"
  # Download into a temp dir and rename, so an interrupted run never leaves a half-filled jar dir behind.
  tmp="$(mktemp -d "$cache/jars.tmp.XXXXXX")"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >&2
  rm -rf "$jars"
  mv "$tmp" "$jars"
  [ -f "$jars/curator-recipes-$version.jar" ] || { echo "curator/fetch: curator-recipes-$version.jar missing in $jars" >&2; exit 1; }
  touch "$cache/.complete"
fi
echo "curator $version: $(ls "$jars" | wc -l) jars" >&2
echo "$jars"
