import { EnvConfigError, EnvReader, KAFKA_ENV, MQ_DEFAULTS, MQ_ENV } from "../contracts/env";
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

/** Bad configuration: every problem, each naming the variable and what it accepts. */
export { EnvConfigError as ConfigError };

type Env = Record<string, string | undefined>;

/** Reads the replayer's environment through the runtime's shared reader; throws ConfigError naming every problem. */
export function parseReplayerConfig(env: Env): ReplayerConfig {
  const read = new EnvReader(env);
  const shards = read.int(MQ_ENV.shards, MQ_DEFAULTS.shards, 1, 1024);
  const config: ReplayerConfig = {
    redis: read.redis(),
    kafkaBootstrap: read.hostPorts(KAFKA_ENV.bootstrap, "kafka-0.kafka:9092,kafka-1.kafka:9092").map(({ host, port }) => `${host}:${port}`),
    shards,
    keyPrefix: read.text(MQ_ENV.keyPrefix, "classroom:mq", /^[A-Za-z0-9:._{}-]{1,100}$/, "letters, digits and ':._{}-' (1-100 characters)"),
    leaseTtlMs: read.int(MQ_ENV.leaseTtlMs, 10_000, 1_000, 600_000),
    batchSize: read.int(MQ_ENV.batchSize, 500, 1, 10_000),
    kafkaSendTimeoutMs: read.int(MQ_ENV.kafkaSendTimeoutMs, 10_000, 500, 300_000),
    maxShards: read.int(MQ_ENV.maxShards, shards, 1, 1024),
    clientId: read.text(MQ_ENV.clientId, "classroom-mq-replayer", /^[A-Za-z0-9._-]{1,100}$/, "letters, digits, '.', '_', '-' (1-100 characters)"),
    healthPort: read.int(MQ_ENV.healthPort, 0, 0, 65_535),
  };
  read.done();
  return config;
}
