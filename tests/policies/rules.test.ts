// Every rule of the pack, as a specification: the compliant platform stack passes it, each listed variant
// still passes, and each listed breakage fails it with the quoted message. The table must name every rule.
import * as fs from "node:fs";
import * as path from "node:path";
import { allRules } from "../../policies/rules";
import { APPS, DIGEST, Obj, objectsOf, platformStack, PROD, violationsOf } from "./fixtures";
import { clusterRules } from "./rule-table/cluster";
import { platformRules } from "./rule-table/platform";
import { podSecurityRules } from "./rule-table/pod-security";
import { app, Change, RuleSpec } from "./rule-table/types";

const RULES: Record<string, RuleSpec> = { ...podSecurityRules, ...clusterRules, ...platformRules };

function changed(change: Change): Obj[] {
  const s = platformStack();
  change(s);
  return objectsOf(s);
}

test("the rule table specifies every rule of the pack, and only those", () => {
  expect(Object.keys(RULES).sort()).toEqual(allRules.map((r) => r.name).sort());
  expect(allRules.length).toBeGreaterThanOrEqual(30);
});

test("policies/README.md documents every rule", () => {
  const readme = fs.readFileSync(path.join(__dirname, "../../policies/README.md"), "utf8");
  for (const r of allRules) expect(readme).toContain(`| \`${r.name}\` |`);
});

test("every rule has a kebab-case name, a description and a default enforcement level", () => {
  for (const r of allRules) {
    expect(r.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(r.description.length).toBeGreaterThan(20);
    expect(["advisory", "mandatory"]).toContain(r.enforcementLevel);
  }
});

describe.each(Object.entries(RULES))("%s", (rule, spec) => {
  test("passes on the compliant platform stack", () => {
    expect(violationsOf(rule, objectsOf(platformStack()))).toEqual([]);
  });

  test.each(spec.passes)("passes: %s", (_what, change) => {
    expect(violationsOf(rule, changed(change))).toEqual([]);
  });

  test.each(spec.fails)("fails: %s", (_what, change, message) => {
    const found = violationsOf(rule, changed(change));
    expect(found.map((v) => v.message).join("\n")).toMatch(message);
    expect(found.every((v) => v.policy === rule)).toBe(true);
  });

  const withConfig = { ...PROD, all: "mandatory" as const, [rule]: { ...(PROD[rule] as object), ...spec.config } };
  if (spec.passesWithConfig) {
    test.each(spec.passesWithConfig)(`passes with ${JSON.stringify(spec.config)}: %s`, (_what, change) => {
      expect(violationsOf(rule, changed(change), withConfig)).toEqual([]);
      expect(violationsOf(rule, changed(change))).not.toEqual([]); // and the setting is what made it pass
    });
  }
  if (spec.failsWithConfig) {
    test.each(spec.failsWithConfig)(`fails with ${JSON.stringify(spec.config)}: %s`, (_what, change, message) => {
      expect(
        violationsOf(rule, changed(change), withConfig)
          .map((v) => v.message)
          .join("\n"),
      ).toMatch(message);
    });
  }
});

test("violations name the offending object by kind, namespace and name", () => {
  const [v] = violationsOf(
    "no-host-ports",
    changed((s) => (app(s).ports[0].hostPort = 80)),
  );
  expect(v).toMatchObject({ policy: "no-host-ports", resource: `Deployment ${APPS}/room-api-stable`, enforcementLevel: "mandatory" });
});

test("digest images count as pinned whatever their tag", () => {
  expect(
    violationsOf(
      "image-tag-pinned",
      changed((s) => (app(s).image = `room-api:latest@${DIGEST}`)),
    ),
  ).toEqual([]);
});
