import { randomBytes } from "node:crypto";

/** One message handed to `send`. Keys are required: order and dedupe are both per key. */
export interface MqMessage {
  /** Partition key; all messages with one key keep their order. */
  key: string;
  /** Payload; strings are stored as UTF-8. */
  value: string | Buffer;
  /** Optional Kafka headers. The header `mq-id` is reserved for the message id. */
  headers?: Record<string, string>;
}

/** A message with its topic and the id the consumer dedupes by; what the Redis buffer stores. */
export interface Envelope {
  id: string;
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/** Kafka header carrying the message id. */
export const MESSAGE_ID_HEADER = "mq-id";

/**
 * Message ids are `<producer instance>.<sequence>`: the sequence grows by one per message within a
 * producer instance, which lets the consumer dedupe with one number per (key, instance) instead of a
 * set of every id it has seen.
 */
export class MessageIds {
  private seq = 0;
  /** Random per process start, so two producers (or one restarted) never share a sequence space. */
  readonly instance: string;

  constructor(instance: string = randomBytes(9).toString("base64url")) {
    if (!/^[A-Za-z0-9_-]+$/.test(instance)) throw new Error(`producer instance id must match [A-Za-z0-9_-]+, got '${instance}'`);
    this.instance = instance;
  }

  next(): string {
    return `${this.instance}.${++this.seq}`;
  }
}

/** Splits a message id into its producer instance and sequence; undefined when it is not one of ours. */
export function parseMessageId(id: string): { instance: string; seq: number } | undefined {
  const dot = id.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const seq = Number(id.slice(dot + 1));
  if (!Number.isSafeInteger(seq) || seq <= 0) return undefined;
  return { instance: id.slice(0, dot), seq };
}

/** FNV-1a over the key's UTF-8 bytes: stable across processes and versions, which `shards` relies on. */
export function shardOf(key: string, shards: number): number {
  let hash = 0x811c9dc5;
  const bytes = Buffer.from(key, "utf8");
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i];
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

export function toEnvelope(topic: string, message: MqMessage, id: string): Envelope {
  if (typeof message.key !== "string") throw new TypeError(`message key must be a string (order and dedupe are per key), got ${typeof message.key}`);
  if (message.headers && MESSAGE_ID_HEADER in message.headers) throw new TypeError(`header '${MESSAGE_ID_HEADER}' is reserved for the message id`);
  return {
    id,
    topic,
    key: message.key,
    value: typeof message.value === "string" ? Buffer.from(message.value, "utf8") : message.value,
    headers: message.headers ?? {},
  };
}
