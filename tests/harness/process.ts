import { ChildProcess, spawn, SpawnOptions } from "node:child_process";

/**
 * A server process started by a test. Every one is registered so that `stopAll` (and the process
 * exit hook) can kill whatever a failing test left behind: no server outlives the test run.
 */
export class ManagedProcess {
  private static readonly live = new Set<ManagedProcess>();
  private exited: Promise<number | null>;
  private output = "";

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    ManagedProcess.live.add(this);
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) =>
      child.once("exit", (code) => {
        ManagedProcess.live.delete(this);
        resolve(code);
      }),
    );
  }

  static start(name: string, command: string, args: string[], options: SpawnOptions = {}): ManagedProcess {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
    child.once("error", (err) => {
      (child as any).__spawnError = err;
    });
    return new ManagedProcess(name, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  /** The last 20 kB the process printed, for error messages when it fails to start. */
  get log(): string {
    return this.output;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves when the process has exited. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL: a crash, for failure tests. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }

  static async stopAll(): Promise<void> {
    await Promise.all([...ManagedProcess.live].map((p) => p.stop()));
  }
}

process.once("exit", () => {
  for (const p of (ManagedProcess as any).live as Set<ManagedProcess>) p.child.kill("SIGKILL");
});
