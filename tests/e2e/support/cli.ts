import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../../tools/engine/automation";

/** Exit code and output of one run of a project CLI (tools/<name>/cli.ts) under Node 22 and tsx. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm run <tool> -- <args>` the way a user would, without npm's own noise. */
export function runTool(tool: "release" | "synth", args: string[], env: Record<string, string> = {}): CliRun {
  const tsx = path.join(PROJECT_ROOT, "node_modules/tsx/dist");
  const r = spawnSync(
    path.join(PROJECT_ROOT, "node_modules/node/bin/node"),
    [
      "--require",
      path.join(tsx, "preflight.cjs"),
      "--import",
      `file://${path.join(tsx, "loader.mjs")}`,
      path.join(PROJECT_ROOT, `tools/${tool}/cli.ts`),
      ...args,
    ],
    { cwd: PROJECT_ROOT, encoding: "utf8", timeout: 300_000, env: { ...process.env, ...env } },
  );
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
