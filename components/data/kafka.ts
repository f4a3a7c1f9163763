import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { KafkaConfig } from "../../infra/config";
import { DataConnection } from "../shared/connection";
import { dataWorkload } from "../shared/data-workload";
import { clientLabel, imageVersion, selectorLabels, workloadLabels, WorkloadIdentity } from "../shared/labels";
import { podsIn, podsLabelled, tcp } from "../shared/network-policy";
import { restrictedContainerSecurity } from "../shared/security";
import { headlessServiceName, podHost, serviceHost } from "../shared/services";
import { DataTopology } from "../shared/topology";
import { scratchVolumes } from "../shared/volumes";
import { ResolvedWorkloadOptions, withWorkloadDefaults } from "../shared/workload-options";
import { DataComponentArgs } from "./args";
import { IMAGES } from "./images";
import { KAFKA_METRICS_CONFIG_KEY, KAFKA_METRICS_PORT, kafkaJmxExporterConfig, kafkaMetricsPod } from "./kafka-metrics";

/** `classroom:kafka` as the schema parsed it (infra/config/data.ts validates and documents every key). */
export type KafkaArgs = DataComponentArgs<KafkaConfig>;

const CLIENT_PORT = 9092;
const CONTROLLER_PORT = 9093;
const BROKER_NODE_ID_BASE = 100;

/**
 * Apache Kafka in KRaft mode (Kafka 4 removed ZooKeeper mode): `node.id` from the pod ordinal, a static
 * controller quorum, per-pod advertised listeners from the downward API, log dirs on the PVC and an
 * explicit cluster id that @pulumi/random keeps stable in state.
 */
export class Kafka extends pulumi.ComponentResource {
  readonly connection: DataConnection;
  readonly topology: Extract<DataTopology, { system: "kafka" }>;

  constructor(name: string, args: KafkaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("classroom:data:Kafka", name, {}, opts);
    const child = { parent: this };
    const ns = args.namespace;
    const mode = args.mode;
    const sizing = { image: IMAGES.kafka.image, storage: { size: "10Gi" } };
    const brokers = withWorkloadDefaults(args.brokers, { ...sizing, resources: { requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "1536Mi" } } });
    const controllers = withWorkloadDefaults(
      { replicas: 3, ...args.controllers },
      { ...sizing, storage: { size: "2Gi" }, resources: { requests: { cpu: "100m", memory: "512Mi" }, limits: { memory: "768Mi" } } },
    );
    const { replicationFactor: rf, minInsyncReplicas: minIsr } = args;

    // 16 random bytes in URL-safe base64: exactly the shape of a Kafka cluster id, generated once and kept in state.
    const clusterId = new random.RandomId(`${name}-cluster-id`, { byteLength: 16 }, child);

    const brokerName = mode === "combined" ? name : `${name}-broker`;
    const controllerName = mode === "combined" ? name : `${name}-controller`;
    const voterCount = mode === "combined" ? brokers.replicas : controllers.replicas;
    const voterBase = mode === "combined" ? BROKER_NODE_ID_BASE : 0;
    const voters = Array.from(
      { length: voterCount },
      (_, i) => `${voterBase + i}@${podHost(controllerName, i, headlessServiceName(controllerName), ns)}:${CONTROLLER_PORT}`,
    ).join(",");

    const shared = [
      `controller.quorum.voters=${voters}`,
      "controller.listener.names=CONTROLLER",
      "listener.security.protocol.map=CLIENT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      "log.dirs=/var/lib/kafka/data",
    ];
    const brokerSettings = [
      "inter.broker.listener.name=CLIENT",
      `num.partitions=${args.defaultPartitions}`,
      `default.replication.factor=${rf}`,
      `min.insync.replicas=${minIsr}`,
      `offsets.topic.replication.factor=${rf}`,
      `transaction.state.log.replication.factor=${rf}`,
      `transaction.state.log.min.isr=${minIsr}`,
      "unclean.leader.election.enable=false",
      "auto.create.topics.enable=true",
      "group.initial.rebalance.delay.ms=3000",
    ];
    const pools: Pool[] =
      mode === "combined"
        ? [
            {
              name,
              role: "broker,controller",
              w: brokers,
              nodeIdBase: BROKER_NODE_ID_BASE,
              component: "broker",
              properties: [
                "process.roles=broker,controller",
                `listeners=CLIENT://:${CLIENT_PORT},CONTROLLER://:${CONTROLLER_PORT}`,
                ...shared,
                ...brokerSettings,
              ],
            },
          ]
        : [
            {
              name: controllerName,
              role: "controller",
              w: controllers,
              nodeIdBase: 0,
              component: "controller",
              properties: ["process.roles=controller", `listeners=CONTROLLER://:${CONTROLLER_PORT}`, ...shared],
            },
            {
              name: brokerName,
              role: "broker",
              w: brokers,
              nodeIdBase: BROKER_NODE_ID_BASE,
              component: "broker",
              properties: ["process.roles=broker", `listeners=CLIENT://:${CLIENT_PORT}`, ...shared, ...brokerSettings],
            },
          ];

    const ids = pools.map((pool) => this.pool(pool, ns, args, clusterId.b64Url, pools));
    const brokerId = ids[ids.length - 1];
    const brokerSelector = selectorLabels(brokerId);
    const brokerHeadless = headlessServiceName(brokerName);

    this.topology =
      mode === "combined"
        ? { system: "kafka", mode, nodes: brokers.replicas, replicationFactor: rf, minInsyncReplicas: minIsr }
        : {
            system: "kafka",
            mode: "dedicated",
            controllers: controllers.replicas,
            brokers: brokers.replicas,
            replicationFactor: rf,
            minInsyncReplicas: minIsr,
          };
    this.connection = {
      system: "kafka",
      namespace: ns,
      host: serviceHost(brokerName, ns),
      port: CLIENT_PORT,
      endpoints: Array.from({ length: brokers.replicas }, (_, i) => `${podHost(brokerName, i, brokerHeadless, ns)}:${CLIENT_PORT}`),
      clientLabel: clientLabel("kafka"),
      serverSelector: brokerSelector,
      ports: [CLIENT_PORT],
      settings: {},
      credentials: {},
    };
    this.connection.settings.KAFKA_BOOTSTRAP = this.connection.endpoints.join(",");
    this.registerOutputs({ connection: this.connection });
  }

  private pool(pool: Pool, ns: string, args: KafkaArgs, clusterId: pulumi.Output<string>, all: Pool[]): WorkloadIdentity {
    const child = { parent: this };
    const clientNamespaces = args.clientNamespaces;
    const w = pool.w;
    const id: WorkloadIdentity = { name: "kafka", instance: pool.name, component: pool.component, tier: "data", version: imageVersion(w.image) };
    const labels = workloadLabels(id);
    const isBroker = pool.role.includes("broker");
    const isController = pool.role.includes("controller");
    // The policy pack reads replication settings from `server.properties`; a controller-only pool has none.
    const configKey = isBroker ? "server.properties" : "controller.properties";
    const configData = { [configKey]: pool.properties.join("\n") + "\n", [KAFKA_METRICS_CONFIG_KEY]: kafkaJmxExporterConfig() };
    const metrics = kafkaMetricsPod(args.metricsAgentImage, IMAGES.kafka.user, "/opt/kafka/config-base");
    const config = new k8s.core.v1.ConfigMap(
      `${pool.name}-config`,
      {
        metadata: { name: `${pool.name}-config`, namespace: ns, labels },
        data: configData,
      },
      child,
    );

    const ports = [
      ...(isBroker ? [{ name: "client", port: CLIENT_PORT, targetPort: CLIENT_PORT }] : []),
      ...(isController ? [{ name: "controller", port: CONTROLLER_PORT, targetPort: CONTROLLER_PORT }] : []),
    ];
    const headlessName = headlessServiceName(pool.name);
    const scratch = scratchVolumes([
      { name: "tmp", mountPath: "/tmp", sizeLimit: "256Mi" },
      { name: "logs", mountPath: "/opt/kafka/logs", sizeLimit: "256Mi" },
      { name: "runtime-config", mountPath: "/opt/kafka/runtime", sizeLimit: "1Mi" },
    ]);
    const advertise = isBroker ? `echo "advertised.listeners=CLIENT://\${POD_NAME}.${headlessName}.${ns}.svc.cluster.local:${CLIENT_PORT}";` : "";
    // Per-pod settings are appended at start: node.id from the ordinal, the pod's own advertised address.
    const start = [
      "set -eu",
      'ordinal="${HOSTNAME##*-}"',
      `{ cat /opt/kafka/config-base/${configKey}; echo "node.id=$((${pool.nodeIdBase} + ordinal))"; ${advertise} } > /opt/kafka/runtime/server.properties`,
      '[ -f /var/lib/kafka/data/meta.properties ] || /opt/kafka/bin/kafka-storage.sh format --config /opt/kafka/runtime/server.properties --cluster-id "$KAFKA_CLUSTER_ID" --ignore-formatted',
      "exec /opt/kafka/bin/kafka-server-start.sh /opt/kafka/runtime/server.properties",
    ].join("\n");
    const probePort = isBroker ? CLIENT_PORT : CONTROLLER_PORT;

    // Every pool talks to every other pool (controllers to controllers, brokers to controllers and brokers).
    const kafkaPods = podsIn(ns, { "app.kubernetes.io/name": "kafka" });
    const allPorts = [
      ...new Set(all.flatMap((p) => [...(p.role.includes("broker") ? [CLIENT_PORT] : []), ...(p.role.includes("controller") ? [CONTROLLER_PORT] : [])])),
    ];
    dataWorkload(
      {
        namespace: ns,
        name: pool.name,
        identity: id,
        placement: w,
        user: IMAGES.kafka.user,
        terminationGracePeriodSeconds: 60,
        podManagementPolicy: "Parallel",
        configFiles: configData,
        containers: [
          {
            name: "kafka",
            image: w.image,
            command: ["bash", "-c", start],
            env: [
              { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              { name: "KAFKA_CLUSTER_ID", value: clusterId },
              { name: "KAFKA_HEAP_OPTS", value: "-XX:MaxRAMPercentage=70 -XX:+ExitOnOutOfMemoryError" },
              { name: "LOG_DIR", value: "/opt/kafka/logs" },
              metrics.env,
            ],
            ports: [...ports.map((p) => ({ name: p.name, containerPort: p.port })), metrics.port],
            resources: w.resources,
            securityContext: restrictedContainerSecurity(IMAGES.kafka.user),
            // The JVM tools (kafka-broker-api-versions.sh) take seconds and hundreds of MB per probe; a TCP check on the listener is what the Kafka docs and Bitnami use.
            readinessProbe: { tcpSocket: { port: probePort }, periodSeconds: 10, failureThreshold: 3 },
            livenessProbe: { tcpSocket: { port: probePort }, periodSeconds: 20, failureThreshold: 6 },
            startupProbe: { tcpSocket: { port: probePort }, periodSeconds: 5, failureThreshold: 60 },
            volumeMounts: [
              { name: "data", mountPath: "/var/lib/kafka/data" },
              { name: "config", mountPath: "/opt/kafka/config-base" },
              metrics.mount,
              ...scratch.mounts,
            ],
          },
        ],
        initContainers: [metrics.initContainer],
        volumes: [{ name: "config", configMap: { name: config.metadata.name } }, metrics.volume, ...scratch.volumes],
        metrics: { port: KAFKA_METRICS_PORT, scrape: args.scrape },
        clientPorts: ports,
        ingress: [
          ...(isBroker ? [{ peers: [podsLabelled(clientLabel("kafka"), clientNamespaces)], ports: tcp(CLIENT_PORT) }] : []),
          { peers: [kafkaPods], ports: tcp(...ports.map((p) => p.port)) },
        ],
        egress: [{ peers: [kafkaPods], ports: tcp(...allPorts) }],
      },
      child,
    );
    return id;
  }
}

interface Pool {
  name: string;
  role: "broker,controller" | "broker" | "controller";
  component: string;
  w: ResolvedWorkloadOptions;
  nodeIdBase: number;
  properties: string[];
}
