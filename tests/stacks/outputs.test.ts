// The program's outputs describe each stack's layout as the stack file sets it: what `pulumi stack output`
// shows and synth's summary prints.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { PROJECT_ROOT, synthesize } from "../../tools/synth";
import type { PlatformOutputs } from "../../infra/platform";

const stackFile = (stack: string) =>
  (parse(fs.readFileSync(path.join(PROJECT_ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, any> }).config;

describe("prod stack outputs", () => {
  let outputs: PlatformOutputs;
  const config = stackFile("prod");

  beforeAll(async () => {
    outputs = (await synthesize({ stack: "prod" })).outputs as unknown as PlatformOutputs;
  }, 120_000);

  test("dataSystems: each system's members, quorum and replication as the stack file sets them", () => {
    const zk = config["classroom:zookeeper"];
    const kafka = config["classroom:kafka"];
    const redis = config["classroom:redis"];
    expect(outputs.dataSystems).toEqual({
      zookeeper: { system: "zookeeper", servers: zk.replicas, quorum: Math.floor(zk.replicas / 2) + 1 },
      kafka: expect.objectContaining({ system: "kafka", mode: "dedicated", controllers: kafka.controllers.replicas, brokers: kafka.brokers.replicas }),
      redis: { system: "redis", mode: "sentinel", replicas: redis.replicas - 1, sentinels: redis.sentinel.replicas, quorum: redis.sentinel.quorum },
      mysql: { system: "mysql", primary: 1, replicas: config["classroom:mysql"].replicas - 1 },
    });
  });

  test("services: every service of the stack file with its tracks, HPA bounds and traffic split", () => {
    const declared = config["classroom:services"] as Record<string, any>;
    for (const [name, svc] of Object.entries(declared)) {
      const t = outputs.services[name];
      expect(t).toBeDefined();
      expect(t.kind).toBe(svc.kind);
      expect(t.tracks[0]).toEqual({
        track: "stable",
        image: svc.stable.image,
        replicas: svc.autoscaling ? svc.autoscaling.minReplicas : svc.stable.replicas,
        ...(svc.autoscaling ? { autoscaling: { minReplicas: svc.autoscaling.minReplicas, maxReplicas: svc.autoscaling.maxReplicas } } : {}),
      });
    }
    // course-api sends half its traffic to the legacy VMs through the gateway.
    expect(outputs.services["course-api"].traffic).toEqual({
      via: "gateway-api",
      weights: [
        { backend: "stable", weight: 50 },
        { backend: "legacy", weight: 50 },
      ],
    });
    expect(outputs.services["session-rpc"].traffic).toEqual({ via: "none" });
  });

  test("hold no credentials", () => {
    expect(JSON.stringify(outputs)).not.toMatch(/generated-at-deploy|password|<secret/i);
  });
});
