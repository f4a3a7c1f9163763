/**
 * Prometheus metrics of the runtime's daemons and libraries (prom-client). Each daemon keeps one
 * registry and answers `GET /metrics` on its existing health port, so the pod needs no second port and
 * the scrape configuration the platform renders (ServiceMonitor/PodMonitor or `prometheus.io/*`
 * annotations) points at the same port as the probes.
 */
import type * as http from "node:http";
import { collectDefaultMetrics, Registry } from "prom-client";

export { Registry } from "prom-client";

/** A registry with the process metrics (CPU, memory, event loop lag) every daemon exposes. */
export function daemonRegistry(daemon: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ daemon });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Answers `GET /metrics` from `registry` and returns true; returns false for any other path so the
 * health handler answers it. A collector that fails (Redis down while reading the backlog) yields a 500,
 * which Prometheus records as `up == 0`, instead of a partial answer that would look healthy.
 */
export function serveMetrics(registry: Registry, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") return false;
  registry.metrics().then(
    (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
    (err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics: ${err.message}\n`),
  );
  return true;
}
