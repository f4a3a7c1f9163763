// The project's real stacks, rendered by synth (the program `pulumi up` runs, under mocks), judged by the
// pack at each stack's own enforcement level: none may carry a mandatory violation. And the pack still
// catches the classic mistakes when they are put into that real rendering.
import * as fs from "node:fs";
import * as path from "node:path";
import { evaluatePolicies, formatViolations, loadPolicyConfig, mandatoryViolations, policyConfigNames, RenderedResource } from "../../policies/evaluate";
import { synthesize } from "../../tools/synth";

const ROOT = path.resolve(__dirname, "../..");
const STACKS = fs
  .readdirSync(path.join(ROOT, "stacks"))
  .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
  .map((f) => f.slice("Pulumi.".length, -".yaml".length))
  .sort();

const rendered = new Map<string, { resources: RenderedResource[]; logRoot?: string }>();

beforeAll(async () => {
  for (const stack of STACKS) {
    const result = await synthesize({ stack });
    rendered.set(stack, { resources: result.resources, logRoot: result.stack.config["classroom:logRoot"] });
  }
}, 120_000);

test("every stack has its own policy config, and every policy config belongs to a stack", () => {
  expect(STACKS.length).toBeGreaterThanOrEqual(4);
  expect(policyConfigNames()).toEqual(STACKS);
});

test.each(STACKS)("stack %s renders with zero mandatory violations under its own policies/config file", (stack) => {
  const { resources } = rendered.get(stack)!;
  expect(resources.filter((r) => r.type.startsWith("kubernetes:")).length).toBeGreaterThan(20);
  const blocking = mandatoryViolations(evaluatePolicies(resources, loadPolicyConfig(stack)));
  if (blocking.length) throw new Error(`${stack}: ${blocking.length} mandatory violation(s):\n${formatViolations(blocking)}`);
});

test.each(STACKS)("stack %s: no policy config keeps its own copy of the log root", (stack) => {
  const config = loadPolicyConfig(stack)["hostpath-log-root-only"];
  expect(typeof config === "object" ? Object.keys(config) : []).not.toContain("logRoot");
  expect(rendered.get(stack)!.logRoot).toMatch(/^\//);
});

test.each(STACKS)(
  "stack %s: classroom:logRoot alone moves the log directories, and the policy follows",
  async (stack) => {
    const result = await synthesize({ stack, overrides: { "classroom:logRoot": "/srv/classroom-logs" } });
    const hostPaths = result.objects.flatMap((o) => o.object.spec?.template?.spec?.volumes ?? []).filter((v: { hostPath?: unknown }) => v.hostPath);
    expect(hostPaths.length).toBeGreaterThan(0);
    // Every service's log directory, and the log agent's view of the whole root, move with it.
    for (const v of hostPaths.filter((h: { name: string }) => h.name === "logs")) expect(v.hostPath.path).toMatch(/^\/srv\/classroom-logs\/[a-z]/);
    expect(hostPaths.filter((h: { name: string }) => h.name === "log-root").map((h: { hostPath: { path: string } }) => h.hostPath.path)).toEqual([
      "/srv/classroom-logs",
    ]);
    expect(hostPaths.filter((h: { name: string }) => !["logs", "log-root", "checkpoints"].includes(h.name))).toEqual([]);
    expect(result.violations.filter((v) => v.policy === "hostpath-log-root-only")).toEqual([]);
    // ...and still guards: a log directory left under the old root is outside the new one.
    const stale = structuredClone(result.resources);
    const deployment = stale.find(
      (r) => r.props?.kind === "Deployment" && r.props.spec.template.spec.volumes?.some((v: { hostPath?: unknown }) => v.hostPath),
    )!;
    deployment.props.spec.template.spec.volumes.find((v: { hostPath?: unknown }) => v.hostPath).hostPath.path = `${rendered.get(stack)!.logRoot}/room-api`;
    expect(mandatoryViolations(evaluatePolicies(stale, loadPolicyConfig(stack))).map((v) => v.message)).toEqual([
      expect.stringContaining("which is not below the log root /srv/classroom-logs (log root from the classroom.io/log-root annotation of Namespace"),
    ]);
  },
  60_000,
);

test("the real prod rendering, deliberately broken, fails with the named rules", () => {
  const resources: RenderedResource[] = structuredClone(rendered.get("prod")!.resources);
  const deployment = resources.find((r) => r.props?.kind === "Deployment" && r.props.metadata?.labels?.["classroom.io/track"] === "stable")!;
  const spec = deployment.props.spec.template.spec;
  spec.containers[0].securityContext.privileged = true;
  spec.containers[0].image = spec.containers[0].image.replace(/:[^:/@]+(@.*)?$/, ":latest");
  const logs = spec.volumes.find((v: { hostPath?: unknown }) => v.hostPath);
  expect(logs).toBeDefined();
  logs.hostPath.path = "/var/lib";
  const route = resources.find((r) => r.props?.kind === "HTTPRoute")!;
  route.props.spec.rules[0].backendRefs[0].weight = 150;

  const blocking = mandatoryViolations(evaluatePolicies(resources, loadPolicyConfig("prod")));
  const rules = new Set(blocking.map((v) => v.policy));
  for (const rule of ["no-privileged-containers", "image-tag-pinned", "hostpath-log-root-only", "canary-weight-range", "httproute-backends-consistent"]) {
    expect(rules).toContain(rule);
  }
  const name = `${deployment.props.metadata.namespace}/${deployment.props.metadata.name}`;
  expect(blocking).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        policy: "hostpath-log-root-only",
        resource: `Deployment ${name}`,
        message: expect.stringContaining("/var/lib, which is not below the log root /data/logs/classroom/prod"),
      }),
    ]),
  );
});

describe("prod holds the platform's runtime image to a digest once the stack pins it", () => {
  const runtime = "registry.classroom.internal/classroom-platform-runtime";
  const daemonsOf = (result: Awaited<ReturnType<typeof synthesize>>) =>
    result.objects.filter((o) => o.object.kind === "Deployment" && /^(scheduler|mq-replayer|registrar)-stable$/.test(o.object.metadata.name));
  const blockingRuntime = (result: Awaited<ReturnType<typeof synthesize>>) =>
    mandatoryViolations(evaluatePolicies(result.resources, loadPolicyConfig("prod"))).filter((v) => v.policy === "runtime-image-digest-required");

  test("pinned by tag: every daemon is a mandatory violation; by digest: none", async () => {
    const byTag = await synthesize({ stack: "prod", overrides: { "classroom:runtimeImage": `${runtime}:0.2.0` } });
    expect(daemonsOf(byTag).length).toBeGreaterThanOrEqual(2);
    expect(
      blockingRuntime(byTag)
        .map((v) => v.resource.replace(/^Deployment \S+\//, ""))
        .sort(),
    ).toEqual(
      daemonsOf(byTag)
        .map((o) => o.object.metadata.name)
        .sort(),
    );
    const byDigest = await synthesize({ stack: "prod", overrides: { "classroom:runtimeImage": `${runtime}:0.2.0@sha256:${"ab12".repeat(16)}` } });
    expect(blockingRuntime(byDigest)).toEqual([]);
    for (const d of daemonsOf(byDigest)) expect(d.object.spec.template.metadata.annotations["classroom.io/runtime-image"]).toContain("@sha256:");
  }, 120_000);

  test("not pinned (the schema's default, a tag): the daemons claim no runtime image and prod passes", () => {
    const { resources } = rendered.get("prod")!;
    const daemons = resources.filter((r) => r.props?.kind === "Deployment" && /^(scheduler|mq-replayer|registrar)-stable$/.test(r.props.metadata?.name));
    expect(daemons.length).toBeGreaterThanOrEqual(2);
    for (const d of daemons) expect(d.props.spec.template.metadata.annotations ?? {}).not.toHaveProperty(["classroom.io/runtime-image"]);
    expect(mandatoryViolations(evaluatePolicies(resources, loadPolicyConfig("prod"))).filter((v) => v.policy === "runtime-image-digest-required")).toEqual([]);
  });
});
