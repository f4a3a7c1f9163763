import { findObject, K8sObject, objectsOf, renderStack, selects } from "../../support/render";

const pod = (d: K8sObject) => d.spec.template.spec;
const env = (d: K8sObject) => Object.fromEntries(pod(d).containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
const withCanary = {
  // The stack's scheduler jobs call services this fixture does not declare.
  "classroom:scheduler": { replicas: 1, jobs: {} },
  "classroom:services": {
    "room-api": {
      kind: "http",
      uses: ["redis", "mysql", "kafka"],
      calls: ["session-rpc"],
      stable: { image: "r/room-api:1.0.0", replicas: 2 },
      canary: { image: "r/room-api:1.1.0", replicas: 1, weight: 10 },
      legacy: { endpoints: ["10.20.0.11:8080"], weight: 20 },
      route: { pathPrefix: "/api/rooms", hostnames: ["c.example.com"] },
    },
    "session-rpc": {
      kind: "rpc",
      port: 9090,
      uses: ["zookeeper", "redis"],
      stable: { image: "r/session-rpc:3.0.0", replicas: 2 },
      canary: { image: "r/session-rpc:3.1.0", replicas: 1, weight: 25 },
    },
    "attendance-consumer": { kind: "consumer", uses: ["kafka", "mysql"], stable: { image: "r/att:1.0.0", replicas: 3 } },
    janitor: { kind: "worker", stable: { image: "r/janitor:1.0.0", replicas: 1 }, configFiles: { "janitor.yaml": "interval: 5s\n" } },
  },
};

describe("ClassroomService", () => {
  it("gives each track its own Deployment and Service, plus one Service over both tracks", async () => {
    const result = await renderStack("dev", withCanary);
    for (const track of ["stable", "canary"]) {
      const d = findObject(result, "Deployment", `room-api-${track}`);
      const s = findObject(result, "Service", `room-api-${track}`);
      expect(selects(s.spec.selector, d.spec.template.metadata.labels)).toBe(true);
      expect(d.spec.template.metadata.labels["classroom.io/track"]).toBe(track);
    }
    const umbrella = findObject(result, "Service", "room-api");
    expect(selects(umbrella.spec.selector, findObject(result, "Deployment", "room-api-stable").spec.template.metadata.labels)).toBe(true);
    expect(selects(umbrella.spec.selector, findObject(result, "Deployment", "room-api-canary").spec.template.metadata.labels)).toBe(true);
    // Track selectors never overlap.
    expect(
      selects(
        findObject(result, "Service", "room-api-stable").spec.selector,
        findObject(result, "Deployment", "room-api-canary").spec.template.metadata.labels,
      ),
    ).toBe(false);
  });

  it("mounts the four volume kinds, each from its proper source", async () => {
    const result = await renderStack("dev", withCanary);
    const spec = pod(findObject(result, "Deployment", "room-api-stable"));
    const byName = Object.fromEntries(spec.volumes.map((v: any) => [v.name, v]));
    expect(byName.scratch.emptyDir).toEqual({ sizeLimit: "256Mi" });
    expect(byName.logs.hostPath).toEqual({ path: "/data/logs/classroom/dev/room-api", type: "DirectoryOrCreate" });
    expect(byName.config.configMap.name).toBe("room-api-config");
    expect(byName.credentials.secret.secretName).toBe("room-api-credentials");
    const mounts = Object.fromEntries(spec.containers[0].volumeMounts.map((m: any) => [m.name, m.mountPath]));
    expect(mounts).toMatchObject({
      logs: "/var/log/classroom",
      config: "/etc/classroom/config",
      credentials: "/etc/classroom/secrets",
      scratch: "/var/cache/classroom",
    });
  });

  it("names log files by pod name and pod UID, so no two pods share a file, even with a reused pod name", async () => {
    const e = env(findObject(await renderStack("dev", withCanary), "Deployment", "session-rpc-stable"));
    expect(e.POD_UID).toEqual({ fieldRef: { fieldPath: "metadata.uid" } });
    expect(e.POD_NAME).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
    expect(e.CLASSROOM_LOG_FILE).toBe("/var/log/classroom/$(POD_NAME)_$(POD_UID).log");
    // $(VAR) only expands from variables defined earlier in the list.
    const names = pod(findObject(await renderStack("dev", withCanary), "Deployment", "session-rpc-stable")).containers[0].env.map((x: any) => x.name);
    expect(names.indexOf("POD_UID")).toBeLessThan(names.indexOf("CLASSROOM_LOG_FILE"));
  });

  it("builds the credentials Secret from the data connections and points env vars at the files", async () => {
    const result = await renderStack("dev", withCanary);
    const secret = findObject(result, "Secret", "room-api-credentials");
    expect(Object.keys(secret.stringData).sort()).toEqual(["mysql-classroom_app-password", "redis-password"]);
    const e = env(findObject(result, "Deployment", "room-api-stable"));
    expect(e.REDIS_PASSWORD_FILE).toBe("/etc/classroom/secrets/redis-password");
    expect(e.KAFKA_BOOTSTRAP).toContain(":9092");
    expect(e.MYSQL_HOST).toBe("mysql.classroom-dev-data.svc.cluster.local");
    expect(e.ZOOKEEPER_CONNECT).toBeUndefined();
  });

  it("opens exactly the declared NetworkPolicy paths", async () => {
    const result = await renderStack("dev", withCanary);
    const policy = findObject(result, "NetworkPolicy", "room-api");
    const egressTo = policy.spec.egress.map(
      (r: any) => r.to[0].podSelector?.matchLabels?.["app.kubernetes.io/name"] ?? r.to[0].podSelector?.matchLabels?.["k8s-app"],
    );
    expect(egressTo.sort()).toEqual(["kafka", "kube-dns", "mysql", "redis", "session-rpc"].sort());
    const labels = findObject(result, "Deployment", "room-api-stable").spec.template.metadata.labels;
    expect(labels).toMatchObject({
      "classroom.io/client-redis": "true",
      "classroom.io/client-mysql": "true",
      "classroom.io/client-kafka": "true",
      "classroom.io/calls-session-rpc": "true",
    });
    expect(labels["classroom.io/client-zookeeper"]).toBeUndefined();
    // session-rpc admits its declared caller only.
    const rpcPolicy = findObject(result, "NetworkPolicy", "session-rpc");
    expect(rpcPolicy.spec.ingress[0].from).toEqual([
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "classroom-dev-apps" } },
        podSelector: { matchLabels: { "app.kubernetes.io/name": "room-api", "classroom.io/calls-session-rpc": "true" } },
      },
    ]);
    // session-rpc admits Prometheus on its metrics port only (gRPC stays closed to it).
    expect(rpcPolicy.spec.ingress[1]).toEqual({
      from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } }, podSelector: { matchLabels: {} } }],
      ports: [{ protocol: "TCP", port: 9464 }],
    });
    // A worker nobody calls admits nothing but the scrape of its /metrics.
    expect(findObject(result, "NetworkPolicy", "janitor").spec.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } }, podSelector: { matchLabels: {} } }],
        ports: [{ protocol: "TCP", port: 8080 }],
      },
    ]);
  });

  it("routes HTTP through an HTTPRoute whose weights are stable = 100 - canary - legacy", async () => {
    const route = findObject(await renderStack("dev", withCanary), "HTTPRoute", "room-api");
    const refs = route.spec.rules[0].backendRefs.map((b: any) => [b.name, b.weight]);
    expect(refs).toEqual([
      ["room-api-stable", 70],
      ["room-api-canary", 10],
      ["room-api-legacy", 20],
    ]);
    // dev declares its own Gateway (routing.gateway) in classroom-dev-gateway.
    expect(route.spec.parentRefs[0]).toMatchObject({ kind: "Gateway", name: "classroom", namespace: "classroom-dev-gateway" });
  });

  it("represents legacy VMs as a selector-less Service with an EndpointSlice", async () => {
    const result = await renderStack("dev", withCanary);
    const svc = findObject(result, "Service", "room-api-legacy");
    expect(svc.spec.selector).toBeUndefined();
    const slice = findObject(result, "EndpointSlice", "room-api-legacy-vms");
    expect(slice.metadata.labels["kubernetes.io/service-name"]).toBe("room-api-legacy");
    expect(slice.endpoints).toEqual([{ addresses: ["10.20.0.11"], conditions: { ready: true } }]);
  });

  it("gives rpc canary pods the registry settings and their weight, and stable pods none that a weight change touches", async () => {
    const result = await renderStack("dev", withCanary);
    const canary = env(findObject(result, "Deployment", "session-rpc-canary"));
    const stable = env(findObject(result, "Deployment", "session-rpc-stable"));
    expect(canary).toMatchObject({
      CLASSROOM_TRACK: "canary",
      CLASSROOM_TRACK_WEIGHT: "25",
      CLASSROOM_REGISTRY_ROOT: "/classroom/services",
      CLASSROOM_SERVICE: "session-rpc",
      CLASSROOM_SERVICE_PORT: "9090",
    });
    expect(canary.CLASSROOM_REGISTRY_CONNECT).toContain("zookeeper-0.zookeeper-headless");
    expect(canary.POD_IP).toEqual({ fieldRef: { fieldPath: "status.podIP" } });
    expect(stable.CLASSROOM_TRACK_WEIGHT).toBe("100");
    const otherWeight = await renderStack("dev", {
      ...withCanary,
      "classroom:services": {
        ...withCanary["classroom:services"],
        "session-rpc": { ...withCanary["classroom:services"]["session-rpc"], canary: { image: "r/session-rpc:3.1.0", replicas: 1, weight: 50 } },
      },
    });
    expect(findObject(otherWeight, "Deployment", "session-rpc-stable")).toEqual(findObject(result, "Deployment", "session-rpc-stable"));
  });

  it("renders consumers and workers without routes, and rolls pods on config change", async () => {
    const result = await renderStack("dev", withCanary);
    expect(objectsOf(result, "HTTPRoute").map((r) => r.metadata.name)).toEqual(["room-api"]);
    const janitor = findObject(result, "Deployment", "janitor-stable");
    expect(janitor.spec.template.metadata.annotations["classroom.io/config-checksum"]).toMatch(/^[a-f0-9]{64}$/);
    expect(findObject(result, "ConfigMap", "janitor-config").data).toEqual({ "janitor.yaml": "interval: 5s\n" });
  });

  it("lets the HPA own replicas when autoscaling is set, with a PDB for the minimum", async () => {
    const result = await renderStack("prod");
    const d = findObject(result, "Deployment", "room-api-stable");
    expect(d.spec.replicas).toBeUndefined();
    expect(findObject(result, "HorizontalPodAutoscaler", "room-api-stable").spec).toMatchObject({ minReplicas: 4, maxReplicas: 20 });
    expect(findObject(result, "PodDisruptionBudget", "room-api-stable").spec.maxUnavailable).toBe(1);
  });

  it("supports ingress-nginx canary annotations as an alternative", async () => {
    const services = { ...withCanary["classroom:services"], "room-api": { ...withCanary["classroom:services"]["room-api"], legacy: undefined } };
    const result = await renderStack("dev", { ...withCanary, "classroom:services": services, "classroom:routing": { mode: "nginx-ingress" } });
    const canary = findObject(result, "Ingress", "room-api-canary");
    expect(canary.metadata.annotations).toEqual({ "nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "10" });
    expect(objectsOf(result, "HTTPRoute")).toHaveLength(0);
  });
});
