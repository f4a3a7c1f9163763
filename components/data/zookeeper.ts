import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ZooKeeperConfig } from "../../infra/config";
import { clientLabel, imageVersion, selectorLabels, workloadLabels } from "../shared/labels";
import { DataConnection } from "../shared/connection";
import { dataWorkload } from "../shared/data-workload";
import { podsIn, podsLabelled, tcp } from "../shared/network-policy";
import { restrictedContainerSecurity } from "../shared/security";
import { headlessServiceName, podHost, serviceHost } from "../shared/services";
import { DataTopology } from "../shared/topology";
import { scratchVolumes } from "../shared/volumes";
import { withWorkloadDefaults } from "../shared/workload-options";
import { DataComponentArgs } from "./args";
import { METRICS_PORT_NAME } from "../monitoring/scrape";
import { IMAGES } from "./images";

/** `classroom:zookeeper` as the schema parsed it (infra/config/data.ts validates and documents every key). */
export type ZooKeeperArgs = DataComponentArgs<ZooKeeperConfig>;

const CLIENT_PORT = 2181;
const QUORUM_PORT = 2888;
const ELECTION_PORT = 3888;
/** ZooKeeper's built-in Prometheus metrics provider (3.6+), its documented default port. */
const METRICS_PORT = 7000;
/** The only four-letter words the probes use; everything else stays disabled. */
const FOUR_LETTER_WORDS = ["ruok", "srvr"];

/**
 * A ZooKeeper ensemble: one StatefulSet whose ordinal gives each server its `myid`, a static server list,
 * and a readiness probe that proves the server is serving as part of a quorum.
 */
export class ZooKeeper extends pulumi.ComponentResource {
  readonly connection: DataConnection;
  readonly topology: Extract<DataTopology, { system: "zookeeper" }>;

  constructor(name: string, args: ZooKeeperArgs, opts?: pulumi.ComponentResourceOptions) {
    super("classroom:data:ZooKeeper", name, {}, opts);
    const w = withWorkloadDefaults(args, {
      image: IMAGES.zookeeper.image,
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
      storage: { size: "2Gi" },
    });
    const ns = args.namespace;
    const id = { name: "zookeeper", instance: name, component: "coordination", tier: "data" as const, version: imageVersion(w.image) };
    const labels = workloadLabels(id);
    const selector = selectorLabels(id);
    const child = { parent: this };
    const headlessName = headlessServiceName(name);

    const servers = Array.from(
      { length: w.replicas },
      (_, i) => `server.${i + 1}=${podHost(name, i, headlessName, ns)}:${QUORUM_PORT}:${ELECTION_PORT};${CLIENT_PORT}`,
    );
    const zooCfg = [
      `tickTime=${args.tickTimeMs}`,
      "initLimit=10",
      "syncLimit=5",
      "dataDir=/data",
      "dataLogDir=/data/txnlog",
      `clientPort=${CLIENT_PORT}`,
      "maxClientCnxns=0",
      `autopurge.snapRetainCount=${args.snapRetainCount}`,
      `autopurge.purgeInterval=${args.purgeIntervalHours}`,
      `4lw.commands.whitelist=${FOUR_LETTER_WORDS.join(",")}`,
      "admin.enableServer=false",
      "reconfigEnabled=false",
      "quorumListenOnAllIPs=true",
      "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
      `metricsProvider.httpPort=${METRICS_PORT}`,
      ...servers,
      "",
    ].join("\n");
    // Logs go to stdout; the image's default file appender would need a writable /logs.
    const logback = `<configuration>\n  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">\n    <encoder><pattern>%d{ISO8601} [myid:%X{myid}] %-5p [%t:%C{1}@%L] - %m%n</pattern></encoder>\n  </appender>\n  <root level="INFO"><appender-ref ref="CONSOLE"/></root>\n</configuration>\n`;
    const configData = { "zoo.cfg": zooCfg, "logback.xml": logback };
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { name: `${name}-config`, namespace: ns, labels },
        data: configData,
      },
      child,
    );

    const scratch = scratchVolumes([
      { name: "tmp", mountPath: "/tmp" },
      { name: "logs", mountPath: "/logs" },
    ]);
    // myid is 1 + the pod ordinal, written before start so a rescheduled pod keeps its identity.
    const start = 'set -e; ordinal="${HOSTNAME##*-}"; mkdir -p /data/txnlog; echo $((ordinal + 1)) > /data/myid; exec zkServer.sh start-foreground';
    // bash's /dev/tcp keeps the probes free of tools the image may not ship (nc).
    const fourLetterWord = (word: string, expect: string) => [
      "bash",
      "-c",
      `exec 3<>/dev/tcp/127.0.0.1/${CLIENT_PORT} && printf ${word} >&3 && timeout 5 cat <&3 | grep -qE '${expect}'`,
    ];

    dataWorkload(
      {
        namespace: ns,
        name,
        identity: id,
        placement: w,
        user: IMAGES.zookeeper.user,
        terminationGracePeriodSeconds: 30,
        // Servers must start together for a first quorum; ordered start would deadlock on readiness.
        podManagementPolicy: "Parallel",
        updateStrategy: { type: "RollingUpdate" },
        configFiles: configData,
        containers: [
          {
            name: "zookeeper",
            image: w.image,
            command: ["bash", "-c", start],
            env: [
              { name: "ZOO_CONF_DIR", value: "/conf" },
              { name: "ZOO_LOG_DIR", value: "/logs" },
              { name: "JVMFLAGS", value: "-XX:+ExitOnOutOfMemoryError -XX:MaxRAMPercentage=75" },
            ],
            ports: [
              { name: "client", containerPort: CLIENT_PORT },
              { name: "quorum", containerPort: QUORUM_PORT },
              { name: "election", containerPort: ELECTION_PORT },
              { name: METRICS_PORT_NAME, containerPort: METRICS_PORT },
            ],
            resources: w.resources,
            securityContext: restrictedContainerSecurity(IMAGES.zookeeper.user),
            // Ready only when this server serves as part of a quorum (or as a deliberate standalone).
            readinessProbe: {
              exec: { command: fourLetterWord("srvr", "Mode: (leader|follower|standalone)") },
              periodSeconds: 10,
              timeoutSeconds: 8,
              failureThreshold: 3,
            },
            livenessProbe: { exec: { command: fourLetterWord("ruok", "imok") }, periodSeconds: 15, timeoutSeconds: 8, failureThreshold: 4 },
            startupProbe: { exec: { command: fourLetterWord("ruok", "imok") }, periodSeconds: 5, timeoutSeconds: 8, failureThreshold: 60 },
            volumeMounts: [{ name: "data", mountPath: "/data" }, { name: "config", mountPath: "/conf" }, ...scratch.mounts],
          },
        ],
        volumes: [{ name: "config", configMap: { name: config.metadata.name } }, ...scratch.volumes],
        clientPorts: [{ name: "client", port: CLIENT_PORT, targetPort: CLIENT_PORT }],
        peerPorts: [
          { name: "quorum", port: QUORUM_PORT, targetPort: QUORUM_PORT },
          { name: "election", port: ELECTION_PORT, targetPort: ELECTION_PORT },
        ],
        ingress: [
          { peers: [podsLabelled(clientLabel("zookeeper"), args.clientNamespaces)], ports: tcp(CLIENT_PORT) },
          { peers: [podsIn(ns, selector)], ports: tcp(QUORUM_PORT, ELECTION_PORT) },
        ],
        egress: [{ peers: [podsIn(ns, selector)], ports: tcp(QUORUM_PORT, ELECTION_PORT) }],
        metrics: { port: METRICS_PORT, scrape: args.scrape },
      },
      child,
    );

    this.topology = { system: "zookeeper", servers: w.replicas, quorum: Math.floor(w.replicas / 2) + 1 };
    this.connection = {
      system: "zookeeper",
      namespace: ns,
      host: serviceHost(name, ns),
      port: CLIENT_PORT,
      endpoints: Array.from({ length: w.replicas }, (_, i) => `${podHost(name, i, headlessName, ns)}:${CLIENT_PORT}`),
      clientLabel: clientLabel("zookeeper"),
      serverSelector: selector,
      ports: [CLIENT_PORT],
      settings: {},
      credentials: {},
    };
    this.connection.settings.ZOOKEEPER_CONNECT = this.connection.endpoints.join(",");
    this.registerOutputs({ connection: this.connection });
  }
}
