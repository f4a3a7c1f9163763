import { diffRenders, diffValues, formatDiff, isEmptyDiff } from "../../tools/synth";

const deployment = (name: string, image: string, env: Array<{ name: string; value: string }> = []) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: "apps", labels: { "app.kubernetes.io/version": image.split(":")[1] } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: "app", image, env }] } } },
});

describe("synth diff between two renders", () => {
  test("keys objects by Kind/namespace/name and sorts them into added, changed and removed", () => {
    const before = [deployment("a", "app:1"), deployment("b", "app:1")];
    const after = [deployment("a", "app:2"), { apiVersion: "v1", kind: "Service", metadata: { name: "c", namespace: "apps" } }];
    const diff = diffRenders(before, after);
    expect(diff.added).toEqual(["Service/apps/c"]);
    expect(diff.removed).toEqual(["Deployment/apps/b"]);
    expect(diff.changed.map((c) => c.key)).toEqual(["Deployment/apps/a"]);
  });

  test("names every changed field by path, with dotted label keys quoted and values before and after", () => {
    const diff = diffRenders([deployment("a", "app:1")], [deployment("a", "app:2")]);
    expect(diff.changed[0].fields).toEqual([
      { path: 'metadata.labels["app.kubernetes.io/version"]', before: "1", after: "2" },
      { path: "spec.template.spec.containers[name=app].image", before: "app:1", after: "app:2" },
    ]);
  });

  test("matches named list items by name, so inserting one env var changes only that entry", () => {
    const before = [
      { name: "A", value: "1" },
      { name: "C", value: "3" },
    ];
    const after = [
      { name: "A", value: "1" },
      { name: "B", value: "2" },
      { name: "C", value: "3" },
    ];
    expect(diffValues(before, after, "env")).toEqual([{ path: "env[name=B]", after: { name: "B", value: "2" } }]);
  });

  test("matches claim templates by metadata.name", () => {
    const vct = (size: string) => [{ metadata: { name: "data" }, spec: { resources: { requests: { storage: size } } } }];
    expect(diffValues(vct("1Gi"), vct("2Gi"), "spec.volumeClaimTemplates")).toEqual([
      { path: "spec.volumeClaimTemplates[name=data].spec.resources.requests.storage", before: "1Gi", after: "2Gi" },
    ]);
  });

  test("compares unnamed lists by position and reports added and removed fields", () => {
    expect(diffValues({ args: ["a", "b"], x: 1 }, { args: ["a"], y: 2 })).toEqual([
      { path: "args[1]", before: "b" },
      { path: "x", before: 1 },
      { path: "y", after: 2 },
    ]);
  });

  test("finds no difference when only key order differs, and says so", () => {
    const a = { kind: "ConfigMap", metadata: { name: "x", namespace: "n" }, data: { a: "1", b: "2" } };
    const b = { data: { b: "2", a: "1" }, metadata: { namespace: "n", name: "x" }, kind: "ConfigMap" };
    const diff = diffRenders([a], [b]);
    expect(isEmptyDiff(diff)).toBe(true);
    expect(formatDiff(diff)).toBe("synth diff: 0 added, 0 changed, 0 removed");
  });

  test("prints one line per object and one per changed field", () => {
    const text = formatDiff(diffRenders([deployment("a", "app:1"), deployment("gone", "app:1")], [deployment("a", "app:2")]), { title: "synth diff dev" });
    expect(text.split("\n")).toEqual([
      "synth diff dev: 0 added, 1 changed, 1 removed",
      "  ~ Deployment/apps/a",
      '      metadata.labels["app.kubernetes.io/version"]: 1 -> 2',
      "      spec.template.spec.containers[name=app].image: app:1 -> app:2",
      "  - Deployment/apps/gone",
    ]);
  });
});
