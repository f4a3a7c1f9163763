import { dataStatefulSet, DataWorkloadArgs } from "../../../components/shared/data-statefulset";

/** A three-member quorum system with one config file: the shape ZooKeeper and Kafka give the builder. */
function quorum(overrides: Partial<DataWorkloadArgs> = {}): DataWorkloadArgs {
  return {
    namespace: "data",
    name: "quorum",
    identity: { name: "quorum", instance: "quorum", component: "coordination", tier: "data", version: "1.2.3" },
    placement: {
      replicas: 3,
      maxUnavailable: 1,
      spread: { topologyKey: "kubernetes.io/hostname", mode: "required" },
      storage: { size: "2Gi", storageClass: "fast" },
    },
    user: { uid: 1000, gid: 1000 },
    terminationGracePeriodSeconds: 30,
    podManagementPolicy: "Parallel",
    containers: [{ name: "server", image: "quorum:1.2.3" }],
    volumes: [{ name: "config", configMap: { name: "quorum-config" } }],
    configFiles: { "server.conf": "members=3\n", "log.conf": "level=info\n" },
    clientPorts: [{ name: "client", port: 2181 }],
    ingress: [],
    egress: [],
    ...overrides,
  };
}

// The builder's output is plain data (no Outputs in these fixtures), so tests read it as such.
const build = (args: DataWorkloadArgs) => dataStatefulSet(args, `${args.name}-headless`) as any;

describe("dataStatefulSet", () => {
  it("selects exactly its own pods, and every spread rule and claim uses that same selector", () => {
    const sts = build(quorum());
    const podLabels = sts.spec.template.metadata.labels;
    const selector = sts.spec.selector.matchLabels;
    expect(selector).toEqual({ "app.kubernetes.io/name": "quorum", "app.kubernetes.io/instance": "quorum" });
    expect(podLabels).toMatchObject(selector);
    // The version changes with every image; a selector that held it could never be updated.
    expect(selector).not.toHaveProperty("app.kubernetes.io/version");
    expect(podLabels["app.kubernetes.io/version"]).toBe("1.2.3");
    const pod = sts.spec.template.spec;
    for (const term of pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution) expect(term.labelSelector.matchLabels).toEqual(selector);
    for (const c of pod.topologySpreadConstraints) expect(c.labelSelector.matchLabels).toEqual(selector);
    expect(sts.spec.volumeClaimTemplates).toEqual([
      {
        metadata: { name: "data", labels: selector },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "2Gi" } }, storageClassName: "fast" },
      },
    ]);
    expect(sts.spec.serviceName).toBe("quorum-headless");
  });

  it("runs the pods restricted, without a service-account token, as the image's user", () => {
    const pod = build(quorum()).spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    expect(pod.containers).toEqual([{ name: "server", image: "quorum:1.2.3" }]);
  });

  it("rolls the pods when a config file changes, and only then (the order of files does not matter)", () => {
    const checksum = (files: Record<string, string>) =>
      build(quorum({ configFiles: files })).spec.template.metadata.annotations["classroom.io/config-checksum"];
    const before = checksum({ "server.conf": "members=3\n", "log.conf": "level=info\n" });
    expect(before).toMatch(/^[a-f0-9]{64}$/);
    expect(checksum({ "log.conf": "level=info\n", "server.conf": "members=3\n" })).toBe(before);
    expect(checksum({ "server.conf": "members=5\n", "log.conf": "level=info\n" })).not.toBe(before);
  });

  it("adds the secret checksum beside the config checksum when the pods read a Secret", () => {
    const annotations = build(quorum({ secretChecksum: "abc" })).spec.template.metadata.annotations;
    expect(Object.keys(annotations)).toEqual(["classroom.io/config-checksum", "classroom.io/secret-checksum"]);
    expect(annotations["classroom.io/secret-checksum"]).toBe("abc");
  });

  it("gives a stateless member (a Sentinel) no claim template and no checksum, and a single replica no spread rules", () => {
    const sentinel = build(
      quorum({ configFiles: undefined, placement: { replicas: 1, maxUnavailable: 1, spread: { topologyKey: "kubernetes.io/hostname", mode: "required" } } }),
    );
    expect(sentinel.spec.volumeClaimTemplates).toBeUndefined();
    expect(sentinel.spec.template.metadata.annotations).toBeUndefined();
    expect(sentinel.spec.template.spec.affinity).toBeUndefined();
  });
});
