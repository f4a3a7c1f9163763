import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as zookeeper from "node-zookeeper-client";
import { freePort } from "./ports";
import { ManagedProcess } from "./process";

export interface ZooKeeperServerOptions {
  /** Reuse this data dir (restart on the same snapshots and log). Default: a fresh temp dir. */
  dir?: string;
  /** Reuse this client port. Default: a free loopback port. */
  port?: number;
  /** ZooKeeper tick in ms; session timeouts are clamped to [2, 20] ticks unless set below. Default 500. */
  tickTime?: number;
  /** Smallest session timeout the server grants, ms. Default 1000. */
  minSessionTimeout?: number;
  /** Largest session timeout the server grants, ms. Default 60000. */
  maxSessionTimeout?: number;
  /** Max heap of the JVM. Default "256m". */
  heap?: string;
  /** Full JIT (C2) as in production; the default C1-only JIT starts faster, which suits short tests. Default false. */
  fullJit?: boolean;
  /**
   * Turn on the Prometheus metrics provider the platform's zoo.cfg turns on, on a free loopback port
   * (`metricsPort`). Its jars are not in Debian's package: tools/provision/32-zookeeper-metrics.sh. Default false.
   */
  metrics?: boolean;
}

/** One member of a test ensemble: its ports and data dir (with myid). */
interface Member {
  id: number;
  clientPort: number;
  peerPort: number;
  electionPort: number;
  dir: string;
  metricsPort?: number;
}

const JARS = ["/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-simple.jar"];

/**
 * A real ZooKeeper 3.8 (Debian package `zookeeper`) on loopback, standalone or as one member of a
 * three-server ensemble. The admin HTTP server is off; four-letter words `ruok`, `srvr`, `stat`,
 * `cons`, `mntr` are whitelisted because readiness checks use them.
 */
export class ZooKeeperServer {
  private proc: ManagedProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly config: string,
    private readonly label: string,
    private readonly fullJit = false,
    /** The Prometheus metrics provider's port, when started with `metrics`. */
    readonly metricsPort?: number,
  ) {}

  /** `127.0.0.1:<port>`. */
  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }
  get running(): boolean {
    return this.proc?.running ?? false;
  }
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Starts a standalone server and waits until it answers `ruok` and serves requests. */
  static async start(options: ZooKeeperServerOptions = {}): Promise<ZooKeeperServer> {
    const port = options.port ?? (await freePort());
    const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "zookeeper-"));
    const metricsPort = options.metrics ? await freePort() : undefined;
    const server = new ZooKeeperServer(port, dir, baseConfig(dir, port, options, metricsPort), "zookeeper", options.fullJit ?? false, metricsPort);
    await server.launch("org.apache.zookeeper.server.ZooKeeperServerMain", options.heap);
    return server;
  }

  private async launch(mainClass: string, heap = "256m", waitForMode = true): Promise<void> {
    if (!fs.existsSync(JARS[0])) throw new Error(`${JARS[0]} is missing: run \`bash tools/provision/all.sh\` (Debian package zookeeper)`);
    const cfg = path.join(this.dir, "zoo.cfg");
    fs.writeFileSync(cfg, this.config);
    this.proc = ManagedProcess.start(this.label, "java", [
      `-Xmx${heap}`,
      "-XX:+UseSerialGC",
      ...(this.fullJit ? [] : ["-XX:TieredStopAtLevel=1"]),
      "-Xshare:auto",
      "-Dzookeeper.admin.enableServer=false",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
      "-cp",
      [...JARS, ...(this.metricsPort ? metricsJars() : [])].join(":"),
      mainClass,
      cfg,
    ]);
    if (!waitForMode) return;
    try {
      await this.waitServing(30_000);
    } catch (err) {
      await this.proc.kill();
      throw new Error(`ZooKeeper did not start on port ${this.port}: ${(err as Error).message}\n${this.proc.log}`, { cause: err });
    }
  }

  /** Resolves when `srvr` reports a serving mode (standalone, leader or follower). */
  async waitServing(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.proc && !this.proc.running) throw new Error(`the process exited\n${this.proc.log}`);
      const reply = await fourLetterWord(this.port, "srvr").catch(() => "");
      if (/Mode: (standalone|leader|follower)/.test(reply)) return;
      if (Date.now() > deadline) throw new Error(`not serving within ${timeoutMs} ms (last srvr reply: ${JSON.stringify(reply.slice(0, 200))})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Graceful stop (SIGTERM). */
  async stop(): Promise<void> {
    if (!this.proc) return;
    this.resume();
    await this.proc.stop();
  }

  /** SIGKILL: a crash. Sessions survive in the log and are restored, with fresh timeouts, on restart. */
  async kill(): Promise<void> {
    if (!this.proc) return;
    this.resume();
    await this.proc.kill();
  }

  /** SIGSTOP: the process freezes with its sockets open, which clients see as a silent partition. */
  pause(): void {
    if (this.proc?.running) this.proc.child.kill("SIGSTOP");
  }

  /** SIGCONT after pause(). */
  resume(): void {
    if (this.proc?.running) this.proc.child.kill("SIGCONT");
  }

  /** Starts again on the same port and data dir after stop() or kill(). */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch(this.label === "zookeeper" ? "org.apache.zookeeper.server.ZooKeeperServerMain" : "org.apache.zookeeper.server.quorum.QuorumPeerMain");
  }

  /** Starts (again) without waiting; used by ensembles, whose members only serve once a quorum exists. */
  async startNoWait(): Promise<void> {
    await this.launch("org.apache.zookeeper.server.quorum.QuorumPeerMain", "192m", false);
  }

  /** Stops the server and removes its data dir. */
  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs a four-letter word (e.g. "srvr", "cons") and returns the reply. */
  fourLetterWord(word: string): Promise<string> {
    return fourLetterWord(this.port, word);
  }

  /** @internal Ensemble member factory. */
  static member(m: Member, all: Member[], options: ZooKeeperServerOptions): ZooKeeperServer {
    fs.writeFileSync(path.join(m.dir, "myid"), `${m.id}\n`);
    const servers = all.map((o) => `server.${o.id}=127.0.0.1:${o.peerPort}:${o.electionPort}`).join("\n");
    const config = `${baseConfig(m.dir, m.clientPort, options, m.metricsPort)}initLimit=10\nsyncLimit=5\n${servers}\n`;
    return new ZooKeeperServer(m.clientPort, m.dir, config, `zookeeper-${m.id}`, false, m.metricsPort);
  }
}

/** Three servers on loopback, each with its own data dir; a quorum survives one member down. */
export class ZooKeeperEnsemble {
  private constructor(readonly members: ZooKeeperServer[]) {}

  get connectString(): string {
    return this.members.map((m) => m.connectString).join(",");
  }

  static async start(options: ZooKeeperServerOptions = {}): Promise<ZooKeeperEnsemble> {
    const specs: Member[] = [];
    for (let id = 1; id <= 3; id++) {
      specs.push({
        id,
        clientPort: await freePort(),
        peerPort: await freePort(),
        electionPort: await freePort(),
        dir: fs.mkdtempSync(path.join(os.tmpdir(), `zookeeper-${id}-`)),
        metricsPort: options.metrics ? await freePort() : undefined,
      });
    }
    const ensemble = new ZooKeeperEnsemble(specs.map((m) => ZooKeeperServer.member(m, specs, options)));
    try {
      for (const m of ensemble.members) await m.startNoWait();
      await Promise.all(ensemble.members.map((m) => m.waitServing(60_000)));
    } catch (err) {
      await ensemble.destroy();
      throw err;
    }
    return ensemble;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.members.map((m) => m.destroy()));
  }
}

function baseConfig(dir: string, port: number, options: ZooKeeperServerOptions, metricsPort?: number): string {
  const metrics = metricsPort
    ? [
        "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
        "metricsProvider.httpHost=127.0.0.1",
        `metricsProvider.httpPort=${metricsPort}`,
      ]
    : [];
  return [
    ...metrics,
    `tickTime=${options.tickTime ?? 500}`,
    `dataDir=${dir}`,
    `clientPort=${port}`,
    "clientPortAddress=127.0.0.1",
    `minSessionTimeout=${options.minSessionTimeout ?? 1000}`,
    `maxSessionTimeout=${options.maxSessionTimeout ?? 60000}`,
    "maxClientCnxns=0",
    "admin.enableServer=false",
    "4lw.commands.whitelist=ruok,srvr,stat,cons,mntr",
    // Tests write thousands of nodes; snapshots every 100k transactions keep restarts quick anyway.
    "snapCount=100000",
    "",
  ].join("\n");
}

/** Sends a four-letter word and collects the reply until the server closes the connection. */
export function fourLetterWord(port: number, word: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let reply = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${word}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => socket.write(word));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(reply);
    });
  });
}

/** A raw node-zookeeper-client session for tests: "another process" that writes or inspects nodes. */
export async function connectRawClient(
  connect: string,
  options: Partial<zookeeper.Option> & { sessionId?: Buffer; sessionPassword?: Buffer } = {},
): Promise<zookeeper.Client> {
  const client = zookeeper.createClient(connect, { sessionTimeout: 10_000, spinDelay: 100, ...options } as Partial<zookeeper.Option>);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`no ZooKeeper session at ${connect} within 15 s`));
    }, 15_000);
    client.once("connected", () => {
      clearTimeout(timer);
      resolve();
    });
    client.once("expired", () => {
      clearTimeout(timer);
      client.close();
      reject(new Error("the session to attach to has expired"));
    });
    client.connect();
  });
  return client;
}

/** Promise form of a node-zookeeper-client callback call. */
export function zkCall<T>(start: (cb: (err: Error | zookeeper.Exception | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))));
}

/** Closes a raw client and resolves once the server has ended its session (its ephemeral nodes are gone). */
export async function closeRawClient(client: zookeeper.Client): Promise<void> {
  if (client.getState() !== zookeeper.State.SYNC_CONNECTED) {
    client.close();
    return;
  }
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 3_000);
    client.once("disconnected", () => {
      clearTimeout(timer);
      resolve();
    });
    client.close();
  });
}

/** What the churn writes into each instance node (the discovery node-data contract). */
export interface ChurnInstance {
  host: string;
  port: number;
  track: "stable" | "canary";
  weight: number;
  pod: string;
  registeredAt: string;
}

/**
 * Membership churn from several OTHER sessions, as pods scaling fast produce it. Each burst fires its
 * changes concurrently (creates, deletes by the owning session, data updates, and delete-then-recreate
 * of the same id) and resolves once ZooKeeper acknowledged all of them; `truth` is then exact.
 */
export class InstanceChurn {
  readonly truth = new Map<string, ChurnInstance>();
  private readonly owner = new Map<string, zookeeper.Client>();
  private next = 0;
  private rng: () => number;

  private constructor(
    private readonly clients: zookeeper.Client[],
    readonly servicePath: string,
    private readonly population: number,
    seed: number,
    private readonly dataUpdates: boolean,
  ) {
    this.rng = mulberry32(seed);
  }

  /**
   * `dataUpdates` (default true) mixes in weight changes (setData) besides register/deregister; the
   * bench turns it off to compare with the old loop on membership alone, the only thing it watched.
   */
  static async start(
    connect: string,
    servicePath: string,
    options: { sessions?: number; population?: number; seed?: number; dataUpdates?: boolean } = {},
  ): Promise<InstanceChurn> {
    const clients = await Promise.all(Array.from({ length: options.sessions ?? 4 }, () => connectRawClient(connect)));
    await zkCall((cb) => clients[0].mkdirp(servicePath, cb));
    return new InstanceChurn(clients, servicePath, options.population ?? 30, options.seed ?? 42, options.dataUpdates ?? true);
  }

  /**
   * Runs one burst of about `size` membership changes; returns how many changes it made. With
   * `spreadMs` each change starts after a random delay up to that, like pods becoming ready one by one.
   */
  async burst(size: number, spreadMs = 0): Promise<number> {
    const ops: Array<Promise<unknown>> = [];
    const later = <T>(op: () => Promise<T>): Promise<T> => (spreadMs > 0 ? new Promise((r) => setTimeout(r, this.rng() * spreadMs)).then(op) : op());
    const touched = new Set<string>();
    let changes = 0;
    while (changes < size) {
      const live = [...this.truth.keys()].filter((id) => !touched.has(id));
      const roll = this.rng();
      const grow = this.truth.size < this.population * 0.5 || (this.truth.size < this.population * 1.5 && roll < 0.5);
      if (grow || live.length === 0) {
        const id = `churn-${this.next++}`;
        touched.add(id);
        const client = this.clients[Math.floor(this.rng() * this.clients.length)];
        ops.push(later(() => this.create(id, client)));
        changes++;
        continue;
      }
      const id = live[Math.floor(this.rng() * live.length)];
      touched.add(id);
      const kind = this.rng();
      if (kind < 0.7) {
        ops.push(later(() => this.remove(id)));
        changes++;
      } else if (kind < 0.85 && this.dataUpdates) {
        const data = { ...this.truth.get(id)!, weight: Math.floor(this.rng() * 101) };
        this.truth.set(id, data);
        ops.push(zkCall((cb) => this.owner.get(id)!.setData(`${this.servicePath}/${id}`, Buffer.from(JSON.stringify(data)), -1, cb)));
        changes++;
      } else {
        // Same pod name back under a new session: delete, then re-create with other data.
        const client = this.clients[Math.floor(this.rng() * this.clients.length)];
        ops.push(later(() => this.remove(id).then(() => this.create(id, client))));
        changes += 2;
      }
    }
    await Promise.all(ops);
    return changes;
  }

  /** True if `instances` lists exactly the live nodes with their current host, port, track and weight. */
  matches(instances: Array<{ id: string; host: string; port: number; track: string; weight: number }>): boolean {
    if (instances.length !== this.truth.size) return false;
    return instances.every((i) => {
      const t = this.truth.get(i.id);
      return t !== undefined && t.host === i.host && t.port === i.port && t.track === i.track && t.weight === i.weight;
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => closeRawClient(c)));
  }

  private create(id: string, client: zookeeper.Client): Promise<unknown> {
    const n = this.next;
    const data: ChurnInstance = {
      host: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
      port: 9000 + (n % 3),
      track: this.rng() < 0.2 ? "canary" : "stable",
      weight: Math.floor(this.rng() * 101),
      pod: id,
      registeredAt: new Date().toISOString(),
    };
    this.truth.set(id, data);
    this.owner.set(id, client);
    return zkCall((cb) => client.create(`${this.servicePath}/${id}`, Buffer.from(JSON.stringify(data)), zookeeper.CreateMode.EPHEMERAL, cb));
  }

  private remove(id: string): Promise<unknown> {
    const client = this.owner.get(id)!;
    this.truth.delete(id);
    this.owner.delete(id);
    return zkCall<void>((cb) => client.remove(`${this.servicePath}/${id}`, -1, (e) => cb(e, undefined)));
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** ZooKeeper's Prometheus metrics provider and the Prometheus client it needs, beside Debian's Jetty. */
function metricsJars(): string[] {
  const pom = fs.readFileSync(path.resolve(__dirname, "../../tools/zookeeper-metrics/pom.xml"), "utf8");
  const version = /<zookeeper\.version>([^<]+)<\/zookeeper\.version>/.exec(pom)?.[1];
  const cache = process.env.CLASSROOM_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "classroom-platform");
  const jars = path.join(cache, "zookeeper-metrics", version ?? "unknown", "jars");
  if (!fs.existsSync(path.join(jars, `zookeeper-prometheus-metrics-${version}.jar`)))
    throw new Error(`${jars} lacks the ZooKeeper metrics provider: run tools/provision/32-zookeeper-metrics.sh`);
  return ["/usr/share/java/servlet-api.jar", `${jars}/*`];
}
