import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline/promises";
import { PROJECT_ROOT } from "../synth";
import { ReleaseError } from "./errors";
import { DEFAULT_STACKS_DIR } from "./stack-file";

// The deploy the way CI runs it: the stack's policy pack with its enforcement config on every pulumi
// command, a preview first, and `up` only after a confirmation (or --yes).

/** What every pulumi command of one release is about. */
export interface DeployTarget {
  stack: string;
  /** The stack file the engine reads. */
  stackFile: string;
  /** The Pulumi project folder (Pulumi.yaml, policies/). */
  root: string;
  /** The policy pack's enforcement config for the stack. */
  policyConfig: string;
}

/**
 * `policies/config/<stack>.json`, else the file of the stack's environment: the same choice synth makes,
 * so the deploy enforces what synth checked.
 */
export function policyConfigFor(stack: string, environment: string | undefined, root = PROJECT_ROOT): string {
  const dir = path.join(root, "policies", "config");
  for (const name of [stack, environment]) {
    if (name && fs.existsSync(path.join(dir, `${name}.json`))) return path.join(dir, `${name}.json`);
  }
  const known = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .map((f) => f.slice(0, -5))
        .sort()
    : [];
  throw new ReleaseError(
    `no policy config for stack '${stack}'${environment ? ` or environment '${environment}'` : ""} in ${dir} (configs: ${known.join(", ") || "none"}): the deploy runs the policy pack with it`,
  );
}

/** `--stack`, `--cwd`, the stack file when it is not the project's own, and the policy pack. */
function commonArgs(target: DeployTarget, stackFile = target.stackFile): string[] {
  const own = path.resolve(DEFAULT_STACKS_DIR, `Pulumi.${target.stack}.yaml`) === path.resolve(stackFile);
  return [
    "--stack",
    target.stack,
    "--cwd",
    target.root,
    ...(own ? [] : ["--config-file", path.resolve(stackFile)]),
    "--policy-pack",
    path.join(target.root, "policies"),
    "--policy-pack-config",
    target.policyConfig,
  ];
}

/**
 * `pulumi preview` of the stack. `stackFile` previews an edit that is not written yet; with
 * `expectNoChanges` the exit code says whether the stack already runs what the file says.
 */
export function pulumiPreviewArgs(target: DeployTarget, options: { stackFile?: string; expectNoChanges?: boolean } = {}): string[] {
  return ["preview", ...commonArgs(target, options.stackFile), ...(options.expectNoChanges ? ["--expect-no-changes"] : [])];
}

/**
 * `pulumi up` of the stack. Non-interactive (`--yes`) when the release asked for confirmation itself; the
 * command printed for a user to run later leaves it out, so that pulumi shows its preview and asks.
 */
export function pulumiUpArgs(target: DeployTarget, options: { confirmed?: boolean } = {}): string[] {
  return ["up", ...(options.confirmed === false ? [] : ["--yes"]), ...commonArgs(target)];
}

/**
 * Whether a deploy may go ahead: `--yes` skips the question; a terminal gets asked; without a terminal
 * (CI, a pipe) nobody could answer, so the release refuses rather than deploy unasked or hang.
 */
export function confirmationRule(yes: boolean, terminal: boolean): "go" | "ask" | "refuse" {
  if (yes) return "go";
  return terminal ? "ask" : "refuse";
}

/** Asks on the terminal; only `y` or `yes` confirm. */
export async function askToDeploy(
  question: string,
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stdout,
): Promise<boolean> {
  const rl = readline.createInterface({ input, output });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
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
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Runs a pulumi command with the terminal attached; returns its exit code. */
export function runPulumi(pulumi: string, args: string[]): number {
  const result = spawnSync(pulumi, args, { stdio: "inherit" });
  if (result.error) throw result.error;
  return result.status ?? 1;
}
