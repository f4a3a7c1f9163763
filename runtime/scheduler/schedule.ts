import { Cron } from "croner";

/**
 * Next-fire computation. Fire times are plain epoch milliseconds that every replica computes the same
 * way from the job's declaration, so (job, fire time) identifies one fire across the whole cluster.
 */
export interface Schedule {
  /** The first fire strictly after `afterMs`, or undefined if the schedule never fires again. */
  nextAfter(afterMs: number): number | undefined;
  /** Human-readable form for status output. */
  readonly text: string;
}

export type ScheduleDecl = { cron: string; timezone: string } | { everyMs: number };

/** Why a cron expression is unusable, phrased for config errors; undefined when it is fine. */
export function cronProblem(expression: string, timezone = "UTC"): { field: "cron" | "timezone"; message: string } | undefined {
  if (!isTimeZone(timezone)) {
    return { field: "timezone", message: `unknown time zone '${timezone}': use an IANA name such as 'UTC' or 'Asia/Shanghai'` };
  }
  const fields = expression.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 6) {
    return {
      field: "cron",
      message: `invalid cron expression '${expression}': expected 6 fields (second minute hour day-of-month month day-of-week), got ${fields.length}`,
    };
  }
  let cron: Cron;
  try {
    cron = new Cron(expression, { mode: "6-part", paused: true, timezone });
  } catch (err) {
    return { field: "cron", message: `invalid cron expression '${expression}': ${reason(err)}` };
  }
  if (cron.nextRun() === null) {
    return { field: "cron", message: `invalid cron expression '${expression}': it never fires (no date matches)` };
  }
  return undefined;
}

function reason(err: unknown): string {
  return String((err as Error)?.message ?? err).replace(/^Cron\w*:\s*/, "");
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Croner's nextRun costs tens of microseconds; 500 jobs sharing one pattern would cost a busy tick
 * right when fires start. Jobs with the same pattern and zone share one Cron and the last answer.
 */
class CronSchedule implements Schedule {
  private static readonly shared = new Map<string, CronSchedule>();
  private lastAfter = Number.NaN;
  private lastNext: number | undefined;

  private constructor(
    private readonly cron: Cron,
    readonly text: string,
  ) {}

  static of(expression: string, timezone: string): CronSchedule {
    const key = `${expression}|${timezone}`;
    let schedule = CronSchedule.shared.get(key);
    if (!schedule) {
      schedule = new CronSchedule(new Cron(expression, { mode: "6-part", paused: true, timezone }), `cron '${expression}' (${timezone})`);
      CronSchedule.shared.set(key, schedule);
    }
    return schedule;
  }

  nextAfter(afterMs: number): number | undefined {
    if (afterMs === this.lastAfter) return this.lastNext;
    // Croner works in whole seconds and treats its argument as "already run"; that is what we want.
    const next = this.cron.nextRun(new Date(afterMs));
    this.lastAfter = afterMs;
    this.lastNext = next ? next.getTime() : undefined;
    return this.lastNext;
  }
}

/** Fixed rate aligned to the epoch: fires at k * everyMs. */
class RateSchedule implements Schedule {
  readonly text: string;
  constructor(private readonly everyMs: number) {
    this.text = `every ${everyMs} ms`;
  }
  nextAfter(afterMs: number): number {
    return (Math.floor(afterMs / this.everyMs) + 1) * this.everyMs;
  }
}

export function scheduleOf(decl: ScheduleDecl): Schedule {
  return "cron" in decl ? CronSchedule.of(decl.cron, decl.timezone) : new RateSchedule(decl.everyMs);
}

/** Fires that came due in (afterMs, nowMs], split by whether they can still start on time. */
export interface DueFires {
  /** Fires at most `thresholdMs` old: claimed and run normally, oldest first. */
  onTime: number[];
  /** Fires older than the threshold (the scheduler was down, paused or starved), oldest first, at most `cap` of the newest. */
  late: number[];
  /** How many late fires exist beyond those listed in `late`. */
  lateBeyondCap: number;
}

/**
 * Walks the schedule from `afterMs` to `nowMs`. After a long outage a dense schedule can have
 * millions of fires in between; past `cap` we only keep counting, and past `scanLimit` we estimate.
 */
export function dueFires(schedule: Schedule, afterMs: number, nowMs: number, thresholdMs: number, cap = 1000, scanLimit = 20_000): DueFires {
  const onTime: number[] = [];
  const late: number[] = [];
  let lateBeyondCap = 0;
  let cursor = afterMs;
  for (let scanned = 0; ; scanned++) {
    const next = schedule.nextAfter(cursor);
    if (next === undefined || next > nowMs) break;
    if (scanned === scanLimit) {
      // Jump ahead: count the skipped span by its rate so far and rescan the last threshold-plus-a-bit.
      const resumeAt = Math.max(next, nowMs - thresholdMs - 60_000);
      const perMs = scanned / Math.max(1, next - afterMs);
      lateBeyondCap += Math.round((resumeAt - next) * perMs);
      cursor = resumeAt - 1;
      continue;
    }
    if (nowMs - next > thresholdMs) {
      late.push(next);
      if (late.length > cap) {
        late.shift();
        lateBeyondCap++;
      }
    } else {
      onTime.push(next);
    }
    cursor = next;
  }
  return { onTime, late, lateBeyondCap };
}
