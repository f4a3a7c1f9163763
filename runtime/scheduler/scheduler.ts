import type { Redis } from "ioredis";
import { Coordinator, FireRequest } from "./claim";
import type { JobHandler } from "./handlers";
import type { Job } from "./job-schema";
import { Router } from "./routing";
import { coveredReason, Runner } from "./runner";
import { dueFires, Schedule, scheduleOf } from "./schedule";

export interface SchedulerOptions {
  /** Command connection (ioredis). The scheduler does not close it. */
  redis: Redis;
  /** A second connection for the cancel channel (subscribe mode blocks other commands). Closed by stop(). */
  subscriber: Redis;
  /** Jobs with defaults applied (see parseJobs); disabled ones never fire. */
  jobs: Job[];
  /** In-process handlers for `{ handler }` targets. Default {}. */
  handlers?: Record<string, JobHandler>;
  /** Routes `{ http }` targets. Default: a Router without namespace (static endpoints only). */
  router?: Router;
  /** Unique per replica; shows up in claims, history and status. */
  replicaId: string;
  /** Redis key prefix shared by every replica of this deployment. Default "classroom:scheduler". */
  keyPrefix?: string;
  /** Run lock lease; failover of a crashed run takes at most this long. Default 3000. */
  leaseMs?: number;
  /** Lifetime of fire claim keys. Default 60000. */
  claimTtlMs?: number;
  /** History entries kept per job. Default 100. */
  historyLimit?: number;
  /** Structured log sink. Default: JSON lines on stdout. */
  log?(message: string, fields?: Record<string, unknown>): void;
}

interface JobTimerState {
  job: Job;
  schedule: Schedule;
  /** Last fire this replica has dealt with (claimed, lost or skipped). */
  cursor: number;
  /** Next fire to deal with, or undefined if the schedule has ended. */
  next: number | undefined;
}

/** Longest single timer: wall-clock corrections (NTP steps) are picked up at least this often. */
const maxTimerMs = 30_000;

/**
 * One scheduler replica. Each fire instant gets one timer; when it fires, every job due at that
 * instant is claimed in one Redis round trip and the won fires start immediately. Next fire times are
 * computed after the won runs have started, so the cost of cron arithmetic never delays a start.
 */
export class Scheduler {
  readonly coordinator: Coordinator;
  private readonly runner: Runner;
  private readonly states: JobTimerState[] = [];
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly log: NonNullable<SchedulerOptions["log"]>;

  constructor(private readonly options: SchedulerOptions) {
    this.log = options.log ?? ((message, fields) => console.log(JSON.stringify({ time: new Date().toISOString(), replica: options.replicaId, message, ...fields })));
    this.coordinator = new Coordinator(options.redis, {
      prefix: options.keyPrefix ?? "classroom:scheduler",
      replicaId: options.replicaId,
      leaseMs: options.leaseMs ?? 3000,
      claimTtlMs: options.claimTtlMs ?? 60_000,
      historyLimit: options.historyLimit ?? 100,
    });
    this.runner = new Runner({
      coordinator: this.coordinator,
      router: options.router ?? new Router(),
      handlers: options.handlers ?? {},
      replicaId: options.replicaId,
      leaseMs: this.coordinator.options.leaseMs,
      log: this.log,
    });
  }

  /** Runs currently executing on this replica. */
  get runningCount(): number {
    return this.runner.running;
  }

  async start(): Promise<void> {
    const enabled = this.options.jobs.filter((job) => job.enabled);
    const marks = await this.coordinator.highWaterMarks(enabled.map((job) => job.name));
    const now = Date.now();
    for (const job of enabled) {
      const schedule = scheduleOf(job.schedule);
      // Resume where the cluster left off, so fires missed while no replica ran meet the misfire strategy.
      const cursor = marks.get(job.name) ?? now;
      this.states.push({ job, schedule, cursor, next: schedule.nextAfter(cursor) });
    }
    const keys = this.coordinator.keys;
    this.options.subscriber.on("message", (channel: string, message: string) => {
      if (channel !== keys.cancel) return;
      const [job, token] = message.split("|");
      this.runner.cancel(job, Number(token), coveredReason);
    });
    await this.options.subscriber.subscribe(keys.cancel);
    this.stopped = false;
    await this.announce();
    this.heartbeat = setInterval(() => void this.announce(), 2000);
    this.arm();
    this.log("scheduler started", { jobs: enabled.map((j) => j.name), disabled: this.options.jobs.length - enabled.length });
  }

  /** Stops claiming, lets runs finish for up to `graceMs`, and leaves the cluster. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    await this.runner.drain(graceMs);
    await this.options.redis.zrem(this.coordinator.keys.replicas, this.options.replicaId).catch(() => undefined);
    await this.options.subscriber.quit().catch(() => undefined);
    this.log("scheduler stopped");
  }

  private async announce(): Promise<void> {
    await this.options.redis.zadd(this.coordinator.keys.replicas, Date.now(), this.options.replicaId).catch(() => undefined);
  }

  private arm(): void {
    if (this.stopped) return;
    let earliest = Infinity;
    for (const state of this.states) if (state.next !== undefined && state.next < earliest) earliest = state.next;
    if (earliest === Infinity) return;
    const delay = Math.min(maxTimerMs, Math.max(0, earliest - Date.now()));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delay);
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    const due = this.states.filter((s) => s.next !== undefined && s.next <= now);
    // Node timers may wake a millisecond before the wall-clock instant; never start a fire early.
    if (due.length === 0) return this.arm();
    const requests: FireRequest[] = [];
    const handled = new Map<JobTimerState, number>();
    for (const state of due) {
      const { job } = state;
      const fire = state.next as number;
      const base = { job: job.name, block: job.block, misfire: job.misfire, misfireThresholdMs: job.misfireThresholdMs };
      if (now - fire <= job.misfireThresholdMs) {
        requests.push({ ...base, fireMs: fire, late: [], lateBeyondCap: 0 });
        handled.set(state, fire);
        continue;
      }
      // Late (outage, stall or a fresh start after downtime): walk every fire since the cursor once.
      const fires = dueFires(state.schedule, state.cursor, now, job.misfireThresholdMs);
      if (fires.late.length > 0) {
        const last = fires.late[fires.late.length - 1];
        requests.push({ ...base, fireMs: last, late: fires.late, lateBeyondCap: fires.lateBeyondCap });
      }
      for (const onTime of fires.onTime) requests.push({ ...base, fireMs: onTime, late: [], lateBeyondCap: 0 });
      handled.set(state, Math.max(fires.late.at(-1) ?? fire, fires.onTime.at(-1) ?? fire));
    }
    const jobsByName = new Map(due.map((s) => [s.job.name, s.job]));
    try {
      const admissions = await this.coordinator.admit(requests, now);
      for (const admission of admissions) {
        if (admission.status !== "run") continue;
        this.runner.start(jobsByName.get(admission.job) as Job, admission.runFireMs, admission.token, now);
      }
    } catch (err) {
      // Redis unreachable: no replica can claim these fires either; they are missed, not run twice.
      this.log("could not claim fires", { error: (err as Error).message, jobs: requests.map((r) => `${r.job}@${r.fireMs}`).slice(0, 20) });
    }
    for (const [state, last] of handled) {
      state.cursor = last;
      state.next = state.schedule.nextAfter(last);
    }
    this.arm();
  }
}
