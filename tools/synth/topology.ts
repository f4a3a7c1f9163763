/**
 * The stack's service graph as a Mermaid diagram, built only from the Kubernetes objects synth rendered
 * (never from the stack config), so the picture cannot say anything the manifests do not: the gateway
 * and its routes with their weights, each service with its tracks, the data systems, the externals, the
 * daemons, the legacy VMs, and every network path the NetworkPolicies allow.
 */
type Obj = Record<string, any>;

/** Where synth writes the diagram, relative to its output folder (out/<stack>/topology.md). */
export const TOPOLOGY_FILE = "topology.md";

const NAME = "app.kubernetes.io/name";
const TIER = "classroom.io/tier";
const TRACK = "classroom.io/track";
const COMPONENT = "app.kubernetes.io/component";
const EXTERNAL = "classroom.io/external";
const ANY = new Set(["0.0.0.0/0", "::/0"]);

interface Node {
  id: string;
  label: string[];
  group: "edge" | "services" | "daemons" | "data" | "external";
  shape: "box" | "round" | "db" | "ext";
}
interface Edge {
  from: string;
  to: string;
  label: string;
  kind: "route" | "mesh" | "path";
}

const labelsOf = (o: Obj): Record<string, string> => o.metadata?.labels ?? {};
const nameOf = (o: Obj): string => String(o.metadata?.name ?? "");
const nsOf = (o: Obj): string => String(o.metadata?.namespace ?? "");
const id = (...parts: string[]) => parts.join("_").replace(/[^A-Za-z0-9_]/g, "_");
const text = (s: string) => s.replace(/"/g, "#quot;").replace(/[<>]/g, (c) => (c === "<" ? "#lt;" : "#gt;"));

/** A rendered workload's replica count as shown: `2`, or `2-6` with its HPA. */
function replicaText(w: Obj, objects: Obj[]): string {
  const hpa = objects.find((h) => h.kind === "HorizontalPodAutoscaler" && nsOf(h) === nsOf(w) && h.spec?.scaleTargetRef?.name === nameOf(w));
  if (hpa) return `${hpa.spec.minReplicas ?? 1}-${hpa.spec.maxReplicas}`;
  return String(w.spec?.replicas ?? 1);
}

/** Weight of each backend Service of a service, from its north-south route (http) or its canary's registry weight (rpc). */
function weightsOf(app: string, routes: Obj[], tracks: Obj[]): Map<string, number> | undefined {
  const route = routes.find((r) => labelsOf(r)[NAME] === app && !isMeshRoute(r));
  if (route) return new Map((route.spec?.rules?.[0]?.backendRefs ?? []).map((b: Obj) => [String(b.name), Number(b.weight ?? 1)]));
  const canary = tracks.find((d) => labelsOf(d)[TRACK] === "canary");
  if (!canary) return undefined;
  const env = (canary.spec?.template?.spec?.containers?.[0]?.env ?? []) as Obj[];
  const raw = env.find((e) => e.name === "CLASSROOM_TRACK_WEIGHT")?.value ?? canary.metadata?.annotations?.["classroom.io/canary-weight"];
  if (raw === undefined) return undefined;
  return new Map([
    [`${app}-stable`, 100 - Number(raw)],
    [`${app}-canary`, Number(raw)],
  ]);
}

function isMeshRoute(r: Obj): boolean {
  return (r.spec?.parentRefs ?? []).some((p: Obj) => p.kind === "Service");
}

function ports(rule: Obj): string {
  const list = (rule.ports ?? []) as Obj[];
  return list.length ? list.map((p) => `${p.port}${p.protocol && p.protocol !== "TCP" ? `/${p.protocol}` : ""}`).join(", ") : "all ports";
}

/** Builds the Markdown document (a heading, the Mermaid diagram and the table of allowed paths). */
export function renderTopology(objects: Obj[], stack: string): string {
  const nodes = new Map<string, Node>();
  const edges: Edge[] = [];
  const add = (n: Node) => {
    if (!nodes.has(n.id)) nodes.set(n.id, n);
    return n.id;
  };
  const routes = objects.filter((o) => o.kind === "HTTPRoute");
  const workloads = objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind));

  // Classroom services and daemons: one node per app, a line per track.
  const appNode = new Map<string, string>();
  const apps = [...new Set(workloads.filter((w) => labelsOf(w)[TIER] === "service").map((w) => labelsOf(w)[NAME]))].sort();
  for (const app of apps) {
    const tracks = workloads
      .filter((w) => labelsOf(w)[TIER] === "service" && labelsOf(w)[NAME] === app)
      .sort((a, b) => String(labelsOf(b)[TRACK]).localeCompare(String(labelsOf(a)[TRACK])));
    const kind = labelsOf(tracks[0])[COMPONENT] ?? "service";
    const weights = weightsOf(app, routes, tracks);
    const lines = tracks.map((t) => {
      const track = labelsOf(t)[TRACK] ?? "stable";
      const weight = weights?.get(`${app}-${track}`);
      const version = labelsOf(t)["app.kubernetes.io/version"];
      return `${track} ×${replicaText(t, objects)}${version ? ` v${version}` : ""}${weight !== undefined ? ` · ${weight}%` : ""}`;
    });
    const daemon = kind === "worker";
    appNode.set(
      app,
      add({
        id: id("svc", app),
        label: [`${app}`, `(${daemon ? "daemon" : kind})`, ...lines],
        group: daemon ? "daemons" : "services",
        shape: daemon ? "round" : "box",
      }),
    );
  }

  // Data systems: one node per app of the data tier, with its servers.
  for (const app of [...new Set(workloads.filter((w) => labelsOf(w)[TIER] === "data").map((w) => labelsOf(w)[NAME]))].sort()) {
    const parts = workloads.filter((w) => labelsOf(w)[TIER] === "data" && labelsOf(w)[NAME] === app).map((w) => `${nameOf(w)} ×${replicaText(w, objects)}`);
    appNode.set(app, add({ id: id("data", app), label: [app, ...parts], group: "data", shape: "db" }));
  }

  // Externals (their Services) and legacy VMs (selector-less Services' EndpointSlices), by address.
  const byAddress = new Map<string, string>();
  const dnsExternals: Array<{ node: string; ports: string }> = [];
  for (const svc of objects.filter((o) => o.kind === "Service" && labelsOf(o)[EXTERNAL] === "true")) {
    const portText = ports({ ports: svc.spec?.ports });
    const slice = objects.find((o) => o.kind === "EndpointSlice" && labelsOf(o)["kubernetes.io/service-name"] === nameOf(svc) && nsOf(o) === nsOf(svc));
    const addresses = ((slice?.endpoints ?? []) as Obj[]).flatMap((e) => e.addresses ?? []);
    const where = svc.spec?.type === "ExternalName" ? String(svc.spec.externalName) : addresses.join(", ");
    const node = add({ id: id("ext", nameOf(svc)), label: [nameOf(svc), "(external)", `${where} :${portText}`], group: "external", shape: "ext" });
    appNode.set(nameOf(svc), node);
    for (const a of addresses) byAddress.set(`${a}/32`, node);
    if (svc.spec?.type === "ExternalName") dnsExternals.push({ node, ports: portText });
  }
  for (const slice of objects.filter((o) => o.kind === "EndpointSlice" && labelsOf(o)[TRACK] === "legacy")) {
    const app = labelsOf(slice)[NAME];
    const addresses = ((slice.endpoints ?? []) as Obj[]).flatMap((e) => e.addresses ?? []);
    const port = slice.ports?.[0]?.port;
    const node = add({ id: id("legacy", app), label: [`${app} legacy VMs`, ...addresses.map((a: string) => `${a}:${port}`)], group: "external", shape: "ext" });
    appNode.set(`${app}-legacy`, node);
    for (const a of addresses) byAddress.set(`${a}/32`, node);
  }

  // The gateway (declared here, or the existing one the routes name) and the north-south routes.
  for (const route of routes.filter((r) => !isMeshRoute(r))) {
    const app = labelsOf(route)[NAME];
    for (const parent of route.spec?.parentRefs ?? []) {
      const gwNs = parent.namespace ?? nsOf(route);
      const declared = objects.some((o) => o.kind === "Gateway" && nameOf(o) === parent.name && nsOf(o) === gwNs);
      const gw = add({
        id: id("gw", gwNs, parent.name),
        label: [`Gateway ${gwNs}/${parent.name}`, declared ? "(declared by the stack)" : "(existing)"],
        group: "edge",
        shape: "round",
      });
      for (const rule of route.spec?.rules ?? []) {
        const path = rule.matches?.[0]?.path?.value ?? "/";
        const hosts = (route.spec?.hostnames ?? []).join(", ");
        const legacyRef = (rule.backendRefs ?? []).find((b: Obj) => String(b.name).endsWith("-legacy"));
        const podWeight = (rule.backendRefs ?? [])
          .filter((b: Obj) => b !== legacyRef)
          .map((b: Obj) => `${String(b.name).slice(app.length + 1)} ${b.weight ?? 1}%`)
          .join(" · ");
        edges.push({
          from: gw,
          to: appNode.get(app) ?? add({ id: id("svc", app), label: [app], group: "services", shape: "box" }),
          label: `${hosts ? `${hosts} ` : ""}${path}: ${podWeight}`,
          kind: "route",
        });
        if (legacyRef && appNode.has(`${app}-legacy`))
          edges.push({ from: gw, to: appNode.get(`${app}-legacy`)!, label: `${path}: legacy ${legacyRef.weight}%`, kind: "route" });
      }
    }
  }
  for (const ingress of objects.filter((o) => o.kind === "Ingress")) {
    const app = labelsOf(ingress)[NAME];
    const gw = add({ id: "ingress_nginx", label: [`ingress-nginx (${ingress.spec?.ingressClassName ?? "default class"})`], group: "edge", shape: "round" });
    const weight = ingress.metadata?.annotations?.["nginx.ingress.kubernetes.io/canary-weight"];
    edges.push({
      from: gw,
      to: appNode.get(app) ?? id("svc", app),
      label: `${ingress.spec?.rules?.[0]?.http?.paths?.[0]?.path ?? "/"}${weight ? `: canary ${weight}%` : ""}`,
      kind: "route",
    });
  }

  // Allowed network paths: the egress of every NetworkPolicy that selects an app's pods.
  const pathRows: string[][] = [];
  for (const np of objects.filter((o) => o.kind === "NetworkPolicy")) {
    const from = np.spec?.podSelector?.matchLabels?.[NAME];
    // A policy over every pod of a namespace the stack declares a Gateway in is the gateway pods' own.
    const gateway = from ? undefined : objects.find((o) => o.kind === "Gateway" && nsOf(o) === nsOf(np));
    const source = from ? appNode.get(from) : gateway ? nodes.get(id("gw", nsOf(np), nameOf(gateway)))?.id : undefined;
    if (!source) continue;
    const sourceName = from ?? `gateway pods (${nsOf(np)})`;
    for (const rule of np.spec?.egress ?? []) {
      const portText = ports(rule);
      for (const peer of rule.to ?? []) {
        const target = peer.podSelector?.matchLabels?.[NAME];
        if (peer.podSelector?.matchLabels?.["k8s-app"] === "kube-dns") continue;
        if (target) {
          const node = appNode.get(target) ?? add({ id: id("pods", target), label: [target], group: "services", shape: "box" });
          edges.push({ from: source, to: node, label: portText, kind: "path" });
          pathRows.push([sourceName, target, portText]);
          continue;
        }
        const cidr = peer.ipBlock?.cidr;
        if (!cidr) continue;
        if (byAddress.has(cidr)) {
          const node = byAddress.get(cidr)!;
          if (!edges.some((e) => e.from === source && e.to === node && e.kind === "path"))
            edges.push({ from: source, to: node, label: portText, kind: "path" });
          pathRows.push([sourceName, `${cidr} (${nodes.get(node)!.label[0]})`, portText]);
        } else if (ANY.has(cidr)) {
          // A NetworkPolicy cannot name a DNS name: a host external is opened to any address on its ports.
          const dns = dnsExternals.filter((d) => d.ports === portText);
          const targets = dns.length
            ? dns.map((d) => d.node)
            : [add({ id: id("any", portText), label: [`any address :${portText}`], group: "external", shape: "ext" })];
          for (const node of targets) {
            if (!edges.some((e) => e.from === source && e.to === node && e.kind === "path"))
              edges.push({ from: source, to: node, label: `${portText} (any address)`, kind: "path" });
          }
          if (cidr === "0.0.0.0/0")
            pathRows.push([sourceName, `any address${dns.length ? ` (for ${dns.map((d) => nodes.get(d.node)!.label[0]).join(", ")})` : ""}`, portText]);
        } else {
          const node = add({ id: id("cidr", cidr), label: [cidr], group: "external", shape: "ext" });
          edges.push({ from: source, to: node, label: portText, kind: "path" });
          pathRows.push([sourceName, cidr, portText]);
        }
      }
    }
  }
  // A GAMMA route splits the calls of every caller: mark the call paths to that service.
  for (const route of routes.filter(isMeshRoute)) {
    const target = appNode.get(labelsOf(route)[NAME]);
    const split = (route.spec?.rules?.[0]?.backendRefs ?? [])
      .map((b: Obj) => `${String(b.name).slice(String(labelsOf(route)[NAME]).length + 1)} ${b.weight ?? 1}%`)
      .join(" · ");
    for (const e of edges.filter((x) => x.to === target && x.kind === "path")) {
      e.kind = "mesh";
      e.label = `${e.label} · mesh split ${split}`;
    }
  }

  return document(stack, objects.length, [...nodes.values()], edges, pathRows);
}

const GROUPS: Array<[Node["group"], string]> = [
  ["edge", "Edge"],
  ["services", "Classroom services"],
  ["daemons", "Platform daemons"],
  ["data", "Data layer"],
  ["external", "Outside the cluster"],
];

function document(stack: string, count: number, nodes: Node[], edges: Edge[], rows: string[][]): string {
  const shape = (n: Node) => {
    const label = `"${n.label.map(text).join("<br/>")}"`;
    return n.shape === "db" ? `[(${label})]` : n.shape === "round" ? `([${label}])` : n.shape === "ext" ? `[/${label}/]` : `[${label}]`;
  };
  const lines = ["flowchart LR"];
  for (const [group, title] of GROUPS) {
    const members = nodes.filter((n) => n.group === group).sort((a, b) => a.id.localeCompare(b.id));
    if (!members.length) continue;
    lines.push(`  subgraph grp_${group}["${title}"]`);
    for (const n of members) lines.push(`    ${n.id}${shape(n)}`);
    lines.push("  end");
  }
  const arrow = { route: "==>", mesh: "-.->", path: "-->" } as const;
  const seen = new Set<string>();
  for (const e of [...edges].sort((a, b) => `${a.from} ${a.to} ${a.label}`.localeCompare(`${b.from} ${b.to} ${b.label}`))) {
    const line = `  ${e.from} ${arrow[e.kind]}|"${text(e.label)}"| ${e.to}`;
    if (!seen.has(line)) lines.push(line);
    seen.add(line);
  }
  const table = [...new Set(rows.map((r) => `| ${r.join(" | ")} |`))].sort();
  return [
    `# Topology of stack \`${stack}\``,
    "",
    `Drawn by \`npm run synth\` from the ${count} objects it rendered, not from the stack file. Thick arrows: routes from the`,
    "gateway with their weights; dotted arrows: calls a GAMMA route splits; thin arrows: egress the NetworkPolicies allow",
    "(every pod may also reach cluster DNS; everything else is denied by the namespaces' default deny).",
    "",
    "```mermaid",
    ...lines,
    "```",
    "",
    "## Allowed egress",
    "",
    "| from | to | ports |",
    "|---|---|---|",
    ...table,
    "",
  ].join("\n");
}
