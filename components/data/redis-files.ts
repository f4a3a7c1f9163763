/**
 * The files a Redis pod runs from. Kept apart from the component so the Kubernetes wiring and the Redis
 * configuration can each be read on their own.
 */
export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26379;
export const MASTER_NAME = "classroom";

export interface RedisFileOptions {
  maxmemory: string;
  sentinel: boolean;
  /** DNS name of the Sentinel client Service. */
  sentinelHost: string;
  /** `<statefulset>-0.<headless>.<ns>.svc.cluster.local`: the first master. */
  initialMaster: string;
  headlessDomain: string;
}

/**
 * redis.conf: AOF with fsync every second (a crash loses at most about one second of acknowledged
 * writes), `noeviction` because the platform uses Redis as a buffer that must never drop data, and
 * ACLs instead of a shared password so that dangerous commands are simply not granted.
 */
export function redisConf(o: RedisFileOptions): string {
  return [
    "bind * -::*",
    `port ${REDIS_PORT}`,
    "protected-mode no",
    "dir /data",
    "appendonly yes",
    "appendfsync everysec",
    "aof-use-rdb-preamble yes",
    'save "3600 1 300 100"',
    `maxmemory ${o.maxmemory}`,
    "maxmemory-policy noeviction",
    "aclfile /etc/redis/secret/users.acl",
    "masteruser replication",
    "replica-read-only yes",
    "replica-serve-stale-data yes",
    "tcp-keepalive 60",
    "",
  ].join("\n");
}

/** Start script: passwords come from the mounted Secret, the role from Sentinel (or the ordinal on first start). */
export function redisStartScript(o: RedisFileOptions): string {
  return `#!/bin/sh
set -eu
conf=/run/redis/redis.conf
cp /etc/redis/config/redis.conf "$conf"
echo "masterauth $(cat /etc/redis/secret/replication-password)" >> "$conf"
self="$HOSTNAME.${o.headlessDomain}"
echo "replica-announce-ip $self" >> "$conf"
${
  o.sentinel
    ? `master=""
for attempt in 1 2 3 4 5; do
  master="$(redis-cli -h ${o.sentinelHost} -p ${SENTINEL_PORT} --raw sentinel get-master-addr-by-name ${MASTER_NAME} 2>/dev/null | head -n 1 || true)"
  [ -n "$master" ] && break
  sleep 2
done
# No Sentinel has an opinion yet (first start of the whole set): ordinal 0 starts as master.
[ -n "$master" ] || master="${o.initialMaster}"
[ "$master" = "$self" ] || echo "replicaof $master ${REDIS_PORT}" >> "$conf"
`
    : ""
}exec redis-server "$conf"
`;
}

/** Readiness: answers PING, and a replica is connected to its master (a replica that is not would serve stale data). */
export const REDIS_PROBE = `#!/bin/sh
export REDISCLI_AUTH="$(cat /etc/redis/secret/password)"
cli() { redis-cli --no-auth-warning -h 127.0.0.1 -p ${REDIS_PORT} "$@"; }
[ "$(cli ping)" = PONG ] || exit 1
info="$(cli info replication)"
case "$info" in
  *role:slave*) echo "$info" | grep -q 'master_link_status:up' ;;
  *) exit 0 ;;
esac
`;

/** Liveness: the process answers at all (LOADING counts as alive: a large AOF takes time to load). */
export const REDIS_LIVENESS = `#!/bin/sh
export REDISCLI_AUTH="$(cat /etc/redis/secret/password)"
reply="$(redis-cli --no-auth-warning -h 127.0.0.1 -p ${REDIS_PORT} ping 2>&1)"
case "$reply" in PONG*|LOADING*) exit 0 ;; *) exit 1 ;; esac
`;

/** preStop: a master asks Sentinel to fail over and waits until it is a replica, so a rolling restart never leaves the set without a master for the down-after period. */
export function redisPreStop(o: RedisFileOptions): string {
  return `#!/bin/sh
export REDISCLI_AUTH="$(cat /etc/redis/secret/password)"
role() { redis-cli --no-auth-warning -h 127.0.0.1 -p ${REDIS_PORT} --raw role | head -n 1; }
[ "$(role)" = master ] || exit 0
redis-cli -h ${o.sentinelHost} -p ${SENTINEL_PORT} sentinel failover ${MASTER_NAME} || exit 0
i=0
while [ "$(role)" = master ] && [ $i -lt 40 ]; do sleep 1; i=$((i + 1)); done
`;
}

/** Sentinel keeps rewriting its own config, so it runs from a writable copy of the mounted file. */
export function sentinelStartScript(headlessDomain: string): string {
  return `#!/bin/sh
set -eu
cp /etc/redis/secret/sentinel.conf /run/redis/sentinel.conf
echo "sentinel announce-ip $HOSTNAME.${headlessDomain}" >> /run/redis/sentinel.conf
exec redis-sentinel /run/redis/sentinel.conf
`;
}

export function sentinelConf(o: RedisFileOptions, quorum: number, password: string): string {
  return [
    `port ${SENTINEL_PORT}`,
    "sentinel resolve-hostnames yes",
    "sentinel announce-hostnames yes",
    `sentinel monitor ${MASTER_NAME} ${o.initialMaster} ${REDIS_PORT} ${quorum}`,
    `sentinel auth-user ${MASTER_NAME} sentinel`,
    `sentinel auth-pass ${MASTER_NAME} ${password}`,
    `sentinel down-after-milliseconds ${MASTER_NAME} 5000`,
    `sentinel failover-timeout ${MASTER_NAME} 60000`,
    `sentinel parallel-syncs ${MASTER_NAME} 1`,
    "",
  ].join("\n");
}

/**
 * ACL users, with SHA-256 password hashes only. Applications authenticate as `default` with a password
 * (what every client library does by default); that user gets everything except the @dangerous category
 * (FLUSHALL, KEYS, CONFIG, DEBUG, SHUTDOWN, MONITOR…) but keeps INFO and ROLE, which clients use for
 * health and Sentinel role checks. `replication` and `sentinel` get exactly what the Redis docs list.
 */
export function usersAcl(hashes: { app: string; replication: string; sentinel: string; exporter: string }): string {
  return [
    `user default on #${hashes.app} ~* &* +@all -@dangerous +info +role +client|setname +client|getname +client|id`,
    `user replication on #${hashes.replication} +psync +replconf +ping`,
    `user sentinel on #${hashes.sentinel} allchannels +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info +client|setname +client|kill +script|kill`,
    // The metrics sidecar reads server state only: no key, no channel, no write.
    `user exporter on #${hashes.exporter} +info +ping +select +dbsize +role +config|get +client|list +slowlog|get +slowlog|len +latency|latest +cluster|info`,
    "",
  ].join("\n");
}
