/**
 * The replayer daemon the platform deploys: moves buffered messages from Redis Streams into Kafka.
 * Configured by environment variables only (README, "Replayer daemon"); logs one JSON object per line.
 * Run: `tsx runtime/mq/replayer-main.ts`. Exits 2 on bad config with one `configuration error` line whose
 * `problems` name the variables, 1 when it cannot start; startup failures are log lines like the others.
 */
import * as http from "node:http";
import { createLogger } from "../log";
import { daemonRegistry, serveMetrics } from "../metrics";
import { ConfigError, parseReplayerConfig } from "./config";
import { ReplayerMetrics } from "./metrics";
import { connectRedis } from "./redis";
import { Replayer } from "./replayer";

// The runtime's structured logger: JSON lines on stdout and in the pod's log file (CLASSROOM_LOG_FILE).
const logger = createLogger({ component: "mq-replayer" });

/** Lease losses, late renewals and failures are warnings an operator should see; the rest is info. */
function log({ event, ...fields }: { event: string } & Record<string, unknown>): void {
  const warning = /lost|late|fail|error|stuck/.test(event);
  logger[warning ? "warn" : "info"](event, fields);
}

async function main(): Promise<void> {
  let config;
  try {
    config = parseReplayerConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.error("configuration error", { problems: err.problems });
      process.exit(2);
    }
    throw err;
  }
  const redis = connectRedis(config.redis, "classroom-mq-replayer");
  const registry = daemonRegistry("mq-replayer");
  // The metrics read the backlog through the replayer, which is created next.
  const metrics = new ReplayerMetrics(registry, () => replayer);
  const replayer: Replayer = new Replayer({
    redis,
    kafkaBootstrap: config.kafkaBootstrap,
    clientId: config.clientId,
    shards: config.shards,
    keyPrefix: config.keyPrefix,
    leaseTtlMs: config.leaseTtlMs,
    batchSize: config.batchSize,
    kafkaSendTimeoutMs: config.kafkaSendTimeoutMs,
    maxShards: config.maxShards,
    onEvent: (event) => {
      metrics.observe(event);
      const { type, ...details } = event;
      if (type !== "replayed" || process.env.CLASSROOM_MQ_LOG_BATCHES === "1") log({ event: type, ...details });
    },
  });
  try {
    await replayer.start();
  } catch (err) {
    logger.error("cannot start", { error: (err as Error).message });
    redis.disconnect();
    process.exit(1);
  }
  log({
    event: "started",
    shards: config.shards,
    keyPrefix: config.keyPrefix,
    kafka: config.kafkaBootstrap,
    redis: "url" in config.redis ? "url" : "sentinel",
  });

  let health: http.Server | undefined;
  if (config.healthPort > 0) {
    // /metrics: Prometheus. Anything else: ready when Redis is connected; the body says which shards
    // this replica replays.
    health = http
      .createServer((req, res) => {
        if (serveMetrics(registry, req, res)) return;
        const ok = redis.status === "ready";
        res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify({ redis: redis.status, heldShards: replayer.heldShards, ...replayer.stats }));
      })
      .listen(config.healthPort);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log({ event: "stopping", signal });
    health?.close();
    await replayer.stop();
    redis.disconnect();
    log({ event: "stopped", ...replayer.stats });
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err) => {
  // A bug, not a condition the operator caused: the stack goes into the line as a field.
  logger.error("internal error", { error: (err as Error).message ?? String(err), stack: (err as Error).stack });
  process.exit(1);
});
