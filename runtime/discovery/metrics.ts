import { Gauge, Registry } from "prom-client";
import type { Source } from "./fallback";

const SOURCES: Source[] = ["zookeeper", "last-known", "kubernetes-dns"];

/** What the metrics read from a registry at scrape time. */
export interface DiscoveryReadings {
  connected: boolean;
  watches: { service: string; source: Source; stalenessMs: number }[];
}

/**
 * Registers the discovery gauges in the caller's registry. They are computed at scrape time from the
 * live watches, so nothing is counted on the hot path of `pick()`. A registry can carry one
 * ServiceRegistry's gauges (prom-client refuses a second metric of the same name). The label is
 * `watched_service`: `service` is a target label a ServiceMonitor sets, and would be overwritten.
 */
export function registerDiscoveryMetrics(registry: Registry, read: () => DiscoveryReadings): void {
  const registers = [registry];
  new Gauge({
    name: "classroom_discovery_source",
    help: "1 for the source that answers a watched service right now (zookeeper, last-known: ZooKeeper lost and the grace period running, kubernetes-dns: the Service DNS fallback), 0 for the others.",
    labelNames: ["watched_service", "source"],
    registers,
    collect() {
      this.reset();
      // Several watches of one service report the least fresh source.
      const worst = new Map<string, Source>();
      for (const w of read().watches) {
        const seen = worst.get(w.service);
        if (!seen || SOURCES.indexOf(w.source) > SOURCES.indexOf(seen)) worst.set(w.service, w.source);
      }
      for (const [service, current] of worst) for (const source of SOURCES) this.set({ watched_service: service, source }, source === current ? 1 : 0);
    },
  });
  new Gauge({
    name: "classroom_discovery_staleness_seconds",
    help: "How long a watched service's answer has not come from a live ZooKeeper listing (0 while it does).",
    labelNames: ["watched_service"],
    registers,
    collect() {
      this.reset();
      const stalest = new Map<string, number>();
      for (const w of read().watches) stalest.set(w.service, Math.max(stalest.get(w.service) ?? 0, w.stalenessMs / 1000));
      for (const [service, seconds] of stalest) this.set({ watched_service: service }, seconds);
    },
  });
  new Gauge({
    name: "classroom_discovery_zookeeper_connected",
    help: "1 while this process' ZooKeeper session is connected.",
    registers,
    collect() {
      this.set(read().connected ? 1 : 0);
    },
  });
}
