import * as zookeeper from "node-zookeeper-client";
import { Logger, ServiceRegistry, WatchHandle, silentLogger } from "../../runtime/discovery";
import { ZooKeeperServer, closeRawClient, connectRawClient, zkCall } from "../harness/zookeeper";

// Instance nodes written by other processes (any language) whose data breaks the contract, read by a
// real watch from a real ZooKeeper 3.8: the bad node is skipped with a warning that says what is wrong,
// and the valid ones around it are still served.

jest.setTimeout(60_000);

let zk: ZooKeeperServer;
let registry: ServiceRegistry;
let writer: zookeeper.Client;
const warnings: string[] = [];
const logger: Logger = { ...silentLogger, warn: (message, fields) => warnings.push(`${message} ${fields?.error ?? ""}`) };

async function eventually(check: () => boolean, describe: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ids = (w: WatchHandle) =>
  w
    .current()
    .map((i) => i.id)
    .join(",");

function put(id: string, data: string): Promise<string> {
  return zkCall((cb) => writer.create(`/classroom/services/grading-rpc/${id}`, Buffer.from(data), zookeeper.CreateMode.EPHEMERAL, cb));
}

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  writer = await connectRawClient(zk.connectString);
  await zkCall((cb) => writer.mkdirp("/classroom/services/grading-rpc", cb));
  registry = new ServiceRegistry({ connect: zk.connectString, sessionTimeoutMs: 4_000, logger });
});

afterAll(async () => {
  await registry?.close();
  if (writer) await closeRawClient(writer);
  await zk?.destroy();
});

it("skips a node whose data is a JSON array, warning that the data must be a JSON object, and serves the valid nodes", async () => {
  await put("good-1", JSON.stringify({ host: "10.0.0.1", port: 9090 }));
  // A writer that wrapped its instance in a list: every field is there, one level too deep.
  await put("listed", JSON.stringify([{ host: "10.0.0.2", port: 9090 }]));
  await put("good-2", JSON.stringify({ host: "10.0.0.3", port: 9090, track: "canary", weight: 10 }));

  const watch = registry.watch("grading-rpc");
  await eventually(
    () => ids(watch) === "good-1,good-2" && watch.source === "zookeeper",
    () => `${watch.source} ${ids(watch)}`,
  );
  expect(watch.picker().pick()).toBeDefined();

  const aboutListed = warnings.filter((w) => w.includes("node listed"));
  expect(aboutListed).toEqual([
    'ignoring instance node with invalid data node listed: data must be a JSON object with host and port, got an array ([{"host":"10.0.0.2","port":9090}])',
  ]);
  watch.close();
});
