import type Redis from "ioredis";
import { Envelope } from "./message";
import { ServerClock } from "./server-clock";

/** A buffered entry as read back from a shard stream. */
export interface StreamEntry {
  /** Redis stream entry id (`<ms>-<seq>`), increasing within a shard. */
  streamId: string;
  envelope: Envelope;
}

/** Redis key names; every key of one deployment shares `prefix` (default `classroom:mq`). */
export class BufferKeys {
  constructor(readonly prefix: string) {}
  stream(shard: number): string {
    return `${this.prefix}:stream:${shard}`;
  }
  lease(shard: number): string {
    return `${this.prefix}:lease:${shard}`;
  }
  fence(shard: number): string {
    return `${this.prefix}:fence:${shard}`;
  }
  /** The shard count every producer and replayer of the deployment must agree on. */
  shards(): string {
    return `${this.prefix}:shards`;
  }
}

/**
 * Trims a shard only while the caller still holds its lease (fencing): a replayer that lost its lease
 * while Kafka was slow must not delete entries its successor has not replayed yet.
 * KEYS: lease, stream. ARGV: lease token, first id to keep. Returns entries removed, or -1 when fenced.
 */
const TRIM_IF_LEASED = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
return redis.call('XTRIM', KEYS[2], 'MINID', '=', ARGV[2])
`;

/**
 * Appends a batch to a shard stream, all or nothing, unless the server clock is past the deadline: an
 * append the producer gave up on (and reported as failed) must not take effect later. A batch whose
 * last message already ends the stream is not appended again: ioredis re-sends a command whose reply
 * a dropped connection lost, although Redis may have run it.
 * KEYS: stream. ARGV: deadline (server epoch ms), id of the batch's last message, then per entry its
 * field count and the fields ("id" and its value first). Returns the last entry id, or an error
 * starting with MQDEADLINE.
 */
const APPEND_BEFORE_DEADLINE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(ARGV[1]) then
  return redis.error_reply('MQDEADLINE append arrived ' .. (now - tonumber(ARGV[1])) .. ' ms after its deadline')
end
local tail = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if tail and tail[2][1] == 'id' and tail[2][2] == ARGV[2] then return tail[1] end
local last
local i = 3
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  last = redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return last
`;

/** Redis refused an append because it arrived after its deadline; nothing of it was stored. */
export class AppendDeadlineError extends Error {}

export interface AppendOptions {
  /** Local epoch ms by which the caller must know the outcome; Redis refuses the append after that. */
  deadlineAt: number;
  /** Redis replicas that must confirm the batch (WAIT). Default 0. */
  waitReplicas?: number;
  /** Longest WAIT. Default 1000 ms, or less when the deadline is nearer. */
  waitTimeoutMs?: number;
}

/** The Redis Streams side of the outage buffer: one stream per shard, appended and trimmed in order. */
export class StreamBuffer {
  readonly keys: BufferKeys;
  /** Redis' clock, for append deadlines; `sync()` it before the first append. */
  readonly clock: ServerClock;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly shards: number,
  ) {
    if (!Number.isInteger(shards) || shards < 1 || shards > 1024) throw new Error(`shards must be an integer from 1 to 1024, got ${shards}`);
    this.keys = new BufferKeys(prefix);
    this.clock = new ServerClock(redis);
    redis.defineCommand("mqTrimIfLeased", { numberOfKeys: 2, lua: TRIM_IF_LEASED });
    redis.defineCommand("mqAppendBeforeDeadline", { numberOfKeys: 1, lua: APPEND_BEFORE_DEADLINE });
  }

  /**
   * Records the shard count on first use and refuses a different one: a producer hashing keys into more
   * shards than the replayer drains would strand messages in streams nobody reads.
   */
  async checkShardCount(): Promise<void> {
    await this.redis.set(this.keys.shards(), String(this.shards), "NX");
    const stored = await this.redis.get(this.keys.shards());
    if (stored !== null && Number(stored) !== this.shards) {
      throw new Error(
        `shard count mismatch: Redis key ${this.keys.shards()} says ${stored}, this process is configured with ${this.shards}; ` +
          `drain every stream and delete that key before changing it`,
      );
    }
  }

  /**
   * Appends envelopes to a shard stream, all or nothing, and resolves with the last stream id once Redis
   * has them (in memory and the AOF buffer; fsync follows within ~1 s under `appendfsync everysec`).
   * Rejects with AppendDeadlineError when the append reached Redis too late to be answered by
   * `deadlineAt`; Redis then stored none of it. `waitReplicas` > 0 additionally waits for that many
   * replicas (Sentinel setups) via WAIT.
   */
  async append(shard: number, envelopes: Envelope[], options: AppendOptions): Promise<string> {
    // WAIT 0 would block forever.
    const { waitReplicas = 0, waitTimeoutMs = Math.max(1, Math.min(1_000, options.deadlineAt - Date.now())) } = options;
    const args: (string | Buffer | number)[] = [this.keys.stream(shard), this.clock.serverDeadline(options.deadlineAt), envelopes[envelopes.length - 1].id];
    for (const e of envelopes) {
      const hasHeaders = Object.keys(e.headers).length > 0;
      args.push(hasHeaders ? 10 : 8, "id", e.id, "t", e.topic, "k", e.key, "v", e.value);
      if (hasHeaders) args.push("h", JSON.stringify(e.headers));
    }
    const pipeline = this.redis.pipeline();
    (pipeline as unknown as { mqAppendBeforeDeadline(...a: (string | Buffer | number)[]): void }).mqAppendBeforeDeadline(...args);
    if (waitReplicas > 0) pipeline.wait(waitReplicas, waitTimeoutMs);
    const results = (await pipeline.exec()) ?? [];
    const [appendError, lastId] = results[0];
    if (appendError) throw appendError.message.startsWith("MQDEADLINE") ? new AppendDeadlineError(appendError.message) : appendError;
    if (waitReplicas > 0) {
      const [waitError, acked] = results[1];
      if (waitError) throw waitError;
      if (Number(acked) < waitReplicas)
        throw new Error(`only ${acked} of ${waitReplicas} Redis replica(s) acknowledged the buffered batch within ${waitTimeoutMs} ms`);
    }
    return String(lastId);
  }

  /** Id of the oldest entry still in the shard (not yet replayed), or undefined when it is empty. */
  async head(shard: number): Promise<string | undefined> {
    const first = await this.redis.xrange(this.keys.stream(shard), "-", "+", "COUNT", 1);
    return first.length > 0 ? first[0][0] : undefined;
  }

  /** Entries not yet replayed, oldest first. */
  async length(shard: number): Promise<number> {
    return this.redis.xlen(this.keys.stream(shard));
  }

  /**
   * Every shard's backlog in one round trip: entries not yet replayed, and the age of the oldest one
   * (0 when empty). Ages are measured on Redis' own clock (stream ids carry the server's time when the
   * entry was appended), so a pod whose clock is off does not report a lag that is not there.
   */
  async backlog(): Promise<{ shard: number; messages: number; oldestAgeMs: number }[]> {
    const pipeline = this.redis.pipeline().time();
    for (let shard = 0; shard < this.shards; shard++) {
      pipeline.xlen(this.keys.stream(shard)).xrange(this.keys.stream(shard), "-", "+", "COUNT", 1);
    }
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
    const [seconds, micros] = replies[0][1] as [string, string];
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    return Array.from({ length: this.shards }, (_, shard) => {
      const messages = replies[1 + 2 * shard][1] as number;
      const head = replies[2 + 2 * shard][1] as [string, string[]][];
      const oldestAgeMs = head.length > 0 ? Math.max(0, nowMs - Number(head[0][0].split("-")[0])) : 0;
      return { shard, messages, oldestAgeMs };
    });
  }

  /**
   * Reads up to `count` entries from the head of the shard. With `blockMs` it waits that long for the
   * first entry of an empty shard (needs a connection of its own: a blocked connection serves nobody).
   */
  async read(shard: number, count: number, blockMs?: number, connection: Redis = this.redis): Promise<StreamEntry[]> {
    const key = this.keys.stream(shard);
    const reply =
      blockMs === undefined
        ? await connection.xreadBuffer("COUNT", count, "STREAMS", key, "0-0")
        : await connection.xreadBuffer("COUNT", count, "BLOCK", blockMs, "STREAMS", key, "0-0");
    if (!reply || reply.length === 0) return [];
    return reply[0][1].map(([rawId, fields]) => {
      const map = new Map<string, Buffer>();
      for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i].toString(), fields[i + 1]);
      const headers = map.get("h");
      return {
        streamId: rawId.toString(),
        envelope: {
          id: map.get("id")!.toString(),
          topic: map.get("t")!.toString(),
          key: map.get("k")!.toString(),
          value: map.get("v") ?? Buffer.alloc(0),
          headers: headers ? JSON.parse(headers.toString()) : {},
        },
      };
    });
  }

  /** Removes every entry up to and including `throughId`, only while `leaseToken` still holds the lease. */
  async trimThrough(shard: number, throughId: string, leaseToken: string): Promise<boolean> {
    const [ms, seq] = throughId.split("-");
    const firstKept = `${ms}-${BigInt(seq) + 1n}`;
    const removed = await (this.redis as unknown as { mqTrimIfLeased(...args: string[]): Promise<number> }).mqTrimIfLeased(
      this.keys.lease(shard),
      this.keys.stream(shard),
      leaseToken,
      firstKept,
    );
    return removed >= 0;
  }
}

/** Compares stream ids `<ms>-<seq>` numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}
