import type * as k8s from "@pulumi/kubernetes";
import { METRICS_PORT_NAME } from "../monitoring/scrape";
import { restrictedContainerSecurity, ImageUser } from "../shared/security";

// Pure: how a Kafka pod exports the broker's own metrics. Declares nothing.
//
// The apache/kafka image has no exporter, and Kafka's metrics live in JMX. The Prometheus JMX exporter
// runs as a Java agent inside the broker's JVM (its authors' recommended mode: no remote JMX port to
// open and secure, and one scrape reads the MBeans in-process). Its jar comes from a small image of its
// own (images/kafka-jmx-agent), copied by an init container into an emptyDir the broker loads it from.

/** The agent's HTTP port, a container port named `metrics` (the port Bitnami's chart uses for JMX metrics). */
export const KAFKA_METRICS_PORT = 5556;

/** Where the broker container finds the agent jar (an emptyDir the init container fills). */
const AGENT_DIR = "/opt/jmx-exporter";
const AGENT_JAR = "jmx_prometheus_javaagent.jar";

/** The ConfigMap key of the exporter's rules; the Kafka config is mounted at /opt/kafka/config-base. */
export const KAFKA_METRICS_CONFIG_KEY = "jmx-exporter.yaml";

/**
 * The exporter's rules. Only the MBeans the alerts and dashboards need are read (includeObjectNames), and
 * per-topic and per-partition beans are left out: their series grow with the topics, and a scrape of a
 * broker with thousands of partitions would take seconds. Names follow the exporter's usual Kafka
 * convention, `kafka_<domain>_<type>_<name>` in lower case, which the alert rules
 * (components/monitoring/rules.ts) use; tests/integration/kafka-metrics.test.ts reads a real broker
 * through this config and checks every name the rules use.
 */
export function kafkaJmxExporterConfig(): string {
  return [
    "# Prometheus JMX exporter (Java agent) rules for the Kafka brokers and controllers; rendered by the platform.",
    "lowercaseOutputName: true",
    "lowercaseOutputLabelNames: true",
    "includeObjectNames:",
    '  - "kafka.server:type=ReplicaManager,*"',
    '  - "kafka.controller:type=KafkaController,*"',
    '  - "kafka.server:type=BrokerTopicMetrics,*"',
    '  - "kafka.network:type=SocketServer,*"',
    "rules:",
    "  # Gauges, e.g. kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions -> kafka_server_replicamanager_underreplicatedpartitions",
    "  - pattern: 'kafka.(server|controller)<type=(ReplicaManager|KafkaController), name=(\\w+)><>Value'",
    "    name: kafka_$1_$2_$3",
    "    type: GAUGE",
    "  # Meters as counters of their cumulative count, all topics together (the per-topic beans do not match).",
    "  - pattern: 'kafka.server<type=(ReplicaManager|BrokerTopicMetrics), name=(\\w+)PerSec><>Count'",
    "    name: kafka_server_$1_$2_total",
    "    type: COUNTER",
    "  - pattern: 'kafka.network<type=SocketServer, name=NetworkProcessorAvgIdlePercent><>Value'",
    "    name: kafka_network_socketserver_networkprocessoravgidlepercent",
    "    type: GAUGE",
    "",
  ].join("\n");
}

/** The `-javaagent` option that loads the exporter, for KAFKA_OPTS. */
export function kafkaJavaAgentOption(configPath: string): string {
  return `-javaagent:${AGENT_DIR}/${AGENT_JAR}=${KAFKA_METRICS_PORT}:${configPath}`;
}

/** The pieces a Kafka pod adds to export its metrics. */
export interface KafkaMetricsPod {
  initContainer: k8s.types.input.core.v1.Container;
  volume: k8s.types.input.core.v1.Volume;
  /** For the broker container. */
  mount: k8s.types.input.core.v1.VolumeMount;
  env: k8s.types.input.core.v1.EnvVar;
  port: k8s.types.input.core.v1.ContainerPort;
}

export function kafkaMetricsPod(agentImage: string, user: ImageUser, configDir: string): KafkaMetricsPod {
  return {
    initContainer: {
      name: "jmx-agent",
      image: agentImage,
      command: ["cp", `/jmx-exporter/${AGENT_JAR}`, `${AGENT_DIR}/${AGENT_JAR}`],
      resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
      securityContext: restrictedContainerSecurity(user),
      volumeMounts: [{ name: "jmx-agent", mountPath: AGENT_DIR }],
    },
    volume: { name: "jmx-agent", emptyDir: { sizeLimit: "16Mi" } },
    mount: { name: "jmx-agent", mountPath: AGENT_DIR, readOnly: true },
    env: { name: "KAFKA_OPTS", value: kafkaJavaAgentOption(`${configDir}/${KAFKA_METRICS_CONFIG_KEY}`) },
    port: { name: METRICS_PORT_NAME, containerPort: KAFKA_METRICS_PORT },
  };
}
