/**
 * The language-neutral contract: what an instance node looks like in ZooKeeper and which env vars the
 * platform's `rpc` service kind gives every pod. README.md documents the same rules for other languages.
 */

/** The two gray-release tracks (ARCHITECTURE.md section 5). */
export type Track = "stable" | "canary";
export const TRACKS: readonly Track[] = ["stable", "canary"];

/** Default root under which every service has one directory of ephemeral instance nodes. */
export const DEFAULT_ROOT = "/classroom/services";

/** What a process announces about itself when it registers. */
export interface InstanceRegistration {
  /** Node name, unique and stable per pod (the platform uses POD_NAME). Default: `pod`. */
  id?: string;
  /** Address callers connect to (the pod IP). */
  host: string;
  /** Port callers connect to. */
  port: number;
  /** Gray-release track. Default "stable". */
  track?: Track;
  /** Traffic share of this instance's whole track, 0-100; 0 means never chosen. Default 100. */
  weight?: number;
  /** Pod name, for humans and logs. Default: `id`. */
  pod?: string;
}

/** One live instance as a watcher sees it. */
export interface Instance {
  /** Node name under `<root>/<service>`. */
  id: string;
  host: string;
  port: number;
  track: Track;
  /** Traffic share of the instance's track, 0-100. */
  weight: number;
  pod: string;
  /** ISO-8601 time the node was written; "" when the writer did not say. */
  registeredAt: string;
}

/** The JSON stored in each instance node (UTF-8). Unknown extra fields are ignored by readers. */
export interface InstanceNodeData {
  host: string;
  port: number;
  track: Track;
  weight: number;
  pod: string;
  registeredAt: string;
}

/** Bad configuration or input: the message names the offending key and what is allowed. */
export class DiscoveryConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DiscoveryConfigError";
  }
}

// DNS-1123 label: the service name is also the Kubernetes Service name used by the DNS fallback.
const SERVICE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Pod names are DNS-1123 subdomains; anything ZooKeeper-safe and slash-free is accepted as an id.
const INSTANCE_ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$/;
const HOST_PORT = /^[^\s:,/]+:\d{1,5}$/;

export function validateServiceName(service: unknown, key = "service"): string {
  if (typeof service !== "string" || !SERVICE_NAME.test(service)) {
    throw new DiscoveryConfigError(`${key} must be a DNS-1123 label (lower-case letters, digits, '-', at most 63 chars), got ${show(service)}`);
  }
  return service;
}

export function validateInstanceId(id: unknown, key = "id"): string {
  if (typeof id !== "string" || !INSTANCE_ID.test(id)) {
    throw new DiscoveryConfigError(`${key} must be 1-253 chars of letters, digits, '.', '_' or '-' (not starting with '.' or '-'), got ${show(id)}`);
  }
  return id;
}

/** Normalises a root path: absolute, no trailing slash, no empty or dot segments. */
export function validateRoot(root: unknown, key = "root"): string {
  if (typeof root !== "string" || !root.startsWith("/")) {
    throw new DiscoveryConfigError(`${key} must be an absolute ZooKeeper path such as ${DEFAULT_ROOT}, got ${show(root)}`);
  }
  const trimmed = root.replace(/\/+$/, "");
  const segments = trimmed.split("/").slice(1);
  if (trimmed === "" || segments.some((s) => s === "" || s === "." || s === ".." || s === "zookeeper")) {
    throw new DiscoveryConfigError(`${key} must be an absolute path of non-empty segments (not '.', '..' or 'zookeeper'), got ${show(root)}`);
  }
  return trimmed;
}

/** host:port[,host:port...] with an optional chroot suffix, as every ZooKeeper client accepts. */
export function validateConnectString(connect: unknown, key = "connect"): string {
  const allowed = "host:port[,host:port...] (optionally followed by a /chroot)";
  if (typeof connect !== "string" || connect.trim() === "") throw new DiscoveryConfigError(`${key} must be ${allowed}, got ${show(connect)}`);
  const slash = connect.indexOf("/");
  const hosts = slash === -1 ? connect : connect.slice(0, slash);
  for (const part of hosts.split(",")) {
    const port = Number(part.split(":")[1]);
    if (!HOST_PORT.test(part.trim()) || port < 1 || port > 65535) {
      throw new DiscoveryConfigError(`${key} must be ${allowed}; '${part}' is not host:port`);
    }
  }
  return connect.trim();
}

export function validatePort(port: unknown, key = "port"): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DiscoveryConfigError(`${key} must be an integer 1-65535, got ${show(port)}`);
  }
  return port;
}

export function validateTrack(track: unknown, key = "track"): Track {
  if (!TRACKS.includes(track as Track)) throw new DiscoveryConfigError(`${key} must be one of ${TRACKS.join(" | ")}, got ${show(track)}`);
  return track as Track;
}

export function validateWeight(weight: unknown, key = "weight"): number {
  if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0 || weight > 100) {
    throw new DiscoveryConfigError(`${key} must be a number 0-100, got ${show(weight)}`);
  }
  return weight;
}

/** Applies defaults and validates a registration; returns the node name and the node's JSON. */
export function normaliseRegistration(instance: InstanceRegistration, now: Date = new Date()): { id: string; data: InstanceNodeData } {
  if (instance === null || typeof instance !== "object") throw new DiscoveryConfigError(`instance must be an object with host and port, got ${show(instance)}`);
  const id = validateInstanceId(instance.id ?? instance.pod, instance.id === undefined ? "instance.pod (used as id)" : "instance.id");
  if (typeof instance.host !== "string" || instance.host.trim() === "" || /[\s/]/.test(instance.host)) {
    throw new DiscoveryConfigError(`instance.host must be a host name or IP address, got ${show(instance.host)}`);
  }
  return {
    id,
    data: {
      host: instance.host,
      port: validatePort(instance.port, "instance.port"),
      track: validateTrack(instance.track ?? "stable", "instance.track"),
      weight: validateWeight(instance.weight ?? 100, "instance.weight"),
      pod: instance.pod ?? id,
      registeredAt: now.toISOString(),
    },
  };
}

export function encodeNodeData(data: InstanceNodeData): Buffer {
  return Buffer.from(JSON.stringify(data), "utf8");
}

/**
 * Reads an instance node written by any language. Returns an error message instead of throwing:
 * one bad node must not hide the healthy ones, but the caller logs it (nothing dropped silently).
 */
export function decodeNodeData(id: string, raw: Buffer | undefined | null): Instance | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse((raw ?? Buffer.alloc(0)).toString("utf8"));
  } catch {
    return { error: `node ${id}: data is not JSON` };
  }
  // typeof [] is "object" too: without the array check an array reached the field checks and was
  // reported as a missing host, which hid what was really wrong.
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { error: `node ${id}: data must be a JSON object with host and port, got ${jsonKind(parsed)}` };
  }
  const d = parsed as Record<string, unknown>;
  try {
    if (typeof d.host !== "string" || d.host === "") throw new DiscoveryConfigError(`host must be a non-empty string, got ${show(d.host)}`);
    return {
      id,
      host: d.host,
      port: validatePort(d.port, "port"),
      track: validateTrack(d.track ?? "stable", "track"),
      weight: validateWeight(d.weight ?? 100, "weight"),
      pod: typeof d.pod === "string" ? d.pod : id,
      registeredAt: typeof d.registeredAt === "string" ? d.registeredAt : "",
    };
  } catch (err) {
    return { error: `node ${id}: ${(err as Error).message}` };
  }
}

function jsonKind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array (${truncate(show(value), 60)})`;
  return `a ${typeof value} (${truncate(show(value), 60)})`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return `'${value}'`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
