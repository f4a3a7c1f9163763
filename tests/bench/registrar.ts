/**
 * `npm run bench:registrar`: 200 services x 50 endpoints and a stream of 10,000 endpoint changes (readiness
 * flips), mirrored into a real ZooKeeper by the registrar, with three leader failovers during the stream,
 * and, in the same run on a fresh tree, by the naive loop the registrar replaces (every second: list every
 * endpoint, rewrite every node). Rounds alternate which side goes first (BENCH_ROUNDS, default 1).
 *
 * Every part runs in its own process, as in production: this driver (the cluster's state and the stream),
 * two registrar replicas (tests/bench/registrar-replica.ts) and one observer, the discovery watcher a
 * caller uses (tests/bench/registrar-observer.ts). The observer timestamps every change of its view with
 * the wall clock, and a change's latency is from the moment the driver handed its EndpointSlice to the
 * replicas to the moment the observer's view showed it. A failover SIGKILLs the leader (it prints its
 * counters first) and tells the standby to lead at once, which is what the Lease does after its duration:
 * the takeover itself (fence, listing the ledger, diff) is measured, the Lease wait, a setting, is not.
 * Latencies are reported overall and for the changes outside the failovers (from the kill until the
 * replacement standby is up: on one machine its start competes for the CPU, on separate nodes it would not).
 *
 * The Kubernetes side is fed as the informers would deliver it (one JSON line per EndpointSlice update, to
 * each replica): the API server's watch latency is not included; see runtime/registrar/README.md for why
 * and for the end-to-end test through a real API server (tests/e2e/registrar-cluster.test.ts).
 *
 * Prints one JSON object: per side, stale nodes at the end, latency percentiles, ZooKeeper writes per
 * endpoint change, spurious deletes (the watcher lost a node of a ready endpoint and got it back written
 * anew; `watcherGaps` counts the same node coming back unchanged, a gap in the watcher's view only), the
 * takeover times, the reconciler's counters, each process's event-loop delay (where a tail comes from), and
 * the load average at start and end (the machine is shared: numbers are only comparable within a run).
 * The replacement standby starts BENCH_REPLACEMENT_DELAY_MS (1000) after the new leader leads: in a cluster it
 * starts on another node, and on this machine its start would take the new leader's CPU (0: at once, as before).
 * Env: BENCH_SERVICES (200), BENCH_ENDPOINTS (50), BENCH_CHANGES (10000), BENCH_RATE (changes/s, 500),
 * BENCH_FAILOVERS (3), BENCH_ROUNDS (1), BENCH_PROFILE_DIR (a CPU profile per child process), BENCH_SAMPLES_DIR (every latency sample, to see when the slow ones happen), BENCH_BASELINE (1; 0 skips the naive loop, for quick looks at the
 * registrar alone: the naive loop rewrites all 10,000 nodes every pass and takes minutes on a loaded machine).
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import * as readline from "node:readline";
import { ZooKeeperServer, closeRawClient, connectRawClient, zkCall } from "../harness/zookeeper";
import { trackService } from "../support/registrar/objects";
import { EndpointWorld, loadavg, quantiles, wallMs } from "./registrar-world";
import { EventLoopProbe } from "./event-loop";

const SERVICES = Number(process.env.BENCH_SERVICES ?? 200);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 50);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 10_000);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const FAILOVERS = Number(process.env.BENCH_FAILOVERS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const TICK_MS = 50;
const REPLACEMENT_DELAY_MS = Number(process.env.BENCH_REPLACEMENT_DELAY_MS ?? 1000);
const REPO = path.resolve(__dirname, "../..");
const PREFIX = "bench";

const serviceName = (s: number) => `${PREFIX}-${String(s).padStart(3, "0")}-rpc`;

/** A child process speaking JSON lines (and, for the observer, `c ...` change lines). */
class Child {
  private readonly waiters: Array<{ ev: string; resolve: (msg: any) => void }> = [];
  exited = false;
  private stderr = "";

  constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
    onChange?: (line: string) => void,
  ) {
    readline.createInterface({ input: proc.stdout! }).on("line", (line) => {
      if (line.startsWith("c ")) return onChange?.(line);
      const msg = JSON.parse(line);
      const i = this.waiters.findIndex((w) => w.ev === msg.ev);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(msg);
    });
    proc.stderr!.on("data", (d) => {
      this.stderr = (this.stderr + String(d)).slice(-4000);
    });
    // A replica that SIGKILLed itself is written to until its exit is noticed: that write fails, harmlessly.
    proc.stdin!.on("error", () => undefined);
    proc.once("exit", (code, signal) => {
      this.exited = true;
      if (signal !== "SIGKILL" && code !== 0) console.error(`${name} exited (${code ?? signal}): ${this.stderr}`);
      for (const w of this.waiters.splice(0)) w.resolve({ ev: "exited", code, signal, stderr: this.stderr });
    });
  }

  static spawn(name: string, script: string, env: Record<string, string>, onChange?: (line: string) => void): Child {
    // BENCH_PROFILE_DIR: each child that exits normally writes a CPU profile there (where a tail comes from).
    const profile = process.env.BENCH_PROFILE_DIR
      ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`]
      : [];
    const proc = spawn(process.execPath, [...profile, "--import", "tsx", path.join(REPO, script)], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    return new Child(name, proc, onChange);
  }

  send(msg: object): void {
    if (!this.exited) this.proc.stdin!.write(`${JSON.stringify(msg)}\n`);
  }

  /** The next message of kind `ev` (registered before `send`, so a quick answer is not missed). */
  next(ev: string, timeoutMs = 300_000): Promise<any> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no '${ev}' within ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      this.waiters.push({
        ev,
        resolve: (msg) => {
          clearTimeout(timer);
          if (msg.ev === "exited") reject(new Error(`${this.name} exited (${msg.code ?? msg.signal}) waiting for '${ev}': ${msg.stderr}`));
          else resolve(msg);
        },
      });
    });
  }

  async ask(msg: object, ev: string): Promise<any> {
    const reply = this.next(ev);
    this.send(msg);
    return reply;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.proc.once("exit", r));
    this.proc.stdin!.end();
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(timer);
  }
}

type Mode = "registrar" | "naive";

async function run(mode: Mode, zk: ZooKeeperServer, tree: string) {
  const root = `/${tree}/services`;
  const stateRoot = `/${tree}/state`;
  const world = new EndpointWorld(SERVICES, ENDPOINTS, PREFIX);
  const pending = new Map<string, { present: boolean; at: number; inTakeover: boolean }>();
  const latencies: number[] = [];
  const outsideTakeover: number[] = [];
  // BENCH_SAMPLES_DIR: every latency sample as `<ms since start> <latency ms> <+|-> <service>`, one file per side.
  const samples: string[] | undefined = process.env.BENCH_SAMPLES_DIR ? [] : undefined;
  const t0 = wallMs();
  let spuriousDeletes = 0;
  let watcherGaps = 0;
  const spuriousDetail: object[] = [];
  const lastFlip = new Map<string, number>();
  const suspects = new Map<string, string>();
  let takingOver = 0;

  const observer = Child.spawn(
    "observer",
    "tests/bench/registrar-observer.ts",
    { BENCH_CONNECT: zk.connectString, BENCH_ROOT: root, BENCH_SERVICES: String(SERVICES), BENCH_ENDPOINTS: String(ENDPOINTS), BENCH_PREFIX: PREFIX },
    (line) => {
      const [, at, sIdx, change, registeredAt] = line.split(" ");
      const s = Number(sIdx);
      const present = change[0] === "+";
      const id = change.slice(1);
      const key = `${serviceName(s)}/${id}`;
      const p = pending.get(key);
      if (!present) {
        const idx = Number(id.slice(id.lastIndexOf("-") + 1));
        if (world.ready[s][idx] && !p) {
          spuriousDeletes++;
          suspects.set(key, registeredAt);
          // What it takes to tell a registrar bug from a bench artefact: when, how long after the last flip, which write.
          if (spuriousDetail.length < 10)
            spuriousDetail.push({
              key,
              atMs: Math.round(Number(at) - t0),
              lastFlipAgoMs: Math.round(Number(at) - (lastFlip.get(key) ?? t0)),
              removedRegisteredAt: registeredAt,
              duringFailover: takingOver > 0,
            });
        }
      } else if (suspects.has(key)) {
        // The same node back (same write time): ZooKeeper never lost it, the watcher's view did.
        if (suspects.get(key) === registeredAt) {
          spuriousDeletes--;
          watcherGaps++;
        }
        suspects.delete(key);
      }
      if (p && p.present === present) {
        const ms = Number(at) - p.at;
        latencies.push(ms);
        samples?.push(`${Math.round(p.at - t0)} ${ms.toFixed(1)} ${present ? "+" : "-"} ${s}`);
        if (!p.inTakeover) outsideTakeover.push(ms);
        pending.delete(key);
      }
    },
  );

  let seq = 0;
  const retired: any[] = [];
  const startReplica = () => {
    const r = Child.spawn(`${mode}-${seq++}`, "tests/bench/registrar-replica.ts", {
      BENCH_CONNECT: zk.connectString,
      BENCH_ROOT: root,
      BENCH_STATE_ROOT: stateRoot,
      BENCH_REPLICA_MODE: mode,
    });
    // What the informers' initial list delivers.
    for (let s = 0; s < SERVICES; s++) {
      r.send({ op: "service", obj: trackService(serviceName(s), "stable", 100) });
      r.send({ op: "slice", obj: world.slice(s) });
    }
    return r;
  };
  let leader = startReplica();
  let standby = mode === "registrar" ? startReplica() : undefined;
  await leader.next("ready");
  await leader.ask({ op: "lead", identity: `${mode}-leader-0` }, "leading");
  await observer.next("full", 300_000);

  const driverLoop = new EventLoopProbe();
  observer.send({ op: "measure" });
  // Writes are counted from here: the initial 10,000 creates are not part of the stream.
  const writesBefore = (await leader.ask({ op: "reset" }, "stats")).writes + (standby ? (await standby.ask({ op: "reset" }, "stats")).writes : 0);
  const loadStart = loadavg();

  // The stream: readiness flips at RATE per second, in ticks; failovers spread over it.
  const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
  const failoverAt = new Set(mode === "registrar" ? Array.from({ length: FAILOVERS }, (_, k) => Math.floor(((k + 1) * CHANGES) / (FAILOVERS + 1))) : []);
  const takeoverMs: number[] = [];
  const failover = async (n: number) => {
    takingOver++;
    const began = wallMs();
    // SIGKILL of the leader (its counters printed first); the standby leads at once; a new standby
    // starts with the current state, as the restarted pod's informers would list it.
    retired.push(await leader.ask({ op: "die" }, "stats"));
    leader = standby!;
    standby = undefined;
    await leader.ask({ op: "lead", identity: `${mode}-leader-${n}` }, "leading");
    takeoverMs.push(Math.round(wallMs() - began));
    // The replacement pod starts on another node in a cluster; here its start (loading Node, compiling,
    // parsing 10,000 endpoints) would take this machine's 2 cores from the new leader while it catches up.
    // So it starts once the leader has had REPLACEMENT_DELAY_MS to take over, and the window ends when it is up.
    await new Promise((r) => setTimeout(r, REPLACEMENT_DELAY_MS));
    standby = startReplica();
    await standby.next("ready");
    takingOver--;
  };
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
      const key = `${serviceName(s)}/${serviceName(s)}-stable-${i}`;
      pending.set(key, { present: world.ready[s][i], at: wallMs(), inTakeover: takingOver > 0 });
      lastFlip.set(key, wallMs());
      touched.add(s);
      // One failover at a time: the next waits until the previous one's replacement standby is up.
      if (failoverAt.has(done)) {
        const n = failovers.length + 1;
        failovers.push((failovers[failovers.length - 1] ?? Promise.resolve()).then(() => failover(n)));
      }
    }
    for (const s of touched) {
      const line = { op: "slice", obj: world.slice(s) };
      leader.send(line);
      standby?.send(line);
    }
    const wait = TICK_MS - (performance.now() - tickStart);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const streamMs = performance.now() - started;
  await Promise.all(failovers);

  // Converge, then count what is stale: nodes that differ from the ready endpoints.
  const staleNow = async () => {
    const { ids } = await observer.ask({ op: "dump" }, "dump");
    staleKeys = [];
    for (let s = 0; s < SERVICES; s++) {
      const want = new Set(
        world
          .endpoints(s)
          .filter((e) => e.ready)
          .map((e) => e.pod),
      );
      const have = new Set<string>(ids[s]);
      for (const id of want) if (!have.has(id)) staleKeys.push(`${serviceName(s)}/${id} missing`);
      for (const id of have) if (!want.has(id)) staleKeys.push(`${serviceName(s)}/${id} extra`);
    }
    return staleKeys.length;
  };
  let staleKeys: string[] = [];
  const quietDeadline = Date.now() + 60_000;
  let stale = await staleNow();
  while (stale > 0 && Date.now() < quietDeadline) {
    await new Promise((r) => setTimeout(r, 250));
    stale = await staleNow();
  }
  const settleMs = performance.now() - started - streamMs;
  // Stale in the observer's view: is it ZooKeeper that is stale, or the watcher?
  const staleDetail = await Promise.all(
    staleKeys.slice(0, 5).map(async (key) => {
      const raw = await connectRawClient(zk.connectString);
      const [service, id] = key.split(" ")[0].split("/");
      const inZk = await zkCall<unknown>((cb) => raw.exists(`${root}/${service}/${id}`, cb));
      await closeRawClient(raw);
      return `${key} in the watcher; ${inZk ? "present" : "absent"} in ZooKeeper`;
    }),
  );
  const live = [await leader.ask({ op: "stats" }, "stats"), ...(standby ? [await standby.ask({ op: "stats" }, "stats")] : [])];
  const observerStats = await observer.ask({ op: "stats" }, "stats");
  const loadEnd = loadavg();
  const writes = [...retired, ...live].reduce((n, r) => n + r.writes, 0) - writesBefore;
  await Promise.all([leader.close(), standby?.close(), observer.close()]);

  if (samples) fs.writeFileSync(path.join(process.env.BENCH_SAMPLES_DIR!, `${tree}.txt`), `${samples.join("\n")}\n`);
  return {
    staleAtEnd: stale,
    ...(stale > 0 ? { staleDetail } : {}),
    latencyMs: { ...quantiles(latencies), unmatched: pending.size },
    latencyOutsideFailoversMs: quantiles(outsideTakeover),
    takeoverMs,
    zkWritesPerChange: Math.round((writes / CHANGES) * 1000) / 1000,
    zkWrites: writes,
    spuriousDeletes,
    watcherGaps,
    ...(spuriousDetail.length ? { spuriousDetail } : {}),
    streamMs: Math.round(streamMs),
    settleMs: Math.round(settleMs),
    eventLoopDelayMs: {
      driver: driverLoop.summary(),
      observer: observerStats.eventLoop,
      leaders: [...retired, live[0]].map((r) => r.eventLoop),
    },
    ...(mode === "registrar" ? { reconciler: live[0].reconciler } : {}),
    loadavg: { start: loadStart, end: loadEnd },
  };
}

async function main(): Promise<void> {
  const zk = await ZooKeeperServer.start({ heap: "768m", fullJit: true, maxSessionTimeout: 60_000 });
  try {
    const rounds: Array<Record<string, unknown>> = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order: Mode[] = process.env.BENCH_BASELINE === "0" ? ["registrar"] : r % 2 === 0 ? ["registrar", "naive"] : ["naive", "registrar"];
      const results: Record<string, unknown> = { order };
      for (const mode of order) results[mode === "naive" ? "baselineNaiveLoop" : "registrar"] = await run(mode, zk, `bench-${r}-${mode}`);
      rounds.push(results);
    }
    const raw = await connectRawClient(zk.connectString);
    const leftovers = await zkCall<string[]>((cb) => raw.getChildren("/bench-0-registrar/state/owned", cb));
    await closeRawClient(raw);
    console.log(
      JSON.stringify(
        {
          bench: "registrar",
          workload: {
            services: SERVICES,
            endpointsPerService: ENDPOINTS,
            changes: CHANGES,
            ratePerSecond: RATE,
            failovers: FAILOVERS,
            processes: "driver, 2 registrar replicas and 1 discovery-watcher observer, each its own Node process",
            kubernetesSide: "EndpointSlice updates fed to the replicas as informer events (API server watch latency excluded)",
          },
          targets: { staleAtEnd: 0, p99Ms: 250, zkWritesPerChange: 1.1, spuriousDeletes: 0 },
          rounds,
          ledgerServicesRound0: leftovers.length,
          cpus: os.cpus().length,
        },
        null,
        2,
      ),
    );
  } finally {
    await zk.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
