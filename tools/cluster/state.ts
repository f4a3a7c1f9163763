import * as fs from "node:fs";
import * as path from "node:path";
import { cacheRoot } from "../toolchain/toolchain";
import { TrackedProcess } from "./processes";

/** Everything `cluster down` and `status` need to know about a running control plane. */
export interface ControlPlaneState {
  /** Temporary folder outside the repository holding data, certificates, logs and this state. */
  dir: string;
  kubeconfigPath: string;
  /** `https://127.0.0.1:<port>`. */
  server: string;
  /** Bearer token of the admin user (group system:masters). */
  token: string;
  etcdClientPort: number;
  etcdPeerPort: number;
  apiserverPort: number;
  processes: TrackedProcess[];
  /** Pid of the watchdog that kills the processes if their owner dies (only with stopOnExit). */
  reaper?: number;
  /** ISO time `up` finished. */
  startedAt: string;
  /** Seconds from the first process start until the control plane was ready. */
  startSeconds: number;
}

/** The state file inside a control plane's folder. */
export function stateFileIn(dir: string): string {
  return path.join(dir, "state.json");
}

export function writeState(state: ControlPlaneState): void {
  const file = stateFileIn(state.dir);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

export function readState(dir: string): ControlPlaneState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFileIn(dir), "utf8")) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

/**
 * The fixed place that names the folder of the control plane `npm run cluster -- up` started:
 * $XDG_RUNTIME_DIR/classroom-platform/cluster-dir when that is set, else <cache>/cluster/cluster-dir.
 */
export function pointerFile(): string {
  const runtime = process.env.XDG_RUNTIME_DIR;
  return runtime ? path.join(runtime, "classroom-platform", "cluster-dir") : path.join(cacheRoot(), "cluster", "cluster-dir");
}

export function readPointer(): string | undefined {
  try {
    return fs.readFileSync(pointerFile(), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

export function writePointer(dir: string): void {
  fs.mkdirSync(path.dirname(pointerFile()), { recursive: true });
  fs.writeFileSync(pointerFile(), `${dir}\n`);
}

export function clearPointer(): void {
  fs.rmSync(pointerFile(), { force: true });
}
