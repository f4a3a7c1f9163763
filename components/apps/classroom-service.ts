import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { contentChecksum } from "../shared/checksum";
import { DataConnection } from "../shared/connection";
import { disruptionBudget } from "../shared/disruption-budget";
import { imageVersion, selectorLabels, workloadLabels, WorkloadIdentity } from "../shared/labels";
import { podsIn, tcp, workloadNetworkPolicy } from "../shared/network-policy";
import { ResourceSizing } from "../shared/workload-options";
import { legacyBackend } from "../traffic/legacy-backend";
import { weightedHttpRoute } from "../traffic/http-route";
import { nginxCanaryIngresses } from "../traffic/nginx-canary";
import type { CanaryMatch } from "../traffic/request-match";
import { trafficSplit } from "../traffic/weights";
import { connectionWiring } from "./connections";
import { ServiceKind, servicePodTemplate } from "./pod-template";
import { registrationEnv, RegistryArgs, trackServiceRegistration } from "./registration";

export interface TrackArgs {
  /** Image of this track. */
  image: string;
  /** Pods of this track (0 scales the track down without deleting it). */
  replicas: number;
}

export interface ClassroomServiceArgs {
  /** Namespace of the service (the stack's apps namespace). */
  namespace: string;
  /** `http` (behind the gateway), `rpc` (registered in ZooKeeper), `consumer` (Kafka) or `worker` (daemon). */
  kind: ServiceKind;
  /** Port the service listens on. Default: 8080. */
  port?: number;
  /** The stable track. */
  stable: TrackArgs;
  /** Optional canary track with its traffic weight, 0-100. */
  canary?: TrackArgs & { weight: number; match?: CanaryMatch[] };
  /** Legacy VMs (`ip:port`) and their weight during the migration (http and rpc only). */
  legacy?: { endpoints: string[]; weight: number };
  /** Data systems the service uses; each becomes env vars, credential files and a NetworkPolicy path. */
  connections?: DataConnection[];
  /** Other services this one calls, with their port. */
  calls?: { name: string; port: number }[];
  /** Services that call this one (their pods are admitted). */
  callers?: string[];
  /** Default: 250m/256Mi requested, 512Mi limit. */
  resources?: ResourceSizing;
  /** HPA bounds for the stable track; without them, `stable.replicas` is fixed. */
  autoscaling?: { minReplicas: number; maxReplicas: number; cpuUtilization: number };
  /** Health endpoint for HTTP probes. Default: `/healthz`. */
  healthPath?: string;
  /** Config files mounted at /etc/classroom/config. Default: none. */
  configFiles?: Record<string, string>;
  /** Scratch emptyDir. Default: 256Mi on disk. */
  scratch?: { sizeLimit: string; memory: boolean };
  /** Stack log root; logs go to `<logRoot>/<service>/` on the node. */
  logRoot: string;
  /** SIGTERM to SIGKILL. Default: 45 s. */
  terminationGraceSeconds?: number;
  /** ZooKeeper registry settings (required for kind rpc). */
  registry?: RegistryArgs;
  /** HTTP exposure (kind http). */
  route?: {
    mode: "gateway-api" | "nginx-ingress";
    pathPrefix: string;
    hostnames: string[];
    gateway: { name: string; namespace: string; sectionName?: string };
    ingressClassName: string;
  };
  /** Extra environment variables (daemon settings). Default: none. */
  env?: Record<string, string>;
  /** Command overriding the image entrypoint (the platform's daemons share one runtime image). Default: the image's. */
  command?: string[];
  /** ServiceAccount whose API token the pods mount (daemons that call the Kubernetes API). Default: none, no token. */
  serviceAccountName?: string;
  /** Pull secret name for private images. */
  imagePullSecret?: pulumi.Input<string>;
}

/**
 * One classroom service with a stable and an optional canary track, each its own Deployment and
 * Service, plus an umbrella Service over both, weighted HTTP routing or ZooKeeper registration settings,
 * legacy VM backends, autoscaling, disruption budgets and exactly the network paths it declares.
 *
 * A weight change touches only the route (http) or the canary Deployment (rpc); the stable Deployment's
 * spec does not mention any weight, so stable pods never restart for a canary step.
 */
export class ClassroomService extends pulumi.ComponentResource {
  constructor(name: string, args: ClassroomServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("classroom:apps:ClassroomService", name, {}, opts);
    const child = { parent: this };
    const fail = (msg: string) => { throw new pulumi.ResourceError(`service ${name}: ${msg}`, this); };
    const ns = args.namespace;
    const port = args.port ?? 8080;
    if (args.kind === "rpc" && !args.registry) fail("kind rpc needs registry settings (a ZooKeeper connection)");
    if (args.kind === "http" && !args.route) fail("kind http needs a route");
    if (args.legacy && !["http", "rpc"].includes(args.kind)) fail(`legacy backends are for http and rpc, not ${args.kind}`);
    if (args.route?.mode === "nginx-ingress" && args.canary && args.legacy) fail("ingress-nginx honours one canary Ingress per path: a canary and legacy VMs cannot share traffic in nginx-ingress mode");
    const split = (() => { try { return trafficSplit(args.canary?.weight, args.legacy?.weight); } catch (e) { return fail((e as Error).message); } })();

    const wiring = connectionWiring(args.connections ?? []);
    const base: WorkloadIdentity = { name, instance: name, component: args.kind, tier: "service" };
    const labels = workloadLabels(base);
    const callLabels = Object.fromEntries((args.calls ?? []).map((c) => [`classroom.io/calls-${c.name}`, "true"]));

    const configData = { ...(args.configFiles ?? {}) };
    const config = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: { name: `${name}-config`, namespace: ns, labels }, data: configData }, child);
    const secret = Object.keys(wiring.secretData).length === 0 ? undefined : new k8s.core.v1.Secret(`${name}-credentials`, {
      metadata: { name: `${name}-credentials`, namespace: ns, labels },
      type: "Opaque",
      stringData: wiring.secretData,
    }, { ...child, additionalSecretOutputs: ["stringData", "data"] });

    // The umbrella Service: both tracks, for in-cluster callers and the discovery runtime's DNS fallback.
    new k8s.core.v1.Service(`${name}-svc`, {
      metadata: { name, namespace: ns, labels },
      spec: { type: "ClusterIP", selector: { "app.kubernetes.io/name": name, "classroom.io/tier": "service" }, ports: [{ name: "app", port, targetPort: port }] },
    }, child);

    const tracks: Array<{ track: "stable" | "canary"; spec: TrackArgs; weight?: number }> = [
      { track: "stable", spec: args.stable },
      ...(args.canary ? [{ track: "canary" as const, spec: args.canary, weight: args.canary.weight }] : []),
    ];
    for (const t of tracks) {
      const id: WorkloadIdentity = { ...base, instance: `${name}-${t.track}`, track: t.track, version: imageVersion(t.spec.image) };
      const trackLabels = workloadLabels(id);
      const selector = { ...selectorLabels(id), "classroom.io/track": t.track };
      const env = [
        { name: "CLASSROOM_SERVICE", value: name },
        { name: "CLASSROOM_TRACK", value: t.track },
        ...wiring.env,
        ...Object.entries(args.env ?? {}).map(([n, value]) => ({ name: n, value })),
        ...(args.kind === "rpc" ? registrationEnv(args.registry!, { service: name, namespace: ns, port, track: t.track, canaryWeight: t.weight }) : []),
      ];
      const hpa = t.track === "stable" ? args.autoscaling : undefined;
      new k8s.apps.v1.Deployment(`${name}-${t.track}`, {
        metadata: { name: `${name}-${t.track}`, namespace: ns, labels: trackLabels, ...(t.weight !== undefined ? { annotations: { "classroom.io/canary-weight": String(t.weight) } } : {}) },
        spec: {
          // With an HPA the replica count is the HPA's; setting it here would reset it on every update.
          ...(hpa ? {} : { replicas: t.spec.replicas }),
          revisionHistoryLimit: 5,
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } },
          selector: { matchLabels: selector },
          template: servicePodTemplate({
            service: name, kind: args.kind, image: t.spec.image, port,
            labels: { ...trackLabels, ...wiring.clientLabels, ...callLabels },
            annotations: { "classroom.io/config-checksum": contentChecksum(configData) },
            env, resources: args.resources ?? { requests: { cpu: "250m", memory: "256Mi" }, limits: { memory: "512Mi" } },
            healthPath: args.healthPath ?? "/healthz", logRoot: args.logRoot,
            configMapName: config.metadata.name, secretName: secret?.metadata.name,
            scratch: args.scratch ?? { sizeLimit: "256Mi", memory: false },
            terminationGraceSeconds: args.terminationGraceSeconds ?? 45,
            imagePullSecret: args.imagePullSecret, selector, command: args.command, serviceAccountName: args.serviceAccountName,
          }),
        },
      }, child);
      const registration = trackServiceRegistration(args.kind === "rpc" ? args.registry : undefined, t.track, t.weight);
      new k8s.core.v1.Service(`${name}-${t.track}-svc`, {
        metadata: { name: `${name}-${t.track}`, namespace: ns, labels: { ...trackLabels, ...registration.labels }, ...(registration.annotations ? { annotations: registration.annotations } : {}) },
        spec: { type: "ClusterIP", selector, ports: [{ name: "app", port, targetPort: port }] },
      }, child);
      const replicas = hpa ? hpa.minReplicas : t.spec.replicas;
      disruptionBudget({ namespace: ns, name: `${name}-${t.track}`, labels: trackLabels, selector, replicas, maxUnavailable: 1 }, child);
      if (hpa) {
        new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-${t.track}-hpa`, {
          metadata: { name: `${name}-${t.track}`, namespace: ns, labels: trackLabels },
          spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: `${name}-${t.track}` },
            minReplicas: hpa.minReplicas, maxReplicas: hpa.maxReplicas,
            metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: hpa.cpuUtilization } } }],
          },
        }, child);
      }
    }

    if (args.legacy) legacyBackend({ namespace: ns, name, labels: { ...labels, "classroom.io/track": "legacy" }, port, endpoints: args.legacy.endpoints }, child);

    if (args.kind === "http" && args.route) {
      const routeArgs = { namespace: ns, name, labels, port, split, backends: { canary: !!args.canary, legacy: !!args.legacy }, pathPrefix: args.route.pathPrefix, hostnames: args.route.hostnames, canaryMatch: args.canary?.match };
      if (args.route.mode === "gateway-api") weightedHttpRoute({ ...routeArgs, gateway: args.route.gateway }, child);
      else nginxCanaryIngresses({ ...routeArgs, ingressClassName: args.route.ingressClassName }, child);
    }

    const podSelector = { "app.kubernetes.io/name": name, "classroom.io/tier": "service" };
    const ingressPeers = [
      ...(args.kind === "http" && args.route?.mode === "gateway-api" ? [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": args.route.gateway.namespace } } }] : []),
      ...(args.kind === "http" && args.route?.mode === "nginx-ingress" ? [{ namespaceSelector: {}, podSelector: { matchLabels: { "app.kubernetes.io/name": "ingress-nginx" } } }] : []),
      ...(args.callers ?? []).map((caller) => podsIn(ns, { "app.kubernetes.io/name": caller, [`classroom.io/calls-${name}`]: "true" })),
    ];
    workloadNetworkPolicy({
      namespace: ns, name, labels, podSelector,
      ingress: ingressPeers.length ? [{ peers: ingressPeers, ports: tcp(port) }] : [],
      egress: [
        ...(args.connections ?? []).map((c) => ({ peers: [podsIn(c.namespace, c.serverSelector)], ports: tcp(...c.ports) })),
        ...(args.calls ?? []).map((c) => ({ peers: [podsIn(ns, { "app.kubernetes.io/name": c.name, "classroom.io/tier": "service" })], ports: tcp(c.port) })),
      ],
    }, child);
    this.registerOutputs({});
  }
}
