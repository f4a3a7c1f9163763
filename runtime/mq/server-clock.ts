import type Redis from "ioredis";

/** Extra safety on top of the measured uncertainty: the reply of a script must still reach us in time. */
const REPLY_MARGIN_MS = 50;
/** Clocks drift (NTP slews up to 0.5 ms/s); the offset is measured again after this long. */
const RESYNC_AFTER_MS = 30_000;

/**
 * The Redis server's clock as seen from this process, so that a deadline can travel into a script.
 *
 * Why: ioredis keeps commands in its offline queue while disconnected and re-sends unanswered ones on
 * reconnect, and a stalled server runs what sits in its socket once it resumes. A write the producer
 * has given up on (and told its caller so) could therefore still happen later. A script that compares
 * `TIME` with a deadline expressed in server time refuses such a late write.
 */
export class ServerClock {
  /** server ms minus local ms, measured at the midpoint of one TIME round trip. */
  private offsetMs = 0;
  /** Half that round trip: how far off `offsetMs` can be. */
  private uncertaintyMs = Number.POSITIVE_INFINITY;
  private syncedAt = 0;
  private syncing: Promise<void> | undefined;

  constructor(private readonly redis: Redis) {}

  /** Measures the offset (one TIME round trip). */
  async sync(): Promise<void> {
    const before = Date.now();
    const [seconds, micros] = await this.redis.time();
    const after = Date.now();
    const uncertainty = (after - before) / 2;
    // A slow round trip (say, a command that sat in the offline queue) measures badly and would make
    // every deadline needlessly tight: keep the old measurement then, and try again next time.
    if (uncertainty <= Math.max(2 * this.uncertaintyMs, 20)) {
      this.offsetMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (before + after) / 2;
      this.uncertaintyMs = uncertainty;
      this.syncedAt = after;
    }
  }

  /**
   * The latest server time at which work may still start so that its reply is back before `localDeadline`
   * (epoch ms here). Starts a background re-sync when the measurement is old; never waits for it.
   */
  serverDeadline(localDeadline: number): number {
    if (!Number.isFinite(this.uncertaintyMs)) throw new Error("ServerClock: sync() first");
    if (Date.now() - this.syncedAt > RESYNC_AFTER_MS && !this.syncing) {
      this.syncing = this.sync()
        .catch(() => undefined)
        .finally(() => {
          this.syncing = undefined;
        });
    }
    return Math.floor(localDeadline + this.offsetMs - this.uncertaintyMs - REPLY_MARGIN_MS);
  }
}
