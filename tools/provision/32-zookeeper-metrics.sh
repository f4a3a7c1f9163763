#!/usr/bin/env bash
# ZooKeeper's Prometheus metrics provider for the tests' Debian ZooKeeper (Debian does not package it; the
# zookeeper image the platform runs does): tools/zookeeper-metrics/pom.xml names it, Maven copies its runtime
# dependencies into a cache dir keyed by the version. A second run finds the marker file and exits.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pom="$here/../zookeeper-metrics/pom.xml"
version="$(sed -n 's:.*<zookeeper.version>\(.*\)</zookeeper.version>.*:\1:p' "$pom")"
[ -n "$version" ] || { echo "32-zookeeper-metrics: no <zookeeper.version> in $pom" >&2; exit 1; }
cache="${CLASSROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/classroom-platform}/zookeeper-metrics/$version"
jars="$cache/jars"
if [ ! -f "$cache/.complete" ]; then
  command -v mvn >/dev/null || { echo "32-zookeeper-metrics: 'mvn' is not on PATH; install Maven first" >&2; exit 1; }
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/jars.tmp.XXXXXX")"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp"
  rm -rf "$jars"
  mv "$tmp" "$jars"
  [ -f "$jars/zookeeper-prometheus-metrics-$version.jar" ] || { echo "32-zookeeper-metrics: zookeeper-prometheus-metrics-$version.jar missing in $jars" >&2; exit 1; }
  touch "$cache/.complete"
fi
echo "zookeeper metrics provider $version: $(ls "$jars" | wc -l) jars"
