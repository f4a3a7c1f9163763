import { KafkaDeadlineError, KafkaSender } from "./kafka-send";
import { Envelope } from "./message";

interface Submission {
  envelopes: Envelope[];
  deadlineAt: number;
  timer?: NodeJS.Timeout;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Coalesces the live batches of every shard into one produce request at a time.
 *
 * Why: @platformatic/kafka's idempotent producer keeps one request in flight (`maxInflights = 1`), so
 * one request per shard would run one after another and a send spanning 16 shards would cost 16 round
 * trips. Here every batch handed over while a request is in flight (or in the same turn of the event
 * loop) travels in the next request. Per-shard order is the producer's business: it hands over at most
 * one batch per shard at a time, so batches of one shard are never in the same or overtaking requests.
 */
export class KafkaBatcher {
  private waiting: Submission[] = [];
  private busy = false;
  private scheduled = false;
  /** Produce requests issued and messages they carried, since start. */
  readonly stats = { requests: 0, messages: 0 };

  constructor(
    private readonly sender: KafkaSender,
    private readonly maxMessages: number,
  ) {}

  /**
   * Resolves once Kafka acknowledged `envelopes`. Rejects when the request carrying them failed, when
   * `deadlineAt` (epoch ms) passed first, or when an earlier request failed while they waited: Kafka is
   * failing then, and waiting for a deadline of their own would only delay the fallback to Redis.
   */
  send(envelopes: Envelope[], deadlineAt: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const submission: Submission = { envelopes, deadlineAt, resolve, reject };
      // Waiting behind a slow request counts against the deadline too.
      submission.timer = setTimeout(
        () => {
          const at = this.waiting.indexOf(submission);
          if (at < 0) return;
          this.waiting.splice(at, 1);
          reject(new KafkaDeadlineError(0, envelopes.length));
        },
        Math.max(0, deadlineAt - Date.now()),
      );
      this.waiting.push(submission);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.busy || this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    // setImmediate, not a microtask: shards whose previous batch just completed hand over their next
    // batch in promise continuations, and those should make this request rather than the one after.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.busy || this.waiting.length === 0) return;
    const taken = this.take();
    if (taken.length === 0) return this.schedule();
    const envelopes = taken.flatMap((s) => s.envelopes);
    const timeoutMs = Math.min(...taken.map((s) => s.deadlineAt)) - Date.now();
    this.busy = true;
    this.stats.requests++;
    this.stats.messages += envelopes.length;
    try {
      await this.sender.send(envelopes, timeoutMs);
      for (const s of taken) s.resolve();
    } catch (err) {
      for (const s of taken) s.reject(err);
      const queued = this.waiting;
      this.waiting = [];
      for (const s of queued) {
        clearTimeout(s.timer);
        s.reject(err);
      }
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  /** Up to `maxMessages` (at least one submission), oldest first; rejects those already past their deadline. */
  private take(): Submission[] {
    const now = Date.now();
    const taken: Submission[] = [];
    let count = 0;
    while (this.waiting.length > 0) {
      const next = this.waiting[0];
      if (next.deadlineAt <= now) {
        this.waiting.shift();
        clearTimeout(next.timer);
        next.reject(new KafkaDeadlineError(0, next.envelopes.length));
        continue;
      }
      if (taken.length > 0 && count + next.envelopes.length > this.maxMessages) break;
      this.waiting.shift();
      clearTimeout(next.timer);
      taken.push(next);
      count += next.envelopes.length;
    }
    return taken;
  }
}
