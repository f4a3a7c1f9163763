// One exit-code contract and one error printer for every CLI of the project (synth, release,
// policy:check, cluster, engine, scheduler status), so a script or a CI step can rely on the code alone:
//
//   0 ok                1 findings (invalid objects, mandatory violations, refused data loss)
//   2 usage or input    3 internal (a bug: printed with its trace)
//
// A condition the user caused is one line naming the argument or key, never a stack trace; `--debug`
// (or CLASSROOM_DEBUG=1) adds the trace for whoever has to debug the tool itself.
import type { CommanderError } from "commander";
import * as fs from "node:fs";
import * as path from "node:path";

export const EXIT = { ok: 0, findings: 1, usage: 2, internal: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Bad usage or bad input: the message is shown alone and the CLI exits 2. Subclass it for a domain. */
export class UserError extends Error {
  /** Lines printed after the message, indented (one per problem). */
  readonly details: readonly string[];
  constructor(message: string, details: readonly string[] = []) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** Findings the user asked the tool to look for (invalid objects, mandatory violations, refused data loss): exit 1. */
export class FindingsError extends Error {
  readonly details: readonly string[];
  constructor(message: string, details: readonly string[] = []) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** The project's version, for `--version` of every CLI. */
export function projectVersion(): string {
  // package.json sits two folders up from tools/cli; read at call time so a test can run any CLI.
  return (JSON.parse(fs.readFileSync(path.join(__dirname, "../../package.json"), "utf8")) as { version: string }).version;
}

export function debugRequested(argv: readonly string[] = process.argv): boolean {
  return argv.includes("--debug") || process.env.CLASSROOM_DEBUG === "1";
}

/**
 * How an error maps to an exit code and what is printed. Known user-caused errors are recognised by
 * class (UserError, FindingsError, CommanderError) or by `classify`, which each CLI uses for error
 * classes of its own domain that predate this module (ConfigError, StackFileError, ...).
 */
export function reportError(
  tool: string,
  err: unknown,
  classify: (err: unknown) => "usage" | "findings" | undefined = () => undefined,
  argv: readonly string[] = process.argv,
): ExitCode {
  if (isCommanderError(err)) {
    // commander has already printed its own one-line message (and the help hint).
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  const kind = err instanceof UserError ? "usage" : err instanceof FindingsError ? "findings" : classify(err);
  if (kind) {
    const e = err as Error & { details?: readonly string[]; problems?: readonly string[] };
    const details = e.details ?? [];
    console.error(`${tool}: ${e.message}${details.length ? `\n${details.map((d) => `  ${d}`).join("\n")}` : ""}`);
    if (debugRequested(argv) && e.stack) console.error(e.stack);
    return kind === "usage" ? EXIT.usage : EXIT.findings;
  }
  const errno = err as NodeJS.ErrnoException;
  if (errno && typeof errno.code === "string" && typeof errno.syscall === "string") {
    // A file-system refusal the user can fix (EACCES, EROFS, ENOSPC, ...): one line, no errno object.
    console.error(`${tool}: cannot ${errno.syscall} ${errno.path ?? ""}: ${errno.code}`.replace(/ +:/, ":"));
    if (debugRequested(argv) && errno.stack) console.error(errno.stack);
    return EXIT.usage;
  }
  console.error(`${tool}: internal error (a bug; please report it with this output):`);
  console.error(err);
  return EXIT.internal;
}

/**
 * commander 15 ships as an ES module only, which jest's CommonJS runtime cannot load; recognising its
 * error by shape keeps this module importable from every test. `code` is always `commander.<reason>`.
 */
function isCommanderError(err: unknown): err is CommanderError {
  const e = err as Partial<CommanderError> | undefined;
  return !!e && typeof e.exitCode === "number" && typeof e.code === "string" && e.code.startsWith("commander.");
}

/** Runs a CLI's main and exits with its code, or with the code `reportError` gives its error. */
export function runCli(tool: string, main: () => Promise<number> | number, classify?: (err: unknown) => "usage" | "findings" | undefined): void {
  Promise.resolve()
    .then(main)
    .then(
      (code) => process.exit(code),
      (err) => process.exit(reportError(tool, err, classify)),
    );
}

/**
 * For `command.configureOutput(...)`: commander prints its "did you mean" hint on a second line; joined
 * into the error line, every usage error is one line like the others. Subcommands inherit it.
 */
export const oneLineCommanderErrors = {
  outputError: (text: string, write: (text: string) => void) => write(text.replace(/\n\(Did you mean (.*)\?\)\n?$/, " (did you mean $1?)\n")),
};

/**
 * `--option ''` for every option of `command` that the user gave as an empty string: an empty value is
 * never what was meant (a variable that expanded to nothing), and taking it as "not given" would
 * silently use the default instead. `except` lists options whose own check words it better.
 */
export function emptyOptionProblems(
  command: { options: readonly { long?: string; attributeName(): string }[]; opts(): Record<string, unknown> },
  except: string[] = [],
): string[] {
  const values = command.opts();
  return command.options
    .filter((o) => o.long && !except.includes(o.long) && values[o.attributeName()] === "")
    .map((o) => `${o.long} must not be empty: give a value or leave the option out`);
}
