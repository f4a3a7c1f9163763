import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { findUpgradeHazards, formatHazards, PROJECT_ROOT, synthesize, SynthResult } from "../../tools/synth";

/** The dev stack's ZooKeeper block with one setting changed: the way an operator would edit it. */
function zookeeperOverride(stackText: string, change: (zk: Record<string, any>) => void): Record<string, string> {
  const zk = structuredClone((parse(stackText) as { config: Record<string, any> }).config["classroom:zookeeper"]);
  change(zk);
  return { "classroom:zookeeper": JSON.stringify(zk) };
}

const bigger = (size: string) => `${parseInt(size, 10) + 1}${size.replace(/^\d+/, "")}`;

describe("upgrade safety between two renders", () => {
  const devText = fs.readFileSync(path.join(PROJECT_ROOT, "stacks/Pulumi.dev.yaml"), "utf8");
  let base: SynthResult;

  beforeAll(async () => {
    base = await synthesize({ stack: "dev" });
  }, 60_000);

  test("flags a storage size change in a StatefulSet's claim template, naming the resource and the field", async () => {
    const after = await synthesize({
      stack: "dev",
      overrides: zookeeperOverride(devText, (zk) => {
        zk.storage.size = bigger(zk.storage.size);
      }),
    });
    const hazards = findUpgradeHazards(base.objects, after.objects);
    expect(hazards.map((h) => `${h.resource} ${h.field}`)).toEqual([
      "StatefulSet/classroom-dev-data/zookeeper spec.volumeClaimTemplates[name=data].spec.resources.requests.storage",
    ]);
    expect(formatHazards(hazards)).toMatch(/replaces the StatefulSet/);
  }, 60_000);

  test("passes a replica change (StatefulSets scale in place)", async () => {
    const after = await synthesize({
      stack: "dev",
      overrides: zookeeperOverride(devText, (zk) => {
        zk.replicas = 3;
      }),
    });
    const sts = after.objects.find((o) => o.object.kind === "StatefulSet" && o.object.metadata.name === "zookeeper")!;
    expect(sts.object.spec.replicas).toBe(3);
    expect(findUpgradeHazards(base.objects, after.objects)).toEqual([]);
  }, 60_000);

  test("flags a StatefulSet with claims that disappears, and one that is renamed under the same Pulumi resource", () => {
    const sts = base.objects.find((o) => o.object.kind === "StatefulSet")!;
    const key = `StatefulSet/${sts.object.metadata.namespace}/${sts.object.metadata.name}`;
    const without = base.objects.filter((o) => o !== sts);
    expect(findUpgradeHazards(base.objects, without)).toEqual([expect.objectContaining({ resource: key, field: "spec.volumeClaimTemplates" })]);
    const renamed = [...without, { ...sts, object: { ...sts.object, metadata: { ...sts.object.metadata, name: `${sts.object.metadata.name}-v2` } } }];
    expect(findUpgradeHazards(base.objects, renamed)).toEqual([expect.objectContaining({ resource: key, field: "metadata.name" })]);
  });

  test("flags a changed serviceName and a removed PersistentVolumeClaim; passes image and resource changes", () => {
    const sts = {
      kind: "StatefulSet",
      metadata: { name: "db", namespace: "d" },
      spec: { serviceName: "db-headless", replicas: 1, template: { spec: { containers: [{ name: "db", image: "db:1" }] } } },
    };
    const claim = { kind: "PersistentVolumeClaim", metadata: { name: "scratch", namespace: "d" }, spec: { accessModes: ["ReadWriteOnce"] } };
    const upgraded = {
      ...sts,
      spec: { ...sts.spec, replicas: 3, template: { spec: { containers: [{ name: "db", image: "db:2", resources: { limits: { memory: "1Gi" } } }] } } },
    };
    expect(findUpgradeHazards([sts, claim], [upgraded, claim])).toEqual([]);
    const moved = { ...sts, spec: { ...sts.spec, serviceName: "db" } };
    expect(
      findUpgradeHazards([sts, claim], [moved])
        .map((h) => `${h.resource} ${h.field}`)
        .sort(),
    ).toEqual(["PersistentVolumeClaim/d/scratch (object)", "StatefulSet/d/db spec.serviceName"]);
  });
});
