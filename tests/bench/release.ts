import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PrometheusServer } from "../harness/prometheus";
import { ManagedProcess } from "../harness/process";
import { startLoad, TrackBackend } from "../support/rollout/backend";
import { release, rolloutStackFile } from "../support/rollout/release";

// `npm run bench:release`: how long a canary that turns bad keeps running. A real Prometheus scrapes a
// stable and a canary backend every second; `release dev room-api run --no-deploy` judges the canary
// every BENCH_INTERVAL_S seconds (default 2); once the first evaluation at step 1 has passed, the
// canary starts failing 30% of its requests, and the time until the rollback is written is measured.
// The baseline, measured in the same run: applying one step through the same path (`weight` with
// --no-deploy), i.e. the part of that time that is the write itself rather than the detection.
// Prints one JSON object. BENCH_RUNS (default 3) rollouts.

const INTERVAL_S = Number(process.env.BENCH_INTERVAL_S ?? 2);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SCRAPE_S = 1;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const stable = await TrackBackend.start("room-api", "stable");
  const canary = await TrackBackend.start("room-api", "canary");
  const prometheus = await PrometheusServer.start([{ address: stable.address }, { address: canary.address }], SCRAPE_S);
  const load = startLoad([stable, canary], 20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-release-"));
  try {
    while ((await prometheus.value('sum(rate(http_server_request_duration_seconds_count{classroom_io_track="canary"}[10s]))')) === undefined)
      await new Promise((r) => setTimeout(r, 500));
    const plan = `{ prometheus: "${prometheus.url}", interval: ${INTERVAL_S}s, window: 10s }`;
    const detections: Array<{ flipToRollbackMs: number; evaluationsAfterFlip: number }> = [];
    const applyMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      canary.errorRate = 0;
      const file = rolloutStackFile(dir, "[{ weight: 10, pause: 10m }, { weight: 50, pause: 1m }]", plan);
      const started = Date.now();
      const weight = await release(["dev", "room-api", "weight", "20", "--stack-file", file, "--no-deploy"]);
      if (weight.code !== 0) throw new Error(`weight step failed: ${weight.stderr}`);
      applyMs.push(Date.now() - started);

      let flippedAt = 0;
      let rolledBackAt = 0;
      let evaluations = 0;
      let aborting = false;
      const run = await release(["dev", "room-api", "run", "--stack-file", file, "--no-deploy"], (line) => {
        if (/analysis #\d+ step 1: success-rate ok/.test(line) && !flippedAt) {
          canary.errorRate = 0.3;
          flippedAt = Date.now();
        } else if (flippedAt && /analysis #\d+ step 1: success-rate/.test(line)) evaluations++;
        // The abort's summary is printed when the edit is planned; the rollback is applied when the file is written.
        if (/aborted \(analysis failed/.test(line)) aborting = true;
        else if (aborting && !rolledBackAt && /^wrote /.test(line)) rolledBackAt = Date.now();
      });
      if (run.code !== 1 || !rolledBackAt) throw new Error(`the run did not roll back (exit ${run.code}): ${run.stderr}`);
      detections.push({ flipToRollbackMs: rolledBackAt - flippedAt, evaluationsAfterFlip: evaluations });
    }
    const flip = detections.map((d) => d.flipToRollbackMs);
    console.log(
      JSON.stringify(
        {
          bench: "release",
          what: "canary turned bad (30% errors) -> rollback written to the stack file by `release run`",
          analysisIntervalMs: INTERVAL_S * 1000,
          scrapeIntervalMs: SCRAPE_S * 1000,
          failureLimit: 1,
          runs: RUNS,
          flipToRollbackMs: { median: median(flip), max: Math.max(...flip), each: flip },
          inAnalysisIntervals: Math.round((median(flip) / (INTERVAL_S * 1000)) * 100) / 100,
          evaluationsAfterFlip: detections.map((d) => d.evaluationsAfterFlip),
          baseline: {
            what: "one `weight` step applied through the same path (--no-deploy), process start included",
            applyStepMs: { median: median(applyMs), each: applyMs },
          },
          loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
          cpus: os.cpus().length,
        },
        null,
        2,
      ),
    );
  } finally {
    load.stop();
    await prometheus.destroy();
    await stable.stop();
    await canary.stop();
    await ManagedProcess.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench:release failed: ${(err as Error).message}`);
  process.exit(1);
});
