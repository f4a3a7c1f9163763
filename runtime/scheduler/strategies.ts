/**
 * XXL-Job's strategies, as this scheduler implements them.
 *
 * Block (a fire comes due while the job's previous run is still running on any replica):
 * - "serial": the fire waits in a Redis queue; the replica that finishes the running run starts the
 *   queued fires one after another, oldest first (if that replica dies, the next fire's claimant
 *   drains the queue once the dead run's lease expires).
 * - "discard-later": the new fire is dropped and recorded as "discarded".
 * - "cover-earlier": the running run is cancelled (its AbortSignal fires at once through pub/sub, its
 *   token is superseded so it cannot record anything) and recorded as "covered"; the new fire runs.
 *
 * Misfire (a fire cannot start within `misfireThresholdMs` of its time: every replica was down or
 * starved, or the fire waited that long in the serial queue):
 * - "skip": such fires do not run; they are counted as "misfired".
 * - "fire-once": the newest of them runs once, as soon as possible; the rest count as "misfired".
 *
 * Timeout and retry (this file): each attempt gets `timeoutMs`; a failed or timed-out attempt is
 * retried `retries` times, waiting `retryBackoffMs`, then twice that, and so on (capped at 60 s).
 * Retries stay inside the run: same fire, same token, same lock; a cancelled run is not retried.
 */

export const maxBackoffMs = 60_000;

/** Wait before retry number `retry` (1-based): backoff, 2x backoff, 4x backoff, ... capped. */
export function retryDelayMs(retry: number, backoffMs: number): number {
  return Math.min(maxBackoffMs, backoffMs * 2 ** (retry - 1));
}

export interface AttemptPolicy {
  timeoutMs: number;
  retries: number;
  retryBackoffMs: number;
}

export interface AttemptsOutcome {
  outcome: "succeeded" | "failed" | "timed-out" | "cancelled";
  attempts: number;
  error?: string;
  /** What the last successful or failed attempt returned (e.g. the HTTP endpoint). */
  detail?: string;
}

export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`timed out after ${ms} ms`);
  }
}

/**
 * Runs `attempt` until it succeeds, retries run out, or `runSignal` aborts. `beforeRetry` can veto a
 * retry (e.g. the run lost its fencing token while waiting).
 */
export async function runAttempts(
  policy: AttemptPolicy,
  runSignal: AbortSignal,
  attempt: (attemptNumber: number, signal: AbortSignal) => Promise<string | void>,
  beforeRetry: () => Promise<boolean> = async () => true,
): Promise<AttemptsOutcome> {
  let last: AttemptsOutcome = { outcome: "cancelled", attempts: 0 };
  for (let n = 1; n <= policy.retries + 1; n++) {
    if (n > 1) {
      await abortableSleep(retryDelayMs(n - 1, policy.retryBackoffMs), runSignal);
      if (runSignal.aborted || !(await beforeRetry().catch(() => false))) {
        return { ...last, outcome: "cancelled", error: `${last.error ?? ""}; retry cancelled: ${reasonText(runSignal) ?? "run no longer owns the job"}` };
      }
    }
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new TimeoutError(policy.timeoutMs));
    }, policy.timeoutMs);
    const onRunAbort = () => controller.abort(runSignal.reason);
    runSignal.addEventListener("abort", onRunAbort, { once: true });
    try {
      // Race the abort so a handler that ignores its signal cannot hold the run past its deadline.
      const detail = await Promise.race([attempt(n, controller.signal), rejectOnAbort(controller.signal)]);
      return { outcome: "succeeded", attempts: n, detail: detail || undefined };
    } catch (err) {
      const error = (err as Error)?.message ?? String(err);
      const detail = (err as { endpoint?: string })?.endpoint;
      if (runSignal.aborted) return { outcome: "cancelled", attempts: n, error: reasonText(runSignal) ?? error, detail };
      last = { outcome: timedOut ? "timed-out" : "failed", attempts: n, error, detail };
    } finally {
      clearTimeout(timer);
      runSignal.removeEventListener("abort", onRunAbort);
    }
  }
  return last;
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

function reasonText(signal: AbortSignal): string | undefined {
  if (!signal.aborted) return undefined;
  return (signal.reason as Error)?.message ?? String(signal.reason);
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
