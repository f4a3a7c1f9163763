import Redis from "ioredis";
import { RedisServer } from "../harness/redis";
import { Coordinator, RunRecord } from "../../runtime/scheduler/claim";
import { createRedis, redisFromEnv } from "../../runtime/scheduler/daemon-config";
import { RunHistory } from "../../runtime/scheduler/history";
import type { JobsSpec } from "../../runtime/scheduler/job-schema";
import { schedulerKeys } from "../../runtime/scheduler/keys";
import { readProbeEvents } from "../support/scheduler/probe-handlers";
import { SchedulerReplicas } from "../support/scheduler/replicas";

/**
 * The claim path under Redis faults, one Coordinator per "replica" on the daemon's own connection
 * settings (daemon-config.ts) against a real Redis: a frozen server (SIGSTOP) and a stopped one.
 */
jest.setTimeout(60_000);

const prefix = "classroom:scheduler";
const keys = schedulerKeys(prefix);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function coordinator(redis: Redis, replicaId: string, leaseMs = 3000): Coordinator {
  return new Coordinator(redis, { prefix, replicaId, leaseMs, claimTtlMs: 60_000, historyLimit: 100 });
}

/** The daemon's connection (same options as a pod gets), with `extra` for test-only timing. */
function daemonConnection(url: string, name: string, extra: Partial<Redis["options"]> = {}): Redis {
  const redis = createRedis({ ...redisFromEnv({ CLASSROOM_REDIS_URL: url }).options, ...extra }, name);
  redis.on("error", () => undefined);
  return redis;
}

function record(fire: number, token: number, replica: string): RunRecord {
  const now = Date.now();
  return { fire, token, replica, outcome: "succeeded", attempts: 1, startedAt: now, finishedAt: now };
}

/** Everything a claim of `fire` could have written. */
async function traces(redis: Redis, job: string, fire: number) {
  return { claim: await redis.get(keys.fire(job, fire)), runLock: await redis.get(keys.run(job)), state: await redis.hgetall(keys.state(job)) };
}

async function waitReady(redis: Redis): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (redis.status !== "ready") {
    if (Date.now() > deadline) throw new Error(`connection not ready again (status ${redis.status})`);
    await sleep(50);
  }
}

describe("scheduler claims under Redis faults", () => {
  let server: RedisServer;
  let observer: Redis;

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    observer = new Redis(server.url);
  });

  afterAll(async () => {
    observer?.disconnect();
    await server?.destroy();
  });

  it("a claim the replica gave up on while Redis was frozen changes nothing when Redis wakes up", async () => {
    const redis = daemonConnection(server.url, "frozen");
    await redis.connect();
    const pid = Number(/process_id:(\d+)/.exec(await observer.info("server"))![1]);
    const fire = Math.ceil(Date.now() / 1000) * 1000 + 10_000;
    process.kill(pid, "SIGSTOP");
    let outcome: string;
    try {
      outcome = await coordinator(redis, "r1")
        .claimAhead([{ job: "frozen", fireMs: fire }], Date.now())
        .then(
          () => "answered",
          (err: Error) => err.message,
        );
    } finally {
      process.kill(pid, "SIGCONT");
    }
    // The replica dropped the fire: it must not be claimed, locked or counted by anyone now.
    expect(outcome).toBe("Command timed out");
    await sleep(300);
    expect(await traces(observer, "frozen", fire)).toEqual({ claim: null, runLock: null, state: {} });
    // The job is free: a later fire is granted at once.
    const [later] = await coordinator(redis, "r2").claimAhead([{ job: "frozen", fireMs: fire + 1000 }], Date.now());
    expect(later.status).toBe("granted");
    redis.disconnect();
  });

  it("a claim made while Redis is down is refused at once and never sent after it comes back", async () => {
    // Reconnect 5 s after the drop (instead of ioredis' growing delays), so Redis is back before the retry.
    const redis = daemonConnection(server.url, "down", { retryStrategy: () => 5000 });
    await redis.connect();
    await server.stop();
    while (redis.status === "ready") await sleep(10);
    const fire = Math.ceil(Date.now() / 1000) * 1000 + 20_000;
    const sentAt = Date.now();
    const outcome = await coordinator(redis, "r1")
      .claimAhead([{ job: "down", fireMs: fire }], Date.now())
      .then(
        () => "answered",
        (err: Error) => err.message,
      );
    const answeredAfterMs = Date.now() - sentAt;
    await server.restart();
    await waitReady(redis);
    await sleep(300);
    expect(await traces(observer, "down", fire)).toEqual({ claim: null, runLock: null, state: {} });
    // Failing fast is what lets the daemon log the miss now rather than after its command timeout.
    expect(outcome).toMatch(/enableOfflineQueue/);
    expect(answeredAfterMs).toBeLessThan(1000);
    redis.disconnect();
  });

  it("a run whose replica died is recorded lost by the recovery pass, once, and its late record is refused", async () => {
    const redis = daemonConnection(server.url, "lost");
    await redis.connect();
    const dead = coordinator(redis, "dead", 400);
    const survivor = coordinator(redis, "survivor", 400);
    const fire = Math.ceil(Date.now() / 1000) * 1000 + 200;
    const [claim] = await dead.claimAhead([{ job: "lost-sweep", fireMs: fire }], Date.now());
    expect(claim.status).toBe("granted");
    // "dead" never renews nor records: its lock lapses after 400 ms.
    await sleep(600);
    expect(await survivor.sweep()).toBe(1);
    expect(await survivor.sweep()).toBe(0);
    const history = new RunHistory(observer, prefix);
    const entries = await history.recent("lost-sweep");
    expect(entries).toEqual([expect.objectContaining({ fire, token: claim.token, replica: "dead", outcome: "lost" })]);
    expect(entries[0].reason).toMatch(/whether it took effect is unknown/);
    // The replica wakes up (it was only paused): it may neither renew nor add a second outcome.
    expect(await dead.renew("lost-sweep", claim.token, fire, Date.now())).toBe("fenced");
    expect(await dead.finish("lost-sweep", record(fire, claim.token, "dead"), "skip", 5000)).toEqual({ status: "lost" });
    expect(await history.recent("lost-sweep")).toHaveLength(1);
    expect(await history.counters("lost-sweep")).toEqual({ lost: 1 });
    redis.disconnect();
  });

  it("the next grant of a job records the lapsed run before it, so each admitted fire has one outcome", async () => {
    const redis = daemonConnection(server.url, "grant");
    await redis.connect();
    const dead = coordinator(redis, "dead", 400);
    const survivor = coordinator(redis, "survivor", 400);
    const first = Math.ceil(Date.now() / 1000) * 1000 + 200;
    const [claim] = await dead.claimAhead([{ job: "lost-grant", fireMs: first }], Date.now());
    await sleep(600);
    const [next] = await survivor.claimAhead([{ job: "lost-grant", fireMs: first + 1000 }], Date.now());
    expect(next.status).toBe("granted");
    expect(await survivor.finish("lost-grant", record(first + 1000, next.token, "survivor"), "skip", 5000)).toEqual({ status: "idle" });
    // A retried record whose first attempt took effect adds nothing.
    expect(await survivor.finish("lost-grant", record(first + 1000, next.token, "survivor"), "skip", 5000)).toEqual({ status: "recorded" });
    const entries = await new RunHistory(observer, prefix).recent("lost-grant");
    expect(entries.map((e) => [e.fire, e.outcome, e.replica])).toEqual([
      [first + 1000, "succeeded", "survivor"],
      [first, "lost", "dead"],
    ]);
    expect(entries[1].token).toBe(claim.token);
    redis.disconnect();
  });
});

describe("scheduler daemons through a Redis outage", () => {
  let server: RedisServer;
  let observer: Redis;
  let replicas: SchedulerReplicas | undefined;
  const leaseMs = 2000;
  const names = Array.from({ length: 8 }, (_, i) => `outage-${i}`);
  const jobs: JobsSpec = Object.fromEntries(
    names.map((name) => [name, { schedule: { everyMs: 500 }, target: { handler: "probe" }, params: { sleepMs: 100 } }]),
  );

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    observer = new Redis(server.url, { maxRetriesPerRequest: null });
    observer.on("error", () => undefined);
    replicas = await SchedulerReplicas.start({ redisUrl: server.url, ids: ["r1", "r2"], leaseMs, jobs });
  });

  afterAll(async () => {
    await replicas?.stopAll();
    observer?.disconnect();
    await server?.destroy();
  });

  it("runs every fire due a lease after Redis returns, on time: nothing it gave up on during the outage blocks a job", async () => {
    await sleep(3000);
    await server.stop();
    await sleep(8000);
    await server.restart();
    const backAt = Date.now();
    await sleep(leaseMs + 6000);
    const from = Math.ceil((backAt + leaseMs) / 500) * 500;
    const to = from + 5000;
    const problems: string[] = [];
    for (const job of names) {
      const starts = (await readProbeEvents(observer, job)).filter((e) => e.event === "start" && e.fire >= from && e.fire < to);
      const perFire = new Map<number, number>();
      for (const e of starts) perFire.set(e.fire, (perFire.get(e.fire) ?? 0) + 1);
      for (let fire = from; fire < to; fire += 500)
        if (perFire.get(fire) !== 1) problems.push(`${job}@${fire - backAt}ms: ran ${perFire.get(fire) ?? 0} times`);
      // "On time": well inside the misfire threshold, as before the outage.
      for (const e of starts) if (e.at - e.fire > 1000) problems.push(`${job}@${e.fire - backAt}ms: started ${e.at - e.fire} ms late`);
    }
    expect(problems).toEqual([]);
  });
});
