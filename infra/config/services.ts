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
  { name: "<name>-east-west", limit: 253, what: "GAMMA HTTPRoute (routing.eastWest gamma)" },
] as const;

const tightest = [...NAMES_DERIVED_FROM_SERVICE].sort((a, b) => a.limit - a.name.length - (b.limit - b.name.length))[0];
/** The longest service name whose every derived name fits its limit. */
export const MAX_SERVICE_NAME_LENGTH = tightest.limit - (tightest.name.length - "<name>".length);

/** A service name: a DNS label short enough for every name derived from it. */
export const serviceName = dnsLabel.refine((n) => n.length <= MAX_SERVICE_NAME_LENGTH, {
  error: (issue) =>
    `must be at most ${MAX_SERVICE_NAME_LENGTH} characters, got ${String(issue.input).length}: the components derive ${tightest.name} (${tightest.what}), which Kubernetes limits to ${tightest.limit}`,
});
export const DATA_SYSTEM_NAMES = ["redis", "mysql", "zookeeper", "kafka"] as const;
export const REGISTRATION_MODES = ["self", "registrar"] as const;

const track = z.strictObject({
  image: imageRef.describe("Image of this track"),
  replicas: z.number().int().min(0, { error: "must be a whole number >= 0" }).describe("Pods of this track (0 scales it down without deleting it)"),
});

const ipv4Endpoint = z
  .string()
  .regex(/^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d):\d{1,5}$/, {
    error: "must be an IPv4 address with a port, such as 10.20.0.11:8080",
  })
  .refine(
    (e) => {
      const p = Number(e.split(":")[1]);
      return p >= 1 && p <= 65535;
    },
    { error: "must have a port between 1 and 65535" },
  );

export const MATCH_TYPES = ["header", "cookie", "query"] as const;
const matchName = z.string().regex(/^[A-Za-z0-9][-_.A-Za-z0-9]*$/, { error: "must be a name of letters, digits, '-', '_' and '.'" });

/** One request-based canary rule: requests with this header, cookie or query parameter value go to the canary. */
export const requestMatch = z
  .strictObject({
    header: matchName.optional().describe("HTTP header name whose value sends the request to the canary"),
    cookie: matchName.optional().describe("cookie name whose value sends the request to the canary"),
    query: matchName.optional().describe("query parameter name whose value sends the request to the canary"),
    value: z
      .string()
      .min(1, { error: "must be a non-empty string" })
      .regex(/^[^;\s]+$/, { error: "must have no spaces or ';'" })
      .describe("the exact value that matches"),
  })
  .refine((m) => MATCH_TYPES.filter((t) => m[t] !== undefined).length === 1, { error: `must name exactly one of ${MATCH_TYPES.join(", ")}` });

/** One service as a stack declares it. The release CLI edits `stable`, `canary` and `history`. */
export const serviceConfig = z
  .strictObject({
    kind: z
      .enum(SERVICE_KINDS, { error: `must be one of ${SERVICE_KINDS.join(", ")}` })
      .describe("http (behind the gateway), rpc (registered in ZooKeeper), consumer (Kafka) or worker (daemon)"),
    port: port.default(8080).describe("Port the service listens on (consumers and workers expose only health and metrics there)"),
    uses: z
      .array(z.enum(DATA_SYSTEM_NAMES, { error: `must be one of ${DATA_SYSTEM_NAMES.join(", ")}` }))
      .default([])
      .describe("Data systems the service uses; each becomes env vars, a credentials file and a NetworkPolicy path"),
    calls: z
      .array(dnsLabel)
      .default([])
      .describe("Other classroom services and declared externals (classroom:externals) this one calls; each opens NetworkPolicy egress to exactly that peer."),
    stable: track.describe("The stable track; written by the release CLI"),
    canary: track
      .extend({
        weight: percent.describe("Share of traffic the canary gets, 0-100"),
        step: z
          .number()
          .int()
          .min(1, { error: "must be a whole number >= 1" })
          .optional()
          .describe("Written by `release ... run`: the rollout step (1-based) this canary is at; a new run resumes there"),
        match: z
          .array(requestMatch)
          .min(1, { error: "must list at least one match" })
          .optional()
          .describe("Requests sent to the canary whatever the weight (kind http): a list of {header|cookie|query, value}, any one matching"),
      })
      .optional()
      .describe("A canary track beside stable; written by the release CLI"),
    rollout: rolloutConfig
      .optional()
      .describe("Progressive delivery plan for `release ... run`: steps and analysis (unset parts take the kind's defaults, infra/config/rollout-defaults.ts)"),
    legacy: z
      .strictObject({
        endpoints: z.array(ipv4Endpoint).min(1, { error: "must list at least one VM endpoint" }).describe("The VMs as ip:port"),
        weight: percent.describe("Share of traffic the VMs get, 0-100"),
      })
      .optional()
      .describe("Legacy VMs that keep a share of the traffic during the migration (http and rpc only)"),
    resources: resources.optional().describe("CPU and memory of each pod. Default: 250m/256Mi requested, 512Mi memory limit"),
    autoscaling: z
      .strictObject({
        minReplicas: positiveInt.describe("Fewest stable pods"),
        maxReplicas: positiveInt.describe("Most stable pods; at least minReplicas"),
        cpuUtilization: z.number().int().min(10).max(100).default(70).describe("Average CPU utilization (% of requests) the HPA aims for"),
      })
      .refine((a) => a.maxReplicas >= a.minReplicas, { error: "maxReplicas must be >= minReplicas" })
      .optional()
      .describe("A HorizontalPodAutoscaler for the stable track; without it stable.replicas is fixed"),
    healthPath: z
      .string()
      .regex(/^\//, { error: "must be an absolute path such as /healthz" })
      .default("/healthz")
      .describe("Health endpoint of the HTTP probes"),
    configFiles: z
      .record(z.string().regex(/^[-._a-zA-Z0-9]+$/, { error: "must be a file name" }), z.string())
      .default({})
      .describe("Config files by name, mounted from a ConfigMap at /etc/classroom/config"),
    scratch: z
      .strictObject({
        sizeLimit: quantity.default("256Mi").describe("Size limit of the scratch volume"),
        memory: z.boolean().default(false).describe("Back the scratch volume with memory (tmpfs) instead of the node's disk"),
      })
      .prefault({})
      .describe("Scratch emptyDir at /var/cache/classroom"),
    terminationGraceSeconds: z
      .number()
      .int()
      .min(5)
      .max(600)
      .default(45)
      .describe("Seconds between SIGTERM and SIGKILL; long enough to leave ZooKeeper and drain"),
    registration: z
      .enum(REGISTRATION_MODES, { error: `must be one of ${REGISTRATION_MODES.join(", ")}` })
      .default("self")
      .describe(
        "rpc only: self (pods register through runtime/discovery) or registrar (runtime/registrar writes their ZooKeeper nodes from the track Services' endpoints)",
      ),
    route: z
      .strictObject({
        pathPrefix: z
          .string()
          .regex(/^\//, { error: "must be an absolute path prefix such as /api/rooms" })
          .describe("Path prefix routed to the service, e.g. /api/rooms"),
        hostnames: z.array(z.string().min(1)).default([]).describe("Hostnames the route matches; none matches every hostname of the Gateway or Ingress"),
      })
      .optional()
      .describe("HTTP exposure, required for kind http and only for it"),
    history: z
      .array(
        z.strictObject({
          image: imageRef.describe("An image stable ran"),
          promotedAt: z.string().optional().describe("When it was promoted (ISO 8601)"),
        }),
      )
      .default([])
      .describe("Images stable ran before, newest last; written by the release CLI's promote, read by rollback"),
  })
  .superRefine((s, ctx) => {
    if (s.legacy && (s.kind === "consumer" || s.kind === "worker")) {
      ctx.addIssue({
        code: "custom",
        path: ["legacy"],
        input: s.legacy,
        message: `is only for http and rpc services (a ${s.kind} receives no traffic to split)`,
      });
    }
    if (s.kind === "http" && !s.route)
      ctx.addIssue({ code: "custom", path: ["route"], input: undefined, message: "is required for kind http (pathPrefix on the Gateway)" });
    if (s.kind !== "rpc" && s.registration !== "self")
      ctx.addIssue({
        code: "custom",
        path: ["registration"],
        input: s.registration,
        message: `is only for kind rpc (a ${s.kind} service is not registered in ZooKeeper)`,
      });
    if (s.kind !== "http" && s.route) ctx.addIssue({ code: "custom", path: ["route"], input: s.route, message: "is only for kind http" });
    const weights = (s.canary?.weight ?? 0) + (s.legacy?.weight ?? 0);
    if (s.canary && s.legacy && weights > 100)
      ctx.addIssue({ code: "custom", path: ["canary", "weight"], input: weights, message: "plus legacy.weight must be <= 100 (stable gets the rest)" });
    if (s.canary?.match && s.kind !== "http") {
      ctx.addIssue({
        code: "custom",
        path: ["canary", "match"],
        input: s.canary.match,
        message: `is only for kind http${s.kind === "rpc" ? " (rpc callers pass a track or a key to the discovery picker instead)" : ` (a ${s.kind} receives no requests)`}`,
      });
    }
    if (s.kind === "rpc" && !s.uses.includes("zookeeper")) {
      ctx.addIssue({ code: "custom", path: ["uses"], input: s.uses, message: "must include zookeeper for kind rpc (instances register there)" });
    }
  });

export type ServiceConfig = z.infer<typeof serviceConfig>;
export type TrackConfig = ServiceConfig["stable"];

export const EAST_WEST_MODES = ["none", "gamma"] as const;
/** The listeners of a Gateway the platform declares (components/traffic/gateway.ts). */
export const GATEWAY_LISTENERS = ["http", "https"] as const;
/** A namespace the platform creates for its Gateway gets `<namespace>-default-deny` as a label value (63 at most). */
export const MAX_GATEWAY_NAMESPACE_LENGTH = 63 - "-default-deny".length;

export const routingConfig = z
  .strictObject({
    mode: z
      .enum(["gateway-api", "nginx-ingress"], { error: "must be one of gateway-api, nginx-ingress" })
      .default("gateway-api")
      .describe("gateway-api (weighted HTTPRoutes) or nginx-ingress (canary-annotated Ingresses, for clusters that still run it)"),
    gateway: z
      .strictObject({
        name: dnsLabel.describe("Name of the Gateway (the shared one, or the one the platform creates)"),
        namespace: dnsLabel.describe("Namespace of the Gateway; admitted to the http services by their NetworkPolicies"),
        sectionName: z.string().optional().describe("Listener of the Gateway to attach to. Default: every listener"),
        create: z
          .boolean({ error: "must be true or false" })
          .default(false)
          .describe(
            "true: the platform declares the Gateway (HTTP and HTTPS listeners, routes only from the apps namespace) and its namespace; false (default): routes attach to an existing Gateway.",
          ),
        className: dnsLabel.optional().describe("create only: the GatewayClass of the cluster's Gateway controller (required with create)."),
        tls: z
          .strictObject({
            certificateSecret: dnsLabel.describe(
              "Name of the kubernetes.io/tls Secret, in the Gateway's namespace, that the HTTPS listener terminates TLS with.",
            ),
          })
          .optional()
          .describe("create only: the HTTPS listener's certificate (required with create)."),
      })
      .superRefine((g, ctx) => {
        if (g.create && !g.className)
          ctx.addIssue({
            code: "custom",
            path: ["className"],
            input: undefined,
            message: "is required when create is true (the GatewayClass of the cluster's Gateway controller)",
          });
        if (g.create && !g.tls)
          ctx.addIssue({
            code: "custom",
            path: ["tls"],
            input: undefined,
            message: "is required when create is true (tls.certificateSecret: the HTTPS listener's certificate Secret)",
          });
        if (!g.create && (g.className || g.tls))
          ctx.addIssue({ code: "custom", path: [g.className ? "className" : "tls"], input: undefined, message: "is only used when create is true" });
        if (g.create && g.namespace.length > MAX_GATEWAY_NAMESPACE_LENGTH) {
          ctx.addIssue({
            code: "custom",
            path: ["namespace"],
            input: g.namespace,
            message: `must be at most ${MAX_GATEWAY_NAMESPACE_LENGTH} characters when create is true, got ${g.namespace.length}: infra/gateway.ts derives the label value <namespace>-default-deny, which Kubernetes limits to 63`,
          });
        }
        if (g.create && g.sectionName && !(GATEWAY_LISTENERS as readonly string[]).includes(g.sectionName)) {
          ctx.addIssue({
            code: "custom",
            path: ["sectionName"],
            input: g.sectionName,
            message: `must be one of ${GATEWAY_LISTENERS.join(", ")} when create is true (the listeners the platform declares)`,
          });
        }
      })
      .prefault({ name: "classroom", namespace: "gateway" })
      .describe("The Gateway the HTTPRoutes attach to (gateway-api mode), or the one the platform declares (create)"),
    ingressClassName: z.string().default("nginx").describe("IngressClass of the Ingresses (nginx-ingress mode)"),
    eastWest: z
      .enum(EAST_WEST_MODES, { error: `must be one of ${EAST_WEST_MODES.join(", ")}` })
      .default("none")
      .describe(
        "East-west routing of HTTP services: gamma (a Gateway API HTTPRoute attached to each HTTP service's Service splits in-cluster calls like the gateway does; needs a GAMMA-capable mesh) or none (default: callers reach the umbrella Service).",
      ),
  })
  .superRefine((r, ctx) => {
    if (r.gateway.create && r.mode !== "gateway-api")
      ctx.addIssue({
        code: "custom",
        path: ["gateway", "create"],
        input: true,
        message: "is only for mode gateway-api (ingress-nginx serves its own Ingresses)",
      });
  })
  .prefault({})
  .describe("How http services are exposed");

export type RoutingConfig = z.output<typeof routingConfig>;
