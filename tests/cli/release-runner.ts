import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../tools/synth";

// `npm run release` as a user runs it, for the cli jest project: a child process per command, on a
// copy of the stack files, with a PATH that holds no `pulumi` unless a test puts a stand-in in front.
// The child is the Node running jest plus tsx's CLI (what `npm run release` runs, without npm's start-up),
// so a test can also run it as an unprivileged user (root ignores file permissions).

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Folder put first on PATH (a `pulumi` stand-in). Default: none, and no `pulumi` anywhere on PATH. */
  binDir?: string;
  /** Run as this user and group instead of the test's. */
  user?: { uid: number; gid: number };
  /** Written to the child's stdin, which is then closed. */
  input?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** The CLI to run, relative to the project. Default: the release CLI. */
  script?: string;
  /** Kill the child after this long (a command that blocks, say on a FIFO, then fails instead of hanging the suite). */
  timeoutMs?: number;
  /** Called with each chunk of the child's stdout as it arrives. */
  onStdout?: (text: string, all: string) => void;
}

/** An unprivileged user for permission tests. */
export const NOBODY = { uid: 65534, gid: 65534 };

const TSX_CLI = path.join(PROJECT_ROOT, "node_modules", "tsx", "dist", "cli.mjs");

export function runRelease(args: string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const withoutPulumi = (process.env.PATH ?? "").split(path.delimiter).filter((d) => d && !fs.existsSync(path.join(d, "pulumi")));
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: [...(options.binDir ? [options.binDir] : []), ...withoutPulumi].join(path.delimiter) };
    delete env.CLASSROOM_DEBUG;
    Object.assign(env, options.env);
    if (options.user) env.HOME = os.tmpdir();
    const child = spawn(process.execPath, [TSX_CLI, options.script ?? "tools/release/cli.ts", ...args], {
      cwd: PROJECT_ROOT,
      env,
      uid: options.user?.uid,
      gid: options.user?.gid,
      stdio: ["pipe", "pipe", "pipe"],
      // Its own process group, so that a timeout also ends the script process tsx starts below it.
      detached: options.timeoutMs !== undefined,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      options.onStdout?.(String(d), stdout);
    });
    child.stderr.on("data", (d) => (stderr += d));
    const timer = options.timeoutMs ? setTimeout(() => process.kill(-child.pid!, "SIGKILL"), options.timeoutMs) : undefined;
    child.on("exit", () => clearTimeout(timer));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

/** Runs commands a few at a time (each is mostly interpreter start-up), results in order. */
export async function runAll<T>(items: T[], run: (item: T) => Promise<Run>, concurrency = 3): Promise<Run[]> {
  const results: Run[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await run(items[i]);
      }
    }),
  );
  return results;
}

/** A temporary folder holding a copy of the project's stack files. */
export function copyOfStacks(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const f of fs.readdirSync(path.join(PROJECT_ROOT, "stacks"))) fs.copyFileSync(path.join(PROJECT_ROOT, "stacks", f), path.join(dir, f));
  return dir;
}

/** sha256 of every file under `dir` (symlinks by their target path), by relative path. */
export function checksums(dir: string): Record<string, string> {
  const sums: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, entry.name);
      const rel = path.relative(dir, full);
      if (entry.isSymbolicLink()) sums[rel] = `-> ${fs.readlinkSync(full)}`;
      else if (entry.isDirectory()) walk(full);
      // Reading a FIFO would block: it is recorded by kind only.
      else if (!entry.isFile()) sums[rel] = "not a regular file";
      else sums[rel] = crypto.createHash("sha256").update(fs.readFileSync(full)).digest("hex");
    }
  };
  walk(dir);
  return sums;
}

/** stderr's lines; commander's hints count too, since every usage error must be one line. */
export function errorLines(stderr: string): string[] {
  return stderr
    .trim()
    .split("\n")
    .filter((l) => l);
}

/** A stack trace line (`    at fn (file:1:2)`). */
export const TRACE = /\n\s+at .+:\d+/;

/**
 * A `pulumi` stand-in that records each invocation (one line of arguments per call) and imitates the
 * engine's answer where a release depends on it: `up` exits with $PULUMI_STANDIN_UP_EXIT (default 0)
 * and on success remembers the sha256 of the stack file it deployed; `preview --expect-no-changes`
 * exits 0 only when that file is unchanged since the last successful `up`; `preview` exits with
 * $PULUMI_STANDIN_PREVIEW_EXIT (default 0). The real CLI cannot run this project here (no Node language
 * host, see tests/e2e/README.md), and what these tests check is the release's own logic around it.
 */
export function pulumiStandIn(): { binDir: string; calls: () => string[][]; cleanup: () => void } {
  const binDir = fs.mkdtempSync(path.join(os.tmpdir(), "release-pulumi-standin-"));
  fs.chmodSync(binDir, 0o755);
  const log = path.join(binDir, "calls");
  const deployed = path.join(binDir, "deployed");
  fs.writeFileSync(
    path.join(binDir, "pulumi"),
    `#!/bin/sh
printf '%s\\t' "$@" >> '${log}'; printf '\\n' >> '${log}'
cmd=$1; file=; expect=
while [ $# -gt 0 ]; do
  case "$1" in --config-file) file=$2; shift;; --expect-no-changes) expect=1;; esac
  shift
done
sum() { sha256sum "$file" | cut -d' ' -f1; }
case "$cmd" in
  up) code=\${PULUMI_STANDIN_UP_EXIT:-0}; [ "$code" = 0 ] && sum > '${deployed}'; echo "stand-in: up exits $code"; exit $code;;
  preview)
    if [ -n "$expect" ]; then [ -f '${deployed}' ] && [ "$(sum)" = "$(cat '${deployed}')" ] && { echo "stand-in: no changes"; exit 0; }; echo "stand-in: changes"; exit 255; fi
    code=\${PULUMI_STANDIN_PREVIEW_EXIT:-0}; echo "stand-in: preview exits $code"; exit $code;;
esac
exit 99
`,
    { mode: 0o755 },
  );
  return {
    binDir,
    calls: () =>
      fs.existsSync(log)
        ? fs
            .readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => l.replace(/\t$/, "").split("\t"))
        : [],
    cleanup: () => fs.rmSync(binDir, { recursive: true, force: true }),
  };
}
