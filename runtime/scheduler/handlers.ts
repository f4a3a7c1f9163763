import * as path from "node:path";
import type { Redis } from "ioredis";
import type { Job } from "./job-schema";
import { JobConfigError } from "./job-schema";

/** What a handler (or, as headers and body, an HTTP target) learns about the fire it runs. */
export interface JobContext {
  /** Job name. */
  job: string;
  /** Scheduled instant of this fire, epoch ms (not the start time). */
  fireTime: number;
  /**
   * Fencing token of this run: strictly increasing per job. Pass it along with every side effect that
   * can check it (e.g. store the highest token seen and reject lower ones): that is what stops a paused
   * replica whose lease another replica took over.
   */
  fencingToken: number;
  /** 1 for the first attempt, then 2, 3, ... for retries. */
  attempt: number;
  /** The job's `params` from the stack file. */
  params: Record<string, unknown>;
  /** Aborted on timeout, when a later fire covers this run, when the lease is lost, or at shutdown. */
  signal: AbortSignal;
  /** The replica running the fire. */
  replicaId: string;
  /** Asks Redis whether this run still holds the newest fencing token. */
  stillOwner(): Promise<boolean>;
}

export type JobHandler = (context: JobContext) => Promise<void> | void;

/** What a handler module gets when the daemon loads it. */
export interface HandlerModuleContext {
  /** The daemon's Redis connection (shared; do not close it). */
  redis: Redis;
  replicaId: string;
  log(message: string, fields?: Record<string, unknown>): void;
}

/**
 * A module named by CLASSROOM_SCHEDULER_HANDLERS_MODULE exports
 * `createHandlers(context) => Record<name, JobHandler>` (or a promise of it).
 */
export interface HandlerModule {
  createHandlers(context: HandlerModuleContext): Record<string, JobHandler> | Promise<Record<string, JobHandler>>;
}

export async function loadHandlerModule(modulePath: string, context: HandlerModuleContext): Promise<Record<string, JobHandler>> {
  const resolved = path.resolve(modulePath);
  let loaded: Partial<HandlerModule>;
  try {
    loaded = (await import(resolved)) as Partial<HandlerModule>;
  } catch (err) {
    throw new JobConfigError(`CLASSROOM_SCHEDULER_HANDLERS_MODULE: cannot load '${modulePath}': ${(err as Error).message}`);
  }
  const create = loaded.createHandlers ?? (loaded as any).default?.createHandlers;
  if (typeof create !== "function") {
    throw new JobConfigError(`CLASSROOM_SCHEDULER_HANDLERS_MODULE: '${modulePath}' does not export createHandlers(context)`);
  }
  return await create(context);
}

/** Every `{ handler }` job must name a registered handler; checked at startup, not at the first fire. */
export function checkHandlers(jobs: Job[], handlers: Record<string, JobHandler>): void {
  const known = Object.keys(handlers).sort();
  const problems = jobs
    .filter((job) => job.target.kind === "handler" && !(job.target.handler in handlers))
    .map((job) => {
      const name = (job.target as { handler: string }).handler;
      return `jobs.${job.name}.target.handler: no handler named '${name}' (registered: ${known.length ? known.join(", ") : "none"})`;
    });
  if (problems.length) throw new JobConfigError(problems.join("\n"));
}
