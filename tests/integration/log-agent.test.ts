import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { KafkaBroker } from "../harness/kafka";
import { stringify } from "yaml";
import { freePort, waitForPort } from "../harness/ports";
import { ManagedProcess } from "../harness/process";
import { Collector, collectorOrSkip, decodeOtlpJson, ShippedRecord } from "../harness/otelcol";
import { runtimeRules } from "../../components/monitoring/rules";
import { RULES_INPUT } from "../support/monitoring";

jest.setTimeout(300_000);

/**
 * One pod's log file, written the way the platform's logger writes it (runtime/log): JSON lines appended
 * with O_APPEND to `<logRoot>/<service>/<pod>_<uid>.log`.
 */
class PodLog {
  readonly uid = randomUUID();
  private fd: number;
  seq = 0;

  constructor(
    readonly root: string,
    readonly service: string,
    readonly pod: string,
  ) {
    fs.mkdirSync(path.join(root, service), { recursive: true });
    this.fd = fs.openSync(this.file, "a");
  }

  get file(): string {
    return path.join(this.root, this.service, `${this.pod}_${this.uid}.log`);
  }

  /** Appends `n` lines; returns their keys. */
  write(n: number): string[] {
    const keys: string[] = [];
    let text = "";
    for (let i = 0; i < n; i++) {
      const seq = ++this.seq;
      keys.push(`${this.pod}#${seq}`);
      text += JSON.stringify({ time: new Date().toISOString(), level: "info", component: this.service, event: "line", pod: this.pod, seq }) + "\n";
    }
    fs.writeSync(this.fd, text);
    return keys;
  }

  /** A container restart in the same pod: the new process opens the same file with O_APPEND. */
  restartContainer(): void {
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, "a");
  }

  /** Rotation by rename: the old file becomes `.log.1`, the process reopens a fresh `.log`. */
  rotate(): void {
    fs.closeSync(this.fd);
    fs.renameSync(this.file, `${this.file}.1`);
    this.fd = fs.openSync(this.file, "a");
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** The key (`pod#seq`) of a shipped line, or undefined for a record that is not one of PodLog's lines. */
function keyOf(r: ShippedRecord): string | undefined {
  try {
    const line = JSON.parse(r.body) as { pod?: string; seq?: number };
    return line.pod && line.seq ? `${line.pod}#${line.seq}` : undefined;
  } catch {
    return undefined;
  }
}

const found = collectorOrSkip();
const describeWithCollector = "skip" in found ? describe.skip : describe;
if ("skip" in found) console.warn(`log agent integration tests skipped: ${found.skip}`);

describeWithCollector("log agent: the real collector with the platform's config ships hostPath log files into Kafka", () => {
  const binary = "binary" in found ? found.binary : "";
  let kafka: KafkaBroker;
  let root: string;
  let collector: Collector | undefined;
  let topicCount = 0;

  beforeAll(async () => {
    kafka = await KafkaBroker.start();
  }, 120_000);

  afterAll(async () => {
    await kafka?.destroy();
  }, 60_000);

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "logroot-"));
  });

  afterEach(async () => {
    await collector?.destroy();
    collector = undefined;
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function freshTopic(): Promise<string> {
    const topic = `classroom.logs.t${++topicCount}`;
    await kafka.createTopic(topic, 4);
    return topic;
  }

  /** Reads the topic until every expected key has arrived; returns all records (duplicates included). */
  async function readUntil(
    topic: string,
    expected: Set<string>,
    extra: (records: ShippedRecord[]) => boolean = () => true,
    timeoutMs = 180_000,
  ): Promise<ShippedRecord[]> {
    const records: ShippedRecord[] = [];
    const missing = new Set(expected);
    try {
      await kafka.readTopic(
        topic,
        (m) => {
          for (const r of decodeOtlpJson(m)) {
            records.push(r);
            const k = keyOf(r);
            if (k) missing.delete(k);
          }
        },
        () => missing.size === 0 && extra(records),
        timeoutMs,
      );
    } catch (err) {
      throw new Error(
        `${(err as Error).message}: ${missing.size} of ${expected.size} lines missing (e.g. ${[...missing].slice(0, 5).join(", ")}); collector log:\n${collector?.log.slice(-3000)}`,
        { cause: err },
      );
    }
    return records;
  }

  it("ships every line of several pods with its service, pod and pod UID, across a container restart, a rotation and a multi-line record", async () => {
    const topic = await freshTopic();
    const api1 = new PodLog(root, "room-api", "room-api-7d9f-abcde");
    const api2 = new PodLog(root, "room-api", "room-api-7d9f-fghij");
    const grader = new PodLog(root, "grader", "grader-0");
    const expected = new Set<string>();
    const add = (keys: string[]) => keys.forEach((k) => expected.add(k));

    // Written before the agent starts: start_at beginning reads them.
    add(api1.write(500));
    add(grader.write(300));
    collector = await Collector.create(binary, root, { kind: "kafka", brokers: [kafka.bootstrap], topic });
    await collector.start();

    add(api2.write(400));
    api1.restartContainer();
    add(api1.write(200));
    add(grader.write(100));
    await new Promise((r) => setTimeout(r, 700));
    grader.rotate();
    add(grader.write(250));
    // Eight records of 200 kB (dumped payloads) in a row: 1.6 MB for one pod, more than one Kafka message
    // may hold (1 MB by default), so the export must be split; they and their neighbours all arrive.
    add(grader.write(10));
    for (let i = 0; i < 8; i++) {
      fs.appendFileSync(grader.file, JSON.stringify({ pod: grader.pod, seq: ++grader.seq, payload: "x".repeat(200_000) }) + "\n");
      expected.add(`${grader.pod}#${grader.seq}`);
    }
    add(grader.write(10));
    // A stack trace: one record of four lines, then an ordinary line that starts the next record.
    fs.appendFileSync(api2.file, "Error: boom\n    at handler (/app/server.js:10:5)\n    at process (/app/server.js:20:3)\n    at run (/app/server.js:30:1)\n");
    add(api2.write(1));
    [api1, api2, grader].forEach((p) => p.close());

    const stack = (rs: ShippedRecord[]) => rs.some((r) => r.body.startsWith("Error: boom"));
    const records = await readUntil(topic, expected, stack);

    const pods = new Map([api1, api2, grader].map((p) => [p.pod, p]));
    for (const r of records) {
      const p = pods.get(r.pod ?? "");
      expect(p).toBeDefined();
      expect({ service: r.service, uid: r.uid }).toEqual({ service: p!.service, uid: p!.uid });
    }
    const keys = records.map(keyOf).filter((k): k is string => k !== undefined);
    // No crash here, so no line may arrive twice (the rotated file is recognised, not re-read).
    expect(keys.length - new Set(keys).size).toBe(0);
    expect(new Set(keys)).toEqual(expected);
    const trace = records.filter((r) => r.body.startsWith("Error: boom"));
    expect(trace).toHaveLength(1);
    expect(trace[0].body.split("\n")).toHaveLength(4);
    expect(trace[0]).toMatchObject({ service: "room-api", pod: api2.pod, uid: api2.uid });
    expect(records.filter((r) => r.body.trimStart().startsWith("at "))).toHaveLength(0);
  });

  it("serves on its metrics port every otelcol metric the lagging alert reads", async () => {
    const lagging = runtimeRules(RULES_INPUT).find((a) => a.alert === "ClassroomLogAgentLagging");
    expect(lagging).toBeDefined();
    const names = [...new Set(lagging!.expr.match(/\botelcol_[a-z0-9_]+/g) ?? [])];
    expect(names.length).toBeGreaterThanOrEqual(4);
    const topic = await freshTopic();
    const pod = new PodLog(root, "room-api", "room-api-metrics-0");
    const expected = new Set(pod.write(50));
    pod.close();
    collector = await Collector.create(binary, root, { kind: "kafka", brokers: [kafka.bootstrap], topic });
    await collector.start();
    await readUntil(topic, expected);
    const scrape = await (await fetch(`http://127.0.0.1:${collector.input.metricsPort}/metrics`)).text();
    const served = new Set(scrape.split("\n").map((l) => /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(l)?.[1]));
    // A counter is served once something was counted: send_failed only after a send failed for good (the
    // exporter retries forever, so not here). That one must at least be an instrument of this collector,
    // under the same name, as its sibling sent_log_records is served under its instrument name.
    const afterFailureOnly = ["otelcol_exporter_send_failed_log_records"];
    expect(names.filter((n) => !served.has(n) && !afterFailureOnly.includes(n))).toEqual([]);
    expect(served.has("otelcol_exporter_sent_log_records")).toBe(true);
    const instruments = fs.readFileSync(binary).toString("latin1");
    for (const n of afterFailureOnly) expect({ n, known: instruments.includes(n) }).toEqual({ n, known: true });
  });

  it("SIGKILLed mid-stream and restarted, loses no line and sends again only what one poll read before the kill", async () => {
    const topic = await freshTopic();
    const pods = [0, 1, 2, 3].map((i) => new PodLog(root, i % 2 ? "room-api" : "grader", `pod-${i}`));
    const expected = new Set<string>();
    const writeRound = (n: number) => pods.forEach((p) => p.write(n).forEach((k) => expected.add(k)));
    collector = await Collector.create(binary, root, { kind: "kafka", brokers: [kafka.bootstrap], topic });
    await collector.start();

    // A first part shipped and checkpointed (the receiver checkpoints after each 200 ms poll)...
    for (let round = 0; round < 10; round++) writeRound(500);
    await readUntil(topic, new Set(expected));
    await new Promise((r) => setTimeout(r, 1_000));
    // ...then lines keep coming while the agent is killed: 30 more rounds of 4 x 500 lines, 25 ms apart.
    let killedAt = -1;
    for (let round = 10; round < 40; round++) {
      writeRound(500);
      if (round === 15) {
        await collector.kill();
        killedAt = expected.size;
      }
      if (round === 25) await collector.start();
      await new Promise((r) => setTimeout(r, 25));
    }
    pods.forEach((p) => p.close());
    expect(killedAt).toBeGreaterThan(0);

    const records = await readUntil(topic, expected);
    const keys = records.map(keyOf).filter((k): k is string => k !== undefined);
    const shipped = new Set(keys);
    expect([...expected].filter((k) => !shipped.has(k))).toEqual([]);

    // Duplicates: what the killed agent had shipped after its last checkpoint, read again once. The
    // checkpoint is written after each poll, so per file that is one contiguous run (what one poll read)
    // of lines written before the kill, never a line written after it.
    const seen = new Set<string>();
    const repeated = new Map<string, number[]>();
    for (const k of keys) {
      if (seen.has(k)) {
        const [pod, seq] = k.split("#");
        repeated.set(pod, [...(repeated.get(pod) ?? []), Number(seq)]);
      }
      seen.add(k);
    }
    const duplicates = keys.length - shipped.size;
    const perFile = [...repeated].map(([pod, seqs]) => ({ pod, count: seqs.length, from: Math.min(...seqs), to: Math.max(...seqs) }));
    console.log(JSON.stringify({ lines: expected.size, writtenBeforeKill: killedAt, shipped: keys.length, duplicates, perFile }));
    for (const f of perFile) {
      // Resumed from its checkpoint, not from the beginning of the file.
      expect(f.from).toBeGreaterThan(5_000);
      expect(f.to - f.from + 1).toBe(f.count);
      expect(f.to).toBeLessThanOrEqual(killedAt / pods.length);
    }
    expect(duplicates).toBeLessThan(killedAt);
  });

  /**
   * Multi-line records have one limit here: the record at the very end of a file may still receive
   * continuation lines, so the receiver holds it until force_flush_period passes on a later read of the
   * file. A file deleted before that is read to its end once (through the open handle) without that
   * flush, so its last record is not shipped. Every complete record (each followed by the start of the
   * next one) is, and that is what this test holds the agent to.
   */
  it("a file deleted while the agent reads it loses none of its complete records", async () => {
    const topic = await freshTopic();
    const pod = new PodLog(root, "room-api", "room-api-doomed");
    const written = pod.write(60_000);
    pod.close();
    const complete = new Set(written.slice(0, -1));
    collector = await Collector.create(binary, root, { kind: "kafka", brokers: [kafka.bootstrap], topic });
    await collector.start();

    // Delete it once its first lines are in Kafka, i.e. while the agent holds it open and reads it.
    const early = await readUntil(topic, new Set([`${pod.pod}#1`]));
    const shippedBeforeDelete = new Set(early.map(keyOf)).size;
    fs.unlinkSync(pod.file);
    const records = await readUntil(topic, complete);
    const keys = new Set(records.map(keyOf));
    console.log(JSON.stringify({ written: written.length, shippedBeforeDelete, shipped: keys.size, lastRecordShipped: keys.has(written[written.length - 1]) }));
    expect(shippedBeforeDelete).toBeLessThan(written.length);
    expect([...complete].filter((k) => !keys.has(k))).toEqual([]);
  });

  it("ships to an OTLP endpoint when that is the destination (a second collector receives OTLP and writes Kafka)", async () => {
    const topic = await freshTopic();
    // The endpoint: an OTLP/gRPC receiver forwarding to Kafka, so the lines can be read back as above.
    const otlpPort = await freePort();
    const gatewayDir = fs.mkdtempSync(path.join(os.tmpdir(), "otlp-gateway-"));
    fs.writeFileSync(
      path.join(gatewayDir, "config.yaml"),
      stringify({
        receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${otlpPort}` } } } },
        exporters: { kafka: { brokers: [kafka.bootstrap], logs: { topic, encoding: "otlp_json" } } },
        service: { pipelines: { logs: { receivers: ["otlp"], exporters: ["kafka"] } }, telemetry: { metrics: { level: "none" } } },
      }),
    );
    const gateway = ManagedProcess.start("otlp-gateway", binary, [`--config=file:${path.join(gatewayDir, "config.yaml")}`]);
    try {
      await waitForPort(otlpPort, 60_000).catch((err) => {
        throw new Error(`gateway did not start: ${gateway.log}`, { cause: err });
      });
      const pod = new PodLog(root, "course-api", "course-api-5c8d-xk2lp");
      const expected = new Set(pod.write(2_000));
      pod.close();
      collector = await Collector.create(binary, root, { kind: "otlp", endpoint: `127.0.0.1:${otlpPort}`, insecure: true });
      await collector.start();
      const records = await readUntil(topic, expected);
      expect(new Set(records.map(keyOf))).toEqual(expected);
      for (const r of records) expect({ service: r.service, pod: r.pod, uid: r.uid }).toEqual({ service: "course-api", pod: pod.pod, uid: pod.uid });
    } finally {
      await gateway.stop(15_000);
      fs.rmSync(gatewayDir, { recursive: true, force: true });
    }
  });
});
