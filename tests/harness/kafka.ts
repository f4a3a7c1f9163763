import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { kafkaClient } from "../../runtime/mq/kafka-client";
import { freePort, waitForPort } from "./ports";
import { ManagedProcess } from "./process";

/** A message as the harness reader hands it over (@platformatic/kafka's shape, Buffers throughout). */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: bigint;
  key: Buffer;
  value: Buffer;
  headers: Map<Buffer, Buffer>;
}

/** The broker version the harness runs; must match tools/kafka/pom.xml (30-kafka.sh keys its cache by it). */
export const KAFKA_VERSION = "4.1.1";

const repoRoot = path.resolve(__dirname, "../..");

export interface KafkaBrokerOptions {
  /** Partitions of auto-created topics (`num.partitions`). Default 4. */
  partitions?: number;
  /** How long to wait for the broker to accept a produce request. Default 60 s (a loaded 2-core machine). */
  readyTimeoutMs?: number;
  /** Extra JVM options, e.g. a `-javaagent`, placed before the main class as KAFKA_OPTS would be. */
  jvmArgs?: string[];
}

/**
 * A real single-node Apache Kafka (KRaft, broker + controller in one JVM) on free loopback ports.
 * Storage is formatted once per Kafka version with static voters into a cached template and copied per
 * broker, which saves the ~3 s StorageTool JVM on every start. stop/kill/restart keep ports and data.
 */
export class KafkaBroker {
  private proc: ManagedProcess | undefined;

  private constructor(
    readonly port: number,
    readonly controllerPort: number,
    readonly dir: string,
    private readonly options: KafkaBrokerOptions,
  ) {}

  /** `host:port` for `bootstrapBrokers`. */
  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }
  get running(): boolean {
    return this.proc?.running ?? false;
  }

  static async start(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
    const jars = kafkaJars();
    const template = storageTemplate(jars);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-"));
    fs.cpSync(template, path.join(dir, "data"), { recursive: true });
    const broker = new KafkaBroker(await freePort(), await freePort(), dir, options);
    broker.writeConfig();
    await broker.launch();
    return broker;
  }

  private writeConfig(): void {
    const props = {
      "process.roles": "broker,controller",
      "node.id": "1",
      "controller.quorum.voters": `1@127.0.0.1:${this.controllerPort}`,
      listeners: `PLAINTEXT://127.0.0.1:${this.port},CONTROLLER://127.0.0.1:${this.controllerPort}`,
      "advertised.listeners": `PLAINTEXT://127.0.0.1:${this.port}`,
      "controller.listener.names": "CONTROLLER",
      "inter.broker.listener.name": "PLAINTEXT",
      "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      "log.dirs": path.join(this.dir, "data"),
      "num.partitions": String(this.options.partitions ?? 4),
      "offsets.topic.replication.factor": "1",
      "offsets.topic.num.partitions": "4",
      "transaction.state.log.replication.factor": "1",
      "transaction.state.log.min.isr": "1",
      "group.initial.rebalance.delay.ms": "0",
      // A restarted broker is fenced until its old registration expires: keep that short for restart tests.
      "broker.session.timeout.ms": "2500",
      "broker.heartbeat.interval.ms": "500",
    };
    fs.writeFileSync(
      path.join(this.dir, "server.properties"),
      Object.entries(props)
        .map(([k, v]) => `${k}=${v}`)
        .join("\n") + "\n",
    );
    fs.writeFileSync(path.join(this.dir, "log4j2.properties"), LOG4J2);
  }

  private async launch(): Promise<void> {
    const jars = kafkaJars();
    this.proc = ManagedProcess.start("kafka", "java", [
      "-Xmx512m",
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      `-Dlog4j2.configurationFile=${path.join(this.dir, "log4j2.properties")}`,
      ...(this.options.jvmArgs ?? []),
      "-cp",
      `${jars}/*`,
      "kafka.Kafka",
      path.join(this.dir, "server.properties"),
    ]);
    try {
      await waitForPort(this.port, this.options.readyTimeoutMs ?? 60_000);
      await this.waitUntilProducible();
    } catch (err) {
      const log = this.proc.log;
      await this.proc.kill();
      throw new Error(`Kafka did not become ready on ${this.bootstrap}: ${(err as Error).message}\n${log}`, { cause: err });
    }
  }

  /** An open port is not enough: the controller must have elected itself and unfenced the broker. */
  private async waitUntilProducible(): Promise<void> {
    const { Producer } = kafkaClient();
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 60_000);
    const producer = new Producer({
      clientId: "harness-ready",
      bootstrapBrokers: [this.bootstrap],
      autocreateTopics: true,
      retries: 2,
      retryDelay: 200,
      timeout: 5_000,
    });
    try {
      for (;;) {
        try {
          await producer.send({ messages: [{ topic: "__harness_ready", value: Buffer.from("ok") }] });
          return;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          producer.clearMetadata();
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    } finally {
      await producer.close(true).catch(() => undefined);
    }
  }

  /** Creates a topic and waits until it accepts writes. */
  async createTopic(topic: string, partitions: number): Promise<void> {
    const { Admin } = kafkaClient();
    const admin = new Admin({ clientId: "harness-admin", bootstrapBrokers: [this.bootstrap] });
    try {
      await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
    } finally {
      await admin.close();
    }
  }

  /**
   * Reads `topic` from the beginning with a fresh consumer group, handing each message to `onMessage`,
   * until `done()` says so (checked after every message) or `timeoutMs` passes (then it rejects).
   */
  async readTopic(topic: string, onMessage: (m: ConsumedMessage) => void, done: () => boolean, timeoutMs = 60_000): Promise<void> {
    const { Consumer } = kafkaClient();
    const consumer = new Consumer({ clientId: "harness-reader", groupId: `harness-${process.pid}-${Date.now()}`, bootstrapBrokers: [this.bootstrap] });
    const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    let timer: NodeJS.Timeout | undefined;
    try {
      if (done()) return;
      await Promise.race([
        (async () => {
          for await (const m of stream) {
            onMessage(m as ConsumedMessage);
            if (done()) return;
          }
          throw new Error(`readTopic(${topic}): the consumer stream ended before the reader was done`);
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`readTopic(${topic}): not done after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      await stream.close().catch(() => undefined);
      await consumer.close(true).catch(() => undefined);
    }
  }

  /** Graceful shutdown (controlled shutdown, flushes logs). */
  async stop(): Promise<void> {
    await this.proc?.stop(15_000);
  }
  /** SIGKILL: a crashed broker. */
  async kill(): Promise<void> {
    await this.proc?.kill();
  }
  /** Starts again on the same ports and data dir; resolves once it accepts produce requests. */
  async restart(): Promise<void> {
    await this.proc?.stop(15_000);
    await this.launch();
  }
  /** Stops the broker and removes its data dir. */
  async destroy(): Promise<void> {
    await this.proc?.stop(15_000);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const LOG4J2 = [
  "status = warn",
  "appender.out.type = Console",
  "appender.out.name = out",
  "appender.out.layout.type = PatternLayout",
  "appender.out.layout.pattern = [%d] %p %m (%c)%n",
  "rootLogger.level = warn",
  "rootLogger.appenderRef.out.ref = out",
  "logger.server.name = kafka.server.KafkaRaftServer",
  "logger.server.level = info",
  "",
].join("\n");

function cacheRoot(): string {
  return process.env.CLASSROOM_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "classroom-platform");
}

/** The broker jars, fetched by tools/provision/30-kafka.sh (idempotent: a second run returns at once). */
export function kafkaJars(): string {
  const jars = path.join(cacheRoot(), "kafka", KAFKA_VERSION, "jars");
  if (!fs.existsSync(path.join(cacheRoot(), "kafka", KAFKA_VERSION, ".complete"))) {
    execFileSync("bash", [path.join(repoRoot, "tools/provision/30-kafka.sh")], { stdio: ["ignore", "ignore", "inherit"] });
  }
  return jars;
}

/**
 * Formatted KRaft storage shared by every test broker. With static voters (`controller.quorum.voters`)
 * the voter addresses live in the config, not in the storage, so one template serves any ports.
 */
function storageTemplate(jars: string): string {
  const base = path.join(cacheRoot(), "kafka", KAFKA_VERSION);
  const template = path.join(base, "storage-template");
  if (fs.existsSync(path.join(template, "meta.properties"))) return template;
  const work = fs.mkdtempSync(path.join(base, "format-"));
  const config = path.join(work, "server.properties");
  fs.writeFileSync(
    config,
    [
      "process.roles=broker,controller",
      "node.id=1",
      "controller.quorum.voters=1@127.0.0.1:9093",
      "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
      "controller.listener.names=CONTROLLER",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      `log.dirs=${path.join(work, "data")}`,
      "",
    ].join("\n"),
  );
  const java = (mainClass: string, args: string[]) =>
    execFileSync("java", ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", `${jars}/*`, mainClass, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  const clusterId = java("kafka.tools.StorageTool", ["random-uuid"]).trim().split("\n").pop()!;
  java("kafka.tools.StorageTool", ["format", "-t", clusterId, "-c", config]);
  // Rename into place last, so a concurrent or interrupted format never leaves a half-written template.
  try {
    fs.renameSync(path.join(work, "data"), template);
  } catch (err) {
    if (!fs.existsSync(path.join(template, "meta.properties"))) throw err;
  }
  fs.rmSync(work, { recursive: true, force: true });
  return template;
}
