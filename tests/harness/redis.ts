import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, waitForPort } from "./ports";
import { ManagedProcess } from "./process";

export interface RedisServerOptions {
  /** Append-only file with `appendfsync everysec`, as the platform runs it. Default true. */
  appendOnly?: boolean;
  /** Reuse this data dir (to restart a server on its own AOF). Default: a fresh temp dir. */
  dir?: string;
  /** Reuse this port (to restart a server where clients expect it). Default: a free port. */
  port?: number;
}

/** A real Debian `redis-server` on a free loopback port with its data in a temp dir. */
export class RedisServer {
  private constructor(
    readonly port: number,
    readonly dir: string,
    private proc: ManagedProcess,
    private readonly options: RedisServerOptions,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const port = options.port ?? (await freePort());
    const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "redis-"));
    const proc = await RedisServer.spawn(port, dir, options);
    return new RedisServer(port, dir, proc, { ...options, port, dir });
  }

  private static async spawn(port: number, dir: string, options: RedisServerOptions): Promise<ManagedProcess> {
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      options.appendOnly === false ? "no" : "yes",
      "--appendfsync",
      "everysec",
      "--protected-mode",
      "no",
      "--daemonize",
      "no",
    ];
    const proc = ManagedProcess.start("redis", redisServerBinary(), args);
    try {
      await waitForPort(port, 15_000);
    } catch (err) {
      await proc.kill();
      throw new Error(`redis-server did not start on port ${port}: ${(err as Error).message}\n${proc.log}`, { cause: err });
    }
    return proc;
  }

  /** Stops gracefully (Redis flushes the AOF on SIGTERM). */
  async stop(): Promise<void> {
    await this.proc.stop();
  }
  /** SIGKILL: loses whatever `appendfsync everysec` had not yet written. */
  async kill(): Promise<void> {
    await this.proc.kill();
  }
  /** Starts again on the same port and data dir, after stop() or kill(). */
  async restart(): Promise<void> {
    await this.proc.stop();
    this.proc = await RedisServer.spawn(this.port, this.dir, this.options);
  }
  /** Stops the server and removes its data dir. */
  async destroy(): Promise<void> {
    await this.proc.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function redisServerBinary(): string {
  for (const candidate of ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error("redis-server is not installed: run `bash tools/provision/install.sh` (Debian package redis-server)");
}
