import Redis from "ioredis";
import { KafkaBroker } from "../harness/kafka";
import { freePort } from "../harness/ports";
import { ManagedProcess } from "../harness/process";
import { RedisServer } from "../harness/redis";
import { startReplayerFromSource } from "../support/replayer-process";
import { BufferedProducer } from "../../runtime/mq/producer";
import { connectRedis } from "../../runtime/mq/redis";
import { Sample, scrape, select, total } from "../support/prom-text";
import { SchedulerReplicas } from "../support/scheduler/replicas";

/**
 * The daemons' `/metrics`, read over HTTP from real processes (the entry points the pods run) against
 * real Redis and Kafka: the numbers must say what happened, not merely exist.
 */
const SHARDS = 4;
const TOPIC = "classroom.metrics";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last) ?? String(lastError)}`);
    await sleep(200);
  }
}

describe("daemon metrics", () => {
  let kafka: KafkaBroker;
  let redisServer: RedisServer;

  beforeAll(async () => {
    [kafka, redisServer] = await Promise.all([KafkaBroker.start(), RedisServer.start()]);
    await kafka.createTopic(TOPIC, 4);
  }, 120_000);

  afterAll(async () => {
    await ManagedProcess.stopAll();
    await Promise.all([kafka?.destroy(), redisServer?.destroy()]);
  }, 60_000);

  function startReplayer(prefix: string, kafkaBootstrap: string, healthPort: number): ManagedProcess {
    return startReplayerFromSource({
      CLASSROOM_REDIS_URL: redisServer.url,
      CLASSROOM_KAFKA_BOOTSTRAP: kafkaBootstrap,
      CLASSROOM_MQ_SHARDS: String(SHARDS),
      CLASSROOM_MQ_KEY_PREFIX: prefix,
      CLASSROOM_MQ_HEALTH_PORT: String(healthPort),
      CLASSROOM_MQ_KAFKA_SEND_TIMEOUT_MS: "1000",
    });
  }

  test("the replayer reports the backlog and lag per shard while Kafka is down, and the replayed count once it is back", async () => {
    const prefix = "metrics";
    const redis = connectRedis({ url: redisServer.url });
    const deadKafka = `127.0.0.1:${await freePort()}`;
    const producer = new BufferedProducer({ kafkaBootstrap: [deadKafka], redis, shards: SHARDS, keyPrefix: prefix, kafkaSendTimeoutMs: 1_000 });
    await producer.start();
    const sent = await producer.send(
      TOPIC,
      Array.from({ length: 400 }, (_, i) => ({ key: `k${i}`, value: String(i) })),
    );
    expect(sent.path).toBe("redis");
    await producer.close();
    const perShard = await Promise.all(Array.from({ length: SHARDS }, (_, s) => redis.xlen(`${prefix}:stream:${s}`)));
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(400);

    // Phase 1: Kafka unreachable for the replayer too. The backlog stays and ages.
    const port1 = await freePort();
    const stuck = startReplayer(prefix, deadKafka, port1);
    await sleep(1_500);
    const during = await eventually(
      "a scrape with the backlog and a kafka failure",
      () => scrape(port1),
      (m) => select(m, "classroom_mq_buffer_backlog_messages").length === SHARDS && total(m, "classroom_mq_replay_kafka_failures_total") > 0,
    );
    for (let s = 0; s < SHARDS; s++) {
      expect(total(during, "classroom_mq_buffer_backlog_messages", { shard: String(s) })).toBe(perShard[s]);
      if (perShard[s] > 0) expect(total(during, "classroom_mq_replay_lag_seconds", { shard: String(s) })).toBeGreaterThanOrEqual(1);
    }
    expect(total(during, "classroom_mq_replayed_messages_total")).toBe(0);
    expect(select(during, "process_cpu_user_seconds_total", { daemon: "mq-replayer" })).toHaveLength(1);
    await stuck.stop();

    // Phase 2: Kafka reachable. Everything is replayed, the backlog and the lag go to 0.
    const port2 = await freePort();
    const replayer = startReplayer(prefix, kafka.bootstrap, port2);
    const after = await eventually(
      "the backlog to drain",
      () => scrape(port2),
      (m) =>
        select(m, "classroom_mq_buffer_backlog_messages").length === SHARDS &&
        total(m, "classroom_mq_buffer_backlog_messages") === 0 &&
        total(m, "classroom_mq_replayed_messages_total") === 400,
    );
    for (let s = 0; s < SHARDS; s++) {
      expect(total(after, "classroom_mq_replayed_messages_total", { shard: String(s) })).toBe(perShard[s]);
      expect(total(after, "classroom_mq_replay_lag_seconds", { shard: String(s) })).toBe(0);
    }
    expect(total(after, "classroom_mq_replayer_held_shards")).toBe(SHARDS);
    // The health answer is unchanged beside /metrics.
    const health = await fetch(`http://127.0.0.1:${port2}/`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ redis: "ready", replayedMessages: 400 });
    await replayer.stop();
    redis.disconnect();
  }, 240_000);

  test("the replayer answers 500 on /metrics while Redis is unreachable, so Prometheus marks the target down instead of reading a stale 0", async () => {
    const down = await RedisServer.start();
    const port = await freePort();
    const replayer = startReplayerFromSource(
      {
        CLASSROOM_REDIS_URL: down.url,
        CLASSROOM_KAFKA_BOOTSTRAP: kafka.bootstrap,
        CLASSROOM_MQ_SHARDS: String(SHARDS),
        CLASSROOM_MQ_HEALTH_PORT: String(port),
      },
      "replayer-redis-down",
    );
    await eventually(
      "the replayer to serve /metrics",
      () => scrape(port),
      (m) => select(m, "classroom_mq_buffer_backlog_messages").length === SHARDS,
    );
    await down.destroy();
    const status = await eventually(
      "a failed scrape",
      async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).status,
      (s) => s === 500,
      60_000,
    );
    expect(status).toBe(500);
    await replayer.kill();
  }, 180_000);

  test("the scheduler counts fires, their lag, outcomes and the fires a busy job discards, each on the replica that decided", async () => {
    const healthPorts = { r1: await freePort(), r2: await freePort() };
    const replicas = await SchedulerReplicas.start({
      redisUrl: redisServer.url,
      ids: ["r1", "r2"],
      replicaEnv: (id) => ({ CLASSROOM_SCHEDULER_HEALTH_PORT: String(healthPorts[id as "r1" | "r2"]) }),
      jobs: {
        tick: { schedule: { everyMs: 500 }, target: { handler: "probe" } },
        // Each run outlasts two fires; the block strategy discards the fires that find it busy.
        busy: { schedule: { everyMs: 500 }, target: { handler: "probe" }, params: { sleepMs: 1_300 }, block: "discard-later" },
      },
      startTimeoutMs: 60_000,
    });
    try {
      await sleep(6_000);
      const [m1, m2] = await Promise.all([scrape(healthPorts.r1), scrape(healthPorts.r2)]);
      const both = (name: string, match: Record<string, string> = {}) => total(m1, name, match) + total(m2, name, match);

      const redis = new Redis(redisServer.url);
      const history = await redis.lrange("scheduler-probe:tick", 0, -1);
      redis.disconnect();
      const tickStarts = history.map((l) => JSON.parse(l) as { event: string }).filter((e) => e.event === "start").length;
      // Every run a handler saw was counted once, by the replica that ran it (the scrape came after).
      expect(both("classroom_scheduler_fires_total", { scheduled_job: "tick" })).toBeGreaterThanOrEqual(tickStarts - 1);
      expect(both("classroom_scheduler_fires_total", { scheduled_job: "tick" })).toBeGreaterThanOrEqual(8);
      expect(both("classroom_scheduler_fire_lag_seconds_count", { scheduled_job: "tick" })).toBe(
        both("classroom_scheduler_fires_total", { scheduled_job: "tick" }),
      );
      expect(both("classroom_scheduler_misses_total", { scheduled_job: "busy", reason: "discarded" })).toBeGreaterThanOrEqual(2);
      expect(both("classroom_scheduler_misses_total", { scheduled_job: "tick" })).toBe(0);
      expect(both("classroom_scheduler_runs_total", { scheduled_job: "tick", outcome: "succeeded" })).toBeGreaterThanOrEqual(6);
      expect(select(m1, "classroom_scheduler_fires_total").every((s: Sample) => s.labels.daemon === "scheduler")).toBe(true);
    } finally {
      await replicas.stopAll();
    }
  }, 240_000);
});
