import type { Redis } from "ioredis";
import { Counters, HistoryEntry, RunHistory } from "./history";
import type { Job } from "./job-schema";
import { schedulerKeys } from "./keys";
import { scheduleOf } from "./schedule";

export interface JobStatus {
  name: string;
  schedule: string;
  enabled: boolean;
  target: string;
  /** Next fire after now (from the schedule), epoch ms. */
  nextFire?: number;
  /** The run holding the job's lock right now, if any. */
  running?: { token: number; fire: number; replica: string; grantedAt: number };
  /** Fires waiting behind the running run (block "serial"). */
  queued: number;
  counters: Counters;
  lastRuns: HistoryEntry[];
}

export interface SchedulerStatus {
  at: number;
  /** Replicas that announced themselves in the last 10 s, with the time of their last heartbeat. */
  replicas: { id: string; lastSeen: number }[];
  jobs: JobStatus[];
}

/** Reads what the status command shows; one pipeline per job. */
export async function readStatus(redis: Redis, jobs: Job[], prefix: string, lastRuns = 5, now = Date.now()): Promise<SchedulerStatus> {
  const keys = schedulerKeys(prefix);
  const history = new RunHistory(redis, prefix);
  const replicaScores = await redis.zrangebyscore(keys.replicas, now - 10_000, "+inf", "WITHSCORES");
  const replicas: SchedulerStatus["replicas"] = [];
  for (let i = 0; i < replicaScores.length; i += 2) replicas.push({ id: replicaScores[i], lastSeen: Number(replicaScores[i + 1]) });
  const statuses = await Promise.all(
    jobs.map(async (job): Promise<JobStatus> => {
      const [holder, queued, counters, runs] = await Promise.all([
        redis.get(keys.run(job.name)),
        redis.zcard(keys.pending(job.name)),
        history.counters(job.name),
        history.recent(job.name, lastRuns),
      ]);
      const schedule = scheduleOf(job.schedule);
      const target =
        job.target.kind === "http"
          ? `${job.target.method} ${job.target.service}:${job.target.port}${job.target.path} (${job.target.routing})`
          : `handler ${job.target.handler}`;
      let running: JobStatus["running"];
      if (holder) {
        const [token, fire, replica, grantedAt] = holder.split("|");
        running = { token: Number(token), fire: Number(fire), replica, grantedAt: Number(grantedAt) };
      }
      return {
        name: job.name,
        schedule: schedule.text,
        enabled: job.enabled,
        target,
        nextFire: job.enabled ? schedule.nextAfter(now) : undefined,
        running,
        queued,
        counters,
        lastRuns: runs,
      };
    }),
  );
  return { at: now, replicas, jobs: statuses };
}

/** Plain-text rendering for terminals. */
export function formatStatus(status: SchedulerStatus): string {
  const iso = (ms?: number) => (ms === undefined ? "-" : new Date(ms).toISOString());
  const lines: string[] = [];
  lines.push(`scheduler status at ${iso(status.at)}`);
  lines.push(`replicas: ${status.replicas.length ? status.replicas.map((r) => `${r.id} (seen ${status.at - r.lastSeen} ms ago)`).join(", ") : "none alive"}`);
  for (const job of status.jobs) {
    lines.push("");
    lines.push(`${job.name}${job.enabled ? "" : " (disabled)"}: ${job.schedule} -> ${job.target}`);
    lines.push(`  next fire: ${iso(job.nextFire)}${job.nextFire !== undefined ? ` (in ${job.nextFire - status.at} ms)` : ""}`);
    if (job.running) lines.push(`  running:   fire ${iso(job.running.fire)} token ${job.running.token} on ${job.running.replica}`);
    if (job.queued) lines.push(`  queued:    ${job.queued} fire(s) waiting (serial)`);
    const counts = Object.entries(job.counters)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    lines.push(`  counters:  ${counts || "no fires yet"}`);
    for (const run of job.lastRuns) {
      const took = run.startedAt !== undefined && run.finishedAt !== undefined ? ` ${run.finishedAt - run.startedAt} ms` : "";
      const extra = [
        run.count && run.count > 1 ? `x${run.count}` : "",
        run.attempts && run.attempts > 1 ? `attempts=${run.attempts}` : "",
        run.token ? `token=${run.token}` : "",
        run.replica,
        run.endpoint ?? "",
        run.error ?? run.reason ?? "",
      ]
        .filter(Boolean)
        .join(" ");
      lines.push(`  - ${iso(run.fire)} ${run.outcome}${took} ${extra}`);
    }
  }
  return lines.join("\n");
}
