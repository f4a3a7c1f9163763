import Redis from "ioredis";
import { freePort } from "../harness/ports";
import { RedisServer } from "../harness/redis";
import { StreamBuffer } from "../../runtime/mq/buffer";
import { shardOf, toEnvelope } from "../../runtime/mq/message";
import { BufferedProducer, MqSendError } from "../../runtime/mq/producer";
import { connectRedis } from "../../runtime/mq/redis";

const SHARDS = 4;
const TOPIC = "classroom.deadline";
const KAFKA_TIMEOUT_MS = 1_000;
/** Timers on the loaded 2-core test machine fire late by this much, at most. */
const TIMER_SLACK_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One message per key, keys spread over every shard. */
function messages(tag: string, count = 40) {
  return Array.from({ length: count }, (_, i) => ({ key: `room-${i}`, value: `${tag}-${i}` }));
}

/** Runs `send` and returns how long it took to be rejected (fails the test if it resolved). */
async function timeToRejection(send: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  const outcome = await send().then(
    () => "resolved",
    (err: unknown) => err,
  );
  const elapsed = Date.now() - started;
  expect(outcome).toBeInstanceOf(MqSendError);
  return elapsed;
}

async function storedValues(redis: Redis, prefix: string): Promise<string[]> {
  const values: string[] = [];
  for (let s = 0; s < SHARDS; s++) {
    for (const [, fields] of await redis.xrange(`${prefix}:stream:${s}`, "-", "+")) values.push(fields[fields.indexOf("v") + 1]);
  }
  return values;
}

describe("Kafka outage buffer: the Redis deadline of a send", () => {
  let redisServer: RedisServer;
  let deadKafka: string;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    deadKafka = `127.0.0.1:${await freePort()}`; // nothing listens: Kafka is down for the whole file
  }, 60_000);

  afterAll(async () => {
    await redisServer?.destroy();
  }, 60_000);

  test.each([1_000, 3_000])(
    "with Kafka and Redis down while shards buffer, a send is told no within kafkaSendTimeoutMs + redisTimeoutMs (%i ms)",
    async (redisTimeoutMs) => {
      const prefix = `down-${redisTimeoutMs}`;
      const redis = connectRedis({ url: redisServer.url });
      const producer = new BufferedProducer({
        kafkaBootstrap: [deadKafka],
        redis,
        shards: SHARDS,
        keyPrefix: prefix,
        kafkaSendTimeoutMs: KAFKA_TIMEOUT_MS,
        redisTimeoutMs,
      });
      let killed = false;
      try {
        await producer.start();
        expect((await producer.send(TOPIC, messages("before"))).path).toBe("redis");
        for (let s = 0; s < SHARDS; s++) expect(producer.shardMode(s)).toBe("backlog"); // the stream-head check runs first
        await redisServer.kill();
        killed = true;
        const elapsed = [];
        for (let i = 0; i < 3; i++) elapsed.push(await timeToRejection(() => producer.send(TOPIC, messages(`during-${i}`))));
        // Concurrent sends queue per shard; each still gets its answer within its own deadline.
        const concurrent = await Promise.all([0, 1, 2].map((i) => timeToRejection(() => producer.send(TOPIC, messages(`concurrent-${i}`)))));
        console.log(JSON.stringify({ kafkaSendTimeoutMs: KAFKA_TIMEOUT_MS, redisTimeoutMs, rejectedAfterMs: elapsed, concurrentRejectedAfterMs: concurrent }));
        for (const ms of [...elapsed, ...concurrent]) expect(ms).toBeLessThanOrEqual(KAFKA_TIMEOUT_MS + redisTimeoutMs + TIMER_SLACK_MS);
        await redisServer.restart();
        killed = false;
        await sleep(1_000); // ioredis reconnects and sends whatever it still queued
        // What the callers were told failed did not happen behind their backs.
        expect((await storedValues(redis, prefix)).filter((v) => !v.startsWith("before"))).toEqual([]);
      } finally {
        if (killed) await redisServer.restart(); // for the next test, also when this one failed
        await producer.close();
        redis.disconnect();
      }
    },
    60_000,
  );

  test("a batch appended twice (ioredis re-sends a command whose reply a dropped connection lost) is stored once", async () => {
    const redis = connectRedis({ url: redisServer.url });
    try {
      const buffer = new StreamBuffer(redis, "resent", SHARDS);
      await buffer.clock.sync();
      const envelopes = messages("once", 3).map((m, i) => toEnvelope(TOPIC, m, `p.${i + 1}`));
      const first = await buffer.append(0, envelopes, { deadlineAt: Date.now() + 5_000 });
      const again = await buffer.append(0, envelopes, { deadlineAt: Date.now() + 5_000 });
      expect(again).toBe(first);
      expect(await storedValues(redis, "resent")).toEqual(["once-0", "once-1", "once-2"]);
    } finally {
      redis.disconnect();
    }
  }, 30_000);

  test("an append the producer gave up on never takes effect later, and later sends keep per-key order", async () => {
    const prefix = "stalled";
    const redis = connectRedis({ url: redisServer.url });
    const admin = new Redis(redisServer.url);
    const redisTimeoutMs = 1_000;
    const producer = new BufferedProducer({
      kafkaBootstrap: [deadKafka],
      redis,
      shards: SHARDS,
      keyPrefix: prefix,
      kafkaSendTimeoutMs: KAFKA_TIMEOUT_MS,
      redisTimeoutMs,
    });
    try {
      await producer.start();
      for (let s = 0; s < SHARDS; s++) expect(producer.shardMode(s)).toBe("live"); // the append comes straight after the Kafka failure
      // A stalled server (GC pause of the host, a slow disk): commands stay in the socket and run when it resumes.
      const pauseMs = KAFKA_TIMEOUT_MS + redisTimeoutMs + 2_000;
      await admin.call("CLIENT", "PAUSE", String(pauseMs), "ALL");
      const pausedAt = Date.now();
      const elapsed = await timeToRejection(() => producer.send(TOPIC, messages("given-up")));
      expect(elapsed).toBeLessThanOrEqual(KAFKA_TIMEOUT_MS + redisTimeoutMs + TIMER_SLACK_MS);
      await sleep(pausedAt + pauseMs + 500 - Date.now());

      const after = await producer.send(TOPIC, messages("after"));
      expect(after.path).toBe("redis");
      const stored = await storedValues(redis, prefix);
      expect(stored.filter((v) => v.startsWith("given-up"))).toEqual([]);
      // Per shard, exactly the accepted messages in the order they were sent.
      for (let s = 0; s < SHARDS; s++) {
        const stream = await redis.xrange(`${prefix}:stream:${s}`, "-", "+");
        const expected = messages("after")
          .filter((m) => shardOf(m.key, SHARDS) === s)
          .map((m) => m.value);
        expect(stream.map(([, fields]) => fields[fields.indexOf("v") + 1])).toEqual(expected);
      }
    } finally {
      await producer.close();
      admin.disconnect();
      redis.disconnect();
    }
  }, 60_000);
});
