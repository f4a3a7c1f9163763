import * as fs from "node:fs";
import { LOG_ENV } from "../contracts/env";

/**
 * One structured logger for every runtime library and daemon: a JSON object per line with `time`,
 * `level`, `component` and `event` first, then the event's fields. The same line goes to stdout (what
 * `kubectl logs` shows) and is appended to the per-pod log file the platform mounts on the node's
 * hostPath (`CLASSROOM_LOG_FILE` = `<log dir>/<pod name>_<pod uid>.log`), which outlives the pod and is
 * what the node's log agent ships. The file is opened with O_APPEND, so a restarted container continues
 * its own file and never truncates it.
 *
 * The methods match the `Logger` the discovery library has always taken ({debug, info, warn, error}
 * (message, fields)), so a service can hand the platform's logger to any library.
 */
export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  /** The same logger with these fields on every line (a replica id, a shard). */
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** What is logging: `scheduler`, `mq-replayer`, `discovery`. */
  component: string;
  /** Lines below this level are dropped. Default `CLASSROOM_LOG_LEVEL`, else `info`. */
  level?: Level;
  /** Also append every line to this file. Default `CLASSROOM_LOG_FILE` when set; `null`: stdout only. */
  file?: string | null;
  /** Where lines go besides the file. Default process.stdout; `null`: the file only. */
  stream?: NodeJS.WritableStream | null;
  /** Clock, for tests. */
  now?: () => Date;
  env?: Record<string, string | undefined>;
}

const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLevel(value: string | undefined): value is Level {
  return value !== undefined && value in LEVELS;
}

export function createLogger(options: LoggerOptions): Logger {
  const env = options.env ?? process.env;
  const envLevel = env[LOG_ENV.level];
  const threshold = LEVELS[options.level ?? (isLevel(envLevel) ? envLevel : "info")];
  const file = options.file === undefined ? env[LOG_ENV.file] || undefined : (options.file ?? undefined);
  const stream = options.stream === undefined ? process.stdout : options.stream;
  const now = options.now ?? (() => new Date());
  // One descriptor for the process's life; appendFileSync per line keeps lines whole and ordered even
  // when the process dies right after (a crash is when the last lines matter most).
  let fd: number | undefined;
  let fileBroken = false;
  const writeFile = (line: string) => {
    if (!file || fileBroken) return;
    try {
      fd ??= fs.openSync(file, "a");
      fs.appendFileSync(fd, line);
    } catch (err) {
      // Losing the file must not take the daemon down: say so once on stderr and keep logging to stdout.
      fileBroken = true;
      process.stderr.write(
        `${JSON.stringify({ time: now().toISOString(), level: "error", component: options.component, event: "log file unwritable", file, error: (err as Error).message })}\n`,
      );
    }
  };
  const make = (bound: Record<string, unknown>): Logger => {
    const emit =
      (level: Level) =>
      (event: string, fields: Record<string, unknown> = {}) => {
        if (LEVELS[level] < threshold) return;
        const line = `${JSON.stringify({ time: now().toISOString(), level, component: options.component, event, ...bound, ...serializable(fields) })}\n`;
        stream?.write(line);
        writeFile(line);
      };
    return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error"), child: (fields) => make({ ...bound, ...fields }) };
  };
  return make({});
}

/** Errors become their message (and code): JSON.stringify would print `{}` for them. */
function serializable(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] =
      value instanceof Error
        ? { message: value.message, ...((value as NodeJS.ErrnoException).code ? { code: (value as NodeJS.ErrnoException).code } : {}) }
        : value;
  }
  return out;
}

/** Drops everything; for tests that assert on behaviour instead. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
