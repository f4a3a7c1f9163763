import { RenderedObject } from "./render";

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
  return lines.join("\n");
}
