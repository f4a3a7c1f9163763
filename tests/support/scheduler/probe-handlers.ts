/**
 * Handlers that record what the scheduler did, for the integration tests and the bench (they are
 * loaded through CLASSROOM_SCHEDULER_HANDLERS_MODULE like any handler module, and double as its example).
 * Records go to Redis lists so that a SIGKILLed replica's records survive it.
 */
import type { HandlerModuleContext, JobContext, JobHandler } from "../../../runtime/scheduler/handlers";
import { abortableSleep } from "../../../runtime/scheduler/strategies";

/** List of probe events per job: JSON ProbeEvent lines in the order they happened. */
export const probeKey = (job: string) => `scheduler-probe:${job}`;
/** List of "<job> <fire> <start> <replica>" lines written by the bench handler. */
export const benchKey = "scheduler-probe:bench";

export interface ProbeEvent {
  event: "start" | "end";
  job: string;
  fire: number;
  token: number;
  attempt: number;
  replica: string;
  at: number;
  /** On "end": succeeded, failed (by design, see failAttempts) or aborted (with the signal's reason). */
  result?: "succeeded" | "failed" | "aborted";
  reason?: string;
}

function numberParam(context: JobContext, name: string): number {
  const value = context.params[name];
  return typeof value === "number" ? value : 0;
}

export function createHandlers({ redis }: HandlerModuleContext): Record<string, JobHandler> {
  const emit = (event: ProbeEvent) => redis.rpush(probeKey(event.job), JSON.stringify(event));

  /** Params: sleepMs (default 0), failAttempts (attempts 1..n throw; default 0), ignoreAbort (default false). */
  const probe: JobHandler = async (context) => {
    const base = { job: context.job, fire: context.fireTime, token: context.fencingToken, attempt: context.attempt, replica: context.replicaId };
    await emit({ ...base, event: "start", at: Date.now() });
    const sleepMs = numberParam(context, "sleepMs");
    if (context.params.ignoreAbort === true) await new Promise((r) => setTimeout(r, sleepMs));
    else await abortableSleep(sleepMs, context.signal);
    if (context.signal.aborted) {
      await emit({
        ...base,
        event: "end",
        at: Date.now(),
        result: "aborted",
        reason: String((context.signal.reason as Error)?.message ?? context.signal.reason),
      });
      return;
    }
    if (context.attempt <= numberParam(context, "failAttempts")) {
      await emit({ ...base, event: "end", at: Date.now(), result: "failed" });
      throw new Error(`probe failure on attempt ${context.attempt} (failAttempts=${numberParam(context, "failAttempts")})`);
    }
    await emit({ ...base, event: "end", at: Date.now(), result: "succeeded" });
  };

  /** One compact line per run start, taken before any await, so the bench measures the scheduler alone. */
  const bench: JobHandler = async (context) => {
    const start = Date.now();
    redis.rpush(benchKey, `${context.job} ${context.fireTime} ${start} ${context.replicaId}`).catch(() => undefined);
    const sleepMs = numberParam(context, "sleepMs");
    if (sleepMs > 0) await abortableSleep(sleepMs, context.signal);
  };

  return { probe, bench };
}

/** Reads a job's probe events in the order they were written. */
export async function readProbeEvents(redis: { lrange(key: string, start: number, stop: number): Promise<string[]> }, job: string): Promise<ProbeEvent[]> {
  return (await redis.lrange(probeKey(job), 0, -1)).map((line) => JSON.parse(line) as ProbeEvent);
}
