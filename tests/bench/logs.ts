/**
 * `npm run bench:logs`: the node log agent (the built otelcol running the config the platform renders)
 * against a real Kafka 4.1.1 broker, beside the raw Kafka client on the same broker; prints one JSON object.
 *   agentLinesPerSec   lines written to FILES pod log files before the agent starts, divided by the time from
 *                      starting the collector (startup included) until the last line is readable in Kafka
 *   agentSteadyPerSec  the same lines over the time from the first to the last line readable in Kafka
 *   rawLinesPerSec     the same lines produced by a plain @platformatic/kafka idempotent producer (acks from
 *                      all replicas, like the agent's required_acks -1): one message per line, BATCH lines
 *                      per send, IN_FLIGHT sends outstanding
 *   ratio              agentLinesPerSec / rawLinesPerSec; the target is >= 0.5
 * Medians of ROUNDS alternating rounds, so load swings on the shared machine hit both alike.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { KafkaBroker } from "../harness/kafka";
import { Collector, collectorOrSkip, decodeOtlpJson } from "../harness/otelcol";
import { kafkaClient } from "../../runtime/mq/kafka-client";

const LINES = 100_000;
const FILES = 4;
const ROUNDS = 3;
const BATCH = 100;
const IN_FLIGHT = 8;
const TARGET = 0.5;

function line(pod: string, seq: number): string {
  return JSON.stringify({
    time: new Date().toISOString(),
    level: "info",
    component: "room-api",
    event: "request.done",
    pod,
    seq,
    path: "/api/rooms/42",
    status: 200,
    ms: 12.5,
  });
}

async function agentRound(kafka: KafkaBroker, binary: string, round: number): Promise<{ total: number; steady: number }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "bench-logroot-"));
  const topic = `bench.logs.agent${round}`;
  await kafka.createTopic(topic, 4);
  for (let f = 0; f < FILES; f++) {
    const pod = `room-api-${f}`;
    fs.mkdirSync(path.join(root, "room-api"), { recursive: true });
    const lines: string[] = [];
    for (let i = 1; i <= LINES / FILES; i++) lines.push(line(pod, i));
    fs.writeFileSync(path.join(root, "room-api", `${pod}_${randomUUID()}.log`), lines.join("\n") + "\n");
  }
  const collector = await Collector.create(binary, root, { kind: "kafka", brokers: [kafka.bootstrap], topic });
  let count = 0;
  let first = 0n;
  let last = 0n;
  const started = process.hrtime.bigint();
  const reading = kafka.readTopic(
    topic,
    (m) => {
      const now = process.hrtime.bigint();
      if (count === 0) first = now;
      // The last line of each file waits for a possible continuation (multi-line records); count the rest.
      count += decodeOtlpJson(m).length;
      last = now;
    },
    () => count >= LINES - FILES,
    300_000,
  );
  try {
    await collector.start();
    await reading;
  } finally {
    await collector.destroy();
    fs.rmSync(root, { recursive: true, force: true });
  }
  return { total: perSec(count, started, last), steady: perSec(count, first, last) };
}

async function rawRound(kafka: KafkaBroker, round: number): Promise<number> {
  const { Producer } = kafkaClient();
  const topic = `bench.logs.raw${round}`;
  await kafka.createTopic(topic, 4);
  const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
    clientId: "bench-raw",
    bootstrapBrokers: [kafka.bootstrap],
    idempotent: true,
    autocreateTopics: false,
  });
  try {
    await producer.send({ messages: [{ topic, key: Buffer.from("warm-up"), value: Buffer.from(line("warm-up", 0)) }] });
    const started = process.hrtime.bigint();
    const inFlight = new Set<Promise<unknown>>();
    for (let start = 0; start < LINES; start += BATCH) {
      const messages = Array.from({ length: BATCH }, (_, i) => {
        const pod = `room-api-${(start + i) % FILES}`;
        return { topic, key: Buffer.from(pod), value: Buffer.from(line(pod, start + i)) };
      });
      const call = producer.send({ messages });
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    return perSec(LINES, started, process.hrtime.bigint());
  } finally {
    await producer.close();
  }
}

function perSec(count: number, from: bigint, to: bigint): number {
  return Math.round(count / (Number(to - from) / 1e9));
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

async function main(): Promise<void> {
  const found = collectorOrSkip();
  if ("skip" in found) {
    console.error(`bench:logs: ${found.skip}`);
    process.exit(2);
  }
  const kafka = await KafkaBroker.start();
  try {
    const agent: Array<{ total: number; steady: number }> = [];
    const raw: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      raw.push(await rawRound(kafka, round));
      agent.push(await agentRound(kafka, found.binary, round));
    }
    const agentLinesPerSec = median(agent.map((a) => a.total));
    const rawLinesPerSec = median(raw);
    const ratio = Number((agentLinesPerSec / rawLinesPerSec).toFixed(2));
    console.log(
      JSON.stringify({
        lines: LINES,
        files: FILES,
        rounds: ROUNDS,
        agentLinesPerSec,
        agentSteadyPerSec: median(agent.map((a) => a.steady)),
        rawLinesPerSec,
        ratio,
        target: TARGET,
        meetsTarget: ratio >= TARGET,
        samples: { agent, raw },
        loadAverage: os.loadavg().map((l) => Number(l.toFixed(1))),
        cpus: os.cpus().length,
      }),
    );
  } finally {
    await kafka.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(3);
  },
);
