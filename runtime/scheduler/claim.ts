import type { Redis } from "ioredis";
import type { BlockStrategy, MisfireStrategy } from "./job-schema";
import { schedulerKeys, SchedulerKeys } from "./keys";
import { admitScript, claimAheadScript, decideScript, drainScript, finishScript, renewScript, sweepScript } from "./lua";

/**
 * Claims and fencing. Every replica computes the same fire instants and races to claim each one with
 * `SET <prefix>:fire:<job>:<fireMs> <replica> NX PX <claimTtl>`; the winner's admission mints a fencing
 * token (INCR) that the run carries to the end: renewals, handler context, HTTP headers and the
 * final record all go through the token, and Redis rejects any but the newest one.
 */

/** One fire a replica wants to start. */
export interface FireRequest {
  job: string;
  fireMs: number;
  block: BlockStrategy;
  misfire: MisfireStrategy;
  misfireThresholdMs: number;
  /** Fires that came due too long ago, oldest first, ending with `fireMs`; empty for an on-time fire. */
  late: number[];
  /** Late fires beyond those listed (after a very long outage). */
  lateBeyondCap: number;
}

export type AdmitStatus = "lost" | "stale" | "run" | "queued" | "discarded" | "misfired";
export type ClaimAheadStatus = "lost" | "stale" | "granted" | "claimed";

export interface ClaimAhead {
  job: string;
  fireMs: number;
  /** granted: the run is ours, start it at the instant; claimed: call decide() at the instant. */
  status: ClaimAheadStatus;
  token: number;
}

export interface Admission {
  job: string;
  /** The fire that was claimed. */
  claimedMs: number;
  status: AdmitStatus;
  /** For "run": the fire to run now (older than `claimedMs` when a dead holder's queue is drained). */
  runFireMs: number;
  /** For "run": the fencing token of the run; for "queued": ms until the holder's lease expires. */
  token: number;
}

/** What the run hands back when it ends; stored as one history entry. */
export interface RunRecord {
  fire: number;
  token: number;
  replica: string;
  outcome: "succeeded" | "failed" | "timed-out" | "cancelled";
  attempts: number;
  startedAt: number;
  finishedAt: number;
  error?: string;
  endpoint?: string;
}

export type FinishResult =
  /** covered / lost: the outcome was recorded for this run already (cover-earlier, lapsed lease); recorded: a retry of a record that took effect. */
  | { status: "idle" | "covered" | "lost" | "recorded" }
  | { status: "run"; fireMs: number; token: number }
  /** The next queued fire goes to the replica that claimed it, told through its handover channel. */
  | { status: "handed"; fireMs: number; to: string };

export interface CoordinatorOptions {
  /** Key prefix shared by all replicas of one deployment. */
  prefix: string;
  /** This replica's id, stored with claims and runs. */
  replicaId: string;
  /** Run lock lease; the running replica renews it every third of it. */
  leaseMs: number;
  /** How long fire claim keys live; correctness does not depend on it (see `hwm` in lua.ts). */
  claimTtlMs: number;
  /** History entries kept per job. */
  historyLimit: number;
  /**
   * How long after sending a call this replica still acts on its answer. Redis refuses a script that
   * arrives later (see lua.ts), and a little before, so that an answer still has time to come back.
   * Default: the connection's `commandTimeout`, else 3000.
   */
  giveUpAfterMs?: number;
}

/** Share of the give-up time kept for the answer's way back (at most 500 ms). */
const answerMarginMs = (giveUpAfterMs: number) => Math.min(500, Math.floor(giveUpAfterMs / 4));

/** "Every fire of my home jobs up to `upTo` is claimed", as seen under ring `digest`. */
export interface HomeMark {
  upTo: number;
  digest: string;
}

type Reply = [string, string, number];

export class Coordinator {
  readonly keys: SchedulerKeys;

  constructor(
    private readonly redis: Redis,
    readonly options: CoordinatorOptions,
  ) {
    this.keys = schedulerKeys(options.prefix);
    redis.defineCommand("schedulerAdmit", { numberOfKeys: 0, lua: admitScript });
    redis.defineCommand("schedulerClaimAhead", { numberOfKeys: 0, lua: claimAheadScript });
    redis.defineCommand("schedulerDecide", { numberOfKeys: 0, lua: decideScript });
    redis.defineCommand("schedulerDrain", { numberOfKeys: 0, lua: drainScript });
    redis.defineCommand("schedulerFinish", { numberOfKeys: 0, lua: finishScript });
    redis.defineCommand("schedulerRenew", { numberOfKeys: 0, lua: renewScript });
    redis.defineCommand("schedulerSweep", { numberOfKeys: 0, lua: sweepScript });
  }

  /** Redis time after which a call sent now must change nothing: this replica will have given up on it. */
  private deadline(): number {
    const giveUp = this.options.giveUpAfterMs ?? this.redis.options.commandTimeout ?? 3000;
    return Date.now() + giveUp - answerMarginMs(giveUp);
  }

  /**
   * Claims upcoming fires before their instant; idle jobs get their run granted at once. A home
   * replica passes `mark` (see HomeMark) so that backups can leave these fires alone.
   */
  async claimAhead(fires: { job: string; fireMs: number }[], nowMs: number, mark?: HomeMark): Promise<ClaimAhead[]> {
    if (fires.length === 0) return [];
    const o = this.options;
    const args: (string | number)[] = [
      o.prefix,
      this.deadline(),
      o.replicaId,
      nowMs,
      o.leaseMs,
      o.claimTtlMs,
      o.historyLimit,
      mark?.upTo ?? 0,
      mark?.digest ?? "",
      fires.length,
    ];
    for (const f of fires) args.push(f.job, f.fireMs);
    const replies = (await (this.redis as any).schedulerClaimAhead(...args)) as Reply[];
    return replies.map(([status, , token], i) => ({ job: fires[i].job, fireMs: fires[i].fireMs, status: status as ClaimAheadStatus, token: Number(token) }));
  }

  /** Applies the block strategy, at their instant, to fires claimed ahead as "claimed". */
  async decide(fires: FireRequest[], nowMs: number): Promise<Admission[]> {
    if (fires.length === 0) return [];
    const o = this.options;
    const args: (string | number)[] = [o.prefix, this.deadline(), o.replicaId, nowMs, o.leaseMs, o.historyLimit, fires.length];
    for (const f of fires) args.push(f.job, f.fireMs, f.block, f.misfire, f.misfireThresholdMs);
    const replies = (await (this.redis as any).schedulerDecide(...args)) as Reply[];
    return replies.map(([status, fire, token], i) => ({
      job: fires[i].job,
      claimedMs: fires[i].fireMs,
      status: status as AdmitStatus,
      runFireMs: Number(fire),
      token: Number(token),
    }));
  }

  /** Claims and decides fires whose instant has passed (late path), applying the misfire strategy. */
  async admit(fires: FireRequest[], nowMs: number): Promise<Admission[]> {
    if (fires.length === 0) return [];
    const o = this.options;
    const args: (string | number)[] = [o.prefix, this.deadline(), o.replicaId, nowMs, o.leaseMs, o.claimTtlMs, o.historyLimit, fires.length];
    for (const f of fires) {
      args.push(f.job, f.fireMs, f.block, f.misfire, f.misfireThresholdMs, f.late.join(","), f.lateBeyondCap);
    }
    const replies = (await (this.redis as any).schedulerAdmit(...args)) as Reply[];
    return replies.map(([status, fire, token], i) => ({
      job: fires[i].job,
      claimedMs: fires[i].fireMs,
      status: status as AdmitStatus,
      runFireMs: Number(fire),
      token: Number(token),
    }));
  }

  /**
   * Records the outcome and, if fires are queued behind this run, grants the next one to this replica
   * when it claimed it, else hands it to its claimant.
   */
  async finish(job: string, record: RunRecord, misfire: MisfireStrategy, misfireThresholdMs: number, takeNext = true): Promise<FinishResult> {
    const o = this.options;
    const [status, fire, token] = (await (this.redis as any).schedulerFinish(
      o.prefix,
      this.deadline(),
      job,
      String(record.token),
      o.replicaId,
      Date.now(),
      o.leaseMs,
      o.historyLimit,
      misfire,
      misfireThresholdMs,
      JSON.stringify(record),
      takeNext ? "1" : "0",
    )) as Reply;
    if (status === "run") return { status, fireMs: Number(fire), token: Number(token) };
    if (status === "handed") {
      const [fireMs, to] = String(fire).split("|");
      return { status, fireMs: Number(fireMs), to };
    }
    return { status: status as "idle" | "covered" | "lost" | "recorded" };
  }

  /** Takes over a job whose run lock expired with fires queued behind it. */
  async drain(
    job: string,
    misfire: MisfireStrategy,
    misfireThresholdMs: number,
  ): Promise<{ status: "busy"; pttl: number } | { status: "idle" } | { status: "run"; fireMs: number; token: number }> {
    const o = this.options;
    const [status, fire, value] = (await (this.redis as any).schedulerDrain(
      o.prefix,
      this.deadline(),
      o.replicaId,
      Date.now(),
      o.leaseMs,
      o.historyLimit,
      job,
      misfire,
      misfireThresholdMs,
    )) as Reply;
    if (status === "busy") return { status, pttl: Number(value) };
    if (status === "run") return { status, fireMs: Number(fire), token: Number(value) };
    return { status: "idle" };
  }

  /** Extends the run lock while the run is the job's open run; otherwise says why the run lost the job. */
  async renew(job: string, token: number, fireMs: number, grantedAt: number): Promise<"owner" | "covered" | "fenced"> {
    const o = this.options;
    const value = `${token}|${fireMs}|${o.replicaId}|${grantedAt}`;
    const reply = await (this.redis as any).schedulerRenew(o.prefix, this.deadline(), job, String(token), value, o.leaseMs, Date.now());
    return reply === 1 ? "owner" : reply === 2 ? "covered" : "fenced";
  }

  /** True while the run holding `token` is the job's open run: what a handler checks before a side effect. */
  async isCurrent(job: string, token: number): Promise<boolean> {
    const open = await this.redis.hget(this.keys.state(job), "open");
    return open?.split("|")[0] === String(token);
  }

  /** The recovery pass (sweepScript): records "lost" for runs whose lock lapsed; returns how many. */
  async sweep(nowMs = Date.now(), limit = 200): Promise<number> {
    const o = this.options;
    return Number(await (this.redis as any).schedulerSweep(o.prefix, this.deadline(), o.replicaId, nowMs, o.historyLimit, limit));
  }

  /** What each of `replicas` last marked as claimed (see HomeMark); absent when it marked nothing lately. */
  async homeMarks(replicas: string[]): Promise<Map<string, HomeMark>> {
    const marks = new Map<string, HomeMark>();
    if (replicas.length === 0) return marks;
    const values = await this.redis.mget(...replicas.map((r) => this.keys.claimed(r)));
    values.forEach((value, i) => {
      if (!value) return;
      const [upTo, digest] = value.split("|");
      marks.set(replicas[i], { upTo: Number(upTo), digest });
    });
    return marks;
  }

  /** The newest fire ever admitted per job, to resume each schedule where the cluster left it. */
  async highWaterMarks(jobs: string[]): Promise<Map<string, number>> {
    const marks = new Map<string, number>();
    if (jobs.length === 0) return marks;
    const pipeline = this.redis.pipeline();
    for (const job of jobs) pipeline.hget(this.keys.state(job), "hwm");
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([err, value], i) => {
      if (!err && value !== null && value !== undefined) marks.set(jobs[i], Number(value));
    });
    return marks;
  }
}
