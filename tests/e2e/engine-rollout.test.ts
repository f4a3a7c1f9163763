import * as fs from "node:fs";
import { Stack } from "@pulumi/pulumi/automation";
import { TestCluster, startTestCluster } from "../harness/cluster";
import { PrometheusServer } from "../harness/prometheus";
import { startLoad, TrackBackend } from "../support/rollout/backend";
import { CANARY_IMAGE, release, roomApi } from "../support/rollout/release";
import { LiveObject, listDeclaredKinds } from "./support/cluster-objects";
import { EngineProject, RunLog, SKIP_AWAIT, testProject } from "./support/engine";
import { ChildSynth, identity, synthInChild } from "./support/synth";

// `release dev room-api run` with every step applied by the real engine to a real API server. The plan's
// pauses are `manual`, so each run writes one step's weight, judges it against a real Prometheus
// (scraping the test's stable and canary backends) and stops; the test then runs `up` and checks the
// API server before `run --continue` takes the next step. The stable track's objects keep their
// generation through the whole rollout; a bad canary is rolled back and that, too, is deployed.

jest.setTimeout(900_000);

const STACK = "dev";
const SERVICE = "room-api";

let cluster: TestCluster;
let project: EngineProject;
let stack: Stack;
let synth: ChildSynth;
let prometheus: PrometheusServer;
let stable: TrackBackend;
let canary: TrackBackend;
let load: { stop(): void };
const log = new RunLog();

beforeAll(async () => {
  stable = await TrackBackend.start(SERVICE, "stable");
  canary = await TrackBackend.start(SERVICE, "canary");
  prometheus = await PrometheusServer.start([{ address: stable.address }, { address: canary.address }], 1);
  load = startLoad([stable, canary], 20);
  cluster = await startTestCluster();
  project = await testProject({ kubeconfig: cluster.kubeconfigPath });
  stack = await project.stack(STACK, SKIP_AWAIT);
  synth = await synthInChild(STACK, project.stackFile(STACK));
  expect((await stack.up(log.capture())).summary.result).toBe("succeeded");
});

afterAll(async () => {
  load?.stop();
  await prometheus?.destroy();
  await stable?.stop();
  await canary?.stop();
  project?.dispose();
  await cluster?.stop();
});

const args = (...rest: string[]) => [STACK, SERVICE, ...rest, "--stacks-dir", project.stacksDir, "--no-deploy"];

async function up(): Promise<void> {
  expect((await stack.up(log.capture())).summary.result).toBe("succeeded");
}

async function serviceObjects(): Promise<LiveObject[]> {
  const rendered = synth.objects.map((o) => o.object);
  const namespaces = rendered.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name);
  const live = await listDeclaredKinds(cluster.kubeconfigPath, [...rendered, { apiVersion: "apps/v1", kind: "Deployment" }], namespaces);
  return live.filter((o) => o.metadata.labels?.["app.kubernetes.io/name"] === SERVICE);
}

/** generation and resourceVersion of every stable-track object in the API server. */
async function stableTrack(): Promise<Record<string, string>> {
  const objects = (await serviceObjects()).filter((o) => o.metadata.labels?.["classroom.io/track"] === "stable");
  expect(objects.length).toBeGreaterThan(0);
  return Object.fromEntries(objects.map((o) => [identity(o), `generation=${o.metadata.generation ?? "-"} resourceVersion=${o.metadata.resourceVersion}`]));
}

async function canaryWeight(): Promise<number | undefined> {
  const route = (await serviceObjects()).find((o) => o.kind === "HTTPRoute");
  return route!.spec.rules[0].backendRefs.find((b: { name: string }) => b.name === `${SERVICE}-canary`)?.weight;
}

/** Adds the plan to the project's stack file: manual pauses, so the test deploys between steps. */
function addPlan(): void {
  const file = project.stackFile(STACK);
  const text = fs.readFileSync(file, "utf8");
  const route = /^( {6})route: .*\n/m.exec(text)!;
  const plan =
    `${route[1]}rollout:\n${route[1]}  steps: [{ weight: 10, pause: manual }, { weight: 25, pause: manual }, { weight: 50, pause: manual }]\n` +
    `${route[1]}  analysis: { prometheus: "${prometheus.url}", interval: 2s, window: 10s }\n`;
  fs.writeFileSync(file, text.slice(0, route.index + route[0].length) + plan + text.slice(route.index + route[0].length));
}

describe("rollout through the real engine", () => {
  it("steps a healthy canary 10 -> 25 -> 50 and promotes it; the stable track keeps its generation until the promote", async () => {
    const started = await release(args("canary", "--image", CANARY_IMAGE, "--weight", "5"));
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: "" });
    addPlan();
    await up();
    const before = await stableTrack();
    for (const [i, weight] of [
      [1, 10],
      [2, 25],
      [3, 50],
    ]) {
      const run = await release(i === 1 ? args("run") : args("run", "--continue"));
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(run.stdout).toContain(`rollout of ${SERVICE} paused at step ${i} (manual)`);
      expect(run.stdout).toMatch(new RegExp(`analysis #1 step ${i}: success-rate ok`));
      await up();
      expect(await canaryWeight()).toBe(weight);
      expect(await stableTrack()).toEqual(before);
    }
    const last = await release(args("run", "--continue"));
    expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
    expect(last.stdout).toContain(`rollout of ${SERVICE} done: the canary is promoted`);
    await up();
    const deployments = (await serviceObjects()).filter((o) => o.kind === "Deployment").map((o) => [o.metadata.name, o.spec.template.spec.containers[0].image]);
    expect(deployments).toEqual([[`${SERVICE}-stable`, CANARY_IMAGE]]);
  });

  it("rolls a bad canary back at its step and deploys the rollback; stable untouched", async () => {
    const next = "registry.classroom.internal/room-api:2.0.0";
    const started = await release(args("canary", "--image", next, "--weight", "5"));
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: "" });
    await up();
    const before = await stableTrack();
    // Timed pauses this time: a step judged every 2 s, so the second failure rolls back within the step.
    const file = project.stackFile(STACK);
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replaceAll("pause: manual", "pause: 30s"));
    canary.errorRate = 0.3;
    try {
      const run = await release(args("run"));
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`rollout of ${SERVICE} rolled back at step 1`);
      expect(roomApi(project.stackFile(STACK)).canary).toEqual({ image: next, replicas: 0, weight: 0 });
      await up();
      expect(await canaryWeight()).toBe(0);
      expect((await serviceObjects()).find((o) => o.kind === "Deployment" && o.metadata.name === `${SERVICE}-canary`)?.spec.replicas).toBe(0);
      expect(await stableTrack()).toEqual(before);
    } finally {
      canary.errorRate = 0;
    }
  });
});
