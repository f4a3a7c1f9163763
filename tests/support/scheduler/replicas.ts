/**
 * Starts real scheduler daemons (scheduler-main.ts) as child processes for tests and the bench: the
 * same entry point, env vars and jobs file a pod gets. Uses tests/harness so that every process is
 * tracked and killed even when a test fails.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManagedProcess } from "../../harness/process";
import type { JobsSpec } from "../../../runtime/scheduler/job-schema";

const repoRoot = path.resolve(__dirname, "../../..");
const mainPath = path.join(repoRoot, "runtime/scheduler/scheduler-main.ts");
const probeModule = path.join(__dirname, "probe-handlers.ts");

export interface ReplicaSetOptions {
  redisUrl: string;
  jobs: JobsSpec;
  /** Replica ids to start, e.g. ["r1", "r2", "r3"]. */
  ids: string[];
  /** CLASSROOM_SCHEDULER_LEASE_MS. Default: the daemon's default. */
  leaseMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Extra environment variables of one replica (a health port of its own, say). */
  replicaEnv?: (id: string) => Record<string, string>;
  /** How long one daemon may take to start (tsx compiles it first: slow on a loaded machine). Default 30 s. */
  startTimeoutMs?: number;
}

export class SchedulerReplicas {
  readonly replicas = new Map<string, ManagedProcess>();
  readonly jobsFile: string;
  private readonly dir: string;

  constructor(private readonly options: ReplicaSetOptions) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "scheduler-"));
    this.jobsFile = path.join(this.dir, "jobs.json");
    fs.writeFileSync(this.jobsFile, JSON.stringify(options.jobs, null, 2));
  }

  static async start(options: ReplicaSetOptions): Promise<SchedulerReplicas> {
    const set = new SchedulerReplicas(options);
    try {
      await Promise.all(options.ids.map((id) => set.startReplica(id, options.startTimeoutMs)));
    } catch (err) {
      await set.stopAll();
      throw err;
    }
    return set;
  }

  /** The env a pod would get, pointing at the probe handlers. */
  envFor(id: string): Record<string, string> {
    return {
      CLASSROOM_SCHEDULER_JOBS_FILE: this.jobsFile,
      CLASSROOM_REDIS_URL: this.options.redisUrl,
      CLASSROOM_SCHEDULER_REPLICA_ID: id,
      CLASSROOM_SCHEDULER_HANDLERS_MODULE: probeModule,
      CLASSROOM_SCHEDULER_SHUTDOWN_GRACE_MS: "2000",
      ...(this.options.leaseMs ? { CLASSROOM_SCHEDULER_LEASE_MS: String(this.options.leaseMs) } : {}),
      ...this.options.env,
      ...this.options.replicaEnv?.(id),
    };
  }

  /** Starts one daemon and resolves once it logged "scheduler started". */
  async startReplica(id: string, timeoutMs = this.options.startTimeoutMs ?? 30_000): Promise<ManagedProcess> {
    const proc = ManagedProcess.start(`scheduler-${id}`, process.execPath, ["--import", "tsx", mainPath], {
      cwd: repoRoot,
      env: { ...process.env, ...this.envFor(id) },
    });
    this.replicas.set(id, proc);
    const deadline = Date.now() + timeoutMs;
    while (!proc.log.includes('"event":"scheduler started"')) {
      if (!proc.running) throw new Error(`scheduler replica ${id} exited during start:\n${proc.log}`);
      if (Date.now() > deadline) throw new Error(`scheduler replica ${id} did not start within ${timeoutMs} ms:\n${proc.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return proc;
  }

  get(id: string): ManagedProcess {
    const proc = this.replicas.get(id);
    if (!proc) throw new Error(`no replica ${id}`);
    return proc;
  }

  /** SIGKILL: a crashed pod. */
  async kill(id: string): Promise<void> {
    await this.get(id).kill();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.replicas.values()].map((p) => p.stop()));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
