import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, waitForPort } from "./ports";
import { ManagedProcess } from "./process";

/** A scrape target: `host:port` and the labels Prometheus attaches to its series. */
export interface ScrapeTarget {
  address: string;
  labels?: Record<string, string>;
}

/**
 * A real Debian `prometheus` on a free loopback port, with a temp config and data dir, scraping the
 * given targets every `scrapeIntervalS` seconds. Instant queries go through `url` like any client's.
 */
export class PrometheusServer {
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly proc: ManagedProcess,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(targets: ScrapeTarget[], scrapeIntervalS = 1): Promise<PrometheusServer> {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prometheus-"));
    const config = [
      "global:",
      `  scrape_interval: ${scrapeIntervalS}s`,
      `  evaluation_interval: ${scrapeIntervalS}s`,
      "scrape_configs:",
      "  - job_name: backends",
      "    static_configs:",
      ...targets.map((t) => `      - targets: [${JSON.stringify(t.address)}]${t.labels ? `\n        labels: ${JSON.stringify(t.labels)}` : ""}`),
    ].join("\n");
    fs.writeFileSync(path.join(dir, "prometheus.yml"), `${config}\n`);
    const proc = ManagedProcess.start("prometheus", "/usr/bin/prometheus", [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
      "--log.level=warn",
    ]);
    const server = new PrometheusServer(port, dir, proc);
    try {
      await waitForPort(port, 60_000);
      await server.waitReady(60_000);
    } catch (err) {
      await proc.kill();
      throw new Error(`prometheus did not start on port ${port}: ${(err as Error).message}\n${proc.log}`, { cause: err });
    }
    return server;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = await fetch(`${this.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`not ready within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** One instant query's single value (undefined for no data): what the tests wait on. */
  async value(query: string): Promise<number | undefined> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } };
    const raw = body.data.result[0]?.value[1];
    return raw === undefined || raw === "NaN" ? undefined : Number(raw);
  }

  /** How many series an instant query returns (0: it selects nothing, e.g. an alert expression that would not fire). */
  async seriesCount(query: string): Promise<number> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: unknown[] } };
    if (body.status !== "success") throw new Error(`${query}: ${body.error}`);
    return body.data.result.length;
  }

  /** Stops the server and removes its config and data. */
  async destroy(): Promise<void> {
    await this.proc.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
