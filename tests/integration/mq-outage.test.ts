import Redis from "ioredis";
import { KafkaBroker } from "../harness/kafka";
import { RedisServer } from "../harness/redis";
import { BufferedProducer, SendResult } from "../../runtime/mq/producer";
import { Replayer } from "../../runtime/mq/replayer";
import { Deduplicator } from "../../runtime/mq/dedupe";

const TOPIC = "classroom.events";
const SHARDS = 8;
const KEYS = 1_000;
const TOTAL = 100_000;
const BATCH = 500;
const AFTER_TOPIC = "classroom.after";

describe("Kafka outage buffer: a broker outage in the middle of a keyed stream", () => {
  let kafka: KafkaBroker;
  let redisServer: RedisServer;
  let redis: Redis;

  beforeAll(async () => {
    [kafka, redisServer] = await Promise.all([KafkaBroker.start(), RedisServer.start()]);
    await kafka.createTopic(TOPIC, 8);
    await kafka.createTopic(AFTER_TOPIC, 1);
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 2 });
  }, 90_000);

  afterAll(async () => {
    redis?.disconnect();
    await Promise.all([kafka?.destroy(), redisServer?.destroy()]);
  }, 60_000);

  test("every one of 100,000 messages arrives, in per-key order once duplicates are dropped by message id", async () => {
    const producer = new BufferedProducer({ kafkaBootstrap: [kafka.bootstrap], redis, shards: SHARDS, kafkaSendTimeoutMs: 1_500 });
    const replayer = new Replayer({ redis, kafkaBootstrap: [kafka.bootstrap], shards: SHARDS, leaseTtlMs: 3_000, kafkaSendTimeoutMs: 3_000 });
    await producer.start();
    await replayer.start();
    const paths = { kafka: 0, redis: 0 };
    let liveAfterRestart = 0;
    let restarting: Promise<void> | undefined;
    try {
      // Message n has key k<n % KEYS> and per-key sequence n / KEYS. Up to 8 calls in flight: the
      // producer queues per shard in call order, so per-key order is the order of the calls.
      const inFlight = new Set<Promise<SendResult>>();
      for (let start = 0; start < TOTAL; start += BATCH) {
        if (start === 30_000) await kafka.kill();
        if (start === 40_000) restarting = kafka.restart();
        if (start === 70_000) await restarting; // the rest is sent while the replayer drains the backlog
        const messages = [];
        for (let n = start; n < start + BATCH; n++) messages.push({ key: `k${n % KEYS}`, value: String(Math.floor(n / KEYS)) });
        const afterRestart = start >= 70_000;
        const call = producer.send(TOPIC, messages);
        inFlight.add(call);
        void call
          .then(
            (r) => {
              paths.kafka += r.kafka;
              paths.redis += r.redis;
              if (afterRestart) liveAfterRestart += r.kafka;
            },
            () => undefined,
          )
          .finally(() => inFlight.delete(call));
        if (inFlight.size >= 8) await Promise.race(inFlight);
        // Keep the stream going across the outage, and after the restart slowly enough (up to 6 s) for the
        // replayer to catch up while traffic continues.
        if (start >= 30_000 && liveAfterRestart === 0) await new Promise((r) => setTimeout(r, afterRestart ? 100 : 20));
      }
      await Promise.all(inFlight); // rejects (and fails the test) if any send reached neither Kafka nor Redis
      await restarting;

      expect(paths.kafka + paths.redis).toBe(TOTAL);
      expect(paths.kafka).toBeGreaterThan(0);
      expect(paths.redis).toBeGreaterThan(0);
      // Under continuing traffic the shards went back to Kafka once the backlog was replayed.
      expect(liveAfterRestart).toBeGreaterThan(0);

      const dedupe = new Deduplicator();
      const lastSeq = new Map<string, number>();
      const orderViolations: string[] = [];
      let consumed = 0;
      await kafka.readTopic(
        TOPIC,
        (m) => {
          consumed++;
          if (!dedupe.acceptMessage(m)) return;
          const key = m.key.toString();
          const seq = Number(m.value.toString());
          const expected = (lastSeq.get(key) ?? -1) + 1;
          if (seq !== expected && orderViolations.length < 5) {
            orderViolations.push(`${key}: got ${seq}, expected ${expected} (partition ${m.partition} offset ${m.offset}, consumed ${consumed})`);
          }
          lastSeq.set(key, seq);
        },
        () => dedupe.stats.accepted >= TOTAL,
        90_000,
      );

      expect(orderViolations).toEqual([]);
      expect(dedupe.stats.accepted).toBe(TOTAL);
      expect(dedupe.stats.withoutId).toBe(0); // every message carries its id, so the dedupe really checked it
      expect(consumed - dedupe.stats.dropped).toBe(TOTAL);
      for (let k = 0; k < KEYS; k++) expect(lastSeq.get(`k${k}`)).toBe(TOTAL / KEYS - 1);
      // Nothing is left in the buffer.
      for (let s = 0; s < SHARDS; s++) expect(await redis.xlen(`classroom:mq:stream:${s}`)).toBe(0);
      // Once the backlog is replayed, every shard sends to Kafka directly again.
      const liveKeys = Array.from({ length: 64 }, (_, i) => ({ key: `k${i}`, value: "after" }));
      let after: SendResult | undefined;
      for (let attempt = 0; attempt < 50 && after?.path !== "kafka"; attempt++) {
        after = await producer.send(AFTER_TOPIC, liveKeys);
        if (after.path !== "kafka") await new Promise((r) => setTimeout(r, 200));
      }
      expect(after?.path).toBe("kafka");
      for (let s = 0; s < SHARDS; s++) expect(producer.shardMode(s)).toBe("live");
      console.log(
        JSON.stringify({
          viaKafka: paths.kafka,
          viaRedis: paths.redis,
          liveAfterRestart,
          consumed,
          duplicatesDropped: dedupe.stats.dropped,
          replayed: replayer.stats.replayedMessages,
        }),
      );
    } finally {
      await restarting?.catch(() => undefined);
      await producer.close();
      await replayer.stop();
    }
  }, 150_000);
});
