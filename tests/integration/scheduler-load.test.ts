import Redis from "ioredis";
import { RedisServer } from "../harness/redis";
import type { JobsSpec } from "../../runtime/scheduler/job-schema";
import { ReplicaRing } from "../../runtime/scheduler/ring";
import { ProbeEvent, readProbeEvents } from "../support/scheduler/probe-handlers";
import { SchedulerReplicas } from "../support/scheduler/replicas";

/**
 * How work spreads over replicas: queued fires of busy jobs reach the replica that claimed them, and
 * Redis does the claim work of a fire once, however many replicas there are.
 */
jest.setTimeout(120_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const starts = (events: ProbeEvent[]) => events.filter((e) => e.event === "start");

function homesUnder(alive: string[], jobs: string[]): Map<string, string> {
  const rings = alive.map((id) => {
    const ring = new ReplicaRing(id);
    ring.update(alive);
    return ring;
  });
  return new Map(jobs.map((job) => [job, alive[rings.findIndex((r) => r.isHome(job))]]));
}

/** Redis' own count of calls per command since the last CONFIG RESETSTAT (commands run by scripts included). */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const match of (await redis.info("commandstats")).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1], Number(match[2]));
  return calls;
}

describe("a busy job's queued fires", () => {
  let server: RedisServer;
  let redis: Redis;
  let replicas: SchedulerReplicas | undefined;
  // Every run takes longer than the period, so each of these jobs always has fires queued (serial).
  const names = Array.from({ length: 6 }, (_, i) => `busy-${i}`);
  const jobs: JobsSpec = Object.fromEntries(
    names.map((name) => [name, { schedule: { everyMs: 1000 }, target: { handler: "probe" }, params: { sleepMs: 1100 }, misfireThresholdMs: 60_000 }]),
  );

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    await replicas?.stopAll();
    redis?.disconnect();
    await server?.destroy();
  });

  it("go to the replica that claimed them, so a replica that joins while every job is busy gets its share", async () => {
    const homes = homesUnder(["r1", "r2"], names);
    const r2Jobs = names.filter((job) => homes.get(job) === "r2");
    expect(r2Jobs.length).toBeGreaterThanOrEqual(1);
    replicas = await SchedulerReplicas.start({ redisUrl: server.url, ids: ["r1"], leaseMs: 3000, jobs });
    // r1 alone: it runs every job, and every job has a queue behind its run.
    await sleep(4000);
    await replicas.startReplica("r2");
    // r1 learns of r2 with its next heartbeat (every 2 s); from then on r2 claims its home jobs' fires.
    const settledFrom = Date.now() + 3000;
    await sleep(3000 + 10_000);

    const events = new Map(await Promise.all(names.map(async (job) => [job, await readProbeEvents(redis, job)] as const)));
    for (const job of r2Jobs) {
      const later = starts(events.get(job)!).filter((e) => e.fire >= settledFrom);
      // Before: r1 handed every queued fire back to itself, and r2 never ran any of them.
      expect([job, later.length > 0 && later.every((e) => e.replica === "r2")]).toEqual([job, true]);
    }
    for (const job of names) {
      const jobStarts = starts(events.get(job)!);
      // Still one run at a time, each fire once, in fire order.
      const fires = jobStarts.map((e) => e.fire);
      expect(new Set(fires).size).toBe(fires.length);
      expect(fires).toEqual([...fires].sort((a, b) => a - b));
      const ends = new Map(
        events
          .get(job)!
          .filter((e) => e.event === "end")
          .map((e) => [e.token, e.at]),
      );
      for (let i = 1; i < jobStarts.length; i++) expect(jobStarts[i].at).toBeGreaterThanOrEqual(ends.get(jobStarts[i - 1].token)!);
    }
    const counters = await Promise.all(names.map((job) => redis.hgetall(`classroom:scheduler:counters:${job}`)));
    expect(counters.map((c) => Number(c.misfired ?? 0) + Number(c.lost ?? 0))).toEqual(names.map(() => 0));
  });
});

describe("claims per fire", () => {
  let server: RedisServer;
  let redis: Redis;
  let replicas: SchedulerReplicas | undefined;
  const names = Array.from({ length: 40 }, (_, i) => `quick-${i}`);
  const jobs: JobsSpec = Object.fromEntries(names.map((name) => [name, { schedule: { everyMs: 1000 }, target: { handler: "probe" } }]));

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    await replicas?.stopAll();
    redis?.disconnect();
    await server?.destroy();
  });

  it("stay at one SET NX per fire with three live replicas: backups leave the fires their home claimed alone", async () => {
    replicas = await SchedulerReplicas.start({ redisUrl: server.url, ids: ["r1", "r2", "r3"], leaseMs: 3000, jobs });
    // Every replica has seen the others' heartbeats (2 s) and runs under the same ring.
    await sleep(5000);
    const from = Math.ceil(Date.now() / 1000) * 1000 + 500;
    await sleep(from - Date.now());
    await redis.config("RESETSTAT");
    await sleep(6000);
    const calls = await commandCalls(redis);
    const fires = names.length * 6;
    // Per fire: the claim (SET NX) and the run lock (SET PX) of the grant; runs are too short to renew.
    const setsPerFire = (calls.get("set") ?? 0) / fires;
    expect(setsPerFire).toBeGreaterThan(1.5);
    expect(setsPerFire).toBeLessThan(2.3);
    // Every fire still ran once, spread over the replicas by home.
    const ran = (await Promise.all(names.map((job) => readProbeEvents(redis, job)))).flatMap((events) =>
      starts(events).filter((e) => e.fire >= from && e.fire < from + 6000),
    );
    expect(ran).toHaveLength(fires);
    expect(new Set(ran.map((e) => e.replica))).toEqual(new Set(["r1", "r2", "r3"]));
  });
});
