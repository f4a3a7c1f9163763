import * as fs from "node:fs";

/**
 * The environment contract between the platform (infra/ renders these into pods) and the runtime's
 * daemons and libraries (which read them). Both import the names from here, so a rename cannot leave
 * one side behind. The READMEs of runtime/mq and runtime/scheduler document each variable.
 */
export const REDIS_ENV = {
  url: "CLASSROOM_REDIS_URL",
  sentinels: "CLASSROOM_REDIS_SENTINELS",
  masterName: "CLASSROOM_REDIS_MASTER_NAME",
  passwordFile: "CLASSROOM_REDIS_PASSWORD_FILE",
  sentinelPasswordFile: "CLASSROOM_REDIS_SENTINEL_PASSWORD_FILE",
} as const;

export const KAFKA_ENV = { bootstrap: "CLASSROOM_KAFKA_BOOTSTRAP" } as const;

export const LOG_ENV = { dir: "CLASSROOM_LOG_DIR", file: "CLASSROOM_LOG_FILE", level: "CLASSROOM_LOG_LEVEL" } as const;

export const MQ_ENV = {
  shards: "CLASSROOM_MQ_SHARDS",
  keyPrefix: "CLASSROOM_MQ_KEY_PREFIX",
  leaseTtlMs: "CLASSROOM_MQ_LEASE_TTL_MS",
  batchSize: "CLASSROOM_MQ_BATCH_SIZE",
  kafkaSendTimeoutMs: "CLASSROOM_MQ_KAFKA_SEND_TIMEOUT_MS",
  maxShards: "CLASSROOM_MQ_MAX_SHARDS_PER_REPLICA",
  clientId: "CLASSROOM_MQ_CLIENT_ID",
  healthPort: "CLASSROOM_MQ_HEALTH_PORT",
} as const;

export const SCHEDULER_ENV = {
  jobsFile: "CLASSROOM_SCHEDULER_JOBS_FILE",
  namespace: "CLASSROOM_NAMESPACE",
  healthPort: "CLASSROOM_SCHEDULER_HEALTH_PORT",
} as const;

/**
 * Defaults both sides must agree on. Producers and the replayer must use the same shard count (a
 * message's shard is its key's hash modulo the count), and the stack schema's default is what every
 * stack deploys, so the library's default is the same number.
 */
export const MQ_DEFAULTS = { shards: 4 } as const;

/** Bad environment: one line per variable, each naming it and what it allows. */
export class EnvConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "EnvConfigError";
  }
}

type Env = Record<string, string | undefined>;

/** Where a daemon's Redis is: a URL, or Sentinels and the master name they monitor. */
export type RedisTarget =
  { url: string; password?: string } | { sentinels: { host: string; port: number }[]; masterName: string; password?: string; sentinelPassword?: string };

/**
 * Reads variables and collects every problem instead of stopping at the first, so one start of a
 * misconfigured pod names all that is wrong. Call `done()` last: it throws EnvConfigError if anything was.
 */
export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Env = process.env) {}

  raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === "" ? undefined : value;
  }

  problem(message: string): void {
    this.problems.push(message);
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      this.problem(`${name} must be an integer from ${min} to ${max}, got '${raw}'`);
      return fallback;
    }
    return value;
  }

  text(name: string, fallback: string, pattern: RegExp, allowed: string): string {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (!pattern.test(raw)) {
      this.problem(`${name} allows ${allowed}, got '${raw}'`);
      return fallback;
    }
    return raw;
  }

  required(name: string, what: string): string {
    const raw = this.raw(name);
    if (raw === undefined) this.problem(`${name} is required (${what})`);
    return raw ?? "";
  }

  hostPorts(name: string, example: string): { host: string; port: number }[] {
    const raw = this.raw(name);
    if (raw === undefined) {
      this.problem(`${name} is required: a comma-separated list of host:port, like ${example}`);
      return [];
    }
    const out: { host: string; port: number }[] = [];
    for (const part of raw.split(",").map((p) => p.trim())) {
      const m = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(part);
      const port = m ? Number(m[2]) : NaN;
      if (!m || port < 1 || port > 65_535) {
        this.problem(`${name}: '${part}' is not host:port (port 1-65535); expected a comma-separated list like ${example}`);
        continue;
      }
      out.push({ host: m[1].replace(/^\[|\]$/g, ""), port });
    }
    return out;
  }

  /** A mounted secret's content; trailing newlines (as `kubectl create secret --from-file` leaves them) are dropped. */
  secretFile(name: string): string | undefined {
    const file = this.raw(name);
    if (file === undefined) return undefined;
    try {
      return fs.readFileSync(file, "utf8").replace(/[\r\n]+$/, "");
    } catch (err) {
      this.problem(`${name}: cannot read '${file}' (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return undefined;
    }
  }

  /** The Redis connection every daemon shares: exactly one of a URL or Sentinels with a master name. */
  redis(): RedisTarget {
    const url = this.raw(REDIS_ENV.url);
    const sentinels = this.raw(REDIS_ENV.sentinels);
    const password = this.secretFile(REDIS_ENV.passwordFile);
    const withPassword = password === undefined ? {} : { password };
    if (url && sentinels) {
      this.problem(`set either ${REDIS_ENV.url} or ${REDIS_ENV.sentinels}, not both`);
      return { url, ...withPassword };
    }
    if (url) {
      if (!/^rediss?:\/\/[^/\s]+/.test(url)) this.problem(`${REDIS_ENV.url} must look like redis://host:port or rediss://host:port, got '${url}'`);
      if (this.raw(REDIS_ENV.masterName)) this.problem(`${REDIS_ENV.masterName} applies only with ${REDIS_ENV.sentinels}`);
      return { url, ...withPassword };
    }
    if (sentinels) {
      const masterName = this.raw(REDIS_ENV.masterName);
      if (!masterName) this.problem(`${REDIS_ENV.masterName} is required with ${REDIS_ENV.sentinels} (the master name the Sentinels monitor, e.g. mymaster)`);
      const sentinelPassword = this.secretFile(REDIS_ENV.sentinelPasswordFile);
      return {
        sentinels: this.hostPorts(REDIS_ENV.sentinels, "redis-sentinel-0.redis-sentinel:26379,redis-sentinel-1.redis-sentinel:26379"),
        masterName: masterName ?? "",
        ...withPassword,
        ...(sentinelPassword === undefined ? {} : { sentinelPassword }),
      };
    }
    this.problem(`set ${REDIS_ENV.url} (redis://host:port) or ${REDIS_ENV.sentinels} (host:port,host:port) with ${REDIS_ENV.masterName}`);
    return { url: "", ...withPassword };
  }

  /** Throws EnvConfigError naming every problem found so far. */
  done(): void {
    if (this.problems.length > 0) throw new EnvConfigError([...this.problems]);
  }
}

/** `redis://host:port/db` (db 0 when the URL names none) without credentials, or the Sentinels and master: safe for a startup log line. */
export function describeRedis(target: RedisTarget): string {
  if ("url" in target) {
    try {
      const u = new URL(target.url);
      return `${u.protocol}//${u.hostname}:${u.port || 6379}/${u.pathname.length > 1 ? u.pathname.slice(1) : "0"}`;
    } catch {
      return "redis (unparsable URL)";
    }
  }
  return `sentinels ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(",")} master ${target.masterName}`;
}
