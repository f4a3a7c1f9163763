import { spawn } from "node:child_process";
import * as fs from "node:fs";

/** A process the control plane started, recorded precisely enough to stop exactly it and nothing else. */
export interface TrackedProcess {
  /** Role in the control plane: etcd, kube-apiserver, kube-controller-manager. */
  name: string;
  pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22): tells a reused pid apart. */
  startTicks: number;
  /** The executable it runs. */
  binary: string;
  /** Where its stdout and stderr go. */
  logFile: string;
}

/**
 * Starts a server detached from the caller's terminal and process group, output to a log file, so that
 * `cluster up` can exit while it keeps running. The caller decides when it stops (stopProcess).
 */
export function startDetached(name: string, binary: string, args: string[], logFile: string): TrackedProcess {
  const out = fs.openSync(logFile, "a");
  try {
    const child = spawn(binary, args, { detached: true, stdio: ["ignore", out, out] });
    if (child.pid === undefined) throw new Error(`${name}: could not start ${binary}`);
    child.unref();
    return { name, pid: child.pid, startTicks: startTicksOf(child.pid) ?? 0, binary, logFile };
  } finally {
    fs.closeSync(out);
  }
}

/** /proc/<pid>/stat field 22, or undefined when no such process exists. */
export function startTicksOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses; fields after it are plain.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z" || rest[0] === "X") return undefined; // exited, only a zombie entry is left
    return Number(rest[19]);
  } catch {
    return undefined;
  }
}

/** True while the very process that was recorded (same pid, same start time) is alive. */
export function isAlive(p: TrackedProcess): boolean {
  const ticks = startTicksOf(p.pid);
  return ticks !== undefined && (p.startTicks === 0 || ticks === p.startTicks);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Never signals a reused pid. */
export async function stopProcess(p: TrackedProcess, graceMs = 10_000): Promise<void> {
  if (!isAlive(p)) return;
  signal(p.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(p)) {
    if (Date.now() > deadline) {
      signal(p.pid, "SIGKILL");
      await waitGone(p, 5_000);
      return;
    }
    await sleep(50);
  }
}

async function waitGone(p: TrackedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(p) && Date.now() < deadline) await sleep(50);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** The last `lines` lines of a log file, for error messages. */
export function tailOf(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A watchdog for servers that must not outlive the process that started them (tests): a small shell that
 * polls the owner's pid and, once it is gone, SIGKILLs each server listed in `<dir>/reap.list` whose
 * command line still names its binary, then removes `dir`. Unlike an exit hook it also works when the
 * owner is SIGKILLed, and inside test runners whose sandboxed `process` never emits `exit`.
 */
export function startReaper(owner: number, dir: string): number | undefined {
  const list = shellQuote(`${dir}/reap.list`);
  const script = [
    `while kill -0 ${owner} 2>/dev/null; do sleep 1; done`,
    `[ -f ${list} ] && while read -r pid bin; do grep -qF -- "$bin" /proc/$pid/cmdline 2>/dev/null && kill -KILL "$pid" 2>/dev/null; done < ${list}`,
    `rm -rf ${shellQuote(dir)}`,
  ].join("; ");
  const child = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
  child.unref();
  return child.pid;
}

/** Adds a server to what the reaper of `dir` kills. */
export function addToReaper(dir: string, p: TrackedProcess): void {
  fs.appendFileSync(`${dir}/reap.list`, `${p.pid} ${p.binary}\n`);
}

/** Stops a reaper that is no longer needed (its servers were stopped normally). */
export function stopReaper(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* already gone */
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
