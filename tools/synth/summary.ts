import type { RenderedObject } from ".";

/** Counts by kind and namespace, then the topology and sizes of each data system: what a reviewer checks first. */
export function summarize(objects: RenderedObject[]): string {
  const lines: string[] = [];
  const byNamespace = new Map<string, Map<string, number>>();
  for (const { object } of objects) {
    const ns = object.metadata?.namespace ?? "(cluster)";
    const kinds = byNamespace.get(ns) ?? new Map<string, number>();
    kinds.set(object.kind, (kinds.get(object.kind) ?? 0) + 1);
    byNamespace.set(ns, kinds);
  }
  lines.push(`objects: ${objects.length}`);
  for (const [ns, kinds] of [...byNamespace].sort()) {
    lines.push(`  ${ns}: ${[...kinds].sort().map(([k, n]) => `${n} ${k}`).join(", ")}`);
  }
  lines.push("workloads:");
  for (const { object } of objects) {
    if (!["StatefulSet", "Deployment"].includes(object.kind)) continue;
    const pod = object.spec?.template?.spec;
    const c = pod?.containers?.[0];
    const req = c?.resources?.requests ?? {};
    const lim = c?.resources?.limits ?? {};
    const storage = object.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage;
    const component = object.metadata?.labels?.["app.kubernetes.io/component"] ?? "";
    lines.push(`  ${object.kind.padEnd(11)} ${`${object.metadata.namespace}/${object.metadata.name}`.padEnd(42)} ${String(object.spec?.replicas ?? "-").padStart(2)}x ${component.padEnd(12)} ${c?.image ?? ""}  cpu ${req.cpu ?? "-"}/${lim.cpu ?? "-"} mem ${req.memory ?? "-"}/${lim.memory ?? "-"}${storage ? ` pvc ${storage}` : ""}`);
  }
  lines.push(...topology(objects.map((o) => o.object)));
  lines.push(...services(objects.map((o) => o.object)));
  return lines.join("\n");
}

type Obj = Record<string, any>;
const named = (objects: Obj[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata?.name === name);

/** One line per data system: what a reviewer of a prod change wants to see first. */
function topology(objects: Obj[]): string[] {
  const sts = (name: string) => named(objects, "StatefulSet", name)?.spec?.replicas as number | undefined;
  const lines = ["data layer:"];
  if (sts("zookeeper")) lines.push(`  zookeeper: ${sts("zookeeper")}-server ensemble (quorum ${Math.floor(sts("zookeeper")! / 2) + 1})`);
  const brokerProps: string = named(objects, "ConfigMap", "kafka-broker-config")?.data?.["server.properties"] ?? named(objects, "ConfigMap", "kafka-config")?.data?.["server.properties"] ?? "";
  const prop = (k: string) => new RegExp(`^${k.replace(/\./g, "\\.")}=(.*)$`, "m").exec(brokerProps)?.[1];
  if (sts("kafka")) lines.push(`  kafka: ${sts("kafka")} combined broker+controller node(s), RF ${prop("default.replication.factor")}, min ISR ${prop("min.insync.replicas")}`);
  if (sts("kafka-broker")) lines.push(`  kafka: ${sts("kafka-controller")} controllers + ${sts("kafka-broker")} brokers, RF ${prop("default.replication.factor")}, min ISR ${prop("min.insync.replicas")}`);
  if (sts("redis")) {
    const sentinels = sts("redis-sentinel");
    const quorum = /sentinel monitor \S+ \S+ \d+ (\d+)/.exec(named(objects, "Secret", "redis-credentials")?.stringData?.["sentinel.conf"] ?? "")?.[1];
    lines.push(sentinels ? `  redis: master + ${sts("redis")! - 1} replica(s) under ${sentinels} Sentinels (quorum ${quorum})` : "  redis: standalone, AOF everysec");
  }
  if (sts("mysql")) lines.push(`  mysql: primary${sts("mysql")! > 1 ? ` + ${sts("mysql")! - 1} async GTID replica(s)` : " only"}`);
  return lines;
}

/** One line per classroom service: tracks with images and replicas, traffic weights, volumes. */
function services(objects: Obj[]): string[] {
  const deployments = objects.filter((o) => o.kind === "Deployment" && o.metadata?.labels?.["classroom.io/tier"] === "service");
  const names = [...new Set(deployments.map((d) => d.metadata.labels["app.kubernetes.io/name"] as string))].sort();
  if (names.length === 0) return [];
  const lines = ["services:"];
  for (const name of names) {
    const tracks = deployments.filter((d) => d.metadata.labels["app.kubernetes.io/name"] === name);
    const kind = tracks[0].metadata.labels["app.kubernetes.io/component"];
    const hpa = (track: string) => named(objects, "HorizontalPodAutoscaler", `${name}-${track}`)?.spec;
    const trackText = tracks.map((d) => {
      const track = d.metadata.labels["classroom.io/track"];
      const h = hpa(track);
      const replicas = h ? `${h.minReplicas}-${h.maxReplicas} (HPA)` : d.spec.replicas;
      return `${track} ${d.spec.template.spec.containers[0].image} x${replicas}`;
    }).join(", ");
    const route = named(objects, "HTTPRoute", name);
    const weights = route
      ? route.spec.rules[0].backendRefs.map((b: Obj) => `${String(b.name).slice(name.length + 1)} ${b.weight}%`).join(" / ")
      : tracks.find((d) => d.metadata.annotations?.["classroom.io/canary-weight"])
        ? `registry split: canary ${tracks.find((d) => d.metadata.annotations?.["classroom.io/canary-weight"])!.metadata.annotations["classroom.io/canary-weight"]}%`
        : kind === "consumer" ? "split by replica ratio (Kafka partitions)" : "";
    const volumes = (tracks[0].spec.template.spec.volumes as Obj[]).map((v) => `${v.name}:${Object.keys(v).find((k) => k !== "name")}`).join(" ");
    lines.push(`  ${name} [${kind}] ${trackText}${weights ? `; ${weights}` : ""}; volumes ${volumes}`);
  }
  return lines;
}
