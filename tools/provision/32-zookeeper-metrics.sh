#!/usr/bin/env bash
# ZooKeeper's Prometheus metrics provider for the tests' Debian ZooKeeper (Debian does not package it; the
# zookeeper image the platform runs does): tools/zookeeper-metrics/pom.xml names it, Maven copies its runtime
# dependencies into a cache dir keyed by the version (lib/maven-jars.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib/maven-jars.sh"
maven_jars 32-zookeeper-metrics "$here/../zookeeper-metrics/pom.xml" zookeeper.version "zookeeper-prometheus-metrics-{v}.jar"
echo "zookeeper metrics provider $MAVEN_JARS_VERSION: $(ls "$MAVEN_JARS_DIR" | wc -l) jars"
