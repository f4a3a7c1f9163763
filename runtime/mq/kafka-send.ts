import type { Producer } from "@platformatic/kafka";
import { kafkaClient } from "./kafka-client";
import { Envelope, MESSAGE_ID_HEADER } from "./message";

export interface KafkaSenderOptions {
  /** Bootstrap brokers as `host:port`. Required. */
  bootstrap: string[];
  /** Kafka client id, shown in broker logs and quotas. Required. */
  clientId: string;
  /** Deadline for one `send`, after which it counts as failed and the client is replaced. Default 5000 ms. */
  sendTimeoutMs?: number;
  /** Request timeout inside the client (per produce request). Default 3000 ms. */
  requestTimeoutMs?: number;
}

/** A Kafka send that missed its deadline. The batch may or may not have reached Kafka. */
export class KafkaDeadlineError extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly messages: number,
  ) {
    super(`Kafka did not acknowledge ${messages} message(s) within ${timeoutMs} ms`);
  }
}

/**
 * An idempotent Kafka producer whose every send has its own deadline.
 *
 * Why: @platformatic/kafka raises `retries` to Number.MAX_SAFE_INTEGER for idempotent producers when
 * it is 0 or 1 (producer.js), so a send during an outage stays pending until the broker is back
 * (measured: 8 s and counting with `retries: 0`, see README). On a missed deadline or an error the
 * client is closed, which ends its retry loop, and a fresh one (with a fresh producer id) serves the
 * next send. A batch whose acknowledgement was lost may therefore reach Kafka twice; consumers drop
 * the copy by message id (dedupe.ts).
 */
export class KafkaSender {
  private current: Producer<Buffer, Buffer, string, string> | undefined;
  private closed = false;
  readonly sendTimeoutMs: number;

  constructor(private readonly options: KafkaSenderOptions) {
    if (options.bootstrap.length === 0) throw new Error("KafkaSender: bootstrap must list at least one host:port");
    this.sendTimeoutMs = options.sendTimeoutMs ?? 5_000;
  }

  /**
   * Resolves once Kafka acknowledged every message (acks=all); rejects on error or after `timeoutMs`
   * (default `sendTimeoutMs`). One call is one produce request per leader broker.
   */
  async send(envelopes: Envelope[], timeoutMs = this.sendTimeoutMs): Promise<void> {
    if (this.closed) throw new Error("KafkaSender is closed");
    if (envelopes.length === 0) return;
    const producer = (this.current ??= this.create());
    // Headers as a plain object: the client tests `headers instanceof Map`, which fails for a Map from
    // another realm (jest's sandbox) and then silently sends no headers at all.
    const messages = envelopes.map((e) => ({
      topic: e.topic,
      key: Buffer.from(e.key),
      value: e.value,
      headers: { ...e.headers, [MESSAGE_ID_HEADER]: e.id },
    }));
    const sending = producer.send({ messages });
    sending.catch(() => undefined); // after a deadline nobody awaits it; it rejects once the client closes
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KafkaDeadlineError(timeoutMs, envelopes.length)), timeoutMs);
    });
    try {
      await Promise.race([sending, deadline]);
    } catch (err) {
      this.discard(producer);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.current) await this.current.close(true).catch(() => undefined);
    this.current = undefined;
  }

  private create(): Producer<Buffer, Buffer, string, string> {
    const { Producer, stringSerializer } = kafkaClient();
    const producer = new Producer<Buffer, Buffer, string, string>({
      clientId: this.options.clientId,
      bootstrapBrokers: this.options.bootstrap,
      idempotent: true,
      // Values above 1 are kept as given (0 and 1 become "forever"); the deadline above is the real bound.
      retries: 3,
      retryDelay: 250,
      timeout: this.options.requestTimeoutMs ?? 3_000,
      connectTimeout: 2_000,
      autocreateTopics: false,
      serializers: { headerKey: stringSerializer, headerValue: stringSerializer },
    });
    // Connection errors also surface as send errors; an unhandled 'error' event would crash the process.
    producer.on("error", () => undefined);
    return producer;
  }

  private discard(producer: Producer<Buffer, Buffer, string, string>): void {
    if (this.current === producer) this.current = undefined;
    producer.close(true).catch(() => undefined);
  }
}
