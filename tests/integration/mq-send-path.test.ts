import * as diagnostics from "node:diagnostics_channel";
import { KafkaBroker } from "../harness/kafka";
import { RedisServer } from "../harness/redis";
import { BufferedProducer } from "../../runtime/mq/producer";
import { connectRedis } from "../../runtime/mq/redis";
import { shardOf } from "../../runtime/mq/message";

const SHARDS = 16;
const TOPIC = "classroom.path";
/** Kafka's Produce API key. */
const PRODUCE = 0;

/** Counts Produce requests put on the wire by any @platformatic/kafka client in this process. */
function countProduceRequests(): { readonly count: number; stop(): void } {
  const counter = { count: 0, stop: () => diagnostics.unsubscribe(channel, onStart) };
  const channel = "tracing:plt:kafka:connections:api:start";
  const onStart = (message: unknown) => {
    if ((message as { apiKey?: number }).apiKey === PRODUCE) counter.count++;
  };
  diagnostics.subscribe(channel, onStart);
  return counter;
}

/** `perShard` keys for every shard, so a send spans all of them. */
function keysOverAllShards(perShard: number): string[] {
  const keys: string[] = [];
  const have = new Array<number>(SHARDS).fill(0);
  for (let i = 0; keys.length < SHARDS * perShard; i++) {
    const shard = shardOf(`room-${i}`, SHARDS);
    if (have[shard] < perShard) {
      have[shard]++;
      keys.push(`room-${i}`);
    }
  }
  return keys;
}

describe("Kafka outage buffer: the healthy path", () => {
  let kafka: KafkaBroker;
  let redisServer: RedisServer;

  beforeAll(async () => {
    [kafka, redisServer] = await Promise.all([KafkaBroker.start(), RedisServer.start()]);
    await kafka.createTopic(TOPIC, 4);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([kafka?.destroy(), redisServer?.destroy()]);
  }, 60_000);

  test("while no shard buffers, one send spanning all 16 shards costs one produce request", async () => {
    const redis = connectRedis({ url: redisServer.url });
    const producer = new BufferedProducer({ kafkaBootstrap: [kafka.bootstrap], redis, shards: SHARDS, keyPrefix: "healthy" });
    try {
      await producer.start();
      const keys = keysOverAllShards(10);
      await producer.send(TOPIC, [{ key: keys[0], value: "warm-up" }]); // metadata and producer id
      const produce = countProduceRequests();
      try {
        const result = await producer.send(
          TOPIC,
          keys.map((key, i) => ({ key, value: String(i) })),
        );
        expect(result).toMatchObject({ path: "kafka", kafka: keys.length, redis: 0 });
        expect(produce.count).toBe(1);
      } finally {
        produce.stop();
      }
    } finally {
      await producer.close();
      redis.disconnect();
    }
  }, 60_000);

  test("a shard with backlog still takes the backlog path while the others share one produce request", async () => {
    const prefix = "one-buffering";
    const redis = connectRedis({ url: redisServer.url });
    const keys = keysOverAllShards(10);
    const buffering = shardOf(keys[0], SHARDS);
    // An entry a crashed predecessor left in one shard: that shard must not overtake it.
    const leftOver = await redis.xadd(`${prefix}:stream:${buffering}`, "*", "id", "crashed.1", "t", TOPIC, "k", keys[0], "v", "old");
    const producer = new BufferedProducer({ kafkaBootstrap: [kafka.bootstrap], redis, shards: SHARDS, keyPrefix: prefix });
    try {
      await producer.start();
      expect(producer.shardMode(buffering)).toBe("backlog");
      await producer.send(TOPIC, [{ key: keys.find((k) => shardOf(k, SHARDS) !== buffering)!, value: "warm-up" }]);
      const produce = countProduceRequests();
      try {
        const result = await producer.send(
          TOPIC,
          keys.map((key, i) => ({ key, value: String(i) })),
        );
        const onBufferingShard = keys.filter((k) => shardOf(k, SHARDS) === buffering).length;
        expect(result).toMatchObject({ path: "mixed", kafka: keys.length - onBufferingShard, redis: onBufferingShard });
        expect(produce.count).toBe(1);
      } finally {
        produce.stop();
      }
      // Behind the predecessor's entry, in the order given.
      const stream = await redis.xrange(`${prefix}:stream:${buffering}`, "-", "+");
      expect(stream[0][0]).toBe(leftOver);
      const values = stream.slice(1).map(([, fields]) => fields[fields.indexOf("v") + 1]);
      expect(values).toEqual(
        keys
          .map((k, i) => [k, String(i)] as const)
          .filter(([k]) => shardOf(k, SHARDS) === buffering)
          .map(([, v]) => v),
      );
      expect(producer.shardMode(buffering)).toBe("backlog");
    } finally {
      await producer.close();
      redis.disconnect();
    }
  }, 60_000);
});
