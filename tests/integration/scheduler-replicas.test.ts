import Redis from "ioredis";
import { RedisServer } from "../harness/redis";
import { RunHistory } from "../../runtime/scheduler/history";
import { ProbeEvent, readProbeEvents } from "../support/scheduler/probe-handlers";
import { SchedulerReplicas } from "../support/scheduler/replicas";

/**
 * Three real scheduler daemons against one real Redis, one job every second. Each run sleeps 300 ms
 * so that "the replica running a fire" exists at any moment we look. A second, slower job is there
 * for the pause test at the end.
 */
jest.setTimeout(150_000);

const leaseMs = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const starts = (events: ProbeEvent[]) => events.filter((e) => e.event === "start");

function countBy<T>(items: T[], key: (item: T) => string | number): Map<string | number, number> {
  const counts = new Map<string | number, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

describe("scheduler replicas against one Redis", () => {
  let server: RedisServer;
  let redis: Redis;
  let replicas: SchedulerReplicas | undefined;

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    redis = new Redis(server.url);
    replicas = await SchedulerReplicas.start({
      redisUrl: server.url,
      ids: ["r1", "r2", "r3"],
      leaseMs,
      jobs: {
        tick: { schedule: { cron: "* * * * * *" }, target: { handler: "probe" }, params: { sleepMs: 300 } },
        long: { schedule: { everyMs: 2000 }, target: { handler: "probe" }, params: { sleepMs: 1500, ignoreAbort: true }, misfireThresholdMs: 10_000 },
      },
    });
  });

  afterAll(async () => {
    await replicas?.stopAll();
    redis?.disconnect();
    await server?.destroy();
  });

  it("runs a one-second job exactly once per fire for 30 seconds, never twice", async () => {
    const from = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    await sleep(from + 30_000 - Date.now() + 600);
    const events = starts(await readProbeEvents(redis, "tick")).filter((e) => e.fire >= from && e.fire < from + 30_000);
    const perFire = countBy(events, (e) => e.fire);
    const expected = Array.from({ length: 30 }, (_, i) => from + i * 1000);
    expect(expected.filter((fire) => perFire.get(fire) !== 1)).toEqual([]);
    expect(events).toHaveLength(30);
    // Fencing tokens grow with the fires: the order of grants is the order of fires.
    const tokens = events.sort((a, b) => a.fire - b.fire).map((e) => e.token);
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
    expect(new Set(tokens).size).toBe(tokens.length);
    // All three replicas were alive and claiming the whole time (the job's home replica wins first).
    const alive = await redis.zrangebyscore("classroom:scheduler:replicas", Date.now() - 5000, "+inf");
    expect(alive.sort()).toEqual(["r1", "r2", "r3"]);
  });

  it("when the replica running a fire is SIGKILLed: at most that fire is lost, none duplicated, the others carry on", async () => {
    const seen = (await readProbeEvents(redis, "tick")).length;
    let victim: ProbeEvent | undefined;
    while (!victim) {
      victim = (await readProbeEvents(redis, "tick")).slice(seen).find((e) => e.event === "start");
      if (!victim) await sleep(10);
    }
    await replicas!.kill(victim.replica);
    const killedAt = Date.now();
    await sleep(8000);

    const events = (await readProbeEvents(redis, "tick")).filter((e) => e.fire >= victim!.fire && e.fire <= killedAt + 6000);
    const fires = Array.from({ length: Math.floor((killedAt + 6000 - victim.fire) / 1000) + 1 }, (_, i) => victim!.fire + i * 1000);
    const startsPerFire = countBy(starts(events), (e) => e.fire);
    const succeeded = new Set(events.filter((e) => e.event === "end" && e.result === "succeeded").map((e) => e.fire));
    expect(fires.filter((fire) => (startsPerFire.get(fire) ?? 0) > 1)).toEqual([]);
    const missed = fires.filter((fire) => !succeeded.has(fire));
    expect(missed.length).toBeLessThanOrEqual(1);
    if (missed.length) expect(missed).toEqual([victim.fire]);
    // The survivors ran everything after the victim's fire.
    const after = starts(events).filter((e) => e.fire > victim!.fire);
    expect(after.length).toBe(fires.length - 1);
    expect(after.every((e) => e.replica !== victim!.replica)).toBe(true);
    // Fires queued behind the dead run waited at most about one lease (plus a fire period).
    const firstAfterKill = Math.min(...after.map((e) => e.at));
    expect(firstAfterKill - killedAt).toBeLessThan(leaseMs + 3000);

    // History agrees: every fire that started has exactly one outcome, the killed run's included
    // ("lost", written by the replica that took the job over, unless it had finished).
    const history = await new RunHistory(redis, "classroom:scheduler").recent("tick", 100);
    const outcomes = countBy(
      history.filter((h) => h.fire >= victim!.fire && h.fire <= killedAt + 6000),
      (h) => h.fire,
    );
    expect([...new Set(starts(events).map((e) => e.fire))].filter((fire) => outcomes.get(fire) !== 1)).toEqual([]);
    const victimOutcome = history.find((h) => h.fire === victim!.fire)!.outcome;
    expect(victimOutcome).toBe(succeeded.has(victim.fire) ? "succeeded" : "lost");
  });

  it("a paused replica whose lease was taken over cannot record its run or start queued fires; the run is recorded lost once", async () => {
    const seen = (await readProbeEvents(redis, "long")).length;
    let victim: ProbeEvent | undefined;
    while (!victim) {
      victim = (await readProbeEvents(redis, "long")).slice(seen).find((e) => e.event === "start");
      if (!victim) await sleep(10);
    }
    const pid = replicas!.get(victim.replica).pid!;
    process.kill(pid, "SIGSTOP");
    try {
      await sleep(leaseMs + 3000);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await sleep(2500);

    const history = await new RunHistory(redis, "classroom:scheduler").recent("long", 100);
    const own = history.filter((h) => h.token === victim!.token);
    expect(own).toEqual([expect.objectContaining({ fire: victim.fire, outcome: "lost", replica: victim.replica })]);
    // Meanwhile another replica owned the job with newer tokens and ran the fires that came due.
    const events = starts(await readProbeEvents(redis, "long"));
    const next = events.find((e) => e.fire === victim!.fire + 2000);
    expect(next).toBeDefined();
    expect(next!.replica).not.toBe(victim.replica);
    expect(next!.token).toBeGreaterThan(victim.token);
    expect([...countBy(events, (e) => e.fire).values()].every((n) => n === 1)).toBe(true);
  });

  it("a rolling restart (SIGTERM, start again, one replica after the other) misses no fire", async () => {
    const ids = ["r1", "r2", "r3"];
    // Bring back whatever the earlier tests killed, so that the rollout starts from three replicas.
    for (const id of ids) if (!replicas!.get(id).running) await replicas!.startReplica(id);
    await sleep(1500);
    const from = Math.ceil(Date.now() / 1000) * 1000;
    for (const id of ids) {
      await replicas!.get(id).stop();
      await replicas!.startReplica(id);
    }
    const to = Math.floor(Date.now() / 1000) * 1000;
    await sleep(1500);
    const events = (await readProbeEvents(redis, "tick")).filter((e) => e.fire >= from && e.fire <= to);
    const succeeded = countBy(
      events.filter((e) => e.event === "end" && e.result === "succeeded"),
      (e) => e.fire,
    );
    const fires = Array.from({ length: (to - from) / 1000 + 1 }, (_, i) => from + i * 1000);
    expect(fires.length).toBeGreaterThanOrEqual(3);
    expect(fires.filter((fire) => succeeded.get(fire) !== 1)).toEqual([]);
    expect([...countBy(starts(events), (e) => e.fire).values()].every((n) => n === 1)).toBe(true);
  });
});
