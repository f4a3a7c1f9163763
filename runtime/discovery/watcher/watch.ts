import { EventEmitter } from "node:events";
import { Instance } from "../contract";
import { DnsFallbackOptions, Source, dnsFallbackInstance } from "../fallback";
import { Logger } from "../logger";
import { Picker, createPicker } from "../picker";
import { ChildrenCache } from "./cache";

/** Per-watch settings; each defaults to the registry's. */
export interface WatchOptions {
  /** Kubernetes Service DNS fallback, or false to never use it. Default: the registry's `dnsFallback`. */
  dnsFallback?: DnsFallbackOptions | false;
  /** How long to serve the last known instances after losing ZooKeeper before DNS. Default: the registry's. */
  fallbackGraceMs?: number;
  /** With nothing known yet, how long to wait for ZooKeeper before DNS. Default: the registry's. */
  initialFallbackMs?: number;
}

/** What a change notification carries: the whole new answer plus what differs from the previous one. */
export interface WatchChange {
  service: string;
  source: Source;
  instances: Instance[];
  added: Instance[];
  removed: Instance[];
  updated: Instance[];
}

export interface WatchEvents {
  change: [change: WatchChange];
}

/** What `registry.watch(service)` returns. */
export interface WatchHandle {
  readonly service: string;
  /** Which source answers `current()` right now. */
  readonly source: Source;
  /** The live instances (host, port, track, weight, ...), sorted by id. */
  current(): Instance[];
  /** Resolves once ZooKeeper (or, failing that, the DNS fallback) has answered at least once; rejects after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  /** A picker over this watch (track weights + round-robin). */
  picker(): Picker;
  on(event: "change", listener: (change: WatchChange) => void): this;
  off(event: "change", listener: (change: WatchChange) => void): this;
  /** Stops watching; idempotent. */
  close(): void;
}

export interface ResolvedWatchOptions {
  dnsFallback: DnsFallbackOptions | false;
  fallbackGraceMs: number;
  initialFallbackMs: number;
}

/**
 * A ChildrenCache plus the fallback ladder: ZooKeeper while the session is live; the last known
 * instances for a grace period after losing it; then the Kubernetes Service DNS name; and back to
 * ZooKeeper as soon as a refresh succeeds again.
 */
export class ServiceWatch extends EventEmitter<WatchEvents> implements WatchHandle {
  private currentSource: Source = "last-known";
  private fallbackTimer: NodeJS.Timeout | undefined;
  private published: Instance[] = [];
  private closed = false;
  private warnedNoDnsPort = false;
  private readyWaiters: Array<() => void> = [];
  /** When the answer last came from a live ZooKeeper listing (the watch's start until it first does). */
  private zookeeperAt = Date.now();

  constructor(
    readonly service: string,
    private readonly cache: ChildrenCache,
    private readonly options: ResolvedWatchOptions,
    private readonly logger: Logger,
    private readonly onClose: (watch: ServiceWatch) => void,
  ) {
    super();
    cache.on("synced", () => this.setSource("zookeeper"));
    cache.on("unsynced", () => this.lostZooKeeper(options.fallbackGraceMs));
    cache.on("change", () => this.publish());
    cache.start();
    if (!cache.synced) this.lostZooKeeper(options.initialFallbackMs);
  }

  get source(): Source {
    return this.currentSource;
  }

  /** How long the answer has not come from a live ZooKeeper listing; 0 while it does. */
  get stalenessMs(): number {
    return this.currentSource === "zookeeper" ? 0 : Date.now() - this.zookeeperAt;
  }

  current(): Instance[] {
    if (this.currentSource === "kubernetes-dns") {
      const dns = this.dnsInstance();
      if (dns) return [dns];
    }
    return this.cache.instances();
  }

  ready(timeoutMs = 30_000): Promise<void> {
    if (this.currentSource !== "last-known" || this.cache.everSynced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`watch ${this.service}: neither ZooKeeper nor the DNS fallback answered within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  picker(): Picker {
    return createPicker(this);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.fallbackTimer);
    this.cache.stop();
    this.onClose(this);
    this.removeAllListeners();
  }

  private lostZooKeeper(graceMs: number): void {
    if (this.closed) return;
    if (this.currentSource === "zookeeper") this.setSource("last-known");
    clearTimeout(this.fallbackTimer);
    this.fallbackTimer = setTimeout(() => {
      if (this.cache.synced || this.closed) return;
      if (this.dnsInstance()) this.setSource("kubernetes-dns");
      else if (!this.warnedNoDnsPort) {
        this.warnedNoDnsPort = true;
        this.logger.warn("ZooKeeper unavailable and no DNS fallback configured (namespace/port); serving the last known instances", { service: this.service });
      }
    }, graceMs);
    this.fallbackTimer.unref();
  }

  private dnsInstance(): Instance | undefined {
    return this.options.dnsFallback ? dnsFallbackInstance(this.service, this.options.dnsFallback, this.cache.instances()) : undefined;
  }

  private setSource(source: Source): void {
    if (this.closed) return;
    if (source === "zookeeper") clearTimeout(this.fallbackTimer);
    if (this.currentSource === "zookeeper" || source === "zookeeper") this.zookeeperAt = Date.now();
    if (source !== this.currentSource) {
      this.logger.info("discovery source changed", { service: this.service, from: this.currentSource, to: source });
      this.currentSource = source;
    }
    if (source !== "last-known") for (const wake of this.readyWaiters.splice(0)) wake();
    this.publish(true);
  }

  /** Emits 'change' when the answer (instances or source) differs from the last one published. */
  private publish(sourceMayHaveChanged = false): void {
    if (this.closed) return;
    const next = this.current();
    const before = new Map(this.published.map((i) => [i.id, i]));
    const after = new Map(next.map((i) => [i.id, i]));
    const added = next.filter((i) => !before.has(i.id));
    const removed = this.published.filter((i) => !after.has(i.id));
    const updated = next.filter((i) => before.has(i.id) && JSON.stringify(before.get(i.id)) !== JSON.stringify(i));
    const changed = added.length + removed.length + updated.length > 0;
    if (!changed && !sourceMayHaveChanged) return;
    if (!changed && this.lastPublishedSource === this.currentSource) return;
    this.published = next;
    this.lastPublishedSource = this.currentSource;
    this.emit("change", { service: this.service, source: this.currentSource, instances: next, added, removed, updated });
  }

  private lastPublishedSource: Source | undefined;
}
