import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { RedisConfig } from "../../infra/config";
import { createHash } from "node:crypto";
import { contentChecksum } from "../shared/checksum";
import { DataConnection } from "../shared/connection";
import { dataWorkload } from "../shared/data-workload";
import { clientLabel, imageVersion, selectorLabels, workloadLabels } from "../shared/labels";
import { podsIn, podsLabelled, tcp } from "../shared/network-policy";
import { restrictedContainerSecurity } from "../shared/security";
import { headlessServiceName, podHost, serviceHost } from "../shared/services";
import { DataTopology } from "../shared/topology";
import { scratchVolumes } from "../shared/volumes";
import { withWorkloadDefaults } from "../shared/workload-options";
import { DataComponentArgs } from "./args";
import { IMAGES } from "./images";
import { METRICS_PORT_NAME, ScrapeSettings } from "../monitoring/scrape";
import {
  MASTER_NAME,
  REDIS_LIVENESS,
  REDIS_PORT,
  REDIS_PROBE,
  RedisFileOptions,
  SENTINEL_PORT,
  redisConf,
  redisPreStop,
  redisStartScript,
  sentinelConf,
  sentinelStartScript,
  usersAcl,
} from "./redis-files";

/** `classroom:redis` as the schema parsed it (infra/config/data.ts validates and documents every key). */
export type RedisArgs = DataComponentArgs<RedisConfig>;

/** What each Sentinel process requests: it keeps no data and answers a few commands a second. */
const SENTINEL_RESOURCES = { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } };

/**
 * Redis with AOF persistence, ACL users and generated passwords; with Sentinel in HA stacks, where a
 * master that is asked to stop first hands its role over.
 */
export class Redis extends pulumi.ComponentResource {
  readonly connection: DataConnection;
  readonly topology: Extract<DataTopology, { system: "redis" }>;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("classroom:data:Redis", name, {}, opts);
    const child = { parent: this };
    const ns = args.namespace;
    const sentinelMode = args.mode === "sentinel";
    const w = withWorkloadDefaults(args, {
      image: IMAGES.redis.image,
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
      storage: { size: "2Gi" },
    });
    const { replicas: sentinelReplicas, quorum } = args.sentinel;

    const id = { name: "redis", instance: name, component: "cache", tier: "data" as const, version: imageVersion(w.image) };
    const labels = workloadLabels(id);
    const selector = selectorLabels(id);
    const headless = headlessServiceName(name);
    const sentinelName = `${name}-sentinel`;
    const files: RedisFileOptions = {
      maxmemory: args.maxmemory,
      sentinel: sentinelMode,
      sentinelHost: serviceHost(sentinelName, ns),
      initialMaster: podHost(name, 0, headless, ns),
      headlessDomain: `${headless}.${ns}.svc.cluster.local`,
    };

    const password = (role: string) => new random.RandomPassword(`${name}-${role}-password`, { length: 32, special: false }, child).result;
    const appPassword = password("app");
    const replicationPassword = password("replication");
    const sentinelPassword = password("sentinel");
    const exporterPassword = password("exporter");
    const sha256 = (p: pulumi.Output<string>) => p.apply((v) => createHash("sha256").update(v).digest("hex"));
    const acl = pulumi
      .all([sha256(appPassword), sha256(replicationPassword), sha256(sentinelPassword), sha256(exporterPassword)])
      .apply(([app, replication, sentinel, exporter]) => usersAcl({ app, replication, sentinel, exporter }));

    const secret = new k8s.core.v1.Secret(
      `${name}-credentials`,
      {
        metadata: { name: `${name}-credentials`, namespace: ns, labels },
        type: "Opaque",
        stringData: {
          password: appPassword,
          "replication-password": replicationPassword,
          "exporter-password": exporterPassword,
          "users.acl": acl,
          ...(sentinelMode ? { "sentinel.conf": sentinelPassword.apply((p) => sentinelConf(files, quorum, p)) } : {}),
        },
      },
      { ...child, additionalSecretOutputs: ["stringData", "data"] },
    );

    const configData: Record<string, string> = {
      "redis.conf": redisConf(files),
      "start.sh": redisStartScript(files),
      "probe.sh": REDIS_PROBE,
      "liveness.sh": REDIS_LIVENESS,
      ...(sentinelMode
        ? { "prestop.sh": redisPreStop(files), "sentinel-start.sh": sentinelStartScript(`${headlessServiceName(sentinelName)}.${ns}.svc.cluster.local`) }
        : {}),
    };
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { name: `${name}-config`, namespace: ns, labels },
        data: configData,
      },
      child,
    );

    const scratch = scratchVolumes([
      { name: "run", mountPath: "/run/redis", sizeLimit: "1Mi" },
      { name: "tmp", mountPath: "/tmp" },
    ]);
    const sh = (script: string) => ["sh", `/etc/redis/config/${script}`];
    const configVolume = { name: "config", configMap: { name: config.metadata.name } };
    const secretVolume = { name: "secret", secret: { secretName: secret.metadata.name, defaultMode: 0o400 } };
    const clientPeers = [podsLabelled(clientLabel("redis"), args.clientNamespaces)];
    const sentinelSelector = { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": sentinelName };

    dataWorkload(
      {
        namespace: ns,
        name,
        identity: id,
        placement: w,
        user: IMAGES.redis.user,
        terminationGracePeriodSeconds: sentinelMode ? 60 : 30,
        podManagementPolicy: "OrderedReady",
        configFiles: configData,
        secretChecksum: acl.apply((a) => contentChecksum(a)),
        containers: [
          {
            name: "redis",
            image: w.image,
            command: sh("start.sh"),
            ports: [{ name: "redis", containerPort: REDIS_PORT }],
            resources: w.resources,
            securityContext: restrictedContainerSecurity(IMAGES.redis.user),
            readinessProbe: { exec: { command: sh("probe.sh") }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
            livenessProbe: { exec: { command: sh("liveness.sh") }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 6 },
            startupProbe: { exec: { command: sh("liveness.sh") }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 60 },
            ...(sentinelMode ? { lifecycle: { preStop: { exec: { command: sh("prestop.sh") } } } } : {}),
            volumeMounts: [
              { name: "data", mountPath: "/data" },
              { name: "config", mountPath: "/etc/redis/config", readOnly: true },
              { name: "secret", mountPath: "/etc/redis/secret", readOnly: true },
              ...scratch.mounts,
            ],
          },
          redisExporter(`redis://127.0.0.1:${REDIS_PORT}`, { user: "exporter", secretName: secret.metadata.name, key: "exporter-password" }),
        ],
        volumes: [configVolume, secretVolume, ...scratch.volumes],
        clientPorts: [{ name: "redis", port: REDIS_PORT, targetPort: REDIS_PORT }],
        metrics: { port: EXPORTER_PORT, scrape: args.scrape },
        ingress: [
          { peers: clientPeers, ports: tcp(REDIS_PORT) },
          { peers: [podsIn(ns, selector), ...(sentinelMode ? [podsIn(ns, sentinelSelector)] : [])], ports: tcp(REDIS_PORT) },
        ],
        egress: [
          { peers: [podsIn(ns, selector)], ports: tcp(REDIS_PORT) },
          ...(sentinelMode ? [{ peers: [podsIn(ns, sentinelSelector)], ports: tcp(SENTINEL_PORT) }] : []),
        ],
      },
      child,
    );

    const endpoints = Array.from({ length: w.replicas }, (_, i) => `${podHost(name, i, headless, ns)}:${REDIS_PORT}`);
    const settings: Record<string, string> = {};
    const ports = [REDIS_PORT];
    let serverSelector: Record<string, string> = { "app.kubernetes.io/name": "redis" };
    if (sentinelMode) {
      const sentinelEndpoints = this.sentinels(
        sentinelName,
        ns,
        sentinelReplicas,
        sentinelSelector,
        selector,
        args.scrape,
        w.image,
        configVolume,
        secretVolume,
        clientPeers,
      );
      settings.REDIS_SENTINELS = sentinelEndpoints.join(",");
      settings.REDIS_MASTER_NAME = MASTER_NAME;
      ports.push(SENTINEL_PORT);
    } else {
      settings.REDIS_URL = `redis://${serviceHost(name, ns)}:${REDIS_PORT}`;
      serverSelector = selector;
    }
    this.topology = sentinelMode
      ? { system: "redis", mode: "sentinel", replicas: w.replicas - 1, sentinels: sentinelReplicas, quorum }
      : { system: "redis", mode: "standalone" };
    this.connection = {
      system: "redis",
      namespace: ns,
      host: serviceHost(name, ns),
      port: REDIS_PORT,
      endpoints,
      clientLabel: clientLabel("redis"),
      serverSelector,
      ports,
      settings,
      credentials: { password: pulumi.secret(appPassword) },
    };
    this.registerOutputs({ connection: this.connection });
  }

  /** The Sentinel quorum: its own StatefulSet so that losing a Redis node never also costs a Sentinel vote. */
  private sentinels(
    name: string,
    ns: string,
    replicas: number,
    selector: Record<string, string>,
    redisSelector: Record<string, string>,
    scrape: ScrapeSettings | undefined,
    image: string,
    configVolume: k8s.types.input.core.v1.Volume,
    secretVolume: k8s.types.input.core.v1.Volume,
    clientPeers: k8s.types.input.networking.v1.NetworkPolicyPeer[],
  ): string[] {
    const child = { parent: this };
    const id = { name: "redis", instance: name, component: "sentinel", tier: "data" as const, version: imageVersion(image) };
    const scratch = scratchVolumes([{ name: "run", mountPath: "/run/redis", sizeLimit: "1Mi" }]);
    const ping = ["sh", "-c", `[ "$(redis-cli -h 127.0.0.1 -p ${SENTINEL_PORT} ping)" = PONG ]`];
    const { headlessName } = dataWorkload(
      {
        namespace: ns,
        name,
        identity: id,
        user: IMAGES.redis.user,
        // Sentinels keep no data: no claim, and always one per node.
        placement: { replicas, maxUnavailable: 1, spread: { topologyKey: "kubernetes.io/hostname", mode: "required" } },
        podManagementPolicy: "Parallel",
        containers: [
          {
            name: "sentinel",
            image,
            command: ["sh", "/etc/redis/config/sentinel-start.sh"],
            ports: [{ name: "sentinel", containerPort: SENTINEL_PORT }],
            resources: SENTINEL_RESOURCES,
            securityContext: restrictedContainerSecurity(IMAGES.redis.user),
            readinessProbe: { exec: { command: ping }, periodSeconds: 5, timeoutSeconds: 3 },
            livenessProbe: { exec: { command: ping }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 6 },
            startupProbe: { exec: { command: ping }, periodSeconds: 3, timeoutSeconds: 3, failureThreshold: 40 },
            volumeMounts: [
              { name: "config", mountPath: "/etc/redis/config", readOnly: true },
              { name: "secret", mountPath: "/etc/redis/secret", readOnly: true },
              ...scratch.mounts,
            ],
          },
          redisExporter(`redis://127.0.0.1:${SENTINEL_PORT}`),
        ],
        volumes: [configVolume, secretVolume, ...scratch.volumes],
        clientPorts: [{ name: "sentinel", port: SENTINEL_PORT, targetPort: SENTINEL_PORT }],
        metrics: { port: EXPORTER_PORT, scrape },
        ingress: [{ peers: [...clientPeers, podsIn(ns, selector), podsIn(ns, redisSelector)], ports: tcp(SENTINEL_PORT) }],
        egress: [
          { peers: [podsIn(ns, selector)], ports: tcp(SENTINEL_PORT) },
          { peers: [podsIn(ns, redisSelector)], ports: tcp(REDIS_PORT) },
        ],
      },
      child,
    );
    return Array.from({ length: replicas }, (_, i) => `${podHost(name, i, headlessName, ns)}:${SENTINEL_PORT}`);
  }
}

/** redis_exporter's default port. */
const EXPORTER_PORT = 9121;

/**
 * The metrics sidecar of a Redis server or Sentinel: oliver006/redis_exporter on localhost, which
 * recognises a Sentinel by itself and then reports `redis_sentinel_*` (masters each Sentinel names,
 * healthy Sentinels). A server needs the read-only `exporter` ACL user; Sentinels take no password.
 */
function redisExporter(addr: string, auth?: { user: string; secretName: pulumi.Input<string>; key: string }): k8s.types.input.core.v1.Container {
  return {
    name: "exporter",
    image: IMAGES.redisExporter.image,
    env: [
      { name: "REDIS_ADDR", value: addr },
      { name: "REDIS_EXPORTER_WEB_LISTEN_ADDRESS", value: `:${EXPORTER_PORT}` },
      ...(auth
        ? [
            { name: "REDIS_USER", value: auth.user },
            { name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: auth.secretName, key: auth.key } } },
          ]
        : []),
    ],
    ports: [{ name: METRICS_PORT_NAME, containerPort: EXPORTER_PORT }],
    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
    securityContext: restrictedContainerSecurity(IMAGES.redisExporter.user),
    readinessProbe: { httpGet: { path: "/health", port: EXPORTER_PORT }, periodSeconds: 10, timeoutSeconds: 3 },
    livenessProbe: { httpGet: { path: "/health", port: EXPORTER_PORT }, periodSeconds: 20, timeoutSeconds: 3, failureThreshold: 6 },
    startupProbe: { httpGet: { path: "/health", port: EXPORTER_PORT }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 24 },
  };
}
