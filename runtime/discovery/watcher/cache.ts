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
 * The design is Curator's PathChildrenCache reduced to what discovery needs, with CuratorCache's
 * event handling where node-zookeeper-client allows it (it has no persistent watches):
 * - the children are read WITH the watch in the same call, so no change can slip in between reading
 *   and watching (the old loop read, then set the watch separately, and lost what happened between);
 * - the listing is diffed against the cache and only new children are read; a child whose data
 *   changed is read directly, without a listing; a deleted child leaves when a listing confirms it;
 * - at most one listing is in flight; an event that arrives after its reply asks for exactly one more,
 *   sent as soon as the listing is applied, without waiting for the reads it started (waiting for them
 *   put a burst's last change two round trips behind, and that was the tail); an event that arrives
 *   before its reply is already answered by it (see `changed()`);
 * - a reconnection re-lists; a new session also re-reads every child (its data watches died with the
 *   old session).
 */
export class ChildrenCache extends EventEmitter<ChildrenCacheEvents> {
  private readonly entries = new Map<string, Instance>();
  /** Children whose node data is not a valid instance: known (not re-read every time), not served. */
  private readonly invalid = new Map<string, string>();
  /** Children to read again (new session, or data changed while a read of them was in flight). */
  private readonly dirty = new Set<string>();
  /** Children with a getData in flight. */
  private readonly reading = new Set<string>();
  /** The children in the latest listing; a read of a child no longer listed is dropped. */
  private listed = new Set<string>();
  /**
   * Send order of requests on the session (ZooKeeper answers one session's requests in that order):
   * tells whether the latest listing saw the directory after or before a given read did.
   */
  private sent = 0;
  private listedAt = 0;
  private pending: ChangeSet | undefined;
  private listing = false;
  /** The listing in flight has been answered (its result is not applied yet). */
  private listReplied = false;
  private listSoon = false;
  private again = false;
  /** A listing has completed since the last (re)connection: reads alone never make the cache synced. */
  private listedSinceConnect = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  synced = false;
  everSynced = false;
  /** Completed listings, for tests and benches. */
  refreshes = 0;

  private readonly childWatcher = () => this.changed();
  private readonly existsWatcher = () => this.changed();
  private readonly dataWatcher = (event: zookeeper.Event) => {
    if (this.stopped) return;
    const id = event.path.slice(event.path.lastIndexOf("/") + 1);
    const conn = this.session.current;
    if (event.type === zookeeper.Event.NODE_DATA_CHANGED && conn && this.session.isConnected) {
      this.read(conn, id);
      return;
    }
    // Deleted: not dropped on the event alone. A registrant replacing its node in one transaction
    // (delete + create) fires this too while the service never lacked the node; the listing the same
    // deletion triggers says which it was, and a node still listed is read again.
    this.dirty.add(id);
    this.changed();
  };
  private readonly onConnected = (_conn: ZkConnection, newSession: boolean) => {
    this.listedSinceConnect = false;
    if (newSession) for (const id of this.known()) this.dirty.add(id);
    this.requestRefresh();
  };
  private readonly onDisconnected = () => {
    this.listedSinceConnect = false;
    if (!this.synced) return;
    this.synced = false;
    this.emit("unsynced");
  };

  constructor(
    readonly path: string,
    private readonly session: SessionManager,
    private readonly logger: Logger,
  ) {
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

  /**
   * A watch fired. ZooKeeper answers a session's requests in order and sends each notification when
   * the change is applied, so a notification that arrives before the reply of the listing in flight
   * is about a change that listing already sees: only later ones need another listing. (A deletion
   * fires the node's data watch and the directory's children watch; the listing sent at the first
   * used to be followed by a second one for the other.)
   */
  private changed(): void {
    if (this.listing && !this.listReplied) return;
    this.requestRefresh();
  }

  /** Coalescing: at most one listing runs, and at most one more is queued behind it. */
  requestRefresh(): void {
    if (this.stopped) return;
    if (this.listing) {
      this.again = true;
      return;
    }
    if (this.listSoon) return;
    // Events that arrive together cost one listing: a deletion fires the node's data watch and the
    // directory's children watch in the same reply, and sending at the first of them paid for two.
    // The end of the tick is no later for either.
    this.listSoon = true;
    queueMicrotask(() => {
      this.listSoon = false;
      this.startListing();
    });
  }

  private startListing(): void {
    if (this.stopped) return;
    if (this.listing) {
      this.again = true;
      return;
    }
    const conn = this.session.current;
    if (!conn || !this.session.isConnected) return; // the next 'connected' event asks again
    this.listing = true;
    this.listReplied = false;
    this.again = false;
    void this.list(conn).then(
      () => this.afterListing(),
      (err) => {
        this.afterListing();
        this.failed(err);
      },
    );
  }

  private afterListing(): void {
    this.listing = false;
    if (this.again && !this.stopped) this.startListing();
    else this.checkSynced();
  }

  private failed(err: unknown): void {
    if (isConnectionProblem(err) || this.stopped) return; // the next 'connected' event lists again
    this.logger.error("refresh failed; retrying in 1 s", { path: this.path, error: String(err) });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.requestRefresh(), 1_000);
    this.retryTimer.unref();
  }

  private known(): string[] {
    return [...this.entries.keys(), ...this.invalid.keys()];
  }

  private async list(conn: ZkConnection): Promise<void> {
    let children: string[];
    const sentAt = ++this.sent;
    try {
      children = (
        await conn.getChildren(this.path, this.childWatcher, () => {
          this.listReplied = true;
        })
      ).children;
    } catch (err) {
      if (!isNoNode(err)) throw err;
      // No service directory yet: watch for its creation; if it appeared meanwhile, list again.
      if (await conn.exists(this.path, this.existsWatcher)) {
        this.again = true;
        return;
      }
      children = [];
    }
    if (this.stopped || conn !== this.session.current) return; // a newer session owns the truth now
    this.refreshes++;
    this.listedSinceConnect = true;
    this.listed = new Set(children);
    this.listedAt = sentAt;
    const changes = this.changes();
    for (const id of this.known()) {
      if (this.listed.has(id)) continue;
      const gone = this.entries.get(id);
      if (gone) changes.removed.push(gone);
      this.entries.delete(id);
      this.invalid.delete(id);
      this.dirty.delete(id);
    }
    for (const id of children) {
      // A child whose first read is still in flight is not new again: the read answers for it.
      if (this.dirty.has(id) || (!this.entries.has(id) && !this.invalid.has(id) && !this.reading.has(id))) this.read(conn, id);
    }
  }

  /** Reads one child with its data watch; a read already in flight is asked to run once more instead. */
  private read(conn: ZkConnection, id: string): void {
    if (this.reading.has(id)) {
      this.dirty.add(id);
      return;
    }
    this.dirty.delete(id);
    this.reading.add(id);
    const sentAt = ++this.sent;
    conn
      .getData(`${this.path}/${id}`, this.dataWatcher)
      .then(
        ({ data }) => data,
        (err) => {
          if (isNoNode(err)) return undefined;
          throw err;
        },
      )
      .then(
        (data) => {
          this.reading.delete(id);
          if (this.stopped || conn !== this.session.current) return;
          // Listed again since, or deleted meanwhile: the newer listing (or the deletion) decides.
          if (this.listed.has(id)) {
            this.apply(id, data, this.changes());
          }
          // Gone when read, yet listed by a later listing: created again in between, so read it again.
          if (data === undefined && this.listed.has(id) && this.listedAt > sentAt) this.dirty.add(id);
          if (this.dirty.has(id) && this.listed.has(id)) this.read(conn, id);
          else this.checkSynced();
        },
        (err) => {
          this.reading.delete(id);
          this.dirty.add(id);
          this.failed(err);
          this.checkSynced();
        },
      );
  }

  /**
   * The change set of the current tick. Replies that arrive together (a listing and the reads before
   * it, or a run of reads) are applied at once and announced once, at the end of the tick: no later
   * than one by one, and every listener (the watch diffs the whole list) runs once instead of per reply.
   */
  private changes(): ChangeSet {
    if (this.pending) return this.pending;
    const changes: ChangeSet = { added: [], removed: [], updated: [] };
    this.pending = changes;
    queueMicrotask(() => {
      this.pending = undefined;
      if (!this.stopped && changes.added.length + changes.removed.length + changes.updated.length > 0) this.emit("change", changes);
    });
    return changes;
  }

  /** Synced once a listing and every read it started are done against a live session. */
  private checkSynced(): void {
    if (this.synced || this.stopped || this.listing || this.listSoon || this.reading.size > 0 || !this.listedSinceConnect) return;
    if (!this.session.isConnected) return;
    this.synced = true;
    this.everSynced = true;
    this.emit("synced");
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
