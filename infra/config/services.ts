import { z } from "zod";
import { dnsLabel, imageRef, percent, port, positiveInt, quantity, resources } from "./primitives";
import { rolloutConfig } from "./rollout";

export const SERVICE_KINDS = ["http", "rpc", "consumer", "worker"] as const;

/**
 * Every name the components derive from a service name (components/apps, components/traffic), with the
 * limit Kubernetes puts on it: 63 for Service names, label values and the name part of a label key,
 * 253 for other object names. tests/unit/config-derived-names.test.ts renders the longest allowed name
 * and checks every object against these limits, so a new derived name cannot slip past this table.
 */
export const NAMES_DERIVED_FROM_SERVICE = [
  { name: "<name>-stable", limit: 63, what: "track Service and app.kubernetes.io/instance label" },
  { name: "<name>-canary", limit: 63, what: "track Service and app.kubernetes.io/instance label" },
  { name: "<name>-legacy", limit: 63, what: "legacy VM Service and kubernetes.io/service-name label" },
  { name: "calls-<name>", limit: 63, what: "name part of the classroom.io/calls-<name> label key on callers" },
  { name: "<name>", limit: 63, what: "umbrella Service" },
  { name: "<name>-credentials", limit: 253, what: "Secret" },
  { name: "<name>-legacy-vms", limit: 253, what: "EndpointSlice" },
] as const;

const tightest = [...NAMES_DERIVED_FROM_SERVICE].sort((a, b) => (a.limit - a.name.length) - (b.limit - b.name.length))[0];
/** The longest service name whose every derived name fits its limit. */
export const MAX_SERVICE_NAME_LENGTH = tightest.limit - (tightest.name.length - "<name>".length);

/** A service name: a DNS label short enough for every name derived from it. */
export const serviceName = dnsLabel.refine((n) => n.length <= MAX_SERVICE_NAME_LENGTH, {
  error: (issue) => `must be at most ${MAX_SERVICE_NAME_LENGTH} characters, got ${String(issue.input).length}: the components derive ${tightest.name} (${tightest.what}), which Kubernetes limits to ${tightest.limit}`,
});
export const DATA_SYSTEM_NAMES = ["redis", "mysql", "zookeeper", "kafka"] as const;
export const REGISTRATION_MODES = ["self", "registrar"] as const;

const track = z.strictObject({
  image: imageRef,
  replicas: z.number().int().min(0, { error: "must be a whole number >= 0" }),
});

const ipv4Endpoint = z.string().regex(/^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d):\d{1,5}$/, {
  error: "must be an IPv4 address with a port, such as 10.20.0.11:8080",
}).refine((e) => { const p = Number(e.split(":")[1]); return p >= 1 && p <= 65535; }, { error: "must have a port between 1 and 65535" });

export const MATCH_TYPES = ["header", "cookie", "query"] as const;
const matchName = z.string().regex(/^[A-Za-z0-9][-_.A-Za-z0-9]*$/, { error: "must be a name of letters, digits, '-', '_' and '.'" });

/** One request-based canary rule: requests with this header, cookie or query parameter value go to the canary. */
export const requestMatch = z.strictObject({
  header: matchName.optional().describe("HTTP header name whose value sends the request to the canary"),
  cookie: matchName.optional().describe("cookie name whose value sends the request to the canary"),
  query: matchName.optional().describe("query parameter name whose value sends the request to the canary"),
  value: z.string().min(1, { error: "must be a non-empty string" }).regex(/^[^;\s]+$/, { error: "must have no spaces or ';'" })
    .describe("the exact value that matches"),
}).refine((m) => MATCH_TYPES.filter((t) => m[t] !== undefined).length === 1, { error: `must name exactly one of ${MATCH_TYPES.join(", ")}` });

/** One service as a stack declares it. The release CLI edits `stable`, `canary` and `history`. */
export const serviceConfig = z.strictObject({
  kind: z.enum(SERVICE_KINDS, { error: `must be one of ${SERVICE_KINDS.join(", ")}` }),
  /** Port the service listens on (HTTP or RPC; consumers and workers expose only metrics/health). */
  port: port.default(8080),
  /** Data systems the service uses: each becomes env vars, a secret file and a NetworkPolicy path. */
  uses: z.array(z.enum(DATA_SYSTEM_NAMES, { error: `must be one of ${DATA_SYSTEM_NAMES.join(", ")}` })).default([]),
  /** Other classroom services this one calls (opens NetworkPolicy egress to them). */
  calls: z.array(serviceName).default([]),
  stable: track,
  canary: track.extend({
    weight: percent,
    /** Written by `release ... run`: the plan step (1-based) the canary is at, so an interrupted run resumes there. */
    step: z.number().int().min(1, { error: "must be a whole number >= 1" }).optional()
      .describe("written by `release ... run`: the rollout step (1-based) this canary is at; a new run resumes there"),
    match: z.array(requestMatch).min(1, { error: "must list at least one match" }).optional()
      .describe("requests sent to the canary whatever the weight (kind http): a list of {header|cookie|query, value}, any one matching"),
  }).optional(),
  /** Progressive delivery plan for `release ... run`; unset parts take the kind's defaults (infra/config/rollout-defaults.ts). */
  rollout: rolloutConfig.optional().describe("progressive delivery plan for `release ... run`: steps and analysis (defaults per kind)"),
  legacy: z.strictObject({
    endpoints: z.array(ipv4Endpoint).min(1, { error: "must list at least one VM endpoint" }),
    weight: percent,
  }).optional(),
  resources: resources.optional(),
  autoscaling: z.strictObject({
    minReplicas: positiveInt,
    maxReplicas: positiveInt,
    cpuUtilization: z.number().int().min(10).max(100).default(70),
  }).refine((a) => a.maxReplicas >= a.minReplicas, { error: "maxReplicas must be >= minReplicas" }).optional(),
  /** Health endpoint for HTTP probes. Default: /healthz. */
  healthPath: z.string().regex(/^\//, { error: "must be an absolute path such as /healthz" }).default("/healthz"),
  /** Config files, mounted from a ConfigMap at /etc/classroom/config. */
  configFiles: z.record(z.string().regex(/^[-._a-zA-Z0-9]+$/, { error: "must be a file name" }), z.string()).default({}),
  /** Scratch emptyDir at /var/cache/classroom. */
  scratch: z.strictObject({ sizeLimit: quantity.default("256Mi"), memory: z.boolean().default(false) }).prefault({}),
  /** Seconds between SIGTERM and SIGKILL; long enough to leave ZooKeeper and drain. */
  terminationGraceSeconds: z.number().int().min(5).max(600).default(45),
  /** HTTP routing (kind http): path prefix and hostnames on the shared Gateway. */
  /** rpc only: `self` (pods register through runtime/discovery) or `registrar` (runtime/registrar writes their nodes from Kubernetes endpoints). */
  registration: z.enum(REGISTRATION_MODES, { error: `must be one of ${REGISTRATION_MODES.join(", ")}` }).default("self"),
  route: z.strictObject({
    pathPrefix: z.string().regex(/^\//, { error: "must be an absolute path prefix such as /api/rooms" }),
    hostnames: z.array(z.string().min(1)).default([]),
  }).optional(),
  /** Images stable ran before, newest last; written by `npm run release -- … promote`, read by rollback. */
  history: z.array(z.strictObject({ image: imageRef, promotedAt: z.string().optional() })).default([]),
}).superRefine((s, ctx) => {
  if (s.legacy && (s.kind === "consumer" || s.kind === "worker")) {
    ctx.addIssue({ code: "custom", path: ["legacy"], input: s.legacy, message: `is only for http and rpc services (a ${s.kind} receives no traffic to split)` });
  }
  if (s.kind === "http" && !s.route) ctx.addIssue({ code: "custom", path: ["route"], input: undefined, message: "is required for kind http (pathPrefix on the Gateway)" });
  if (s.kind !== "rpc" && s.registration !== "self") ctx.addIssue({ code: "custom", path: ["registration"], input: s.registration, message: `is only for kind rpc (a ${s.kind} service is not registered in ZooKeeper)` });
  if (s.kind !== "http" && s.route) ctx.addIssue({ code: "custom", path: ["route"], input: s.route, message: "is only for kind http" });
  const weights = (s.canary?.weight ?? 0) + (s.legacy?.weight ?? 0);
  if (s.canary && s.legacy && weights > 100) ctx.addIssue({ code: "custom", path: ["canary", "weight"], input: weights, message: "plus legacy.weight must be <= 100 (stable gets the rest)" });
  if (s.canary?.match && s.kind !== "http") {
    ctx.addIssue({ code: "custom", path: ["canary", "match"], input: s.canary.match, message: `is only for kind http${s.kind === "rpc" ? " (rpc callers pass a track or a key to the discovery picker instead)" : ` (a ${s.kind} receives no requests)`}` });
  }
  if (s.kind === "rpc" && !s.uses.includes("zookeeper")) {
    ctx.addIssue({ code: "custom", path: ["uses"], input: s.uses, message: "must include zookeeper for kind rpc (instances register there)" });
  }
});

export type ServiceConfig = z.infer<typeof serviceConfig>;

export const routingConfig = z.strictObject({
  /** `gateway-api` (HTTPRoute, the default) or `nginx-ingress` (canary-annotated Ingresses, for clusters that still run it). */
  mode: z.enum(["gateway-api", "nginx-ingress"], { error: "must be one of gateway-api, nginx-ingress" }).default("gateway-api"),
  gateway: z.strictObject({ name: dnsLabel, namespace: dnsLabel, sectionName: z.string().optional() }).prefault({ name: "classroom", namespace: "gateway" }),
  ingressClassName: z.string().default("nginx"),
}).prefault({});
