import { z } from "zod";
import { kafkaConfig, mysqlConfig, redisConfig, zookeeperConfig } from "./data";
import { apiServerAddress, dnsLabel, port, positiveInt, REGISTRAR_API_SERVER_ANY } from "./primitives";
import { externalsConfig, RESERVED_EXTERNAL_NAMES } from "./externals";
import { logsConfig } from "./logs";
import { monitoringConfig } from "./monitoring";
import { MAX_SERVICE_NAME_LENGTH, routingConfig, serviceConfig, serviceName } from "./services";
import { closest } from "./suggest";
import { jobsSchema, MQ_DEFAULTS } from "@classroom-platform/runtime/contracts";
import { imageRef } from "./primitives";

/**
 * The runtime image of a stack that does not pin one: a tag, because no digest of the image is known
 * until the runtime-image workflow has built and pushed it (README: the runtime image).
 */
export const DEFAULT_RUNTIME_IMAGE = "registry.classroom.internal/classroom-platform-runtime:0.1.0";

export const ENVIRONMENTS = ["dev", "staging", "prod", "local"] as const;

/** `<prefix>-data-default-deny` (the default-deny NetworkPolicy's instance label) must fit in 63. */
export const MAX_NAMESPACE_PREFIX_LENGTH = 63 - "-data-default-deny".length;

/**
 * Every `classroom:*` key a stack file may set, parsed once into one typed object. Defaults live here
 * and only here; sizes live in the stack files. Unknown keys are errors, so a typo never passes silently.
 */
export const platformConfigSchema = z
  .strictObject({
    environment: z
      .enum(ENVIRONMENTS, { error: `must be one of ${ENVIRONMENTS.join(", ")}` })
      .describe(
        `Which environment the stack is (${ENVIRONMENTS.join(", ")}); selects the policy enforcement file, nothing else (the stack file gives the sizes)`,
      ),
    namespacePrefix: dnsLabel
      .refine((p) => p.length <= MAX_NAMESPACE_PREFIX_LENGTH, {
        error: (issue) =>
          `must be at most ${MAX_NAMESPACE_PREFIX_LENGTH} characters, got ${String(issue.input).length}: infra/platform.ts derives the label value <prefix>-data-default-deny, which Kubernetes limits to 63`,
      })
      .optional()
      .describe(
        `Prefix of the two namespaces <prefix>-data and <prefix>-apps; a DNS label of at most ${MAX_NAMESPACE_PREFIX_LENGTH} characters. Default: classroom-<environment>`,
      ),
    logRoot: z
      .string()
      .regex(/^\/([-_.a-zA-Z0-9]+\/?)+$/, { error: "must be an absolute directory such as /data/logs/classroom/dev" })
      .default("/data/logs/classroom")
      .describe("Host directory under which every service logs to <logRoot>/<service>/; the policy hostpath-log-root-only reads it from the namespaces"),
    renderYamlToDirectory: z
      .string()
      .min(1)
      .optional()
      .describe("Write manifests to this directory instead of deploying to a cluster; required for environment local"),
    skipAwait: z
      .enum(["true", "false"], { error: "must be true or false" })
      .transform((v) => v === "true")
      .default(false)
      .describe(
        "Create workloads without waiting for them to become ready; only for control planes without kubelets, such as the end-to-end tests' API server",
      ),
    kubeContext: z.string().min(1).optional().describe("kubeconfig context to deploy to. Default: the current context"),
    imagePullSecret: z
      .string()
      .min(1)
      .optional()
      .describe("A .dockerconfigjson for private classroom images; a credential, so only accepted when set with pulumi config set --secret"),
    zookeeper: zookeeperConfig,
    kafka: kafkaConfig,
    redis: redisConfig,
    mysql: mysqlConfig,
    services: z
      .record(serviceName, serviceConfig)
      .default({})
      .describe(`The classroom services by name (a DNS label of at most ${MAX_SERVICE_NAME_LENGTH} characters: the components derive longer names from it)`),
    routing: routingConfig,
    externals: externalsConfig,
    runtimeImage: imageRef
      .optional()
      .describe(
        `Image of the platform's own daemons (runtime/: scheduler, Kafka-outage replayer, registrar), pinned by digest by npm run release:runtime-image; once set, policy runtime-image-digest-required checks the daemons run it by digest. Unset: ${DEFAULT_RUNTIME_IMAGE}`,
      ),
    scheduler: z
      .strictObject({
        replicas: positiveInt.default(2).describe("Scheduler replicas; each fire runs once across all of them"),
        jobs: jobsSchema.default({}).describe("Scheduled jobs by name (runtime/scheduler/README.md)"),
      })
      .prefault({})
      .describe("The second-level job scheduler (runtime/scheduler); deployed only when a job is declared"),
    logs: logsConfig,
    registrar: z
      .strictObject({
        apiServer: z
          .array(apiServerAddress)
          .min(1, { error: "must list at least one address or CIDR of the Kubernetes API server" })
          .default([...REGISTRAR_API_SERVER_ANY])
          .describe(
            "Addresses (IPs or CIDRs) of the Kubernetes API server's endpoints (`kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes`), the only addresses the registrar pods may reach besides ZooKeeper and DNS. Default: any address (0.0.0.0/0, ::/0), for clusters whose control plane addresses are not known to the stack.",
          ),
        apiServerPorts: z
          .array(port)
          .min(1, { error: "must list at least one port" })
          .default([443, 6443])
          .describe("TCP ports of the API server endpoints the registrar may reach. Default: 443 and 6443."),
      })
      .prefault({})
      .describe("The registrar daemon (runtime/registrar), deployed when an rpc service uses registration: registrar."),
    monitoring: monitoringConfig,
    mq: z
      .strictObject({
        replayerReplicas: positiveInt.default(1).describe("Replicas of the Kafka-outage replayer; one holds each shard's lease at a time"),
        shards: positiveInt
          .default(MQ_DEFAULTS.shards)
          .describe("Redis Stream shards of the outage buffer (per-key order holds within a shard); producers and replayer agree on it"),
      })
      .prefault({})
      .describe("The Kafka-outage buffer in Redis and its replayer (runtime/mq)"),
  })
  .superRefine((c, ctx) => {
    const services = Object.keys(c.services);
    const externals = Object.keys(c.externals);
    for (const [name, svc] of Object.entries(c.services)) {
      for (const callee of svc.calls) {
        if (!(callee in c.services) && !(callee in c.externals)) {
          const near = closest(callee, [...services, ...externals]);
          ctx.addIssue({
            code: "custom",
            path: ["services", name, "calls"],
            input: callee,
            message: `names '${callee}', which is neither a declared service nor a declared external (services: ${services.join(", ") || "none"}; externals: ${externals.join(", ") || "none"})${near ? `; did you mean ${near}?` : `; declare it under classroom:externals.${callee}`}`,
          });
        }
      }
    }
    // An external becomes a Service of the apps namespace under its own name, beside the services' Services.
    const taken = new Map<string, string>(RESERVED_EXTERNAL_NAMES.map((n) => [n, `the platform's ${n} daemon`]));
    for (const s of services) for (const n of [s, `${s}-stable`, `${s}-canary`, `${s}-legacy`]) taken.set(n, `service ${s}`);
    for (const name of externals) {
      const owner = taken.get(name);
      if (owner)
        ctx.addIssue({
          code: "custom",
          path: ["externals", name],
          input: undefined,
          message: `is a name ${owner} already uses for a Service in the apps namespace; rename the external`,
        });
    }
    for (const [name, svc] of Object.entries(c.services)) {
      if (c.routing.mode === "nginx-ingress" && svc.kind === "http" && svc.canary && svc.legacy) {
        ctx.addIssue({
          code: "custom",
          path: ["services", name, "legacy"],
          input: undefined,
          message:
            "cannot be combined with a canary when routing.mode is nginx-ingress (ingress-nginx honours one canary Ingress per path); use routing.mode gateway-api or drop one of them",
        });
      }
    }
    for (const [name, svc] of Object.entries(c.services)) {
      if (c.routing.mode !== "nginx-ingress" || !svc.canary?.match) continue;
      const m = svc.canary.match;
      const problem = m.some((x) => x.query)
        ? "cannot match a query parameter when routing.mode is nginx-ingress (ingress-nginx routes canaries by one header and one cookie only)"
        : m.filter((x) => x.header).length > 1 || m.filter((x) => x.cookie).length > 1
          ? "may list at most one header and one cookie match when routing.mode is nginx-ingress (canary-by-header, canary-by-cookie)"
          : m.some((x) => x.cookie && x.value !== "always")
            ? "must have cookie value always when routing.mode is nginx-ingress (ingress-nginx sends a request to the canary when the cookie says always)"
            : undefined;
      if (problem) ctx.addIssue({ code: "custom", path: ["services", name, "canary", "match"], input: undefined, message: problem });
    }
    for (const [job, spec] of Object.entries(c.scheduler.jobs)) {
      const target = (spec.target as { http?: { service: string } }).http;
      if (target && !(target.service in c.services)) {
        ctx.addIssue({
          code: "custom",
          path: ["scheduler", "jobs", job, "target", "http", "service"],
          input: target.service,
          message: `names unknown service '${target.service}' (declared: ${Object.keys(c.services).join(", ") || "none"})`,
        });
      }
    }
    if (c.environment === "local" && !c.renderYamlToDirectory) {
      ctx.addIssue({
        code: "custom",
        path: ["renderYamlToDirectory"],
        input: undefined,
        message: "is required for environment local (a render-only stack never talks to a cluster)",
      });
    }
  });

export type PlatformConfigInput = z.input<typeof platformConfigSchema>;
export type ParsedPlatformConfig = z.output<typeof platformConfigSchema>;
