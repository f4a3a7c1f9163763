import Redis from "ioredis";
import { KafkaBroker } from "../harness/kafka";
import { freePort } from "../harness/ports";
import { ManagedProcess } from "../harness/process";
import { RedisServer } from "../harness/redis";
import { startReplayerFromSource } from "../support/replayer-process";
import { StreamBuffer } from "../../runtime/mq/buffer";
import { Deduplicator } from "../../runtime/mq/dedupe";
import { KafkaSender } from "../../runtime/mq/kafka-send";
import { BufferedProducer, MqSendError } from "../../runtime/mq/producer";
import { connectRedis } from "../../runtime/mq/redis";
import { Replayer } from "../../runtime/mq/replayer";

const SHARDS = 4;
/** `appendfsync everysec` loses about a second on a crash; Redis lets fsync lag up to 2 s before it blocks writes. */
const DURABILITY_BOUND_MS = 2_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

async function backlog(redis: Redis, prefix: string): Promise<number> {
  let total = 0;
  for (let s = 0; s < SHARDS; s++) total += await redis.xlen(`${prefix}:stream:${s}`);
  return total;
}

/** Reads the topic through the dedupe until `enough(unique, raw)`; returns each key's values in arrival order. */
async function readBack(kafka: KafkaBroker, topic: string, enough: (unique: number, raw: number) => boolean) {
  const dedupe = new Deduplicator();
  const seen = new Map<string, number[]>();
  let raw = 0;
  await kafka.readTopic(
    topic,
    (m) => {
      raw++;
      if (!dedupe.acceptMessage(m)) return;
      const key = m.key.toString();
      let list = seen.get(key);
      if (!list) seen.set(key, (list = []));
      list.push(Number(m.value.toString()));
    },
    () => enough(dedupe.stats.accepted, raw),
    60_000,
  );
  return { dedupe, seen, raw };
}

describe("Kafka outage buffer: crashes while messages sit in Redis", () => {
  let kafka: KafkaBroker;
  let redisServer: RedisServer;
  let deadKafka: string;

  beforeAll(async () => {
    [kafka, redisServer] = await Promise.all([KafkaBroker.start(), RedisServer.start()]);
    await kafka.createTopic("classroom.replay", 4);
    await kafka.createTopic("classroom.restart", 4);
    deadKafka = `127.0.0.1:${await freePort()}`; // nothing listens: the producers' Kafka is down for the whole test
  }, 90_000);

  afterAll(async () => {
    await Promise.all([kafka?.destroy(), redisServer?.destroy()]);
  }, 60_000);

  test("a replayer daemon SIGKILLed mid-replay loses nothing: another replica takes its shards after the lease TTL and re-sent batches are dropped by id", async () => {
    const prefix = "replay-test";
    const redis = connectRedis({ url: redisServer.url });
    const producer = new BufferedProducer({ kafkaBootstrap: [deadKafka], redis, shards: SHARDS, keyPrefix: prefix, kafkaSendTimeoutMs: 1_000 });
    let daemon: ManagedProcess | undefined;
    let successor: Replayer | undefined;
    try {
      await producer.start();
      const TOTAL = 20_000;
      const KEYS = 200;
      for (let start = 0; start < TOTAL; start += 1_000) {
        const messages = Array.from({ length: 1_000 }, (_, i) => ({ key: `k${(start + i) % KEYS}`, value: String(Math.floor((start + i) / KEYS)) }));
        const result = await producer.send("classroom.replay", messages);
        expect(result.path).toBe("redis");
      }
      expect(await backlog(redis, prefix)).toBe(TOTAL);

      // A crash between Kafka's acknowledgement and the trim, made exact: replay the head of shard 0
      // into Kafka and leave it in the stream, as a replayer killed at that moment would.
      const buffer = new StreamBuffer(redis, prefix, SHARDS);
      const head = await buffer.read(0, 100);
      const sender = new KafkaSender({ bootstrap: [kafka.bootstrap], clientId: "crashed-replayer" });
      await sender.send(head.map((e) => e.envelope));
      await sender.close();

      // node with the tsx loader, not the tsx CLI: the CLI forks a child that would survive the SIGKILL.
      daemon = startReplayerFromSource({
        CLASSROOM_REDIS_URL: redisServer.url,
        CLASSROOM_KAFKA_BOOTSTRAP: kafka.bootstrap,
        CLASSROOM_MQ_SHARDS: String(SHARDS),
        CLASSROOM_MQ_KEY_PREFIX: prefix,
        CLASSROOM_MQ_LEASE_TTL_MS: "2000",
        CLASSROOM_MQ_BATCH_SIZE: "50",
        CLASSROOM_MQ_LOG_BATCHES: "1",
      });
      await waitFor("the daemon to replay a few batches", () => (daemon!.log.match(/"event":"replayed"/g) ?? []).length >= 5, 60_000);
      await daemon.kill();
      const left = await backlog(redis, prefix);
      expect(left).toBeGreaterThan(0); // killed mid-replay, not after
      expect(left).toBeLessThan(TOTAL);

      successor = new Replayer({ redis, kafkaBootstrap: [kafka.bootstrap], shards: SHARDS, keyPrefix: prefix, leaseTtlMs: 2_000, batchSize: 500 });
      await successor.start();
      await waitFor("the successor to drain every shard", async () => (await backlog(redis, prefix)) === 0, 60_000);
      expect(successor.heldShards).toEqual([0, 1, 2, 3]);

      const { dedupe, seen } = await readBack(kafka, "classroom.replay", (unique) => unique >= TOTAL);
      expect(dedupe.stats.accepted).toBe(TOTAL);
      expect(dedupe.stats.withoutId).toBe(0);
      expect(dedupe.stats.dropped).toBeGreaterThanOrEqual(100); // at least the head of shard 0, sent twice
      for (let k = 0; k < KEYS; k++) expect(seen.get(`k${k}`)).toEqual(Array.from({ length: TOTAL / KEYS }, (_, i) => i));
    } finally {
      await daemon?.kill();
      await successor?.stop();
      await producer.close();
      redis.disconnect();
    }
  }, 120_000);

  test("Redis restarted while buffering: a graceful restart loses nothing; a SIGKILL loses at most what was acknowledged within the fsync bound", async () => {
    const prefix = "restart-test";
    const redis = connectRedis({ url: redisServer.url });
    const producer = new BufferedProducer({
      kafkaBootstrap: [deadKafka],
      redis,
      shards: SHARDS,
      keyPrefix: prefix,
      kafkaSendTimeoutMs: 1_000,
      redisTimeoutMs: 1_000,
    });
    let replayer: Replayer | undefined;
    const KEYS = 100;
    const acked = new Map<string, number>(); // `${key}/${value}` -> when send resolved
    let failed = 0;
    let stop = false;
    let n = 0;
    try {
      await producer.start();
      const sending = (async () => {
        while (!stop) {
          const messages = Array.from({ length: 100 }, (_, i) => ({ key: `k${(n + i) % KEYS}`, value: String(Math.floor((n + i) / KEYS)) }));
          n += 100;
          try {
            await producer.send("classroom.restart", messages);
            const now = Date.now();
            for (const m of messages) acked.set(`${m.key}/${m.value}`, now);
          } catch (err) {
            if (!(err instanceof MqSendError)) throw err;
            failed += messages.length; // the caller was told; these may or may not be stored
            await sleep(50);
          }
          await sleep(5);
        }
      })();

      await sleep(1_500);
      const gracefulAt = Date.now();
      await redisServer.restart(); // SIGTERM: Redis writes out its AOF before it exits
      await sleep(1_500);
      const killedAt = Date.now();
      await redisServer.kill();
      await sleep(300);
      await redisServer.restart();
      await sleep(1_000);
      stop = true;
      await sending;
      expect(acked.size).toBeGreaterThan(1_000);

      const stored = await backlog(redis, prefix);
      replayer = new Replayer({ redis, kafkaBootstrap: [kafka.bootstrap], shards: SHARDS, keyPrefix: prefix, leaseTtlMs: 2_000 });
      await replayer.start();
      await waitFor("the replayer to drain every shard", async () => (await backlog(redis, prefix)) === 0, 60_000);
      const { seen } = await readBack(kafka, "classroom.restart", (_, raw) => raw >= stored);

      const arrived = new Set<string>();
      for (const [key, values] of seen) {
        for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]); // losses leave gaps, never reorder
        for (const v of values) arrived.add(`${key}/${v}`);
      }
      const lost = [...acked].filter(([id]) => !arrived.has(id));
      const lostBeforeBound = lost.filter(([, at]) => at < killedAt - DURABILITY_BOUND_MS);
      const lostAroundGraceful = lost.filter(([, at]) => at < gracefulAt + 500);
      console.log(JSON.stringify({ acknowledged: acked.size, rejected: failed, stored, lost: lost.length, lostBeforeBound: lostBeforeBound.length }));
      expect(lostAroundGraceful).toEqual([]);
      expect(lostBeforeBound).toEqual([]);
    } finally {
      stop = true;
      await replayer?.stop();
      await producer.close();
      redis.disconnect();
    }
  }, 120_000);
});
