import { z } from "zod";
import { dnsLabel, memorySize, positiveInt, workloadShape } from "./primitives";

const odd = (_what: string) => (n: number | undefined) => n === undefined || n % 2 === 1;

export const zookeeperConfig = z.strictObject({
  ...workloadShape,
  replicas: positiveInt.refine(odd("replicas"), { error: "must be an odd number >= 1" }).optional(),
  tickTimeMs: positiveInt.optional(),
  snapRetainCount: z.number().int().min(3, { error: "must be a whole number >= 3 (ZooKeeper's minimum)" }).optional(),
  purgeIntervalHours: positiveInt.optional(),
}).prefault({});

const kafkaPool = z.strictObject(workloadShape);

export const kafkaConfig = z.strictObject({
  mode: z.enum(["combined", "dedicated"], { error: "must be one of combined, dedicated" }).default("combined"),
  brokers: kafkaPool.prefault({}),
  controllers: kafkaPool.extend({
    replicas: positiveInt.refine(odd("replicas"), { error: "must be an odd number >= 1" }).optional(),
  }).optional(),
  replicationFactor: positiveInt.optional(),
  minInsyncReplicas: positiveInt.optional(),
  defaultPartitions: positiveInt.optional(),
}).superRefine((k, ctx) => {
  const brokers = k.brokers.replicas ?? 1;
  if (k.mode === "combined" && brokers % 2 === 0) {
    ctx.addIssue({ code: "custom", path: ["brokers", "replicas"], input: brokers, message: "must be odd in combined mode (every node is a controller voter)" });
  }
  if (k.mode === "combined" && k.controllers) {
    ctx.addIssue({ code: "custom", path: ["controllers"], input: k.controllers, message: "is only used in dedicated mode; remove it or set mode: dedicated" });
  }
  const rf = k.replicationFactor ?? Math.min(3, brokers);
  if (rf > brokers) ctx.addIssue({ code: "custom", path: ["replicationFactor"], input: rf, message: `must be <= brokers.replicas (${brokers})` });
  if (k.minInsyncReplicas !== undefined && k.minInsyncReplicas > rf) {
    ctx.addIssue({ code: "custom", path: ["minInsyncReplicas"], input: k.minInsyncReplicas, message: `must be <= replicationFactor (${rf})` });
  }
}).prefault({});

export const redisConfig = z.strictObject({
  ...workloadShape,
  mode: z.enum(["standalone", "sentinel"], { error: "must be one of standalone, sentinel" }).default("standalone"),
  sentinel: z.strictObject({
    replicas: positiveInt.refine(odd("replicas"), { error: "must be an odd number >= 1" }).optional(),
    quorum: positiveInt.optional(),
  }).optional(),
  maxmemory: memorySize.optional(),
}).superRefine((r, ctx) => {
  const replicas = r.replicas ?? 1;
  if (r.mode === "standalone" && replicas !== 1) ctx.addIssue({ code: "custom", path: ["replicas"], input: replicas, message: "must be 1 in standalone mode (set mode: sentinel for replication)" });
  if (r.mode === "sentinel" && replicas < 2) ctx.addIssue({ code: "custom", path: ["replicas"], input: replicas, message: "must be >= 2 in sentinel mode (a master and at least one replica)" });
  const sentinels = r.sentinel?.replicas ?? 3;
  const quorum = r.sentinel?.quorum ?? 2;
  if (quorum > sentinels) ctx.addIssue({ code: "custom", path: ["sentinel", "quorum"], input: quorum, message: `must be <= sentinel.replicas (${sentinels})` });
}).prefault({});

export const mysqlConfig = z.strictObject({
  ...workloadShape,
  database: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, { error: "must be a schema name: lower-case letters, digits and '_'" }).optional(),
  users: z.array(z.strictObject({
    name: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, { error: "must be a MySQL user name: lower-case letters, digits and '_', at most 32 characters" })
      .refine((n) => !["root", "replication", "exporter"].includes(n), { error: "must not be root, replication or exporter (reserved)" }),
    access: z.enum(["readwrite", "readonly"], { error: "must be one of readwrite, readonly" }),
  })).min(1, { error: "must list at least one user" }).optional(),
  innodbBufferPool: z.string().regex(/^[0-9]+[KMG]$/, { error: "must be a size such as 256M or 2G" }).optional(),
  maxConnections: positiveInt.optional(),
}).prefault({});

export { dnsLabel };
