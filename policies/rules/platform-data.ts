// Data layer: quorum systems sized so a majority survives, Kafka replication that survives one broker
// loss, and data Services that never leave the cluster network.
import { ConfigProperty, resourceRule, stackRule, StackObject } from "./define";
import { asArray, asObject, asString, at, isUnknown } from "./k8s";
import { containers, replicas } from "./workloads";

const NAME = "app.kubernetes.io/name";
const COMPONENT = "app.kubernetes.io/component";

interface ZooKeeperConfig {
  appName: string;
}

/** Which app.kubernetes.io/name values count as data systems; shared by the rules that protect the data layer. */
const DATA_APPS_SETTING: ConfigProperty<string[]> = {
  type: "array",
  items: { type: "string" },
  default: ["redis", "mysql", "zookeeper", "kafka"],
  description: "app.kubernetes.io/name values that are data systems whatever their tier label says (default redis, mysql, zookeeper, kafka).",
};

export const zookeeperOddEnsemble = resourceRule<ZooKeeperConfig>({
  name: "zookeeper-odd-ensemble",
  description:
    "A ZooKeeper ensemble (StatefulSet, or any replicated workload, labelled app.kubernetes.io/name=zookeeper) has an odd number of servers: an even one tolerates no more failures than one server fewer.",
  enforcementLevel: "mandatory",
  kinds: ["StatefulSet", "Deployment", "ReplicaSet"],
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

/** Broker-role StatefulSets of Kafka (KRaft controllers hold no partitions), in one namespace or all. */
function brokerSets(objects: StackObject[], appName: string, namespace: string | undefined): StackObject[] {
  return objects.filter(
    (o) =>
      o.kind === "StatefulSet" && (namespace === undefined || o.namespace === namespace) && o.labels[NAME] === appName && o.labels[COMPONENT] !== "controller",
  );
}

export const kafkaReplication = stackRule<KafkaConfig>({
  name: "kafka-replication",
  description:
    "Kafka survives one broker loss: default.replication.factor >= 3, 2 <= min.insync.replicas < RF, offsets (and transaction) topics replicated 3 times, and at least RF brokers.",
  enforcementLevel: "advisory",
  config: {
    appName: { type: "string", default: "kafka", description: "app.kubernetes.io/name of the Kafka ConfigMap and StatefulSets (default kafka)." },
    minReplicationFactor: {
      type: "integer",
      minimum: 1,
      default: 3,
      description: "Lowest default.replication.factor and offsets.topic.replication.factor (default 3).",
    },
    minInsyncReplicas: {
      type: "integer",
      minimum: 1,
      default: 2,
      description: "Lowest min.insync.replicas (default 2); it must also stay below the replication factor.",
    },
    configKeys: {
      type: "array",
      items: { type: "string" },
      default: ["server.properties", "broker.properties"],
      description: "ConfigMap data keys holding broker properties (default server.properties, broker.properties).",
    },
  },
  check(objects, config, report) {
    const maps = objects.filter((o) => o.kind === "ConfigMap" && o.labels[NAME] === config.appName);
    const judged = new Set<string>();

    /** Judges one broker configuration; `from` says where each explicitly set key came from. */
    const judge = (props: Map<string, string>, from: Map<string, string>, target: StackObject, say: (msg: string) => void) => {
      const values: Record<string, number> = {};
      for (const k of Object.keys(KAFKA_DEFAULTS)) {
        const s = setting(props, k);
        if ("invalid" in s) say(`${k}=${s.invalid} is not a whole number`);
        else values[k] = s.value;
      }
      const origin = (k: string) => (props.has(k) ? (from.get(k) ? ` (${from.get(k)})` : "") : " (not set: Kafka's default)");
      const rf = values["default.replication.factor"];
      const isr = values["min.insync.replicas"];
      if (rf !== undefined && rf < config.minReplicationFactor) {
        say(`default.replication.factor is ${rf}${origin("default.replication.factor")}; it must be >= ${config.minReplicationFactor}`);
      }
      if (isr !== undefined && isr < config.minInsyncReplicas) {
        say(
          `min.insync.replicas is ${isr}${origin("min.insync.replicas")}; it must be >= ${config.minInsyncReplicas} so an acknowledged write is on two brokers`,
        );
      }
      if (isr !== undefined && rf !== undefined && isr >= rf) {
        say(`min.insync.replicas ${isr} is not below default.replication.factor ${rf}; losing one broker would stop acks=all writes`);
      }
      for (const k of ["offsets.topic.replication.factor", "transaction.state.log.replication.factor"]) {
        if (values[k] !== undefined && values[k] < config.minReplicationFactor)
          say(`${k} is ${values[k]}${origin(k)}; it must be >= ${config.minReplicationFactor}`);
      }
      const brokers = brokerSets(objects, config.appName, target.namespace);
      const counts = brokers.map(replicas);
      if (rf !== undefined && brokers.length && counts.every((c) => c !== undefined)) {
        const total = counts.reduce<number>((a, b) => a + (b ?? 0), 0);
        if (total < rf) say(`default.replication.factor ${rf} needs at least ${rf} brokers, but the broker StatefulSets run ${total}`);
      }
    };

    for (const cm of maps) {
      const data = asObject(cm.raw.data);
      if (isUnknown(cm.raw.data)) continue;
      for (const key of config.configKeys) {
        if (isUnknown(data?.[key])) judged.add(cm.namespace);
        const text = asString(data?.[key]);
        if (text === undefined) continue;
        judged.add(cm.namespace);
        const props = parseProperties(text);
        const from = new Map<string, string>();
        // The broker image turns KAFKA_* env vars into properties that win over the file.
        for (const [k, v, where] of envOverrides(brokerSets(objects, config.appName, cm.namespace))) {
          props.set(k, v);
          from.set(k, where);
        }
        judge(props, from, cm, (msg) => report(cm, `${key}: ${msg}`));
      }
    }
    for (const sts of brokerSets(objects, config.appName, undefined)) {
      if (judged.has(sts.namespace) || maps.some((m) => m.namespace === sts.namespace && isUnknown(m.raw.data))) continue;
      judged.add(sts.namespace);
      const overrides = envOverrides(brokerSets(objects, config.appName, sts.namespace));
      if (overrides.length) {
        judge(new Map(overrides.map(([k, v]) => [k, v])), new Map(overrides.map(([k, , w]) => [k, w])), sts, (msg) => report(sts, msg));
      } else {
        report(
          sts,
          `no ConfigMap labelled ${NAME}=${config.appName} with ${config.configKeys.join(" or ")} in namespace ${sts.namespace}, and no KAFKA_* replication env, so its replication settings cannot be checked`,
        );
      }
    }
  },
});

/** `KAFKA_DEFAULT_REPLICATION_FACTOR=3` style env literals of the broker containers, as [property, value, origin]. */
function envOverrides(brokers: StackObject[]): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  for (const sts of brokers) {
    for (const c of containers(sts, ["container"])) {
      for (const e of asArray(c.spec.env)) {
        const name = asString(at(e, "name"));
        const value = asString(at(e, "value"));
        if (!name || value === undefined) continue;
        const key = Object.keys(KAFKA_DEFAULTS).find((k) => `KAFKA_${k.toUpperCase().replace(/\./g, "_")}` === name);
        if (key) out.push([key, value, `env ${name} of StatefulSet ${sts.name}`]);
      }
    }
  }
  return out;
}

interface DataServiceConfig {
  dataApps: string[];
}

export const dataServicesInternal = resourceRule<DataServiceConfig>({
  name: "data-services-internal",
  description:
    "Data-layer Services (classroom.io/tier=data, or app.kubernetes.io/name of a data system) are never NodePort, LoadBalancer or given externalIPs: Redis, MySQL, ZooKeeper and Kafka are reached only inside the cluster.",
  enforcementLevel: "mandatory",
  kinds: ["Service"],
  config: {
    dataApps: DATA_APPS_SETTING,
  },
  check(obj, config, report) {
    const app = obj.labels[NAME];
    if (obj.labels["classroom.io/tier"] !== "data" && !(app !== undefined && config.dataApps.includes(app))) return;
    const type = asString(at(obj.raw, "spec", "type"));
    if (type === "NodePort" || type === "LoadBalancer") report(`is a data-layer Service of type ${type}; data Services must be ClusterIP (or headless)`);
    const ips = asArray(at(obj.raw, "spec", "externalIPs"));
    if (ips.length) report(`is a data-layer Service with externalIPs (${ips.map(String).join(", ")}); data Services stay inside the cluster`);
  },
});

/** Services a route or Ingress sends traffic to, with where the reference sits. */
function routedServices(o: StackObject): Array<{ name: string; namespace: string; where: string }> {
  const out: Array<{ name: string; namespace: string; where: string }> = [];
  if (o.apiVersion.startsWith("gateway.networking.k8s.io/") && o.kind.endsWith("Route")) {
    asArray(at(o.raw, "spec", "rules")).forEach((rule, i) =>
      asArray(at(rule, "backendRefs")).forEach((ref, j) => {
        const name = asString(at(ref, "name"));
        const kind = asString(at(ref, "kind")) ?? "Service";
        if (name && kind === "Service") out.push({ name, namespace: asString(at(ref, "namespace")) ?? o.namespace, where: `rules[${i}].backendRefs[${j}]` });
      }),
    );
  }
  if (o.kind === "Ingress") {
    const backend = (b: unknown, where: string) => {
      const name = asString(at(b, "service", "name"));
      if (name) out.push({ name, namespace: o.namespace, where });
    };
    backend(at(o.raw, "spec", "defaultBackend"), "defaultBackend");
    asArray(at(o.raw, "spec", "rules")).forEach((rule, i) =>
      asArray(at(rule, "http", "paths")).forEach((p, j) => backend(at(p, "backend"), `rules[${i}].http.paths[${j}].backend`)),
    );
  }
  return out;
}

export const dataServicesNotRouted = stackRule<DataServiceConfig>({
  name: "data-services-not-routed",
  description: "No HTTPRoute, other Gateway API route or Ingress sends traffic to a data-layer Service: the data layer is never reachable from the edge.",
  enforcementLevel: "mandatory",
  config: {
    dataApps: DATA_APPS_SETTING,
  },
  check(objects, config, report) {
    const isData = (svc: StackObject) => svc.labels["classroom.io/tier"] === "data" || config.dataApps.includes(svc.labels[NAME] ?? "");
    for (const o of objects) {
      for (const ref of routedServices(o)) {
        const svc = objects.find((s) => s.kind === "Service" && s.name === ref.name && s.namespace === ref.namespace);
        if (svc && isData(svc)) report(o, `${ref.where} sends edge traffic to data-layer Service ${ref.namespace}/${ref.name}`);
      }
    }
  },
});

export const platformDataRules = [zookeeperOddEnsemble, kafkaReplication, dataServicesInternal, dataServicesNotRouted];
