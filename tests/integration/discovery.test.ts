import * as zookeeper from "node-zookeeper-client";
import { Instance, ServiceRegistry, WatchHandle, silentLogger } from "../../runtime/discovery";
import { InstanceChurn, ZooKeeperServer, closeRawClient, connectRawClient, zkCall } from "../harness/zookeeper";

// Registration, watching and churn against one real ZooKeeper 3.8. Session loss and fallback are in
// discovery-sessions.test.ts.

jest.setTimeout(60_000);

let zk: ZooKeeperServer;
const registries: ServiceRegistry[] = [];
const clients: zookeeper.Client[] = [];

function registry(options: Partial<ConstructorParameters<typeof ServiceRegistry>[0]> = {}): ServiceRegistry {
  const r = new ServiceRegistry({ connect: zk.connectString, sessionTimeoutMs: 4_000, logger: silentLogger, ...options });
  registries.push(r);
  return r;
}

async function rawClient(): Promise<zookeeper.Client> {
  const c = await connectRawClient(zk.connectString);
  clients.push(c);
  return c;
}

/** Polls until `check` holds; fails with `describe()` after `timeoutMs` (generous: the machine is shared). */
async function eventually(check: () => boolean, describe: () => string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ids = (w: WatchHandle) => w.current().map((i) => i.id);

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
});

afterAll(async () => {
  await Promise.all(registries.map((r) => r.close()));
  await Promise.all(clients.map((c) => closeRawClient(c)));
  await zk?.destroy();
});

describe("register and watch", () => {
  it("a registered instance appears in another process's watch with host, port, track and weight, and leaves on deregister", async () => {
    const provider = registry();
    const consumer = registry();
    const watch = consumer.watch("session-rpc");
    await watch.ready();
    const changes: string[][] = [];
    watch.on("change", (c) => changes.push(c.instances.map((i) => i.id)));

    const handle = await provider.register("session-rpc", { id: "session-rpc-7d9f-abc", host: "10.0.0.7", port: 9090, track: "canary", weight: 10 });
    await eventually(
      () => watch.current().length === 1,
      () => JSON.stringify(watch.current()),
    );
    expect(watch.source).toBe("zookeeper");
    expect(watch.current()[0]).toMatchObject<Partial<Instance>>({
      id: "session-rpc-7d9f-abc",
      host: "10.0.0.7",
      port: 9090,
      track: "canary",
      weight: 10,
      pod: "session-rpc-7d9f-abc",
    });

    await handle.deregister();
    await eventually(
      () => watch.current().length === 0,
      () => JSON.stringify(watch.current()),
    );
    expect(changes).toEqual([["session-rpc-7d9f-abc"], []]);
  });

  it("writes the documented node layout and JSON: <root>/<service>/<id>, ephemeral, owned by the registering session", async () => {
    const provider = registry({ root: "/layout-test/services" });
    await provider.register("grading-rpc", { id: "grading-rpc-0", host: "10.0.0.8", port: 7000, track: "stable", weight: 90, pod: "grading-rpc-0" });
    const inspector = await rawClient();
    const [data, stat] = await new Promise<[Buffer, zookeeper.Stat]>((resolve, reject) =>
      inspector.getData("/layout-test/services/grading-rpc/grading-rpc-0", (e, d, s) => (e ? reject(e) : resolve([d, s]))),
    );
    const json = JSON.parse(data.toString("utf8"));
    expect(Object.keys(json).sort()).toEqual(["host", "pod", "port", "registeredAt", "track", "weight"]);
    expect(json).toMatchObject({ host: "10.0.0.8", port: 7000, track: "stable", weight: 90, pod: "grading-rpc-0" });
    expect(new Date(json.registeredAt).toISOString()).toBe(json.registeredAt);
    expect(stat.ephemeralOwner.toString("hex")).toBe(provider.stats().sessionId);
  });

  it("watching a service whose directory does not exist yet sees it once the first instance registers", async () => {
    const consumer = registry();
    const watch = consumer.watch("not-yet-rpc");
    await watch.ready();
    expect(watch.current()).toEqual([]);
    await registry().register("not-yet-rpc", { id: "a", host: "10.0.0.1", port: 1 });
    await eventually(
      () => ids(watch).join() === "a",
      () => ids(watch).join(),
    );
  });

  it("an instance node with invalid data is skipped (and reported), without hiding the valid ones", async () => {
    const warnings: string[] = [];
    const consumer = registry({ logger: { ...silentLogger, warn: (m, f) => warnings.push(`${m} ${JSON.stringify(f)}`) } });
    const writer = await rawClient();
    await zkCall((cb) => writer.mkdirp("/classroom/services/mixed-rpc", cb));
    await zkCall((cb) => writer.create("/classroom/services/mixed-rpc/bad", Buffer.from('{"host":"h","port":"x"}'), zookeeper.CreateMode.EPHEMERAL, cb));
    await zkCall((cb) =>
      writer.create(
        "/classroom/services/mixed-rpc/good",
        Buffer.from('{"host":"10.0.0.2","port":80,"track":"stable","weight":100}'),
        zookeeper.CreateMode.EPHEMERAL,
        cb,
      ),
    );
    const watch = consumer.watch("mixed-rpc");
    await watch.ready();
    await eventually(
      () => ids(watch).join() === "good",
      () => ids(watch).join(),
    );
    expect(warnings.join("\n")).toContain("node bad: port must be an integer 1-65535");
  });

  it("a registration whose id is held by another session's node never deletes it, and takes over once it is gone", async () => {
    const other = await connectRawClient(zk.connectString);
    clients.push(other);
    await zkCall((cb) => other.mkdirp("/classroom/services/taken-rpc", cb));
    await zkCall((cb) => other.create("/classroom/services/taken-rpc/pod-x", Buffer.from('{"host":"10.9.9.9","port":1}'), zookeeper.CreateMode.EPHEMERAL, cb));
    const mine = registry();
    let registered = false;
    const pending = mine.register("taken-rpc", { id: "pod-x", host: "10.0.0.3", port: 2 }).then((h) => {
      registered = true;
      return h;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(registered).toBe(false);
    const [data] = await new Promise<[Buffer]>((resolve, reject) =>
      other.getData("/classroom/services/taken-rpc/pod-x", (e, d) => (e ? reject(e) : resolve([d]))),
    );
    expect(JSON.parse(data.toString()).host).toBe("10.9.9.9");

    await closeRawClient(other);
    const handle = await pending;
    expect(handle.registered).toBe(true);
    const watch = mine.watch("taken-rpc");
    await eventually(
      () => watch.current()[0]?.host === "10.0.0.3",
      () => JSON.stringify(watch.current()),
    );
  });

  it("a registered node deleted by someone else (or rewritten and then deleted) is re-created by its owner", async () => {
    const provider = registry();
    const handle = await provider.register("healing-rpc", { id: "pod-h", host: "10.0.0.4", port: 9 });
    const operator = await rawClient();
    const path = "/classroom/services/healing-rpc/pod-h";
    await zkCall((cb) => operator.setData(path, Buffer.from(JSON.stringify({ host: "10.0.0.4", port: 9, track: "stable", weight: 50 })), -1, cb));
    await new Promise((r) => setTimeout(r, 100));
    await zkCall<void>((cb) => operator.remove(path, -1, (e) => cb(e, undefined)));
    let owner: string | undefined;
    for (const deadline = Date.now() + 5_000; owner === undefined && Date.now() < deadline;) {
      const stat = await zkCall<zookeeper.Stat | null>((cb) => operator.exists(path, cb));
      owner = stat?.ephemeralOwner.toString("hex");
      if (owner === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    expect(owner).toBe(provider.stats().sessionId);
    await eventually(
      () => handle.registered,
      () => "the handle never reported the re-registration",
    );
  });

  it("forceNewSession() behaves like an expiry: new session, nodes re-created under it, watches keep working", async () => {
    const provider = registry();
    const handle = await provider.register("forced-rpc", { id: "pod-f", host: "10.0.0.5", port: 9 });
    const watch = provider.watch("forced-rpc");
    await eventually(
      () => ids(watch).join() === "pod-f",
      () => ids(watch).join(),
    );
    const before = provider.stats().sessionId;
    provider.forceNewSession();
    await eventually(
      () => provider.stats().sessionsOpened === 2 && handle.registered && watch.source === "zookeeper",
      () => JSON.stringify(provider.stats()),
    );
    expect(provider.stats().sessionId).not.toBe(before);
    await provider.register("forced-rpc", { id: "pod-g", host: "10.0.0.6", port: 9 });
    await eventually(
      () => ids(watch).join() === "pod-f,pod-g",
      () => ids(watch).join(),
    );
  });

  it("an idle watch reads only what changed: one registration costs one listing plus one data read", async () => {
    const consumer = registry();
    const watch = consumer.watch("cost-rpc");
    const provider = registry();
    for (let i = 0; i < 20; i++) await provider.register("cost-rpc", { id: `p${i}`, host: `10.0.1.${i}`, port: 1 });
    await eventually(
      () => watch.current().length === 20,
      () => ids(watch).join(),
    );
    await new Promise((r) => setTimeout(r, 200));
    const before = consumer.stats().reads;
    await provider.register("cost-rpc", { id: "p20", host: "10.0.1.20", port: 1 });
    await eventually(
      () => watch.current().length === 21,
      () => ids(watch).join(),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(consumer.stats().reads - before).toBe(2);
  });
});

describe("churn from other sessions", () => {
  it("after every one of 150 concurrent bursts (3000+ changes) current() equals ZooKeeper's truth within 2 s", async () => {
    const consumer = registry();
    const watch = consumer.watch("churn-rpc");
    const second = registry().watch("churn-rpc"); // a second watcher in another session must agree too
    const churn = await InstanceChurn.start(zk.connectString, "/classroom/services/churn-rpc", { sessions: 4, population: 30, seed: 7 });
    try {
      await watch.ready();
      let changes = 0;
      for (let burst = 0; burst < 150; burst++) {
        changes += await churn.burst(20);
        await eventually(
          () => churn.matches(watch.current()) && churn.matches(second.current()),
          () =>
            `burst ${burst}: watch has ${ids(watch).length} instances, truth ${churn.truth.size}; missing ${[...churn.truth.keys()].filter((id) => !ids(watch).includes(id)).join(",")}; extra ${ids(
              watch,
            )
              .filter((id) => !churn.truth.has(id))
              .join(",")}`,
          2_000,
        );
      }
      expect(changes).toBeGreaterThanOrEqual(3_000);
      expect(watch.source).toBe("zookeeper");
    } finally {
      await churn.close();
    }
  });
});
