/** Where the discovery runtime reports what it does; pass your service's logger. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const format = (message: string, fields?: Record<string, unknown>) =>
  fields && Object.keys(fields).length > 0 ? `${message} ${JSON.stringify(fields)}` : message;

/** Default: warnings and errors on stderr, quiet otherwise. */
export const stderrLogger: Logger = {
  debug() {},
  info() {},
  warn: (message, fields) => console.warn(`[discovery] ${format(message, fields)}`),
  error: (message, fields) => console.error(`[discovery] ${format(message, fields)}`),
};

/** Drops everything; for tests that assert on behaviour instead. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
