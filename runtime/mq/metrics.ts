import { Counter, Gauge, Registry } from "prom-client";
import type { Replayer, ReplayerEvent } from "./replayer";

/** Backlog readings younger than this are reused: one Redis round trip serves both gauges of a scrape. */
const SAMPLE_REUSE_MS = 1_000;

/**
 * The replayer's metrics. Backlog and lag are read from Redis at scrape time for every shard, not only
 * the shards this replica holds: a shard nobody replays (every replica down or stuck) is exactly the
 * one whose backlog must show. Every replica therefore reports the same backlog; alerts take `max by (shard)`.
 */
export class ReplayerMetrics {
  private readonly replayed: Counter<"shard">;
  private readonly batches: Counter<"shard">;
  private readonly kafkaFailures: Counter<"shard">;
  private readonly leaseLosses: Counter<"shard" | "reason">;
  private sample: { at: number; readings: Promise<Awaited<ReturnType<Replayer["backlog"]>>> } | undefined;

  constructor(
    registry: Registry,
    private readonly replayer: () => Replayer | undefined,
  ) {
    const registers = [registry];
    const readings = () => this.readings();
    new Gauge({
      name: "classroom_mq_buffer_backlog_messages",
      help: "Messages buffered in Redis (Kafka was unavailable to the producer) and not yet replayed into Kafka, per shard.",
      labelNames: ["shard"],
      registers,
      async collect() {
        this.reset();
        for (const r of await readings()) this.set({ shard: String(r.shard) }, r.messages);
      },
    });
    new Gauge({
      name: "classroom_mq_replay_lag_seconds",
      help: "Age of the oldest buffered message not yet replayed into Kafka, per shard (0 when the shard is empty).",
      labelNames: ["shard"],
      registers,
      async collect() {
        this.reset();
        for (const r of await readings()) this.set({ shard: String(r.shard) }, r.oldestAgeMs / 1000);
      },
    });
    const held = () => this.replayer()?.heldShards.length ?? 0;
    new Gauge({
      name: "classroom_mq_replayer_held_shards",
      help: "Shards whose lease this replica holds (it replays them).",
      registers,
      collect() {
        this.set(held());
      },
    });
    this.replayed = new Counter({
      name: "classroom_mq_replayed_messages_total",
      help: "Messages replayed from Redis into Kafka (acknowledged by Kafka and trimmed from the buffer), per shard.",
      labelNames: ["shard"],
      registers,
    });
    this.batches = new Counter({
      name: "classroom_mq_replayed_batches_total",
      help: "Batches replayed into Kafka, per shard.",
      labelNames: ["shard"],
      registers,
    });
    this.kafkaFailures = new Counter({
      name: "classroom_mq_replay_kafka_failures_total",
      help: "Kafka sends of a replay batch that failed and will be retried, per shard.",
      labelNames: ["shard"],
      registers,
    });
    this.leaseLosses = new Counter({
      name: "classroom_mq_replayer_lease_losses_total",
      help: "Shard leases this replica lost other than by stopping, per shard and reason.",
      labelNames: ["shard", "reason"],
      registers,
    });
  }

  /** Feed the replayer's events (ReplayerOptions.onEvent) through this. */
  observe(event: ReplayerEvent): void {
    if (event.type === "replayed") {
      this.replayed.inc({ shard: String(event.shard) }, event.messages);
      this.batches.inc({ shard: String(event.shard) });
    } else if (event.type === "kafka-error") {
      this.kafkaFailures.inc({ shard: String(event.shard) });
    } else if (event.type === "lease-lost") {
      this.leaseLosses.inc({ shard: String(event.shard), reason: event.reason });
    }
  }

  private readings(): Promise<Awaited<ReturnType<Replayer["backlog"]>>> {
    const replayer = this.replayer();
    if (!replayer) return Promise.resolve([]);
    if (!this.sample || Date.now() - this.sample.at > SAMPLE_REUSE_MS) {
      this.sample = { at: Date.now(), readings: replayer.backlog() };
      // A failed reading must not be reused by the next scrape.
      this.sample.readings.catch(() => {
        this.sample = undefined;
      });
    }
    return this.sample.readings;
  }
}
