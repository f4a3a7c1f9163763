import { MESSAGE_ID_HEADER, parseMessageId } from "./message";

export interface DeduplicatorOptions {
  /** Most (topic, key) pairs remembered; the least recently seen are forgotten first. Default 100000. */
  maxKeys?: number;
}

/**
 * Drops the copies that at-least-once replay produces (a batch re-sent after a lost acknowledgement,
 * a replayer that stalled past its lease), so that the whole path is exactly-once in effect.
 *
 * Why per key and not a set of ids: message ids are `<producer instance>.<sequence>`, the sequence
 * grows per instance, and every first copy of a key's messages reaches Kafka in sequence order (one
 * batch in flight per shard, buffered batches replayed before any later one). So a message whose
 * sequence is not above the last one seen for its (topic, key, instance) is a copy. Memory is one
 * number per (topic, key, instance), bounded by `maxKeys` with least-recently-seen eviction.
 *
 * Limits: state lives in this process. After a consumer restart or a partition moving to another
 * consumer, a copy whose original was processed before the move gets through once. Copies are at most
 * one outage (plus one replay) apart in the log, so a consumer that commits offsets only after
 * processing and keeps `maxKeys` above the keys active during an outage misses none otherwise.
 */
export class Deduplicator {
  private readonly lastSeen = new Map<string, Map<string, number>>();
  private readonly maxKeys: number;
  /** withoutId: messages that carried no id of ours (passed through unchecked). */
  readonly stats = { accepted: 0, dropped: 0, evictedKeys: 0, withoutId: 0 };

  constructor(options: DeduplicatorOptions = {}) {
    this.maxKeys = options.maxKeys ?? 100_000;
    if (!Number.isInteger(this.maxKeys) || this.maxKeys < 1) throw new Error(`maxKeys must be a positive integer, got ${options.maxKeys}`);
  }

  /** True the first time a message is seen (process it); false for a copy (skip it). Messages without an id pass. */
  accept(topic: string, key: string, messageId: string | undefined): boolean {
    const parsed = messageId === undefined ? undefined : parseMessageId(messageId);
    if (!parsed) {
      this.stats.accepted++;
      this.stats.withoutId++;
      return true;
    }
    const stateKey = `${topic}\u0000${key}`;
    let perInstance = this.lastSeen.get(stateKey);
    if (perInstance) {
      this.lastSeen.delete(stateKey); // re-insert below: Map order is the LRU order
    } else {
      perInstance = new Map();
    }
    this.lastSeen.set(stateKey, perInstance);
    if (this.lastSeen.size > this.maxKeys) {
      this.lastSeen.delete(this.lastSeen.keys().next().value!);
      this.stats.evictedKeys++;
    }
    const last = perInstance.get(parsed.instance) ?? 0;
    if (parsed.seq <= last) {
      this.stats.dropped++;
      return false;
    }
    perInstance.set(parsed.instance, parsed.seq);
    this.stats.accepted++;
    return true;
  }

  /** `accept` for a message from an @platformatic/kafka consumer (Buffer key, headers as a Map). */
  acceptMessage(message: { topic: string; key: Buffer | string | undefined | null; headers: Map<Buffer | string, Buffer | string> }): boolean {
    let id: string | undefined;
    for (const [k, v] of message.headers) {
      if (k.toString() === MESSAGE_ID_HEADER) {
        id = v.toString();
        break;
      }
    }
    return this.accept(message.topic, message.key?.toString() ?? "", id);
  }
}
