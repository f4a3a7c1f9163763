/**
 * `npm run bench:discovery`: the discovery runtime's watcher and its anchor, Apache Curator's
 * CuratorCache (tests/bench/curator/), watch the same churn in the same window; one JSON object out.
 *
 * Both observers run as child processes and report every change of their instance list with a wall
 * clock timestamp and a fingerprint of the list (tests/bench/discovery-view.ts); this process drives
 * the churn from other sessions and, for each burst, takes the first report that matches ZooKeeper's
 * truth, counted from the moment ZooKeeper acknowledged the burst's last change (0 if it was there
 * before). BENCH_ROUNDS rounds (3) of BENCH_BURSTS bursts (300) of BENCH_BURST_SIZE changes (20); each
 * round opens fresh sessions with the start order rotated, so neither side is always first in
 * ZooKeeper's watch tables. BENCH_WARMUP_BURSTS (30) run uncounted before the first round (JIT).
 * BENCH_SPREAD_MS (0) spreads each burst's changes over that many ms.
 *
 * Then, for BENCH_LEGACY_BURSTS bursts (150; 0 skips it), a port of the old list-then-read-then-watch
 * loop runs here beside them: almost every burst leaves it stale, and each stale burst costs the full
 * 1.5 s wait.
 *
 * The Curator jars are fetched into the cache on first run (tests/bench/curator/fetch.sh, Maven) and the
 * observer is compiled there with javac, keyed by its source: nothing is generated in the repository.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import * as readline from "node:readline";
import * as zookeeper from "node-zookeeper-client";
import { Instance, decodeNodeData } from "../../runtime/discovery";
import { InstanceChurn, ZooKeeperServer, closeRawClient, connectRawClient } from "../harness/zookeeper";
import { viewCrc } from "./discovery-view";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BURSTS = Number(process.env.BENCH_BURSTS ?? 300);
const BURST_SIZE = Number(process.env.BENCH_BURST_SIZE ?? 20);
const WARMUP_BURSTS = Number(process.env.BENCH_WARMUP_BURSTS ?? 30);
/** 0 = every change of a burst in flight at once; >0 = each change starts at a random delay up to this. */
const SPREAD_MS = Number(process.env.BENCH_SPREAD_MS ?? 0);
const LEGACY_BURSTS = Number(process.env.BENCH_LEGACY_BURSTS ?? 150);
const POPULATION = 30;
const STALE_AFTER_MS = 1_500;
const SERVICE = "bench-rpc";
const SERVICE_PATH = `/classroom/services/${SERVICE}`;
const REPO = path.resolve(__dirname, "../..");

const wallMs = () => performance.timeOrigin + performance.now();

/** Something whose view of the service is reported as timestamped fingerprints. */
interface Observer {
  readonly name: string;
  /** Fingerprints reported since the current burst began. */
  reports: Array<{ atMs: number; crc: string }>;
  onReport?: () => void;
}

/** One observer process speaking the line protocol of discovery-observer.ts / CuratorCacheObserver.java. */
class ObserverProcess implements Observer {
  reports: Array<{ atMs: number; crc: string }> = [];
  onReport?: () => void;
  private waiting: { prefix: string; resolve: (rest: string) => void } | undefined;
  private stderr = "";

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    readline.createInterface({ input: child.stdout! }).on("line", (line) => this.line(line));
    child.stderr!.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4_000);
    });
    child.once("exit", (code) => {
      if (this.waiting) this.fail(`exited with ${code}`);
    });
  }

  private failure: ((err: Error) => void) | undefined;
  private fail(why: string): void {
    this.failure?.(new Error(`${this.name} observer ${why}\n${this.stderr}`));
  }

  private line(line: string): void {
    const [kind, ...rest] = line.split(" ");
    if (kind === "view") {
      this.reports.push({ atMs: Number(rest[0]) / 1000, crc: rest[1] });
      this.onReport?.();
      return;
    }
    if (this.waiting && kind === this.waiting.prefix) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve(rest.join(" "));
    }
  }

  private ask(command: string, reply: string, timeoutMs = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(`did not answer '${command}' within ${timeoutMs} ms`), timeoutMs);
      this.failure = (err) => {
        clearTimeout(timer);
        this.waiting = undefined;
        reject(err);
      };
      this.waiting = {
        prefix: reply,
        resolve: (rest) => {
          clearTimeout(timer);
          resolve(rest);
        },
      };
      this.child.stdin!.write(`${command}\n`);
    });
  }

  /** Opens a new session and watch; resolves once the observer has its first full view. */
  async start(): Promise<void> {
    await this.ask("start", "ready");
  }

  async stats(): Promise<{ reads: number; detail: unknown }> {
    const rest = await this.ask("stats", "stats");
    const space = rest.indexOf(" ");
    return { reads: Number(rest.slice(0, space)), detail: JSON.parse(rest.slice(space + 1)) };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.stdin!.write("stop\n");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The Curator jars (fetched once into the cache) plus the observer compiled against them. */
function curatorClasspath(): string {
  const fetched = execFileSync("bash", [path.join(REPO, "tests/bench/curator/fetch.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const jars = fetched.trim().split("\n").pop()!;
  const source = path.join(REPO, "tests/bench/curator/CuratorCacheObserver.java");
  const digest = createHash("sha256").update(fs.readFileSync(source)).digest("hex").slice(0, 16);
  const classes = path.join(path.dirname(jars), `observer-${digest}`);
  if (!fs.existsSync(classes)) {
    const tmp = fs.mkdtempSync(`${classes}.tmp-`);
    execFileSync("javac", ["-nowarn", "-cp", `${jars}/*`, "-d", tmp, source], { stdio: "inherit" });
    fs.renameSync(tmp, classes);
  }
  return `${classes}:${jars}/*`;
}

function spawnCurator(connect: string, classpath: string): ObserverProcess {
  // The JVM as the anchor runs it in production: server compiler, a modest heap.
  const child = spawn(
    "java",
    ["-Xmx256m", "-XX:+UseSerialGC", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", classpath, "CuratorCacheObserver", connect, SERVICE_PATH],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  return new ObserverProcess("curatorCache", child);
}

function spawnWatcher(connect: string): ObserverProcess {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO, "tests/bench/discovery-observer.ts"), connect, SERVICE], {
    cwd: REPO,
    stdio: ["pipe", "pipe", "pipe"],
  });
  return new ObserverProcess("watcher", child);
}

/**
 * The loop the migration shipped, ported as it was: list the children, read every child, publish,
 * then set a one-shot children watch in a SEPARATE call whose result is ignored. Whatever changes
 * between the listing and that call is not seen until some later change fires the watch. Every event
 * re-reads every child. (Child reads run in parallel, which shortens the blind window: generous to it.)
 */
class LegacyListThenWatchLoop implements Observer {
  readonly name = "legacyLoop";
  reports: Array<{ atMs: number; crc: string }> = [];
  onReport?: () => void;
  reads = 0;
  private stopped = false;

  constructor(
    private readonly client: zookeeper.Client,
    private readonly path: string,
  ) {}

  start(): void {
    void this.loop();
  }
  stop(): void {
    this.stopped = true;
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    try {
      const children = await this.call<string[]>((cb) => this.client.getChildren(this.path, cb));
      const read = await Promise.all(
        children.map((id) =>
          this.call<Buffer>((cb) => this.client.getData(`${this.path}/${id}`, cb)).then(
            (data) => decodeNodeData(id, data),
            () => undefined,
          ),
        ),
      );
      const instances = read.filter((i): i is Instance => i !== undefined && !("error" in i));
      this.reports.push({ atMs: wallMs(), crc: viewCrc(instances) });
      this.onReport?.();
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

/** Convergence of each observer over a series of bursts. */
class Tally {
  latencies: number[] = [];
  stale = 0;
  bursts = 0;

  summary(reads: number, changes: number) {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      bursts: this.bursts,
      staleBursts: this.stale,
      convergenceMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: percentile(sorted, 100) },
      zookeeperReads: reads,
      readsPerChange: Math.round((reads / changes) * 1000) / 1000,
    };
  }
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] * 100) / 100;
}

const load = () => os.loadavg().map((l) => Math.round(l * 100) / 100);

/**
 * Runs `count` bursts watched by `observers`; returns how many changes were made. Each burst waits
 * until every observer reported the truth, or STALE_AFTER_MS after the acknowledgement.
 */
async function runBursts(churn: InstanceChurn, observers: Observer[], tallies: Map<Observer, Tally> | undefined, count: number): Promise<number> {
  let changes = 0;
  for (let burst = 0; burst < count; burst++) {
    for (const o of observers) o.reports = [];
    const made = await churn.burst(BURST_SIZE, SPREAD_MS);
    const ackMs = wallMs();
    changes += made;
    const truth = viewCrc([...churn.truth].map(([id, t]) => ({ id, ...t })));
    const convergedAt = new Map<Observer, number>();
    await new Promise<void>((resolve) => {
      const check = () => {
        for (const o of observers) {
          if (convergedAt.has(o)) continue;
          const hit = o.reports.find((r) => r.crc === truth);
          if (hit) convergedAt.set(o, hit.atMs);
        }
        if (convergedAt.size === observers.length) done();
      };
      const timer = setTimeout(() => done(), STALE_AFTER_MS);
      const done = () => {
        clearTimeout(timer);
        for (const o of observers) o.onReport = undefined;
        resolve();
      };
      for (const o of observers) o.onReport = check;
      check();
    });
    if (!tallies) continue;
    for (const o of observers) {
      const t = tallies.get(o)!;
      t.bursts++;
      const at = convergedAt.get(o);
      if (at === undefined) t.stale++;
      else t.latencies.push(Math.max(0, at - ackMs));
    }
  }
  return changes;
}

async function main(): Promise<void> {
  const classpath = curatorClasspath();
  const loadAtStart = load();
  const zk = await ZooKeeperServer.start({ heap: "512m", fullJit: true });
  const churn = await InstanceChurn.start(zk.connectString, SERVICE_PATH, { sessions: 4, population: POPULATION, seed: 1, dataUpdates: false });
  const watcher = spawnWatcher(zk.connectString);
  const curator = spawnCurator(zk.connectString, classpath);
  const processes = [watcher, curator];
  let legacyClient: zookeeper.Client | undefined;
  try {
    const started = performance.now();
    const rounds = [];
    const pooled = new Map<Observer, Tally>(processes.map((o) => [o, new Tally()]));
    const pooledReads = new Map<Observer, number>(processes.map((o) => [o, 0]));
    let pooledChanges = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const order = processes.map((_, i) => processes[(i + round) % processes.length]);
      for (const o of order) await o.start();
      if (round === 0 && WARMUP_BURSTS > 0) await runBursts(churn, processes, undefined, WARMUP_BURSTS);
      const before = await Promise.all(processes.map((o) => o.stats()));
      const tallies = new Map<Observer, Tally>(processes.map((o) => [o, new Tally()]));
      const roundLoad = load();
      const changes = await runBursts(churn, processes, tallies, BURSTS);
      const after = await Promise.all(processes.map((o) => o.stats()));
      pooledChanges += changes;
      const result: Record<string, unknown> = { startOrder: order.map((o) => o.name), changes, loadAverageAtStart: roundLoad };
      processes.forEach((o, i) => {
        const reads = after[i].reads - before[i].reads;
        pooledReads.set(o, pooledReads.get(o)! + reads);
        const t = tallies.get(o)!;
        const p = pooled.get(o)!;
        p.latencies.push(...t.latencies);
        p.stale += t.stale;
        p.bursts += t.bursts;
        result[o.name] = { ...t.summary(reads, changes), detail: after[i].detail };
      });
      rounds.push(result);
    }

    let legacy: Record<string, unknown> | undefined;
    if (LEGACY_BURSTS > 0) {
      legacyClient = await connectRawClient(zk.connectString);
      const loop = new LegacyListThenWatchLoop(legacyClient, SERVICE_PATH);
      loop.start();
      await new Promise((r) => setTimeout(r, 200));
      const observers: Observer[] = [...processes, loop];
      const tallies = new Map<Observer, Tally>(observers.map((o) => [o, new Tally()]));
      const before = await Promise.all(processes.map((o) => o.stats()));
      const loopReadsBefore = loop.reads;
      const changes = await runBursts(churn, observers, tallies, LEGACY_BURSTS);
      const after = await Promise.all(processes.map((o) => o.stats()));
      loop.stop();
      legacy = {
        changes,
        legacyLoop: tallies.get(loop)!.summary(loop.reads - loopReadsBefore, changes),
        ...Object.fromEntries(processes.map((o, i) => [o.name, tallies.get(o)!.summary(after[i].reads - before[i].reads, changes)])),
      };
    }

    const watcherAll = pooled.get(watcher)!.summary(pooledReads.get(watcher)!, pooledChanges);
    const curatorAll = pooled.get(curator)!.summary(pooledReads.get(curator)!, pooledChanges);
    console.log(
      JSON.stringify(
        {
          workload: {
            rounds: ROUNDS,
            burstsPerRound: BURSTS,
            changesPerBurst: BURST_SIZE,
            warmupBursts: WARMUP_BURSTS,
            population: POPULATION,
            driverSessions: 4,
            spreadMs: SPREAD_MS,
            mix: "register, deregister, and deregister+re-register of the same pod name; no data-only updates (the old loop never watched data)",
            convergence: "first report of each observer equal to ZooKeeper's truth, from the acknowledgement of the burst's last change (0 if before)",
            staleMeans: `not equal to ZooKeeper's truth ${STALE_AFTER_MS} ms after the burst's last acknowledgement`,
            anchor: "Apache Curator 5.9.0 CuratorCache (persistent recursive watch) in its own JVM, beside the watcher in its own Node process",
            elapsedSeconds: Math.round((performance.now() - started) / 100) / 10,
            loadAverage: { atStart: loadAtStart, atEnd: load(), cpus: os.cpus().length },
          },
          rounds,
          allRounds: {
            watcher: watcherAll,
            curatorCache: curatorAll,
            p99RatioToCurator:
              watcherAll.convergenceMs.p99 !== null && curatorAll.convergenceMs.p99
                ? Math.round((watcherAll.convergenceMs.p99 / curatorAll.convergenceMs.p99) * 100) / 100
                : null,
          },
          ...(legacy ? { legacyPhase: legacy } : {}),
          targets: { staleBursts: 0, p99: "at or below curatorCache's in the same run", readsPerChange: 0.7 },
        },
        null,
        2,
      ),
    );
  } finally {
    await Promise.all(processes.map((o) => o.stop().catch(() => undefined)));
    await churn.close();
    if (legacyClient) await closeRawClient(legacyClient);
    await zk.destroy();
  }
}

main().catch((err) => {
  console.error(`bench:discovery failed: ${(err as Error).message}`);
  process.exit(1);
});
