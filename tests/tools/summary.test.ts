// synth's summary: counts and workloads from the rendered objects, layout from the program's outputs.
import { summarize } from "../../tools/synth/summary";

const deployment = (name: string, track: string, volumes: Record<string, unknown>[]) => ({
  type: "kubernetes:apps/v1:Deployment",
  name: `${name}-${track}`,
  object: {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `${name}-${track}`, namespace: "apps", labels: { "app.kubernetes.io/name": name, "classroom.io/track": track } },
    spec: { replicas: 2, template: { spec: { containers: [{ name, image: "x:1" }], volumes } } },
  },
});

describe("synth summary", () => {
  test("prints each data system's layout from the outputs, whatever its objects are called", () => {
    const text = summarize({
      objects: [],
      outputs: {
        dataSystems: {
          zookeeper: { system: "zookeeper", servers: 5, quorum: 3 },
          kafka: { system: "kafka", mode: "combined", nodes: 3, replicationFactor: 3, minInsyncReplicas: 2 },
          redis: { system: "redis", mode: "standalone" },
          mysql: { system: "mysql", primary: 1, replicas: 0 },
        },
      },
    });
    expect(text.split("\n").slice(-5)).toEqual([
      "data layer:",
      "  zookeeper: 5-server ensemble (quorum 3)",
      "  kafka: 3 combined broker+controller node(s), RF 3, min ISR 2",
      "  redis: standalone, AOF everysec",
      "  mysql: primary only",
    ]);
  });

  test("prints each service's tracks and traffic split from the outputs, and its volumes from its stable Deployment", () => {
    const text = summarize({
      objects: [deployment("chat", "stable", [{ name: "logs", hostPath: { path: "/var/log/x" } }]), deployment("chat", "canary", [])],
      outputs: {
        services: {
          chat: {
            kind: "http",
            tracks: [
              { track: "stable", image: "chat:1", replicas: 3, autoscaling: { minReplicas: 3, maxReplicas: 9 } },
              { track: "canary", image: "chat:2", replicas: 1 },
            ],
            traffic: {
              via: "nginx-ingress",
              weights: [
                { backend: "stable", weight: 80 },
                { backend: "canary", weight: 20 },
              ],
            },
          },
          grades: {
            kind: "consumer",
            tracks: [
              { track: "stable", image: "grades:1", replicas: 2 },
              { track: "canary", image: "grades:2", replicas: 1 },
            ],
            traffic: { via: "replica-ratio" },
          },
        },
      },
    });
    expect(text).toContain("  chat [http] stable chat:1 x3-9 (HPA), canary chat:2 x1; ingress-nginx: stable 80% / canary 20%; volumes logs:hostPath");
    expect(text).toContain("  grades [consumer] stable grades:1 x2, canary grades:2 x1; split by replica ratio (Kafka partitions); volumes ");
  });

  test("a program without those outputs gets counts and workloads only", () => {
    const text = summarize({ objects: [deployment("chat", "stable", [])], outputs: {} });
    expect(text).toMatch(/^objects: 1\n {2}apps: 1 Deployment\nworkloads:\n {2}Deployment\s+apps\/chat-stable\s+2x/);
    expect(text).not.toContain("data layer:");
    expect(text).not.toContain("services:");
  });
});
