import type { PlatformOutputs } from "../../infra/platform";
import type { DataSystem } from "../../components/shared/connection";
import type { DataTopology, ServiceTopology, TrafficTopology } from "../../components/shared/topology";
import type { Rendered } from ".";

/**
 * Counts by kind and namespace and the sizes of every workload (from the rendered objects), then the
 * layout of each data system and service (from the program's outputs). A program without those outputs
 * (a test's partial program) gets the counts and workloads only.
 */
export function summarize({ objects, outputs }: Pick<Rendered, "objects" | "outputs">): string {
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
    lines.push(
      `  ${ns}: ${[...kinds]
        .sort()
        .map(([k, n]) => `${n} ${k}`)
        .join(", ")}`,
    );
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
    lines.push(
      `  ${object.kind.padEnd(11)} ${`${object.metadata.namespace}/${object.metadata.name}`.padEnd(42)} ${String(object.spec?.replicas ?? "-").padStart(2)}x ${component.padEnd(12)} ${c?.image ?? ""}  cpu ${req.cpu ?? "-"}/${lim.cpu ?? "-"} mem ${req.memory ?? "-"}/${lim.memory ?? "-"}${storage ? ` pvc ${storage}` : ""}`,
    );
  }
  const program = outputs as Partial<PlatformOutputs>;
  if (program.dataSystems) lines.push(...topology(program.dataSystems));
  if (program.services)
    lines.push(
      ...services(
        program.services,
        objects.map((o) => o.object),
      ),
    );
  return lines.join("\n");
}

type Obj = Record<string, any>;

/** One line per data system, from the program's `dataSystems` output: what a reviewer of a prod change wants to see first. */
function topology(dataSystems: Partial<Record<DataSystem, DataTopology>>): string[] {
  const lines = ["data layer:"];
  for (const system of ["zookeeper", "kafka", "redis", "mysql"] as const) {
    const t = dataSystems[system];
    if (t) lines.push(`  ${system}: ${describeSystem(t)}`);
  }
  return lines;
}

function describeSystem(t: DataTopology): string {
  switch (t.system) {
    case "zookeeper":
      return `${t.servers}-server ensemble (quorum ${t.quorum})`;
    case "kafka": {
      const replication = `RF ${t.replicationFactor}, min ISR ${t.minInsyncReplicas}`;
      return t.mode === "combined"
        ? `${t.nodes} combined broker+controller node(s), ${replication}`
        : `${t.controllers} controllers + ${t.brokers} brokers, ${replication}`;
    }
    case "redis":
      return t.mode === "sentinel" ? `master + ${t.replicas} replica(s) under ${t.sentinels} Sentinels (quorum ${t.quorum})` : "standalone, AOF everysec";
    case "mysql":
      return `primary${t.replicas > 0 ? ` + ${t.replicas} async GTID replica(s)` : " only"}`;
  }
}

/**
 * One line per classroom service: tracks with images and replicas and traffic weights from the program's
 * `services` output; volumes from the stable Deployment, found by its labels.
 */
function services(topologies: Record<string, ServiceTopology>, objects: Obj[]): string[] {
  const names = Object.keys(topologies).sort();
  if (names.length === 0) return [];
  const lines = ["services:"];
  for (const name of names) {
    const t = topologies[name];
    const tracks = t.tracks
      .map(
        (track) =>
          `${track.track} ${track.image} x${track.autoscaling ? `${track.autoscaling.minReplicas}-${track.autoscaling.maxReplicas} (HPA)` : track.replicas}`,
      )
      .join(", ");
    const weights = traffic(t.traffic);
    const stable = objects.find(
      (o) => o.kind === "Deployment" && o.metadata?.labels?.["app.kubernetes.io/name"] === name && o.metadata?.labels?.["classroom.io/track"] === "stable",
    );
    const volumes = ((stable?.spec?.template?.spec?.volumes ?? []) as Obj[]).map((v) => `${v.name}:${Object.keys(v).find((k) => k !== "name")}`).join(" ");
    lines.push(`  ${name} [${t.kind}] ${tracks}${weights ? `; ${weights}` : ""}; volumes ${volumes}`);
  }
  return lines;
}

function traffic(t: TrafficTopology): string {
  switch (t.via) {
    case "gateway-api":
      return t.weights.map((w) => `${w.backend} ${w.weight}%`).join(" / ");
    case "nginx-ingress":
      return `ingress-nginx: ${t.weights.map((w) => `${w.backend} ${w.weight}%`).join(" / ")}`;
    case "zookeeper-registry":
      return `registry split: canary ${t.canaryWeight}%`;
    case "replica-ratio":
      return "split by replica ratio (Kafka partitions)";
    case "none":
      return "";
  }
}
