import { externalCidrs, serviceEgressRules } from "../../../components/apps/egress";
import { externalSystemObjects } from "../../../components/traffic/external-system";
import { DataConnection } from "../../../components/shared/connection";
import { findObject, K8sObject, objectsOf, renderStack } from "../../support/render";

const redis = { system: "redis", namespace: "d", serverSelector: { "app.kubernetes.io/name": "redis" }, ports: [6379] } as unknown as DataConnection;
const egressOf = (np: K8sObject) => (np.spec.egress ?? []) as Array<{ to: any[]; ports: any[] }>;
const ipBlocks = (np: K8sObject) =>
  egressOf(np).flatMap((r) => r.to.filter((p) => p.ipBlock).map((p) => `${p.ipBlock.cidr}:${r.ports.map((x: any) => x.port).join(",")}`));

describe("an external system as objects", () => {
  it("is an ExternalName Service for a DNS name, ports named by protocol", () => {
    const { service, slice } = externalSystemObjects("course-system", { namespace: "apps", host: "courses.example.com", ports: [443, 8443] });
    expect(slice).toBeUndefined();
    expect(service.spec).toEqual({
      type: "ExternalName",
      externalName: "courses.example.com",
      ports: [
        { name: "tcp-443", port: 443, protocol: "TCP" },
        { name: "tcp-8443", port: 8443, protocol: "TCP" },
      ],
    });
    expect(service.metadata.labels["classroom.io/external"]).toBe("true");
  });

  it("is a selector-less Service plus an EndpointSlice bound to it by label for IP addresses", () => {
    const { service, slice } = externalSystemObjects("oa", { namespace: "apps", addresses: ["10.0.0.1", "10.0.0.2"], ports: [53], protocol: "UDP" });
    expect(service.spec).not.toHaveProperty("selector");
    expect(service.spec.type).toBe("ClusterIP");
    expect(slice!.metadata.labels["kubernetes.io/service-name"]).toBe(service.metadata.name);
    expect(slice!.metadata.namespace).toBe(service.metadata.namespace);
    // The EndpointSlice's port names must equal the Service's, or kube-proxy routes nothing.
    expect(slice!.ports.map((p: any) => p.name)).toEqual(service.spec.ports.map((p: any) => p.name));
    expect(slice!.ports).toEqual([{ name: "udp-53", port: 53, protocol: "UDP" }]);
    expect(slice!.endpoints.map((e: any) => e.addresses[0])).toEqual(["10.0.0.1", "10.0.0.2"]);
  });

  it("refuses both or neither of host and addresses", () => {
    expect(() => externalSystemObjects("x", { namespace: "a", ports: [1] })).toThrow("external x: set exactly one of host and addresses");
    expect(() => externalSystemObjects("x", { namespace: "a", ports: [1], host: "h.example.com", addresses: ["10.0.0.1"] })).toThrow("exactly one");
  });
});

describe("a service's egress rules", () => {
  it("open the data systems, the callees, the callees' legacy VMs as /32 per port, and the externals, in that order", () => {
    const rules = serviceEgressRules({
      namespace: "apps",
      connections: [redis],
      calls: [
        { name: "course-api", port: 8080, legacyEndpoints: ["10.20.0.11:8080", "10.20.0.12:8080", "10.20.0.12:9000"] },
        { name: "session-rpc", port: 9090 },
      ],
      externals: [{ name: "oa", ports: [443], protocol: "TCP", cidrs: ["10.9.0.1/32"] }],
    });
    expect(
      rules.map((r) => [
        r.peers.map((p: any) => p.ipBlock?.cidr ?? p.podSelector.matchLabels["app.kubernetes.io/name"]),
        r.ports.map((p: any) => `${p.protocol}/${p.port}`),
      ]),
    ).toEqual([
      [["redis"], ["TCP/6379"]],
      [["course-api"], ["TCP/8080"]],
      [["session-rpc"], ["TCP/9090"]],
      [["10.20.0.11/32", "10.20.0.12/32"], ["TCP/8080"]],
      [["10.20.0.12/32"], ["TCP/9000"]],
      [["10.9.0.1/32"], ["TCP/443"]],
    ]);
  });

  it("opens a DNS-name external to its declared ranges, else to any address (a NetworkPolicy cannot name a host)", () => {
    expect(externalCidrs({ addresses: ["10.0.0.1", "10.0.0.1", "10.0.0.2"] })).toEqual(["10.0.0.1/32", "10.0.0.2/32"]);
    expect(externalCidrs({ egressCidrs: ["203.0.113.0/24"] })).toEqual(["203.0.113.0/24"]);
    expect(externalCidrs({})).toEqual(["0.0.0.0/0", "::/0"]);
  });
});

describe("externals and egress in the dev stack", () => {
  it("renders each external as a Service of the apps namespace, IP externals with their EndpointSlice", async () => {
    const result = await renderStack("dev");
    const course = findObject(result, "Service", "course-system");
    expect(course.spec).toMatchObject({ type: "ExternalName", externalName: "courses.dev.classroom.internal" });
    const user = findObject(result, "Service", "user-system");
    const slice = findObject(result, "EndpointSlice", "user-system-addresses");
    expect(slice.metadata.labels["kubernetes.io/service-name"]).toBe(user.metadata.name);
    expect(slice.endpoints.map((e: any) => e.addresses[0])).toEqual(["10.40.0.21", "10.40.0.22"]);
  });

  it("opens an external only in the egress of the services that call it", async () => {
    const result = await renderStack("dev");
    const policies = objectsOf(result, "NetworkPolicy").filter(
      (np) => np.metadata.namespace === "classroom-dev-apps" && np.metadata.name !== "registrar-apiserver",
    );
    const withIpBlocks = Object.fromEntries(policies.map((np) => [np.metadata.name, ipBlocks(np)]).filter(([, b]) => (b as string[]).length));
    expect(withIpBlocks).toEqual({
      "course-api": ["0.0.0.0/0:443", "::/0:443"],
      "room-api": ["10.40.0.21/32:8443", "10.40.0.22/32:8443"],
    });
  });

  it("keeps every classroom service's DNS egress to kube-dns as its last rule", async () => {
    const result = await renderStack("dev");
    // The classroom services (each has a stable track); the log agent builds its own policy.
    const services = new Set(objectsOf(result, "Deployment").map((d) => d.metadata.name.replace(/-stable$/, "")));
    const policies = objectsOf(result, "NetworkPolicy").filter((p) => p.metadata.labels["classroom.io/tier"] === "service" && services.has(p.metadata.name));
    expect(policies.length).toBeGreaterThan(5);
    for (const np of policies) {
      const last = egressOf(np).at(-1)!;
      expect([np.metadata.name, last.to[0].podSelector.matchLabels]).toEqual([np.metadata.name, { "k8s-app": "kube-dns" }]);
    }
  });
});

describe("legacy VMs behind a callee", () => {
  it("are opened to the callers as /32 on the VM port (staging: the scheduler calls course-api, which has VMs)", async () => {
    const result = await renderStack("staging");
    expect(ipBlocks(findObject(result, "NetworkPolicy", "scheduler"))).toEqual(["10.20.0.11/32:8080", "10.20.0.12/32:8080"]);
    // course-api itself does not call its own VMs; the gateway reaches them.
    expect(ipBlocks(findObject(result, "NetworkPolicy", "course-api"))).toEqual([]);
  });
});
