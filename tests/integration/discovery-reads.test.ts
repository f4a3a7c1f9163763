import * as zookeeper from "node-zookeeper-client";
import { ServiceRegistry, WatchHandle, silentLogger } from "../../runtime/discovery";
import { ZooKeeperServer, closeRawClient, connectRawClient, zkCall } from "../harness/zookeeper";

// What each kind of change costs a watcher in ZooKeeper reads (getChildren, getData, exists), against a
// real ZooKeeper 3.8. Reads are what every caller of every service multiplies, so they are specified.

jest.setTimeout(60_000);

const DIR = "/classroom/services/billing-rpc";
let zk: ZooKeeperServer;
let writer: zookeeper.Client;
let consumer: ServiceRegistry;
let watch: WatchHandle;

async function eventually(check: () => boolean, describe: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Reads the watcher makes while `change` happens and the watch catches up with it. */
async function readsFor(change: () => Promise<unknown>, caughtUp: () => boolean): Promise<number> {
  const before = consumer.stats().reads;
  await change();
  await eventually(caughtUp, () => JSON.stringify(watch.current()));
  await new Promise((r) => setTimeout(r, 300)); // anything still to come would have been sent by now
  return consumer.stats().reads - before;
}

const node = (host: string, weight: number) => Buffer.from(JSON.stringify({ host, port: 9090, track: "stable", weight }));
const weightOf = (id: string) => watch.current().find((i) => i.id === id)?.weight;

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  writer = await connectRawClient(zk.connectString);
  await zkCall((cb) => writer.mkdirp(DIR, cb));
  await zkCall((cb) => writer.create(`${DIR}/a`, node("10.0.0.1", 100), zookeeper.CreateMode.EPHEMERAL, cb));
  consumer = new ServiceRegistry({ connect: zk.connectString, sessionTimeoutMs: 10_000, logger: silentLogger });
  watch = consumer.watch("billing-rpc");
  await eventually(
    () => watch.current().length === 1 && watch.source === "zookeeper",
    () => watch.source,
  );
});

afterAll(async () => {
  await consumer?.close();
  if (writer) await closeRawClient(writer);
  await zk?.destroy();
});

it("a weight change costs one read of that node, no listing", async () => {
  const reads = await readsFor(
    () => zkCall((cb) => writer.setData(`${DIR}/a`, node("10.0.0.1", 40), -1, cb)),
    () => weightOf("a") === 40,
  );
  expect(reads).toBe(1);
});

it("a new instance costs one listing and one read of the new node", async () => {
  const reads = await readsFor(
    () => zkCall((cb) => writer.create(`${DIR}/b`, node("10.0.0.2", 100), zookeeper.CreateMode.EPHEMERAL, cb)),
    () => weightOf("b") === 100,
  );
  expect(reads).toBe(2);
});

it("a removed instance costs one listing", async () => {
  const reads = await readsFor(
    () => zkCall<void>((cb) => writer.remove(`${DIR}/b`, -1, (e) => cb(e, undefined))),
    () => weightOf("b") === undefined,
  );
  expect(reads).toBe(1);
});
