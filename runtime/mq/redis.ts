import Redis from "ioredis";

/** Where the buffer's Redis is: one server by URL, or a Sentinel-monitored master. */
export type RedisTarget =
  | {
      /** `redis://[user@]host:port[/db]` or `rediss://...` for TLS. */
      url: string;
      /** Overrides a password in the URL. */
      password?: string;
    }
  | {
      /** Sentinel addresses; ioredis asks them for the current master and follows failovers. */
      sentinels: { host: string; port: number }[];
      /** The master name the Sentinels monitor. */
      masterName: string;
      /** Password of the Redis master and replicas. */
      password?: string;
      /** Password of the Sentinels themselves, if they require one. */
      sentinelPassword?: string;
    };

/**
 * An ioredis connection for the buffer. Commands issued while disconnected wait in ioredis' offline
 * queue for up to two reconnection attempts and then fail, so a send reports a Redis outage within
 * seconds instead of queueing in memory for as long as the outage lasts.
 */
export function connectRedis(target: RedisTarget, name = "classroom-mq"): Redis {
  const common = {
    connectionName: name,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 2_000),
  };
  const redis =
    "url" in target
      ? new Redis(target.url, { ...common, ...(target.password !== undefined ? { password: target.password } : {}) })
      : new Redis({
          ...common,
          sentinels: target.sentinels,
          name: target.masterName,
          password: target.password,
          sentinelPassword: target.sentinelPassword,
          // After a failover the old master becomes a replica; reconnect instead of failing writes on it.
          reconnectOnError: (err) => err.message.startsWith("READONLY"),
        });
  // Failures surface as rejected commands; without a listener ioredis logs every reconnect attempt.
  redis.on("error", () => undefined);
  return redis;
}
