import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DISCOVERY_ENV } from "@classroom-platform/runtime/contracts";
import type { RoutingConfig, ServiceConfig, TrackConfig } from "../../infra/config";
import { contentChecksum } from "../shared/checksum";
import { DataConnection } from "../shared/connection";
import { disruptionBudget } from "../shared/disruption-budget";
import { imageVersion, selectorLabels, workloadLabels, WorkloadIdentity } from "../shared/labels";
import { podsIn, tcp, workloadNetworkPolicy } from "../shared/network-policy";
import { ServiceTopology } from "../shared/topology";
import { legacyBackend } from "../traffic/legacy-backend";
import { eastWestHttpRoute } from "../traffic/east-west-route";
import { weightedHttpRoute } from "../traffic/http-route";
import { nginxCanaryIngresses } from "../traffic/nginx-canary";
import { TrafficSplit, trafficSplit } from "../traffic/weights";
import { connectionWiring } from "./connections";
import { CalleePeer, ExternalPeer, serviceEgressRules } from "./egress";
import { servicePodTemplate } from "./pod-template";
import { registrationEnv, RegistryArgs, trackServiceRegistration } from "./registration";
import { scrapeAnnotations, scrapeIngress, ScrapeSettings } from "../monitoring/scrape";

/** A track as the stack declares it (`stable`, `canary`). */
export type TrackArgs = TrackConfig;

/**
 * The service's keys as the schema parsed them (infra/config/services.ts validates and documents each,
 * checks that combine them included: a route for http, legacy backends only for http and rpc, weights
 * summing to at most 100), plus what infra derives from the rest of the stack.
 */
export type ClassroomServiceArgs = Pick<
  ServiceConfig,
  "kind" | "port" | "stable" | "canary" | "legacy" | "resources" | "autoscaling" | "healthPath" | "configFiles" | "scratch" | "terminationGraceSeconds"
> & {
  /** Namespace of the service (the stack's apps namespace). */
  namespace: string;
  /** Data systems the service uses; each becomes env vars, credential files and a NetworkPolicy path. */
  connections: DataConnection[];
  /** Other services this one calls, with their port and the legacy VMs that share their traffic. */
  calls: CalleePeer[];
  /** External systems this one calls (egress to their addresses and ports). Default: none. */
  externals?: ExternalPeer[];
  /** Services that call this one (their pods are admitted). */
  callers: string[];
  /** Stack log root; logs go to `<logRoot>/<service>/` on the node. */
  logRoot: string;
  /** The ZooKeeper registry; read only for kind rpc. */
  registry: RegistryArgs;
  /** HTTP exposure (kind http): the service's route with the stack's routing settings. */
  route?: NonNullable<ServiceConfig["route"]> & Pick<RoutingConfig, "mode" | "gateway" | "ingressClassName" | "eastWest">;
  /** Extra environment variables (daemon settings). Default: none. */
  env?: Record<string, string>;
  /** Command overriding the image entrypoint (the platform's daemons share one runtime image). Default: the image's. */
  command?: string[];
  /** ServiceAccount whose API token the pods mount (daemons that call the Kubernetes API). Default: none, no token. */
  serviceAccountName?: string;
  /** Annotations of the pods besides the platform's own (the runtime image the daemons run). Default: none. */
  podAnnotations?: Record<string, string>;
  /** Pull secret name for private images. */
  imagePullSecret?: pulumi.Input<string>;
  /** How the stack scrapes the pods' /metrics; omitted: not scraped. */
  scrape?: ScrapeSettings;
};

/** What a service's pods request when the stack gives no `resources`. */
const DEFAULT_RESOURCES = { requests: { cpu: "250m", memory: "256Mi" }, limits: { memory: "512Mi" } };

/**
 * Where a service's pods serve /metrics: on the main port, except rpc services (gRPC there), which serve
 * it on the OpenTelemetry Prometheus exporter's default port.
 */
export const RPC_METRICS_PORT = 9464;

/**
 * One classroom service with a stable and an optional canary track, each its own Deployment and
 * Service, plus an umbrella Service over both, weighted HTTP routing or ZooKeeper registration settings,
 * legacy VM backends, autoscaling, disruption budgets and exactly the network paths it declares.
 *
 * A weight change touches only the route (http) or the canary Deployment (rpc); the stable Deployment's
 * spec does not mention any weight, so stable pods never restart for a canary step.
 */
export class ClassroomService extends pulumi.ComponentResource {
  /** Tracks, replicas and how traffic splits: the stack's `services` output. */
  readonly topology: ServiceTopology;

  constructor(name: string, args: ClassroomServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("classroom:apps:ClassroomService", name, {}, opts);
    const child = { parent: this };
    const ns = args.namespace;
    const port = args.port;
    const metricsPort = args.kind === "rpc" ? RPC_METRICS_PORT : port;
    const split = trafficSplit(args.canary?.weight, args.legacy?.weight);

    const wiring = connectionWiring(args.connections);
    const base: WorkloadIdentity = { name, instance: name, component: args.kind, tier: "service" };
    const labels = workloadLabels(base);
    const callLabels = Object.fromEntries(args.calls.map((c) => [`classroom.io/calls-${c.name}`, "true"]));

    const configData = { ...args.configFiles };
    const config = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: { name: `${name}-config`, namespace: ns, labels }, data: configData }, child);
    const secret =
      Object.keys(wiring.secretData).length === 0
        ? undefined
        : new k8s.core.v1.Secret(
            `${name}-credentials`,
            {
              metadata: { name: `${name}-credentials`, namespace: ns, labels },
              type: "Opaque",
              stringData: wiring.secretData,
            },
            { ...child, additionalSecretOutputs: ["stringData", "data"] },
          );

    // The umbrella Service: both tracks, for in-cluster callers and the discovery runtime's DNS fallback.
    new k8s.core.v1.Service(
      `${name}-svc`,
      {
        metadata: { name, namespace: ns, labels },
        spec: {
          type: "ClusterIP",
          selector: { "app.kubernetes.io/name": name, "classroom.io/tier": "service" },
          ports: [{ name: "app", port, targetPort: port }],
        },
      },
      child,
    );

    const tracks: Array<{ track: "stable" | "canary"; spec: TrackArgs; weight?: number }> = [
      { track: "stable", spec: args.stable },
      ...(args.canary ? [{ track: "canary" as const, spec: args.canary, weight: args.canary.weight }] : []),
    ];
    for (const t of tracks) {
      const id: WorkloadIdentity = { ...base, instance: `${name}-${t.track}`, track: t.track, version: imageVersion(t.spec.image) };
      const trackLabels = workloadLabels(id);
      const selector = { ...selectorLabels(id), "classroom.io/track": t.track };
      const env = [
        { name: DISCOVERY_ENV.service, value: name },
        { name: DISCOVERY_ENV.track, value: t.track },
        ...wiring.env,
        ...Object.entries(args.env ?? {}).map(([n, value]) => ({ name: n, value })),
        ...(args.kind === "rpc" ? registrationEnv(args.registry, { service: name, namespace: ns, port, track: t.track, canaryWeight: t.weight }) : []),
      ];
      const hpa = t.track === "stable" ? args.autoscaling : undefined;
      new k8s.apps.v1.Deployment(
        `${name}-${t.track}`,
        {
          metadata: {
            name: `${name}-${t.track}`,
            namespace: ns,
            labels: trackLabels,
            ...(t.weight !== undefined ? { annotations: { "classroom.io/canary-weight": String(t.weight) } } : {}),
          },
          spec: {
            // With an HPA the replica count is the HPA's; setting it here would reset it on every update.
            ...(hpa ? {} : { replicas: t.spec.replicas }),
            revisionHistoryLimit: 5,
            strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } },
            selector: { matchLabels: selector },
            template: servicePodTemplate({
              service: name,
              kind: args.kind,
              image: t.spec.image,
              port,
              labels: { ...trackLabels, ...wiring.clientLabels, ...callLabels },
              annotations: {
                ...args.podAnnotations,
                "classroom.io/config-checksum": contentChecksum(configData),
                ...scrapeAnnotations(args.scrape, { port: metricsPort }),
              },
              metricsPort: args.kind === "rpc" ? RPC_METRICS_PORT : undefined,
              env,
              resources: args.resources ?? DEFAULT_RESOURCES,
              healthPath: args.healthPath,
              logRoot: args.logRoot,
              configMapName: config.metadata.name,
              secretName: secret?.metadata.name,
              scratch: args.scratch,
              terminationGraceSeconds: args.terminationGraceSeconds,
              imagePullSecret: args.imagePullSecret,
              selector,
              command: args.command,
              serviceAccountName: args.serviceAccountName,
            }),
          },
        },
        child,
      );
      const registration = trackServiceRegistration(args.kind === "rpc" ? args.registry : undefined, t.track, t.weight);
      new k8s.core.v1.Service(
        `${name}-${t.track}-svc`,
        {
          metadata: {
            name: `${name}-${t.track}`,
            namespace: ns,
            labels: { ...trackLabels, ...registration.labels },
            ...(registration.annotations ? { annotations: registration.annotations } : {}),
          },
          spec: { type: "ClusterIP", selector, ports: [{ name: "app", port, targetPort: port }] },
        },
        child,
      );
      const replicas = hpa ? hpa.minReplicas : t.spec.replicas;
      disruptionBudget({ namespace: ns, name: `${name}-${t.track}`, labels: trackLabels, selector, replicas, maxUnavailable: 1 }, child);
      if (hpa) {
        new k8s.autoscaling.v2.HorizontalPodAutoscaler(
          `${name}-${t.track}-hpa`,
          {
            metadata: { name: `${name}-${t.track}`, namespace: ns, labels: trackLabels },
            spec: {
              scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: `${name}-${t.track}` },
              minReplicas: hpa.minReplicas,
              maxReplicas: hpa.maxReplicas,
              metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: hpa.cpuUtilization } } }],
            },
          },
          child,
        );
      }
    }

    this.topology = {
      kind: args.kind,
      tracks: tracks.map((t) => {
        const hpa = t.track === "stable" ? args.autoscaling : undefined;
        return {
          track: t.track,
          image: t.spec.image,
          replicas: hpa ? hpa.minReplicas : t.spec.replicas,
          ...(hpa ? { autoscaling: { minReplicas: hpa.minReplicas, maxReplicas: hpa.maxReplicas } } : {}),
        };
      }),
      traffic: trafficTopology(args, split),
    };

    if (args.legacy)
      legacyBackend({ namespace: ns, name, labels: { ...labels, "classroom.io/track": "legacy" }, port, endpoints: args.legacy.endpoints }, child);

    if (args.kind === "http" && args.route) {
      const routeArgs = {
        namespace: ns,
        name,
        labels,
        port,
        split,
        backends: { canary: !!args.canary, legacy: !!args.legacy },
        pathPrefix: args.route.pathPrefix,
        hostnames: args.route.hostnames,
        canaryMatch: args.canary?.match,
      };
      if (args.route.mode === "gateway-api") weightedHttpRoute({ ...routeArgs, gateway: args.route.gateway }, child);
      else nginxCanaryIngresses({ ...routeArgs, ingressClassName: args.route.ingressClassName }, child);
      if (args.route.eastWest === "gamma") eastWestHttpRoute(routeArgs, child);
    }

    const podSelector = { "app.kubernetes.io/name": name, "classroom.io/tier": "service" };
    const ingressPeers = [
      ...(args.kind === "http" && args.route?.mode === "gateway-api"
        ? [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": args.route.gateway.namespace } } }]
        : []),
      ...(args.kind === "http" && args.route?.mode === "nginx-ingress"
        ? [{ namespaceSelector: {}, podSelector: { matchLabels: { "app.kubernetes.io/name": "ingress-nginx" } } }]
        : []),
      ...args.callers.map((caller) => podsIn(ns, { "app.kubernetes.io/name": caller, [`classroom.io/calls-${name}`]: "true" })),
    ];
    workloadNetworkPolicy(
      {
        namespace: ns,
        name,
        labels,
        podSelector,
        ingress: [...(ingressPeers.length ? [{ peers: ingressPeers, ports: tcp(port) }] : []), ...scrapeIngress(args.scrape, metricsPort)],
        egress: serviceEgressRules({ namespace: ns, connections: args.connections, calls: args.calls, externals: args.externals ?? [] }),
      },
      child,
    );
    this.registerOutputs({});
  }
}

/** How the service's traffic reaches its tracks: the route's weights, the registry's split, or the replica ratio. */
function trafficTopology(args: ClassroomServiceArgs, split: TrafficSplit): ServiceTopology["traffic"] {
  if (args.kind === "http" && args.route) {
    const backends = (["stable", "canary", "legacy"] as const).filter((b) => b === "stable" || (b === "canary" ? !!args.canary : !!args.legacy));
    return { via: args.route.mode, weights: backends.map((backend) => ({ backend, weight: split[backend] })) };
  }
  if (args.kind === "rpc" && args.canary) return { via: "zookeeper-registry", canaryWeight: args.canary.weight };
  if (args.kind === "consumer") return { via: "replica-ratio" };
  return { via: "none" };
}
