import * as zookeeper from "node-zookeeper-client";
import { Instance, Logger, RegistrationHandle, ServiceRegistry, Source, silentLogger } from "../../runtime/discovery";
import { ZooKeeperServer, closeRawClient, connectRawClient, zkCall } from "../harness/zookeeper";

// Re-registration after ZooKeeper was down for longer than the session timeout, against a real
// ZooKeeper 3.8. The registry has counted its session as expired and opened a new one, but the server
// restores the old session from its log (with a fresh timeout), so the old nodes are still there,
// owned by a session this process held before. The registry must swap each of them for a node of its
// new session without the service directory ever being short for anyone watching it.

jest.setTimeout(120_000);

const SESSION_MS = 4_000;
const OUTAGE_MS = 6_000;
const SERVICE = "room-rpc";

let zk: ZooKeeperServer | undefined;
let registries: ServiceRegistry[] = [];

async function eventually(check: () => boolean, describe: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function owners(ids: string[]): Promise<Record<string, string | undefined>> {
  const c = await connectRawClient(zk!.connectString);
  try {
    const result: Record<string, string | undefined> = {};
    for (const id of ids) {
      const stat = await zkCall<zookeeper.Stat | null>((cb) => c.exists(`/classroom/services/${SERVICE}/${id}`, cb));
      result[id] = stat ? stat.ephemeralOwner.toString("hex") : undefined;
    }
    return result;
  } finally {
    await closeRawClient(c);
  }
}

/** Every "registered" line the registry logs, as "<path> <session>". */
function registrationLog(lines: string[]): Logger {
  return {
    ...silentLogger,
    info: (message, fields) => {
      if (message === "registered") lines.push(`${fields?.path} ${fields?.session}`);
    },
  };
}

beforeEach(async () => {
  zk = await ZooKeeperServer.start();
});

afterEach(async () => {
  await Promise.all(registries.map((r) => r.close()));
  registries = [];
  await zk?.destroy();
  zk = undefined;
});

/**
 * Registers `ids`, watches them from another registry, stops ZooKeeper for longer than the session
 * timeout and starts it again; checks what the watcher served meanwhile and what the registry wrote.
 */
async function outageLongerThanTheSession(ids: string[]): Promise<void> {
  const registered: string[] = [];
  const provider = new ServiceRegistry({ connect: zk!.connectString, sessionTimeoutMs: SESSION_MS, logger: registrationLog(registered) });
  // The caller keeps the last known list through the whole outage (no DNS step), so whatever it serves
  // afterwards comes from ZooKeeper itself.
  const consumer = new ServiceRegistry({ connect: zk!.connectString, sessionTimeoutMs: SESSION_MS, logger: silentLogger, fallbackGraceMs: 120_000 });
  registries.push(provider, consumer);
  const handles: RegistrationHandle[] = [];
  for (const id of ids) handles.push(await provider.register(SERVICE, { id, host: `10.0.0.${id.charCodeAt(0)}`, port: 9090 }));
  const watch = consumer.watch(SERVICE);
  const picker = watch.picker();
  await eventually(
    () => watch.current().length === ids.length && watch.source === "zookeeper",
    () => `${watch.source} ${watch.current().length}`,
  );
  const oldSession = provider.stats().sessionId!;

  // Everything the caller is told from here on, and whether pick() had an answer at that moment.
  const served: Array<{ source: Source; ids: string[]; picked: boolean }> = [];
  const record = (source: Source, instances: Instance[]) => served.push({ source, ids: instances.map((i) => i.id), picked: picker.pick() !== undefined });
  watch.on("change", (c) => record(c.source, c.instances));
  // Callers pick between events too; sample as fast as the event loop allows.
  const sampler = setInterval(() => record(watch.source, watch.current()), 1);

  try {
    await zk!.stop();
    await sleep(OUTAGE_MS); // by now the registry has given up its session: nothing is written until the server is back
    registered.length = 0;
    const writesBefore = provider.stats().writes;
    await zk!.restart();

    await eventually(
      () => handles.every((h) => h.registered),
      () => JSON.stringify(provider.stats()),
    );
    const newSession = provider.stats().sessionId!;
    expect(newSession).not.toBe(oldSession);
    expect(await owners(ids)).toEqual(Object.fromEntries(ids.map((id) => [id, newSession])));
    await eventually(
      () => watch.source === "zookeeper" && watch.current().length === ids.length,
      () => `${watch.source} ${watch.current().length}`,
    );
    // Let the caller digest the events of the replacement (its data watches fire on each swap).
    await sleep(1_000);

    const show = (s: { source: Source; ids: string[] }) => `${s.source}: [${s.ids.join(",")}]`;
    expect([...new Set(served.filter((s) => s.source === "zookeeper" && s.ids.length < ids.length).map(show))]).toEqual([]);
    expect([...new Set(served.filter((s) => !s.picked).map(show))]).toEqual([]);
    // Item 7: one node per id per session: a single successful creation each, no second create that
    // the node's own deletion watch used to trigger.
    expect(registered.sort()).toEqual(ids.map((id) => `/classroom/services/${SERVICE}/${id} ${newSession}`));
    // Per node: the create that found the restored node, then one transaction replacing it.
    expect(provider.stats().writes - writesBefore).toBeLessThanOrEqual(2 * ids.length);
  } finally {
    clearInterval(sampler);
  }
}

describe("ZooKeeper back after an outage longer than the session timeout, with the old session restored", () => {
  it("three instances: replaced atomically, so a watcher never sees a short list from ZooKeeper, and each node is created once", async () => {
    await outageLongerThanTheSession(["a", "b", "c"]);
  });

  it("a single instance: pick() never comes back empty while its node is replaced", async () => {
    await outageLongerThanTheSession(["solo"]);
  });
});
