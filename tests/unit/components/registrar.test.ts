import { ConfigError, parsePlatformConfig } from "../../../infra/config";
import { findObject, K8sObject, objectsOf, renderStack, selects } from "../../support/render";

// The platform side of runtime/registrar: what a `registration: registrar` rpc service and the registrar
// daemon render to. The dev stack uses it for whiteboard-rpc.

const pod = (d: K8sObject) => d.spec.template.spec;
const envNames = (d: K8sObject): string[] => pod(d).containers[0].env.map((e: any) => e.name);
const REGISTRY_ENV = ["CLASSROOM_REGISTRY_CONNECT", "CLASSROOM_REGISTRY_ROOT", "CLASSROOM_SERVICE_PORT", "CLASSROOM_TRACK_WEIGHT", "POD_IP"];

const canaryAt = (weight: number) => ({
  "classroom:scheduler": { replicas: 1, jobs: {} },
  "classroom:services": {
    "board-rpc": {
      kind: "rpc",
      port: 9090,
      uses: ["zookeeper"],
      registration: "registrar",
      stable: { image: "r/board:1.0.0", replicas: 2 },
      canary: { image: "r/board:1.1.0", replicas: 1, weight },
    },
    "session-rpc": { kind: "rpc", port: 9090, uses: ["zookeeper"], stable: { image: "r/session:1.0.0", replicas: 1 } },
  },
});

describe("registration: registrar", () => {
  it("renders no registry env into the service's pods; a self-registering rpc service keeps it", async () => {
    const result = await renderStack("dev");
    expect(envNames(findObject(result, "Deployment", "whiteboard-rpc-stable"))).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^CLASSROOM_REGISTRY_|^POD_IP$|^CLASSROOM_TRACK_WEIGHT$/)]),
    );
    expect(envNames(findObject(result, "Deployment", "session-rpc-stable"))).toEqual(expect.arrayContaining(REGISTRY_ENV));
  });

  it("puts the opt-in label, the track and the weight on the track Services, and nothing on self-registering ones", async () => {
    const result = await renderStack("dev", canaryAt(20));
    const stable = findObject(result, "Service", "board-rpc-stable");
    const canary = findObject(result, "Service", "board-rpc-canary");
    expect(stable.metadata.labels["classroom.io/registration"]).toBe("registrar");
    expect(stable.metadata.annotations).toEqual({ "classroom.io/registry-track": "stable", "classroom.io/registry-weight": "100" });
    expect(canary.metadata.annotations).toEqual({ "classroom.io/registry-track": "canary", "classroom.io/registry-weight": "20" });
    const self = findObject(result, "Service", "session-rpc-stable");
    expect(self.metadata.annotations).toBeUndefined();
    expect(self.metadata.labels["classroom.io/registration"]).toBeUndefined();
  });

  it("a canary weight step changes only the canary track Service: no pod template changes, canary included", async () => {
    const [before, after] = [await renderStack("dev", canaryAt(20)), await renderStack("dev", canaryAt(50))];
    for (const d of ["board-rpc-stable", "board-rpc-canary"]) {
      expect(findObject(after, "Deployment", d).spec.template).toEqual(findObject(before, "Deployment", d).spec.template);
    }
    expect(findObject(after, "Service", "board-rpc-canary").metadata.annotations["classroom.io/registry-weight"]).toBe("50");
  });

  it("is refused on services that are not rpc, naming the key", () => {
    let problems: string[] = [];
    try {
      parsePlatformConfig({
        "classroom:environment": "dev",
        "classroom:services": JSON.stringify({ w: { kind: "worker", registration: "registrar", stable: { image: "r/w:1", replicas: 1 } } }),
      });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems;
    }
    expect(problems).toEqual([expect.stringContaining("classroom:services.w.registration is only for kind rpc")]);
  });
});

describe("the registrar daemon", () => {
  it("runs two replicas of the runtime image by bin name, under its own ServiceAccount, with a disruption budget", async () => {
    const result = await renderStack("dev");
    const d = findObject(result, "Deployment", "registrar-stable");
    expect(d.spec.replicas).toBe(2);
    expect(pod(d).containers[0].command).toEqual(["classroom-registrar"]);
    expect(pod(d).serviceAccountName).toBe("classroom-registrar");
    expect(pod(d).automountServiceAccountToken).toBe(true);
    expect(pod(d).containers[0].image).toBe(findObject(result, "Deployment", "scheduler-stable").spec.template.spec.containers[0].image);
    // No other pod gets an API token.
    for (const other of objectsOf(result, "Deployment").filter((o) => o.metadata.name !== "registrar-stable")) {
      expect([other.metadata.name, pod(other).automountServiceAccountToken]).toEqual([other.metadata.name, false]);
    }
    const pdb = findObject(result, "PodDisruptionBudget", "registrar-stable");
    expect(selects(pdb.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
    expect(pdb.spec.maxUnavailable).toBe(1);
  });

  it("has the narrowest RBAC: list/watch Services and EndpointSlices in the apps namespace, get/update its one Lease", async () => {
    const result = await renderStack("dev");
    const role = findObject(result, "Role", "classroom-registrar");
    expect(role.metadata.namespace).toBe("classroom-dev-apps");
    expect(role.rules).toEqual([
      { apiGroups: [""], resources: ["services"], verbs: ["list", "watch"] },
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: ["classroom-registrar"], verbs: ["get", "update"] },
    ]);
    const binding = findObject(result, "RoleBinding", "classroom-registrar");
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "classroom-registrar" });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "classroom-registrar", namespace: "classroom-dev-apps" }]);
    expect(findObject(result, "Lease", "classroom-registrar").metadata.namespace).toBe("classroom-dev-apps");
    expect(objectsOf(result, "ClusterRole").concat(objectsOf(result, "ClusterRoleBinding"))).toEqual([]);
  });

  it("may reach ZooKeeper and the API server ports, nothing else besides DNS", async () => {
    const result = await renderStack("dev");
    const labels = findObject(result, "Deployment", "registrar-stable").spec.template.metadata.labels;
    const policies = objectsOf(result, "NetworkPolicy").filter(
      (p) =>
        p.metadata.namespace === "classroom-dev-apps" &&
        Object.keys(p.spec.podSelector.matchLabels ?? {}).length > 0 &&
        selects(p.spec.podSelector.matchLabels, labels),
    );
    const egress = policies.flatMap((p) => p.spec.egress ?? []);
    const ports = egress.flatMap((r: any) => r.ports.map((p: any) => `${p.protocol}/${p.port}`)).sort();
    expect(ports).toEqual(["TCP/2181", "TCP/443", "TCP/53", "TCP/6443", "UDP/53"].sort());
    const zk = egress.find((r: any) => r.ports.some((p: any) => p.port === 2181));
    expect(zk.to[0].podSelector.matchLabels["app.kubernetes.io/name"]).toBe("zookeeper");
    // Nobody calls it; Prometheus scrapes its /metrics on the health port.
    expect(policies.flatMap((p) => p.spec.ingress ?? [])).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } }, podSelector: { matchLabels: {} } }],
        ports: [{ protocol: "TCP", port: 8080 }],
      },
    ]);
  });

  it("reaches only the API server addresses and ports of registrar.apiServer / apiServerPorts when the stack sets them", async () => {
    const egressOf = (result: Awaited<ReturnType<typeof renderStack>>) => findObject(result, "NetworkPolicy", "registrar-apiserver").spec.egress;
    // Default: the stack does not know the control plane's addresses, so any address on 443 and 6443.
    expect(egressOf(await renderStack("dev"))).toEqual([
      {
        to: [{ ipBlock: { cidr: "0.0.0.0/0" } }, { ipBlock: { cidr: "::/0" } }],
        ports: [
          { protocol: "TCP", port: 443 },
          { protocol: "TCP", port: 6443 },
        ],
      },
    ]);
    const narrowed = await renderStack("dev", { "classroom:registrar": { apiServer: ["172.18.0.2", "10.20.0.0/28", "fd00::10"], apiServerPorts: [6443] } });
    expect(egressOf(narrowed)).toEqual([
      {
        to: [{ ipBlock: { cidr: "172.18.0.2/32" } }, { ipBlock: { cidr: "10.20.0.0/28" } }, { ipBlock: { cidr: "fd00::10/128" } }],
        ports: [{ protocol: "TCP", port: 6443 }],
      },
    ]);
  });

  it("refuses a bad registrar.apiServer entry, naming the key, the allowed form and the value", () => {
    const problems = (registrar: unknown): string[] => {
      try {
        parsePlatformConfig({ "classroom:environment": "dev", "classroom:registrar": JSON.stringify(registrar) });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return err.problems;
      }
      return [];
    };
    expect(problems({ apiServer: ["10.0.0.10", "kubernetes.default"] })).toEqual([
      "classroom:registrar.apiServer[1] must be an IP address or CIDR such as 10.0.0.10 or 10.0.0.0/24, got 'kubernetes.default'",
    ]);
    expect(problems({ apiServer: ["10.1.2.3/8"] })).toEqual([
      "classroom:registrar.apiServer[0] must be an IP address or CIDR such as 10.0.0.10 or 10.0.0.0/24 with no bits set after the prefix length, got '10.1.2.3/8'",
    ]);
    expect(problems({ apiServer: ["10.0.0.0/33"] })).toEqual([
      "classroom:registrar.apiServer[0] must be an IP address or CIDR such as 10.0.0.10 or 10.0.0.0/24 (prefix length 0-32), got '10.0.0.0/33'",
    ]);
    expect(problems({ apiServer: [] })).toEqual([expect.stringMatching(/^classroom:registrar.apiServer must list at least one address or CIDR/)]);
    expect(problems({ apiServerPorts: [0] })).toEqual(["classroom:registrar.apiServerPorts[0] must be a port number between 1 and 65535, got 0"]);
    expect(problems({ apiServer: ["fd00::/8", "2001:db8::/32", "10.0.0.0/8"] })).toEqual([]);
  });

  it("is not deployed by a stack whose rpc services all register themselves", async () => {
    const result = await renderStack("staging");
    expect(objectsOf(result, "Deployment").map((d) => d.metadata.name)).not.toContain("registrar-stable");
    expect(objectsOf(result, "Role")).toEqual([]);
  });
});
