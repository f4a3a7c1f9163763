import * as zookeeper from "node-zookeeper-client";
import { InstanceNodeData, encodeNodeData } from "./contract";
import { Logger } from "./logger";
import { SessionManager } from "./session";
import { ZkConnection, isBadVersion, isConnectionProblem, isNoNode, isNodeExists } from "./zk";

/** What `register()` returns. */
export interface RegistrationHandle {
  readonly service: string;
  /** Node name under `<root>/<service>`. */
  readonly id: string;
  /** Full ZooKeeper path of the ephemeral node. */
  readonly path: string;
  /** The JSON currently stored in (or about to be written to) the node. */
  readonly data: InstanceNodeData;
  /** True while the node exists under this process's current session. */
  readonly registered: boolean;
  /** Deletes the node (only if this session owns it) and stops re-creating it. Idempotent. */
  deregister(): Promise<void>;
}

/**
 * One ephemeral node this process keeps alive across sessions, as Curator's ServiceDiscovery does for
 * its registered instances, with one deliberate difference: Curator deletes whatever node is in the
 * way, we only ever delete a node whose ephemeralOwner is a session this process held.
 */
export class Registration implements RegistrationHandle {
  registered = false;
  private active = true;
  private running = false;
  private again = false;
  private readonly waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  /**
   * Watches our own node: re-create it if someone deletes it, or retry once a foreign node goes away.
   * The event alone does not say whether work is needed: our own replacing transaction fires
   * NODE_DELETED too, and re-creating on that would send a second create for every replaced node. So
   * every event re-reads who owns the path now (which also sets the spent one-shot watch again).
   */
  private readonly nodeWatcher = () => {
    if (this.active) void this.recheck();
  };

  constructor(
    readonly service: string,
    readonly id: string,
    readonly path: string,
    readonly data: InstanceNodeData,
    private readonly session: SessionManager,
    private readonly logger: Logger,
    private readonly onDeregistered: (r: Registration) => void,
  ) {}

  /** Resolves once the node exists under the current session. */
  whenRegistered(): Promise<void> {
    if (this.registered) return Promise.resolve();
    if (!this.active) return Promise.reject(new Error(`${this.path} was deregistered`));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Session changed or node deleted: make sure our node exists. Coalesced like the watch refresh. */
  ensure(): void {
    if (!this.active) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.run();
  }

  /** A new session starts with none of our nodes. */
  sessionReplaced(): void {
    this.registered = false;
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        const conn = this.session.current;
        if (!conn || !this.session.isConnected) break; // the next 'connected' event calls ensure()
        try {
          await this.createOnce(conn);
        } catch (err) {
          if (!isConnectionProblem(err)) {
            this.logger.error("registration failed; retrying in 1 s", { path: this.path, error: String(err) });
            setTimeout(() => this.ensure(), 1_000).unref();
          }
        }
      } while (this.again && this.active);
    } finally {
      this.running = false;
    }
  }

  private async createOnce(conn: ZkConnection): Promise<void> {
    for (let attempt = 0; attempt < 10 && this.active; attempt++) {
      try {
        await conn.create(this.path, encodeNodeData(this.data), zookeeper.CreateMode.EPHEMERAL);
        if (!this.active) {
          // deregister() ran while the create was in flight: the node it could not see is ours to remove.
          await conn.remove(this.path).catch(() => undefined);
          return;
        }
        await conn.exists(this.path, this.nodeWatcher, false);
        return this.markRegistered(conn);
      } catch (err) {
        if (isNoNode(err)) {
          await conn.mkdirp(this.path.slice(0, this.path.lastIndexOf("/")));
          continue;
        }
        if (!isNodeExists(err)) throw err;
      }
      // Something is at our path. Whose is it?
      const stat = await conn.exists(this.path, this.nodeWatcher, false);
      if (!stat) continue; // gone meanwhile: create again
      const owner = stat.ephemeralOwner.toString("hex");
      if (owner === conn.sessionId) {
        // Ours already: a create whose reply was lost in a disconnection, so it holds our data.
        return this.markRegistered(conn);
      }
      if (this.session.ownSessionIds.has(owner)) {
        // Left by a session of this process that the server has not expired yet (e.g. the server
        // restored it from its log after a restart). Safe to replace: it is ours. Delete (by version,
        // so a node written in between is never removed) and create in ONE transaction: deleting
        // first and creating after the reply left the directory short for a round trip, and every
        // watcher served that short list as ZooKeeper's truth.
        this.logger.info("replacing this process's node from a previous session", { path: this.path, session: owner });
        try {
          await conn.replace(this.path, stat.version, encodeNodeData(this.data), zookeeper.CreateMode.EPHEMERAL);
        } catch (err) {
          if (isNoNode(err) || isBadVersion(err)) continue; // it changed meanwhile: look again
          throw err;
        }
        if (!this.active) {
          await conn.remove(this.path).catch(() => undefined);
          return;
        }
        await conn.exists(this.path, this.nodeWatcher, false);
        return this.markRegistered(conn);
      }
      // Another session's node (another process, or ours from before a restart we cannot know about):
      // never delete it. The exists watch set above calls ensure() when it goes away.
      this.logger.warn("instance id is held by another session; waiting for that node to go away", { path: this.path, owner });
      return;
    }
  }

  /** After a watch event: re-arm the watch and re-create the node only if it is no longer ours. */
  private async recheck(): Promise<void> {
    const conn = this.session.current;
    if (!conn || !this.active) return;
    let stat: zookeeper.Stat | undefined;
    try {
      stat = await conn.exists(this.path, this.nodeWatcher, false);
    } catch {
      // Connection trouble: the next 'connected' event runs ensure() for unregistered nodes, and the
      // client restores this watch on reconnection if the session survives.
      return;
    }
    if (!this.active || conn !== this.session.current) return;
    const owner = stat?.ephemeralOwner.toString("hex");
    if (owner === conn.sessionId) return; // still ours: rewritten, or just replaced by our own transaction
    // Still waiting for another session's node to go away: the watch is set again, nothing else to do.
    if (owner !== undefined && !this.registered && !this.session.ownSessionIds.has(owner)) return;
    this.registered = false;
    this.ensure();
  }

  private markRegistered(conn: ZkConnection): void {
    if (conn !== this.session.current) return;
    this.registered = true;
    this.logger.info("registered", { path: this.path, session: conn.sessionId });
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  async deregister(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.onDeregistered(this);
    for (const w of this.waiters.splice(0)) w.reject(new Error(`${this.path} was deregistered before it was registered`));
    const conn = this.session.current;
    this.registered = false;
    if (!conn) return;
    const removal = this.removeIfOurs(conn);
    // Disconnected: the client sends the delete if this session comes back; if it does not, the node
    // dies with the session. Either way there is nothing to wait for.
    if (this.session.isConnected) await removal;
  }

  private async removeIfOurs(conn: ZkConnection): Promise<void> {
    try {
      const stat = await conn.exists(this.path, undefined, false);
      if (stat && stat.ephemeralOwner.toString("hex") === conn.sessionId) await conn.remove(this.path, stat.version);
    } catch (err) {
      if (!isNoNode(err) && !isBadVersion(err) && !isConnectionProblem(err)) {
        this.logger.error("deregistration failed; the node goes when the session ends", { path: this.path, error: String(err) });
      }
    }
  }
}
