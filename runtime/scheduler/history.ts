import type { Redis } from "ioredis";
import { schedulerKeys } from "./keys";

/**
 * Run history and outcome counters. They are written inside the Lua scripts (lua.ts), in the same
 * atomic step that decides the outcome, so history never disagrees with what happened; this file reads.
 * History is a capped list per job (LPUSH + LTRIM, newest first); counters are never trimmed.
 */

export const outcomes = ["succeeded", "failed", "timed-out", "cancelled", "covered", "discarded", "misfired", "lost"] as const;
export type Outcome = (typeof outcomes)[number];

export interface HistoryEntry {
  /** Scheduled instant of the fire (for "misfired": the newest fire of the group). */
  fire: number;
  outcome: Outcome;
  /** Fires this entry stands for (misfired groups); 1 when absent. */
  count?: number;
  /** Fencing token of the run. */
  token?: number;
  replica: string;
  /** Attempts made (1 + retries used). */
  attempts?: number;
  startedAt?: number;
  finishedAt?: number;
  /** When the entry was written, for entries not written by the run itself (discarded, misfired, covered, lost). */
  at?: number;
  error?: string;
  /** HTTP endpoint that answered. */
  endpoint?: string;
  /**
   * Why the fire did not run or has no result (discarded, misfired, covered, lost). "lost": the run's
   * lock lapsed without an outcome (its replica crashed, stalled or lost Redis for a lease); it may or
   * may not have taken effect, and a record its replica sends later is refused.
   */
  reason?: string;
}

export type Counters = Partial<Record<Outcome, number>>;

export class RunHistory {
  private readonly keys;
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = schedulerKeys(prefix);
  }

  /** Newest first, at most `limit` entries. */
  async recent(job: string, limit = 20): Promise<HistoryEntry[]> {
    const raw = await this.redis.lrange(this.keys.history(job), 0, limit - 1);
    return raw.map((line) => JSON.parse(line) as HistoryEntry);
  }

  async counters(job: string): Promise<Counters> {
    const raw = await this.redis.hgetall(this.keys.counters(job));
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)])) as Counters;
  }

  /** Removes history, counters and scheduling state of a job (after it is deleted from the stack). */
  async forget(job: string): Promise<void> {
    const k = this.keys;
    await this.redis.del(k.history(job), k.counters(job), k.state(job), k.fence(job), k.run(job), k.pending(job), k.covered(job), k.lost(job));
    await this.redis.zrem(k.open, job);
  }
}
