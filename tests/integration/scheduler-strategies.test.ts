import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import Redis from "ioredis";
import { RedisServer } from "../harness/redis";
import { Counters, HistoryEntry, RunHistory } from "../../runtime/scheduler/history";
import type { JobsSpec } from "../../runtime/scheduler/job-schema";
import { parseJobs } from "../../runtime/scheduler/job-schema";
import { readStatus } from "../../runtime/scheduler/status";
import { ProbeEvent, readProbeEvents } from "../support/scheduler/probe-handlers";
import { SchedulerReplicas } from "../support/scheduler/replicas";

/**
 * Block, misfire, timeout and retry strategies with slow jobs, on two real daemons. All jobs run side
 * by side in one deployment: phase 1 watches them for ~11 s; phase 2 stops every replica, waits, and
 * starts one again to see what the misfire strategies do with fires nobody was there to run.
 */
jest.setTimeout(150_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const slow = { schedule: { everyMs: 1000 }, target: { handler: "probe" }, params: { sleepMs: 2500 } } as const;
const jobs: JobsSpec = {
  "serial-slow": { ...slow, block: "serial", misfireThresholdMs: 60_000 },
  "discard-slow": { ...slow, block: "discard-later" },
  "cover-slow": { ...slow, block: "cover-earlier" },
  "skip-slow": { ...slow, block: "serial", misfire: "skip", misfireThresholdMs: 1500 },
  "once-slow": { ...slow, block: "serial", misfire: "fire-once", misfireThresholdMs: 1500 },
  "timeout-retry": {
    schedule: { everyMs: 4000 },
    target: { handler: "probe" },
    block: "discard-later",
    timeoutMs: 300,
    retries: 2,
    retryBackoffMs: 200,
    params: { sleepMs: 2000 },
  },
  flaky: { schedule: { everyMs: 3000 }, target: { handler: "probe" }, retries: 3, retryBackoffMs: 100, params: { failAttempts: 2 } },
  "down-skip": { schedule: { everyMs: 1000 }, target: { handler: "probe" }, misfire: "skip", misfireThresholdMs: 1500 },
  "down-once": { schedule: { everyMs: 1000 }, target: { handler: "probe" }, misfire: "fire-once", misfireThresholdMs: 1500 },
};

interface Run {
  fire: number;
  token: number;
  start: number;
  end?: ProbeEvent;
}

/** First attempts paired with the end of the run's last attempt, oldest first. */
function runsOf(events: ProbeEvent[]): Run[] {
  const runs = new Map<number, Run>();
  for (const e of events) {
    if (e.event === "start" && e.attempt === 1) runs.set(e.token, { fire: e.fire, token: e.token, start: e.at });
    if (e.event === "end" && runs.has(e.token)) runs.get(e.token)!.end = e;
  }
  return [...runs.values()].sort((a, b) => a.start - b.start);
}

function expectNoOverlap(runs: Run[]): void {
  for (let i = 1; i < runs.length; i++) {
    expect(runs[i - 1].end).toBeDefined();
    expect(runs[i].start).toBeGreaterThanOrEqual(runs[i - 1].end!.at);
  }
}

describe("scheduler strategies with slow jobs", () => {
  let server: RedisServer;
  let redis: Redis;
  let replicas: SchedulerReplicas | undefined;
  let history: RunHistory;
  const phase1 = new Map<string, { runs: Run[]; events: ProbeEvent[]; counters: Counters; history: HistoryEntry[]; queued: number }>();
  let stoppedAt = 0;

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    redis = new Redis(server.url);
    history = new RunHistory(redis, "classroom:scheduler");
    replicas = await SchedulerReplicas.start({ redisUrl: server.url, ids: ["r1", "r2"], leaseMs: 3000, jobs });
    await sleep(11_000);
    const status = await readStatus(redis, parseJobs(jobs), "classroom:scheduler", 100);
    for (const job of Object.keys(jobs)) {
      const events = await readProbeEvents(redis, job);
      const jobStatus = status.jobs.find((j) => j.name === job)!;
      phase1.set(job, { runs: runsOf(events), events, counters: jobStatus.counters, history: jobStatus.lastRuns, queued: jobStatus.queued });
    }
    // Phase 2: nobody runs for 4.5 s, then one replica comes back.
    await Promise.all(["r1", "r2"].map((id) => replicas!.get(id).stop()));
    stoppedAt = Date.now();
    await sleep(4500);
    await replicas.startReplica("r1");
    await sleep(2500);
  });

  afterAll(async () => {
    await replicas?.stopAll();
    redis?.disconnect();
    await server?.destroy();
  });

  it("serial: later fires wait in order and all run, one at a time", () => {
    const { runs, counters, queued } = phase1.get("serial-slow")!;
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expectNoOverlap(runs);
    for (let i = 1; i < runs.length; i++) expect(runs[i].fire).toBe(runs[i - 1].fire + 1000);
    expect(queued).toBeGreaterThanOrEqual(2);
    expect(counters.discarded ?? 0).toBe(0);
    expect(counters.misfired ?? 0).toBe(0);
  });

  it("discard-later: fires that come while the job runs are dropped and recorded as discarded", () => {
    const { runs, history: entries } = phase1.get("discard-slow")!;
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expectNoOverlap(runs);
    const discarded = new Set(entries.filter((h) => h.outcome === "discarded").map((h) => h.fire));
    const ran = new Set(runs.map((r) => r.fire));
    // Every fire between the first and the last run either ran or was discarded: nothing silently lost.
    for (let fire = runs[0].fire; fire <= runs.at(-1)!.fire; fire += 1000) {
      expect([fire, ran.has(fire) || discarded.has(fire)]).toEqual([fire, true]);
      expect(ran.has(fire) && discarded.has(fire)).toBe(false);
    }
    expect(discarded.size).toBeGreaterThanOrEqual(2);
  });

  it("cover-earlier: each fire cancels the running one at once and runs itself", () => {
    const { runs, history: entries } = phase1.get("cover-slow")!;
    expect(runs.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < runs.length; i++) expect(runs[i].fire).toBe(runs[i - 1].fire + 1000);
    for (const run of runs.slice(0, -1)) {
      expect(run.end).toMatchObject({ result: "aborted" });
      expect(run.end!.reason).toMatch(/covered by a later fire/);
      // Cancelled through pub/sub, not at the next lease renewal.
      expect(run.end!.at - (run.fire + 1000)).toBeLessThan(900);
    }
    const covered = entries.filter((h) => h.outcome === "covered").map((h) => h.fire);
    expect(covered.length).toBeGreaterThanOrEqual(runs.length - 2);
    expect(entries.filter((h) => h.outcome === "succeeded")).toEqual([]);
  });

  it("misfire skip: fires that waited longer than the threshold never run", () => {
    const { runs, counters } = phase1.get("skip-slow")!;
    expectNoOverlap(runs);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const run of runs) expect(run.start - run.fire).toBeLessThanOrEqual(1500 + 700);
    expect(counters.misfired ?? 0).toBeGreaterThanOrEqual(1);
  });

  it("misfire fire-once: of the fires that waited too long, the newest runs once", () => {
    const { runs, counters } = phase1.get("once-slow")!;
    expectNoOverlap(runs);
    const catchUps = runs.filter((r) => r.start - r.fire > 1500);
    expect(catchUps.length).toBeGreaterThanOrEqual(1);
    expect(counters.misfired ?? 0).toBeGreaterThanOrEqual(1);
    // Catch-up runs are the newest late fire: the fire right after it was not late when it ran.
    expect(new Set(runs.map((r) => r.fire)).size).toBe(runs.length);
  });

  it("timeout: each attempt is aborted at timeoutMs and retried with doubling backoff", async () => {
    const { events } = phase1.get("timeout-retry")!;
    const token = events.find((e) => e.event === "start")!.token;
    const attempts = events.filter((e) => e.token === token);
    const startsAt = attempts.filter((e) => e.event === "start").map((e) => e.at);
    expect(attempts.filter((e) => e.event === "start").map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(attempts.filter((e) => e.event === "end").map((e) => e.reason)).toEqual(Array(3).fill("timed out after 300 ms"));
    expect(startsAt[1] - startsAt[0]).toBeGreaterThanOrEqual(300 + 200 - 20);
    expect(startsAt[2] - startsAt[1]).toBeGreaterThanOrEqual(300 + 400 - 20);
    const entry = (await history.recent("timeout-retry", 100)).find((h) => h.token === token);
    expect(entry).toMatchObject({ outcome: "timed-out", attempts: 3, error: "timed out after 300 ms" });
  });

  it("retry: a run that fails twice succeeds on the third attempt and is recorded once", async () => {
    const { events } = phase1.get("flaky")!;
    const token = events.find((e) => e.event === "start")!.token;
    expect(events.filter((e) => e.token === token && e.event === "end").map((e) => `${e.attempt}:${e.result}`)).toEqual([
      "1:failed",
      "2:failed",
      "3:succeeded",
    ]);
    const entries = (await history.recent("flaky", 100)).filter((h) => h.token === token);
    expect(entries).toEqual([expect.objectContaining({ outcome: "succeeded", attempts: 3 })]);
  });

  it("after every replica was down: skip runs none of the missed fires, fire-once runs exactly one", async () => {
    // Runs of fires that came due after every replica had stopped, with how late each started.
    const afterStop = (events: ProbeEvent[]) => events.filter((e) => e.event === "start" && e.fire > stoppedAt);
    // The restarted daemon records the fires it found older than the threshold as one misfired entry
    // naming the newest of them (how many depends on how long its start took on this machine).
    const newestMissed = async (job: string) => (await history.recent(job, 100)).find((h) => h.outcome === "misfired" && h.fire > stoppedAt)!.fire;
    const skipMissed = await newestMissed("down-skip");
    expect(skipMissed).toBeLessThan(Date.now());
    const skipRuns = afterStop(await readProbeEvents(redis, "down-skip"));
    expect(skipRuns.filter((e) => e.fire <= skipMissed)).toEqual([]);
    expect((await history.counters("down-skip")).misfired ?? 0).toBeGreaterThanOrEqual(2);

    const onceMissed = await newestMissed("down-once");
    const onceRuns = afterStop(await readProbeEvents(redis, "down-once"));
    const catchUps = onceRuns.filter((e) => e.fire <= onceMissed);
    expect(catchUps.map((e) => e.fire)).toEqual([onceMissed]);
    expect(catchUps[0].fire).toBeGreaterThan(stoppedAt);
    expect((await history.counters("down-once")).misfired ?? 0).toBeGreaterThanOrEqual(1);
    // Then the replica carries on with the regular schedule.
    expect(onceRuns.filter((e) => e.fire > catchUps[0].fire && e.at - e.fire < 1000).length).toBeGreaterThanOrEqual(1);
  });

  it("the status command shows each job's next fire and last runs", async () => {
    const repo = path.resolve(__dirname, "../..");
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "runtime/scheduler/status-cli.ts", "--runs", "3"], {
      cwd: repo,
      env: { ...process.env, CLASSROOM_SCHEDULER_JOBS_FILE: replicas!.jobsFile, CLASSROOM_REDIS_URL: server.url },
    });
    expect(stdout).toMatch(/replicas: r1 \(seen \d+ ms ago\)/);
    for (const job of Object.keys(jobs)) expect(stdout).toContain(`${job}: `);
    expect(stdout).toMatch(/flaky: every 3000 ms -> handler probe\n {2}next fire: \S+ \(in \d+ ms\)/);
    expect(stdout).toMatch(/discarded/);
    expect(stdout).toMatch(/succeeded \d+ ms attempts=3 token=\d+ r\d/);
  });
});
