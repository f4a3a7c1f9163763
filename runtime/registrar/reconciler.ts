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
  /** Services synced at once. Default 16. */
  concurrency?: number;
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
}

/**
 * Level-triggered, as a Kubernetes controller: an event only marks its service dirty; a worker diffs the
 * service's desired nodes against what ZooKeeper holds (read once per leadership term, then kept up to
 * date by our own writes) and writes only the differences. Events during a sync mark the service dirty
 * again, so bursts coalesce into one more pass. A service is synced by one worker at a time.
 */
export class Reconciler {
  readonly stats: ReconcilerStats = { creates: 0, updates: 0, deletes: 0, conflicts: 0, retries: 0 };
  private readonly views = new Map<string, ServiceView>();
  private readonly dirty = new Set<string>();
  private readonly busy = new Set<string>();
  private readonly warned = new Set<string>();
  private running = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: ReconcilerOptions) {}

  get active(): boolean { return this.running; }

  /** Starts a leadership term: every service the ledger or Kubernetes knows is read and synced. */
  async start(): Promise<void> {
    this.running = true;
    this.views.clear();
    const owned = await this.options.store.ownedServices();
    for (const s of owned) this.markDirty(s);
    for (const s of this.options.knownServices()) this.markDirty(s);
  }

  stop(): void {
    this.running = false;
    this.views.clear();
    this.dirty.clear();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.wakeIdle();
  }

  /** Forget what we believe ZooKeeper holds and re-read everything (after a session loss or a resync). */
  resync(): void {
    if (!this.running) return;
    const services = new Set([...this.views.keys(), ...this.options.knownServices()]);
    this.views.clear();
    void this.options.store.ownedServices().then((owned) => {
      for (const s of owned) this.markDirty(s);
    }, () => this.scheduleRetry());
    for (const s of services) this.markDirty(s);
  }

  markDirty(service: string): void {
    if (!this.running) return;
    this.dirty.add(service);
    this.pump();
  }

  /** Resolves when nothing is dirty or in flight (tests, benches, graceful stop). */
  idle(): Promise<void> {
    if (this.dirty.size === 0 && this.busy.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    if (this.dirty.size === 0 && this.busy.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 16;
    for (const service of this.dirty) {
      if (!this.running || this.busy.size >= limit) break;
      if (this.busy.has(service)) continue;
      this.dirty.delete(service);
      this.busy.add(service);
      void this.sync(service).finally(() => {
        this.busy.delete(service);
        this.pump();
        this.wakeIdle();
      });
    }
  }

  private async sync(service: string): Promise<void> {
    const { store, logger } = this.options;
    try {
      let view = this.views.get(service);
      if (!view) {
        view = await store.load(service);
        if (!this.running) return;
        this.views.set(service, view);
      }
      const desired = this.options.desired(service);
      const work: Array<Promise<void>> = [];
      for (const [id, node] of desired) {
        if (view.foreign.has(id)) {
          this.warnOnce(`${service}/${id}`, "a node the registrar did not write holds this instance id; leaving it alone", { service, id });
          continue;
        }
        const have = view.owned.get(id);
        const owned = (hash: string) => { view.owned.set(id, { hash, missing: false }); };
        if (!have) {
          work.push(store.create(service, id, node).then((hash) => { this.stats.creates++; owned(hash); }));
        } else if (have.missing) {
          work.push(store.recreate(service, id, node, have.hash).then((hash) => { this.stats.creates++; owned(hash); }));
        } else if (have.hash !== nodeHash(node)) {
          work.push(store.update(service, id, node, have.hash).then((hash) => { this.stats.updates++; owned(hash); }));
        }
      }
      for (const [id, have] of view.owned) {
        if (desired.has(id)) continue;
        work.push(store.remove(service, id, have).then(() => {
          this.stats.deletes++;
          view.owned.delete(id);
        }));
      }
      const results = await Promise.allSettled(work);
      const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failure) throw failure.reason;
      if (this.running) this.options.onSynced?.(service);
    } catch (err) {
      if (!this.running) return;
      if (err instanceof FencedError) {
        logger.warn("another registrar replica leads now; stopping writes", {});
        this.stop();
        this.options.onFenced();
        return;
      }
      // Whatever failed, what ZooKeeper holds for this service is now uncertain: read it again.
      this.views.delete(service);
      if (err instanceof ConflictError) {
        this.stats.conflicts++;
        this.dirty.add(service);
        return;
      }
      this.stats.retries++;
      if (!isConnectionProblem(err)) logger.error("registrar sync failed; retrying", { service, error: String(err) });
      this.dirty.add(service);
      this.scheduleRetry();
    }
  }

  /** After connection trouble, retry dirty services shortly instead of spinning. */
  private scheduleRetry(): void {
    if (this.retryTimer || !this.running) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, 500);
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
