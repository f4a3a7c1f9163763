import { renderQuery } from "../../../infra/config/promql";
import type { AnalysisCheck } from "../../../infra/config/rollout";

/** One instant query: its single value, undefined when there is no data (empty result or NaN). Throws when the query fails. */
export type QueryFn = (query: string) => Promise<number | undefined>;

export interface CheckResult {
  check: AnalysisCheck;
  /** The queries as sent, canary first. */
  queries: { canary: string; stable?: string };
  values: { canary?: number; stable?: number };
  failed: boolean;
  /** One line: the comparison made, or why none could be. */
  reason: string;
}

/**
 * Whether the canary's value passes the check. `baseline: stable` allows the canary to be worse than
 * stable by at most `threshold` (so a noisy stable does not fail its own canary); `absolute` compares
 * with the threshold alone. No value on a side that is needed fails: a canary that sends no metrics
 * must not be promoted on silence.
 */
export function judge(check: AnalysisCheck, values: { canary?: number; stable?: number }): { failed: boolean; reason: string } {
  const { canary, stable } = values;
  if (canary === undefined) return { failed: true, reason: "no data for the canary" };
  const worse = check.direction === "max" ? "above" : "below";
  if (check.baseline === "absolute") {
    const failed = check.direction === "max" ? canary > check.threshold : canary < check.threshold;
    return { failed, reason: `canary ${fmt(canary)} ${failed ? "is" : "is not"} ${worse} the limit ${fmt(check.threshold)}` };
  }
  if (stable === undefined) return { failed: true, reason: "no data for the stable track to compare with" };
  const limit = check.direction === "max" ? stable + check.threshold : stable - check.threshold;
  const failed = check.direction === "max" ? canary > limit : canary < limit;
  return {
    failed,
    reason: `canary ${fmt(canary)} ${failed ? "is" : "is not"} ${worse} stable ${fmt(stable)} ${check.direction === "max" ? "+" : "-"} ${fmt(check.threshold)}`,
  };
}

/** Every check once: the canary's query and (for `baseline: stable`) the stable track's, then the verdict. */
export async function evaluate(checks: AnalysisCheck[], vars: { service: string; window: string }, query: QueryFn): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async (check) => {
      const queries = {
        canary: renderQuery(check.query, { ...vars, track: "canary" }),
        ...(check.baseline === "stable" ? { stable: renderQuery(check.query, { ...vars, track: "stable" }) } : {}),
      };
      try {
        const [canary, stable] = await Promise.all([query(queries.canary), queries.stable ? query(queries.stable) : Promise.resolve(undefined)]);
        const values = { canary, stable };
        return { check, queries, values, ...judge(check, values) };
      } catch (err) {
        // A Prometheus that cannot answer is a failed evaluation, not a pass: failureLimit bounds how long a run waits on it.
        return { check, queries, values: {}, failed: true, reason: `query failed: ${(err as Error).message}` };
      }
    }),
  );
}

interface PromResponse {
  status: "success" | "error";
  error?: string;
  data?: { resultType: "vector" | "scalar" | "matrix" | "string"; result: unknown };
}

/** Instant queries against the Prometheus HTTP API (`GET <base>/api/v1/query`). */
export function prometheusQuery(base: string, timeoutMs = 10_000): QueryFn {
  const root = base.replace(/\/+$/, "");
  return async (query) => {
    const url = `${root}/api/v1/query?query=${encodeURIComponent(query)}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json().catch(() => undefined)) as PromResponse | undefined;
    if (!body) throw new Error(`${root} answered HTTP ${res.status} without a JSON body`);
    if (body.status !== "success" || !body.data) throw new Error(`${root}: ${body.error ?? `HTTP ${res.status}`}`);
    const { resultType, result } = body.data;
    let raw: string | undefined;
    if (resultType === "scalar") raw = (result as [number, string])[1];
    else if (resultType === "vector") {
      const samples = result as Array<{ metric: Record<string, string>; value: [number, string] }>;
      if (samples.length > 1)
        throw new Error(`the query returns ${samples.length} series; a check must return one value per track (aggregate it, e.g. with sum)`);
      raw = samples[0]?.value[1];
    } else throw new Error(`the query returns a ${resultType}; a check must return an instant vector or a scalar`);
    const value = raw === undefined ? undefined : Number(raw);
    return value === undefined || Number.isNaN(value) ? undefined : value;
  };
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(4)));
}
