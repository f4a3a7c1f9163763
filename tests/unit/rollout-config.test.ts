import { ConfigError, parsePlatformConfig } from "../../infra/config";
import { metricNames, renderQuery } from "../../infra/config/promql";
import { REQUEST_CHECKS, rolloutPlan } from "../../infra/config/rollout-defaults";

const base = { "classroom:environment": "dev" };
const http = { kind: "http", stable: { image: "r/room:1.0.0", replicas: 2 }, route: { pathPrefix: "/api" } };
const services = (over: object, kind: object = http) => JSON.stringify({ "room-api": { ...kind, ...over } });

function problems(raw: Record<string, string>): string[] {
  try {
    parsePlatformConfig({ ...base, ...raw });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const rollout = (r: object) => ({ "classroom:services": services({ rollout: r }) });
const check = (over: object) => ({
  name: "errors",
  query: 'sum(rate(http_server_request_duration_seconds_count{app_kubernetes_io_name="$service",classroom_io_track="$track"}[$window]))',
  threshold: 0.1,
  ...over,
});

describe("rollout plan in the stack file", () => {
  it("accepts a plan and keeps what it says", () => {
    const config = parsePlatformConfig({
      ...base,
      ...rollout({
        steps: [
          { weight: 5, pause: "30s" },
          { weight: 40, pause: "manual" },
        ],
        analysis: { prometheus: "http://prom:9090", interval: "10s", checks: [check({})] },
      }),
    });
    const plan = rolloutPlan("http", config.services["room-api"].rollout);
    expect(plan.steps).toEqual([
      { weight: 5, pause: "30s" },
      { weight: 40, pause: "manual" },
    ]);
    expect(plan.analysis).toMatchObject({ prometheus: "http://prom:9090", intervalMs: 10_000, window: "2m" });
    expect(plan.analysis.checks).toEqual([{ ...check({}), direction: "max", baseline: "stable", failureLimit: 1 }]);
  });

  it("gives each kind its default plan: request checks for http and rpc, replica steps without checks for consumers", () => {
    expect(rolloutPlan("http", undefined).analysis.checks.map((c) => c.name)).toEqual(["success-rate", "latency-p99", "error-budget-burn"]);
    expect(rolloutPlan("rpc", undefined).steps.map((s) => s.weight)).toEqual([10, 25, 50]);
    expect(rolloutPlan("consumer", undefined)).toMatchObject({ steps: [{ weight: 25 }, { weight: 50 }], analysis: { checks: [] } });
  });

  it("the default checks parse as PromQL and use only known metrics (they pass the same validation as a stack's own)", () => {
    expect(problems(rollout({ analysis: { checks: REQUEST_CHECKS } }))).toEqual([]);
  });

  it.each([
    [
      "weights not increasing",
      {
        steps: [
          { weight: 20, pause: "1m" },
          { weight: 20, pause: "1m" },
        ],
      },
      "classroom:services.room-api.rollout.steps[1].weight must be greater than steps[0].weight (20): weights increase step by step, got 20",
    ],
    [
      "a pause of -1",
      { steps: [{ weight: 10, pause: -1 }] },
      "classroom:services.room-api.rollout.steps[0].pause must be a duration such as 30s, 5m or 1h, or manual, got -1",
    ],
    [
      "a pause of 0s",
      { steps: [{ weight: 10, pause: "0s" }] },
      'classroom:services.room-api.rollout.steps[0].pause must be a duration such as 30s, 5m or 1h, or manual, got "0s"',
    ],
    [
      "a query that is not PromQL",
      { analysis: { checks: [check({ query: 'sum(rate(http_server_request_duration_seconds_count{app_kubernetes_io_name="$service"}[$window])' })] } },
      'classroom:services.room-api.rollout.analysis.checks[0].query must be PromQL: could not parse expression: 1:87: parse error: unclosed left parenthesis, got "sum(rate(http_server_request_duration_seconds_count{app_kubernetes_io_name=\\...',
    ],
    [
      "a threshold on an unknown metric",
      { analysis: { checks: [check({ query: 'rate(http_requets_total{app_kubernetes_io_name="$service"}[$window])' })] } },
      "classroom:services.room-api.rollout.analysis.checks[0].threshold is set on unknown metric(s) http_requets_total (known: http_server_request_duration_seconds_bucket, http_server_request_duration_seconds_sum, http_server_request_duration_seconds_count, classroom:http_requests:rate5m, classroom:http_errors:rate5m, classroom:http_errors:ratio_rate5m, classroom:http_request_duration_seconds:p50_5m, classroom:http_request_duration_seconds:p99_5m), got 0.1",
    ],
    [
      "an unknown placeholder",
      { analysis: { checks: [check({ query: 'rate(http_server_request_duration_seconds_count{app_kubernetes_io_name="$svc"}[$window])' })] } },
      'classroom:services.room-api.rollout.analysis.checks[0].query must use only known placeholders, not $svc (known: $service, $track, $window), got "rate(http_server_request_duration_seconds_count{app_kubernetes_io_name=\\"$sv...',
    ],
    [
      "a Prometheus address that is not a URL",
      { analysis: { prometheus: "prom:9090" } },
      'classroom:services.room-api.rollout.analysis.prometheus must be an http(s) URL such as http://prometheus.monitoring:9090, got "prom:9090"',
    ],
    [
      "an unknown direction",
      { analysis: { checks: [check({ direction: "up" })] } },
      'classroom:services.room-api.rollout.analysis.checks[0].direction must be one of max, min, got "up"',
    ],
  ])("rejects %s with one line naming the key", (_what, plan, message) => {
    const found = problems(rollout(plan));
    expect(found).toEqual([message]);
  });
});

describe("canary.match", () => {
  const canary = (match: object[]) => ({ canary: { image: "r/room:1.1.0", replicas: 1, weight: 10, match } });

  it("accepts header, cookie and query matches for http", () => {
    expect(
      problems({
        "classroom:services": services(
          canary([
            { header: "x-classroom-role", value: "teacher" },
            { cookie: "canary", value: "always" },
            { query: "school", value: "s-42" },
          ]),
        ),
      }),
    ).toEqual([]);
  });

  it.each([
    [
      "two kinds in one match",
      {},
      [{ header: "x-a", cookie: "b", value: "1" }],
      "classroom:services.room-api.canary.match[0] must name exactly one of header, cookie, query",
    ],
    [
      "a match on an rpc service",
      { kind: "rpc", uses: ["zookeeper"], route: undefined },
      [{ header: "x-a", value: "1" }],
      "classroom:services.room-api.canary.match is only for kind http (rpc callers pass a track or a key to the discovery picker instead)",
    ],
  ])("rejects %s", (_what, over, match, message) => {
    expect(problems({ "classroom:services": services({ ...over, ...canary(match) }) })).toEqual([
      expect.stringMatching(new RegExp(`^${message.replace(/[.()[\]]/g, "\\$&")}`)),
    ]);
  });

  it("refuses under nginx-ingress what ingress-nginx cannot route: a query match, a cookie value other than always", () => {
    const nginx = { "classroom:routing": '{"mode":"nginx-ingress"}' };
    expect(problems({ ...nginx, "classroom:services": services(canary([{ query: "school", value: "1" }])) })).toEqual([
      "classroom:services.room-api.canary.match cannot match a query parameter when routing.mode is nginx-ingress (ingress-nginx routes canaries by one header and one cookie only)",
    ]);
    expect(problems({ ...nginx, "classroom:services": services(canary([{ cookie: "c", value: "yes" }])) })).toEqual([
      "classroom:services.room-api.canary.match must have cookie value always when routing.mode is nginx-ingress (ingress-nginx sends a request to the canary when the cookie says always)",
    ]);
  });
});

describe("analysis query helpers", () => {
  it("fills $service, $track and ${window}", () => {
    expect(renderQuery('x{service="$service",track="${track}"}[$window]', { service: "room-api", track: "canary", window: "1m" })).toBe(
      'x{service="room-api",track="canary"}[1m]',
    );
  });

  it("finds the metric names of a query, not its functions, labels or keywords", () => {
    expect(metricNames('sum by (le, code) (rate(a_total{code!~"5..",x="y z"}[5m])) / on(le) group_left b:ratio offset 5m + scalar(c) > bool 0')).toEqual([
      "a_total",
      "b:ratio",
      "c",
    ]);
  });
});
