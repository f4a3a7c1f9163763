/**
 * `npm run bench:registrar`: 200 services x 50 endpoints and a stream of 10,000 endpoint changes (readiness
 * flips), mirrored into a real ZooKeeper by the registrar, with three leader failovers during the stream,
 * and, in the same run on a fresh tree, by the naive loop the registrar replaces (every second: list every
 * endpoint, rewrite every node). One discovery watcher per run observes what callers see.
 *
 * Prints one JSON object: per side, stale nodes at the end, p50/p99/max from the change to the watcher's
 * view, ZooKeeper writes per endpoint change, spurious deletes (a node of a ready endpoint removed), and
 * the load average at start and end (the machine is shared: numbers are only comparable within a run).
 *
 * The Kubernetes side is fed in-process, as the informers would deliver each EndpointSlice update: the
 * API server's watch latency is not part of these numbers (see runtime/registrar/README.md).
 * Env: BENCH_SERVICES (200), BENCH_ENDPOINTS (50), BENCH_CHANGES (10000), BENCH_RATE (changes/s, 500),
 * BENCH_FAILOVERS (3), BENCH_BASELINE (1; 0 skips the naive loop, for quick looks at the registrar alone:
 * the naive loop rewrites all 10,000 nodes every pass and takes minutes on a loaded machine).
 */
import * as os from "node:os";
import { performance } from "node:perf_hooks";
import * as zookeeper from "node-zookeeper-client";
import { ServiceRegistry, WatchHandle, encodeNodeData, silentLogger } from "../../runtime/discovery";
import { ZkConnection } from "../../runtime/discovery/zk";
import { DesiredNode } from "../../runtime/registrar/desired";
import { KubeView } from "../../runtime/registrar/kube-view";
import { Registrar } from "../../runtime/registrar/registrar";
import { ZooKeeperServer, closeRawClient, connectRawClient, zkCall } from "../harness/zookeeper";
import { TestEndpoint, endpointSlice, trackService } from "../support/registrar/objects";

const SERVICES = Number(process.env.BENCH_SERVICES ?? 200);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 50);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 10_000);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const FAILOVERS = Number(process.env.BENCH_FAILOVERS ?? 3);
const TICK_MS = 50;

interface Side {
  /** Feed one slice update (what an informer event delivers). */
  feed(slice: any): void;
  /** Leader failover; resolves when the successor leads. */
  failover(): Promise<void>;
  writes(): number;
  close(): Promise<void>;
}

const serviceName = (s: number) => `bench-${String(s).padStart(3, "0")}-rpc`;

/** The cluster's state: every endpoint and whether it is ready. */
class World {
  readonly ready: boolean[][] = Array.from({ length: SERVICES }, () => Array.from({ length: ENDPOINTS }, () => true));
  endpoints(s: number): TestEndpoint[] {
    return this.ready[s].map((ready, i) => ({ pod: `${serviceName(s)}-stable-${i}`, ip: `10.${1 + Math.floor(s / 250)}.${s % 250}.${i + 1}`, ready }));
  }
  slice(s: number): any { return endpointSlice(`${serviceName(s)}-stable`, `${serviceName(s)}-stable-a`, this.endpoints(s)); }
}

async function run(label: string, root: string, makeSide: (world: World) => Promise<Side>, zk: ZooKeeperServer) {
  const world = new World();
  const side = await makeSide(world);
  // Wait for the initial 10,000 nodes, then watch.
  const observer = new ServiceRegistry({ connect: zk.connectString, root, sessionTimeoutMs: 20_000, logger: silentLogger });
  const watches: WatchHandle[] = [];
  const pending = new Map<string, { present: boolean; at: number }>();
  const latencies: number[] = [];
  let spuriousDeletes = 0;
  let measuring = false;
  for (let s = 0; s < SERVICES; s++) {
    const service = serviceName(s);
    const w = observer.watch(service);
    w.on("change", (c) => {
      if (!measuring) return;
      const now = performance.now();
      const seen = (id: string, present: boolean) => {
        const key = `${service}/${id}`;
        const p = pending.get(key);
        if (p && p.present === present) {
          latencies.push(now - p.at);
          pending.delete(key);
        }
      };
      for (const i of c.added) seen(i.id, true);
      for (const i of c.removed) {
        const idx = Number(i.id.slice(i.id.lastIndexOf("-") + 1));
        if (world.ready[s][idx] && !pending.has(`${service}/${i.id}`)) spuriousDeletes++;
        seen(i.id, false);
      }
    });
    watches.push(w);
  }
  const full = () => watches.every((w) => w.current().length === ENDPOINTS);
  const setupDeadline = Date.now() + 300_000;
  while (!full()) {
    if (Date.now() > setupDeadline) throw new Error(`${label}: initial sync incomplete after 300 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const writesAtStart = side.writes();
  const loadStart = os.loadavg();

  // The stream: readiness flips at RATE per second, in ticks; failovers spread over it.
  measuring = true;
  const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
  const failoverAt = new Set(Array.from({ length: FAILOVERS }, (_, k) => Math.floor(((k + 1) * CHANGES) / (FAILOVERS + 1))));
  let done = 0;
  const started = performance.now();
  const failovers: Array<Promise<void>> = [];
  while (done < CHANGES) {
    const tickStart = performance.now();
    const touched = new Set<number>();
    for (let k = 0; k < perTick && done < CHANGES; k++, done++) {
      const s = Math.floor(Math.random() * SERVICES);
      const i = Math.floor(Math.random() * ENDPOINTS);
      world.ready[s][i] = !world.ready[s][i];
      pending.set(`${serviceName(s)}/${serviceName(s)}-stable-${i}`, { present: world.ready[s][i], at: performance.now() });
      touched.add(s);
      if (failoverAt.has(done)) failovers.push(side.failover());
    }
    for (const s of touched) side.feed(world.slice(s));
    const wait = TICK_MS - (performance.now() - tickStart);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const streamMs = performance.now() - started;
  await Promise.all(failovers);

  // Converge, then count what is stale: nodes that differ from the ready endpoints.
  const quietDeadline = Date.now() + 60_000;
  const staleNow = () => {
    let stale = 0;
    for (let s = 0; s < SERVICES; s++) {
      const want = new Set(world.endpoints(s).filter((e) => e.ready).map((e) => e.pod));
      const have = new Set(watches[s].current().map((i) => i.id));
      for (const id of want) if (!have.has(id)) stale++;
      for (const id of have) if (!want.has(id)) stale++;
    }
    return stale;
  };
  while (staleNow() > 0 && Date.now() < quietDeadline) await new Promise((r) => setTimeout(r, 100));
  const settledMs = performance.now() - started - streamMs;
  const stale = staleNow();
  const writes = side.writes() - writesAtStart;
  measuring = false;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => (latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 10) / 10 : null);
  for (const w of watches) w.close();
  await observer.close();
  await side.close();
  return {
    staleAtEnd: stale,
    latencyMs: { p50: q(0.5), p99: q(0.99), max: q(1), samples: latencies.length, unmatched: pending.size },
    zkWritesPerChange: Math.round((writes / CHANGES) * 1000) / 1000,
    zkWrites: writes,
    spuriousDeletes,
    streamMs: Math.round(streamMs),
    settleMs: Math.round(settledMs),
    loadavg: { start: loadStart.map((l) => Math.round(l * 100) / 100), end: os.loadavg().map((l) => Math.round(l * 100) / 100) },
  };
}

/** The registrar: two replicas fed the same events; a failover kills the leader's session and promotes the standby. */
function registrarSide(zk: ZooKeeperServer, root: string, stateRoot: string) {
  return async (world: World): Promise<Side> => {
    const make = () => {
      const r = new Registrar({ connect: zk.connectString, root, stateRoot, sessionTimeoutMs: 20_000, logger: silentLogger, concurrency: 32 });
      r.start();
      for (let s = 0; s < SERVICES; s++) {
        r.upsertService(trackService(serviceName(s), "stable", 100));
        r.upsertSlice(world.slice(s));
      }
      return r;
    };
    let leader = make();
    let standby = make();
    let retiredWrites = 0;
    let n = 0;
    await leader.lead(`replica-${n++}`);
    return {
      feed: (slice) => { leader.upsertSlice(slice); standby.upsertSlice(slice); },
      async failover() {
        // Like SIGKILL: the leader stops mid-stream without releasing anything; its session goes.
        const dead = leader;
        dead.standDown();
        retiredWrites += dead.zkStats.writes;
        void dead.close();
        leader = standby;
        await leader.lead(`replica-${n++}`);
        // A new standby with warm caches, as the restarted pod would be.
        standby = make();
      },
      writes: () => retiredWrites + leader.zkStats.writes + standby.zkStats.writes,
      async close() { await Promise.all([leader.close(), standby.close()]); },
    };
  };
}

/** The baseline: every second, list every endpoint and rewrite every node (create, setData, delete). */
function naiveSide(zk: ZooKeeperServer, root: string) {
  return async (world: World): Promise<Side> => {
    const view = new KubeView(silentLogger);
    for (let s = 0; s < SERVICES; s++) {
      view.upsertService(trackService(serviceName(s), "stable", 100));
      view.upsertSlice(world.slice(s));
    }
    const stats = { reads: 0, writes: 0 };
    const client = await connectRawClient(zk.connectString, { sessionTimeout: 20_000 });
    const conn = new ZkConnection(client, 1, stats);
    let stopped = false;
    const pass = async () => {
      await Promise.all(Array.from({ length: SERVICES }, async (_, s) => {
        const service = serviceName(s);
        const dir = `${root}/${service}`;
        const desired: Map<string, DesiredNode> = view.desired(service);
        let children: string[] = [];
        try { children = (await conn.getChildren(dir)).children; } catch { await conn.mkdirp(dir); }
        await Promise.all([
          ...[...desired].map(([id, node]) => {
            const data = encodeNodeData({ ...node, registeredAt: new Date().toISOString() });
            return children.includes(id) ? conn.setData(`${dir}/${id}`, data) : conn.create(`${dir}/${id}`, data, zookeeper.CreateMode.PERSISTENT);
          }),
          ...children.filter((id) => !desired.has(id)).map((id) => conn.remove(`${dir}/${id}`)),
        ].map((p) => p.catch(() => undefined)));
      }));
    };
    const loop = async () => {
      while (!stopped) {
        const t = Date.now();
        await pass();
        await new Promise((r) => setTimeout(r, Math.max(0, 1_000 - (Date.now() - t))));
      }
    };
    void loop();
    return {
      feed: (slice) => { view.upsertSlice(slice); },
      failover: async () => undefined, // a restarted naive loop rewrites everything anyway: nothing to compare
      writes: () => stats.writes,
      async close() { stopped = true; await closeRawClient(client); },
    };
  };
}

async function main(): Promise<void> {
  const zk = await ZooKeeperServer.start({ heap: "768m", fullJit: true, maxSessionTimeout: 60_000 });
  try {
    const registrar = await run("registrar", "/bench-registrar/services", registrarSide(zk, "/bench-registrar/services", "/bench-registrar/state"), zk);
    const naive = process.env.BENCH_BASELINE === "0" ? "skipped (BENCH_BASELINE=0)" : await run("naive", "/bench-naive/services", naiveSide(zk, "/bench-naive/services"), zk);
    const raw = await connectRawClient(zk.connectString);
    const leftovers = await zkCall<string[]>((cb) => raw.getChildren("/bench-registrar/state/owned", cb));
    await closeRawClient(raw);
    console.log(JSON.stringify({
      bench: "registrar",
      workload: { services: SERVICES, endpointsPerService: ENDPOINTS, changes: CHANGES, ratePerSecond: RATE, failovers: FAILOVERS, kubernetesSide: "in-process informer events (API server watch latency excluded)" },
      targets: { staleAtEnd: 0, p99Ms: 250, zkWritesPerChange: 1.1, spuriousDeletes: 0 },
      registrar: { ...registrar, ledgerServices: leftovers.length },
      baselineNaiveLoop: naive,
      cpus: os.cpus().length,
    }, null, 2));
  } finally {
    await zk.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
