import type Redis from "ioredis";
import { randomBytes } from "node:crypto";
import { BufferKeys } from "./buffer";

/** Renews only if the lease is still ours. KEYS: lease. ARGV: token, ttl ms. 1 renewed, 0 expired, -1 taken. */
const RENEW = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if holder then return -1 end
return 0
`;
/** Deletes only if the lease is still ours. KEYS: lease. ARGV: token. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Exclusive right to replay one shard: `SET NX PX` with a token that starts with a fencing number
 * (INCR per acquisition). Writes that must not outlive the lease (trimming the stream) check the token
 * inside Redis, so a replayer that stalled past its TTL cannot trim what its successor still needs.
 * Kafka writes cannot be fenced this way; a stalled replayer may re-send a batch, which consumers drop
 * by message id.
 */
/** Why a lease was lost: expired in Redis, taken by another replica, or not renewed in time here. */
export type LeaseLossReason = "expired" | "taken" | "lapsed";

export class ShardLease {
  private tokenValue: string | undefined;
  private renewedAt = 0;
  private lost: LeaseLossReason | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: BufferKeys,
    readonly shard: number,
    readonly ttlMs: number,
    private readonly owner: string,
  ) {
    redis.defineCommand("mqLeaseRenew", { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand("mqLeaseRelease", { numberOfKeys: 1, lua: RELEASE });
  }

  /** The token while held (fence number first), else undefined. */
  get token(): string | undefined {
    return this.tokenValue;
  }

  /** True while held and last renewed within the TTL, with a margin for clock drift between renewals. */
  get held(): boolean {
    return this.tokenValue !== undefined && !this.lapsed;
  }

  /** Held, but not renewed within 0.8 TTL: it may have expired in Redis; `renew()` tells. */
  get lapsed(): boolean {
    return this.tokenValue !== undefined && Date.now() - this.renewedAt >= this.ttlMs * 0.8;
  }

  /** Why the last acquisition ended, once it did without `release()`. */
  get lossReason(): LeaseLossReason | undefined {
    return this.lost;
  }

  /** Tries once; true when this process now holds the lease. */
  async acquire(): Promise<boolean> {
    const fence = await this.redis.incr(this.keys.fence(this.shard));
    const token = `${fence}:${this.owner}:${randomBytes(6).toString("hex")}`;
    const started = Date.now();
    const ok = await this.redis.set(this.keys.lease(this.shard), token, "PX", this.ttlMs, "NX");
    if (ok !== "OK") return false;
    this.tokenValue = token;
    this.renewedAt = started;
    this.lost = undefined;
    return true;
  }

  /** Extends the TTL; false (and no longer held, see `lossReason`) when it expired or someone else holds it. */
  async renew(): Promise<boolean> {
    const token = this.tokenValue;
    if (!token) return false;
    const started = Date.now();
    const result = await (this.redis as unknown as { mqLeaseRenew(k: string, t: string, ttl: number): Promise<number> }).mqLeaseRenew(
      this.keys.lease(this.shard),
      token,
      this.ttlMs,
    );
    if (this.tokenValue !== token) return false; // released or re-acquired meanwhile
    if (result === 1) {
      this.renewedAt = started;
      return true;
    }
    this.tokenValue = undefined;
    this.lost = result === -1 ? "taken" : "expired";
    return false;
  }

  /** Gives up a lease that could not be renewed in time (Redis unreachable), without touching Redis. */
  abandon(): void {
    if (!this.tokenValue) return;
    this.tokenValue = undefined;
    this.lost = "lapsed";
  }

  /** Gives the lease up so another replica can take the shard at once instead of after the TTL. */
  async release(): Promise<void> {
    const token = this.tokenValue;
    this.tokenValue = undefined;
    if (!token) return;
    await (this.redis as unknown as { mqLeaseRelease(k: string, t: string): Promise<number> }).mqLeaseRelease(this.keys.lease(this.shard), token);
  }
}

/** A name for this replica in lease tokens: pod name (HOSTNAME) and pid. */
export function defaultOwner(): string {
  return `${process.env.HOSTNAME ?? "local"}-${process.pid}`.replace(/[^A-Za-z0-9_.-]/g, "_");
}
