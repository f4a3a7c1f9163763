import type { Redis } from "ioredis";
import { createLogger, Logger } from "../log";
import { Admission, ClaimAhead, Coordinator, FireRequest } from "./claim";
import type { JobHandler } from "./handlers";
import type { Job } from "./job-schema";
import type { SchedulerMetrics } from "./metrics";
import { ReplicaRing } from "./ring";
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
  /** How long before its instant a fire is claimed; below a third of the lease. Default 300. */
  lookaheadMs?: number;
  /** Lifetime of fire claim keys. Default 60000. */
  claimTtlMs?: number;
  /** History entries kept per job. Default 100. */
  historyLimit?: number;
  /** Prometheus metrics of this replica (fires, misses, duplicates refused, fire lag). Default: none. */
  metrics?: SchedulerMetrics;
  /** Structured log sink. Default: the runtime's logger (schedulerLog), on stdout and the pod's log file. */
  log?(message: string, fields?: Record<string, unknown>): void;
}

interface JobTimerState {
  job: Job;
  schedule: Schedule;
  /** Last fire this replica has dealt with (claimed, lost or skipped). */
  cursor: number;
  /** Next fire to claim, or undefined if the schedule has ended. */
  next: number | undefined;
}

/** What to do at one fire instant with fires this replica claimed ahead. */
interface InstantWork {
  start: { job: Job; fireMs: number; token: number; grantedAt: number }[];
  decide: FireRequest[];
}

/** Longest single timer: wall-clock corrections (NTP steps) are picked up at least this often. */
const maxTimerMs = 30_000;

/**
 * One scheduler replica. Each upcoming fire is claimed `lookaheadMs` before its instant (first by the
 * replica the job hashes to, then, half a lookahead later, by every other replica as a backup); a
 * claim that finds the job idle is granted on the spot, so at the instant a local timer starts the
 * run with no Redis round trip in between. Busy jobs get their block decision at the instant.
 */
export class Scheduler {
  readonly coordinator: Coordinator;
  private readonly runner: Runner;
  private readonly ring: ReplicaRing;
  private readonly states: JobTimerState[] = [];
  /** The same jobs by name: claims answer by name, a thousand at a time. */
  private readonly jobsByName = new Map<string, Job>();
  private readonly instants = new Map<number, InstantWork>();
  /** Jobs this replica watches because it queued a fire behind a run (see Coordinator.drain). */
  private readonly drainWatches = new Map<string, NodeJS.Timeout>();
  private readonly lookaheadMs: number;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = true;
  /** Set at stop(): no new claims, but fires already claimed still start at their instants. */
  private draining = false;
  /** Claim batches sent and not yet answered; stop() waits for them so their fires are not dropped. */
  private claimsInFlight = 0;
  /** A batch of home claims failed since the last mark: the next mark would cover fires nobody claimed. */
  private homeClaimFailed = false;
  private readonly log: NonNullable<SchedulerOptions["log"]>;

  constructor(private readonly options: SchedulerOptions) {
    this.log = options.log ?? schedulerLog(options.replicaId);
    const leaseMs = options.leaseMs ?? 3000;
    this.lookaheadMs = options.lookaheadMs ?? 300;
    if (this.lookaheadMs * 3 > leaseMs) throw new Error(`lookaheadMs (${this.lookaheadMs}) must be at most a third of leaseMs (${leaseMs})`);
    this.coordinator = new Coordinator(options.redis, {
      prefix: options.keyPrefix ?? "classroom:scheduler",
      replicaId: options.replicaId,
      leaseMs,
      claimTtlMs: options.claimTtlMs ?? 60_000,
      historyLimit: options.historyLimit ?? 100,
    });
    this.runner = new Runner({
      coordinator: this.coordinator,
      router: options.router ?? new Router(),
      handlers: options.handlers ?? {},
      replicaId: options.replicaId,
      leaseMs,
      log: this.log,
      metrics: options.metrics,
      // The claimant may have died: if nobody took the fire within a lease, this replica will.
      onHandedOver: (job) => this.watchQueue(job, leaseMs),
    });
    this.ring = new ReplicaRing(options.replicaId);
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
      this.jobsByName.set(job.name, job);
    }
    const keys = this.coordinator.keys;
    const handover = keys.handover(this.options.replicaId);
    this.options.subscriber.on("message", (channel: string, message: string) => {
      if (channel === handover) {
        const job = this.jobsByName.get(message);
        if (job) this.watchQueue(job, 0, true);
        return;
      }
      if (channel !== keys.cancel) return;
      const [job, token] = message.split("|");
      this.runner.cancel(job, Number(token), coveredReason);
    });
    await this.options.subscriber.subscribe(keys.cancel, handover);
    this.stopped = false;
    await this.announce();
    this.heartbeat = setInterval(() => void this.announce(), 2000);
    this.arm();
    this.log("scheduler started", { jobs: enabled.map((j) => j.name), disabled: this.options.jobs.length - enabled.length, lookaheadMs: this.lookaheadMs });
  }

  /**
   * Stops claiming, starts the fires it already claimed (at most a lookahead away: a rolling update
   * must not lose them), lets runs finish for up to `graceMs`, and leaves the cluster.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.stopped || this.draining) return;
    this.draining = true;
    this.arm();
    const deadline = Date.now() + this.lookaheadMs + 2000;
    while ((this.instants.size > 0 || this.claimsInFlight > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    for (const watch of this.drainWatches.values()) clearTimeout(watch);
    await this.runner.drain(graceMs);
    await this.options.redis.zrem(this.coordinator.keys.replicas, this.options.replicaId).catch(() => undefined);
    await this.options.subscriber.quit().catch(() => undefined);
    this.log("scheduler stopped");
  }

  /**
   * Heartbeat in the replica registry, refresh of who else is alive (for claim order), and the
   * recovery pass that records runs whose replica died as lost.
   */
  private async announce(): Promise<void> {
    const key = this.coordinator.keys.replicas;
    const now = Date.now();
    try {
      await this.options.redis.zadd(key, now, this.options.replicaId);
      this.ring.update(await this.options.redis.zrangebyscore(key, now - 5000, "+inf"));
      const lost = await this.coordinator.sweep(now);
      if (lost > 0) this.log("recorded runs lost by their replica", { count: lost });
    } catch {
      // Redis down: claims fail anyway; the ring keeps its last members.
    }
  }

  /** When this replica claims a job's next fire: at the lookahead if the job hashes here, else as backup. */
  private claimAt(state: JobTimerState): number {
    const home = this.ring.isHome(state.job.name);
    return (state.next as number) - this.lookaheadMs + (home ? 0 : Math.floor(this.lookaheadMs / 2));
  }

  private arm(): void {
    if (this.stopped) return;
    let earliest = Infinity;
    if (!this.draining) for (const state of this.states) if (state.next !== undefined) earliest = Math.min(earliest, this.claimAt(state));
    for (const instant of this.instants.keys()) earliest = Math.min(earliest, instant);
    if (earliest === Infinity) return;
    const delay = Math.min(maxTimerMs, Math.max(0, earliest - Date.now()));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    if (this.stopped) return;
    const now = Date.now();
    // Starts first: they are what the jitter is measured on. Node may wake a millisecond early; then
    // the instant is simply not due yet and arm() sleeps the rest.
    const decide: FireRequest[] = [];
    for (const [instant, work] of this.instants) {
      if (instant > now) continue;
      this.instants.delete(instant);
      for (const run of work.start) this.runner.start(run.job, run.fireMs, run.token, run.grantedAt);
      decide.push(...work.decide);
    }
    if (decide.length)
      void this.coordinator.decide(decide, now).then(
        (a) => this.startAdmitted(a, now),
        (err) => this.claimFailed(err, decide),
      );

    const ahead: { job: string; fireMs: number }[] = [];
    const backup: { job: string; fireMs: number; home: string }[] = [];
    const late: FireRequest[] = [];
    const handled = new Map<JobTimerState, number>();
    for (const state of this.states) {
      if (this.draining || state.next === undefined || this.claimAt(state) > now) continue;
      const { job } = state;
      const fire = state.next;
      if (now - fire <= job.misfireThresholdMs) {
        const home = this.ring.homeOf(job.name);
        if (home === this.options.replicaId) ahead.push({ job: job.name, fireMs: fire });
        else backup.push({ job: job.name, fireMs: fire, home });
        handled.set(state, fire);
        continue;
      }
      // Late (outage, stall or a fresh start after downtime): walk every fire since the cursor once.
      const base = { job: job.name, block: job.block, misfire: job.misfire, misfireThresholdMs: job.misfireThresholdMs };
      const fires = dueFires(state.schedule, state.cursor, now, job.misfireThresholdMs);
      if (fires.late.length > 0) late.push({ ...base, fireMs: fires.late.at(-1)!, late: fires.late, lateBeyondCap: fires.lateBeyondCap });
      for (const onTime of fires.onTime) late.push({ ...base, fireMs: onTime, late: [], lateBeyondCap: 0 });
      handled.set(state, Math.max(fires.late.at(-1) ?? fire, fires.onTime.at(-1) ?? fire));
    }
    if (ahead.length) {
      // Every home fire up to now + lookahead is in this batch or an earlier one (late fires go to
      // admit), unless an earlier batch failed: its fires may be unclaimed, so no mark this time.
      const mark = late.length === 0 && !this.homeClaimFailed ? { upTo: now + this.lookaheadMs, digest: this.ring.digest } : undefined;
      this.homeClaimFailed = false;
      this.claimsInFlight++;
      void this.coordinator
        .claimAhead(ahead, now, mark)
        .then(
          (c) => this.scheduleClaimed(c, now),
          (err) => {
            this.homeClaimFailed = true;
            this.claimFailed(err, ahead);
          },
        )
        .finally(() => this.claimsInFlight--);
    }
    if (backup.length) {
      this.claimsInFlight++;
      void this.claimAsBackup(backup, now).finally(() => this.claimsInFlight--);
    }
    if (late.length)
      void this.coordinator.admit(late, now).then(
        (a) => this.startAdmitted(a, now),
        (err) => this.claimFailed(err, late),
      );
    // Cron arithmetic happens after the claims are on their way and well before the next instant.
    for (const [state, last] of handled) {
      state.cursor = last;
      state.next = state.schedule.nextAfter(last);
    }
    this.arm();
  }

  /**
   * Claims the fires whose home replica has not marked them claimed (it is dead, stopping, or too
   * busy to claim in time), so that Redis does per-fire work once per fire, not once per replica.
   */
  private async claimAsBackup(fires: { job: string; fireMs: number; home: string }[], now: number): Promise<void> {
    let orphans = fires;
    try {
      const marks = await this.coordinator.homeMarks([...new Set(fires.map((f) => f.home))]);
      const digest = this.ring.digest;
      orphans = fires.filter((f) => {
        const mark = marks.get(f.home);
        return !mark || mark.digest !== digest || mark.upTo < f.fireMs;
      });
    } catch {
      // Cannot tell what the homes claimed: try every fire, as a replica without marks would.
    }
    if (orphans.length === 0) return;
    const claims = orphans.map(({ job, fireMs }) => ({ job, fireMs }));
    try {
      this.scheduleClaimed(await this.coordinator.claimAhead(claims, now), now);
    } catch (err) {
      this.claimFailed(err, claims);
    }
  }

  private jobNamed(name: string): Job {
    return this.jobsByName.get(name)!;
  }

  /** Files claimed-ahead fires under their instant; past instants (slow Redis) are handled at once. */
  private scheduleClaimed(claims: ClaimAhead[], grantedAt: number): void {
    if (this.stopped) return;
    const answeredAt = Date.now();
    const overdue = claims.filter((c) => c.fireMs < answeredAt).length;
    if (overdue > 0) {
      // Redis (or this process) was slower than the lookahead: these start late. Worth knowing.
      this.log("claims answered after their fire instant", {
        count: overdue,
        lateByMs: answeredAt - Math.min(...claims.map((c) => c.fireMs)),
        roundTripMs: answeredAt - grantedAt,
        lookaheadMs: this.lookaheadMs,
      });
    }
    for (const claim of claims) {
      if (claim.status === "lost") this.options.metrics?.duplicateRefused(claim.job);
      if (claim.status !== "granted" && claim.status !== "claimed") continue;
      const job = this.jobNamed(claim.job);
      let work = this.instants.get(claim.fireMs);
      if (!work) this.instants.set(claim.fireMs, (work = { start: [], decide: [] }));
      if (claim.status === "granted") work.start.push({ job, fireMs: claim.fireMs, token: claim.token, grantedAt });
      else
        work.decide.push({
          job: job.name,
          fireMs: claim.fireMs,
          block: job.block,
          misfire: job.misfire,
          misfireThresholdMs: job.misfireThresholdMs,
          late: [],
          lateBeyondCap: 0,
        });
    }
    this.arm();
  }

  private startAdmitted(admissions: Admission[], grantedAt: number): void {
    for (const admission of admissions) {
      if (admission.status === "lost") this.options.metrics?.duplicateRefused(admission.job);
      if (admission.status === "misfired" || admission.status === "discarded") this.options.metrics?.missed(admission.job, admission.status);
      if (admission.status === "run") this.runner.start(this.jobNamed(admission.job), admission.runFireMs, admission.token, grantedAt);
      // PTTL was measured somewhere during the round trip: counting from the send errs early, and an
      // early check just sees "busy" and waits the rest.
      if (admission.status === "queued") this.watchQueue(this.jobNamed(admission.job), admission.token - (Date.now() - grantedAt));
    }
  }

  /**
   * A fire of ours waits behind a run. Its holder hands it over when the run ends (`now`: a message on
   * our handover channel); if that run's replica dies, nobody would start the queue until the next
   * fire, so check again right when its lease expires.
   */
  private watchQueue(job: Job, pttlMs: number, now = false): void {
    if (this.stopped) return;
    if (this.drainWatches.has(job.name)) {
      if (!now) return;
      clearTimeout(this.drainWatches.get(job.name));
      this.drainWatches.delete(job.name);
    }
    const delay = now ? 0 : Math.max(pttlMs, 0) + 2;
    this.drainWatches.set(
      job.name,
      setTimeout(async () => {
        this.drainWatches.delete(job.name);
        if (this.stopped) return;
        const sentAt = Date.now();
        try {
          const result = await this.coordinator.drain(job.name, job.misfire, job.misfireThresholdMs);
          if (result.status === "busy") this.watchQueue(job, result.pttl - (Date.now() - sentAt));
          if (result.status === "run") this.runner.start(job, result.fireMs, result.token, Date.now());
        } catch (err) {
          this.log("could not check a queued job", { job: job.name, error: (err as Error).message });
          this.watchQueue(job, this.coordinator.options.leaseMs);
        }
      }, delay),
    );
  }

  private claimFailed(err: unknown, fires: { job: string; fireMs: number }[]): void {
    // Redis unreachable: no replica can claim these fires either; they are missed, not run twice.
    for (const fire of fires) this.options.metrics?.missed(fire.job, "claim-failed");
    this.log("could not claim fires", { error: (err as Error).message, fires: fires.slice(0, 20).map((f) => `${f.job}@${f.fireMs}`), count: fires.length });
  }
}

/**
 * The scheduler's log sink on the runtime's structured logger: each message is the line's `event`, the
 * replica id is on every line, and the level follows from what happened, because the scheduler's call
 * sites (and handler modules, which receive this sink) name events, not levels: errors, failures and what could not be done are
 * what an operator must see, losses, misfires and refusals are warnings, the rest is info.
 */
export function schedulerLog(
  replicaId: string,
  logger: Logger = createLogger({ component: "scheduler" }),
): (event: string, fields?: Record<string, unknown>) => void {
  const replica = logger.child({ replica: replicaId });
  return (event, fields = {}) => {
    const level = /error|fail|could not|cannot/.test(event) ? "error" : /lost|misfire|late|refused|stuck/.test(event) ? "warn" : "info";
    replica[level](event, fields);
  };
}
