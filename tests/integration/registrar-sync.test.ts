import * as zookeeper from "node-zookeeper-client";
import { Instance, ServiceRegistry, WatchHandle, silentLogger } from "../../runtime/discovery";
import { Logger } from "../../runtime/discovery/logger";
import { Registrar } from "../../runtime/registrar/registrar";
import { ZooKeeperServer, closeRawClient, connectRawClient, zkCall } from "../harness/zookeeper";
import { TestEndpoint, endpointSlice, endpoints, trackService } from "../support/registrar/objects";

// The registrar's ZooKeeper side against a real ZooKeeper 3.8, fed the Kubernetes objects directly (the
// informers and the Lease election are exercised on a real control plane in tests/e2e/registrar-*.test.ts).
// The observer is the discovery library's own watcher: what a caller would see.

jest.setTimeout(90_000);

let zk: ZooKeeperServer;
const cleanup: Array<() => Promise<void>> = [];
let rootSeq = 0;

interface Recorded {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}
function recordingLogger(into: Recorded[]): Logger {
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    into.push({ level, message, fields });
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A fresh root per test so tests cannot see each other's nodes. */
function roots() {
  const n = ++rootSeq;
  return { root: `/t${n}/services`, stateRoot: `/t${n}/registrar` };
}

function registrar(r: { root: string; stateRoot: string }, logger: Logger = silentLogger): Registrar {
  const reg = new Registrar({ connect: zk.connectString, ...r, sessionTimeoutMs: 6_000, logger });
  reg.start();
  cleanup.push(() => reg.close());
  return reg;
}

function watcher(root: string, service: string): WatchHandle {
  const registry = new ServiceRegistry({ connect: zk.connectString, root, sessionTimeoutMs: 6_000, logger: silentLogger });
  cleanup.push(() => registry.close());
  return registry.watch(service);
}

async function rawClient(): Promise<zookeeper.Client> {
  const c = await connectRawClient(zk.connectString);
  cleanup.push(() => closeRawClient(c));
  return c;
}

async function eventually(check: () => boolean, describe: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What the watcher should show for these ready endpoints: `id host:port track weight`. */
const expected = (eps: Array<TestEndpoint & { track: string; weight: number }>) =>
  eps
    .filter((e) => (e.ready ?? true) && !e.terminating)
    .map((e) => `${e.pod} ${e.ip}:9090 ${e.track} ${e.weight}`)
    .sort();
const seen = (w: WatchHandle) =>
  w
    .current()
    .map((i: Instance) => `${i.id} ${i.host}:${i.port} ${i.track} ${i.weight}`)
    .sort();
/** A ledger entry is `<id>@<content hash>`. */
const ledgerId = (entry: string) => entry.slice(0, entry.lastIndexOf("@"));
const tag = (eps: TestEndpoint[], track: string, weight: number) => eps.map((e) => ({ ...e, track, weight }));

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
});

afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((c) => c().catch(() => undefined)));
});

afterAll(async () => {
  await zk?.destroy();
});

describe("the ZooKeeper view equals the ready endpoints", () => {
  it("follows readiness flips, scale-up and scale-down bursts, weight steps and track removal", async () => {
    const r = roots();
    const reg = registrar(r);
    const watch = watcher(r.root, "room-rpc");
    let stable = endpoints("room-rpc", "stable", 5);
    let canary = endpoints("room-rpc", "canary", 2, 2);
    let weight = 10;
    reg.upsertService(trackService("room-rpc", "stable", 100));
    reg.upsertService(trackService("room-rpc", "canary", weight));
    reg.upsertSlice(endpointSlice("room-rpc-stable", "room-rpc-stable-a", stable));
    reg.upsertSlice(endpointSlice("room-rpc-canary", "room-rpc-canary-a", canary));
    await reg.lead("test-0");
    const want = () => expected([...tag(stable, "stable", 100), ...tag(canary, "canary", weight)]);
    await eventually(
      () => JSON.stringify(seen(watch)) === JSON.stringify(want()),
      () => `${seen(watch)} vs ${want()}`,
    );

    // Readiness flips: not-ready and terminating endpoints leave the registry, ready ones come back.
    stable = stable.map((e, i) => ({ ...e, ready: i % 2 === 0 }));
    canary = [{ ...canary[0], ready: false, terminating: true }, canary[1]];
    reg.upsertSlice(endpointSlice("room-rpc-stable", "room-rpc-stable-a", stable));
    reg.upsertSlice(endpointSlice("room-rpc-canary", "room-rpc-canary-a", canary));
    await eventually(
      () => JSON.stringify(seen(watch)) === JSON.stringify(want()),
      () => `${seen(watch)} vs ${want()}`,
    );
    expect(seen(watch)).toHaveLength(4);

    // Scale-up burst across two slices, then a scale-down burst, each as many quick slice writes.
    for (let n = 6; n <= 120; n += 6) {
      stable = endpoints("room-rpc", "stable", n);
      reg.upsertSlice(endpointSlice("room-rpc-stable", "room-rpc-stable-a", stable.slice(0, 100)));
      reg.upsertSlice(endpointSlice("room-rpc-stable", "room-rpc-stable-b", stable.slice(100)));
    }
    await eventually(
      () => JSON.stringify(seen(watch)) === JSON.stringify(want()),
      () => `${seen(watch).length} vs ${want().length}`,
    );
    for (const n of [114, 105, 90, 72, 51, 33, 20, 12, 7, 3]) {
      stable = endpoints("room-rpc", "stable", n);
      reg.upsertSlice(endpointSlice("room-rpc-stable", "room-rpc-stable-a", stable.slice(0, 100)));
      reg.upsertSlice(endpointSlice("room-rpc-stable", "room-rpc-stable-b", stable.slice(100)));
    }
    await eventually(
      () => JSON.stringify(seen(watch)) === JSON.stringify(want()),
      () => `${seen(watch).length} vs ${want().length}`,
    );
    expect(seen(watch).filter((s) => s.includes(" stable "))).toHaveLength(3);

    // Weight steps rewrite the canary nodes' data in place.
    for (weight of [25, 50, 0]) {
      reg.upsertService(trackService("room-rpc", "canary", weight));
      await eventually(
        () => JSON.stringify(seen(watch)) === JSON.stringify(want()),
        () => `${seen(watch)} vs ${want()}`,
      );
    }

    // Track removal: the canary Service goes, and so do its nodes.
    reg.deleteService(trackService("room-rpc", "canary", weight));
    canary = [];
    await eventually(
      () => JSON.stringify(seen(watch)) === JSON.stringify(want()),
      () => `${seen(watch)} vs ${want()}`,
    );
    await reg.reconciler.idle();
    const raw = await rawClient();
    expect((await zkCall<string[]>((cb) => raw.getChildren(`${r.stateRoot}/owned/room-rpc`, cb))).map(ledgerId).sort()).toEqual(
      stable.map((e) => e.pod).sort(),
    );
  });

  it("writes the discovery contract exactly, as persistent nodes that outlive the registrar's session", async () => {
    const r = roots();
    const reg = registrar(r);
    reg.upsertService(trackService("grade-rpc", "canary", 30));
    reg.upsertSlice(endpointSlice("grade-rpc-canary", "grade-rpc-canary-x", [{ pod: "grade-rpc-canary-7f9c-q2x", ip: "10.9.0.4" }]));
    await reg.lead("test-0");
    await reg.reconciler.idle();
    const raw = await rawClient();
    const path = `${r.root}/grade-rpc/grade-rpc-canary-7f9c-q2x`;
    const [data, stat] = await new Promise<[Buffer, zookeeper.Stat]>((resolve, reject) => raw.getData(path, (e, d, s) => (e ? reject(e) : resolve([d, s]))));
    const json = JSON.parse(data.toString("utf8"));
    expect(Object.keys(json).sort()).toEqual(["host", "pod", "port", "registeredAt", "track", "weight"]);
    expect(json).toMatchObject({ host: "10.9.0.4", port: 9090, track: "canary", weight: 30, pod: "grade-rpc-canary-7f9c-q2x" });
    expect(new Date(json.registeredAt).toISOString()).toBe(json.registeredAt);
    expect(stat.ephemeralOwner.toString("hex")).toBe("0000000000000000");

    await reg.close(); // the registrar's process dies: its node stays
    expect(await zkCall<zookeeper.Stat | null>((cb) => raw.exists(path, cb))).not.toBeNull();
  });
});

describe("pipelined writes", () => {
  it("a flip and its flip back sent while the first write is still in flight end in the last state", async () => {
    const r = roots();
    // No periodic re-check: it would repair a wrong end state and hide the bug this guards against.
    const reg = new Registrar({ connect: zk.connectString, ...r, sessionTimeoutMs: 6_000, logger: silentLogger, recheckIntervalMs: 0 });
    reg.start();
    cleanup.push(() => reg.close());
    const eps = endpoints("pipe-rpc", "stable", 6);
    const slice = (ready: (i: number) => boolean) =>
      endpointSlice(
        "pipe-rpc-stable",
        "pipe-rpc-a",
        eps.map((e, i) => ({ ...e, ready: ready(i) })),
      );
    reg.upsertService(trackService("pipe-rpc", "stable", 100));
    reg.upsertSlice(slice((i) => i < 3));
    await reg.lead("test-0");
    await reg.reconciler.idle();
    const raw = await rawClient();
    const nodes = async () => (await zkCall<string[]>((cb) => raw.getChildren(`${r.root}/pipe-rpc`, cb))).sort();
    expect(await nodes()).toEqual(["pipe-rpc-stable-0", "pipe-rpc-stable-1", "pipe-rpc-stable-2"]);

    // In one tick, so ZooKeeper cannot have answered the first writes: 0 leaves and comes back (its
    // remove in flight while it is desired again), 3 comes and leaves (its create in flight while it is
    // no longer desired), 1 leaves for good.
    reg.upsertSlice(slice((i) => i === 1 || i === 2 || i === 3));
    reg.upsertSlice(slice((i) => i === 0 || i === 2));
    await reg.reconciler.idle();
    expect(await nodes()).toEqual(["pipe-rpc-stable-0", "pipe-rpc-stable-2"]);
    expect((await zkCall<string[]>((cb) => raw.getChildren(`${r.stateRoot}/owned/pipe-rpc`, cb))).map(ledgerId).sort()).toEqual([
      "pipe-rpc-stable-0",
      "pipe-rpc-stable-2",
    ]);
  });
});

describe("ownership", () => {
  it("never touches self-registered nodes under the same service, even one holding an endpoint's pod name", async () => {
    const r = roots();
    const selfRegistry = new ServiceRegistry({ connect: zk.connectString, root: r.root, sessionTimeoutMs: 6_000, logger: silentLogger });
    cleanup.push(() => selfRegistry.close());
    await selfRegistry.register("mixed-rpc", { id: "vm-agent-1", host: "192.168.0.5", port: 7000 });
    await selfRegistry.register("mixed-rpc", { id: "mixed-rpc-stable-1", host: "10.1.0.99", port: 7000, weight: 100 });
    const raw = await rawClient();
    const before = await zkCall<[Buffer, zookeeper.Stat]>((cb) => raw.getData(`${r.root}/mixed-rpc/mixed-rpc-stable-1`, (e, d, s) => cb(e, [d, s])));

    const log: Recorded[] = [];
    const reg = registrar(r, recordingLogger(log));
    reg.upsertService(trackService("mixed-rpc", "stable", 100));
    reg.upsertSlice(endpointSlice("mixed-rpc-stable", "mixed-rpc-stable-a", endpoints("mixed-rpc", "stable", 3)));
    await reg.lead("test-0");
    await reg.reconciler.idle();
    const watch = watcher(r.root, "mixed-rpc");
    await watch.ready();
    await eventually(
      () => watch.current().length === 4,
      () => JSON.stringify(seen(watch)),
    );
    // The pod-name collision: the self-registered node keeps its data and version.
    const after = await zkCall<[Buffer, zookeeper.Stat]>((cb) => raw.getData(`${r.root}/mixed-rpc/mixed-rpc-stable-1`, (e, d, s) => cb(e, [d, s])));
    expect(after[0].toString()).toBe(before[0].toString());
    expect(after[1].version).toBe(before[1].version);
    expect(log.filter((l) => l.level === "warn" && l.message.includes("did not write"))).toHaveLength(1);

    // The service loses every endpoint: only the registrar's own nodes go.
    reg.deleteService(trackService("mixed-rpc", "stable", 100));
    await eventually(
      () => watch.current().length === 2,
      () => JSON.stringify(seen(watch)),
    );
    expect(
      watch
        .current()
        .map((i) => i.id)
        .sort(),
    ).toEqual(["mixed-rpc-stable-1", "vm-agent-1"]);
  });
});

describe("restarts and failover", () => {
  it("a new leader diffs against ZooKeeper and writes only the differences, removing nodes of endpoints that went meanwhile", async () => {
    const r = roots();
    const first = registrar(r);
    const stable = endpoints("cal-rpc", "stable", 40);
    const objects = (eps: TestEndpoint[]) => [trackService("cal-rpc", "stable", 100), endpointSlice("cal-rpc-stable", "cal-rpc-stable-a", eps)] as const;
    const [svc, slice] = objects(stable);
    first.upsertService(svc);
    first.upsertSlice(slice);
    await first.lead("first");
    await first.reconciler.idle();
    expect(first.reconciler.stats.creates).toBe(40);
    await first.close();

    // While no registrar runs, 3 endpoints go and 1 changes its IP.
    const now = stable.slice(3).map((e, i) => (i === 0 ? { ...e, ip: "10.77.0.1" } : e));
    const second = registrar(r);
    const [svc2, slice2] = objects(now);
    second.upsertService(svc2);
    second.upsertSlice(slice2);
    const watch = watcher(r.root, "cal-rpc");
    await watch.ready();
    const removedSeen: string[] = [];
    watch.on("change", (c) => removedSeen.push(...c.removed.map((i) => i.id)));
    const writesBefore = second.zkStats.writes;
    await second.lead("second");
    await second.reconciler.idle();
    expect(second.reconciler.stats).toMatchObject({ creates: 0, updates: 1, deletes: 3 });
    expect(second.zkStats.writes - writesBefore).toBe(1 /* fence */ + 4);
    await eventually(
      () => JSON.stringify(seen(watch)) === JSON.stringify(expected(tag(now, "stable", 100))),
      () => `${seen(watch).length}`,
    );
    expect(removedSeen.sort()).toEqual(
      stable
        .slice(0, 3)
        .map((e) => e.pod)
        .sort(),
    );
  });

  it("at a takeover, a service with a new event is read before the bulk of the services nothing happened to", async () => {
    const r = roots();
    const services = Array.from({ length: 60 }, (_, i) => `bulk${String(i).padStart(2, "0")}-rpc`);
    const slice = (service: string, secondReady = true) =>
      endpointSlice(
        `${service}-stable`,
        `${service}-a`,
        endpoints(service, "stable", 2).map((e, k) => ({ ...e, ready: k === 0 || secondReady })),
      );
    const feed = (reg: Registrar) => {
      for (const service of services) {
        reg.upsertService(trackService(service, "stable", 100));
        reg.upsertSlice(slice(service));
      }
    };
    const first = registrar(r);
    feed(first);
    await first.lead("first");
    await first.reconciler.idle();
    await first.close();
    // A term reads the services in the ledger's listing order: the one read last without an event.
    const raw = await rawClient();
    const readOrder = await zkCall<string[]>((cb) => raw.getChildren(`${r.stateRoot}/owned`, cb));
    const last = readOrder[readOrder.length - 1];

    const second = registrar(r);
    const loads: string[] = [];
    const load = second.store.load.bind(second.store);
    second.store.load = (service: string) => {
      loads.push(service);
      return load(service);
    };
    feed(second);
    await second.lead("second"); // the term has started reading: 16 services at once
    expect(loads).toHaveLength(16);
    second.upsertSlice(slice(last, false)); // the last-read service's second endpoint goes not-ready
    await second.reconciler.idle();
    expect(loads.indexOf(last)).toBe(16); // read as soon as one of the first reads is done
    expect(await zkCall<string[]>((cb) => raw.getChildren(`${r.root}/${last}`, cb))).toEqual([`${last}-stable-0`]);
  });

  it("fences a deposed leader: once a new leader took over, the old one's writes fail and it stops", async () => {
    const r = roots();
    let fenced = 0;
    const old = new Registrar({ connect: zk.connectString, ...r, sessionTimeoutMs: 6_000, logger: silentLogger, onFenced: () => fenced++ });
    old.start();
    cleanup.push(() => old.close());
    const fresh = registrar(r);
    for (const reg of [old, fresh]) {
      reg.upsertService(trackService("fence-rpc", "stable", 100));
      reg.upsertSlice(endpointSlice("fence-rpc-stable", "s", endpoints("fence-rpc", "stable", 2)));
    }
    await old.lead("old");
    await old.reconciler.idle();
    await fresh.lead("fresh");
    await fresh.reconciler.idle();

    // The old leader has not noticed (its Lease renewal would have failed): a change reaches only it.
    old.upsertSlice(endpointSlice("fence-rpc-stable", "s", endpoints("fence-rpc", "stable", 1)));
    await old.reconciler.idle();
    expect(fenced).toBe(1);
    expect(old.isLeading).toBe(false);
    const raw = await rawClient();
    expect((await zkCall<string[]>((cb) => raw.getChildren(`${r.root}/fence-rpc`, cb))).sort()).toEqual(["fence-rpc-stable-0", "fence-rpc-stable-1"]);
  });

  it("converges after a ZooKeeper restart in the middle of a burst, with nothing left behind", async () => {
    const r = roots();
    const reg = registrar(r);
    const watch = watcher(r.root, "burst-rpc");
    reg.upsertService(trackService("burst-rpc", "stable", 100));
    let eps = endpoints("burst-rpc", "stable", 50);
    reg.upsertSlice(endpointSlice("burst-rpc-stable", "a", eps));
    await reg.lead("test-0");
    await reg.reconciler.idle();
    const restart = zk.restart();
    for (let n = 49; n >= 10; n--) {
      eps = endpoints("burst-rpc", "stable", n, 1, 50 - n); // the oldest endpoints leave, new ones come
      reg.upsertSlice(endpointSlice("burst-rpc-stable", "a", eps));
      await new Promise((res) => setTimeout(res, 20));
    }
    await restart;
    await eventually(
      () => JSON.stringify(seen(watch)) === JSON.stringify(expected(tag(eps, "stable", 100))),
      () => `${seen(watch).length} vs ${eps.length}`,
      40_000,
    );
    await reg.reconciler.idle();
    const raw = await rawClient();
    expect((await zkCall<string[]>((cb) => raw.getChildren(`${r.root}/burst-rpc`, cb))).sort()).toEqual(eps.map((e) => e.pod).sort());
    expect((await zkCall<string[]>((cb) => raw.getChildren(`${r.stateRoot}/owned/burst-rpc`, cb))).map(ledgerId).sort()).toEqual(eps.map((e) => e.pod).sort());
  });
});

describe("nodes deleted by hand or lost", () => {
  it("re-creates a deleted node and a lost node-and-ledger-entry pair within one re-check period, with no endpoint change, and leaves foreign nodes alone", async () => {
    const r = roots();
    const reg = new Registrar({ connect: zk.connectString, ...r, sessionTimeoutMs: 6_000, logger: silentLogger, recheckIntervalMs: 1_000 });
    reg.start();
    cleanup.push(() => reg.close());
    const raw = await rawClient();
    await zkCall<string>((cb) => raw.mkdirp(`${r.root}/lost-rpc`, cb));
    await zkCall<string>((cb) => raw.create(`${r.root}/lost-rpc/vm-agent-9`, Buffer.from(JSON.stringify({ host: "192.168.0.9", port: 7000 })), cb));
    // A second service whose slices never change: the re-check must visit it too.
    for (const service of ["lost-rpc", "quiet-rpc"]) {
      reg.upsertService(trackService(service, "stable", 100));
      reg.upsertSlice(endpointSlice(`${service}-stable`, `${service}-a`, endpoints(service, "stable", 4)));
    }
    await reg.lead("test-0");
    await reg.reconciler.idle();
    const watch = watcher(r.root, "lost-rpc");
    const ids = () =>
      watch
        .current()
        .map((i) => i.id)
        .sort();
    const all = ["lost-rpc-stable-0", "lost-rpc-stable-1", "lost-rpc-stable-2", "lost-rpc-stable-3", "vm-agent-9"];
    await eventually(
      () => JSON.stringify(ids()) === JSON.stringify(all),
      () => ids().join(","),
    );
    const writesBefore = reg.zkStats.writes;

    // An operator deletes one node; another node is lost together with its ledger entry (a restore from
    // an older snapshot); a node of the quiet service goes too.
    const ledger = await zkCall<string[]>((cb) => raw.getChildren(`${r.stateRoot}/owned/lost-rpc`, cb));
    const entryOf = (id: string) => ledger.find((e) => ledgerId(e) === id)!;
    await zkCall<void>((cb) => raw.remove(`${r.root}/lost-rpc/lost-rpc-stable-1`, -1, (e) => cb(e, undefined)));
    await zkCall<void>((cb) => raw.remove(`${r.root}/lost-rpc/lost-rpc-stable-2`, -1, (e) => cb(e, undefined)));
    await zkCall<void>((cb) => raw.remove(`${r.stateRoot}/owned/lost-rpc/${entryOf("lost-rpc-stable-2")}`, -1, (e) => cb(e, undefined)));
    await zkCall<void>((cb) => raw.remove(`${r.root}/quiet-rpc/quiet-rpc-stable-3`, -1, (e) => cb(e, undefined)));
    await eventually(
      () => watch.current().length === 3,
      () => ids().join(","),
    );

    await eventually(
      () => JSON.stringify(ids()) === JSON.stringify(all),
      () => ids().join(","),
      15_000,
    );
    const quiet = async () => (await zkCall<string[]>((cb) => raw.getChildren(`${r.root}/quiet-rpc`, cb))).sort();
    const deadline = Date.now() + 15_000;
    while ((await quiet()).length < 4 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(await quiet()).toEqual(["quiet-rpc-stable-0", "quiet-rpc-stable-1", "quiet-rpc-stable-2", "quiet-rpc-stable-3"]);
    await reg.reconciler.idle();
    // Exactly the three missing nodes were written again, each with its ledger entry; nothing else.
    expect(reg.zkStats.writes - writesBefore).toBe(3);
    expect((await zkCall<string[]>((cb) => raw.getChildren(`${r.stateRoot}/owned/lost-rpc`, cb))).map(ledgerId).sort()).toEqual(all.slice(0, 4));
    expect(reg.reconciler.stats.rechecks).toBeGreaterThanOrEqual(2);
    // Quiet periods cost no writes: another full re-check round writes nothing.
    const rechecks = reg.reconciler.stats.rechecks;
    await eventually(
      () => reg.reconciler.stats.rechecks >= rechecks + 2,
      () => String(reg.reconciler.stats.rechecks),
      15_000,
    );
    await reg.reconciler.idle();
    expect(reg.zkStats.writes - writesBefore).toBe(3);
  });
});

describe("bad input", () => {
  it("skips a slice without ports, an endpoint without addresses and a Service without the track annotation, one warning each, and goes on", async () => {
    const r = roots();
    const log: Recorded[] = [];
    const reg = registrar(r, recordingLogger(log));
    const noTrack = trackService("bad-rpc", "canary", 5);
    noTrack.metadata.name = "other-rpc-canary";
    delete noTrack.metadata.annotations["classroom.io/registry-track"];
    reg.upsertService(trackService("bad-rpc", "stable", 100));
    reg.upsertService(noTrack);
    const noAddress = endpointSlice("bad-rpc-stable", "with-hole", endpoints("bad-rpc", "stable", 2));
    noAddress.endpoints[0].addresses = [];
    reg.upsertSlice(noAddress);
    reg.upsertSlice(endpointSlice("bad-rpc-stable", "portless", endpoints("bad-rpc", "stable", 2, 3, 10), { port: null }));
    reg.upsertSlice(endpointSlice("other-rpc-canary", "c", endpoints("other-rpc", "canary", 1)));
    await reg.lead("test-0");
    await reg.reconciler.idle();
    // Events again for the same objects: no new warnings.
    reg.upsertService(noTrack);
    reg.upsertSlice(noAddress);
    await reg.reconciler.idle();

    const warnings = log.filter((l) => l.level === "warn").map((l) => l.message);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^skipping Service\/classroom-dev-apps\/other-rpc-canary: has no classroom.io\/registry-track annotation/),
        expect.stringMatching(/^skipping EndpointSlice\/classroom-dev-apps\/with-hole: endpoint 0 \(bad-rpc-stable-0\) has no addresses/),
        expect.stringMatching(/^skipping EndpointSlice\/classroom-dev-apps\/portless: has no ports/),
      ]),
    );
    expect(warnings).toHaveLength(3);
    const raw = await rawClient();
    expect(await zkCall<string[]>((cb) => raw.getChildren(`${r.root}/bad-rpc`, cb))).toEqual(["bad-rpc-stable-1"]);
  });
});
