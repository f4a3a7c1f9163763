// URNs as the engine computes them from a render under mocks, and which URN changes the engine would
// carry out as replacements. Small programs, rendered in-process: seconds.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { renderProgram } from "../../tools/synth/lib/render";
import { findReplacements } from "../../tools/synth/lib/replacements";
import { replacementHazards } from "../../tools/synth/lib/upgrade-safety";
import { identify } from "../../tools/synth/lib/urns";

const STACK = { project: "proj", stack: "test", file: "(none)", config: {}, secretKeys: [] };
const urn = (chain: string, name: string) => `urn:pulumi:test::proj::${chain}::${name}`;

/** A data system as the platform builds one: a component owning a password, the Secret holding it and a StatefulSet. */
class Store extends pulumi.ComponentResource {
  constructor(
    name: string,
    names: { password?: string; statefulSet?: string; aliases?: pulumi.Input<string | pulumi.Alias>[] },
    opts: pulumi.ComponentResourceOptions = {},
  ) {
    super("test:data:Store", name, {}, opts);
    const child = { parent: this };
    const password = new random.RandomPassword(names.password ?? `${name}-password`, { length: 16 }, child);
    new k8s.core.v1.Secret(
      `${name}-credentials`,
      { metadata: { name: `${name}-credentials`, namespace: "data" }, stringData: { password: password.result } },
      child,
    );
    new k8s.apps.v1.StatefulSet(
      names.statefulSet ?? name,
      {
        metadata: { name, namespace: "data" },
        spec: {
          serviceName: name,
          selector: { matchLabels: { app: name } },
          template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: "store:1" }] } },
        },
      },
      { ...child, aliases: names.aliases },
    );
  }
}

/** The platform's nesting: a layer component holding the store, so URNs carry a two-level parent chain. */
class Layer extends pulumi.ComponentResource {
  constructor(name: string, build: (parent: pulumi.Resource) => void, opts: pulumi.ComponentResourceOptions = {}) {
    super("test:index:Layer", name, {}, opts);
    build(this);
  }
}

const render = (program: () => void) => renderProgram(program, STACK);

describe("URNs of a render", () => {
  test("carry every ancestor's type, as the engine's do (Pulumi's mocks keep only the closest parent's)", async () => {
    const rendered = await render(() => new Layer("data", (parent) => new Store("db", {}, { parent })));
    expect(rendered.identities.map((r) => r.urn)).toEqual(
      expect.arrayContaining([
        urn("test:index:Layer", "data"),
        urn("test:index:Layer$test:data:Store", "db"),
        urn("test:index:Layer$test:data:Store$kubernetes:apps/v1:StatefulSet", "db"),
        urn("test:index:Layer$test:data:Store$random:index/randomPassword:RandomPassword", "db-password"),
      ]),
    );
    const sts = rendered.identities.find((r) => r.type === "kubernetes:apps/v1:StatefulSet")!;
    expect(sts.parent).toBe(urn("test:index:Layer$test:data:Store", "db"));
    // The Kubernetes SDK aliases its own older API versions of a StatefulSet.
    expect(sts.aliases).toEqual(["v1beta1", "v1beta2"].map((v) => urn(`test:index:Layer$test:data:Store$kubernetes:apps/${v}:StatefulSet`, "db")));
  });

  test("resolve a child's own alias and the aliases it inherits from a renamed parent", () => {
    const scope = { project: "proj", stack: "test" };
    const parent = identify(scope, "test:data:Store", "database", undefined, [{ name: "db" }], () => undefined);
    expect(parent.aliases).toEqual([urn("test:data:Store", "db")]);
    // Named after its parent: follows the parent's old name, as the SDK's inheritedChildAlias does.
    const password = identify(scope, "random:index/randomPassword:RandomPassword", "database-password", parent, [], () => undefined);
    expect(password.aliases).toEqual([urn("test:data:Store$random:index/randomPassword:RandomPassword", "db-password")]);
    const renamed = identify(scope, "kubernetes:apps/v1:StatefulSet", "sts", parent, [{ name: "database" }, "urn:pulumi:test::proj::x::y"], () => undefined);
    expect(renamed.aliases.sort()).toEqual(
      [
        "urn:pulumi:test::proj::x::y",
        urn("test:data:Store$kubernetes:apps/v1:StatefulSet", "database"),
        urn("test:data:Store$kubernetes:apps/v1:StatefulSet", "db"),
        urn("test:data:Store$kubernetes:apps/v1:StatefulSet", "sts"),
        urn("test:data:Store$x", "y"),
      ].sort(),
    );
    expect(identify(scope, "t:i:T", "n", undefined, [pulumi.output("urn:pulumi:test::proj::t:i:T::old")], () => undefined).opaqueAliases).toBe(1);
  });
});

describe("replacements between two renders", () => {
  const before = () => render(() => new Layer("data", (parent) => new Store("db", {}, { parent })));

  test("a renamed StatefulSet resource (same Kubernetes object) is a stateful replacement, with the alias that prevents it", async () => {
    const after = await render(() => new Layer("data", (parent) => new Store("db", { statefulSet: "db-sts" }, { parent })));
    const replacements = findReplacements(await before(), after);
    expect(replacements.map((r) => [r.resource, r.before.urn, r.after.urn, r.alias])).toEqual([
      [
        "StatefulSet/data/db",
        urn("test:index:Layer$test:data:Store$kubernetes:apps/v1:StatefulSet", "db"),
        urn("test:index:Layer$test:data:Store$kubernetes:apps/v1:StatefulSet", "db-sts"),
        'aliases: [{ name: "db" }]',
      ],
    ]);
    expect(replacements[0].stateful).toMatch(/StatefulSet and every replica go down/);
    expect(replacementHazards(replacements)[0]).toMatchObject({ resource: "StatefulSet/data/db", field: "urn" });
  });

  test("the same rename with an alias is no replacement", async () => {
    const after = await render(() => new Layer("data", (parent) => new Store("db", { statefulSet: "db-sts", aliases: [{ name: "db" }] }, { parent })));
    expect(findReplacements(await before(), after)).toEqual([]);
    // An alias only known at deploy time (an Output) may cover it: not reported.
    const opaque = await render(
      () => new Layer("data", (parent) => new Store("db", { statefulSet: "db-sts", aliases: [pulumi.output({ name: "db" })] }, { parent })),
    );
    expect(findReplacements(await before(), opaque)).toEqual([]);
  });

  test("a renamed password is a stateful replacement found by its parent; the Secret holding it is stateful too when it moves", async () => {
    const renamedPassword = await render(() => new Layer("data", (parent) => new Store("db", { password: "db-root-password" }, { parent })));
    expect(findReplacements(await before(), renamedPassword).map((r) => [r.resource, !!r.stateful, r.alias])).toEqual([
      [urn("test:index:Layer$test:data:Store$random:index/randomPassword:RandomPassword", "db-password"), true, 'aliases: [{ name: "db-password" }]'],
    ]);
    // The store moved out of its layer: every child's URN changes (the parent chain is part of it), each is
    // paired by its Kubernetes object or its name.
    const moved = findReplacements(await before(), await render(() => new Store("db", {})));
    expect(
      moved
        .filter((r) => r.stateful)
        .map((r) => r.resource)
        .sort(),
    ).toEqual([
      "Secret/data/db-credentials",
      "StatefulSet/data/db",
      urn("test:index:Layer$test:data:Store$random:index/randomPassword:RandomPassword", "db-password"),
    ]);
    expect(moved.find((r) => r.resource === "StatefulSet/data/db")!.alias).toBe(
      `aliases: [${JSON.stringify(urn("test:index:Layer$test:data:Store", "db"))}] on its parent db (children inherit it), or aliases: [${JSON.stringify(urn("test:index:Layer$test:data:Store$kubernetes:apps/v1:StatefulSet", "db"))}]`,
    );
    // ...and one alias on the moved store covers them all.
    expect(findReplacements(await before(), await render(() => new Store("db", {}, { aliases: [urn("test:index:Layer$test:data:Store", "db")] })))).toEqual([]);
  });
});
