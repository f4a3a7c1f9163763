/**
 * `npm run bench:discovery`: the same churn workload watched, in one process and at the same time, by
 * the discovery runtime's watcher and by a faithful port of the old list-then-read-then-watch loop.
 * Prints one JSON object. BENCH_BURSTS and BENCH_BURST_SIZE override the workload (default 1000 x 20);
 * BENCH_SPREAD_MS spreads each burst's changes over that many ms (default 0: all at once).
 *
 * The old loop is observed for the first BENCH_LEGACY_BURSTS bursts (default 150) only: almost every
 * burst leaves it stale, and each stale burst costs the full 1.5 s wait, so 1000 of them would take
 * 25 minutes. Both sides are measured on the very same bursts while both run.
 */
import { performance } from "node:perf_hooks";
import * as zookeeper from "node-zookeeper-client";
import { Instance, ServiceRegistry, decodeNodeData, silentLogger } from "../../runtime/discovery";
import { InstanceChurn, ZooKeeperServer, closeRawClient, connectRawClient } from "../harness/zookeeper";

const BURSTS = Number(process.env.BENCH_BURSTS ?? 1000);
const BURST_SIZE = Number(process.env.BENCH_BURST_SIZE ?? 20);
/** 0 = every change of a burst in flight at once; >0 = each change starts at a random delay up to this. */
const SPREAD_MS = Number(process.env.BENCH_SPREAD_MS ?? 0);
const LEGACY_BURSTS = Math.min(BURSTS, Number(process.env.BENCH_LEGACY_BURSTS ?? 150));
const POPULATION = 30;
const STALE_AFTER_MS = 1_500;
const SERVICE_PATH = "/classroom/services/bench-rpc";

/**
 * The loop the migration shipped, ported as it was: list the children, read every child, publish,
 * then set a one-shot children watch in a SEPARATE call whose result is ignored. Whatever changes
 * between the listing and that call is not seen until some later change fires the watch. Every event
 * re-reads every child. (Child reads run in parallel, which shortens the blind window: generous to it.)
 */
class LegacyListThenWatchLoop {
  instances: Instance[] = [];
  reads = 0;
  private stopped = false;

  constructor(private readonly client: zookeeper.Client, private readonly path: string, private readonly onUpdate: () => void) {}

  start(): void { void this.loop(); }
  stop(): void { this.stopped = true; }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    try {
      const children = await this.call<string[]>((cb) => this.client.getChildren(this.path, cb));
      const read = await Promise.all(children.map((id) =>
        this.call<Buffer>((cb) => this.client.getData(`${this.path}/${id}`, cb)).then((data) => decodeNodeData(id, data), () => undefined)));
      this.instances = read.filter((i): i is Instance => i !== undefined && !("error" in i));
      this.onUpdate();
      // The "fix" that was not enough: re-arm after every event, but in its own call.
      await this.call<string[]>((cb) => this.client.getChildren(this.path, () => void this.loop(), cb));
    } catch {
      setTimeout(() => void this.loop(), 100);
    }
  }

  private call<T>(start: (cb: (err: Error | zookeeper.Exception | null, value: T) => void) => void): Promise<T> {
    this.reads++;
    return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))));
  }
}

interface Tracker { name: string; current(): Instance[]; convergedAt?: number; latencies: number[]; stale: number; bursts: number; active: boolean; latenciesWhileLegacyRan?: number[] }

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] * 100) / 100;
}

function summary(t: Tracker, reads: number, changes: number) {
  const sorted = [...t.latencies].sort((a, b) => a - b);
  return {
    bursts: t.bursts,
    changes,
    staleBursts: t.stale,
    convergenceMsOfConvergedBursts: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: percentile(sorted, 100) },
    ...(t.latenciesWhileLegacyRan ? {
      // The old loop re-reads every child in this same event loop; this shows what that costs us.
      convergenceMsWhileLegacyLoopRan: (() => {
        const l = [...t.latenciesWhileLegacyRan].sort((a, b) => a - b);
        return { bursts: l.length, p50: percentile(l, 50), p99: percentile(l, 99), max: percentile(l, 100) };
      })(),
    } : {}),
    zookeeperReads: reads,
    readsPerChange: Math.round((reads / changes) * 1000) / 1000,
  };
}

async function main(): Promise<void> {
  const zk = await ZooKeeperServer.start({ heap: "512m", fullJit: true });
  const registry = new ServiceRegistry({ connect: zk.connectString, sessionTimeoutMs: 15_000, logger: silentLogger });
  const legacyClient = await connectRawClient(zk.connectString);
  const churn = await InstanceChurn.start(zk.connectString, SERVICE_PATH, { sessions: 4, population: POPULATION, seed: 1, dataUpdates: false });
  try {
    let burstStart = 0;
    let settle: (() => void) | undefined;
    const mark = (t: Tracker) => {
      if (t.active && t.convergedAt === undefined && churn.matches(t.current())) {
        t.convergedAt = performance.now();
        if (trackers.every((x) => !x.active || x.convergedAt !== undefined)) settle?.();
      }
    };
    const watch = registry.watch("bench-rpc");
    const ours: Tracker = { name: "watcher", current: () => watch.current(), latencies: [], stale: 0, bursts: 0, active: true, latenciesWhileLegacyRan: [] };
    const legacy = new LegacyListThenWatchLoop(legacyClient, SERVICE_PATH, () => { if (settle) mark(old); });
    const old: Tracker = { name: "legacyLoop", current: () => legacy.instances, latencies: [], stale: 0, bursts: 0, active: true };
    const trackers = [ours, old];
    watch.on("change", () => { if (settle) mark(ours); });
    await watch.ready();
    legacy.start();
    await new Promise((r) => setTimeout(r, 200));
    const readsBefore = { ours: registry.stats().reads, old: legacy.reads };

    let changes = 0;
    let legacyChanges = 0;
    let legacyReads = 0;
    const started = performance.now();
    for (let burst = 0; burst < BURSTS; burst++) {
      if (burst === LEGACY_BURSTS) {
        old.active = false;
        legacy.stop();
        legacyReads = legacy.reads - readsBefore.old;
      }
      for (const t of trackers) t.convergedAt = undefined;
      const made = await churn.burst(BURST_SIZE, SPREAD_MS);
      changes += made;
      if (old.active) legacyChanges += made;
      burstStart = performance.now();
      // Counted from the moment ZooKeeper acknowledged the last change of the burst.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { settle = undefined; resolve(); }, STALE_AFTER_MS);
        settle = () => { clearTimeout(timer); settle = undefined; resolve(); };
        for (const t of trackers) mark(t);
      });
      for (const t of trackers.filter((x) => x.active)) {
        t.bursts++;
        if (t.convergedAt === undefined) t.stale++;
        else {
          t.latencies.push(Math.max(0, t.convergedAt - burstStart));
          if (old.active && t === ours) ours.latenciesWhileLegacyRan!.push(Math.max(0, t.convergedAt - burstStart));
        }
      }
    }
    const elapsedS = Math.round((performance.now() - started) / 100) / 10;
    console.log(JSON.stringify({
      workload: {
        bursts: BURSTS, changesPerBurst: BURST_SIZE, totalChanges: changes, population: POPULATION, driverSessions: 4,
        spreadMs: SPREAD_MS,
        mix: "register, deregister, and deregister+re-register of the same pod name; no data-only updates (the old loop never watched data)",
        staleMeans: `not equal to ZooKeeper's truth ${STALE_AFTER_MS} ms after the burst's last acknowledgement`,
        elapsedSeconds: elapsedS,
      },
      watcher: summary(ours, registry.stats().reads - readsBefore.ours, changes),
      legacyLoop: summary(old, old.active ? legacy.reads - readsBefore.old : legacyReads, legacyChanges),
      targets: { staleBursts: 0, p99Ms: 20, readsPerChange: 1.5 },
    }, null, 2));
    legacy.stop();
    watch.close();
  } finally {
    await churn.close();
    await registry.close();
    await closeRawClient(legacyClient);
    await zk.destroy();
  }
}

main().catch((err) => {
  console.error(`bench:discovery failed: ${(err as Error).message}`);
  process.exit(1);
});
