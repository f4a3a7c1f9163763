import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../synth/stack-config";
import { DEFAULT_STACKS_DIR } from "./stack-file";

/**
 * `pulumi up` for the stack, as argv. A stack file outside the project's stacks/ (a copy under test) is
 * passed with `--config-file`, so the engine deploys exactly the file the release edited.
 */
export function pulumiUpArgs(stack: string, stackFile: string, root = PROJECT_ROOT): string[] {
  const own = path.resolve(DEFAULT_STACKS_DIR, `Pulumi.${stack}.yaml`) === path.resolve(stackFile);
  return ["up", "--stack", stack, "--yes", "--cwd", root, ...(own ? [] : ["--config-file", path.resolve(stackFile)])];
}

/** The command line a user can paste into a shell. */
export function shellCommand(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** Absolute path of an executable on PATH, or undefined. */
export function findOnPath(command: string, envPath = process.env.PATH ?? ""): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch { /* not here */ }
  }
  return undefined;
}

/** Runs `pulumi up` with the terminal attached; returns its exit code. */
export function runPulumiUp(pulumi: string, args: string[]): number {
  const result = spawnSync(pulumi, args, { stdio: "inherit" });
  if (result.error) throw result.error;
  return result.status ?? 1;
}
