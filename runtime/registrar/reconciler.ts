import { Logger } from "../discovery/logger";
import { isConnectionProblem } from "../discovery/zk";
import { DesiredNode } from "./desired";
import { ConflictError, FencedError, RegistryStore, ServiceView, nodeHash } from "./store";

export interface ReconcilerOptions {
  store: RegistryStore;
  /** The nodes a service should have now, from the watched Kubernetes objects. */
  desired: (service: string) => Map<string, DesiredNode>;
  /** Every service the Kubernetes side currently knows (so a fresh leader also creates, not only removes). */
  knownServices: () => Iterable<string>;
  logger: Logger;
  /** Services whose ZooKeeper state is read at once (a term's start, after a conflict). Default 16. */
  concurrency?: number;
  /** ZooKeeper multi-ops in flight at once, over all services. Default 512. */
  maxWritesInFlight?: number;
  /**
   * Every service's ledger and directory are listed again once per this period (spread over it), so a
   * node deleted by hand or lost is re-created without waiting for its endpoint to change. 0 = never.
   * Default 30000.
   */
  recheckIntervalMs?: number;
  /** Our fence moved (another leader): the caller steps down. */
  onFenced: () => void;
  /** After a service's view equals its desired state (tests and benches observe this). */
  onSynced?: (service: string) => void;
}

/** Counters for benches and /readyz. */
export interface ReconcilerStats {
  creates: number;
  updates: number;
  deletes: number;
  conflicts: number;
  retries: number;
  /** Services listed again by the periodic re-check. */
  rechecks: number;
  /** Owned nodes found missing (deleted by hand, lost) and re-created. */
  repairs: number;
}

/**
 * Level-triggered, as a Kubernetes controller: an event only marks its service dirty; a diff compares the
 * service's desired nodes with what ZooKeeper holds (read once per leadership term, then kept up to date
 * by our own writes) and writes only the differences.
 *
 * Writes are pipelined per node, not per service: a diff skips only the nodes that have a write in
 * flight and sends the rest at once, and a node's completion re-diffs its service if the diff skipped
 * anything meanwhile. (Waiting for a service's whole batch before the next diff put every change that
 * arrived during a batch one more ZooKeeper round trip behind: that was part of the tail.) A service's
 * ZooKeeper state is (re)read only while none of its writes is in flight, so a view is never read under
 * our own feet.
 */
export class Reconciler {
  readonly stats: ReconcilerStats = { creates: 0, updates: 0, deletes: 0, conflicts: 0, retries: 0, rechecks: 0, repairs: 0 };
  private readonly views = new Map<string, ServiceView>();
  private readonly dirty = new Set<string>();
  /** Dirty services an event touched while their state was still unread: read before the others. */
  private readonly urgent = new Set<string>();
  /** Services whose view is being read. */
  private readonly loading = new Set<string>();
  /** Per service, the node ids with a multi-op in flight. */
  private readonly inFlight = new Map<string, Set<string>>();
  /** Services whose last diff skipped an in-flight node: diffed again when their writes drain. */
  private readonly skippedBusy = new Set<string>();
  private writesInFlight = 0;
  private readonly warned = new Set<string>();
  private running = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private recheckTimer: NodeJS.Timeout | undefined;
  private recheckQueue: string[] = [];
  private idleWaiters: Array<() => void> = [];
  private pumping = false;

  constructor(private readonly options: ReconcilerOptions) {}

  get active(): boolean {
    return this.running;
  }

  /** Starts a leadership term: every service the ledger or Kubernetes knows is read and synced. */
  async start(): Promise<void> {
    this.running = true;
    this.views.clear();
    const owned = await this.options.store.ownedServices();
    for (const s of owned) this.markStale(s);
    for (const s of this.options.knownServices()) this.markStale(s);
    this.scheduleRecheck();
  }

  stop(): void {
    this.running = false;
    this.views.clear();
    this.dirty.clear();
    this.urgent.clear();
    this.skippedBusy.clear();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    clearTimeout(this.recheckTimer);
    this.recheckTimer = undefined;
    this.recheckQueue = [];
    this.wakeIdle();
  }

  /** Forget what we believe ZooKeeper holds and re-read everything (after a session loss or a resync). */
  resync(): void {
    if (!this.running) return;
    const services = new Set([...this.views.keys(), ...this.options.knownServices()]);
    this.views.clear();
    void this.options.store.ownedServices().then(
      (owned) => {
        for (const s of owned) this.markStale(s);
      },
      () => this.scheduleRetry(),
    );
    for (const s of services) this.markStale(s);
  }

  /**
   * An event touched `service`. If its ZooKeeper state is still to be read (a new term reads all of
   * them, 16 at a time), it is read next: a change must not wait behind a takeover's bulk reads of
   * services nothing happened to, and those were the tail after a failover.
   */
  markDirty(service: string): void {
    if (!this.running) return;
    if (!this.views.has(service) && !this.loading.has(service)) this.urgent.add(service);
    this.dirty.add(service);
    this.pump();
  }

  /** Needs a sync, in no hurry (a term's start, a re-check, a resync). */
  private markStale(service: string): void {
    if (!this.running) return;
    this.dirty.add(service);
    this.pump();
  }

  /** Resolves when nothing is dirty or in flight (tests, benches, graceful stop). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return (!this.running || this.dirty.size === 0) && this.loading.size === 0 && this.writesInFlight === 0;
  }

  private wakeIdle(): void {
    if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  private pump(): void {
    if (this.pumping) return; // a completion inside a diff must not re-enter the loop over `dirty`
    this.pumping = true;
    try {
      const loadLimit = this.options.concurrency ?? 16;
      const writeLimit = this.options.maxWritesInFlight ?? 512;
      for (const service of this.urgent.size ? [...this.urgent, ...this.dirty] : this.dirty) {
        if (!this.running) break;
        if (!this.dirty.has(service)) continue; // an urgent one, taken earlier in this pass
        if (this.loading.has(service)) continue; // the load's completion diffs it
        const view = this.views.get(service);
        if (!view) {
          // Read only when none of our writes to it is in flight (the view would miss their outcome).
          if (this.inFlight.get(service)?.size || this.loading.size >= loadLimit) continue;
          this.dirty.delete(service);
          this.urgent.delete(service);
          this.load(service);
          continue;
        }
        if (this.writesInFlight >= writeLimit) break;
        this.dirty.delete(service);
        this.urgent.delete(service);
        this.diff(service, view);
      }
    } finally {
      this.pumping = false;
    }
    this.wakeIdle();
  }

  private load(service: string): void {
    this.loading.add(service);
    void this.options.store.load(service).then(
      (view) => {
        this.loading.delete(service);
        if (!this.running) return this.wakeIdle();
        for (const have of view.owned.values()) if (have.missing) this.stats.repairs++;
        this.views.set(service, view);
        this.dirty.add(service);
        this.pump();
      },
      (err) => {
        this.loading.delete(service);
        this.failed(service, err);
        this.pump();
      },
    );
  }

  /** Compares desired with the view and sends the writes for every node that has none in flight. */
  private diff(service: string, view: ServiceView): void {
    const { store } = this.options;
    const desired = this.options.desired(service);
    let busy = this.inFlight.get(service);
    let sent = 0;
    // A node with a write in flight is neither what the view says nor what it will say: it is left out
    // here, and the whole service is diffed again once its writes are done. That includes a node whose
    // flip back makes the view look right already (a remove in flight for a node desired again), and a
    // node the view does not show yet (a create in flight for a node no longer desired).
    const skipped = (busy?.size ?? 0) > 0;
    const send = (id: string, write: () => Promise<unknown>) => {
      if (!busy) this.inFlight.set(service, (busy = new Set()));
      busy.add(id);
      this.writesInFlight++;
      sent++;
      void write()
        .then(
          () => this.written(service, id),
          (err) => {
            // Failure first: it drops the view and marks the service dirty, so `written` does not report it synced.
            this.failed(service, err);
            this.written(service, id);
          },
        )
        .finally(() => this.pump());
    };
    for (const [id, node] of desired) {
      if (busy?.has(id)) continue;
      if (view.foreign.has(id)) {
        this.warnOnce(`${service}/${id}`, "a node the registrar did not write holds this instance id; leaving it alone", { service, id });
        continue;
      }
      const have = view.owned.get(id);
      const owned = (hash: string) => {
        view.owned.set(id, { hash, missing: false });
      };
      if (!have) {
        send(id, () =>
          store.create(service, id, node).then((hash) => {
            this.stats.creates++;
            owned(hash);
          }),
        );
      } else if (have.missing) {
        send(id, () =>
          store.recreate(service, id, node, have.hash).then((hash) => {
            this.stats.creates++;
            owned(hash);
          }),
        );
      } else if (have.hash !== nodeHash(node)) {
        send(id, () =>
          store.update(service, id, node, have.hash).then((hash) => {
            this.stats.updates++;
            owned(hash);
          }),
        );
      }
    }
    for (const [id, have] of view.owned) {
      if (desired.has(id) || busy?.has(id)) continue;
      send(id, () =>
        store.remove(service, id, have).then(() => {
          this.stats.deletes++;
          view.owned.delete(id);
        }),
      );
    }
    if (skipped) this.skippedBusy.add(service);
    if (sent === 0 && !skipped && !busy?.size && this.running) this.options.onSynced?.(service);
  }

  private written(service: string, id: string): void {
    this.writesInFlight--;
    const busy = this.inFlight.get(service);
    busy?.delete(id);
    if (busy?.size === 0) this.inFlight.delete(service);
    if (!this.running) return;
    // A diff that skipped this node (its write was in flight) must look again now that it is done.
    if (this.skippedBusy.delete(service)) this.dirty.add(service);
    else if (!busy?.size && !this.dirty.has(service) && this.views.has(service)) this.options.onSynced?.(service);
  }

  private failed(service: string, err: unknown): void {
    if (!this.running) return;
    const { logger } = this.options;
    if (err instanceof FencedError) {
      logger.warn("another registrar replica leads now; stopping writes", {});
      this.stop();
      this.options.onFenced();
      return;
    }
    // Whatever failed, what ZooKeeper holds for this service is now uncertain: read it again (once its
    // other writes are done).
    this.views.delete(service);
    this.dirty.add(service);
    if (err instanceof ConflictError) {
      this.stats.conflicts++;
      return;
    }
    this.stats.retries++;
    if (!isConnectionProblem(err)) logger.error("registrar sync failed; retrying", { service, error: String(err) });
    this.scheduleRetry();
  }

  /** After connection trouble, retry dirty services shortly instead of spinning. */
  private scheduleRetry(): void {
    if (this.retryTimer || !this.running) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, 500);
  }

  /**
   * The periodic re-check: one service at a time, evenly over the interval, its cached view is dropped
   * and read again (two listings, no read per node); the diff then re-creates what went missing and
   * writes nothing when all is well. A node's content edited by hand is not noticed (that would take
   * one read per node): only missing nodes and ledger entries.
   */
  private scheduleRecheck(): void {
    const interval = this.options.recheckIntervalMs ?? 30_000;
    if (!this.running || interval <= 0 || this.recheckTimer) return;
    if (this.recheckQueue.length === 0) this.recheckQueue = [...new Set([...this.views.keys(), ...this.options.knownServices()])].sort();
    const step = Math.max(20, Math.floor(interval / Math.max(1, this.recheckQueue.length)));
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = undefined;
      const service = this.recheckQueue.shift();
      if (service !== undefined && this.running && this.views.has(service)) {
        this.stats.rechecks++;
        this.views.delete(service);
        this.markStale(service);
      }
      this.scheduleRecheck();
    }, step);
    this.recheckTimer.unref();
  }

  /** The ZooKeeper connection is back: go on with what is dirty. */
  connectionRestored(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.pump();
  }

  private warnOnce(key: string, message: string, fields: Record<string, unknown>): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.options.logger.warn(message, fields);
  }
}
