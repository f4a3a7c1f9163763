#!/usr/bin/env bash
# The Prometheus JMX exporter's Java agent for the Kafka metrics tests: the exact jar the Kafka pods' agent
# image holds. Version and sha256 come from that image's Dockerfile (its ADD line is their one source);
# Maven fetches the jar from Maven Central into a cache dir keyed by the version, and the checksum is
# verified before the jar is kept. A second run finds the jar and exits.
# Prints the jar's path on its last line (tests/harness/jmx-exporter.ts uses the same path).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dockerfile="$here/../../images/kafka-jmx-agent/Dockerfile"
version="$(sed -n 's:.*/jmx_prometheus_javaagent/\([0-9][0-9.]*\)/.*:\1:p' "$dockerfile" | head -1)"
sha="$(sed -n 's/.*--checksum=sha256:\([0-9a-f]\{64\}\).*/\1/p' "$dockerfile" | head -1)"
[ -n "$version" ] && [ -n "$sha" ] || { echo "31-jmx-exporter: no agent version or sha256 in the ADD line of $dockerfile" >&2; exit 1; }
cache="${CLASSROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/classroom-platform}/jmx-exporter/$version"
jar="$cache/jmx_prometheus_javaagent.jar"
if [ ! -f "$jar" ]; then
  command -v mvn >/dev/null || { echo "31-jmx-exporter: 'mvn' is not on PATH; install Maven first" >&2; exit 1; }
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="io.prometheus.jmx:jmx_prometheus_javaagent:$version" -DoutputDirectory="$tmp" -Dmdep.stripVersion=true
  got="$(sha256sum "$tmp/jmx_prometheus_javaagent.jar" | cut -d' ' -f1)"
  [ "$got" = "$sha" ] || { echo "31-jmx-exporter: jmx_prometheus_javaagent $version has sha256 $got, the Dockerfile pins $sha" >&2; exit 1; }
  mv "$tmp/jmx_prometheus_javaagent.jar" "$jar"
fi
echo "jmx exporter agent $version"
echo "$jar"
