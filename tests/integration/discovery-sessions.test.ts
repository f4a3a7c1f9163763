import { spawnSync } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import * as zookeeper from "node-zookeeper-client";
import { RegistrationHandle, ServiceRegistry, Source, WatchHandle, silentLogger } from "../../runtime/discovery";
import { freePort } from "../harness/ports";
import { ZooKeeperServer, closeRawClient, connectRawClient, zkCall } from "../harness/zookeeper";

// Session loss and the fallback ladder against a real ZooKeeper 3.8: server restarts, sessions
// expired behind the client's back, outages longer than the session timeout, a frozen server.
// Each test starts its own server so one outage cannot leak into the next.

jest.setTimeout(60_000);

const SESSION_MS = 2_000; // the server grants 1-60 s; short keeps the outage tests quick
let zk: ZooKeeperServer | undefined;
let registries: ServiceRegistry[] = [];
let clients: zookeeper.Client[] = [];

function registry(options: Partial<ConstructorParameters<typeof ServiceRegistry>[0]> = {}): ServiceRegistry {
  const r = new ServiceRegistry({
    connect: zk!.connectString,
    sessionTimeoutMs: SESSION_MS,
    logger: silentLogger,
    dnsFallback: { namespace: "classroom", port: 9090 },
    fallbackGraceMs: 1_500,
    ...options,
  });
  registries.push(r);
  return r;
}

async function eventually(check: () => boolean | Promise<boolean>, describe: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ids = (w: WatchHandle) =>
  w
    .current()
    .map((i) => i.id)
    .join(",");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The session that owns a node according to ZooKeeper itself, read by an independent client. */
async function ownerOf(path: string): Promise<string | undefined> {
  const c = await connectRawClient(zk!.connectString);
  try {
    const stat = await zkCall<zookeeper.Stat | null>((cb) => c.exists(path, cb));
    return stat ? stat.ephemeralOwner.toString("hex") : undefined;
  } finally {
    await closeRawClient(c);
  }
}

/** Records every source the watch reports, in order, without repeats. */
function sources(w: WatchHandle): Source[] {
  const seen: Source[] = [w.source];
  w.on("change", (c) => {
    if (seen[seen.length - 1] !== c.source) seen.push(c.source);
  });
  return seen;
}

beforeEach(async () => {
  zk = await ZooKeeperServer.start();
});

afterEach(async () => {
  await Promise.all(registries.map((r) => r.close()));
  await Promise.all(clients.map((c) => closeRawClient(c)));
  registries = [];
  clients = [];
  await zk?.destroy();
  zk = undefined;
});

describe("a caller watching many services", () => {
  it("watches thirty services in one process without a listener-leak warning, and sees each one's instance", async () => {
    const provider = registry();
    const services = Array.from({ length: 30 }, (_, i) => `svc-${i}-rpc`);
    await Promise.all(services.map((s, i) => provider.register(s, { id: "a", host: `10.0.1.${i + 1}`, port: 9090 })));
    // In its own process: Node prints MaxListenersExceededWarning on that process's stderr.
    const script = `
      const { ServiceRegistry, silentLogger } = require(${JSON.stringify(path.resolve(__dirname, "../../runtime/discovery"))});
      const r = new ServiceRegistry({ connect: ${JSON.stringify(zk!.connectString)}, sessionTimeoutMs: 5000, logger: silentLogger });
      const watches = ${JSON.stringify(services)}.map((s) => r.watch(s));
      const timer = setInterval(() => {
        if (!watches.every((w) => w.current().length === 1)) return;
        clearInterval(timer);
        console.log("seen " + watches.length);
        r.close().then(() => process.exit(0));
      }, 50);
      setTimeout(() => { console.log("not seen"); process.exit(1); }, 20000);
    `;
    const child = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { encoding: "utf8", cwd: path.resolve(__dirname, "../..") });
    expect(child.stdout.trim()).toBe("seen 30");
    expect(child.stderr).not.toMatch(/MaxListeners/);
  });
});

describe("server restart within the session timeout", () => {
  it("keeps the session and its nodes, and the watch re-lists changes made while it was disconnected", async () => {
    // Long enough that a JVM restart on a loaded machine stays inside it.
    const provider = registry({ sessionTimeoutMs: 30_000 });
    const consumer = registry({ sessionTimeoutMs: 30_000 });
    await provider.register("room-rpc", { id: "a", host: "10.0.0.1", port: 9090 });
    await provider.register("room-rpc", { id: "b", host: "10.0.0.2", port: 9090 });
    const watch = consumer.watch("room-rpc");
    await eventually(
      () => ids(watch) === "a,b",
      () => ids(watch),
    );
    const sessionBefore = provider.stats().sessionId;

    await zk!.kill();
    await zk!.restart();
    // Changes land right after the restart, racing the watchers' reconnection.
    const other = await connectRawClient(zk!.connectString);
    clients.push(other);
    await zkCall((cb) =>
      other.create(
        "/classroom/services/room-rpc/c",
        Buffer.from(JSON.stringify({ host: "10.0.0.3", port: 9090, track: "canary", weight: 5 })),
        zookeeper.CreateMode.EPHEMERAL,
        cb,
      ),
    );

    await eventually(
      () => ids(watch) === "a,b,c" && watch.source === "zookeeper",
      () => `${watch.source} ${ids(watch)}`,
      30_000,
    );
    expect(provider.stats()).toMatchObject({ sessionId: sessionBefore, sessionsOpened: 1 });
  });
});

/**
 * A TCP front for the server that either forwards or swallows: in "swallow" mode it accepts a
 * connection and never answers it, as a restarting ZooKeeper does with a socket it accepted before it
 * was ready to serve.
 */
async function frontFor(server: ZooKeeperServer): Promise<{ connectString: string; mode: "forward" | "swallow"; cut(): void; close(): Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  const front = {
    connectString: `127.0.0.1:${port}`,
    mode: "forward" as "forward" | "swallow",
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () => new Promise<void>((resolve) => (front.cut(), proxy.close(() => resolve()))),
  };
  const proxy = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    if (front.mode === "swallow") return;
    const upstream = net.connect({ host: "127.0.0.1", port: Number(server.connectString.split(":")[1]) });
    sockets.add(upstream);
    upstream.on("close", () => (sockets.delete(upstream), client.destroy()));
    upstream.on("error", () => undefined);
    client.on("close", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
  return front;
}

describe("a reconnection the server accepts but never answers", () => {
  it("is dropped and retried inside the session timeout, so the session, its nodes and its watches survive", async () => {
    const front = await frontFor(zk!);
    try {
      // 10 s sessions: the library alone would wait on the unanswered socket for all of it (it times
      // out only the TCP connect) and the registry would then open a new session.
      const provider = registry({ connect: front.connectString, sessionTimeoutMs: 10_000 });
      const consumer = registry({ sessionTimeoutMs: 10_000 });
      await provider.register("room-rpc", { id: "a", host: "10.0.0.1", port: 9090 });
      const watch = provider.watch("room-rpc");
      const remote = consumer.watch("room-rpc");
      await eventually(
        () => ids(watch) === "a" && ids(remote) === "a",
        () => `${ids(watch)} / ${ids(remote)}`,
      );
      const sessionBefore = provider.stats().sessionId;

      front.mode = "swallow";
      front.cut();
      await eventually(
        () => !provider.stats().connected,
        () => "still connected",
      );
      await sleep(500); // the client's retry is now held by an accepted, unanswered socket
      front.mode = "forward";
      await consumer.register("room-rpc", { id: "b", host: "10.0.0.2", port: 9090 });

      const cutAt = Date.now();
      await eventually(
        () => provider.stats().connected && ids(watch) === "a,b",
        () => `connected=${provider.stats().connected} ${ids(watch)}`,
        20_000,
      );
      expect(provider.stats()).toMatchObject({ sessionId: sessionBefore, sessionsOpened: 1 });
      expect(Date.now() - cutAt).toBeLessThan(10_000);
      expect(ids(remote)).toBe("a,b"); // the provider's node never left
    } finally {
      await front.close();
    }
  });
});

describe("session expired behind the client's back", () => {
  it("opens a new session, re-creates this process's nodes and rebuilds every watch; the watch sees later changes", async () => {
    const provider = registry();
    const consumer = registry();
    const handle = await provider.register("room-rpc", { id: "a", host: "10.0.0.1", port: 9090 });
    const watch = provider.watch("room-rpc"); // a watch in the same (expiring) session
    const remote = consumer.watch("room-rpc");
    await eventually(
      () => ids(watch) === "a" && ids(remote) === "a",
      () => `${ids(watch)} / ${ids(remote)}`,
    );
    const oldSession = provider.stats().sessionId!;

    // Attach to the provider's session from a second client and close it: the server ends the session.
    // The provider may win the session back before the close lands (its reconnection moves the session
    // to it again, and the server drops the second client); then the session is truly alive and we retry.
    const internal = (provider as unknown as { session: { current: { client: zookeeper.Client } } }).session.current.client;
    const [sessionId, sessionPassword] = [internal.getSessionId(), internal.getSessionPassword()];
    for (let attempt = 0; attempt < 5 && provider.stats().sessionsOpened === 1; attempt++) {
      const hijacker = await connectRawClient(zk!.connectString, { sessionId, sessionPassword, sessionTimeout: SESSION_MS }).catch(() => undefined);
      if (hijacker) await closeRawClient(hijacker);
      await eventually(
        () => provider.stats().sessionsOpened === 2,
        () => "",
        3_000,
      ).catch(() => undefined);
    }

    await eventually(
      () => provider.stats().sessionsOpened === 2 && handle.registered,
      () => JSON.stringify(provider.stats()),
    );
    const newSession = provider.stats().sessionId!;
    expect(newSession).not.toBe(oldSession);
    expect(await ownerOf("/classroom/services/room-rpc/a")).toBe(newSession);

    // The rebuilt watches are live: a change after the new session shows up in both.
    const late = await provider.register("room-rpc", { id: "b", host: "10.0.0.2", port: 9090 });
    await eventually(
      () => ids(watch) === "a,b" && ids(remote) === "a,b",
      () => `${ids(watch)} / ${ids(remote)}`,
    );
    await late.deregister();
    await eventually(
      () => ids(watch) === "a" && ids(remote) === "a",
      () => `${ids(watch)} / ${ids(remote)}`,
    );
    expect(watch.source).toBe("zookeeper");
  });
});

describe("ZooKeeper down longer than the session timeout", () => {
  it("serves the last known list, then the Kubernetes Service DNS name, then returns to ZooKeeper with the registrations re-created and nothing stale", async () => {
    const provider = registry();
    const consumer = registry();
    const handles: RegistrationHandle[] = [];
    handles.push(await provider.register("room-rpc", { id: "a", host: "10.0.0.1", port: 9090, track: "stable", weight: 90 }));
    handles.push(await provider.register("room-rpc", { id: "b", host: "10.0.0.2", port: 9090, track: "canary", weight: 10 }));
    // A process that dies for good during the outage: its node must not outlive its session.
    const doomed = await connectRawClient(zk!.connectString, { sessionTimeout: SESSION_MS });
    await zkCall((cb) =>
      doomed.create("/classroom/services/room-rpc/doomed", Buffer.from(JSON.stringify({ host: "10.0.0.9", port: 9090 })), zookeeper.CreateMode.EPHEMERAL, cb),
    );
    const watch = consumer.watch("room-rpc");
    await eventually(
      () => ids(watch) === "a,b,doomed" && watch.source === "zookeeper",
      () => ids(watch),
    );
    const seen = sources(watch);
    const oldSession = provider.stats().sessionId!;

    await zk!.stop();
    doomed.close(); // never reaches the server: the session is left for the server to expire
    await eventually(
      () => watch.source === "last-known",
      () => watch.source,
      5_000,
    );
    expect(ids(watch)).toBe("a,b,doomed");
    await eventually(
      () => watch.source === "kubernetes-dns",
      () => watch.source,
      5_000,
    );
    expect(watch.current()).toEqual([expect.objectContaining({ host: "room-rpc.classroom.svc.cluster.local", port: 9090, track: "stable", weight: 100 })]);
    expect(watch.picker().pick()?.host).toBe("room-rpc.classroom.svc.cluster.local");

    // Outlive the session timeout so the registry must decide on its own that the session is gone.
    await sleep(SESSION_MS * 1.5);
    await zk!.restart();

    await eventually(
      () => handles.every((h) => h.registered) && provider.stats().sessionsOpened === 2,
      () => JSON.stringify(provider.stats()),
    );
    const newSession = provider.stats().sessionId!;
    expect(newSession).not.toBe(oldSession);
    // The server restored the old sessions from its log; our own old nodes were replaced at once,
    // the dead process's node goes when the server expires its session.
    expect(await ownerOf("/classroom/services/room-rpc/a")).toBe(newSession);
    expect(await ownerOf("/classroom/services/room-rpc/b")).toBe(newSession);
    await eventually(
      () => ids(watch) === "a,b" && watch.source === "zookeeper",
      () => `${watch.source} ${ids(watch)}`,
      20_000,
    );
    expect(watch.current().map((i) => [i.id, i.track, i.weight])).toEqual([
      ["a", "stable", 90],
      ["b", "canary", 10],
    ]);
    expect(seen).toEqual(["zookeeper", "last-known", "kubernetes-dns", "zookeeper"]);
  });

  it("a watch started while ZooKeeper is unreachable answers from DNS after the initial wait, then switches to ZooKeeper", async () => {
    await zk!.stop();
    const consumer = registry({ initialFallbackMs: 500 });
    const watch = consumer.watch("room-rpc");
    await watch.ready(10_000);
    expect(watch.source).toBe("kubernetes-dns");
    expect(watch.current()[0]?.host).toBe("room-rpc.classroom.svc.cluster.local");

    await zk!.restart();
    const provider = registry();
    await provider.register("room-rpc", { id: "a", host: "10.0.0.1", port: 9090 });
    await eventually(
      () => watch.source === "zookeeper" && ids(watch) === "a",
      () => `${watch.source} ${ids(watch)}`,
    );
  });
});

describe("silent partition: the server freezes with its sockets open", () => {
  it("is noticed without any socket error, and a new session re-registers once the server answers again", async () => {
    const provider = registry();
    const consumer = registry();
    const handle = await provider.register("room-rpc", { id: "a", host: "10.0.0.1", port: 9090 });
    const watch = consumer.watch("room-rpc");
    await eventually(
      () => ids(watch) === "a" && watch.source === "zookeeper",
      () => ids(watch),
    );

    zk!.pause();
    try {
      await eventually(
        () => watch.source === "last-known",
        () => watch.source,
        SESSION_MS * 3,
      );
      await sleep(SESSION_MS * 1.5);
    } finally {
      zk!.resume();
    }
    await eventually(
      () => provider.stats().sessionsOpened === 2 && handle.registered,
      () => JSON.stringify(provider.stats()),
      20_000,
    );
    await eventually(
      () => ids(watch) === "a" && watch.source === "zookeeper",
      () => `${watch.source} ${ids(watch)}`,
    );
    expect(await ownerOf("/classroom/services/room-rpc/a")).toBe(provider.stats().sessionId);
  });
});
