import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseReplayerConfig } from "../../runtime/mq/config";

const base = { CLASSROOM_REDIS_URL: "redis://redis:6379", CLASSROOM_KAFKA_BOOTSTRAP: "kafka-0.kafka:9092,kafka-1.kafka:9092" };

describe("replayer daemon configuration from the environment", () => {
  test("names every bad variable in one error", () => {
    expect(() => parseReplayerConfig({ CLASSROOM_REDIS_URL: "redis://r:6379", CLASSROOM_MQ_SHARDS: "0", CLASSROOM_MQ_BATCH_SIZE: "lots" })).toThrow(
      "CLASSROOM_MQ_SHARDS must be an integer from 1 to 1024, got '0'; CLASSROOM_KAFKA_BOOTSTRAP is required: a comma-separated list of host:port, like kafka-0.kafka:9092,kafka-1.kafka:9092; CLASSROOM_MQ_BATCH_SIZE must be an integer from 1 to 10000, got 'lots'",
    );
  });

  test("defaults everything but Redis and Kafka; the shard count is the stack schema's default, so producers and replayer agree", () => {
    expect(parseReplayerConfig(base)).toEqual({
      redis: { url: "redis://redis:6379" },
      kafkaBootstrap: ["kafka-0.kafka:9092", "kafka-1.kafka:9092"],
      shards: 4,
      keyPrefix: "classroom:mq",
      leaseTtlMs: 10_000,
      batchSize: 500,
      kafkaSendTimeoutMs: 10_000,
      maxShards: 4,
      clientId: "classroom-mq-replayer",
      healthPort: 0,
    });
  });

  test("Sentinel mode with password files (trailing newline dropped)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mq-config-"));
    try {
      fs.writeFileSync(path.join(dir, "pw"), "s3cret\n");
      fs.writeFileSync(path.join(dir, "spw"), "sentinel\n");
      const config = parseReplayerConfig({
        CLASSROOM_KAFKA_BOOTSTRAP: "kafka:9092",
        CLASSROOM_REDIS_SENTINELS: "sentinel-0:26379, sentinel-1:26379",
        CLASSROOM_REDIS_MASTER_NAME: "classroom",
        CLASSROOM_REDIS_PASSWORD_FILE: path.join(dir, "pw"),
        CLASSROOM_REDIS_SENTINEL_PASSWORD_FILE: path.join(dir, "spw"),
        CLASSROOM_MQ_SHARDS: "32",
      });
      expect(config.redis).toEqual({
        sentinels: [
          { host: "sentinel-0", port: 26379 },
          { host: "sentinel-1", port: 26379 },
        ],
        masterName: "classroom",
        password: "s3cret",
        sentinelPassword: "sentinel",
      });
      expect(config.shards).toBe(32);
      expect(config.maxShards).toBe(32);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [{ CLASSROOM_KAFKA_BOOTSTRAP: "kafka:9092" }, /CLASSROOM_REDIS_URL .* or CLASSROOM_REDIS_SENTINELS/],
    [{ ...base, CLASSROOM_REDIS_SENTINELS: "s:26379" }, /either CLASSROOM_REDIS_URL or CLASSROOM_REDIS_SENTINELS/],
    [{ CLASSROOM_KAFKA_BOOTSTRAP: "kafka:9092", CLASSROOM_REDIS_SENTINELS: "s:26379" }, /CLASSROOM_REDIS_MASTER_NAME is required/],
    [{ CLASSROOM_REDIS_URL: "redis://r:6379" }, /CLASSROOM_KAFKA_BOOTSTRAP is required/],
    [{ ...base, CLASSROOM_KAFKA_BOOTSTRAP: "kafka" }, /CLASSROOM_KAFKA_BOOTSTRAP: 'kafka' is not host:port/],
    [{ ...base, CLASSROOM_MQ_SHARDS: "0" }, /CLASSROOM_MQ_SHARDS must be an integer from 1 to 1024, got '0'/],
    [{ ...base, CLASSROOM_MQ_LEASE_TTL_MS: "5s" }, /CLASSROOM_MQ_LEASE_TTL_MS must be an integer/],
    [{ ...base, CLASSROOM_REDIS_URL: "localhost:6379" }, /CLASSROOM_REDIS_URL must look like redis:\/\/host:port/],
    [{ ...base, CLASSROOM_REDIS_PASSWORD_FILE: "/nonexistent/pw" }, /CLASSROOM_REDIS_PASSWORD_FILE: cannot read '\/nonexistent\/pw' \(ENOENT\)/],
    [{ ...base, CLASSROOM_MQ_KEY_PREFIX: "has space" }, /CLASSROOM_MQ_KEY_PREFIX allows/],
  ])("rejects %o naming the variable", (env, message) => {
    expect(() => parseReplayerConfig(env)).toThrow(message);
  });
});
