import { renderTopology } from "../../tools/synth/topology";
import { objectsOf, renderStack } from "../support/render";

type Obj = Record<string, any>;
const APPS = "apps";
const labels = (name: string, extra: Record<string, string> = {}) => ({ "app.kubernetes.io/name": name, ...extra });
const deployment = (name: string, track: string, replicas: number, component: string, version: string): Obj => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    name: `${name}-${track}`,
    namespace: APPS,
    labels: labels(name, {
      "classroom.io/tier": "service",
      "classroom.io/track": track,
      "app.kubernetes.io/component": component,
      "app.kubernetes.io/version": version,
    }),
  },
  spec: { replicas, template: { spec: { containers: [{ name: "app" }] } } },
});
const egress = (from: string, rules: Obj[]): Obj => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: from, namespace: APPS, labels: labels(from) },
  spec: { podSelector: { matchLabels: { "app.kubernetes.io/name": from } }, egress: rules },
});
const route = (name: string, parentRefs: Obj[], refs: Array<[string, number]>): Obj => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name, namespace: APPS, labels: labels(name.replace(/-east-west$/, "")) },
  spec: {
    parentRefs,
    rules: [{ matches: [{ path: { type: "PathPrefix", value: "/api/rooms" } }], backendRefs: refs.map(([n, weight]) => ({ name: n, port: 8080, weight })) }],
  },
});
const mermaid = (md: string) => md.slice(md.indexOf("```mermaid"), md.lastIndexOf("```"));

function graph(): Obj[] {
  return [
    deployment("room-api", "stable", 3, "http", "1.8.2"),
    deployment("room-api", "canary", 1, "http", "1.9.0"),
    deployment("scheduler", "stable", 2, "worker", "0.1.0"),
    {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "redis", namespace: "data", labels: labels("redis", { "classroom.io/tier": "data" }) },
      spec: { replicas: 3 },
    },
    route(
      "room-api",
      [{ kind: "Gateway", name: "classroom", namespace: "gateway" }],
      [
        ["room-api-stable", 70],
        ["room-api-canary", 10],
        ["room-api-legacy", 20],
      ],
    ),
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "room-api-legacy-vms",
        namespace: APPS,
        labels: labels("room-api", { "classroom.io/track": "legacy", "kubernetes.io/service-name": "room-api-legacy" }),
      },
      ports: [{ port: 8080 }],
      endpoints: [{ addresses: ["10.20.0.11"] }],
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "course-system", namespace: APPS, labels: labels("course-system", { "classroom.io/external": "true" }) },
      spec: { type: "ExternalName", externalName: "courses.example.com", ports: [{ port: 443, protocol: "TCP" }] },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "user-system", namespace: APPS, labels: labels("user-system", { "classroom.io/external": "true" }) },
      spec: { ports: [{ port: 8443, protocol: "TCP" }] },
    },
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "user-system-addresses", namespace: APPS, labels: labels("user-system", { "kubernetes.io/service-name": "user-system" }) },
      ports: [{ port: 8443 }],
      endpoints: [{ addresses: ["10.40.0.21"] }],
    },
    egress("room-api", [
      { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { "app.kubernetes.io/name": "redis" } } }], ports: [{ protocol: "TCP", port: 6379 }] },
      { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }, { ipBlock: { cidr: "::/0" } }], ports: [{ protocol: "TCP", port: 443 }] },
      { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }], ports: [{ protocol: "UDP", port: 53 }] },
    ]),
    egress("scheduler", [
      { to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "room-api" } } }], ports: [{ protocol: "TCP", port: 8080 }] },
      { to: [{ ipBlock: { cidr: "10.20.0.11/32" } }], ports: [{ protocol: "TCP", port: 8080 }] },
      { to: [{ ipBlock: { cidr: "10.40.0.21/32" } }], ports: [{ protocol: "TCP", port: 8443 }] },
    ]),
  ];
}

describe("the topology diagram", () => {
  it("shows each service with its tracks, replicas, versions and route weights, daemons and data systems apart", () => {
    const md = mermaid(renderTopology(graph(), "dev"));
    expect(md).toContain('svc_room_api["room-api<br/>(http)<br/>stable ×3 v1.8.2 · 70%<br/>canary ×1 v1.9.0 · 10%"]');
    expect(md).toMatch(/subgraph grp_daemons\["Platform daemons"\]\n {4}svc_scheduler\(\["scheduler<br\/>\(daemon\)<br\/>stable ×2 v0.1.0"\]\)/);
    expect(md).toContain('data_redis[("redis<br/>redis ×3")]');
  });

  it("draws the gateway's routes with their weights, the legacy VMs' share included", () => {
    const md = mermaid(renderTopology(graph(), "dev"));
    expect(md).toContain('gw_gateway_classroom(["Gateway gateway/classroom<br/>(existing)"])');
    expect(md).toContain('gw_gateway_classroom ==>|"/api/rooms: stable 70% · canary 10%"| svc_room_api');
    expect(md).toContain('gw_gateway_classroom ==>|"/api/rooms: legacy 20%"| legacy_room_api');
  });

  it("draws every allowed egress path and nothing for cluster DNS", () => {
    const doc = renderTopology(graph(), "dev");
    const md = mermaid(doc);
    expect(md).toContain('svc_room_api -->|"6379"| data_redis');
    expect(md).toContain('svc_scheduler -->|"8080"| svc_room_api');
    expect(md).toContain('svc_scheduler -->|"8080"| legacy_room_api');
    expect(md).toContain('svc_scheduler -->|"8443"| ext_user_system');
    expect(md).not.toContain("kube-dns");
    expect(doc).toContain("| scheduler | 10.40.0.21/32 (user-system) | 8443 |");
  });

  it("ties an any-address rule to the DNS-name external with those ports, since a NetworkPolicy cannot name it", () => {
    const md = mermaid(renderTopology(graph(), "dev"));
    expect(md).toContain('ext_course_system[/"course-system<br/>(external)<br/>courses.example.com :443"/]');
    expect(md).toContain('svc_room_api -->|"443 (any address)"| ext_course_system');
  });

  it("marks the calls a GAMMA route splits, with the split", () => {
    const objects = [
      ...graph(),
      route(
        "room-api-east-west",
        [{ group: "", kind: "Service", name: "room-api", port: 8080 }],
        [
          ["room-api-stable", 70],
          ["room-api-canary", 10],
          ["room-api-legacy", 20],
        ],
      ),
    ];
    const md = mermaid(renderTopology(objects, "dev"));
    expect(md).toContain('svc_scheduler -.->|"8080 · mesh split stable 70% · canary 10% · legacy 20%"| svc_room_api');
  });

  it("escapes quotes and angle brackets in labels", () => {
    const objects = graph();
    objects[6].spec.externalName = 'a"b<c>.example.com';
    expect(renderTopology(objects, "dev")).toContain("a#quot;b#lt;c#gt;.example.com");
  });
});

describe("the topology of a rendered stack", () => {
  it("has an edge for every egress peer of every service's NetworkPolicy but DNS (dev)", async () => {
    const result = await renderStack("dev");
    const objects = result.objects.map((o) => o.object);
    const md = mermaid(renderTopology(objects, "dev"));
    for (const np of objectsOf(result, "NetworkPolicy").filter((p) => p.metadata.labels["classroom.io/tier"] === "service")) {
      const from = `svc_${np.spec.podSelector.matchLabels["app.kubernetes.io/name"].replace(/-/g, "_")}`;
      for (const rule of np.spec.egress) {
        for (const peer of rule.to) {
          const to = peer.podSelector?.matchLabels?.["app.kubernetes.io/name"];
          if (!to) continue;
          expect(md).toMatch(
            new RegExp(`${from} -(->|\\.->)\\|"${rule.ports.map((p: any) => p.port).join(", ")}[^"]*"\\| (svc|data)_${to.replace(/-/g, "_")}\\n`),
          );
        }
      }
    }
    expect(md).toContain('svc_room_api -->|"8443"| ext_user_system');
    expect(md).toContain("(declared by the stack)");
  });
});
