import { KafkaBroker } from "../harness/kafka";
import { freePort } from "../harness/ports";
import { RedisServer } from "../harness/redis";
import { startReplayerFromSource } from "../support/replayer-process";
import { BufferedProducer } from "../../runtime/mq/producer";
import { connectRedis } from "../../runtime/mq/redis";
import { Replayer, ReplayerEvent } from "../../runtime/mq/replayer";

const SHARDS = 4;
const TOPIC = "classroom.lease";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Blocks the event loop, as loading a big module or a long GC pause does. */
function stallEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    /* busy */
  }
}

describe("Kafka outage buffer: replayer leases", () => {
  let kafka: KafkaBroker;
  let redisServer: RedisServer;

  beforeAll(async () => {
    [kafka, redisServer] = await Promise.all([KafkaBroker.start(), RedisServer.start()]);
    await kafka.createTopic(TOPIC, 4);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([kafka?.destroy(), redisServer?.destroy()]);
  }, 60_000);

  /** Buffers `total` messages into every shard of `prefix` (Kafka unreachable for this producer). */
  async function fillBacklog(prefix: string, total: number): Promise<void> {
    const redis = connectRedis({ url: redisServer.url });
    const producer = new BufferedProducer({
      kafkaBootstrap: [`127.0.0.1:${await freePort()}`],
      redis,
      shards: SHARDS,
      keyPrefix: prefix,
      kafkaSendTimeoutMs: 1_000,
    });
    try {
      await producer.start();
      for (let start = 0; start < total; start += 1_000) {
        const result = await producer.send(
          TOPIC,
          Array.from({ length: 1_000 }, (_, i) => ({ key: `k${(start + i) % 100}`, value: String(start + i) })),
        );
        expect(result.path).toBe("redis");
      }
    } finally {
      await producer.close();
      redis.disconnect();
    }
  }

  test("a freshly started daemon keeps the leases it takes: loading the Kafka client cannot let them lapse", async () => {
    const prefix = "slow-start";
    await fillBacklog(prefix, 20_000);
    const redis = connectRedis({ url: redisServer.url });
    // A fresh process loads @platformatic/kafka for the first time (seconds on a loaded machine, longer than this TTL).
    const daemon = startReplayerFromSource({
      CLASSROOM_REDIS_URL: redisServer.url,
      CLASSROOM_KAFKA_BOOTSTRAP: kafka.bootstrap,
      CLASSROOM_MQ_SHARDS: String(SHARDS),
      CLASSROOM_MQ_KEY_PREFIX: prefix,
      CLASSROOM_MQ_LEASE_TTL_MS: "2000",
      CLASSROOM_MQ_BATCH_SIZE: "200",
    });
    try {
      const backlog = async () => {
        let n = 0;
        for (let s = 0; s < SHARDS; s++) n += await redis.xlen(`${prefix}:stream:${s}`);
        return n;
      };
      await waitFor("the daemon to drain every shard", async () => (await backlog()) === 0, 90_000);
      await sleep(4_000); // two more lease TTLs of renewals
      const events = daemon.log
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { event: string; shard?: number });
      const acquired = events
        .filter((e) => e.event === "lease-acquired")
        .map((e) => e.shard)
        .sort();
      expect(events.filter((e) => e.event === "lease-lost")).toEqual([]);
      expect(acquired).toEqual([0, 1, 2, 3]);
    } finally {
      await daemon.stop();
      redis.disconnect();
    }
  }, 150_000);

  test("a lease another replica took is reported as lost, with the reason, and that shard is no longer replayed here", async () => {
    const prefix = "taken";
    const redis = connectRedis({ url: redisServer.url });
    const events: ReplayerEvent[] = [];
    const replayer = new Replayer({
      redis,
      kafkaBootstrap: [kafka.bootstrap],
      shards: SHARDS,
      keyPrefix: prefix,
      leaseTtlMs: 1_500,
      onEvent: (e) => events.push(e),
    });
    try {
      await replayer.start();
      await waitFor("every lease", () => replayer.heldShards.length === SHARDS, 10_000);
      // Another replica holds the lease now (as after an expiry this replica did not notice).
      await redis.set(`${prefix}:lease:2`, "999:other-replica:abc", "PX", 60_000);
      await waitFor("the loss to be noticed", () => !replayer.heldShards.includes(2), 5_000);
      expect(events.filter((e) => e.type === "lease-lost")).toEqual([{ type: "lease-lost", shard: 2, reason: "taken" }]);
      expect(await redis.get(`${prefix}:lease:2`)).toBe("999:other-replica:abc"); // the other replica's lease is left alone
    } finally {
      await replayer.stop();
      redis.disconnect();
    }
  }, 60_000);

  test("an event-loop stall shorter than the TTL is reported and costs no lease", async () => {
    const prefix = "stall";
    const redis = connectRedis({ url: redisServer.url });
    const events: ReplayerEvent[] = [];
    const ttl = 3_000;
    const replayer = new Replayer({
      redis,
      kafkaBootstrap: [kafka.bootstrap],
      shards: SHARDS,
      keyPrefix: prefix,
      leaseTtlMs: ttl,
      onEvent: (e) => events.push(e),
    });
    try {
      await replayer.start();
      await waitFor("every lease", () => replayer.heldShards.length === SHARDS, 10_000);
      // Just after a renewal, so that the leases are still valid in Redis when the stall ends.
      await waitFor("a renewal", async () => Number(await redis.pttl(`${prefix}:lease:0`)) > ttl - 150, 5_000);
      stallEventLoop(ttl * 0.6);
      await sleep(ttl);
      expect(events.filter((e) => e.type === "lease-renewal-late").length).toBeGreaterThanOrEqual(1);
      expect(events.filter((e) => e.type === "lease-lost")).toEqual([]);
      expect(replayer.heldShards).toEqual([0, 1, 2, 3]);
      expect(events.filter((e) => e.type === "lease-acquired")).toHaveLength(SHARDS);
    } finally {
      await replayer.stop();
      redis.disconnect();
    }
  }, 60_000);
});
