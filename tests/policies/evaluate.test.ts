// evaluatePolicies: the pack's rules run in-process with CrossGuard-shaped arguments, at the enforcement
// levels of policies/config/<stack>.json, reconciled the way the Pulumi CLI reconciles them.
import {
  evaluatePolicies,
  formatViolations,
  loadPolicyConfig,
  mandatoryViolations,
  PolicyConfigError,
  policyConfigNames,
  resolvePolicyConfig,
  Violation,
} from "../../policies/evaluate";
import { allRules } from "../../policies/rules";
import { APPS, LOG_ROOT, Obj, objectsOf, platformStack, PlatformStack, toResources } from "./fixtures";

const UNKNOWN = {
  string: "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
  number: "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
  bool: "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
  object: "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
  array: "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
};

function evaluate(change: (s: PlatformStack) => void, stack: string): Violation[] {
  const s = platformStack();
  change(s);
  return evaluatePolicies(toResources(objectsOf(s)), loadPolicyConfig(stack));
}

const levelOf = (found: Violation[], policy: string) => [...new Set(found.filter((v) => v.policy === policy).map((v) => v.enforcementLevel))];

describe("enforcement per stack", () => {
  const noReadiness = (s: PlatformStack) => delete s.stable.spec.template.spec.containers[0].readinessProbe;

  test("a missing readiness probe is advisory in dev and local, mandatory in staging and prod", () => {
    expect(levelOf(evaluate(noReadiness, "dev"), "readiness-probe")).toEqual(["advisory"]);
    expect(levelOf(evaluate(noReadiness, "local"), "readiness-probe")).toEqual(["advisory"]);
    expect(levelOf(evaluate(noReadiness, "staging"), "readiness-probe")).toEqual(["mandatory"]);
    expect(levelOf(evaluate(noReadiness, "prod"), "readiness-probe")).toEqual(["mandatory"]);
  });

  test("security invariants block even in dev: a privileged container is mandatory everywhere", () => {
    for (const stack of policyConfigNames()) {
      const found = evaluate((s) => (s.stable.spec.template.spec.containers[0].securityContext.privileged = true), stack);
      expect(levelOf(found, "no-privileged-containers")).toEqual(["mandatory"]);
    }
  });

  test("HA rules do not run in dev (disabled), and are mandatory in prod", () => {
    const single = (s: PlatformStack) => {
      s.zk.spec.replicas = 1;
      s.brokers.spec.replicas = 1;
    };
    const dev = evaluate(single, "dev");
    expect(dev.filter((v) => ["ha-replicas", "kafka-replication", "image-digest-required"].includes(v.policy))).toEqual([]);
    const prod = evaluate(single, "prod");
    expect(levelOf(prod, "ha-replicas")).toEqual(["mandatory"]);
    expect(levelOf(prod, "kafka-replication")).toEqual(["mandatory"]);
  });

  test("image digests are reported in staging and prod (advisory until the release pipeline resolves digests), not in dev", () => {
    const tagOnly = (s: PlatformStack) => (s.stable.spec.template.spec.containers[0].image = "registry.classroom.internal/room-api:1.8.2");
    expect(levelOf(evaluate(tagOnly, "prod"), "image-digest-required")).toEqual(["advisory"]);
    expect(levelOf(evaluate(tagOnly, "staging"), "image-digest-required")).toEqual(["advisory"]);
    expect(levelOf(evaluate(tagOnly, "dev"), "image-digest-required")).toEqual([]);
    // One line of config makes it a gate.
    const strict = { ...loadPolicyConfig("prod"), "image-digest-required": "mandatory" as const };
    const stack = platformStack();
    tagOnly(stack);
    expect(levelOf(evaluatePolicies(toResources(objectsOf(stack)), strict), "image-digest-required")).toEqual(["mandatory"]);
  });

  test("the log root comes from the stack's Namespaces, the same in every stack's config", () => {
    const underDev = (s: PlatformStack) => {
      for (const w of [s.stable, s.canary]) w.spec.template.spec.volumes[0].hostPath.path = "/data/logs/classroom/dev/room-api";
    };
    // The fixture's namespaces state the prod root, so a dev path is outside it whichever config judges it.
    for (const stack of policyConfigNames()) expect(levelOf(evaluate(underDev, stack), "hostpath-log-root-only")).toEqual(["mandatory"]);
    const movedToDev = (s: PlatformStack) => {
      underDev(s);
      for (const ns of [...s.appNamespace, ...s.dataNamespace])
        if (ns.kind === "Namespace") ns.metadata.annotations["classroom.io/log-root"] = "/data/logs/classroom/dev";
    };
    for (const stack of policyConfigNames()) expect(levelOf(evaluate(movedToDev, stack), "hostpath-log-root-only")).toEqual([]);
  });

  test("without its Namespace, an object is judged against the rule's logRoot setting, and the message says so", () => {
    const objects = objectsOf(platformStack()).filter((o) => o.kind !== "Namespace");
    const hostPathRule = (config: Parameters<typeof evaluatePolicies>[1]) =>
      evaluatePolicies(toResources(objects), config).filter((v) => v.policy === "hostpath-log-root-only");
    expect(hostPathRule(loadPolicyConfig("prod"))).toEqual([]); // below the default /data/logs/classroom
    const elsewhere = { ...loadPolicyConfig("prod"), "hostpath-log-root-only": { logRoot: "/srv/logs" } };
    expect(hostPathRule(elsewhere).map((v) => v.message)).toContain(
      "volume 'logs' mounts host path /data/logs/classroom/prod/room-api, which is not below the log root /srv/logs (log root from the logRoot setting of hostpath-log-root-only)",
    );
  });
});

test("a deliberately bad stack (hostPath outside the log root, latest tag, privileged container, weight 150) fails with the named rules", () => {
  const found = evaluate((s) => {
    const spec = s.stable.spec.template.spec;
    spec.volumes[0].hostPath.path = "/etc";
    spec.containers[0].image = "registry.classroom.internal/room-api:latest";
    spec.containers[0].securityContext.privileged = true;
    s.route.spec.rules[0].backendRefs[1].weight = 150;
  }, "prod");
  const blocking = new Set(mandatoryViolations(found).map((v) => v.policy));
  for (const rule of ["hostpath-log-root-only", "image-tag-pinned", "no-privileged-containers", "canary-weight-range"]) expect(blocking).toContain(rule);
  const text = formatViolations(found);
  expect(text).toMatch(/\[mandatory\] hostpath-log-root-only {2}Deployment classroom-prod-apps\/room-api-stable: volume 'logs' mounts host path \/etc/);
  expect(text).toMatch(
    /\[mandatory\] canary-weight-range {2}HTTPRoute classroom-prod-apps\/room-api: rules\[0\].backendRefs\[1\] \(room-api-canary\) weight 150 is outside 0-100/,
  );
  expect(text.indexOf("[advisory]") === -1 || text.indexOf("[advisory]") > text.lastIndexOf("[mandatory]")).toBe(true);
});

test("the compliant stack has no violation at all in any stack's config", () => {
  for (const stack of policyConfigNames()) {
    expect(evaluatePolicies(toResources(objectsOf(platformStack())), loadPolicyConfig(stack))).toEqual([]);
  }
  expect(LOG_ROOT).toBe("/data/logs/classroom/prod");
});

describe("config files are reconciled like the Pulumi CLI does it", () => {
  test('schema defaults, then "all", then the policy\'s own level and settings', () => {
    const resolved = resolvePolicyConfig({ all: "advisory", "hostpath-log-root-only": { enforcementLevel: "mandatory", logRoot: "/srv/logs" } }, allRules);
    expect(resolved.get("hostpath-log-root-only")).toEqual({ enforcementLevel: "mandatory", properties: { logRoot: "/srv/logs", logVolumeName: "logs" } });
    expect(resolved.get("no-privileged-containers")!.enforcementLevel).toBe("advisory");
    expect(resolvePolicyConfig({}, allRules).get("no-privileged-containers")!.enforcementLevel).toBe("mandatory");
  });

  test("a disabled rule does not run", () => {
    const objects = toResources(
      objectsOf(platformStack()).map((o) => (o.kind === "Deployment" ? { ...o, metadata: { ...o.metadata, namespace: "default" } } : o)),
    );
    expect(evaluatePolicies(objects, { "no-default-namespace": "disabled" }).filter((v) => v.policy === "no-default-namespace")).toEqual([]);
    expect(evaluatePolicies(objects, {}).filter((v) => v.policy === "no-default-namespace")).toHaveLength(2);
  });

  test.each([
    [{ "no-priviledged-containers": "mandatory" }, /unknown policy "no-priviledged-containers"; the pack has: /],
    [{ "hostpath-log-root-only": { logroot: "/x" } }, /"hostpath-log-root-only" has no setting "logroot"; settings: logRoot, logVolumeName/],
    [{ "hostpath-log-root-only": { logRoot: "relative/logs" } }, /"hostpath-log-root-only".logRoot must match \^\/, got "relative\/logs"/],
    [{ "ha-replicas": { minReplicas: "two" } }, /"ha-replicas".minReplicas must be integer, got "two"/],
    [{ all: "strict" }, /"all" must be one of advisory, mandatory, remediate, disabled, got "strict"/],
    [{ "no-host-ports": { enforcementLevel: "warn" } }, /"no-host-ports".enforcementLevel must be one of advisory, mandatory/],
    [{ "drop-all-capabilities": { allowedCapabilities: ["NET_BIND_SERVICE", 7] } }, /allowedCapabilities\[1\] must be string, got 7/],
  ])("rejects %j", (config, message) => {
    expect(() => evaluatePolicies([], config as never)).toThrow(PolicyConfigError);
    expect(() => evaluatePolicies([], config as never)).toThrow(message);
  });

  test("loading a stack without a config file names the stacks that have one", () => {
    expect(() => loadPolicyConfig("qa")).toThrow(/no policy config for stack "qa"; stacks with one: dev, local, prod, staging/);
    expect(() => loadPolicyConfig("../prod")).toThrow(PolicyConfigError);
  });

  test("every config file of the project is valid for the pack", () => {
    for (const stack of policyConfigNames()) expect(() => resolvePolicyConfig(loadPolicyConfig(stack), allRules, stack)).not.toThrow();
  });
});

describe("values unknown during preview", () => {
  /** Every path to a leaf (and to each object/array) of `value`. */
  function paths(value: unknown, prefix: string[] = []): string[][] {
    if (typeof value !== "object" || value === null) return [prefix];
    const own = Object.entries(value as Obj).flatMap(([k, v]) => paths(v, [...prefix, k]));
    return prefix.length ? [prefix, ...own] : own;
  }
  function replaced(obj: Obj, path: string[], sentinel: string): Obj {
    const copy = structuredClone(obj);
    let cur = copy;
    for (const key of path.slice(0, -1)) cur = cur[key];
    cur[path[path.length - 1]] = sentinel;
    return copy;
  }
  function sentinelFor(v: unknown): string {
    if (Array.isArray(v)) return UNKNOWN.array;
    if (typeof v === "object" && v !== null) return UNKNOWN.object;
    if (typeof v === "number") return UNKNOWN.number;
    if (typeof v === "boolean") return UNKNOWN.bool;
    return UNKNOWN.string;
  }

  test.each(["stable", "route", "kafkaConfig", "zk", "hpa", "svcStable", "appPdb", "appPolicy", "legacySlice"] as const)(
    "no field of %s, when unknown, throws or produces a violation in the compliant stack",
    (part) => {
      const base = platformStack();
      // Identity (names, namespaces, labels) comes from config and is known in every preview of this platform.
      const fieldPaths = paths(base[part]).filter((p) => p[0] !== "metadata" && p[0] !== "apiVersion" && p[0] !== "kind");
      expect(fieldPaths.length).toBeGreaterThanOrEqual(2);
      for (const p of fieldPaths) {
        const s = platformStack();
        let value: unknown = s[part];
        for (const key of p) value = (value as Obj)[key];
        (s as Record<string, unknown>)[part] = replaced(s[part] as Obj, p, sentinelFor(value));
        const found = evaluatePolicies(toResources(objectsOf(s)), loadPolicyConfig("prod"));
        if (found.length) throw new Error(`unknown ${part}.${p.join(".")} produced:\n${formatViolations(found)}`);
      }
    },
  );

  test("an unknown value never hides a known problem elsewhere in the same object", () => {
    const found = evaluate((s) => {
      const c = s.stable.spec.template.spec.containers[0];
      c.image = UNKNOWN.string;
      c.securityContext.privileged = true;
    }, "prod");
    expect(found.map((v) => v.policy)).toEqual(["no-privileged-containers"]);
    expect(found[0].resource).toBe(`Deployment ${APPS}/room-api-stable`);
  });
});
