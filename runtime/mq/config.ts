import * as fs from "node:fs";
import { RedisTarget } from "./redis";

/** Everything the replayer daemon reads from its environment (see README: "Replayer daemon"). */
export interface ReplayerConfig {
  redis: RedisTarget;
  kafkaBootstrap: string[];
  shards: number;
  keyPrefix: string;
  leaseTtlMs: number;
  batchSize: number;
  kafkaSendTimeoutMs: number;
  maxShards: number;
  clientId: string;
  /** 0: no health endpoint. */
  healthPort: number;
}

/** Bad configuration: the message names the variable and what it accepts. */
export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

export function parseReplayerConfig(env: Env): ReplayerConfig {
  const shards = int(env, "CLASSROOM_MQ_SHARDS", 16, 1, 1024);
  return {
    redis: redisTarget(env),
    kafkaBootstrap: hostPorts(env, "CLASSROOM_KAFKA_BOOTSTRAP", true).map(({ host, port }) => `${host}:${port}`),
    shards,
    keyPrefix: keyPrefix(env),
    leaseTtlMs: int(env, "CLASSROOM_MQ_LEASE_TTL_MS", 10_000, 1_000, 600_000),
    batchSize: int(env, "CLASSROOM_MQ_BATCH_SIZE", 500, 1, 10_000),
    kafkaSendTimeoutMs: int(env, "CLASSROOM_MQ_KAFKA_SEND_TIMEOUT_MS", 10_000, 500, 300_000),
    maxShards: int(env, "CLASSROOM_MQ_MAX_SHARDS_PER_REPLICA", shards, 1, 1024),
    clientId: text(env, "CLASSROOM_MQ_CLIENT_ID", "classroom-mq-replayer", /^[A-Za-z0-9._-]{1,100}$/, "letters, digits, '.', '_', '-' (1-100 characters)"),
    healthPort: int(env, "CLASSROOM_MQ_HEALTH_PORT", 0, 0, 65_535),
  };
}

function redisTarget(env: Env): RedisTarget {
  const url = env.CLASSROOM_REDIS_URL?.trim();
  const sentinels = env.CLASSROOM_REDIS_SENTINELS?.trim();
  const password = secretFile(env, "CLASSROOM_REDIS_PASSWORD_FILE");
  if (url && sentinels) throw new ConfigError("set either CLASSROOM_REDIS_URL or CLASSROOM_REDIS_SENTINELS, not both");
  if (url) {
    if (!/^rediss?:\/\/[^/\s]+/.test(url)) throw new ConfigError(`CLASSROOM_REDIS_URL must look like redis://host:port or rediss://host:port, got '${url}'`);
    if (env.CLASSROOM_REDIS_MASTER_NAME) throw new ConfigError("CLASSROOM_REDIS_MASTER_NAME applies only with CLASSROOM_REDIS_SENTINELS");
    return { url, ...(password !== undefined ? { password } : {}) };
  }
  if (sentinels) {
    const masterName = env.CLASSROOM_REDIS_MASTER_NAME?.trim();
    if (!masterName) throw new ConfigError("CLASSROOM_REDIS_MASTER_NAME is required with CLASSROOM_REDIS_SENTINELS (the master name the Sentinels monitor, e.g. mymaster)");
    return {
      sentinels: hostPorts(env, "CLASSROOM_REDIS_SENTINELS", true),
      masterName,
      ...(password !== undefined ? { password } : {}),
      ...optional("sentinelPassword", secretFile(env, "CLASSROOM_REDIS_SENTINEL_PASSWORD_FILE")),
    };
  }
  throw new ConfigError("set CLASSROOM_REDIS_URL (redis://host:port) or CLASSROOM_REDIS_SENTINELS (host:port,host:port) with CLASSROOM_REDIS_MASTER_NAME");
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function hostPorts(env: Env, name: string, required: boolean): { host: string; port: number }[] {
  const raw = env[name]?.trim();
  if (!raw) {
    if (required) throw new ConfigError(`${name} is required: a comma-separated list of host:port`);
    return [];
  }
  return raw.split(",").map((part) => {
    const m = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(part.trim());
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65_535) throw new ConfigError(`${name}: '${part.trim()}' is not host:port (port 1-65535); expected a comma-separated list like kafka-0.kafka:9092,kafka-1.kafka:9092`);
    return { host: m[1].replace(/^\[|\]$/g, ""), port };
  });
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  return value;
}

function text(env: Env, name: string, fallback: string, pattern: RegExp, allowed: string): string {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  if (!pattern.test(raw)) throw new ConfigError(`${name} allows ${allowed}, got '${raw}'`);
  return raw;
}

function keyPrefix(env: Env): string {
  return text(env, "CLASSROOM_MQ_KEY_PREFIX", "classroom:mq", /^[A-Za-z0-9:._{}-]{1,100}$/, "letters, digits and ':._{}-' (1-100 characters)");
}

/** Reads a mounted secret; trailing newlines (as `kubectl create secret --from-file` leaves them) are dropped. */
function secretFile(env: Env, name: string): string | undefined {
  const file = env[name]?.trim();
  if (!file) return undefined;
  try {
    return fs.readFileSync(file, "utf8").replace(/[\r\n]+$/, "");
  } catch (err) {
    throw new ConfigError(`${name}: cannot read '${file}' (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
