import { AnalysisCheck, durationMs, RolloutConfig, RolloutStep } from "./rollout";

type Kind = "http" | "rpc" | "consumer" | "worker";

/**
 * The golden-signal checks of a request-serving track. They read the series the golden-signal recording
 * rules are built from (components/monitoring/rules.ts): the OpenTelemetry HTTP server histogram
 * `http_server_request_duration_seconds` under the target labels the platform's scrape attaches
 * (`app_kubernetes_io_name` = service, `classroom_io_track` = track), over the analysis window rather than
 * the rules' fixed 5m, so a step is judged on its own traffic.
 * Error budget burn assumes a 99.9% availability objective: 14.4 is the classic fast-burn alert rate
 * (2% of a 30-day budget in an hour).
 */
export const REQUEST_CHECKS: AnalysisCheck[] = [
  {
    name: "success-rate",
    query:
      'sum(rate(http_server_request_duration_seconds_count{app_kubernetes_io_name="$service",classroom_io_track="$track",http_response_status_code!~"5.."}[$window])) / sum(rate(http_server_request_duration_seconds_count{app_kubernetes_io_name="$service",classroom_io_track="$track"}[$window]))',
    threshold: 0.01,
    direction: "min",
    baseline: "stable",
    failureLimit: 1,
  },
  {
    name: "latency-p99",
    query:
      'histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{app_kubernetes_io_name="$service",classroom_io_track="$track"}[$window])))',
    threshold: 0.25,
    direction: "max",
    baseline: "stable",
    failureLimit: 1,
  },
  {
    name: "error-budget-burn",
    query:
      '(sum(rate(http_server_request_duration_seconds_count{app_kubernetes_io_name="$service",classroom_io_track="$track",http_response_status_code=~"5.."}[$window])) or vector(0)) / sum(rate(http_server_request_duration_seconds_count{app_kubernetes_io_name="$service",classroom_io_track="$track"}[$window])) / (1 - 0.999)',
    threshold: 14.4,
    direction: "max",
    baseline: "absolute",
    failureLimit: 1,
  },
];

const REQUEST_STEPS: RolloutStep[] = [
  { weight: 10, pause: "5m" },
  { weight: 25, pause: "5m" },
  { weight: 50, pause: "10m" },
];
/** Consumers and workers step replicas, not traffic: fewer, longer steps (a rebalance per step). */
const REPLICA_STEPS: RolloutStep[] = [
  { weight: 25, pause: "10m" },
  { weight: 50, pause: "10m" },
];

export interface RolloutPlan {
  steps: RolloutStep[];
  analysis: { prometheus?: string; intervalMs: number; window: string; checks: AnalysisCheck[] };
}

/** The service's plan: what its stack file sets, the kind's defaults for the rest. */
export function rolloutPlan(kind: Kind, config: RolloutConfig | undefined): RolloutPlan {
  const request = kind === "http" || kind === "rpc";
  const analysis = config?.analysis;
  return {
    steps: config?.steps ?? (request ? REQUEST_STEPS : REPLICA_STEPS),
    analysis: {
      prometheus: analysis?.prometheus,
      intervalMs: durationMs(analysis?.interval ?? "1m"),
      window: analysis?.window ?? "2m",
      // No consumer-lag default yet: the metric names arrive with the observability issue's recording rules.
      checks: analysis?.checks ?? (request ? REQUEST_CHECKS : []),
    },
  };
}
