/**
 * `npm run bench:registrar:apiserver`: the registrar end to end through a real Kubernetes API server. The
 * driver writes EndpointSlices with server-side apply to the local control plane (tools/cluster: etcd and
 * kube-apiserver built from the Go module proxy), two real registrar daemons (runtime/registrar, one process
 * each, as in their pods) watch them with their informers and elect a leader with the Lease, and an observer
 * process (the discovery watcher a caller uses, tests/bench/registrar-observer.ts) reports its view of
 * ZooKeeper. A change's latency runs from the moment the driver sent the slice's apply request to the moment
 * the observer's view showed it.
 *
 * Same-run baseline: a plain watch on the EndpointSlices in its own process (what any API client sees), timed
 * from the same apply requests. The registrar cannot be faster than that; the difference is its own cost
 * (informer, diff, ZooKeeper write) plus the observer's (watch re-arm, read).
 *
 * Failovers SIGKILL the leader. Unlike `bench:registrar`, which promotes the standby at once, here the
 * standby takes the Lease the way it does in a cluster, after the lease duration (BENCH_LEASE_MS), so the
 * changes made in that window wait for it by design; they are reported apart ("outside failovers" excludes
 * the window from the kill until the new leader has written its first difference and its replacement runs).
 *
 * Prints one JSON object. Env: BENCH_SERVICES (200), BENCH_ENDPOINTS (50), BENCH_CHANGES (5000),
 * BENCH_RATE (changes/s, 200), BENCH_FAILOVERS (3), BENCH_LEASE_MS (3000), BENCH_REPLACEMENT_DELAY_MS (1000).
 */
import { ChildProcess, spawn } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import * as readline from "node:readline";
import { KubeClient, statusMessage } from "../../tools/cluster/kube-client";
import { readKubeconfig } from "../../tools/cluster/kubeconfig";
import { startTestCluster, TestCluster } from "../harness/cluster";
import { freePort } from "../harness/ports";
import { ManagedProcess } from "../harness/process";
import { ZooKeeperServer } from "../harness/zookeeper";
import { trackService } from "../support/registrar/objects";
import { EndpointWorld, loadavg, quantiles, wallMs } from "./registrar-world";

const SERVICES = Number(process.env.BENCH_SERVICES ?? 200);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 50);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 5_000);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const FAILOVERS = Number(process.env.BENCH_FAILOVERS ?? 3);
const LEASE_MS = Number(process.env.BENCH_LEASE_MS ?? 3_000);
const REPLACEMENT_DELAY_MS = Number(process.env.BENCH_REPLACEMENT_DELAY_MS ?? 1_000);
const TICK_MS = 50;
const NS = "registrar-bench";
const PREFIX = "bench";
const ROOT = `/${PREFIX}/services`;
const STATE_ROOT = `/${PREFIX}-registrar/state`;
const LEASE = "registrar-bench";
const REPO = path.resolve(__dirname, "../..");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const [cluster, zk]: [TestCluster, ZooKeeperServer] = await Promise.all([
    startTestCluster(),
    ZooKeeperServer.start({ heap: "768m", fullJit: true, maxSessionTimeout: 60_000 }),
  ]);
  const kube = new KubeClient(readKubeconfig(cluster.kubeconfigPath));
  const daemons = new Map<string, { proc: ManagedProcess; healthPort: number }>();
  let observer: ChildProcess | undefined;
  let watcher: ChildProcess | undefined;
  try {
    const ns = await kube.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    if (ns.status >= 300) throw new Error(statusMessage(ns));
    const apply = async (obj: any) => {
      // Server-side apply of the whole object: no resourceVersion, or a concurrent write would be a conflict.
      obj = { ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } };
      const plural = obj.kind === "Service" ? "services" : "endpointslices";
      const base = obj.kind === "Service" ? `/api/v1/namespaces/${NS}` : `/apis/discovery.k8s.io/v1/namespaces/${NS}`;
      const res = await kube.request(
        "PATCH",
        `${base}/${plural}/${obj.metadata.name}?fieldManager=registrar-bench&force=true`,
        obj,
        "application/apply-patch+yaml",
      );
      if (res.status >= 300) throw new Error(`apply ${obj.kind} ${obj.metadata.name}: ${statusMessage(res)}`);
    };

    // The cluster's initial state, written 16 requests at a time.
    const world = new EndpointWorld(SERVICES, ENDPOINTS, PREFIX, NS);
    const serviceName = (s: number) => world.serviceName(s);
    const podName = (s: number, i: number) => world.podName(s, i);
    const setupStart = performance.now();
    for (let s = 0; s < SERVICES; s += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, SERVICES - s) }, async (_, k) => {
          await apply(trackService(serviceName(s + k), "stable", 100, NS));
          await apply(world.slice(s + k));
        }),
      );
    }
    const setupMs = Math.round(performance.now() - setupStart);

    // The baseline: a plain watch on the slices in its own process, timed from the same apply requests.
    const pendingWatch = new Map<string, { ready: boolean; at: number }>();
    const watchLatencies: number[] = [];
    watcher = spawn(process.execPath, ["--import", "tsx", path.join(REPO, "tests/bench/registrar-watch.ts")], {
      cwd: REPO,
      env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath, BENCH_NAMESPACE: NS },
      stdio: ["pipe", "pipe", "inherit"],
    });
    readline.createInterface({ input: watcher.stdout! }).on("line", (line) => {
      const [, at, pod, ready] = line.split(" ");
      const p = pendingWatch.get(pod);
      if (p && p.ready === (ready === "1")) {
        watchLatencies.push(Number(at) - p.at);
        pendingWatch.delete(pod);
      }
    });

    let seq = 0;
    const startDaemon = async () => {
      const identity = `registrar-${seq++}`;
      const healthPort = await freePort();
      const proc = ManagedProcess.start(identity, process.execPath, ["--import", "tsx", "runtime/registrar/registrar-main.ts"], {
        cwd: REPO,
        env: {
          ...process.env,
          KUBECONFIG: cluster.kubeconfigPath,
          CLASSROOM_REGISTRY_CONNECT: zk.connectString,
          CLASSROOM_REGISTRY_ROOT: ROOT,
          CLASSROOM_REGISTRAR_STATE_ROOT: STATE_ROOT,
          CLASSROOM_REGISTRAR_NAMESPACE: NS,
          CLASSROOM_REGISTRAR_LEASE_NAME: LEASE,
          CLASSROOM_REGISTRAR_LEASE_DURATION_MS: String(LEASE_MS),
          CLASSROOM_REGISTRAR_RENEW_DEADLINE_MS: String(Math.round(LEASE_MS * 0.66)),
          CLASSROOM_REGISTRAR_RETRY_PERIOD_MS: String(Math.max(100, Math.round(LEASE_MS / 6))),
          CLASSROOM_REGISTRAR_HEALTH_PORT: String(healthPort),
          POD_NAME: identity,
          CLASSROOM_LOG_LEVEL: "warn",
        },
      });
      daemons.set(identity, { proc, healthPort });
      return identity;
    };
    const writesOf = async (identity: string): Promise<number> => {
      const d = daemons.get(identity);
      if (!d?.proc.running) return 0;
      const text = await fetch(`http://127.0.0.1:${d.healthPort}/metrics`).then(
        (r) => r.text(),
        () => "",
      );
      return text
        .split("\n")
        .filter((l) => l.startsWith("classroom_registrar_writes_total{") && l.includes('result="ok"'))
        .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
    };
    const holder = async (): Promise<string | undefined> => {
      const res = await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`);
      return res.status === 200 ? res.body.spec?.holderIdentity || undefined : undefined;
    };

    await startDaemon();
    await startDaemon();

    // The observer: one discovery watch per service, reporting every change of its view.
    const pending = new Map<string, { present: boolean; at: number; inFailover: boolean }>();
    const latencies: number[] = [];
    const outside: number[] = [];
    let full!: () => void;
    const fullSeen = new Promise<void>((r) => (full = r));
    let dumpWaiter: ((ids: string[][]) => void) | undefined;
    observer = spawn(process.execPath, ["--import", "tsx", path.join(REPO, "tests/bench/registrar-observer.ts")], {
      cwd: REPO,
      env: {
        ...process.env,
        BENCH_CONNECT: zk.connectString,
        BENCH_ROOT: ROOT,
        BENCH_SERVICES: String(SERVICES),
        BENCH_ENDPOINTS: String(ENDPOINTS),
        BENCH_PREFIX: PREFIX,
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    readline.createInterface({ input: observer.stdout! }).on("line", (line) => {
      if (line.startsWith("c ")) {
        const [, at, sIdx, change] = line.split(" ");
        const key = `${serviceName(Number(sIdx))}/${change.slice(1)}`;
        const p = pending.get(key);
        if (p && p.present === (change[0] === "+")) {
          const ms = Number(at) - p.at;
          latencies.push(ms);
          if (!p.inFailover) outside.push(ms);
          pending.delete(key);
        }
        return;
      }
      const msg = JSON.parse(line);
      if (msg.ev === "full") full();
      if (msg.ev === "dump") dumpWaiter?.(msg.ids);
    });
    const syncStart = performance.now();
    await fullSeen;
    const initialSyncMs = Math.round(performance.now() - syncStart);
    observer.stdin!.write(`${JSON.stringify({ op: "measure" })}\n`);

    const leaderAtStart = await holder();
    const writesBefore = (await Promise.all([...daemons.keys()].map(writesOf))).reduce((a, b) => a + b, 0);
    let retiredWrites = 0;
    const loadStart = loadavg();

    // Failovers: SIGKILL the Lease holder; the window lasts until the standby holds the Lease, has had time
    // to write its first differences, and its own replacement runs.
    let inFailover = 0;
    const failoverMs: number[] = [];
    const failover = async () => {
      inFailover++;
      const old = await holder();
      if (!old || !daemons.has(old)) throw new Error(`no live Lease holder to kill (holder: ${old})`);
      retiredWrites += await writesOf(old);
      const began = wallMs();
      await daemons.get(old)!.proc.kill();
      for (;;) {
        const h = await holder();
        if (h && h !== old) break;
        await sleep(50);
      }
      failoverMs.push(Math.round(wallMs() - began));
      await sleep(REPLACEMENT_DELAY_MS);
      await startDaemon();
      inFailover--;
    };
    const failoverAt = new Set(Array.from({ length: FAILOVERS }, (_, k) => Math.floor(((k + 1) * CHANGES) / (FAILOVERS + 1))));
    const failovers: Array<Promise<void>> = [];

    // The stream: readiness flips at RATE per second; one apply per touched service and tick, applies of one
    // service in order (a later state never overtaken by an earlier one).
    const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
    const chains = new Map<number, Promise<void>>();
    let done = 0;
    const started = performance.now();
    while (done < CHANGES) {
      const tickStart = performance.now();
      const touched = new Set<number>();
      for (let k = 0; k < perTick && done < CHANGES; k++, done++) {
        const s = Math.floor(Math.random() * SERVICES);
        const i = Math.floor(Math.random() * ENDPOINTS);
        world.ready[s][i] = !world.ready[s][i];
        touched.add(s);
        if (failoverAt.has(done)) failovers.push((failovers[failovers.length - 1] ?? Promise.resolve()).then(failover));
      }
      for (const s of touched) {
        const body = world.slice(s);
        const flipped = [...world.ready[s]];
        const prev = chains.get(s) ?? Promise.resolve();
        chains.set(
          s,
          prev.then(async () => {
            const at = wallMs();
            const applied = latestApplied[s] ?? flipped.map(() => true);
            const now = [...flipped];
            // Only endpoints whose state this apply changes are timed (the others are already in place).
            now.forEach((ready, i) => {
              if (applied[i] === ready) return;
              pending.set(`${serviceName(s)}/${podName(s, i)}`, { present: ready, at, inFailover: inFailover > 0 });
              pendingWatch.set(podName(s, i), { ready, at });
            });
            latestApplied[s] = now;
            await apply(body);
          }),
        );
      }
      const wait = TICK_MS - (performance.now() - tickStart);
      if (wait > 0) await sleep(wait);
    }
    await Promise.all(chains.values());
    const streamMs = Math.round(performance.now() - started);
    await Promise.all(failovers);

    // Converge, then count what is stale.
    const dump = () =>
      new Promise<string[][]>((resolve) => {
        dumpWaiter = resolve;
        observer!.stdin!.write(`${JSON.stringify({ op: "dump" })}\n`);
      });
    const staleCount = async () => {
      const ids = await dump();
      let stale = 0;
      for (let s = 0; s < SERVICES; s++) {
        const want = new Set(
          world
            .endpoints(s)
            .filter((e) => e.ready)
            .map((e) => e.pod),
        );
        const have = new Set(ids[s]);
        for (const id of want) if (!have.has(id)) stale++;
        for (const id of have) if (!want.has(id)) stale++;
      }
      return stale;
    };
    const deadline = Date.now() + 60_000;
    let stale = await staleCount();
    while (stale > 0 && Date.now() < deadline) {
      await sleep(250);
      stale = await staleCount();
    }
    const writes = retiredWrites + (await Promise.all([...daemons.keys()].map(writesOf))).reduce((a, b) => a + b, 0) - writesBefore;

    console.log(
      JSON.stringify(
        {
          bench: "registrar-apiserver",
          workload: {
            services: SERVICES,
            endpointsPerService: ENDPOINTS,
            changes: CHANGES,
            ratePerSecond: RATE,
            failovers: FAILOVERS,
            leaseMs: LEASE_MS,
            path: "server-side apply of EndpointSlices to a real kube-apiserver -> registrar daemons' informers -> ZooKeeper -> discovery watcher",
          },
          targets: { staleAtEnd: 0, p99Ms: 250, zkWritesPerChange: 1.1 },
          registrar: {
            staleAtEnd: stale,
            latencyMs: { ...quantiles(latencies), unmatched: pending.size },
            latencyOutsideFailoversMs: quantiles(outside),
            failoverMs,
            zkWritesPerChange: Math.round((writes / CHANGES) * 1000) / 1000,
            leaderAtStart,
          },
          baselineApiServerWatch: { latencyMs: { ...quantiles(watchLatencies), unmatched: pendingWatch.size } },
          setupMs,
          initialSyncMs,
          streamMs,
          loadavg: { start: loadStart, end: loadavg() },
          cpus: os.cpus().length,
        },
        null,
        2,
      ),
    );
  } finally {
    watcher?.stdin?.end();
    observer?.stdin?.end();
    await Promise.all([...daemons.values()].map((d) => d.proc.stop()));
    kube.close();
    await Promise.all([cluster.stop(), zk.destroy()]);
  }
}

/** Per service, the ready flags of the last apply that went through (what the cluster holds). */
const latestApplied: boolean[][] = [];

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
