import { Counter, Gauge, Registry } from "prom-client";
import type { Registrar } from "./registrar";

/**
 * The registrar's metrics, read at scrape time from the counters the reconciler already keeps (the
 * health body shows the same numbers), so the write path carries no second set of counters.
 */
export function registerRegistrarMetrics(registry: Registry, registrar: Registrar): void {
  const registers = [registry];
  new Counter({
    name: "classroom_registrar_writes_total",
    help: "ZooKeeper writes of this replica while leading, by operation (create, update, delete) and result (ok; conflict: the node changed under it and is read again; retry: a failed write that will be retried).",
    labelNames: ["operation", "result"],
    registers,
    collect() {
      const s = registrar.reconciler.stats;
      // The reconciler's stats are the source of truth and only grow: mirror them as they stand.
      this.reset();
      this.inc({ operation: "create", result: "ok" }, s.creates);
      this.inc({ operation: "update", result: "ok" }, s.updates);
      this.inc({ operation: "delete", result: "ok" }, s.deletes);
      this.inc({ operation: "any", result: "conflict" }, s.conflicts);
      this.inc({ operation: "any", result: "retry" }, s.retries);
    },
  });
  new Gauge({
    name: "classroom_registrar_leader",
    help: "1 while this replica holds the Lease and writes to ZooKeeper.",
    registers,
    collect() {
      this.set(registrar.isLeading ? 1 : 0);
    },
  });
  new Gauge({
    name: "classroom_registrar_zookeeper_connected",
    help: "1 while this replica's ZooKeeper session is connected.",
    registers,
    collect() {
      this.set(registrar.session.isConnected ? 1 : 0);
    },
  });
}
