import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { ReleaseStep } from "../../tools/release/actions";
import { RenderCache } from "../../tools/release/diff";
import { planRelease, ReleasePlan, writeRelease } from "../../tools/release/release";
import { PROJECT_ROOT, SynthDiff, SynthResult } from "../../tools/synth";

/**
 * The release steps from their synth diffs, on copies of the project's stack files. Renders are cached
 * by file content, so each state of a stack renders once across the whole file.
 */
const DIGEST = `@sha256:${"ab".repeat(32)}`;
let stacksDir: string;
const cache: RenderCache = new Map();

beforeAll(() => {
  stacksDir = fs.mkdtempSync(path.join(os.tmpdir(), "release-test-stacks-"));
  for (const f of fs.readdirSync(path.join(PROJECT_ROOT, "stacks"))) fs.copyFileSync(path.join(PROJECT_ROOT, "stacks", f), path.join(stacksDir, f));
});
afterAll(() => fs.rmSync(stacksDir, { recursive: true, force: true }));

const stackFile = (stack: string) => path.join(stacksDir, `Pulumi.${stack}.yaml`);

/** Plans and writes one step, as the CLI does with --no-deploy. */
async function step(stack: string, service: string, s: ReleaseStep): Promise<ReleasePlan> {
  const plan = await planRelease({ stack, service, step: s, stacksDir, cache, now: new Date("2026-03-01T12:00:00Z") });
  writeRelease(plan);
  return plan;
}

/** Every object key the diff touches (added, changed or removed). */
const touched = (diff: SynthDiff) => [...diff.added, ...diff.changed.map((c) => c.key), ...diff.removed].sort();

/** The stable track's objects: Deployment, Service, PodDisruptionBudget and HorizontalPodAutoscaler named `<svc>-stable`. */
const stableTrack = (keys: string[], service: string) => keys.filter((k) => k.endsWith(`/${service}-stable`));

/** The HTTPRoute's backend weights by track, from a render. */
function routeWeights(render: SynthResult, service: string): Record<string, number> {
  const route = render.objects.find((o) => o.object.kind === "HTTPRoute" && o.object.metadata.name === service)!.object;
  const refs = route.spec.rules[0].backendRefs as Array<{ name: string; weight: number }>;
  return Object.fromEntries(refs.map((r) => [r.name.slice(service.length + 1), r.weight]));
}

/** What the stack file says the split must be: stable = 100 - canary - legacy. */
function stackWeights(stack: string, service: string): Record<string, number> {
  const svc = (parse(fs.readFileSync(stackFile(stack), "utf8")) as { config: Record<string, any> }).config["classroom:services"][service];
  const canary = svc.canary?.weight;
  const legacy = svc.legacy?.weight;
  return { stable: 100 - (canary ?? 0) - (legacy ?? 0), ...(canary !== undefined ? { canary } : {}), ...(legacy !== undefined ? { legacy } : {}) };
}

describe("gray release of an http service (staging course-api, which also sends 20% to legacy VMs)", () => {
  const service = "course-api";
  const routeRefs = (r: SynthResult, name: string) =>
    r.objects.find((o) => o.object.kind === "HTTPRoute" && o.object.metadata.name === name)!.object.spec.rules[0].backendRefs;
  const northSouthRefs = (r: SynthResult) => routeRefs(r, service);
  const eastWestRefs = (r: SynthResult) => routeRefs(r, `${service}-east-west`);
  let original: string;
  let originalRender: SynthResult;

  test("canary adds the canary Deployment and Service and a weighted backend, and leaves every stable-track object alone", async () => {
    original = fs.readFileSync(stackFile("staging"), "utf8");
    const plan = await step("staging", service, { action: "canary", image: `registry.classroom.internal/course-api:2.4.0${DIGEST}`, weight: 10 });
    originalRender = plan.before;
    expect(plan.diff.added).toEqual(["Deployment/classroom-staging-apps/course-api-canary", "Service/classroom-staging-apps/course-api-canary"]);
    // staging routes east-west (routing.eastWest gamma): in-cluster calls get the same split, so both routes change.
    expect(plan.diff.changed.map((c) => c.key)).toEqual([
      "HTTPRoute/classroom-staging-apps/course-api",
      "HTTPRoute/classroom-staging-apps/course-api-east-west",
    ]);
    expect(eastWestRefs(plan.after)).toEqual(northSouthRefs(plan.after));
    expect(stableTrack(touched(plan.diff), service)).toEqual([]);
    expect(routeWeights(plan.after, service)).toEqual(stackWeights("staging", service));
    expect(routeWeights(plan.after, service)).toEqual({ stable: 70, canary: 10, legacy: 20 });
  }, 60_000);

  test("a weight change modifies only the HTTPRoute's weights and the canary's weight annotation (no pod restarts)", async () => {
    const plan = await step("staging", service, { action: "weight", weight: 40 });
    expect(touched(plan.diff)).toEqual([
      "Deployment/classroom-staging-apps/course-api-canary",
      "HTTPRoute/classroom-staging-apps/course-api",
      "HTTPRoute/classroom-staging-apps/course-api-east-west",
    ]);
    const fields = Object.fromEntries(plan.diff.changed.map((c) => [c.key.split("/").pop(), c.fields.map((f) => f.path)]));
    for (const route of ["course-api", "course-api-east-west"]) {
      expect(fields[route]).toEqual(["spec.rules[0].backendRefs[name=course-api-stable].weight", "spec.rules[0].backendRefs[name=course-api-canary].weight"]);
    }
    expect(fields["course-api-canary"]).toEqual(['metadata.annotations["classroom.io/canary-weight"]']);
    expect(eastWestRefs(plan.after)).toEqual(northSouthRefs(plan.after));
    expect(routeWeights(plan.after, service)).toEqual(stackWeights("staging", service));
    expect(routeWeights(plan.after, service)).toEqual({ stable: 40, canary: 40, legacy: 20 });
  }, 60_000);

  test("rollback during the canary sets weight 0 and scales the canary to 0; stable objects keep every field", async () => {
    const plan = await step("staging", service, { action: "rollback" });
    expect(touched(plan.diff)).toEqual([
      "Deployment/classroom-staging-apps/course-api-canary",
      "HTTPRoute/classroom-staging-apps/course-api",
      "HTTPRoute/classroom-staging-apps/course-api-east-west",
    ]);
    expect(eastWestRefs(plan.after)).toEqual(northSouthRefs(plan.after));
    expect(plan.diff.changed.find((c) => c.key.startsWith("Deployment/"))!.fields.map((f) => f.path)).toEqual([
      'metadata.annotations["classroom.io/canary-weight"]',
      "spec.replicas",
    ]);
    expect(routeWeights(plan.after, service)).toEqual(stackWeights("staging", service));
    expect(routeWeights(plan.after, service)).toEqual({ stable: 80, canary: 0, legacy: 20 });
  }, 60_000);

  test("a new canary, promote, then rollback restore the stack file byte for byte and the render object for object", async () => {
    await step("staging", service, { action: "canary", image: `registry.classroom.internal/course-api:2.5.0${DIGEST}`, weight: 25 });
    const promoted = await step("staging", service, { action: "promote" });
    const stableImage = (r: SynthResult) =>
      r.objects.find((o) => o.object.kind === "Deployment" && o.object.metadata.name === `${service}-stable`)!.object.spec.template.spec.containers[0].image;
    expect(stableImage(promoted.after)).toBe(`registry.classroom.internal/course-api:2.5.0${DIGEST}`);
    expect(promoted.diff.removed).toEqual(["Deployment/classroom-staging-apps/course-api-canary", "Service/classroom-staging-apps/course-api-canary"]);
    expect(routeWeights(promoted.after, service)).toEqual(stackWeights("staging", service));
    expect(fs.readFileSync(stackFile("staging"), "utf8")).toContain(
      'history:\n        - { image: registry.classroom.internal/course-api:2.3.0, promotedAt: "2026-03-01T12:00:00.000Z" }',
    );

    const rolledBack = await step("staging", service, { action: "rollback" });
    expect(stableImage(rolledBack.after)).toBe("registry.classroom.internal/course-api:2.3.0");
    expect(fs.readFileSync(stackFile("staging"), "utf8")).toBe(original);
    expect(rolledBack.after.objects.map((o) => o.object)).toEqual(originalRender.objects.map((o) => o.object));
  }, 120_000);
});

describe("gray release of an rpc service (dev session-rpc: weights reach callers through ZooKeeper registration)", () => {
  const service = "session-rpc";

  test("a weight change and a rollback modify only the canary Deployment, never a stable-track object", async () => {
    const started = await step("dev", service, { action: "canary", image: "registry.classroom.internal/session-rpc:3.2.0", weight: 10, replicas: 1 });
    expect(stableTrack(touched(started.diff), service)).toEqual([]);
    const weighted = await step("dev", service, { action: "weight", weight: 50 });
    expect(touched(weighted.diff)).toEqual(["Deployment/classroom-dev-apps/session-rpc-canary"]);
    expect(weighted.diff.changed[0].fields.map((f) => f.path)).toContain(
      "spec.template.spec.containers[name=session-rpc].env[name=CLASSROOM_TRACK_WEIGHT].value",
    );
    const rolledBack = await step("dev", service, { action: "rollback" });
    expect(touched(rolledBack.diff)).toEqual(["Deployment/classroom-dev-apps/session-rpc-canary"]);
    const canary = rolledBack.after.objects.find((o) => o.object.metadata.name === `${service}-canary` && o.object.kind === "Deployment")!.object;
    expect(canary.spec.replicas).toBe(0);
    expect(canary.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "CLASSROOM_TRACK_WEIGHT").value).toBe("0");
  }, 120_000);
});
