import { KAFKA_ENV, MQ_ENV, REDIS_ENV, SCHEDULER_ENV } from "@classroom-platform/runtime/contracts";
import { DataConnection, DataSystem } from "../components/shared/connection";
import { PlatformConfig } from "./config";
import { ServiceConfig } from "./config/services";

/**
 * The platform's own daemons from runtime/, declared as `worker` services so they get the same pod
 * hardening, log files, credentials wiring and NetworkPolicies as every classroom service:
 *
 * - `scheduler`: the second-level scheduler (runtime/scheduler), jobs from `classroom:scheduler.jobs`;
 * - `mq-replayer`: drains the Redis outage buffer into Kafka (runtime/mq), one lease holder per shard.
 *
 * Their settings follow the env contracts in runtime/scheduler/README.md and runtime/mq/README.md.
 */
export function daemonServices(config: PlatformConfig, connections: Record<DataSystem, DataConnection>): Record<string, DaemonSpec> {
  const redisEnv = redisClientEnv(connections.redis);
  const daemons: Record<string, DaemonSpec> = {};
  const jobs = config.scheduler.jobs;
  if (Object.keys(jobs).length > 0) {
    // A job that names a service without a port calls it on the port the service declares.
    const resolved = Object.fromEntries(Object.entries(jobs).map(([name, job]) => {
      const http = (job.target as { http?: { service: string; port?: number } }).http;
      return [name, http ? { ...job, target: { http: { ...http, port: http.port ?? config.services[http.service].port } } } : job];
    }));
    const targets = [...new Set(Object.values(jobs).flatMap((j) => ((j.target as { http?: { service: string } }).http ? [(j.target as { http: { service: string } }).http.service] : [])))].sort();
    daemons.scheduler = {
      // Bin names of the runtime package, on PATH in the runtime image (runtime/Dockerfile).
      service: worker(config, ["classroom-scheduler"], config.scheduler.replicas, ["redis"], targets),
      configFiles: { "jobs.json": JSON.stringify(sortKeys(resolved), null, 2) + "\n" },
      env: {
        ...redisEnv,
        [SCHEDULER_ENV.jobsFile]: "/etc/classroom/config/jobs.json",
        [SCHEDULER_ENV.namespace]: config.namespaces.apps,
        [SCHEDULER_ENV.healthPort]: "8080",
      },
    };
  }
  daemons["mq-replayer"] = {
    service: worker(config, ["classroom-mq-replayer"], config.mq.replayerReplicas, ["redis", "kafka"], []),
    configFiles: {},
    env: {
      ...redisEnv,
      [KAFKA_ENV.bootstrap]: connections.kafka.settings.KAFKA_BOOTSTRAP,
      [MQ_ENV.shards]: String(config.mq.shards),
      [MQ_ENV.healthPort]: "8080",
    },
  };
  return daemons;
}

export interface DaemonSpec {
  service: ServiceConfig;
  configFiles: Record<string, string>;
  env: Record<string, string>;
  command?: string[];
}

function worker(config: PlatformConfig, command: string[], replicas: number, uses: DataSystem[], calls: string[]): ServiceConfig & { command: string[] } {
  return {
    kind: "worker", port: 8080, uses, calls,
    stable: { image: config.runtimeImage, replicas },
    healthPath: "/healthz", configFiles: {}, scratch: { sizeLimit: "64Mi", memory: false },
    terminationGraceSeconds: 30, history: [], command,
  } as ServiceConfig & { command: string[] };
}

/**
 * The value with object keys sorted at every level. The Pulumi CLI hands object config to the program
 * with its keys sorted, Pulumi's mocks (synth) in stack-file order: a file rendered from config must not
 * depend on which, or its content and checksum differ between synth and a real deploy.
 */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** The runtime libraries' Redis settings from the Redis connection (standalone URL or Sentinels). */
function redisClientEnv(redis: DataConnection): Record<string, string> {
  const password = { [REDIS_ENV.passwordFile]: "/etc/classroom/secrets/redis-password" };
  if (redis.settings.REDIS_SENTINELS) {
    return { [REDIS_ENV.sentinels]: redis.settings.REDIS_SENTINELS, [REDIS_ENV.masterName]: redis.settings.REDIS_MASTER_NAME, ...password };
  }
  return { [REDIS_ENV.url]: redis.settings.REDIS_URL, ...password };
}
