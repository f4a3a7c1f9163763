import { MQ_DEFAULTS } from "../contracts/env";
import type Redis from "ioredis";
import { StreamBuffer } from "./buffer";
import { kafkaClient } from "./kafka-client";
import { KafkaSender } from "./kafka-send";
import { defaultOwner, LeaseLossReason, ShardLease } from "./lease";

export interface ReplayerOptions {
  /** Redis connection for commands; each replayed shard also gets a `duplicate()` for blocking reads. Required. */
  redis: Redis;
  /** Kafka bootstrap brokers as `host:port`. Required. */
  kafkaBootstrap: string[];
  /** Kafka client id. Default `classroom-mq-replayer`. */
  clientId?: string;
  /** Number of shards; must equal the producers'. Default MQ_DEFAULTS.shards (4), the stack schema's default. */
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
  /** `fenced`: a trim found another replica's token. Emitted for every loss except a `stop()`. */
  | { type: "lease-lost"; shard: number; reason: LeaseLossReason | "fenced" }
  /** The renewal timer fired `lateMs` after it was due (a stalled event loop); held leases were renewed then. */
  | { type: "lease-renewal-late"; lateMs: number; heldShards: number[] }
  | { type: "replayed"; shard: number; messages: number; throughStreamId: string }
  | { type: "kafka-error"; shard: number; error: string; retryInMs: number }
  | { type: "redis-error"; shard?: number; error: string };

interface Worker {
  lease: ShardLease;
  blocking: Redis;
  kafka: KafkaSender;
  done: Promise<void>;
}

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
  private loops: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();
  /** Counters since start. */
  readonly stats = { replayedMessages: 0, replayedBatches: 0, kafkaFailures: 0 };

  constructor(private readonly options: ReplayerOptions) {
    this.buffer = new StreamBuffer(options.redis, options.keyPrefix ?? "classroom:mq", options.shards ?? MQ_DEFAULTS.shards);
    const owner = options.owner ?? defaultOwner();
    this.leases = Array.from(
      { length: this.buffer.shards },
      (_, shard) => new ShardLease(options.redis, this.buffer.keys, shard, options.leaseTtlMs ?? 10_000, owner),
    );
  }

  /** Every shard's backlog, read from Redis (see StreamBuffer.backlog); for metrics and health. */
  backlog(): ReturnType<StreamBuffer["backlog"]> {
    return this.buffer.backlog();
  }

  /** Shards this replica currently replays. */
  get heldShards(): number[] {
    return [...this.workers.keys()].sort((a, b) => a - b);
  }

  /** Checks the shard count and starts competing for shard leases. */
  async start(): Promise<void> {
    // Loading the Kafka client blocks the event loop for seconds on a loaded machine; after taking
    // leases that stall could let them lapse before the first renewal.
    kafkaClient();
    await this.buffer.checkShardCount();
    this.loops = [this.acquireLoop(), this.renewLoop()];
  }

  /** Stops replaying, waits for in-flight batches and releases the leases so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.wakers) wake();
    await Promise.all(this.loops);
    for (const w of this.workers.values()) w.blocking.disconnect();
    await Promise.all([...this.workers.values()].map((w) => w.done));
  }

  private emit(event: ReplayerEvent): void {
    this.options.onEvent?.(event);
  }

  /** Tries to take free shards every third of the TTL. */
  private async acquireLoop(): Promise<void> {
    const ttl = this.options.leaseTtlMs ?? 10_000;
    const maxShards = this.options.maxShards ?? this.buffer.shards;
    while (!this.stopping) {
      for (const lease of this.leases) {
        if (this.stopping) break;
        if (this.workers.has(lease.shard) || this.workers.size >= maxShards) continue;
        try {
          if (await lease.acquire()) {
            this.emit({ type: "lease-acquired", shard: lease.shard, token: lease.token! });
            this.startWorker(lease);
          }
        } catch (err) {
          this.emit({ type: "redis-error", shard: lease.shard, error: (err as Error).message });
        }
      }
      await this.pause(ttl / 3);
    }
  }

  /**
   * Renews every held lease every third of the TTL, all at once, from a timer of its own: taking many
   * shards (each a few round trips) must not delay the renewal of those already held. A timer that
   * fires late means the event loop stalled; that is reported, and a lease that expired meanwhile is
   * reported as lost by its worker.
   */
  private async renewLoop(): Promise<void> {
    const interval = (this.options.leaseTtlMs ?? 10_000) / 3;
    let due = Date.now() + interval;
    while (!this.stopping) {
      await this.pause(due - Date.now());
      if (this.stopping) break;
      const lateMs = Date.now() - due;
      if (lateMs > interval / 2) this.emit({ type: "lease-renewal-late", lateMs, heldShards: this.heldShards });
      await Promise.all(
        [...this.workers.values()].map(async ({ lease }) => {
          try {
            await lease.renew();
          } catch (err) {
            this.emit({ type: "redis-error", shard: lease.shard, error: (err as Error).message });
          }
        }),
      );
      due = Date.now() + interval;
    }
  }

  /** Waits `ms`, or less when stop() is called. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wakers.add(done);
    });
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
    const done = this.replayShard(lease, blocking, kafka)
      .then((lost) => {
        if (lost) this.emit({ type: "lease-lost", shard: lease.shard, reason: lost });
      })
      .finally(async () => {
        this.workers.delete(lease.shard);
        blocking.disconnect();
        await kafka.close();
        await lease.release().catch(() => undefined);
      });
    this.workers.set(lease.shard, { lease, blocking, kafka, done });
  }

  /** Replays until stopped (resolves undefined) or until the lease is lost (resolves why). */
  private async replayShard(lease: ShardLease, blocking: Redis, kafka: KafkaSender): Promise<LeaseLossReason | "fenced" | undefined> {
    const shard = lease.shard;
    let failures = 0;
    for (;;) {
      if (this.stopping) return undefined;
      if (!(await this.stillHeld(lease))) return lease.lossReason ?? "lapsed";
      let entries;
      try {
        entries = await this.buffer.read(shard, this.options.batchSize ?? 500, this.options.idleBlockMs ?? 1_000, blocking);
      } catch (err) {
        if (this.stopping) return undefined;
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
      const trimmed = await this.trim(lease, through);
      if (trimmed !== "trimmed") return trimmed;
      this.stats.replayedMessages += entries.length;
      this.stats.replayedBatches++;
      this.emit({ type: "replayed", shard, messages: entries.length, throughStreamId: through });
    }
  }

  /**
   * A lease not renewed in time (a stalled event loop, a slow Redis) may still be ours in Redis: one
   * renewal decides, instead of dropping a shard nobody else has taken.
   */
  private async stillHeld(lease: ShardLease): Promise<boolean> {
    if (!lease.lapsed) return lease.held;
    try {
      if (await lease.renew()) return true;
    } catch (err) {
      this.emit({ type: "redis-error", shard: lease.shard, error: (err as Error).message });
    }
    if (lease.lapsed) lease.abandon(); // still unconfirmed: whoever takes it after the TTL owns it
    return lease.held;
  }

  /**
   * Trims what Kafka acknowledged. Retries while Redis is unreachable (giving up would re-send the batch);
   * otherwise says why not: the lease moved to another replica (which then owns the shard) or stop().
   */
  private async trim(lease: ShardLease, through: string): Promise<"trimmed" | LeaseLossReason | "fenced" | undefined> {
    for (;;) {
      const token = lease.token;
      if (!token) return lease.lossReason ?? "lapsed";
      if (this.stopping && !lease.held) return undefined;
      try {
        if (await this.buffer.trimThrough(lease.shard, through, token)) return "trimmed";
        return "fenced";
      } catch (err) {
        this.emit({ type: "redis-error", shard: lease.shard, error: (err as Error).message });
        await sleep(250);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
