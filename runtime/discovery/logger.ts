import { createLogger, silentLogger as silent } from "../log";

/** Where the discovery runtime reports what it does; pass your service's logger (the platform's `createLogger` fits). */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Default: the runtime's structured logger (JSON lines on stdout and in the pod's log file when the
 * platform mounts one), at `CLASSROOM_LOG_LEVEL` (default info: sessions, registrations and source changes,
 * a few lines an hour in a healthy pod). Created on first use, so importing the library opens no file.
 */
let shared: Logger | undefined;
export const defaultLogger: Logger = {
  debug: (m, f) => (shared ??= createLogger({ component: "discovery" })).debug(m, f),
  info: (m, f) => (shared ??= createLogger({ component: "discovery" })).info(m, f),
  warn: (m, f) => (shared ??= createLogger({ component: "discovery" })).warn(m, f),
  error: (m, f) => (shared ??= createLogger({ component: "discovery" })).error(m, f),
};

/** Drops everything; for tests that assert on behaviour instead. */
export const silentLogger: Logger = silent;
