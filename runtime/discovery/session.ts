import { EventEmitter } from "node:events";
import * as zookeeper from "node-zookeeper-client";
import { Logger } from "./logger";
import { ZkConnection, ZkStats } from "./zk";

export interface SessionOptions {
  /** ZooKeeper connect string. Required. */
  connect: string;
  /** Requested session timeout in ms; the server may clamp it (we then use the negotiated value). */
  sessionTimeoutMs: number;
  /** Pause between rounds of connection attempts, ms. Default 200 (the library's 1000 slows recovery). */
  spinDelayMs?: number;
  logger: Logger;
  stats: ZkStats;
}

export interface SessionEvents {
  /** A client (re)connected. `newSession` is true for the first connection of a fresh session. */
  connected: [conn: ZkConnection, newSession: boolean];
  /** The connection dropped or stopped answering; the session may still come back. */
  disconnected: [];
  /** The session is considered lost and a new client was started; ephemeral nodes must be re-created. */
  replaced: [oldSessionId: string];
}

/**
 * Keeps exactly one live ZooKeeper session, replacing the client when the session is lost.
 *
 * node-zookeeper-client only reports expiry when it manages to reconnect and the server refuses the
 * session; while partitioned it keeps the socket (or keeps retrying) and never says "expired", and
 * after expiry it never opens a new session. So, as Curator's ConnectionStateManager does, this class
 * runs its own clock: once the connection has been down (socket closed, or probes unanswered) for a
 * full negotiated session timeout, the server has certainly expired the session, and we open a new one.
 */
export class SessionManager extends EventEmitter<SessionEvents> {
  private conn: ZkConnection | undefined;
  private generation = 0;
  private connected = false;
  /** When we last knew the server could hear us; undefined while connected and answering. */
  private lostContactAt: number | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Every session id this process has held, so that our own stale ephemeral nodes can be recognised. */
  readonly ownSessionIds = new Set<string>();

  constructor(private readonly options: SessionOptions) {
    super();
    // One listener per watch and per registration: a caller watching more than ten services is normal.
    this.setMaxListeners(0);
  }

  /** The current client; it may be disconnected (calls then wait for the reconnection or fail). */
  get current(): ZkConnection | undefined {
    return this.conn;
  }
  get isConnected(): boolean {
    return this.connected && this.lostContactAt === undefined;
  }
  /** Negotiated session timeout once connected, else the requested one. */
  get sessionTimeoutMs(): number {
    const negotiated = this.conn?.everConnected ? this.conn.client.getSessionTimeout() : 0;
    return negotiated > 0 ? negotiated : this.options.sessionTimeoutMs;
  }

  start(): void {
    if (this.conn || this.closed) return;
    this.lostContactAt = Date.now();
    this.open();
    this.armProbe();
    this.armExpiryTimer();
    this.armHandshakeWatchdog();
  }

  private open(): void {
    const client = zookeeper.createClient(this.options.connect, {
      sessionTimeout: this.options.sessionTimeoutMs,
      spinDelay: this.options.spinDelayMs ?? 200,
      retries: 0,
    });
    const conn = new ZkConnection(client, ++this.generation, this.options.stats);
    this.conn = conn;
    client.on("state", (state) => this.onState(conn, state));
    client.connect();
  }

  private onState(conn: ZkConnection, state: zookeeper.State): void {
    if (conn !== this.conn || this.closed) return;
    const { logger } = this.options;
    if (state === zookeeper.State.SYNC_CONNECTED) {
      const newSession = !conn.everConnected;
      conn.everConnected = true;
      this.ownSessionIds.add(conn.sessionId);
      this.connected = true;
      this.contactRestored();
      logger.info(newSession ? "zookeeper session established" : "zookeeper reconnected", { session: conn.sessionId, timeoutMs: this.sessionTimeoutMs });
      this.emit("connected", conn, newSession);
    } else if (state === zookeeper.State.DISCONNECTED) {
      this.connected = false;
      this.contactLost(Date.now());
    } else if (state === zookeeper.State.EXPIRED || state === zookeeper.State.AUTH_FAILED) {
      logger.warn(`zookeeper session ${state === zookeeper.State.EXPIRED ? "expired" : "authentication failed"}; opening a new session`, {
        session: conn.sessionId,
      });
      this.replace(`session ${state.name}`);
    }
  }

  private contactLost(since: number): void {
    if (this.lostContactAt === undefined) {
      this.lostContactAt = since;
      this.options.logger.warn("zookeeper connection lost", { session: this.conn?.sessionId });
      this.emit("disconnected");
    }
    this.armExpiryTimer();
    this.armHandshakeWatchdog();
  }

  private contactRestored(): void {
    this.lostContactAt = undefined;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    clearInterval(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  /**
   * While the connection is down, a reconnection attempt that has had no session reply for a whole
   * interval is dropped and retried (ZkConnection.abortStalledHandshake). A server answers a handshake
   * in milliseconds; one that does not was not ready when it accepted the socket, and the next attempt
   * reaches it ready. The interval, a fifth of the session timeout (1-5 s), leaves several attempts
   * inside the session, so a server restart within the timeout keeps the session.
   */
  private armHandshakeWatchdog(): void {
    if (this.handshakeTimer || this.closed) return;
    const interval = Math.min(5_000, Math.max(1_000, Math.floor(this.sessionTimeoutMs / 5)));
    this.handshakeTimer = setInterval(() => {
      const conn = this.conn;
      if (!conn || this.connected || this.closed) return;
      if (conn.abortStalledHandshake()) {
        this.options.logger.warn("zookeeper handshake unanswered; reconnecting", { session: conn.sessionId, waitedMs: interval });
      }
    }, interval);
    this.handshakeTimer.unref();
  }

  /**
   * Fires once the outage has outlived the session timeout: the server has expired the session by
   * then. Also covers a client that never got a session: the library has no timeout for the connect
   * handshake, so a server that accepts TCP but never answers would hold it forever; a fresh client
   * tries the servers again.
   */
  private armExpiryTimer(): void {
    if (this.expiryTimer || this.lostContactAt === undefined || this.closed) return;
    const due = this.lostContactAt + this.sessionTimeoutMs - Date.now();
    this.expiryTimer = setTimeout(
      () => {
        this.expiryTimer = undefined;
        if (this.lostContactAt === undefined || this.closed) return;
        const hadSession = this.conn?.everConnected ?? false;
        this.options.logger.warn(
          hadSession
            ? "zookeeper unreachable for longer than the session timeout; treating the session as expired"
            : "no zookeeper session within the session timeout; starting a fresh client",
          {
            session: this.conn?.sessionId,
            downMs: Date.now() - this.lostContactAt,
          },
        );
        this.replace(hadSession ? "disconnected longer than the session timeout" : "no session established in time");
      },
      Math.max(0, due),
    );
  }

  /**
   * The library never times out a read, so a silent partition (socket open, no answers) looks
   * connected forever. A cheap `exists /` every third of the session timeout, answered within two
   * thirds, is how we notice: the same budget the Java client's read timeout uses.
   */
  private armProbe(): void {
    clearTimeout(this.probeTimer);
    if (this.closed) return;
    const interval = Math.max(100, Math.floor(this.sessionTimeoutMs / 3));
    this.probeTimer = setTimeout(() => this.probe(interval), interval);
    this.probeTimer.unref();
  }

  private probe(interval: number): void {
    const conn = this.conn;
    this.armProbe();
    if (!conn || !this.connected || this.closed) return; // a closed socket is reported by the client itself
    const sentAt = Date.now();
    let answered = false;
    const deadline = setTimeout(() => {
      if (answered || conn !== this.conn || !this.connected) return;
      this.options.logger.warn("zookeeper stopped answering", { session: conn.sessionId, waitedMs: Date.now() - sentAt });
      this.contactLost(sentAt);
    }, interval * 2);
    deadline.unref();
    conn.exists("/", undefined, false).then(
      () => {
        answered = true;
        clearTimeout(deadline);
        if (conn === this.conn && this.connected && this.lostContactAt !== undefined) {
          this.contactRestored();
          this.emit("connected", conn, false);
        }
      },
      () => {
        answered = true;
        clearTimeout(deadline);
      },
    );
  }

  private replace(reason: string): void {
    const old = this.conn;
    if (!old || this.closed) return;
    const oldSession = old.sessionId;
    this.connected = false;
    if (this.lostContactAt === undefined) {
      this.lostContactAt = Date.now();
      this.emit("disconnected");
    }
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    old.dispose(reason);
    this.open();
    // The new client's clock starts now: it has no session to lose, only one to establish.
    this.lostContactAt = Date.now();
    this.armExpiryTimer();
    this.emit("replaced", oldSession);
  }

  /** Test and operator hook: drop the current session as if it had expired. */
  forceNewSession(reason = "requested"): void {
    this.replace(reason);
  }

  /** Closes the session (its ephemeral nodes go at once) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.expiryTimer);
    clearTimeout(this.probeTimer);
    clearInterval(this.handshakeTimer);
    const conn = this.conn;
    if (!conn) return;
    if (this.connected) {
      // Wait (briefly) for the close-session round trip so ephemeral nodes are gone when we resolve.
      const closedOnServer = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        conn.client.once("disconnected", () => {
          clearTimeout(timer);
          resolve();
        });
      });
      conn.closeSession();
      await closedOnServer;
    }
    conn.dispose("registry closed");
    this.removeAllListeners();
  }
}
