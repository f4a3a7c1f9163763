import * as zookeeper from "node-zookeeper-client";

/** A ZooKeeper watch callback. One stable function per purpose: the client dedupes by identity per path. */
export type Watcher = (event: zookeeper.Event) => void;

/** Counters a registry exposes so that benches can report ZooKeeper reads per membership change. */
export interface ZkStats {
  /** getChildren + getData + exists calls, probes excluded. */
  reads: number;
  /** create + delete + setData calls; a transaction counts once. */
  writes: number;
}

/** Thrown for operations on a client that was replaced (session lost) or closed. */
export class ConnectionDisposedError extends Error {
  constructor(reason: string) {
    super(`ZooKeeper client disposed: ${reason}`);
    this.name = "ConnectionDisposedError";
  }
}

export function zkCode(err: unknown): number | undefined {
  return typeof (err as { code?: unknown })?.code === "number" ? (err as { code: number }).code : undefined;
}

export const isNoNode = (err: unknown) => zkCode(err) === zookeeper.Exception.NO_NODE;
export const isNodeExists = (err: unknown) => zkCode(err) === zookeeper.Exception.NODE_EXISTS;
export const isBadVersion = (err: unknown) => zkCode(err) === zookeeper.Exception.BAD_VERSION;

/** Errors after which the right move is to wait for the next (re)connection rather than retry now. */
export function isConnectionProblem(err: unknown): boolean {
  const code = zkCode(err);
  return (
    err instanceof ConnectionDisposedError ||
    code === zookeeper.Exception.CONNECTION_LOSS ||
    code === zookeeper.Exception.SESSION_EXPIRED ||
    code === zookeeper.Exception.OPERATION_TIMEOUT
  );
}

/**
 * One node-zookeeper-client instance, i.e. at most one session, with promise operations.
 *
 * Why the bookkeeping: the client queues requests while disconnected and, once its session has
 * expired, never answers them at all. Every pending call is tracked so that replacing the client
 * rejects them instead of leaving callers hanging forever.
 */
export class ZkConnection {
  private readonly pending = new Set<(err: Error) => void>();
  private disposedReason: string | undefined;
  private closeRequested = false;
  /** True once this client has held a session (first SYNC_CONNECTED). */
  everConnected = false;

  /** Last public state was connected (a handshake is not in flight). */
  private connectedNow = false;
  private corked = false;
  /** The socket abortStalledHandshake() last saw mid-handshake. */
  private handshakeSocket: object | undefined;

  constructor(
    readonly client: zookeeper.Client,
    readonly generation: number,
    private readonly stats: ZkStats,
  ) {
    guardSocketParser(client);
    client.on("state", (state) => {
      this.connectedNow = state === zookeeper.State.SYNC_CONNECTED || state === zookeeper.State.CONNECTED_READ_ONLY;
    });
  }

  get disposed(): boolean {
    return this.disposedReason !== undefined;
  }

  /** Session id as 16 hex digits; "0000000000000000" before the first connection. */
  get sessionId(): string {
    return this.client.getSessionId().toString("hex");
  }

  /**
   * `onReply` runs synchronously when the reply is parsed, before any notification that follows it
   * in the stream; the promise settles only later, after those notifications have been delivered.
   */
  getChildren(path: string, watcher?: Watcher, onReply?: () => void): Promise<{ children: string[]; stat: zookeeper.Stat }> {
    this.stats.reads++;
    const done =
      (cb: (err: Error | zookeeper.Exception | null, value: { children: string[]; stat: zookeeper.Stat }) => void) =>
      (e: Error | zookeeper.Exception | null, children: string[], stat: zookeeper.Stat) => {
        onReply?.();
        cb(e, { children, stat });
      };
    return this.call((cb) => (watcher ? this.client.getChildren(path, watcher, done(cb)) : this.client.getChildren(path, done(cb))));
  }

  getData(path: string, watcher?: Watcher): Promise<{ data: Buffer; stat: zookeeper.Stat }> {
    this.stats.reads++;
    return this.call((cb) =>
      watcher
        ? this.client.getData(path, watcher, (e, data, stat) => cb(e, { data, stat }))
        : this.client.getData(path, (e, data, stat) => cb(e, { data, stat })),
    );
  }

  /** Resolves the node's stat, or undefined if it does not exist (the watch is set either way). */
  exists(path: string, watcher?: Watcher, countAsRead = true): Promise<zookeeper.Stat | undefined> {
    if (countAsRead) this.stats.reads++;
    return this.call((cb) =>
      watcher ? this.client.exists(path, watcher, (e, stat) => cb(e, stat ?? undefined)) : this.client.exists(path, (e, stat) => cb(e, stat ?? undefined)),
    );
  }

  create(path: string, data: Buffer, mode: number): Promise<string> {
    this.stats.writes++;
    return this.call((cb) => this.client.create(path, data, mode, cb));
  }

  /** Creates the persistent parents of a path (no-op for existing ones). */
  mkdirp(path: string): Promise<string> {
    this.stats.writes++;
    return this.call((cb) => this.client.mkdirp(path, cb));
  }

  remove(path: string, version = -1): Promise<void> {
    this.stats.writes++;
    return this.call((cb) => this.client.remove(path, version, (e) => cb(e, undefined)));
  }

  /**
   * Deletes the node at `version` and creates it again with `data`, in one transaction (ZooKeeper
   * `multi`): watchers never see the path missing, and nothing happens if the version moved on.
   */
  replace(path: string, version: number, data: Buffer, mode: number): Promise<void> {
    this.stats.writes++;
    return this.call((cb) =>
      this.client
        .transaction()
        .remove(path, version)
        .create(path, data, mode)
        .commit((e) => cb(e, undefined)),
    );
  }

  setData(path: string, data: Buffer, version = -1): Promise<zookeeper.Stat> {
    this.stats.writes++;
    return this.call((cb) => this.client.setData(path, data, version, cb));
  }

  /**
   * Rejects every pending call and closes the client. Closing a client that still holds a live
   * session ends that session on the server (its ephemeral nodes go at once); a client whose session
   * is already gone just stops reconnecting.
   */
  dispose(reason: string): void {
    if (this.disposed) return;
    this.disposedReason = reason;
    const error = new ConnectionDisposedError(reason);
    for (const reject of [...this.pending]) reject(error);
    this.pending.clear();
    const handshaking = !this.connectedNow;
    this.client.removeAllListeners();
    this.closeSession();
    // A client closed mid-handshake would read the server's connect reply as an ordinary reply
    // (the library only expects one while CONNECTING); drop the socket so no reply arrives at all.
    if (handshaking) internals(this.client).socket?.destroy();
  }

  /** Asks the server to end the session (once); the client stops reconnecting. */
  closeSession(): void {
    if (this.closeRequested) return;
    this.closeRequested = true;
    this.client.close();
  }

  /**
   * Requests sent in the same tick leave in one socket write. The library writes each request on its
   * own (one syscall each); a registrar diff or a watcher's refresh sends several at once, and those
   * writes were the largest single cost in their CPU profiles under load.
   */
  coalesceWrites(): void {
    if (this.corked) return;
    const socket = internals(this.client).socket;
    if (!socket || typeof socket.cork !== "function" || socket.destroyed) return;
    socket.cork();
    this.corked = true;
    process.nextTick(() => {
      this.corked = false;
      socket.uncork();
    });
  }

  /**
   * Drops a connection attempt that has been in flight since the previous call: the socket the
   * library is on now is the one it was on then, and it still has no session reply. The library times
   * out only the TCP connect (after a whole session timeout with one server) and never the handshake,
   * so a server that accepted the socket before it was ready to serve (a restarting ZooKeeper binds
   * its port before it has loaded its data) would hold the reconnection until the session was lost.
   * Destroying the socket makes the library reconnect at once, with the same session and watches.
   * Returns true when it dropped one.
   */
  abortStalledHandshake(): boolean {
    const socket = internals(this.client).socket;
    const seen = this.handshakeSocket;
    this.handshakeSocket = this.connectedNow || this.disposed ? undefined : socket;
    if (!socket || socket !== seen || this.connectedNow || this.disposed || socket.destroyed) return false;
    this.handshakeSocket = undefined;
    socket.destroy();
    return true;
  }

  private call<T>(start: (cb: (err: Error | zookeeper.Exception | null, value: T) => void) => void): Promise<T> {
    if (this.disposedReason !== undefined) return Promise.reject(new ConnectionDisposedError(this.disposedReason));
    this.coalesceWrites();
    return new Promise<T>((resolve, reject) => {
      const fail = (err: Error) => {
        this.pending.delete(fail);
        reject(err);
      };
      this.pending.add(fail);
      start((err, value) => {
        if (!this.pending.delete(fail)) return; // already rejected by dispose()
        if (err) reject(err);
        else resolve(value);
      });
    });
  }
}

/** The library's private connection manager; touched only by the defensive measure and the write batching here. */
interface ConnectionInternals {
  socket?: { destroy(): void; cork?(): void; uncork(): void; destroyed?: boolean };
  pendingBuffer: Buffer | null;
  onSocketData(this: ConnectionInternals, buffer: Buffer): void;
}

function internals(client: zookeeper.Client): ConnectionInternals {
  return (client as unknown as { connectionManager: ConnectionInternals }).connectionManager;
}

/**
 * node-zookeeper-client throws from its socket 'data' handler when a reply does not parse (seen when
 * a closing client received a connect reply: "Unknown code: ..."), which would crash the process.
 * Wrapping the handler (before the first socket binds it) turns that into a dropped connection,
 * which the library already knows how to handle (reconnect, or stay closed once closing).
 */
function guardSocketParser(client: zookeeper.Client): void {
  const manager = internals(client);
  const parse = manager.onSocketData;
  if (typeof parse !== "function") return;
  manager.onSocketData = function guarded(buffer: Buffer) {
    try {
      parse.call(this, buffer);
    } catch {
      this.pendingBuffer = null; // the unparsed rest would poison the next connection's first reply
      this.socket?.destroy();
    }
  };
}
