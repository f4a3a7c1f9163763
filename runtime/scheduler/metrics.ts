import { Counter, Histogram, Registry } from "prom-client";
import type { RunRecord } from "./claim";

/** Why a fire did not run: the misfire strategy skipped it, the block strategy discarded it, or no replica could claim it. */
export type MissReason = "misfired" | "discarded" | "claim-failed";

/**
 * The scheduler's metrics, per job. The label is `scheduled_job`, not `job`: Prometheus owns `job` (the
 * scrape job) and would rename ours to `exported_job`. Every replica counts only what it decided or ran itself, so sums
 * over replicas (`sum by (job)`) are the deployment's totals.
 */
export class SchedulerMetrics {
  private readonly fires: Counter<"scheduled_job">;
  private readonly lag: Histogram<"scheduled_job">;
  private readonly misses: Counter<"scheduled_job" | "reason">;
  private readonly refused: Counter<"scheduled_job">;
  private readonly runs: Counter<"scheduled_job" | "outcome">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.fires = new Counter({
      name: "classroom_scheduler_fires_total",
      help: "Fires this replica started (a run holding the job's fencing token).",
      labelNames: ["scheduled_job"],
      registers,
    });
    this.lag = new Histogram({
      name: "classroom_scheduler_fire_lag_seconds",
      help: "Delay from a fire's scheduled instant to the start of its run on this replica.",
      labelNames: ["scheduled_job"],
      registers,
      // Fires are claimed ahead and start on a local timer: milliseconds normally; the top buckets
      // reach the default misfire threshold (5 s) and beyond.
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.misses = new Counter({
      name: "classroom_scheduler_misses_total",
      help: "Fire decisions that did not start a run, by reason (misfired: too late for the misfire threshold; discarded: the job was busy and its block strategy discards; claim-failed: Redis did not answer the claim).",
      labelNames: ["scheduled_job", "reason"],
      registers,
    });
    this.refused = new Counter({
      name: "classroom_scheduler_duplicates_refused_total",
      help: "Claims of this replica refused because another replica had already claimed the same fire (a run that would have been a duplicate).",
      labelNames: ["scheduled_job"],
      registers,
    });
    this.runs = new Counter({
      name: "classroom_scheduler_runs_total",
      help: "Runs that ended on this replica, by outcome.",
      labelNames: ["scheduled_job", "outcome"],
      registers,
    });
  }

  started(job: string, fireMs: number, startedAt: number): void {
    this.fires.inc({ scheduled_job: job });
    this.lag.observe({ scheduled_job: job }, Math.max(0, startedAt - fireMs) / 1000);
  }

  finished(job: string, outcome: RunRecord["outcome"]): void {
    this.runs.inc({ scheduled_job: job, outcome });
  }

  missed(job: string, reason: MissReason, count = 1): void {
    this.misses.inc({ scheduled_job: job, reason }, count);
  }

  duplicateRefused(job: string): void {
    this.refused.inc({ scheduled_job: job });
  }
}
