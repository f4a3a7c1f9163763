import { EventEmitter } from "node:events";
import * as zookeeper from "node-zookeeper-client";
import { Instance, decodeNodeData } from "../contract";
import { Logger } from "../logger";
import { SessionManager } from "../session";
import { ZkConnection, isConnectionProblem, isNoNode } from "../zk";

/** What one refresh changed. */
export interface ChangeSet {
  added: Instance[];
  removed: Instance[];
  updated: Instance[];
}

export interface ChildrenCacheEvents {
  /** Membership or instance data changed. */
  change: [changes: ChangeSet];
  /** A refresh finished against a live session: the cache reflects ZooKeeper. */
  synced: [];
  /** The session dropped: the cache is now only the last known state. */
  unsynced: [];
}

/**
 * The instances under one service directory, kept in step with ZooKeeper.
 *
 * The design is Curator's PathChildrenCache reduced to what discovery needs:
 * - the children are read WITH the watch in the same call, so no change can slip in between reading
 *   and watching (the old loop read, then set the watch separately, and lost what happened between);
 * - the listing is diffed against the cache and only new children, and children whose data watch
 *   fired, are read (the old loop re-read every child on every event);
 * - every event asks for a refresh; an event that arrives while a refresh runs schedules exactly one
 *   more, so a burst of N changes costs a few listings, not N;
 * - a reconnection re-lists; a new session also re-reads every child (its data watches died with the
 *   old session).
 */
export class ChildrenCache extends EventEmitter<ChildrenCacheEvents> {
  private readonly entries = new Map<string, Instance>();
  /** Children whose node data is not a valid instance: known (not re-read every time), not served. */
  private readonly invalid = new Map<string, string>();
  /** Children to re-read on the next refresh (data changed, or node deleted and maybe re-created). */
  private readonly dirty = new Set<string>();
  private running = false;
  private again = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  synced = false;
  everSynced = false;
  /** Completed refreshes, for tests and benches. */
  refreshes = 0;

  private readonly childWatcher = () => this.requestRefresh();
  private readonly existsWatcher = () => this.requestRefresh();
  private readonly dataWatcher = (event: zookeeper.Event) => {
    this.dirty.add(event.path.slice(event.path.lastIndexOf("/") + 1));
    this.requestRefresh();
  };
  private readonly onConnected = (_conn: ZkConnection, newSession: boolean) => {
    if (newSession) for (const id of this.known()) this.dirty.add(id);
    this.requestRefresh();
  };
  private readonly onDisconnected = () => {
    if (!this.synced) return;
    this.synced = false;
    this.emit("unsynced");
  };

  constructor(readonly path: string, private readonly session: SessionManager, private readonly logger: Logger) {
    super();
  }

  start(): void {
    this.session.on("connected", this.onConnected);
    this.session.on("disconnected", this.onDisconnected);
    this.session.on("replaced", this.onDisconnected);
    if (this.session.isConnected) this.requestRefresh();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.session.off("connected", this.onConnected);
    this.session.off("disconnected", this.onDisconnected);
    this.session.off("replaced", this.onDisconnected);
    this.removeAllListeners();
  }

  /** Cached instances sorted by id. */
  instances(): Instance[] {
    return [...this.entries.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Coalescing: at most one refresh runs, and at most one more is queued behind it. */
  requestRefresh(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        const conn = this.session.current;
        if (!conn || !this.session.isConnected) break; // the next 'connected' event asks again
        try {
          await this.refreshOnce(conn);
        } catch (err) {
          if (!isConnectionProblem(err)) {
            this.logger.error("refresh failed; retrying in 1 s", { path: this.path, error: String(err) });
            clearTimeout(this.retryTimer);
            this.retryTimer = setTimeout(() => this.requestRefresh(), 1_000);
            this.retryTimer.unref();
          }
        }
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
  }

  private known(): string[] {
    return [...this.entries.keys(), ...this.invalid.keys()];
  }

  private async refreshOnce(conn: ZkConnection): Promise<void> {
    let children: string[];
    try {
      children = (await conn.getChildren(this.path, this.childWatcher)).children;
    } catch (err) {
      if (!isNoNode(err)) throw err;
      // No service directory yet: watch for its creation; if it appeared meanwhile, list again.
      if (await conn.exists(this.path, this.existsWatcher)) {
        this.again = true;
        return;
      }
      children = [];
    }

    const present = new Set(children);
    const toRead = children.filter((id) => this.dirty.has(id) || (!this.entries.has(id) && !this.invalid.has(id)));
    // Cleared before reading: an event during the read marks the child again and queues a refresh.
    for (const id of toRead) this.dirty.delete(id);
    const reads = await Promise.all(toRead.map((id) =>
      conn.getData(`${this.path}/${id}`, this.dataWatcher).then(
        ({ data }) => ({ id, data }),
        (err) => { if (isNoNode(err)) return { id, data: undefined }; throw err; },
      )));
    if (this.stopped || conn !== this.session.current) return; // a newer session owns the truth now

    const changes: ChangeSet = { added: [], removed: [], updated: [] };
    for (const id of this.known()) {
      if (present.has(id)) continue;
      const gone = this.entries.get(id);
      if (gone) changes.removed.push(gone);
      this.entries.delete(id);
      this.invalid.delete(id);
      this.dirty.delete(id);
    }
    for (const { id, data } of reads) this.apply(id, data, changes);
    this.refreshes++;
    if (changes.added.length + changes.removed.length + changes.updated.length > 0) this.emit("change", changes);
    if (!this.synced && this.session.isConnected) {
      this.synced = true;
      this.everSynced = true;
      this.emit("synced");
    }
  }

  private apply(id: string, data: Buffer | undefined, changes: ChangeSet): void {
    const before = this.entries.get(id);
    if (data === undefined) {
      // Listed but deleted before we read it; the children watch has fired and the next listing agrees.
      if (before) changes.removed.push(before);
      this.entries.delete(id);
      this.invalid.delete(id);
      return;
    }
    const decoded = decodeNodeData(id, data);
    if ("error" in decoded) {
      if (this.invalid.get(id) !== decoded.error) this.logger.warn("ignoring instance node with invalid data", { path: this.path, error: decoded.error });
      this.invalid.set(id, decoded.error);
      if (before) changes.removed.push(before);
      this.entries.delete(id);
      return;
    }
    this.invalid.delete(id);
    this.entries.set(id, decoded);
    if (!before) changes.added.push(decoded);
    else if (JSON.stringify(before) !== JSON.stringify(decoded)) changes.updated.push(decoded);
  }
}
