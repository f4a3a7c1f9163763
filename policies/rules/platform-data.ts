// Data layer: quorum systems sized so a majority survives, Kafka replication that survives one broker
// loss, and data Services that never leave the cluster network.
import { resourceRule, stackRule, StackObject } from "./define";
import { asArray, asObject, asString, at, isUnknown } from "./k8s";
import { replicas } from "./workloads";

const NAME = "app.kubernetes.io/name";
const COMPONENT = "app.kubernetes.io/component";

interface ZooKeeperConfig {
  appName: string;
}

export const zookeeperOddEnsemble = resourceRule<ZooKeeperConfig>({
  name: "zookeeper-odd-ensemble",
  description: "A ZooKeeper ensemble (StatefulSet labelled app.kubernetes.io/name=zookeeper) has an odd number of servers: an even one tolerates no more failures than one server fewer.",
  enforcementLevel: "mandatory",
  kinds: ["StatefulSet"],
  config: {
    appName: { type: "string", default: "zookeeper", description: "app.kubernetes.io/name of ZooKeeper StatefulSets (default zookeeper)." },
  },
  check(obj, config, report) {
    if (obj.labels[NAME] !== config.appName) return;
    const n = replicas(obj);
    if (n === undefined) return;
    if (n < 1 || n % 2 === 0) {
      report(`runs ${n} ZooKeeper server(s); an ensemble needs an odd number >= 1 (${n} tolerates no more failures than ${Math.max(n - 1, 0)})`);
    }
  },
});

/** Java .properties as Kafka reads them: `k=v`, `k: v` or `k v`; `#`/`!` comments; `\` continues a line. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const joined = text.replace(/\\\r?\n[ \t]*/g, "");
  for (const raw of joined.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith("!")) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out.set(m[1], m[2].trim());
    else out.set(line, "");
  }
  return out;
}

interface KafkaConfig {
  appName: string;
  minReplicationFactor: number;
  minInsyncReplicas: number;
  configKeys: string[];
}

/** Kafka's own defaults for the settings checked, used when the file leaves them out. */
const KAFKA_DEFAULTS: Record<string, number> = {
  "default.replication.factor": 1,
  "min.insync.replicas": 1,
  "offsets.topic.replication.factor": 3,
  "transaction.state.log.replication.factor": 3,
  "transaction.state.log.min.isr": 2,
};

function setting(props: Map<string, string>, key: string): { value: number; explicit: boolean } | { invalid: string } {
  const raw = props.get(key);
  if (raw === undefined) return { value: KAFKA_DEFAULTS[key], explicit: false };
  if (!/^\d+$/.test(raw)) return { invalid: raw };
  return { value: Number(raw), explicit: true };
}

/** Broker-role StatefulSets of Kafka (KRaft controllers hold no partitions). */
function brokerSets(objects: StackObject[], appName: string, namespace: string): StackObject[] {
  return objects.filter((o) => o.kind === "StatefulSet" && o.namespace === namespace && o.labels[NAME] === appName && o.labels[COMPONENT] !== "controller");
}

export const kafkaReplication = stackRule<KafkaConfig>({
  name: "kafka-replication",
  description: "Kafka survives one broker loss: default.replication.factor >= 3, 2 <= min.insync.replicas < RF, offsets (and transaction) topics replicated 3 times, and at least RF brokers.",
  enforcementLevel: "advisory",
  config: {
    appName: { type: "string", default: "kafka", description: "app.kubernetes.io/name of the Kafka ConfigMap and StatefulSets (default kafka)." },
    minReplicationFactor: { type: "integer", minimum: 1, default: 3, description: "Lowest default.replication.factor and offsets.topic.replication.factor (default 3)." },
    minInsyncReplicas: { type: "integer", minimum: 1, default: 2, description: "Lowest min.insync.replicas (default 2); it must also stay below the replication factor." },
    configKeys: {
      type: "array",
      items: { type: "string" },
      default: ["server.properties", "broker.properties"],
      description: "ConfigMap data keys holding broker properties (default server.properties, broker.properties).",
    },
  },
  check(objects, config, report) {
    const maps = objects.filter((o) => o.kind === "ConfigMap" && o.labels[NAME] === config.appName);
    const checkedNamespaces = new Set<string>();
    for (const cm of maps) {
      const data = asObject(cm.raw.data);
      if (isUnknown(cm.raw.data)) continue;
      for (const key of config.configKeys) {
        if (isUnknown(data?.[key])) checkedNamespaces.add(cm.namespace);
        const text = asString(data?.[key]);
        if (text === undefined) continue;
        checkedNamespaces.add(cm.namespace);
        const props = parseProperties(text);
        const get = (k: string) => setting(props, k);
        const say = (msg: string) => report(cm, `${key}: ${msg}`);
        const values: Record<string, number> = {};
        for (const k of Object.keys(KAFKA_DEFAULTS)) {
          const s = get(k);
          if ("invalid" in s) say(`${k}=${s.invalid} is not a whole number`);
          else values[k] = s.value;
        }
        const rf = values["default.replication.factor"];
        const isr = values["min.insync.replicas"];
        const implicit = (k: string) => (props.has(k) ? "" : " (not set: Kafka's default)");
        if (rf !== undefined && rf < config.minReplicationFactor) {
          say(`default.replication.factor is ${rf}${implicit("default.replication.factor")}; it must be >= ${config.minReplicationFactor}`);
        }
        if (isr !== undefined && isr < config.minInsyncReplicas) {
          say(`min.insync.replicas is ${isr}${implicit("min.insync.replicas")}; it must be >= ${config.minInsyncReplicas} so an acknowledged write is on two brokers`);
        }
        if (isr !== undefined && rf !== undefined && isr >= rf) {
          say(`min.insync.replicas ${isr} is not below default.replication.factor ${rf}; losing one broker would stop acks=all writes`);
        }
        for (const k of ["offsets.topic.replication.factor", "transaction.state.log.replication.factor"]) {
          if (values[k] !== undefined && values[k] < config.minReplicationFactor) say(`${k} is ${values[k]}; it must be >= ${config.minReplicationFactor}`);
        }
        const brokers = brokerSets(objects, config.appName, cm.namespace);
        const counts = brokers.map(replicas);
        if (rf !== undefined && brokers.length && counts.every((c) => c !== undefined)) {
          const total = counts.reduce<number>((a, b) => a + (b ?? 0), 0);
          if (total < rf) say(`default.replication.factor ${rf} needs at least ${rf} brokers, but the broker StatefulSets run ${total}`);
        }
      }
    }
    for (const sts of objects.filter((o) => o.kind === "StatefulSet" && o.labels[NAME] === config.appName)) {
      if (checkedNamespaces.has(sts.namespace) || maps.some((m) => m.namespace === sts.namespace && isUnknown(m.raw.data))) continue;
      checkedNamespaces.add(sts.namespace);
      report(sts, `no ConfigMap labelled ${NAME}=${config.appName} with ${config.configKeys.join(" or ")} in namespace ${sts.namespace}, so its replication settings cannot be checked`);
    }
  },
});

export const dataServicesInternal = resourceRule({
  name: "data-services-internal",
  description: "Data-layer Services (classroom.io/tier=data) are never NodePort, LoadBalancer or given externalIPs: Redis, MySQL, ZooKeeper and Kafka are reached only inside the cluster.",
  enforcementLevel: "mandatory",
  kinds: ["Service"],
  check(obj, _config, report) {
    if (obj.labels["classroom.io/tier"] !== "data") return;
    const type = asString(at(obj.raw, "spec", "type"));
    if (type === "NodePort" || type === "LoadBalancer") report(`is a data-layer Service of type ${type}; data Services must be ClusterIP (or headless)`);
    const ips = asArray(at(obj.raw, "spec", "externalIPs"));
    if (ips.length) report(`is a data-layer Service with externalIPs (${ips.map(String).join(", ")}); data Services stay inside the cluster`);
  },
});

export const platformDataRules = [zookeeperOddEnsemble, kafkaReplication, dataServicesInternal];
