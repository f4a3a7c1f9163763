import {
  DEFAULT_ROOT,
  DiscoveryConfigError,
  InstanceRegistration,
  normaliseRegistration,
  show,
  validateConnectString,
  validateRoot,
  validateServiceName,
} from "./contract";
import { DnsFallbackOptions } from "./fallback";
import { defaultLogger, Logger } from "./logger";
import { registerDiscoveryMetrics } from "./metrics";
import { Picker } from "./picker";
import { Registration, RegistrationHandle } from "./registration";
import { SessionManager } from "./session";
import { ChildrenCache } from "./watcher/cache";
import { ServiceWatch, WatchHandle, WatchOptions } from "./watcher/watch";
import { ZkStats } from "./zk";
import type { Registry } from "prom-client";

export interface RegistryOptions {
  /** ZooKeeper connect string, `host:port[,host:port...]`. Required. */
  connect: string;
  /** Root path under which each service has a directory of instance nodes. Default "/classroom/services". */
  root?: string;
  /** Requested ZooKeeper session timeout, ms (the server may clamp it). Default 15000. */
  sessionTimeoutMs?: number;
  /** After losing ZooKeeper, serve the last known instances this long before the DNS fallback, ms. Default 30000. */
  fallbackGraceMs?: number;
  /** With nothing known yet, wait this long for ZooKeeper before the DNS fallback, ms. Default 5000. */
  initialFallbackMs?: number;
  /** Kubernetes Service DNS fallback for every watch (namespace, optional port). Default: none (last known only). */
  dnsFallback?: DnsFallbackOptions;
  /** Pause between rounds of connection attempts, ms. Default 200. */
  spinDelayMs?: number;
  /** Where to report session changes and bad nodes. Default: warnings and errors on stderr. */
  logger?: Logger;
  /**
   * A prom-client registry to register the discovery gauges in (source and staleness per watched
   * service, session connected); the caller serves it. Default: none.
   */
  metrics?: Registry;
}

/**
 * The entry point: one ZooKeeper session shared by every registration and watch of this process.
 *
 *   const registry = new ServiceRegistry({ connect: "zk-0.zk:2181", dnsFallback: { namespace: "classroom" } });
 *   await registry.register("session-rpc", { id: podName, host: podIp, port: 9090, track: "stable", weight: 90 });
 *   const watch = registry.watch("session-rpc"); await watch.ready();
 *   const target = watch.picker().pick();
 */
export class ServiceRegistry {
  readonly root: string;
  private readonly session: SessionManager;
  private readonly registrations = new Map<string, Registration>();
  private readonly watches = new Set<ServiceWatch>();
  private readonly counters: ZkStats = { reads: 0, writes: 0 };
  private readonly logger: Logger;
  private readonly watchDefaults: Required<Omit<WatchOptions, "dnsFallback">> & { dnsFallback: DnsFallbackOptions | false };
  private sessionsOpened = 0;
  private closed = false;

  constructor(options: RegistryOptions) {
    if (options === null || typeof options !== "object")
      throw new DiscoveryConfigError(`registry options must be an object with 'connect', got ${show(options)}`);
    const connect = validateConnectString(options.connect, "connect");
    this.root = validateRoot(options.root ?? DEFAULT_ROOT, "root");
    const sessionTimeoutMs = positive(options.sessionTimeoutMs ?? 15_000, "sessionTimeoutMs");
    this.watchDefaults = {
      fallbackGraceMs: positive(options.fallbackGraceMs ?? 30_000, "fallbackGraceMs", true),
      initialFallbackMs: positive(options.initialFallbackMs ?? 5_000, "initialFallbackMs", true),
      dnsFallback: options.dnsFallback ?? false,
    };
    if (options.dnsFallback) validateServiceName(options.dnsFallback.namespace, "dnsFallback.namespace");
    this.logger = options.logger ?? defaultLogger;
    this.session = new SessionManager({
      connect,
      sessionTimeoutMs,
      spinDelayMs: options.spinDelayMs,
      logger: this.logger,
      stats: this.counters,
    });
    this.session.on("connected", (_conn, newSession) => {
      if (newSession) this.sessionsOpened++;
      for (const r of this.registrations.values()) {
        // Same session back: our nodes survived and their exists watches (restored by the client)
        // report any deletion, so only unfinished registrations need work.
        if (newSession) r.sessionReplaced();
        if (newSession || !r.registered) r.ensure();
      }
    });
    this.session.on("replaced", () => {
      for (const r of this.registrations.values()) r.sessionReplaced();
    });
    this.session.start();
    if (options.metrics) {
      registerDiscoveryMetrics(options.metrics, () => ({
        connected: this.session.isConnected,
        watches: [...this.watches].map((w) => ({ service: w.service, source: w.source, stalenessMs: w.stalenessMs })),
      }));
    }
  }

  /**
   * Creates the ephemeral node `<root>/<service>/<id>` and keeps it alive across sessions until
   * deregistered. Resolves once the node exists (waiting, if needed, for ZooKeeper to be reachable or
   * for another session's node with the same id to go away).
   */
  async register(service: string, instance: InstanceRegistration): Promise<RegistrationHandle> {
    this.assertOpen();
    validateServiceName(service);
    const { id, data } = normaliseRegistration(instance);
    const path = `${this.servicePath(service)}/${id}`;
    if (this.registrations.has(path)) throw new DiscoveryConfigError(`instance ${path} is already registered by this process; deregister it first`);
    const registration = new Registration(service, id, path, data, this.session, this.logger, (r) => this.registrations.delete(r.path));
    this.registrations.set(path, registration);
    const registered = registration.whenRegistered();
    registration.ensure();
    await registered;
    return registration;
  }

  /** Starts watching a service's instances. Cheap: one getChildren watch plus one data watch per instance. */
  watch(service: string, options: WatchOptions = {}): WatchHandle {
    this.assertOpen();
    validateServiceName(service);
    const resolved = {
      dnsFallback: options.dnsFallback ?? this.watchDefaults.dnsFallback,
      fallbackGraceMs: positive(options.fallbackGraceMs ?? this.watchDefaults.fallbackGraceMs, "fallbackGraceMs", true),
      initialFallbackMs: positive(options.initialFallbackMs ?? this.watchDefaults.initialFallbackMs, "initialFallbackMs", true),
    };
    if (resolved.dnsFallback) validateServiceName(resolved.dnsFallback.namespace, "dnsFallback.namespace");
    const cache = new ChildrenCache(this.servicePath(service), this.session, this.logger);
    const watch = new ServiceWatch(service, cache, resolved, this.logger, (w) => this.watches.delete(w));
    this.watches.add(watch);
    return watch;
  }

  /** Shorthand for `watch(service).picker()`; the watch lives until the registry closes. */
  picker(service: string, options?: WatchOptions): Picker {
    return this.watch(service, options).picker();
  }

  /** ZooKeeper `<root>/<service>`. */
  servicePath(service: string): string {
    return `${this.root}/${service}`;
  }

  /** Counters for benches and health endpoints. */
  stats(): { reads: number; writes: number; sessionsOpened: number; connected: boolean; sessionId: string | undefined } {
    return {
      ...this.counters,
      sessionsOpened: this.sessionsOpened,
      connected: this.session.isConnected,
      sessionId: this.session.current?.everConnected ? this.session.current.sessionId : undefined,
    };
  }

  /** Test and operator hook: abandon the current session as if it had expired (registrations and watches rebuild). */
  forceNewSession(): void {
    this.session.forceNewSession("forced by caller");
  }

  /** Deregisters everything, stops every watch and closes the session. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watches]) w.close();
    await Promise.all([...this.registrations.values()].map((r) => r.deregister().catch(() => undefined)));
    await this.session.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("the service registry is closed");
  }
}

function positive(value: unknown, key: string, allowZero = false): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new DiscoveryConfigError(`${key} must be a ${allowZero ? "non-negative" : "positive"} number of milliseconds, got ${show(value)}`);
  }
  return value;
}
