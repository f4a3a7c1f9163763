import type Redis from "ioredis";
import { StreamBuffer } from "./buffer";
import { KafkaSender } from "./kafka-send";
import { defaultOwner, ShardLease } from "./lease";

export interface ReplayerOptions {
  /** Redis connection for commands; each replayed shard also gets a `duplicate()` for blocking reads. Required. */
  redis: Redis;
  /** Kafka bootstrap brokers as `host:port`. Required. */
  kafkaBootstrap: string[];
  /** Kafka client id. Default `classroom-mq-replayer`. */
  clientId?: string;
  /** Number of shards; must equal the producers'. Default 16. */
  shards?: number;
  /** Prefix of every Redis key; must equal the producers'. Default `classroom:mq`. */
  keyPrefix?: string;
  /** Lease time-to-live; a crashed replica's shards move to another after at most this long. Default 10000 ms. */
  leaseTtlMs?: number;
  /** Most entries replayed in one Kafka request. Default 500. */
  batchSize?: number;
  /** Deadline of one Kafka send before it is retried. Default 10000 ms. */
  kafkaSendTimeoutMs?: number;
  /** Longest wait for new entries in an empty shard (one blocking XREAD). Default 1000 ms. */
  idleBlockMs?: number;
  /** Most shards this replica replays at once; the rest stay free for other replicas. Default: all. */
  maxShards?: number;
  /** Name of this replica in lease tokens. Default: `$HOSTNAME-pid`. */
  owner?: string;
  /** Receives what happens (lease changes, replayed batches, errors), e.g. to log it. */
  onEvent?: (event: ReplayerEvent) => void;
}

export type ReplayerEvent =
  | { type: "lease-acquired"; shard: number; token: string }
  | { type: "lease-lost"; shard: number }
  | { type: "replayed"; shard: number; messages: number; throughStreamId: string }
  | { type: "kafka-error"; shard: number; error: string; retryInMs: number }
  | { type: "redis-error"; shard?: number; error: string };

interface Worker { lease: ShardLease; blocking: Redis; kafka: KafkaSender; done: Promise<void> }

/**
 * Drains shard streams into Kafka in order: per shard, read a batch from the head, send it with an
 * idempotent producer, and trim it from the stream only after Kafka acknowledged (and only while still
 * holding the shard's lease). A crash between the two re-sends the batch; consumers drop those copies
 * by message id. Several replicas may run: each shard is replayed by whoever holds its lease.
 */
export class Replayer {
  private readonly buffer: StreamBuffer;
  private readonly leases: ShardLease[];
  private readonly workers = new Map<number, Worker>();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Counters since start. */
  readonly stats = { replayedMessages: 0, replayedBatches: 0, kafkaFailures: 0 };

  constructor(private readonly options: ReplayerOptions) {
    this.buffer = new StreamBuffer(options.redis, options.keyPrefix ?? "classroom:mq", options.shards ?? 16);
    const owner = options.owner ?? defaultOwner();
    this.leases = Array.from({ length: this.buffer.shards }, (_, shard) =>
      new ShardLease(options.redis, this.buffer.keys, shard, options.leaseTtlMs ?? 10_000, owner));
  }

  /** Shards this replica currently replays. */
  get heldShards(): number[] { return [...this.workers.keys()].sort((a, b) => a - b); }

  /** Checks the shard count and starts competing for shard leases. */
  async start(): Promise<void> {
    await this.buffer.checkShardCount();
    this.loop = this.leaseLoop();
  }

  /** Stops replaying, waits for in-flight batches and releases the leases so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    for (const w of this.workers.values()) w.blocking.disconnect();
    await Promise.all([...this.workers.values()].map((w) => w.done));
  }

  private emit(event: ReplayerEvent): void { this.options.onEvent?.(event); }

  /** Acquires free shards and renews held ones every third of the TTL. */
  private async leaseLoop(): Promise<void> {
    const ttl = this.options.leaseTtlMs ?? 10_000;
    const maxShards = this.options.maxShards ?? this.buffer.shards;
    while (!this.stopping) {
      for (const lease of this.leases) {
        if (this.stopping) break;
        try {
          if (this.workers.has(lease.shard)) {
            if (!(await lease.renew())) this.emit({ type: "lease-lost", shard: lease.shard });
          } else if (this.workers.size < maxShards && (await lease.acquire())) {
            this.emit({ type: "lease-acquired", shard: lease.shard, token: lease.token! });
            this.startWorker(lease);
          }
        } catch (err) {
          this.emit({ type: "redis-error", shard: lease.shard, error: (err as Error).message });
        }
      }
      await new Promise<void>((resolve) => { this.wake = resolve; setTimeout(resolve, ttl / 3); });
    }
  }

  private startWorker(lease: ShardLease): void {
    const blocking = this.options.redis.duplicate();
    blocking.on("error", () => undefined); // reported through failed reads
    // A producer per shard: an idempotent producer has one request in flight per broker, so a shared
    // one would replay the shards one after another.
    const kafka = new KafkaSender({
      bootstrap: this.options.kafkaBootstrap,
      clientId: this.options.clientId ?? "classroom-mq-replayer",
      sendTimeoutMs: this.options.kafkaSendTimeoutMs ?? 10_000,
    });
    const done = this.replayShard(lease, blocking, kafka).finally(async () => {
      this.workers.delete(lease.shard);
      blocking.disconnect();
      await kafka.close();
      await lease.release().catch(() => undefined);
    });
    this.workers.set(lease.shard, { lease, blocking, kafka, done });
  }

  private async replayShard(lease: ShardLease, blocking: Redis, kafka: KafkaSender): Promise<void> {
    const shard = lease.shard;
    let failures = 0;
    while (!this.stopping && lease.held) {
      let entries;
      try {
        entries = await this.buffer.read(shard, this.options.batchSize ?? 500, this.options.idleBlockMs ?? 1_000, blocking);
      } catch (err) {
        if (this.stopping) return;
        this.emit({ type: "redis-error", shard, error: (err as Error).message });
        await sleep(500);
        continue;
      }
      if (entries.length === 0 || this.stopping || !lease.held) continue;
      try {
        await kafka.send(entries.map((e) => e.envelope));
        failures = 0;
      } catch (err) {
        this.stats.kafkaFailures++;
        const retryInMs = Math.min(2_000, 100 * 2 ** failures++);
        this.emit({ type: "kafka-error", shard, error: (err as Error).message, retryInMs });
        await sleep(retryInMs);
        continue; // the same entries are still at the head
      }
      const through = entries[entries.length - 1].streamId;
      if (!(await this.trim(lease, through))) return;
      this.stats.replayedMessages += entries.length;
      this.stats.replayedBatches++;
      this.emit({ type: "replayed", shard, messages: entries.length, throughStreamId: through });
    }
  }

  /**
   * Trims what Kafka acknowledged. Retries while Redis is unreachable (giving up would re-send the batch);
   * false when the lease moved to another replica, which then owns the shard.
   */
  private async trim(lease: ShardLease, through: string): Promise<boolean> {
    for (;;) {
      const token = lease.token;
      if (!token || this.stopping && !lease.held) return false;
      try {
        if (await this.buffer.trimThrough(lease.shard, through, token)) return true;
        this.emit({ type: "lease-lost", shard: lease.shard });
        return false;
      } catch (err) {
        this.emit({ type: "redis-error", shard: lease.shard, error: (err as Error).message });
        await sleep(250);
      }
    }
  }
}

function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }
