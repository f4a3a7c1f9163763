import { Registry } from "prom-client";
import { ServiceRegistry, silentLogger } from "../../runtime/discovery";
import { ZooKeeperServer } from "../harness/zookeeper";
import { parseExposition, total } from "../support/prom-text";

// The discovery library's gauges in a registry the caller passes, against a real ZooKeeper that stops
// and comes back: the source moves zookeeper -> last-known -> kubernetes-dns -> zookeeper, and the
// staleness grows while ZooKeeper is away and drops to 0 once it answers again.

jest.setTimeout(120_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${what}; last ${JSON.stringify(v)}`);
    await sleep(100);
  }
}

test("source and staleness follow ZooKeeper going away and coming back", async () => {
  const zk = await ZooKeeperServer.start();
  const metrics = new Registry();
  const registry = new ServiceRegistry({
    connect: zk.connectString,
    sessionTimeoutMs: 4_000,
    logger: silentLogger,
    metrics,
    fallbackGraceMs: 1_000,
    dnsFallback: { namespace: "classroom-test-apps", port: 9090 },
  });
  try {
    const watch = registry.watch("grading-rpc");
    await watch.ready();
    const scrape = async () => parseExposition(await metrics.metrics());
    const source = (m: Awaited<ReturnType<typeof scrape>>) =>
      ["zookeeper", "last-known", "kubernetes-dns"].find((s) => total(m, "classroom_discovery_source", { watched_service: "grading-rpc", source: s }) === 1);

    const live = await until("the zookeeper source", scrape, (m) => source(m) === "zookeeper");
    expect(total(live, "classroom_discovery_staleness_seconds", { watched_service: "grading-rpc" })).toBe(0);
    expect(total(live, "classroom_discovery_zookeeper_connected")).toBe(1);
    // Exactly one source is 1 at a time.
    expect(total(live, "classroom_discovery_source", { watched_service: "grading-rpc" })).toBe(1);

    await zk.stop();
    const fallback = await until("the DNS fallback", scrape, (m) => source(m) === "kubernetes-dns");
    expect(total(fallback, "classroom_discovery_zookeeper_connected")).toBe(0);
    const staleA = total(fallback, "classroom_discovery_staleness_seconds", { watched_service: "grading-rpc" });
    expect(staleA).toBeGreaterThanOrEqual(1);
    await sleep(1_500);
    const staleB = total(await scrape(), "classroom_discovery_staleness_seconds", { watched_service: "grading-rpc" });
    expect(staleB).toBeGreaterThan(staleA);

    await zk.restart();
    const back = await until("zookeeper again", scrape, (m) => source(m) === "zookeeper");
    expect(total(back, "classroom_discovery_staleness_seconds", { watched_service: "grading-rpc" })).toBe(0);
  } finally {
    await registry.close();
    await zk.destroy();
  }
});
