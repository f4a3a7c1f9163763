import * as fs from "node:fs";
import * as os from "node:os";
import Redis, { RedisOptions } from "ioredis";
import { duplicateKeys } from "./duplicate-keys";
import { describeRedis, EnvConfigError, EnvReader } from "../contracts/env";
import { Job, JobConfigError, parseJobs } from "./job-schema";

/**
 * The daemon's whole configuration comes from environment variables (and the files they name), the
 * contract with the Pulumi deployment. README.md lists them; keep both in step.
 */
export interface DaemonConfig {
  jobsFile: string;
  jobs: Job[];
  redis: RedisOptions;
  /** Where the Redis settings came from, without secrets, for the startup log. */
  redisDescription: string;
  namespace?: string;
  clusterDomain: string;
  replicaId: string;
  keyPrefix: string;
  leaseMs: number;
  lookaheadMs: number;
  claimTtlMs: number;
  historyLimit: number;
  shutdownGraceMs: number;
  handlersModule?: string;
  staticEndpoints?: Record<string, string[]>;
  healthPort?: number;
}

type Env = Record<string, string | undefined>;

const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

function positiveInt(env: Env, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new JobConfigError(`${name}: expected an integer >= ${min}, got '${raw}'`);
  return value;
}

function readFile(name: string, file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new JobConfigError(`${name}: cannot read '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Longest wait between reconnect attempts while Redis is unreachable or loading its data. */
export const reconnectEveryMs = 500;

/**
 * Redis connection settings shared by the daemon and the status command. Where Redis is comes from the
 * runtime's shared reader (runtime/contracts/env.ts: a URL or Sentinels, never both, every problem at
 * once); how the scheduler talks to it is its own.
 */
export function redisFromEnv(env: Env): { options: RedisOptions; description: string } {
  const read = new EnvReader(env);
  const target = read.redis();
  try {
    read.done();
  } catch (err) {
    if (err instanceof EnvConfigError) throw new JobConfigError(err.problems.join("\n"));
    throw err;
  }
  // Fail fast on a dead Redis: a command queued while disconnected, or re-sent after a reconnect (it may
  // have run already), would take effect after its caller gave up on it. The scripts also refuse calls
  // that arrive after their deadline (lua.ts), which covers commands a frozen Redis reads late.
  const common: RedisOptions = {
    password: target.password,
    commandTimeout: 3000,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
    lazyConnect: true,
    // ioredis backs off up to 5 s between reconnects: after an outage the daemon would stay blind for
    // longer than a lease. A connect attempt every half second is cheap and bounds that to 0.5 s.
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** (attempt - 1), reconnectEveryMs),
    // While Redis reads its AOF back, ioredis waits its loading estimate (up to 10 s) between checks.
    maxLoadingRetryTime: reconnectEveryMs,
  };
  const description = describeRedis(target);
  if ("sentinels" in target) {
    // Sentinels usually run without requirepass, and AUTH against them then fails: only send one when given.
    return { options: { ...common, sentinels: target.sentinels, name: target.masterName, sentinelPassword: target.sentinelPassword }, description };
  }
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    throw new JobConfigError(`CLASSROOM_REDIS_URL: not a URL: '${target.url}' (expected redis://host:port[/db])`);
  }
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    options: {
      ...common,
      host: url.hostname,
      port: Number(url.port || 6379),
      db,
      password: target.password ?? (url.password ? decodeURIComponent(url.password) : undefined),
      tls: url.protocol === "rediss:" ? {} : undefined,
    },
    description,
  };
}

export function createRedis(options: RedisOptions, connectionName: string): Redis {
  return new Redis({ ...options, connectionName });
}

export function loadJobsFile(file: string, variable = "CLASSROOM_SCHEDULER_JOBS_FILE"): Job[] {
  const text = readFile(variable, file);
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    throw new JobConfigError(`${variable}: '${file}' is not JSON: ${(err as Error).message}`);
  }
  // JSON.parse keeps the last of two equal keys: a second job with the same name would silently win.
  const duplicates = duplicateKeys(text).map(({ path, key, lines: [first, again] }) =>
    path.length === 0
      ? `jobs.${key}: duplicate job name '${key}' (lines ${first} and ${again}): each job name may appear once`
      : `jobs.${path.join(".")}: duplicate key '${key}' (lines ${first} and ${again}): each key may appear once`,
  );
  if (duplicates.length) throw new JobConfigError(`${file} is not a valid jobs document:\n${duplicates.join("\n")}`);
  return parseJobs(document, file);
}

function parseEndpoints(raw: string | undefined): Record<string, string[]> | undefined {
  if (!raw) return undefined;
  const problem = 'CLASSROOM_SCHEDULER_ENDPOINTS: expected JSON {"<service>": ["http://host:port", ...]}';
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new JobConfigError(`${problem}, got invalid JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new JobConfigError(problem);
  for (const [service, urls] of Object.entries(value)) {
    if (!Array.isArray(urls) || urls.some((u) => typeof u !== "string" || !/^https?:\/\//.test(u))) {
      throw new JobConfigError(`${problem}; entry '${service}' is not a list of http(s) URLs`);
    }
  }
  return value as Record<string, string[]>;
}

export function daemonConfigFromEnv(env: Env = process.env): DaemonConfig {
  const jobsFile = env.CLASSROOM_SCHEDULER_JOBS_FILE;
  if (!jobsFile) throw new JobConfigError("CLASSROOM_SCHEDULER_JOBS_FILE: required (path of the jobs JSON mounted from the ConfigMap)");
  const jobs = loadJobsFile(jobsFile);
  const redis = redisFromEnv(env);
  const staticEndpoints = parseEndpoints(env.CLASSROOM_SCHEDULER_ENDPOINTS);
  let namespace = env.CLASSROOM_NAMESPACE || undefined;
  if (!namespace && fs.existsSync(serviceAccountNamespaceFile)) namespace = fs.readFileSync(serviceAccountNamespaceFile, "utf8").trim();
  const unaddressable = jobs.filter((j) => j.enabled && j.target.kind === "http" && !namespace && !staticEndpoints?.[j.target.service]);
  if (unaddressable.length) {
    throw new JobConfigError(`CLASSROOM_NAMESPACE: required to address the services of HTTP jobs ${unaddressable.map((j) => j.name).join(", ")}`);
  }
  const leaseMs = positiveInt(env, "CLASSROOM_SCHEDULER_LEASE_MS", 3000, 300);
  const lookaheadMs = positiveInt(env, "CLASSROOM_SCHEDULER_LOOKAHEAD_MS", Math.min(300, Math.floor(leaseMs / 3)), 0);
  if (lookaheadMs * 3 > leaseMs) {
    throw new JobConfigError(`CLASSROOM_SCHEDULER_LOOKAHEAD_MS: must be at most a third of CLASSROOM_SCHEDULER_LEASE_MS (${leaseMs}), got ${lookaheadMs}`);
  }
  const healthPort = env.CLASSROOM_SCHEDULER_HEALTH_PORT ? positiveInt(env, "CLASSROOM_SCHEDULER_HEALTH_PORT", 0, 1) : undefined;
  return {
    jobsFile,
    jobs,
    redis: redis.options,
    redisDescription: redis.description,
    namespace,
    clusterDomain: env.CLASSROOM_CLUSTER_DOMAIN || "cluster.local",
    replicaId: env.CLASSROOM_SCHEDULER_REPLICA_ID || `${os.hostname()}-${process.pid}`,
    keyPrefix: env.CLASSROOM_SCHEDULER_KEY_PREFIX || "classroom:scheduler",
    leaseMs,
    lookaheadMs,
    claimTtlMs: positiveInt(env, "CLASSROOM_SCHEDULER_CLAIM_TTL_MS", 60_000, 1000),
    historyLimit: positiveInt(env, "CLASSROOM_SCHEDULER_HISTORY_LIMIT", 100, 1),
    shutdownGraceMs: positiveInt(env, "CLASSROOM_SCHEDULER_SHUTDOWN_GRACE_MS", 20_000, 0),
    handlersModule: env.CLASSROOM_SCHEDULER_HANDLERS_MODULE || undefined,
    staticEndpoints,
    healthPort,
  };
}
