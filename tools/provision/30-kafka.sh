#!/usr/bin/env bash
# Apache Kafka broker jars for the integration tests and the mq bench: tools/kafka/pom.xml is a throwaway
# project depending on org.apache.kafka:kafka_2.13 (+ a log4j SLF4J binding); Maven copies its runtime
# dependencies into a cache dir keyed by the Kafka version. A second run finds the marker file and exits.
# Prints the jar directory on its last line (tests/harness/kafka.ts uses the same path).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pom="$here/../kafka/pom.xml"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
[ -n "$version" ] || { echo "30-kafka: no <kafka.version> in $pom" >&2; exit 1; }
cache="${CLASSROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/classroom-platform}/kafka/$version"
jars="$cache/jars"
if [ ! -f "$cache/.complete" ]; then
  command -v mvn >/dev/null || { echo "30-kafka: 'mvn' is not on PATH; install Maven first" >&2; exit 1; }
  mkdir -p "$cache"
  # Download into a temp dir and rename, so an interrupted run never leaves a half-filled jar dir behind.
  tmp="$(mktemp -d "$cache/jars.tmp.XXXXXX")"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp"
  rm -rf "$jars"
  mv "$tmp" "$jars"
  [ -n "$(ls "$jars"/kafka_2.13-"$version".jar 2>/dev/null)" ] || { echo "30-kafka: kafka_2.13-$version.jar missing in $jars" >&2; exit 1; }
  touch "$cache/.complete"
fi
echo "kafka $version: $(ls "$jars" | wc -l) jars"
echo "$jars"
