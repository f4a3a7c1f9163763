/**
 * Redis key layout, one place. Every key of a job hangs off `<prefix>:<kind>:<job>`; the Lua scripts
 * build the same names from the prefix (see lua.ts), so both must change together.
 *
 * Scripts touch keys of many jobs in one call, which is fine on a standalone or Sentinel-managed Redis
 * (what the platform runs) and not supported on Redis Cluster.
 */
export interface SchedulerKeys {
  /** `SET NX PX` claim of one fire: value is the replica that won it. */
  fire(job: string, fireMs: number): string;
  /**
   * Hash: `hwm` (newest fire ever admitted), `decided`, `runToken` (fencing token of the newest run
   * grant), `open` (`token|fire|replica|grantedAt` of the granted run whose outcome is not recorded yet).
   */
  state(job: string): string;
  /** INCR counter that mints fencing tokens. */
  fence(job: string): string;
  /** The run lock: `token|fire|replica|grantedAt`, PX lease renewed by the running replica. */
  run(job: string): string;
  /** Sorted set of fires waiting behind a running run (block "serial"), scored by fire time. */
  pending(job: string): string;
  /** Sorted set of tokens whose runs were cancelled by "cover-earlier" (already recorded). */
  covered(job: string): string;
  /** Sorted set of tokens whose runs were recorded "lost" (lock lapsed without an outcome). */
  lost(job: string): string;
  /** List of run history entries, newest first, capped. */
  history(job: string): string;
  /** Hash of outcome -> count since the job was first scheduled. */
  counters(job: string): string;
  /** Sorted set replica id -> last heartbeat (ms), for the status command. */
  readonly replicas: string;
  /** Sorted set job -> lease expiry (ms) of its open run: what the recovery pass looks at. */
  readonly open: string;
  /** `<upTo>|<ring digest>`: the replica claimed every fire of its home jobs up to that instant. */
  claimed(replica: string): string;
  /** Pub/sub channel of one replica: names of jobs whose queued fire it claimed and may now start. */
  handover(replica: string): string;
  /** Pub/sub channel: `job|token` of runs to cancel now (cover-earlier). */
  readonly cancel: string;
}

export function schedulerKeys(prefix: string): SchedulerKeys {
  return {
    fire: (job, fireMs) => `${prefix}:fire:${job}:${fireMs}`,
    state: (job) => `${prefix}:state:${job}`,
    fence: (job) => `${prefix}:fence:${job}`,
    run: (job) => `${prefix}:run:${job}`,
    pending: (job) => `${prefix}:pending:${job}`,
    covered: (job) => `${prefix}:covered:${job}`,
    lost: (job) => `${prefix}:lost:${job}`,
    history: (job) => `${prefix}:history:${job}`,
    counters: (job) => `${prefix}:counters:${job}`,
    replicas: `${prefix}:replicas`,
    open: `${prefix}:open`,
    claimed: (replica) => `${prefix}:claimed:${replica}`,
    handover: (replica) => `${prefix}:handover:${replica}`,
    cancel: `${prefix}:cancel`,
  };
}
