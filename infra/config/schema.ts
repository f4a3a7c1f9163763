import { z } from "zod";
import { kafkaConfig, mysqlConfig, redisConfig, zookeeperConfig } from "./data";
import { dnsLabel, positiveInt } from "./primitives";
import { routingConfig, serviceConfig, serviceName } from "./services";
import { jobsSchema, MQ_DEFAULTS } from "@classroom-platform/runtime/contracts";
import { imageRef } from "./primitives";

export const ENVIRONMENTS = ["dev", "staging", "prod", "local"] as const;

/** `<prefix>-data-default-deny` (the default-deny NetworkPolicy's instance label) must fit in 63. */
export const MAX_NAMESPACE_PREFIX_LENGTH = 63 - "-data-default-deny".length;

/**
 * Every `classroom:*` key a stack file may set, parsed once into one typed object. Defaults live here
 * and only here; sizes live in the stack files. Unknown keys are errors, so a typo never passes silently.
 */
export const platformConfigSchema = z.strictObject({
  environment: z.enum(ENVIRONMENTS, { error: `must be one of ${ENVIRONMENTS.join(", ")}` }),
  /** Prefix of the two namespaces (`<prefix>-data`, `<prefix>-apps`). Default: `classroom-<environment>`. */
  namespacePrefix: dnsLabel.refine((p) => p.length <= MAX_NAMESPACE_PREFIX_LENGTH, {
    error: (issue) => `must be at most ${MAX_NAMESPACE_PREFIX_LENGTH} characters, got ${String(issue.input).length}: infra/platform.ts derives the label value <prefix>-data-default-deny, which Kubernetes limits to 63`,
  }).optional(),
  /** Host directory under which every service writes its logs (`<logRoot>/<service>/`). */
  logRoot: z.string().regex(/^\/([-_.a-zA-Z0-9]+\/?)+$/, { error: "must be an absolute directory such as /data/logs/classroom/dev" }).default("/data/logs/classroom"),
  /** Write manifests to this directory instead of a cluster (render-only stacks such as `local`). */
  renderYamlToDirectory: z.string().min(1).optional(),
  /**
   * Create workloads without waiting for them to become ready. Only for clusters that have a control
   * plane but no kubelet, such as the end-to-end tests' local API server. Default: false.
   */
  skipAwait: z.enum(["true", "false"], { error: "must be true or false" }).transform((v) => v === "true").default(false),
  /** kubeconfig context to deploy to. Default: the current context. */
  kubeContext: z.string().min(1).optional(),
  /**
   * `.dockerconfigjson` content for pulling private classroom images. A credential, so it must be set with
   * `pulumi config set --secret classroom:imagePullSecret`; a plain-text value is rejected.
   */
  imagePullSecret: z.string().min(1).optional(),
  zookeeper: zookeeperConfig,
  kafka: kafkaConfig,
  redis: redisConfig,
  mysql: mysqlConfig,
  services: z.record(serviceName, serviceConfig).default({}),
  routing: routingConfig,
  /** Image with the platform's own daemons (runtime/: scheduler, Kafka-outage replayer). */
  runtimeImage: imageRef.default("registry.classroom.internal/classroom-platform-runtime:0.1.0"),
  scheduler: z.strictObject({
    /** Scheduler replicas; each fire runs once across all of them. */
    replicas: positiveInt.default(2),
    /** Jobs by name (runtime/scheduler/README.md): schedule, target, block and misfire strategies. */
    jobs: jobsSchema.default({}),
  }).prefault({}),
  mq: z.strictObject({
    /** Replicas of the Kafka-outage replayer; one holds each shard's lease at a time. */
    replayerReplicas: positiveInt.default(1),
    /** Redis Stream shards of the outage buffer (per-key order holds within a shard). */
    shards: positiveInt.default(MQ_DEFAULTS.shards),
  }).prefault({}),
}).superRefine((c, ctx) => {
  for (const [name, svc] of Object.entries(c.services)) {
    for (const callee of svc.calls) {
      if (!(callee in c.services)) {
        ctx.addIssue({ code: "custom", path: ["services", name, "calls"], input: callee, message: `names unknown service '${callee}' (declared: ${Object.keys(c.services).join(", ") || "none"})` });
      }
    }
  }
  for (const [name, svc] of Object.entries(c.services)) {
    if (c.routing.mode === "nginx-ingress" && svc.kind === "http" && svc.canary && svc.legacy) {
      ctx.addIssue({ code: "custom", path: ["services", name, "legacy"], input: undefined, message: "cannot be combined with a canary when routing.mode is nginx-ingress (ingress-nginx honours one canary Ingress per path); use routing.mode gateway-api or drop one of them" });
    }
  }
  for (const [name, svc] of Object.entries(c.services)) {
    if (c.routing.mode !== "nginx-ingress" || !svc.canary?.match) continue;
    const m = svc.canary.match;
    const problem = m.some((x) => x.query) ? "cannot match a query parameter when routing.mode is nginx-ingress (ingress-nginx routes canaries by one header and one cookie only)"
      : m.filter((x) => x.header).length > 1 || m.filter((x) => x.cookie).length > 1 ? "may list at most one header and one cookie match when routing.mode is nginx-ingress (canary-by-header, canary-by-cookie)"
        : m.some((x) => x.cookie && x.value !== "always") ? "must have cookie value always when routing.mode is nginx-ingress (ingress-nginx sends a request to the canary when the cookie says always)"
          : undefined;
    if (problem) ctx.addIssue({ code: "custom", path: ["services", name, "canary", "match"], input: undefined, message: problem });
  }
  for (const [job, spec] of Object.entries(c.scheduler.jobs)) {
    const target = (spec.target as { http?: { service: string } }).http;
    if (target && !(target.service in c.services)) {
      ctx.addIssue({ code: "custom", path: ["scheduler", "jobs", job, "target", "http", "service"], input: target.service, message: `names unknown service '${target.service}' (declared: ${Object.keys(c.services).join(", ") || "none"})` });
    }
  }
  if (c.environment === "local" && !c.renderYamlToDirectory) {
    ctx.addIssue({ code: "custom", path: ["renderYamlToDirectory"], input: undefined, message: "is required for environment local (a render-only stack never talks to a cluster)" });
  }
});

export type PlatformConfigInput = z.input<typeof platformConfigSchema>;
export type ParsedPlatformConfig = z.output<typeof platformConfigSchema>;
