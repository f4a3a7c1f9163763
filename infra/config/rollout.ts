import { z } from "zod";
import { percent } from "./primitives";
import { ANALYSIS_METRICS, metricNames, promqlProblems, renderQuery, unknownPlaceholders } from "./promql";

const DURATION = /^([0-9]+)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a duration that passed `duration` (`30s` -> 30000). */
export function durationMs(text: string): number {
  const m = DURATION.exec(text)!;
  return Number(m[1]) * UNIT_MS[m[2]];
}

export const duration = z
  .string({ error: "must be a duration such as 30s, 5m or 1h" })
  .regex(DURATION, { error: "must be a duration such as 30s, 5m or 1h" })
  .refine((d) => !DURATION.test(d) || durationMs(d) > 0, { error: "must be a duration longer than 0, such as 30s" });

/** `manual`: the run stops after this step's analysis until someone runs `release ... run --continue` (or promote / abort). */
export const MANUAL = "manual";

const PAUSE = "must be a duration such as 30s, 5m or 1h, or manual";

export const rolloutStep = z.strictObject({
  weight: percent.describe("canary weight at this step, 1-100 (http, rpc); consumers and workers get weight% of the stable replicas as canary replicas"),
  pause: z
    .string({ error: PAUSE })
    .refine((p) => p === MANUAL || (DURATION.test(p) && durationMs(p) > 0), { error: PAUSE })
    .describe("how long the step lasts (analysis runs every interval meanwhile): a duration such as 5m, or manual to wait for `release ... run --continue`"),
});

export const CHECK_DIRECTIONS = ["max", "min"] as const;
export const CHECK_BASELINES = ["stable", "absolute"] as const;

export const analysisCheck = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z][-a-z0-9]*$/, { error: "must be a name of lower-case letters, digits and '-'" })
    .describe("name of the check, printed when it fails"),
  query: z
    .string()
    .min(1, { error: "must be a PromQL query" })
    .describe("PromQL instant query returning one value per track; placeholders $service, $track and $window are filled in before each query"),
  threshold: z
    .number({ error: "must be a number" })
    .describe(
      "with baseline stable: how far the canary's value may be worse than stable's (query units); with baseline absolute: the limit of the canary's value",
    ),
  direction: z
    .enum(CHECK_DIRECTIONS, { error: `must be one of ${CHECK_DIRECTIONS.join(", ")}` })
    .default("max")
    .describe("max: higher values are worse (latency, errors); min: lower values are worse (success rate)"),
  baseline: z
    .enum(CHECK_BASELINES, { error: `must be one of ${CHECK_BASELINES.join(", ")}` })
    .default("stable")
    .describe("stable: compare the canary with the stable track; absolute: compare the canary with the threshold alone"),
  failureLimit: z
    .number()
    .int({ error: "must be a whole number >= 0" })
    .min(0, { error: "must be a whole number >= 0" })
    .default(1)
    .describe("failed evaluations of this check tolerated during one run; the next failure rolls back"),
});

export const rolloutAnalysis = z.strictObject({
  prometheus: z
    .url({ protocol: /^https?$/, error: "must be an http(s) URL such as http://prometheus.monitoring:9090" })
    .optional()
    .describe("base URL of the Prometheus HTTP API the analysis queries (required for `release ... run` when there are checks)"),
  interval: duration.default("1m").describe("time between two analysis evaluations"),
  window: duration.default("2m").describe("range of the $window placeholder in queries (rate windows)"),
  checks: z
    .array(analysisCheck)
    .optional()
    .describe(
      "metric checks comparing the canary with stable; default per kind (http, rpc: success-rate, latency-p99, error-budget-burn; consumer, worker: none)",
    ),
});

export const rolloutConfig = z
  .strictObject({
    steps: z
      .array(rolloutStep)
      .min(1, { error: "must list at least one step" })
      .optional()
      .describe("canary steps in order, each {weight, pause}; weights strictly increasing; default per kind"),
    analysis: rolloutAnalysis.prefault({}).describe("how each step is judged: Prometheus address, interval, window and checks"),
  })
  .superRefine((r, ctx) => {
    r.steps?.forEach((step, i) => {
      if (step.weight === 0)
        ctx.addIssue({
          code: "custom",
          path: ["steps", i, "weight"],
          input: step.weight,
          message: "must be between 1 and 100 (a step at weight 0 sends the canary nothing to judge)",
        });
      const previous = r.steps![i - 1];
      if (previous && step.weight <= previous.weight) {
        ctx.addIssue({
          code: "custom",
          path: ["steps", i, "weight"],
          input: step.weight,
          message: `must be greater than steps[${i - 1}].weight (${previous.weight}): weights increase step by step`,
        });
      }
    });
    const checks = r.analysis.checks ?? [];
    const names = new Set<string>();
    checks.forEach((c, i) => {
      if (names.has(c.name))
        ctx.addIssue({ code: "custom", path: ["analysis", "checks", i, "name"], input: c.name, message: `must be unique, '${c.name}' appears twice` });
      names.add(c.name);
    });
    let verdicts: Array<string | undefined>;
    const rendered = checks.map((c) => renderQuery(c.query, { service: "svc", track: "canary", window: r.analysis.window }));
    try {
      verdicts = promqlProblems(rendered);
    } catch (err) {
      if (checks.length > 0)
        ctx.addIssue({ code: "custom", path: ["analysis", "checks"], input: undefined, message: `cannot be checked: ${(err as Error).message}` });
      return;
    }
    checks.forEach((c, i) => {
      const unknown = unknownPlaceholders(c.query);
      if (unknown.length) {
        ctx.addIssue({
          code: "custom",
          path: ["analysis", "checks", i, "query"],
          input: c.query,
          message: `must use only known placeholders, not ${unknown.map((u) => `$${u}`).join(", ")} (known: $service, $track, $window)`,
        });
        return;
      }
      if (verdicts[i]) {
        ctx.addIssue({ code: "custom", path: ["analysis", "checks", i, "query"], input: c.query, message: `must be PromQL: ${verdicts[i]}` });
        return;
      }
      const unknownMetrics = metricNames(rendered[i]).filter((m) => !(ANALYSIS_METRICS as readonly string[]).includes(m));
      if (unknownMetrics.length) {
        ctx.addIssue({
          code: "custom",
          path: ["analysis", "checks", i, "threshold"],
          input: c.threshold,
          message: `is set on unknown metric(s) ${unknownMetrics.join(", ")} (known: ${ANALYSIS_METRICS.join(", ")})`,
        });
      }
    });
  });

export type RolloutConfig = z.output<typeof rolloutConfig>;
export type RolloutStep = z.output<typeof rolloutStep>;
export type AnalysisCheck = z.output<typeof analysisCheck>;
