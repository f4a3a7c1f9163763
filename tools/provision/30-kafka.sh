#!/usr/bin/env bash
# Apache Kafka broker jars for the integration tests and the mq bench: tools/kafka/pom.xml is a throwaway
# project depending on org.apache.kafka:kafka_2.13 (+ a log4j SLF4J binding); Maven copies its runtime
# dependencies into a cache dir keyed by the Kafka version (lib/maven-jars.sh).
# Prints the jar directory on its last line (tests/harness/kafka.ts uses the same path).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib/maven-jars.sh"
maven_jars 30-kafka "$here/../kafka/pom.xml" kafka.version "kafka_2.13-{v}.jar"
echo "kafka $MAVEN_JARS_VERSION: $(ls "$MAVEN_JARS_DIR" | wc -l) jars"
echo "$MAVEN_JARS_DIR"
