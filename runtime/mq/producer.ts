import { MQ_DEFAULTS } from "../contracts/env";
import type Redis from "ioredis";
import { AppendDeadlineError, compareStreamIds, StreamBuffer } from "./buffer";
import { KafkaBatcher } from "./kafka-batch";
import { kafkaClient } from "./kafka-client";
import { KafkaSender } from "./kafka-send";
import { Envelope, MessageIds, MqMessage, shardOf, toEnvelope } from "./message";

export interface BufferedProducerOptions {
  /** Kafka bootstrap brokers as `host:port`. Required. */
  kafkaBootstrap: string[];
  /** Redis connection (plain or Sentinel, see redis.ts); the caller owns and closes it. Required. */
  redis: Redis;
  /** Kafka client id. Default `classroom-mq-producer`. */
  clientId?: string;
  /** Number of shards (Redis streams); must equal the replayer's. Default MQ_DEFAULTS.shards (4), the stack schema's default. */
  shards?: number;
  /** Prefix of every Redis key; must equal the replayer's. Default `classroom:mq`. */
  keyPrefix?: string;
  /** Deadline of one Kafka send before the batch goes to Redis instead. Default 2000 ms. */
  kafkaSendTimeoutMs?: number;
  /** After a Kafka failure, how long every shard buffers before trying Kafka again. Default 1000 ms. */
  kafkaRetryAfterMs?: number;
  /**
   * Bounds the Redis part of a send (stream-head check and append): it ends at the latest
   * `kafkaSendTimeoutMs + redisTimeoutMs` after the `send` call, so while Kafka and Redis are both
   * failing a caller is told no within that time. Default 5000 ms.
   */
  redisTimeoutMs?: number;
  /** Redis replicas that must confirm a buffered batch (WAIT) before send resolves. Default 0. */
  waitReplicas?: number;
  /** Most messages in one Kafka request (all shards together) or one shard's Redis append. Default 1000. */
  maxBatchMessages?: number;
  /** How often a shard with backlog asks Redis whether the replayer has caught up. Default 200 ms. */
  drainCheckIntervalMs?: number;
  /** A shard pauses buffering to let the replayer catch up when at most this many entries remain. Default 2000. */
  catchUpBacklog?: number;
  /** Longest such pause; sends wait in memory meanwhile. Default 500 ms. */
  catchUpWaitMs?: number;
  /** Producer instance id in message ids. Default: random per process. */
  instanceId?: string;
}

export type SendPath = "kafka" | "redis";

/** What happened to one `send` call. */
export interface SendResult {
  /** `kafka` or `redis` when every message took that path, `mixed` when the call spanned shards in both states. */
  path: SendPath | "mixed";
  /** Messages Kafka acknowledged directly. */
  kafka: number;
  /** Messages acknowledged by Redis, to be replayed into Kafka. */
  redis: number;
  /** Message ids, in the order of the messages given; consumers see them in the `mq-id` header. */
  ids: string[];
}

/** A send that failed on both paths; `ids` lists the messages that may not have been stored. */
export class MqSendError extends Error {
  constructor(
    message: string,
    readonly ids: string[],
    readonly delivered: { kafka: number; redis: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface Pending {
  envelopes: Envelope[];
  /** When the caller must have its answer: the `send` call plus `kafkaSendTimeoutMs + redisTimeoutMs`. */
  deadlineAt: number;
  resolve(path: SendPath): void;
  reject(err: unknown): void;
}

/** Forces a drain check to wait for an empty stream: after a failed append the tail is unknown. */
const UNKNOWN_TAIL = "unknown";

interface ShardState {
  queue: Pending[];
  running: boolean;
  /** live: sends go to Kafka. backlog: this producer has entries in Redis not yet replayed. */
  mode: "live" | "backlog";
  /** Stream id of this producer's newest buffered entry; live again once the stream head is past it. */
  lastBufferedId: string | undefined;
  nextDrainCheck: number;
  /** Stream head at the previous drain check; a change means a replayer is draining the shard. */
  lastSeenHead: string | undefined;
}

/**
 * `send(topic, messages)`: to Kafka while it is healthy, otherwise into Redis Streams, from where the
 * replayer (replayer.ts) moves the messages into Kafka in order.
 *
 * Order: messages are sharded by key hash, and each shard has one batch in flight at a time (later
 * sends queue and travel together in the next batch). Once a shard has buffered, it keeps buffering
 * until the replayer has moved all of this producer's entries past Kafka, so live sends never overtake
 * buffered ones. At start, a shard that already holds entries (say from a crashed predecessor) starts
 * in buffering mode too.
 */
export class BufferedProducer {
  private readonly buffer: StreamBuffer;
  private readonly kafka: KafkaSender;
  private readonly batcher: KafkaBatcher;
  private readonly kafkaTimeoutMs: number;
  private readonly redisTimeoutMs: number;
  private readonly ids: MessageIds;
  private readonly states: ShardState[];
  private kafkaDownUntil = 0;
  private started = false;
  private closing = false;
  /** The most recent Kafka failure, for logs and health endpoints. */
  lastKafkaError: unknown;
  /** Counters since start. */
  readonly stats = { kafkaMessages: 0, redisMessages: 0, kafkaFailures: 0, failedMessages: 0, kafkaRequests: 0 };

  constructor(private readonly options: BufferedProducerOptions) {
    this.buffer = new StreamBuffer(options.redis, options.keyPrefix ?? "classroom:mq", options.shards ?? MQ_DEFAULTS.shards);
    this.kafkaTimeoutMs = options.kafkaSendTimeoutMs ?? 2_000;
    this.redisTimeoutMs = options.redisTimeoutMs ?? 5_000;
    this.kafka = new KafkaSender({
      bootstrap: options.kafkaBootstrap,
      clientId: options.clientId ?? "classroom-mq-producer",
      sendTimeoutMs: this.kafkaTimeoutMs,
    });
    this.batcher = new KafkaBatcher(this.kafka, options.maxBatchMessages ?? 1_000);
    this.ids = new MessageIds(options.instanceId);
    this.states = Array.from({ length: this.buffer.shards }, () => ({
      queue: [],
      running: false,
      mode: "live" as const,
      lastBufferedId: undefined,
      nextDrainCheck: 0,
      lastSeenHead: undefined,
    }));
  }

  /** This producer's instance id (the part of each message id before the dot). */
  get instanceId(): string {
    return this.ids.instance;
  }

  /** Which path a shard currently takes, for tests and health endpoints. */
  shardMode(shard: number): "live" | "backlog" {
    return this.states[shard].mode;
  }

  /** Checks the shard count against Redis and puts shards that already hold entries into buffering mode. */
  async start(): Promise<void> {
    // Loading the Kafka client blocks the event loop for seconds on a loaded machine: do it before the
    // first send has a deadline running.
    kafkaClient();
    await this.buffer.checkShardCount();
    await this.buffer.clock.sync();
    const redis = this.options.redis;
    await Promise.all(
      this.states.map(async (state, shard) => {
        const newest = await redis.xrevrange(this.buffer.keys.stream(shard), "+", "-", "COUNT", 1);
        if (newest.length > 0) {
          state.mode = "backlog";
          state.lastBufferedId = newest[0][0];
        }
      }),
    );
    this.started = true;
  }

  /**
   * Sends messages to `topic`. Resolves once Kafka or Redis acknowledged every message; rejects with
   * MqSendError when both failed for some of them (those may or may not have been stored).
   */
  async send(topic: string, messages: MqMessage[]): Promise<SendResult> {
    if (!this.started) throw new Error("BufferedProducer: call start() before send()");
    if (this.closing) throw new Error("BufferedProducer is closed");
    const ids: string[] = [];
    const byShard = new Map<number, Envelope[]>();
    for (const message of messages) {
      const envelope = toEnvelope(topic, message, this.ids.next());
      ids.push(envelope.id);
      const shard = shardOf(message.key, this.buffer.shards);
      let list = byShard.get(shard);
      if (!list) byShard.set(shard, (list = []));
      list.push(envelope);
    }
    const deadlineAt = Date.now() + this.kafkaTimeoutMs + this.redisTimeoutMs;
    const parts = [...byShard].map(([shard, envelopes]) => ({ envelopes, outcome: this.enqueue(shard, envelopes, deadlineAt) }));
    const settled = await Promise.allSettled(parts.map((p) => p.outcome));
    const delivered = { kafka: 0, redis: 0 };
    const failed: string[] = [];
    let firstError: unknown;
    settled.forEach((s, i) => {
      if (s.status === "fulfilled") delivered[s.value] += parts[i].envelopes.length;
      else {
        firstError ??= s.reason;
        failed.push(...parts[i].envelopes.map((e) => e.id));
      }
    });
    if (failed.length > 0) {
      this.stats.failedMessages += failed.length;
      throw new MqSendError(
        `${failed.length} of ${messages.length} message(s) reached neither Kafka nor Redis: ${(firstError as Error)?.message}`,
        failed,
        delivered,
        { cause: firstError },
      );
    }
    const path = delivered.redis === 0 ? "kafka" : delivered.kafka === 0 ? "redis" : "mixed";
    return { path, ...delivered, ids };
  }

  /** Waits for queued sends, then closes the Kafka client. The Redis connection stays open (caller's). */
  async close(): Promise<void> {
    this.closing = true;
    while (this.states.some((s) => s.running || s.queue.length > 0)) await sleep(10);
    await this.kafka.close();
  }

  private enqueue(shard: number, envelopes: Envelope[], deadlineAt: number): Promise<SendPath> {
    return new Promise<SendPath>((resolve, reject) => {
      const state = this.states[shard];
      state.queue.push({ envelopes, deadlineAt, resolve, reject });
      if (!state.running) void this.drainQueue(shard, state);
    });
  }

  private async drainQueue(shard: number, state: ShardState): Promise<void> {
    state.running = true;
    try {
      while (state.queue.length > 0) {
        const batch = this.takeBatch(state);
        const envelopes = batch.flatMap((p) => p.envelopes);
        const deadlineAt = Math.min(...batch.map((p) => p.deadlineAt));
        try {
          if (state.mode === "backlog" && Date.now() >= state.nextDrainCheck) {
            await this.checkCaughtUp(shard, state, Math.min(Date.now() + this.redisTimeoutMs, deadlineAt));
          }
          const path = await this.deliver(shard, state, envelopes, deadlineAt);
          for (const p of batch) p.resolve(path);
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      state.running = false;
    }
  }

  private takeBatch(state: ShardState): Pending[] {
    const max = this.options.maxBatchMessages ?? 1_000;
    const batch = [state.queue.shift()!];
    let count = batch[0].envelopes.length;
    while (state.queue.length > 0 && count + state.queue[0].envelopes.length <= max) {
      const next = state.queue.shift()!;
      count += next.envelopes.length;
      batch.push(next);
    }
    return batch;
  }

  /**
   * Kafka while the shard is live, else (or when Kafka fails) the shard's stream. The Kafka attempt gets
   * its full `kafkaSendTimeoutMs` even when the batch waited behind others (under load, cutting it short
   * would push healthy traffic into Redis); the Redis part ends at the caller's deadline.
   */
  private async deliver(shard: number, state: ShardState, envelopes: Envelope[], deadlineAt: number): Promise<SendPath> {
    if (state.mode === "live" && Date.now() >= this.kafkaDownUntil) {
      try {
        await this.batcher.send(envelopes, Date.now() + this.kafkaTimeoutMs);
        this.stats.kafkaMessages += envelopes.length;
        return "kafka";
      } catch (err) {
        this.lastKafkaError = err;
        this.stats.kafkaFailures++;
        this.kafkaDownUntil = Date.now() + (this.options.kafkaRetryAfterMs ?? 1_000);
      } finally {
        this.stats.kafkaRequests = this.batcher.stats.requests;
      }
    }
    state.mode = "backlog";
    let tried = false;
    try {
      // The append carries the deadline into Redis (a script checks it against the server clock), so an
      // append given up on here cannot take effect later, e.g. from ioredis' offline queue on reconnect.
      state.lastBufferedId = await withDeadline(
        () => {
          tried = true;
          return this.buffer.append(shard, envelopes, { deadlineAt, waitReplicas: this.options.waitReplicas ?? 0 });
        },
        deadlineAt,
        `Redis did not acknowledge ${envelopes.length} buffered message(s)`,
      );
    } catch (err) {
      // Not stored when the append was never tried or Redis refused it; otherwise the tail is unknown.
      if (tried && !(err instanceof AppendDeadlineError)) state.lastBufferedId = UNKNOWN_TAIL;
      throw new Error(`Kafka unavailable (${describe(this.lastKafkaError)}) and Redis append failed (${describe(err)})`, { cause: err });
    }
    this.stats.redisMessages += envelopes.length;
    return "redis";
  }

  /**
   * Live again once the stream head is past this producer's newest entry (or the stream is empty).
   * Under steady traffic a shard would keep appending and never see that; so when little is left it
   * stops appending for up to `catchUpWaitMs` (sends wait in memory) to let the replayer catch up.
   */
  private async checkCaughtUp(shard: number, state: ShardState, deadlineAt: number): Promise<void> {
    state.nextDrainCheck = Date.now() + (this.options.drainCheckIntervalMs ?? 200);
    try {
      const head = await this.headBefore(shard, deadlineAt);
      if (this.isDrained(head, state)) return this.goLive(state);
      // Pause only while the replayer is visibly draining; during an outage pausing would only slow sends.
      const progressing = state.lastSeenHead !== undefined && head !== state.lastSeenHead;
      state.lastSeenHead = head;
      if (
        !progressing ||
        (await withDeadline(() => this.buffer.length(shard), deadlineAt, "Redis did not report the stream length")) > (this.options.catchUpBacklog ?? 2_000)
      )
        return;
      const until = Math.min(Date.now() + (this.options.catchUpWaitMs ?? 500), deadlineAt);
      while (Date.now() < until) {
        await sleep(10);
        if (this.isDrained(await this.headBefore(shard, until), state)) return this.goLive(state);
      }
    } catch {
      // Redis unreachable or slow: stay in buffering mode; the append that follows reports the failure.
      // A head read given up on may still run later; it is only a read.
    }
  }

  private headBefore(shard: number, deadlineAt: number): Promise<string | undefined> {
    return withDeadline(() => this.buffer.head(shard), deadlineAt, "Redis did not report the stream head");
  }

  private isDrained(head: string | undefined, state: ShardState): boolean {
    if (head === undefined) return true;
    if (state.lastBufferedId === undefined || state.lastBufferedId === UNKNOWN_TAIL) return false;
    return compareStreamIds(head, state.lastBufferedId) > 0;
  }

  private goLive(state: ShardState): void {
    state.mode = "live";
    state.lastBufferedId = undefined;
    state.lastSeenHead = undefined;
    // The replayer just wrote to Kafka, so it is reachable again.
    this.kafkaDownUntil = 0;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Starts `start()` only if `deadlineAt` (epoch ms) is still ahead, and stops waiting for it then. */
async function withDeadline<T>(start: () => Promise<T>, deadlineAt: number, what: string): Promise<T> {
  const ms = deadlineAt - Date.now();
  if (ms <= 0) throw new Error(`${what}: no time left before the send deadline`);
  let timer: NodeJS.Timeout | undefined;
  const work = start();
  work.catch(() => undefined);
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
