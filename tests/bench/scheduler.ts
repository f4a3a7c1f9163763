/**
 * `npm run bench:scheduler`: 500 one-second jobs on 3 real scheduler daemons against one real Redis.
 * Prints one JSON object: fire jitter (handler start minus scheduled instant), duplicates and misses
 * in steady state, then the same plus the failover gap after SIGKILLing a replica while its runs are
 * in flight, then two baselines measured in the same run: a naive 1 s polling loop (what a
 * "check every second" scheduler does) and plain in-process timers without Redis (this machine's floor).
 */
import Redis from "ioredis";
import { RedisServer } from "../harness/redis";
import type { JobsSpec } from "../../runtime/scheduler/job-schema";
import { benchKey } from "../support/scheduler/probe-handlers";
import { SchedulerReplicas } from "../support/scheduler/replicas";

const jobCount = 500;
const leaseMs = 3000;
const handlerSleepMs = 100;
const steadySeconds = 20;
const failoverSeconds = 10;
const baselineSeconds = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nextSecond = (after = Date.now()) => Math.ceil(after / 1000) * 1000;

function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  if (values.length === 0) return { p50: NaN, p99: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}

interface Start {
  job: string;
  fire: number;
  at: number;
  replica: string;
}

/** Duplicates and misses of every (job, one-second fire) in [from, to). */
function account(starts: Start[], jobs: string[], from: number, to: number) {
  const inWindow = starts.filter((s) => s.fire >= from && s.fire < to);
  const perFire = new Map<string, number>();
  for (const s of inWindow) perFire.set(`${s.job}@${s.fire}`, (perFire.get(`${s.job}@${s.fire}`) ?? 0) + 1);
  let misses = 0;
  let maxMissesPerJob = 0;
  for (const job of jobs) {
    let missed = 0;
    for (let fire = from; fire < to; fire += 1000) if (!perFire.has(`${job}@${fire}`)) missed++;
    misses += missed;
    maxMissesPerJob = Math.max(maxMissesPerJob, missed);
  }
  const duplicates = [...perFire.values()].reduce((sum, n) => sum + (n - 1), 0);
  return { fires: jobs.length * ((to - from) / 1000), runs: inWindow.length, duplicates, misses, maxMissesPerJob, jitterMs: percentiles(inWindow.map((s) => s.at - s.fire)) };
}

/** A naive scheduler: every second (at whatever phase it started), claim and run every job that came due. */
async function pollingBaseline(redis: Redis, jobs: string[]) {
  const starts: Start[] = [];
  const from = nextSecond();
  const cursor = new Map(jobs.map((job) => [job, from]));
  const until = from + baselineSeconds * 1000;
  const poll = async () => {
    const now = Date.now();
    for (const job of jobs) {
      let fire = cursor.get(job)!;
      while (fire <= now) {
        if ((await redis.set(`baseline:${job}:${fire}`, "1", "PX", 60_000, "NX")) === "OK") starts.push({ job, fire, at: Date.now(), replica: "poller" });
        fire += 1000;
      }
      cursor.set(job, fire);
    }
  };
  const timer = setInterval(() => void poll(), 1000);
  await sleep(until - Date.now() + 1500);
  clearInterval(timer);
  return { starts, from, until };
}

/** The floor: one setTimeout per job per fire in one process, no Redis, no claims. */
async function timerBaseline(jobs: string[]) {
  const starts: Start[] = [];
  const from = nextSecond() + 1000;
  const until = from + baselineSeconds * 1000;
  const arm = (job: string, fire: number) => {
    if (fire >= until) return;
    setTimeout(() => {
      starts.push({ job, fire, at: Date.now(), replica: "local" });
      arm(job, fire + 1000);
    }, fire - Date.now());
  };
  for (const job of jobs) arm(job, from);
  await sleep(until - Date.now() + 500);
  return { starts, from, until };
}

/**
 * Runs beside the replicas: a timer every 100 ms, off the fire instants (at x50 ms) so it does not
 * compete with them. Its lateness is what this machine's load does to any timer in that window.
 */
function machineTimerProbe(): { stop(): number[] } {
  const lateness: number[] = [];
  let timer: NodeJS.Timeout;
  const arm = () => {
    const target = Math.ceil((Date.now() - 50) / 100) * 100 + 50 + (Date.now() % 100 >= 50 ? 100 : 0);
    timer = setTimeout(() => {
      lateness.push(Date.now() - target);
      arm();
    }, target - Date.now());
  };
  arm();
  return { stop: () => (clearTimeout(timer), lateness) };
}

/** Counts log lines of a kind across the replicas (their last 20 kB each). */
function countLogs(replicas: SchedulerReplicas, message: string): number {
  return [...replicas.replicas.values()].reduce((n, p) => n + p.log.split("\n").filter((l) => l.includes(`"message":"${message}"`)).length, 0);
}

async function main(): Promise<void> {
  const server = await RedisServer.start();
  const redis = new Redis(server.url);
  const names = Array.from({ length: jobCount }, (_, i) => `bench-${String(i).padStart(3, "0")}`);
  // Half cron (six fields, every second), half fixed rate, so both schedule kinds are measured.
  const jobs: JobsSpec = Object.fromEntries(
    names.map((name, i) => [name, { schedule: i % 2 ? { everyMs: 1000 } : { cron: "* * * * * *" }, target: { handler: "bench" }, params: { sleepMs: handlerSleepMs } }]),
  );
  let replicas: SchedulerReplicas | undefined;
  try {
    replicas = await SchedulerReplicas.start({ redisUrl: server.url, ids: ["r1", "r2", "r3"], leaseMs, jobs });
    // Warm-up: the first seconds of a fresh process run unoptimized code and startup garbage collection.
    await sleep(8000);
    const steadyFrom = nextSecond() + 1000;
    const steadyTo = steadyFrom + steadySeconds * 1000;
    const probe = machineTimerProbe();
    // Kill r3 50 ms after a fire, while its share of that second's runs is in flight.
    await sleep(steadyTo + 50 - Date.now());
    const machineLateness = probe.stop();
    await replicas.kill("r3");
    const killedAt = Date.now();
    // Run locks the dead replica still holds, and when each expires: the earliest a takeover may happen.
    const lockPipeline = redis.pipeline();
    for (const name of names) lockPipeline.get(`classroom:scheduler:run:${name}`).pttl(`classroom:scheduler:run:${name}`);
    const lockReplies = ((await lockPipeline.exec()) ?? []).map(([, value]) => value);
    // PTTLs count from when Redis answered, somewhere in this window; expiry below counts from its start.
    const lockReadMs = Date.now() - killedAt;
    const deadLocks = new Map<string, number>();
    names.forEach((name, i) => {
      const holder = lockReplies[i * 2] as string | null;
      if (holder && holder.split("|")[2] === "r3") deadLocks.set(name, killedAt + Number(lockReplies[i * 2 + 1]));
    });
    const failoverTo = steadyTo + failoverSeconds * 1000;
    await sleep(failoverTo - Date.now() + 1500);
    const lateClaimLogs = countLogs(replicas, "claims answered after their fire instant");
    await replicas.stopAll();
    replicas = undefined;

    const starts: Start[] = (await redis.lrange(benchKey, 0, -1)).map((line) => {
      const [job, fire, at, replica] = line.split(" ");
      return { job, fire: Number(fire), at: Number(at), replica };
    });
    const steady = account(starts, names, steadyFrom, steadyTo);
    const failover = account(starts, names, steadyTo, failoverTo);
    // Per job: how long after the kill a surviving replica started it again. Jobs whose run was in
    // flight on r3 wait for r3's lease to expire; the rest only for their next fire.
    const gaps = names.map((job) => {
      const first = starts.filter((s) => s.job === job && s.replica !== "r3" && s.at >= killedAt).reduce((min, s) => Math.min(min, s.at), Infinity);
      return first - killedAt;
    });
    const inFlightOnKilled = starts.filter((s) => s.replica === "r3" && s.fire === steadyTo).length;
    const afterExpiry = [...deadLocks].map(([job, expiresAt]) => gaps[names.indexOf(job)] + killedAt - expiresAt);
    const failoverGap = percentiles(gaps);

    const poller = await pollingBaseline(redis, names);
    const polling = account(poller.starts, names, poller.from, poller.until);
    const timers = await timerBaseline(names);
    const timerStats = account(timers.starts, names, timers.from, timers.until);

    console.log(
      JSON.stringify(
        {
          bench: "scheduler",
          setup: { jobs: jobCount, replicas: 3, schedule: "every 1 s (250 cron '* * * * * *', 250 everyMs 1000)", handlerSleepMs, leaseMs, redis: "one redis-server, AOF everysec" },
          steady: {
            seconds: steadySeconds,
            ...steady,
            claimBatchesAnsweredAfterInstant: lateClaimLogs,
            machineTimerLatenessMs: { note: "a plain 100 ms timer in the bench process during the same seconds", ...percentiles(machineLateness) },
          },
          failover: {
            killed: "r3 (SIGKILL, 50 ms after a fire)",
            seconds: failoverSeconds,
            // Started on r3 just before the kill: they count as run, but their outcome was never recorded.
            runsInFlightOnKilledReplica: inFlightOnKilled,
            ...failover,
            failoverGapMs: { note: "per job: first start by a surviving replica minus the kill time", ...failoverGap },
            runLocksHeldByKilledReplica: deadLocks.size,
            remainingLeaseAtKillMs: { lockReadMs, ...percentiles([...deadLocks.values()].map((at) => at - killedAt)) },
            takeoverAfterLeaseExpiryMs: { note: "first start minus the dead lock's expiry", ...percentiles(afterExpiry) },
            withinOneLease: failoverGap.max <= leaseMs,
          },
          baseline: {
            pollingLoop1s: { note: "naive scheduler: setInterval 1000 ms, then SET NX per due fire one after another, one process", ...polling },
            inProcessTimersNoRedis: { note: "one setTimeout per job per fire, no claims: this machine's timer floor", ...timerStats },
          },
          targets: { p99JitterMsBelow: 30, duplicates: 0, failoverWithinLeaseMs: leaseMs },
          met: {
            p99Jitter: steady.jitterMs.p99 < 30,
            noDuplicates: steady.duplicates === 0 && failover.duplicates === 0,
            failoverWithinLease: failoverGap.max <= leaseMs,
          },
        },
        null,
        2,
      ),
    );
  } finally {
    await replicas?.stopAll();
    redis.disconnect();
    await server.destroy();
  }
}

main().catch((err) => {
  console.error(`bench:scheduler failed: ${(err as Error).message}`);
  process.exit(1);
});
