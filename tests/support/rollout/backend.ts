import * as http from "node:http";
import type { AddressInfo } from "node:net";

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * A small HTTP service standing in for one track: it answers `/` with 200 or 500 at the error rate the
 * test sets, after the latency the test sets, and exposes on `/metrics` the series a scraped classroom
 * pod has: the OpenTelemetry HTTP server histogram `http_server_request_duration_seconds` per
 * `http_response_status_code`, under the target labels the platform's PodMonitor and annotation scrape
 * attach from the pod labels (`app_kubernetes_io_name`, `classroom_io_track`).
 */
export class TrackBackend {
  errorRate = 0;
  latencyMs = 0;
  /** Per status code: bucket counts, observations and their sum. */
  private readonly byCode = new Map(["200", "500"].map((code) => [code, { buckets: BUCKETS.map(() => 0), count: 0, sum: 0 }]));
  private served = 0;

  private constructor(
    readonly service: string,
    readonly track: string,
    private readonly server: http.Server,
  ) {}

  get address(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  static async start(service: string, track: string): Promise<TrackBackend> {
    const server = http.createServer();
    const backend = new TrackBackend(service, track, server);
    server.on("request", (req, res) => backend.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return backend;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.url === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(this.exposition());
      return;
    }
    const started = process.hrtime.bigint();
    // Every n-th request fails: an exact, repeatable error rate instead of a random one.
    this.served++;
    const fail = this.errorRate > 0 && this.served % Math.max(1, Math.round(1 / this.errorRate)) === 0;
    setTimeout(() => {
      const code = fail ? 500 : 200;
      res.writeHead(code).end(fail ? "injected failure\n" : "ok\n");
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const stats = this.byCode.get(String(code))!;
      BUCKETS.forEach((b, i) => {
        if (seconds <= b) stats.buckets[i]++;
      });
      stats.count++;
      stats.sum += seconds;
    }, this.latencyMs);
  }

  private exposition(): string {
    const name = "http_server_request_duration_seconds";
    const lines = [`# TYPE ${name} histogram`];
    // Both codes always exist, so a rate over them is 0 rather than absent before the first failure.
    for (const [code, stats] of this.byCode) {
      const l = `app_kubernetes_io_name="${this.service}",classroom_io_track="${this.track}",http_response_status_code="${code}"`;
      BUCKETS.forEach((b, i) => lines.push(`${name}_bucket{${l},le="${b}"} ${stats.buckets[i]}`));
      lines.push(`${name}_bucket{${l},le="+Inf"} ${stats.count}`, `${name}_sum{${l}} ${stats.sum}`, `${name}_count{${l}} ${stats.count}`);
    }
    return `${lines.join("\n")}\n`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Sends `rps` requests a second to each backend until stopped: the traffic whose metrics the analysis judges. */
export function startLoad(backends: TrackBackend[], rps = 20): { stop(): void } {
  const timer = setInterval(() => {
    for (const b of backends)
      fetch(`http://${b.address}/`).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      );
  }, 1000 / rps);
  return { stop: () => clearInterval(timer) };
}
