import type { Coordinator, FinishResult, RunRecord } from "./claim";
import type { JobContext, JobHandler } from "./handlers";
import type { Job } from "./job-schema";
import type { SchedulerMetrics } from "./metrics";
import type { Router } from "./routing";
import { abortableSleep, runAttempts } from "./strategies";

export interface RunnerOptions {
  coordinator: Coordinator;
  router: Router;
  handlers: Record<string, JobHandler>;
  replicaId: string;
  leaseMs: number;
  log(message: string, fields?: Record<string, unknown>): void;
  metrics?: SchedulerMetrics;
  /** A finished run handed the job's next queued fire to the replica that claimed it. */
  onHandedOver?(job: Job, fireMs: number, to: string): void;
}

class RunCancelled extends Error {}

/** The same words whether pub/sub or a lease renewal brings the news first. */
export const coveredReason = "covered by a later fire (block strategy cover-earlier)";

/**
 * Runs granted fires: heartbeat on the run lock, timeout and retries, the final record with the
 * fencing token, then the next queued fire if Redis hands one over (block "serial").
 */
interface ActiveRun {
  job: string;
  token: number;
  fireMs: number;
  grantedAt: number;
  lastRenewed: number;
  controller: AbortController;
}

export class Runner {
  private readonly active = new Map<string, ActiveRun>();
  /** One renewal loop for all runs of this replica: a single pipelined burst per period. */
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly chains = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly options: RunnerOptions) {}

  get running(): number {
    return this.active.size;
  }

  /** Starts a run chain for a granted fire; returns at once. */
  start(job: Job, fireMs: number, token: number, grantedAt: number): void {
    const chain = this.chain(job, fireMs, token, grantedAt).catch((err) =>
      this.options.log("run chain failed", { job: job.name, error: (err as Error).message }),
    );
    this.chains.add(chain);
    void chain.finally(() => this.chains.delete(chain));
  }

  /** Aborts the run holding `token` (a later fire covered it); no-op if it is not running here. */
  cancel(job: string, token: number, reason: string): void {
    this.active.get(`${job}|${token}`)?.controller.abort(new RunCancelled(reason));
  }

  /** Lets running runs finish for up to `graceMs`, then aborts them; queued fires are left to other replicas. */
  async drain(graceMs: number): Promise<void> {
    this.stopping = true;
    const all = Promise.all([...this.chains]);
    const timer = setTimeout(() => {
      for (const run of this.active.values()) run.controller.abort(new RunCancelled("replica shutting down"));
    }, graceMs);
    await all;
    clearTimeout(timer);
  }

  private async chain(job: Job, fireMs: number, token: number, grantedAt: number): Promise<void> {
    for (;;) {
      const record = await this.execute(job, fireMs, token, grantedAt);
      const askedAt = Date.now();
      const result = await this.finish(job, record);
      if (!result) return;
      if (result.status === "lost" || result.status === "covered") {
        // Its outcome is already in the history; what the run itself ended as is only known here.
        this.options.log(`run ${result.status}: outcome not recorded`, { job: job.name, fire: fireMs, token, result: record.outcome });
      }
      if (result.status === "handed") this.options.onHandedOver?.(job, result.fireMs, result.to);
      if (result.status !== "run") return;
      fireMs = result.fireMs;
      token = result.token;
      grantedAt = askedAt;
    }
  }

  /** Retries the final record until the lease would have run out; past that the outcome is only logged. */
  private async finish(job: Job, record: RunRecord): Promise<FinishResult | undefined> {
    const deadline = Date.now() + this.options.leaseMs;
    for (;;) {
      try {
        return await this.options.coordinator.finish(job.name, record, job.misfire, job.misfireThresholdMs, !this.stopping);
      } catch (err) {
        if (Date.now() > deadline) {
          this.options.log("could not record run outcome", { job: job.name, ...record, error: (err as Error).message });
          return undefined;
        }
        await abortableSleep(200, new AbortController().signal);
      }
    }
  }

  /** Renews one run's lease; aborts the run once Redis says a newer token owns the job. */
  private async renew(run: ActiveRun): Promise<boolean> {
    const state = await this.options.coordinator.renew(run.job, run.token, run.fireMs, run.grantedAt);
    if (state === "owner") run.lastRenewed = Date.now();
    else run.controller.abort(new RunCancelled(state === "covered" ? coveredReason : "lost: the run lock lapsed and the run was recorded lost"));
    return state === "owner";
  }

  private renewAll(): void {
    const { leaseMs } = this.options;
    for (const run of this.active.values()) {
      // Lose the run once Redis has been unreachable for a whole lease: another replica may own it by then.
      this.renew(run).catch(() => {
        if (Date.now() - run.lastRenewed > leaseMs) run.controller.abort(new RunCancelled("lease lost: Redis unreachable for a whole lease"));
      });
    }
  }

  private track(run: ActiveRun): void {
    this.active.set(`${run.job}|${run.token}`, run);
    if (!this.heartbeat) this.heartbeat = setInterval(() => this.renewAll(), Math.max(50, Math.floor(this.options.leaseMs / 3)));
  }

  private untrack(run: ActiveRun): void {
    this.active.delete(`${run.job}|${run.token}`);
    if (this.active.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  private async execute(job: Job, fireMs: number, token: number, grantedAt: number): Promise<RunRecord> {
    const { leaseMs, replicaId } = this.options;
    const controller = new AbortController();
    const run: ActiveRun = { job: job.name, token, fireMs, grantedAt, lastRenewed: grantedAt, controller };
    this.track(run);
    const startedAt = Date.now();
    this.options.metrics?.started(job.name, fireMs, startedAt);
    try {
      // A stall between the grant and now (GC, paused container) may have outlived the lease.
      if (startedAt - grantedAt > leaseMs / 2 && !(await this.renew(run).catch(() => false)) && !controller.signal.aborted) {
        controller.abort(new RunCancelled("lease unconfirmed before start: Redis unreachable after a stall"));
      }
      const outcome = controller.signal.aborted
        ? { outcome: "cancelled" as const, attempts: 0, error: String((controller.signal.reason as Error).message) }
        : await runAttempts(
            job,
            controller.signal,
            (attempt, signal) => this.attempt(job, fireMs, token, attempt, signal),
            () => this.renew(run),
          );
      this.options.metrics?.finished(job.name, outcome.outcome);
      return {
        fire: fireMs,
        token,
        replica: replicaId,
        outcome: outcome.outcome,
        attempts: outcome.attempts,
        startedAt,
        finishedAt: Date.now(),
        ...(outcome.error ? { error: outcome.error } : {}),
        ...(outcome.detail ? { endpoint: outcome.detail } : {}),
      };
    } finally {
      this.untrack(run);
    }
  }

  private async attempt(job: Job, fireMs: number, token: number, attempt: number, signal: AbortSignal): Promise<string | void> {
    const context: JobContext = {
      job: job.name,
      fireTime: fireMs,
      fencingToken: token,
      attempt,
      params: job.params,
      signal,
      replicaId: this.options.replicaId,
      stillOwner: () => this.options.coordinator.isCurrent(job.name, token),
    };
    if (job.target.kind === "http") return this.options.router.trigger(job, context);
    const handler = this.options.handlers[job.target.handler];
    if (!handler) throw new Error(`no handler named '${job.target.handler}'`);
    await handler(context);
  }
}
