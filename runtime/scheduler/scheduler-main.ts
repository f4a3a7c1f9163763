/**
 * The scheduler daemon, `classroom-scheduler` in the runtime package (`npx tsx runtime/scheduler/scheduler-main.ts` in the repository).
 * Configuration: environment variables, see daemon-config.ts and README.md.
 * Exit codes: 0 after SIGTERM/SIGINT, 2 on a configuration error, 1 when Redis is unreachable at start.
 */
import * as http from "node:http";
import { createLogger } from "../log";
import { daemonRegistry, Registry, serveMetrics } from "../metrics";
import { createRedis, DaemonConfig, daemonConfigFromEnv } from "./daemon-config";
import { checkHandlers, JobHandler, loadHandlerModule } from "./handlers";
import { JobConfigError } from "./job-schema";
import { SchedulerMetrics } from "./metrics";
import { Router } from "./routing";
import { Scheduler, schedulerLog } from "./scheduler";

// The runtime's structured logger: JSON lines on stdout and in the pod's log file (CLASSROOM_LOG_FILE).
// Startup failures go through it too, so the line that explains a CrashLoopBackOff is in the file the
// node's log agent ships, and is one JSON line like every other.
const logger = createLogger({ component: "scheduler" });

/** A configuration error: one line, its problems as a list (the message holds one per line, after a heading ending in ':' when it has one). */
function configurationError(err: Error): void {
  const [first, ...rest] = err.message.split("\n").filter(Boolean);
  logger.error("configuration error", rest.length > 0 && first.endsWith(":") ? { source: first.slice(0, -1), problems: rest } : { problems: [first, ...rest] });
}

function startHealthServer(port: number, ready: () => boolean, registry: Registry): http.Server {
  // /healthz: the process and its event loop answer; /readyz: Redis is connected too; /metrics: Prometheus.
  return http
    .createServer((req, res) => {
      if (serveMetrics(registry, req, res)) return;
      const ok = req.url === "/healthz" || (req.url === "/readyz" && ready());
      res.writeHead(ok ? 200 : req.url === "/readyz" ? 503 : 404, { "content-type": "text/plain" }).end(ok ? "ok\n" : "not ready\n");
    })
    .listen(port);
}

async function main(): Promise<number> {
  // Installed before anything else: the kubelet may send SIGTERM at any moment after the process starts
  // (a rollout that replaces a pod still starting), and Node's default action would kill the daemon
  // mid-claim instead of draining it.
  const stopRequested = new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  let config: DaemonConfig;
  try {
    config = daemonConfigFromEnv();
  } catch (err) {
    if (err instanceof JobConfigError) {
      configurationError(err);
      return 2;
    }
    throw err;
  }
  const say = schedulerLog(config.replicaId, logger);
  const redis = createRedis(config.redis, `scheduler:${config.replicaId}`);
  const subscriber = createRedis({ ...config.redis, commandTimeout: undefined }, `scheduler-sub:${config.replicaId}`);
  let lastRedisError = "";
  redis.on("error", (err) => {
    lastRedisError = err.message;
    say("redis error", { error: err.message });
  });
  subscriber.on("error", (err) => say("redis subscriber error", { error: err.message }));
  try {
    await Promise.all([redis.connect(), subscriber.connect()]);
  } catch (err) {
    logger.error("cannot connect to Redis", { replica: config.replicaId, redis: config.redisDescription, error: lastRedisError || (err as Error).message });
    redis.disconnect();
    subscriber.disconnect();
    return 1;
  }

  let handlers: Record<string, JobHandler> = {};
  try {
    if (config.handlersModule) {
      handlers = await loadHandlerModule(config.handlersModule, { redis, replicaId: config.replicaId, log: say });
    }
    checkHandlers(config.jobs, handlers);
  } catch (err) {
    redis.disconnect();
    subscriber.disconnect();
    if (err instanceof JobConfigError) {
      configurationError(err);
      return 2;
    }
    throw err;
  }

  const registry = daemonRegistry("scheduler");
  const scheduler = new Scheduler({
    redis,
    subscriber,
    jobs: config.jobs,
    handlers,
    router: new Router({ namespace: config.namespace, clusterDomain: config.clusterDomain, staticEndpoints: config.staticEndpoints }),
    replicaId: config.replicaId,
    keyPrefix: config.keyPrefix,
    leaseMs: config.leaseMs,
    lookaheadMs: config.lookaheadMs,
    claimTtlMs: config.claimTtlMs,
    historyLimit: config.historyLimit,
    metrics: new SchedulerMetrics(registry),
    log: say,
  });
  const health = config.healthPort ? startHealthServer(config.healthPort, () => redis.status === "ready", registry) : undefined;
  say("starting", { redis: config.redisDescription, jobsFile: config.jobsFile, keyPrefix: config.keyPrefix, leaseMs: config.leaseMs });
  await scheduler.start();

  await stopRequested;
  say("shutting down", { running: scheduler.runningCount, graceMs: config.shutdownGraceMs });
  await scheduler.stop(config.shutdownGraceMs);
  health?.close();
  await redis.quit().catch(() => redis.disconnect());
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    // A bug, not a condition the operator caused: the stack goes into the line as a field.
    logger.error("internal error", { error: (err as Error).message ?? String(err), stack: (err as Error).stack });
    process.exit(1);
  },
);
