import type Redis from "ioredis";
import { Envelope } from "./message";

/** A buffered entry as read back from a shard stream. */
export interface StreamEntry {
  /** Redis stream entry id (`<ms>-<seq>`), increasing within a shard. */
  streamId: string;
  envelope: Envelope;
}

/** Redis key names; every key of one deployment shares `prefix` (default `classroom:mq`). */
export class BufferKeys {
  constructor(readonly prefix: string) {}
  stream(shard: number): string { return `${this.prefix}:stream:${shard}`; }
  lease(shard: number): string { return `${this.prefix}:lease:${shard}`; }
  fence(shard: number): string { return `${this.prefix}:fence:${shard}`; }
  /** The shard count every producer and replayer of the deployment must agree on. */
  shards(): string { return `${this.prefix}:shards`; }
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

/** The Redis Streams side of the outage buffer: one stream per shard, appended and trimmed in order. */
export class StreamBuffer {
  readonly keys: BufferKeys;

  constructor(private readonly redis: Redis, prefix: string, readonly shards: number) {
    if (!Number.isInteger(shards) || shards < 1 || shards > 1024) throw new Error(`shards must be an integer from 1 to 1024, got ${shards}`);
    this.keys = new BufferKeys(prefix);
    redis.defineCommand("mqTrimIfLeased", { numberOfKeys: 2, lua: TRIM_IF_LEASED });
  }

  /**
   * Records the shard count on first use and refuses a different one: a producer hashing keys into more
   * shards than the replayer drains would strand messages in streams nobody reads.
   */
  async checkShardCount(): Promise<void> {
    await this.redis.set(this.keys.shards(), String(this.shards), "NX");
    const stored = await this.redis.get(this.keys.shards());
    if (stored !== null && Number(stored) !== this.shards) {
      throw new Error(`shard count mismatch: Redis key ${this.keys.shards()} says ${stored}, this process is configured with ${this.shards}; ` +
        `drain every stream and delete that key before changing it`);
    }
  }

  /**
   * Appends envelopes to a shard stream in one pipeline and resolves with the last stream id, once Redis
   * has them (in memory and the AOF buffer; fsync follows within ~1 s under `appendfsync everysec`).
   * `waitReplicas` > 0 additionally waits for that many replicas (Sentinel setups) via WAIT.
   */
  async append(shard: number, envelopes: Envelope[], waitReplicas = 0, waitTimeoutMs = 1_000): Promise<string> {
    const key = this.keys.stream(shard);
    const pipeline = this.redis.pipeline();
    for (const e of envelopes) {
      const fields: (string | Buffer)[] = ["id", e.id, "t", e.topic, "k", e.key, "v", e.value];
      if (Object.keys(e.headers).length > 0) fields.push("h", JSON.stringify(e.headers));
      pipeline.xadd(key, "*", ...fields);
    }
    if (waitReplicas > 0) pipeline.wait(waitReplicas, waitTimeoutMs);
    const results = (await pipeline.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    if (waitReplicas > 0) {
      const acked = Number(results[results.length - 1][1]);
      if (acked < waitReplicas) throw new Error(`only ${acked} of ${waitReplicas} Redis replica(s) acknowledged the buffered batch within ${waitTimeoutMs} ms`);
    }
    return String(results[envelopes.length - 1][1]);
  }

  /** Id of the oldest entry still in the shard (not yet replayed), or undefined when it is empty. */
  async head(shard: number): Promise<string | undefined> {
    const first = await this.redis.xrange(this.keys.stream(shard), "-", "+", "COUNT", 1);
    return first.length > 0 ? first[0][0] : undefined;
  }

  /** Entries not yet replayed, oldest first. */
  async length(shard: number): Promise<number> { return this.redis.xlen(this.keys.stream(shard)); }

  /**
   * Reads up to `count` entries from the head of the shard. With `blockMs` it waits that long for the
   * first entry of an empty shard (needs a connection of its own: a blocked connection serves nobody).
   */
  async read(shard: number, count: number, blockMs?: number, connection: Redis = this.redis): Promise<StreamEntry[]> {
    const key = this.keys.stream(shard);
    const reply = blockMs === undefined
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
    const removed = await (this.redis as unknown as { mqTrimIfLeased(...args: string[]): Promise<number> })
      .mqTrimIfLeased(this.keys.lease(shard), this.keys.stream(shard), leaseToken, firstKept);
    return removed >= 0;
  }
}

/** Compares stream ids `<ms>-<seq>` numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}
