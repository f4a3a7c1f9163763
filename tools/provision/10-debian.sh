#!/usr/bin/env bash
# Real servers for the integration tests come from Debian: ZooKeeper 3.8, Redis 7.0 and Prometheus 2.42
# (its promtool runs the alert rules' unit tests and checks the rollout analysis queries of the stack
# files); shellcheck for the workflow lint.
# Java and Maven (for the Kafka broker) and Go (for the engine and the API server) ship with the machine.
set -euo pipefail
need=()
[ -x /usr/bin/redis-server ] || need+=(redis-server)
[ -f /usr/share/zookeeper/bin/zkServer.sh ] || need+=(zookeeper)
# actionlint runs shellcheck over workflow `run:` scripts when it is on PATH, as it is on CI runners.
command -v shellcheck >/dev/null || need+=(shellcheck)
{ [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; } || need+=(prometheus)
for tool in java mvn go openssl; do
  command -v "$tool" >/dev/null || { echo "provision: '$tool' is not on PATH; install it first" >&2; exit 1; }
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}"
  # The packages enable system services; the tests start their own servers on free ports.
  for svc in redis-server zookeeper prometheus; do $sudo_cmd systemctl disable --now "$svc" >/dev/null 2>&1 || true; done
fi
