import { z } from "zod";
import { dnsLabel, imageRef, memorySize, positiveInt, workloadOptions, workloadShape } from "./primitives";

const odd = (_what: string) => (n: number | undefined) => n === undefined || n % 2 === 1;

export const zookeeperConfig = z
  .strictObject({
    ...workloadShape,
    replicas: positiveInt
      .refine(odd("replicas"), { error: "must be an odd number >= 1" })
      .optional()
      .describe("Servers in the ensemble; odd, since an even ensemble tolerates no more failures than one server fewer. Default: 1"),
    tickTimeMs: positiveInt.default(2000).describe("ZooKeeper's tick in milliseconds; session timeouts are 2-20 ticks"),
    snapRetainCount: z
      .number()
      .int()
      .min(3, { error: "must be a whole number >= 3 (ZooKeeper's minimum)" })
      .default(5)
      .describe("Snapshots autopurge keeps (at least 3)"),
    purgeIntervalHours: positiveInt.default(1).describe("Hours between autopurge runs"),
  })
  .prefault({})
  .describe("The ZooKeeper ensemble (service registry): workload options plus ZooKeeper's own settings");

const kafkaPool = workloadOptions;

/**
 * The Kafka pods' JMX exporter agent image, built from images/kafka-jmx-agent and tagged with the
 * agent's version (a unit test holds the tag to that Dockerfile's ADD line).
 */
export const KAFKA_METRICS_AGENT_IMAGE = "registry.classroom.internal/classroom-kafka-jmx-agent:1.0.1";

export const kafkaConfig = z
  .strictObject({
    mode: z
      .enum(["combined", "dedicated"], { error: "must be one of combined, dedicated" })
      .default("combined")
      .describe(
        "combined: every node is broker and controller (small environments); dedicated: a separate controller quorum, so broker load never starves the metadata quorum",
      ),
    brokers: kafkaPool.prefault({}).describe("The broker pool (in combined mode, every node): workload options. Default: 1 replica"),
    controllers: kafkaPool
      .extend({
        replicas: positiveInt.refine(odd("replicas"), { error: "must be an odd number >= 1" }).optional().describe("Controller voters; odd. Default: 3"),
      })
      .optional()
      .describe("The controller quorum, dedicated mode only: workload options"),
    replicationFactor: positiveInt
      .optional()
      .describe("Replication factor of new and internal topics; at most brokers.replicas. Default: min(3, brokers.replicas)"),
    minInsyncReplicas: positiveInt
      .optional()
      .describe("Replicas that must acknowledge an acks=all write; at most replicationFactor. Default: replicationFactor - 1 (at least 1)"),
    defaultPartitions: positiveInt.default(6).describe("Partitions of auto-created topics"),
    metricsAgentImage: imageRef
      .default(KAFKA_METRICS_AGENT_IMAGE)
      .describe(
        "Image holding the Prometheus JMX exporter Java agent (images/kafka-jmx-agent), copied into each Kafka pod by an init container; the brokers and controllers serve their metrics on port 5556",
      ),
  })
  .superRefine((k, ctx) => {
    const brokers = k.brokers.replicas ?? 1;
    if (k.mode === "combined" && brokers % 2 === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["brokers", "replicas"],
        input: brokers,
        message: "must be odd in combined mode (every node is a controller voter)",
      });
    }
    if (k.mode === "combined" && k.controllers) {
      ctx.addIssue({
        code: "custom",
        path: ["controllers"],
        input: k.controllers,
        message: "is only used in dedicated mode; remove it or set mode: dedicated",
      });
    }
    const { replicationFactor: rf } = kafkaReplication(k);
    if (rf > brokers) ctx.addIssue({ code: "custom", path: ["replicationFactor"], input: rf, message: `must be <= brokers.replicas (${brokers})` });
    if (k.minInsyncReplicas !== undefined && k.minInsyncReplicas > rf) {
      ctx.addIssue({ code: "custom", path: ["minInsyncReplicas"], input: k.minInsyncReplicas, message: `must be <= replicationFactor (${rf})` });
    }
  })
  .transform((k) => ({ ...k, ...kafkaReplication(k) }))
  .prefault({})
  .describe("Kafka in KRaft mode (the event bus)");

/** The replication defaults follow the broker count, so they are derived here, once, after validation. */
function kafkaReplication(k: { brokers: { replicas?: number }; replicationFactor?: number; minInsyncReplicas?: number }): {
  replicationFactor: number;
  minInsyncReplicas: number;
} {
  const replicationFactor = k.replicationFactor ?? Math.min(3, k.brokers.replicas ?? 1);
  return { replicationFactor, minInsyncReplicas: k.minInsyncReplicas ?? Math.max(1, replicationFactor - 1) };
}

export const redisConfig = z
  .strictObject({
    ...workloadShape,
    replicas: workloadShape.replicas.describe("Redis servers: 1 in standalone mode, a master and replicas (>= 2) in sentinel mode. Default: 1"),
    mode: z
      .enum(["standalone", "sentinel"], { error: "must be one of standalone, sentinel" })
      .default("standalone")
      .describe("standalone: one server; sentinel: a master and replicas under a Sentinel quorum"),
    sentinel: z
      .strictObject({
        replicas: positiveInt.refine(odd("replicas"), { error: "must be an odd number >= 1" }).default(3).describe("Sentinel processes; odd"),
        quorum: positiveInt.default(2).describe("Sentinels that must agree the master is down; at most sentinel.replicas"),
      })
      .prefault({})
      .describe("The Sentinel quorum (sentinel mode only)"),
    maxmemory: memorySize.default("256mb").describe("Redis maxmemory; writes beyond it fail (policy noeviction) rather than evicting buffered data"),
  })
  .superRefine((r, ctx) => {
    const replicas = r.replicas ?? 1;
    if (r.mode === "standalone" && replicas !== 1)
      ctx.addIssue({ code: "custom", path: ["replicas"], input: replicas, message: "must be 1 in standalone mode (set mode: sentinel for replication)" });
    if (r.mode === "sentinel" && replicas < 2)
      ctx.addIssue({ code: "custom", path: ["replicas"], input: replicas, message: "must be >= 2 in sentinel mode (a master and at least one replica)" });
    const { replicas: sentinels, quorum } = r.sentinel;
    if (quorum > sentinels)
      ctx.addIssue({ code: "custom", path: ["sentinel", "quorum"], input: quorum, message: `must be <= sentinel.replicas (${sentinels})` });
  })
  .prefault({})
  .describe("Redis (cache and Kafka-outage buffer) with AOF persistence and ACL users");

export const mysqlConfig = z
  .strictObject({
    ...workloadShape,
    replicas: workloadShape.replicas.describe("MySQL servers: a primary and, beyond 1, asynchronous GTID replicas. Default: 1"),
    database: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,63}$/, { error: "must be a schema name: lower-case letters, digits and '_'" })
      .default("classroom")
      .describe("Schema created on first start"),
    users: z
      .array(
        z.strictObject({
          name: z
            .string()
            .regex(/^[a-z][a-z0-9_]{0,31}$/, { error: "must be a MySQL user name: lower-case letters, digits and '_', at most 32 characters" })
            .refine((n) => !["root", "replication", "exporter"].includes(n), { error: "must not be root, replication or exporter (reserved)" })
            .describe("Account name; root, replication and exporter (the metrics sidecar's account) are reserved"),
          access: z
            .enum(["readwrite", "readonly"], { error: "must be one of readwrite, readonly" })
            .describe("readwrite: DML and DDL on the schema; readonly: SELECT only"),
        }),
      )
      .min(1, { error: "must list at least one user" })
      .default([{ name: "classroom_app", access: "readwrite" }])
      .describe("Application accounts, each with a generated password"),
    innodbBufferPool: z
      .string()
      .regex(/^[0-9]+[KMG]$/, { error: "must be a size such as 256M or 2G" })
      .default("256M")
      .describe("InnoDB buffer pool; about 60% of the memory limit is usual"),
    maxConnections: positiveInt.default(300).describe("MySQL max_connections"),
  })
  .prefault({})
  .describe("MySQL (the classroom schema) with generated passwords");

export type ZooKeeperConfig = z.output<typeof zookeeperConfig>;
export type KafkaConfig = z.output<typeof kafkaConfig>;
export type RedisConfig = z.output<typeof redisConfig>;
export type MySqlConfig = z.output<typeof mysqlConfig>;
export type MySqlUserConfig = NonNullable<MySqlConfig["users"]>[number];

export { dnsLabel };
