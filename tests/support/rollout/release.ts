import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../../../tools/synth";

export const STABLE_IMAGE = "registry.classroom.internal/room-api:1.8.2";
export const CANARY_IMAGE = "registry.classroom.internal/room-api:1.9.0";

/** The dev stack written to `dir` with a canary of room-api at weight 5 and the given rollout plan (YAML flow text). */
export function rolloutStackFile(dir: string, steps: string, analysis: string): string {
  const line = `      stable: { image: ${STABLE_IMAGE}, replicas: 1 }\n`;
  const text = fs
    .readFileSync(path.join(PROJECT_ROOT, "stacks", "Pulumi.dev.yaml"), "utf8")
    .replace(
      line,
      `${line}      canary: { image: ${CANARY_IMAGE}, replicas: 1, weight: 5 }\n      rollout:\n        steps: ${steps}\n        analysis: ${analysis}\n`,
    );
  const file = path.join(dir, "Pulumi.dev.yaml");
  fs.writeFileSync(file, text);
  return file;
}

/** room-api's entries as the stack file says now. */
export function roomApi(file: string): {
  stable: { image: string };
  canary?: { image: string; weight: number; replicas: number; step?: number };
  history?: Array<{ image: string }>;
} {
  return (parse(fs.readFileSync(file, "utf8")) as { config: Record<string, Record<string, any>> }).config["classroom:services"]["room-api"];
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  child: ChildProcess;
}

/** The release CLI as one node process (tsx as a loader, not tsx's CLI, whose child would outlive a SIGKILL); `onLine` sees each stdout line as it comes. */
export function release(args: string[], onLine?: (line: string, run: Run) => void): Promise<Run> {
  const child = spawn(process.execPath, ["--import", "tsx", "tools/release/cli.ts", ...args], { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const run: Run = { code: null, signal: null, stdout: "", stderr: "", child };
  let pending = "";
  child.stdout!.on("data", (d: Buffer) => {
    run.stdout += d;
    pending += d;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) onLine?.(line, run);
  });
  child.stderr!.on("data", (d: Buffer) => (run.stderr += d));
  return new Promise((resolve) => child.on("close", (code, signal) => resolve({ ...run, code, signal })));
}
