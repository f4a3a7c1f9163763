import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PrometheusServer } from "../harness/prometheus";
import { startLoad, TrackBackend } from "../support/rollout/backend";
import { CANARY_IMAGE as CANARY, release, roomApi, rolloutStackFile, STABLE_IMAGE as STABLE } from "../support/rollout/release";

// `release dev room-api run` against a real Prometheus scraping two real backends every second. The
// stack file is written at each step (--no-deploy: the engine half of the proof is tests/e2e); the
// backends' error rate is what the test turns bad.

jest.setTimeout(300_000);

const INTERVAL_S = 2;

let prometheus: PrometheusServer;
let stable: TrackBackend;
let canary: TrackBackend;
let load: { stop(): void };
const dirs: string[] = [];

beforeAll(async () => {
  stable = await TrackBackend.start("room-api", "stable");
  canary = await TrackBackend.start("room-api", "canary");
  prometheus = await PrometheusServer.start([{ address: stable.address }, { address: canary.address }], 1);
  load = startLoad([stable, canary], 20);
  // The analysis compares rates, which need two scrapes with traffic in the window.
  const deadline = Date.now() + 60_000;
  while ((await prometheus.value('sum(rate(http_server_request_duration_seconds_count{classroom_io_track="canary"}[10s]))')) === undefined) {
    if (Date.now() > deadline) throw new Error("Prometheus has no canary request rate after 60 s");
    await new Promise((r) => setTimeout(r, 500));
  }
});

afterAll(async () => {
  load?.stop();
  await prometheus?.destroy();
  await stable?.stop();
  await canary?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

beforeEach(async () => {
  canary.errorRate = 0;
  canary.latencyMs = 0;
  // A test that turned the canary bad leaves failures in the analysis window (10 s); the next test starts
  // from a healthy window, however fast the previous one finished.
  const deadline = Date.now() + 60_000;
  while (
    (await prometheus.value('sum(rate(http_server_request_duration_seconds_count{classroom_io_track="canary",http_response_status_code=~"5.."}[10s]))')) !== 0
  ) {
    if (Date.now() > deadline) throw new Error("the canary's failures did not leave the 10 s window within 60 s");
    await new Promise((r) => setTimeout(r, 500));
  }
});

/** A copy of the dev stack with a canary of room-api at weight 5 and a fast plan against the test's Prometheus. */
function stackFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rollout-run-"));
  dirs.push(dir);
  return rolloutStackFile(
    dir,
    "[{ weight: 10, pause: 6s }, { weight: 25, pause: 6s }, { weight: 50, pause: 6s }]",
    `{ prometheus: "${prometheus.url}", interval: ${INTERVAL_S}s, window: 10s }`,
  );
}

const analysisLines = (stdout: string, step: number) => stdout.split("\n").filter((l) => new RegExp(`analysis #\\d+ step ${step}: success-rate`).test(l));

describe("release run against a real Prometheus", () => {
  it("takes a healthy canary through every step, judging each, and promotes it", async () => {
    const file = stackFile();
    const run = await release(["dev", "room-api", "run", "--stack-file", file, "--no-deploy"]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    for (const [step, weight] of [
      [1, 10],
      [2, 25],
      [3, 50],
    ]) {
      expect(run.stdout).toContain(`step ${step} of 3: canary weight ${weight}, pause 6s`);
      // A 6 s pause judged every 2 s: three evaluations per step, each check passing.
      expect(analysisLines(run.stdout, step)).toHaveLength(3);
    }
    expect(run.stdout).not.toMatch(/ FAIL: /);
    expect(run.stdout).toMatch(/latency-p99 ok: canary [\d.e-]+ is not above stable/);
    expect(run.stdout).toContain("rollout of room-api done: the canary is promoted");
    const after = roomApi(file);
    expect(after.stable.image).toBe(CANARY);
    expect(after.canary).toBeUndefined();
    expect(after.history).toEqual([expect.objectContaining({ image: STABLE })]);
  });

  it("rolls a canary that turns bad at step 2 back within two analysis intervals, naming the failing query and its values", async () => {
    const file = stackFile();
    let flippedAt = 0;
    let rolledBackAt = 0;
    let aborting = false;
    const run = await release(["dev", "room-api", "run", "--stack-file", file, "--no-deploy"], (line) => {
      if (line.includes("step 2 of 3: canary weight 25") && !flippedAt) {
        canary.errorRate = 0.3;
        flippedAt = Date.now();
      }
      if (/canary .* aborted \(analysis failed at step 2/.test(line)) aborting = true;
      else if (aborting && !rolledBackAt && /^wrote /.test(line)) rolledBackAt = Date.now();
    });
    expect(run.code).toBe(1);
    expect(flippedAt).toBeGreaterThan(0);
    // failureLimit 1: the second failed evaluation after the turn rolls back; none passed in between.
    const afterFlip = analysisLines(run.stdout, 2);
    expect(afterFlip.length).toBeLessThanOrEqual(2);
    expect(afterFlip.at(-1)).toMatch(/success-rate FAIL: canary 0\.\d+ is below stable 1 - 0\.01 \(failure 2, 1 tolerated\)/);
    expect(run.stdout).not.toContain("step 3 of 3");
    expect(run.stderr).toContain("rollout of room-api rolled back at step 2: success-rate failed more than 1 time(s)");
    expect(run.stderr).toMatch(
      /canary: sum\(rate\(http_server_request_duration_seconds_count\{app_kubernetes_io_name="room-api",classroom_io_track="canary",http_response_status_code!~"5\.\."\}\[10s\]\)\) \/ .* = 0\.\d+/,
    );
    expect(run.stderr).toMatch(/stable: .*track="stable".* = 1\b/);
    const after = roomApi(file);
    expect(after.stable.image).toBe(STABLE);
    expect(after.canary).toEqual({ image: CANARY, replicas: 0, weight: 0 });
    console.log(`turned bad -> rollback written: ${rolledBackAt - flippedAt} ms (analysis interval ${INTERVAL_S * 1000} ms, rendering included)`);
  });

  it("resumes a run killed at step 3 at step 3, and status shows the step meanwhile", async () => {
    const file = stackFile();
    const killed = await release(["dev", "room-api", "run", "--stack-file", file, "--no-deploy"], (line, run) => {
      if (line.includes("step 3 of 3: canary weight 50")) run.child.kill("SIGKILL");
    });
    expect(killed.signal).toBe("SIGKILL");
    expect(roomApi(file).canary).toEqual({ image: CANARY, replicas: 1, weight: 50, step: 3 });

    const status = await release(["dev", "room-api", "status", "--stack-file", file]);
    expect(status.stdout).toContain("rollout  step 3 of 3 (weight 50, pause 6s)");

    const resumed = await release(["dev", "room-api", "run", "--stack-file", file, "--no-deploy"]);
    expect({ code: resumed.code, stderr: resumed.stderr }).toEqual({ code: 0, stderr: "" });
    expect(resumed.stdout).toContain("resuming the rollout of room-api at step 3 of 3");
    expect(resumed.stdout).not.toMatch(/step [12] of 3/);
    // The weight of step 3 was already written: the resumed run re-checks it (the file says so already)
    // and writes nothing until it promotes.
    expect(resumed.stdout).toContain("no change to ");
    expect(resumed.stdout.match(/^wrote /gm)).toHaveLength(1);
    expect(roomApi(file).stable.image).toBe(CANARY);
  });
});
