/**
 * The project's CLI exit-code contract (tools/cli/run.ts), kept here in small: runtime/ is about to
 * ship as its own package and must not import from tools/.
 *
 *   0 ok      1 findings      2 usage or bad input (one line, no stack trace)      3 internal (a bug)
 *
 * `--debug` (or CLASSROOM_DEBUG=1) adds the stack trace to a usage error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CommanderError } from "commander";

export const EXIT = { ok: 0, findings: 1, usage: 2, internal: 3 } as const;

/** Bad usage or bad input the user can fix (a flag, a file, an unreachable Redis): exit 2. */
export class UsageError extends Error {}

/** Version of the package this file ships in (the nearest package.json above it). */
export function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
    if (path.dirname(dir) === dir) return "unknown";
  }
}

/** Prints what the user needs to see for `err` and returns the exit code. */
export function reportError(tool: string, err: unknown, isUsage: (err: unknown) => boolean, argv: readonly string[] = process.argv): number {
  // commander has printed its own one-line message already (or the help / version text).
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (err instanceof UsageError || isUsage(err)) {
    console.error(`${tool}: ${(err as Error).message}`);
    if ((argv.includes("--debug") || process.env.CLASSROOM_DEBUG === "1") && (err as Error).stack) console.error((err as Error).stack);
    return EXIT.usage;
  }
  console.error(`${tool}: internal error (a bug; please report it with this output):`);
  console.error(err);
  return EXIT.internal;
}

/** commander's "did you mean" hint joined onto its error line, as tools/cli/run.ts does: every usage error is one line. */
export const oneLineCommanderErrors = {
  outputError: (text: string, write: (text: string) => void) => write(text.replace(/\n\(Did you mean (.*)\?\)\n?$/, " (did you mean $1?)\n")),
};
