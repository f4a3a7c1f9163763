import { ServiceRegistry, WatchHandle, silentLogger } from "../../runtime/discovery";
import { ZooKeeperEnsemble } from "../harness/zookeeper";

// A three-server ensemble: losing one member (whichever the clients happen to use) must not lose a
// registration or a membership change, because the session moves to another member.

jest.setTimeout(120_000);

let ensemble: ZooKeeperEnsemble | undefined;
const registries: ServiceRegistry[] = [];

afterAll(async () => {
  await Promise.all(registries.map((r) => r.close()));
  await ensemble?.destroy();
});

async function eventually(check: () => boolean, describe: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ids = (w: WatchHandle) =>
  w
    .current()
    .map((i) => i.id)
    .join(",");

it("survives the loss of any one member: same sessions, registrations kept, later changes seen", async () => {
  ensemble = await ZooKeeperEnsemble.start();
  const make = () => {
    const r = new ServiceRegistry({ connect: ensemble!.connectString, sessionTimeoutMs: 10_000, logger: silentLogger });
    registries.push(r);
    return r;
  };
  const provider = make();
  const consumer = make();
  await provider.register("room-rpc", { id: "a", host: "10.0.0.1", port: 9090 });
  const watch = consumer.watch("room-rpc");
  await eventually(
    () => ids(watch) === "a",
    () => ids(watch),
  );
  const sessions = [provider.stats().sessionId, consumer.stats().sessionId];

  for (const member of ensemble.members) {
    await member.kill();
    const id = `after-${member.port}`;
    const handle = await provider.register("room-rpc", { id, host: "10.0.0.2", port: 9090 });
    await eventually(
      () => ids(watch).includes(id) && watch.source === "zookeeper",
      () => `${watch.source} ${ids(watch)}`,
    );
    await handle.deregister();
    await eventually(
      () => ids(watch) === "a",
      () => ids(watch),
    );
    await member.startNoWait();
    await member.waitServing(60_000);
  }
  expect([provider.stats().sessionId, consumer.stats().sessionId]).toEqual(sessions);
});
