import { DEFAULT_ROOT } from "../discovery/contract";
import { Logger } from "../discovery/logger";
import { SessionManager } from "../discovery/session";
import { ZkStats } from "../discovery/zk";
import { REGISTRAR_DEFAULTS } from "./contract";
import { EndpointSliceObject, TrackServiceObject } from "./desired";
import { KubeView } from "./kube-view";
import { Reconciler } from "./reconciler";
import { RegistryStore } from "./store";

export interface RegistrarOptions {
  connect: string;
  root?: string;
  stateRoot?: string;
  sessionTimeoutMs?: number;
  logger: Logger;
  /** Called when our writes were fenced off (another replica leads): the leader elector should step down. */
  onFenced?: () => void;
  onSynced?: (service: string) => void;
  concurrency?: number;
  /** See ReconcilerOptions.recheckIntervalMs (default 30 s; 0 = never). */
  recheckIntervalMs?: number;
}

/**
 * The registrar without its Kubernetes plumbing: a view of the watched objects, a ZooKeeper session and
 * the reconciler that writes the difference while this replica leads. Standbys keep the view current
 * (so a takeover starts from synced caches) and write nothing.
 */
export class Registrar {
  readonly view: KubeView;
  readonly session: SessionManager;
  readonly store: RegistryStore;
  readonly reconciler: Reconciler;
  readonly zkStats: ZkStats = { reads: 0, writes: 0 };
  private leading = false;
  private term = 0;

  constructor(private readonly options: RegistrarOptions) {
    const { logger } = options;
    this.view = new KubeView(logger);
    this.session = new SessionManager({ connect: options.connect, sessionTimeoutMs: options.sessionTimeoutMs ?? 15_000, logger, stats: this.zkStats });
    this.store = new RegistryStore({
      session: this.session,
      root: options.root ?? DEFAULT_ROOT,
      stateRoot: options.stateRoot ?? REGISTRAR_DEFAULTS.stateRoot,
      logger,
      stats: this.zkStats,
    });
    this.reconciler = new Reconciler({
      store: this.store,
      desired: (s) => this.view.desired(s),
      knownServices: () => this.view.registryServices(),
      logger,
      concurrency: options.concurrency,
      recheckIntervalMs: options.recheckIntervalMs,
      onFenced: () => {
        this.leading = false;
        options.onFenced?.();
      },
      onSynced: options.onSynced,
    });
    this.session.on("connected", (_conn, newSession) => {
      if (!this.leading) return;
      // Nodes are persistent, so nothing was lost with a session; but writes in flight when the
      // connection went may or may not have happened: re-read what ZooKeeper holds.
      if (newSession && this.term > 0) this.reconciler.resync();
      else this.reconciler.connectionRestored();
    });
  }

  get isLeading(): boolean {
    return this.leading;
  }

  start(): void {
    this.session.start();
  }

  /** Waits for the first ZooKeeper session (the daemon's readiness). */
  async connected(timeoutMs = 30_000): Promise<void> {
    if (this.session.isConnected) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.session.off("connected", on);
        reject(new Error(`no ZooKeeper session within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = () => {
        clearTimeout(timer);
        this.session.off("connected", on);
        resolve();
      };
      this.session.on("connected", on);
    });
  }

  /** This replica won the election: fence off the previous leader, then sync everything. */
  async lead(identity: string): Promise<void> {
    if (this.leading) return;
    this.leading = true;
    const term = ++this.term;
    for (;;) {
      try {
        await this.connected(60_000);
        const fence = await this.store.takeFence(identity);
        if (!this.leading || term !== this.term) return;
        this.options.logger.info("leading: syncing ZooKeeper with the ready endpoints", { identity, fence });
        await this.reconciler.start();
        return;
      } catch (err) {
        if (!this.leading || term !== this.term) return;
        this.options.logger.warn("could not start leading yet; retrying", { error: String(err) });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Leadership lost or given up: stop writing at once. */
  standDown(): void {
    this.leading = false;
    this.term++;
    this.reconciler.stop();
    this.store.dropFence();
  }

  upsertService(obj: TrackServiceObject): void {
    this.dirty(this.view.upsertService(obj));
  }
  deleteService(obj: TrackServiceObject): void {
    this.dirty(this.view.deleteService(obj));
  }
  upsertSlice(obj: EndpointSliceObject): void {
    this.dirty(this.view.upsertSlice(obj));
  }
  deleteSlice(obj: EndpointSliceObject): void {
    this.dirty(this.view.deleteSlice(obj));
  }

  private dirty(services: string[]): void {
    for (const s of services) this.reconciler.markDirty(s);
  }

  async close(): Promise<void> {
    this.standDown();
    await this.session.close();
  }
}
