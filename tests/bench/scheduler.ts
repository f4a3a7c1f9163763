/**
 * `npm run bench:scheduler`: 1000 one-second jobs (1000 fires/s) on real scheduler daemons against one
 * real Redis. Prints one JSON object:
 * - at 1, 3 and 5 replicas: start lag (handler start minus scheduled instant), duplicates, misses,
 *   runs per replica, and Redis CPU per fire (`used_cpu_sys + used_cpu_user` and script time deltas);
 * - on 3 replicas: the failover gap after SIGKILLing a replica while its runs are in flight, and a
 *   10 s Redis outage: how long after Redis returns the start lag is normal again;
 * - two baselines measured in the same run: a naive 1 s polling loop (what a "check every second"
 *   scheduler does) and plain in-process timers without Redis (this machine's floor).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import Redis from "ioredis";
import { RedisServer } from "../harness/redis";
import type { JobsSpec } from "../../runtime/scheduler/job-schema";
import { benchKey } from "../support/scheduler/probe-handlers";
import { SchedulerReplicas } from "../support/scheduler/replicas";

const jobCount = Number(process.env.BENCH_SCHEDULER_JOBS ?? 1000);
const leaseMs = 3000;
const handlerSleepMs = 50;
const warmupMs = 8000;
const steadySeconds = 15;
const failoverSeconds = 10;
const outageSeconds = 10;
const baselineSeconds = 8;
/** Start lag at or below this counts as normal (the p99 target). */
const normalLagMs = 100;

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
  return {
    fires: jobs.length * ((to - from) / 1000),
    runs: inWindow.length,
    duplicates,
    misses,
    maxMissesPerJob,
    jitterMs: percentiles(inWindow.map((s) => s.at - s.fire)),
  };
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
  return [...replicas.replicas.values()].reduce((n, p) => n + p.log.split("\n").filter((l) => l.includes(`"event":"${message}"`)).length, 0);
}

/** Redis' CPU and script time so far (seconds, microseconds), for deltas around a window. */
async function redisWork(redis: Redis): Promise<{ cpuSec: number; scriptUsec: number; setCalls: number }> {
  const cpu = await redis.info("cpu");
  const stats = await redis.info("commandstats");
  const field = (text: string, name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(text)?.[1] ?? 0);
  const usec = (command: string) => Number(new RegExp(`^cmdstat_${command}:calls=\\d+,usec=(\\d+)`, "m").exec(stats)?.[1] ?? 0);
  const calls = (command: string) => Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m").exec(stats)?.[1] ?? 0);
  return {
    cpuSec: field(cpu, "used_cpu_sys") + field(cpu, "used_cpu_user"),
    scriptUsec: usec("evalsha") + usec("eval") + usec("mget"),
    setCalls: calls("set"),
  };
}

/** CPU seconds a process has used (user + system), from /proc; the replicas' own cost per fire. */
function processCpuSec(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (USER_HZ, 100 on Linux).
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function replicasCpuSec(replicas: SchedulerReplicas): number {
  return [...replicas.replicas.values()].reduce((sum, p) => sum + processCpuSec(p.pid), 0);
}

async function readStarts(redis: Redis): Promise<Start[]> {
  return (await redis.lrange(benchKey, 0, -1)).map((line) => {
    const [job, fire, at, replica] = line.split(" ");
    return { job, fire: Number(fire), at: Number(at), replica };
  });
}

/** Sum of the outcome counters of every job (misfired and lost are what a bench must not hide). */
async function counterTotals(redis: Redis, names: string[]): Promise<Record<string, number>> {
  const pipeline = redis.pipeline();
  for (const name of names) pipeline.hgetall(`classroom:scheduler:counters:${name}`);
  const totals: Record<string, number> = {};
  for (const [, value] of (await pipeline.exec()) ?? [])
    for (const [k, v] of Object.entries(value as Record<string, string>)) totals[k] = (totals[k] ?? 0) + Number(v);
  return totals;
}

function runsPerReplica(starts: Start[], from: number, to: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of starts) if (s.fire >= from && s.fire < to) counts[s.replica] = (counts[s.replica] ?? 0) + 1;
  return counts;
}

/** N replicas on a fresh key space: steady-state accounting and Redis work per fire. */
async function replicaPhase(server: RedisServer, redis: Redis, names: string[], jobs: JobsSpec, ids: string[], seconds: number) {
  await redis.flushall();
  const replicas = await SchedulerReplicas.start({ redisUrl: server.url, ids, leaseMs, jobs, startTimeoutMs: 120_000 });
  try {
    await sleep(warmupMs);
    const from = nextSecond() + 1000;
    const to = from + seconds * 1000;
    await sleep(from - 200 - Date.now());
    const before = await redisWork(redis);
    const cpuBefore = replicasCpuSec(replicas);
    const probe = machineTimerProbe();
    await sleep(to - 200 - Date.now());
    const after = await redisWork(redis);
    const cpuUsed = replicasCpuSec(replicas) - cpuBefore;
    const machineLateness = probe.stop();
    await sleep(1500);
    const starts = await readStarts(redis);
    const stats = account(starts, names, from, to);
    return {
      replicas,
      from,
      to,
      result: {
        replicas: ids.length,
        seconds,
        ...stats,
        runsPerReplica: runsPerReplica(starts, from, to),
        counters: await counterTotals(redis, names),
        claimBatchesAnsweredAfterInstant: countLogs(replicas, "claims answered after their fire instant"),
        redisPerFire: {
          cpuUs: Math.round(((after.cpuSec - before.cpuSec) * 1e6) / stats.fires),
          scriptUs: Math.round((after.scriptUsec - before.scriptUsec) / stats.fires),
          setCalls: Number(((after.setCalls - before.setCalls) / stats.fires).toFixed(2)),
        },
        replicaCpu: {
          note: "user + system CPU of all replicas together over the window (includes tsx and the bench handler)",
          msPerFire: Number(((cpuUsed * 1000) / stats.fires).toFixed(3)),
          coresUsed: Number((cpuUsed / seconds).toFixed(2)),
        },
        machineTimerLatenessMs: { note: "a plain 100 ms timer in the bench process during the same seconds", ...percentiles(machineLateness) },
      },
    };
  } catch (err) {
    await replicas.stopAll();
    throw err;
  }
}

/** SIGKILL r3 50 ms after a fire, while its share of that second's runs is in flight. */
async function failoverPhase(redis: Redis, replicas: SchedulerReplicas, names: string[]) {
  await sleep(nextSecond() + 50 - Date.now());
  const killedFire = nextSecond() - 1000;
  await replicas.kill("r3");
  const killedAt = Date.now();
  // Run locks the dead replica still holds, and when each expires: the earliest a takeover may happen.
  const lockPipeline = redis.pipeline();
  for (const name of names) lockPipeline.get(`classroom:scheduler:run:${name}`).pttl(`classroom:scheduler:run:${name}`);
  const lockReplies = ((await lockPipeline.exec()) ?? []).map(([, value]) => value);
  const deadLocks = new Map<string, number>();
  names.forEach((name, i) => {
    const holder = lockReplies[i * 2] as string | null;
    if (holder && holder.split("|")[2] === "r3") deadLocks.set(name, killedAt + Number(lockReplies[i * 2 + 1]));
  });
  const to = killedFire + 1000 + failoverSeconds * 1000;
  await sleep(to - Date.now() + 1500 + leaseMs);
  const starts = await readStarts(redis);
  const stats = account(starts, names, killedFire + 1000, to);
  const gaps = names.map(
    (job) => starts.filter((s) => s.job === job && s.replica !== "r3" && s.at >= killedAt).reduce((min, s) => Math.min(min, s.at), Infinity) - killedAt,
  );
  const failoverGap = percentiles(gaps);
  const afterExpiry = [...deadLocks].map(([job, expiresAt]) => gaps[names.indexOf(job)] + killedAt - expiresAt);
  return {
    killed: "r3 (SIGKILL, 50 ms after a fire)",
    seconds: failoverSeconds,
    runsInFlightOnKilledReplica: starts.filter((s) => s.replica === "r3" && s.fire === killedFire).length,
    ...stats,
    failoverGapMs: { note: "per job: first start by a surviving replica minus the kill time", ...failoverGap },
    runLocksHeldByKilledReplica: deadLocks.size,
    takeoverAfterLeaseExpiryMs: { note: "first start minus the dead lock's expiry", ...percentiles(afterExpiry) },
    // The runs the dead replica had started are in the history as lost, each once (a lease after the kill).
    counters: await counterTotals(redis, names),
    withinOneLease: failoverGap.max <= leaseMs,
  };
}

/**
 * Redis stops for `outageSeconds` under the surviving replicas and comes back on the same port and
 * data. Reported: what happened to fires due during the outage, and how long after Redis returned the
 * start lag was back to normal for good (every later second's p99 within `normalLagMs`, nothing missed).
 */
async function outagePhase(server: RedisServer, redis: Redis, names: string[]) {
  await sleep(nextSecond() + 100 - Date.now());
  const downAt = Date.now();
  await server.stop();
  await sleep(outageSeconds * 1000);
  await server.restart();
  const listeningAt = Date.now();
  // Redis answers LOADING until it has read its AOF back: it is back when it answers PONG.
  while ((await redis.ping().catch((err: Error) => err.message)) !== "PONG") await sleep(20);
  const backAt = Date.now();
  const observeTo = nextSecond(backAt) + 10_000;
  await sleep(observeTo - Date.now() + 1500);
  const starts = await readStarts(redis);
  const seconds: { fire: number; runs: number; misses: number; p99LagMs: number }[] = [];
  for (let fire = nextSecond(backAt) - 1000; fire < observeTo; fire += 1000) {
    const stats = account(starts, names, fire, fire + 1000);
    seconds.push({ fire: fire - backAt, runs: stats.runs, misses: stats.misses, p99LagMs: stats.jitterMs.p99 });
  }
  let normalFrom = seconds.length;
  while (normalFrom > 0 && seconds[normalFrom - 1].misses === 0 && seconds[normalFrom - 1].p99LagMs <= normalLagMs) normalFrom--;
  const normalAfterMs = normalFrom < seconds.length ? Math.max(0, seconds[normalFrom].fire) : Infinity;
  return {
    outageMs: backAt - downAt,
    aofLoadingMs: { note: "from listening again to answering PONG (reading its AOF back); counted in the outage", value: backAt - listeningAt },
    duplicates: account(starts, names, nextSecond(downAt) - 1000, observeTo).duplicates,
    firesDueDuringOutage: names.length * outageSeconds,
    runsOfFiresDueDuringOutage: starts.filter((s) => s.fire >= downAt && s.fire < backAt).length,
    perSecondAfterReturn: { note: "fire: ms after Redis returned", seconds },
    normalLagAfterReturnMs: normalAfterMs,
    withinOneLease: normalAfterMs <= leaseMs,
    counters: await counterTotals(redis, names),
  };
}

async function main(): Promise<void> {
  const server = await RedisServer.start();
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  redis.on("error", () => undefined);
  const names = Array.from({ length: jobCount }, (_, i) => `bench-${String(i).padStart(4, "0")}`);
  // Half cron (six fields, every second), half fixed rate, so both schedule kinds are measured.
  const jobs: JobsSpec = Object.fromEntries(
    names.map((name, i) => [
      name,
      { schedule: i % 2 ? { everyMs: 1000 } : { cron: "* * * * * *" }, target: { handler: "bench" }, params: { sleepMs: handlerSleepMs } },
    ]),
  );
  const load = () => os.loadavg().map((l) => Number(l.toFixed(2)));
  const loadAtStart = load();
  let replicas: SchedulerReplicas | undefined;
  try {
    const one = await replicaPhase(server, redis, names, jobs, ["r1"], 10);
    await one.replicas.stopAll();
    const five = await replicaPhase(server, redis, names, jobs, ["r1", "r2", "r3", "r4", "r5"], 10);
    await five.replicas.stopAll();
    const three = await replicaPhase(server, redis, names, jobs, ["r1", "r2", "r3"], steadySeconds);
    replicas = three.replicas;
    const failover = await failoverPhase(redis, replicas, names);
    const outage = await outagePhase(server, redis, names);
    await replicas.stopAll();
    replicas = undefined;
    const loadAfterReplicas = load();

    await redis.flushall();
    const poller = await pollingBaseline(redis, names);
    const polling = account(poller.starts, names, poller.from, poller.until);
    const timers = await timerBaseline(names);
    const timerStats = account(timers.starts, names, timers.from, timers.until);

    const steady = three.result;
    const cpuRatio = five.result.redisPerFire.cpuUs / one.result.redisPerFire.cpuUs;
    const scriptRatio = five.result.redisPerFire.scriptUs / one.result.redisPerFire.scriptUs;
    console.log(
      JSON.stringify(
        {
          bench: "scheduler",
          setup: {
            jobs: jobCount,
            firesPerSecond: jobCount,
            schedule: "every 1 s (half cron '* * * * * *', half everyMs 1000)",
            handlerSleepMs,
            leaseMs,
            redis: "one redis-server, AOF everysec",
            cpus: os.cpus().length,
          },
          loadAverage: { start: loadAtStart, afterReplicaPhases: loadAfterReplicas, end: load() },
          steady,
          replicaScaling: {
            note: "Redis work per fire; the bench handler's own RPUSH per run is in cpuUs, not in scriptUs (EVALSHA + MGET time)",
            oneReplica: one.result,
            fiveReplicas: five.result,
            cpuPerFireRatio5to1: Number(cpuRatio.toFixed(2)),
            scriptTimePerFireRatio5to1: Number(scriptRatio.toFixed(2)),
          },
          failover,
          redisOutage: outage,
          baseline: {
            pollingLoop1s: { note: "naive scheduler: setInterval 1000 ms, then SET NX per due fire one after another, one process", ...polling },
            inProcessTimersNoRedis: { note: "one setTimeout per job per fire, no claims: this machine's timer floor", ...timerStats },
          },
          targets: {
            firesPerSecond: 1000,
            replicas: 3,
            duplicates: 0,
            misses: 0,
            p99StartLagMsBelow: normalLagMs,
            redisCpuPerFire5to1AtMost: 1.5,
            normalLagAfterOutageWithinMs: leaseMs,
          },
          met: {
            noDuplicates: steady.duplicates === 0 && failover.duplicates === 0 && outage.duplicates === 0,
            noMisses: steady.misses === 0,
            spreadOverAllReplicas: Object.keys(steady.runsPerReplica).length === 3,
            p99StartLag: steady.jitterMs.p99 < normalLagMs,
            redisCpuFlat: cpuRatio <= 1.5,
            normalLagWithinOneLeaseOfRedisReturn: outage.withinOneLease,
            failoverWithinLease: failover.withinOneLease,
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
