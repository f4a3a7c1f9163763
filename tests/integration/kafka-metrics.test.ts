import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KAFKA_METRICS_PORT, kafkaJmxExporterConfig } from "../../components/data/kafka-metrics";
import { kafkaRules } from "../../components/monitoring/rules";
import { eventually, RULES_INPUT } from "../support/monitoring";
import { kafkaClient } from "../../runtime/mq/kafka-client";
import { jmxAgentJar } from "../harness/jmx-exporter";
import { KafkaBroker } from "../harness/kafka";
import { freePort } from "../harness/ports";
import { PrometheusServer } from "../harness/prometheus";

// The Kafka pods' metrics, end to end on real parts: a real broker (KRaft, broker and controller in one
// JVM, as in combined mode) loads the same JMX exporter agent jar the agent image holds with the
// exporter rules the platform renders; a real Prometheus scrapes it under the target labels the
// platform's scrape attaches, and evaluates the platform's Kafka alert expressions.

jest.setTimeout(180_000);

const DATA_NS = RULES_INPUT.namespaces.data;
const alerts = kafkaRules(RULES_INPUT);
/** Every Kafka metric the alerts read. */
const alertMetrics = [...new Set(alerts.flatMap((a) => a.expr.match(/\bkafka_[a-z0-9_]+/g) ?? []))];

let dir: string;
let broker: KafkaBroker | undefined;
let prometheus: PrometheusServer | undefined;
let metricsPort: number;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-metrics-"));
  const config = path.join(dir, "jmx-exporter.yaml");
  fs.writeFileSync(config, kafkaJmxExporterConfig());
  metricsPort = await freePort();
  // The platform's option with the test's port and paths: -javaagent:<jar>=<port>:<rules>.
  broker = await KafkaBroker.start({ jvmArgs: [`-javaagent:${jmxAgentJar()}=127.0.0.1:${metricsPort}:${config}`] });
  prometheus = await PrometheusServer.start([
    { address: `127.0.0.1:${metricsPort}`, labels: { namespace: DATA_NS, app_kubernetes_io_name: "kafka", pod: "kafka-0" } },
  ]);
});

afterAll(async () => {
  await prometheus?.destroy();
  await broker?.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

it("the platform's agent port is the one the pods declare, and the alerts read some Kafka metric", () => {
  expect(KAFKA_METRICS_PORT).toBe(5556);
  expect(alertMetrics.length).toBeGreaterThanOrEqual(3);
});

it("serves every metric the Kafka alerts read, under the alerts' own selectors, with a healthy broker's values", async () => {
  for (const metric of alertMetrics) {
    await eventually(
      () => prometheus!.seriesCount(`${metric}{namespace="${DATA_NS}",app_kubernetes_io_name="kafka"}`),
      (n) => n >= 1,
      metric,
    );
  }
  expect(await prometheus!.value(`sum(kafka_controller_kafkacontroller_activecontrollercount)`)).toBe(1);
  expect(await prometheus!.value(`sum(kafka_server_replicamanager_underreplicatedpartitions)`)).toBe(0);
  expect(await prometheus!.value(`max(kafka_controller_kafkacontroller_offlinepartitionscount)`)).toBe(0);
  // Healthy: no Kafka alert expression selects anything.
  for (const a of alerts) expect({ alert: a.alert, series: await prometheus!.seriesCount(a.expr) }).toEqual({ alert: a.alert, series: 0 });
});

it("counts produced messages across topics, and keeps per-topic and per-partition series out of the scrape", async () => {
  const before = (await prometheus!.value("sum(kafka_server_brokertopicmetrics_messagesin_total)")) ?? 0;
  const { Producer } = kafkaClient();
  const producer = new Producer({ clientId: "metrics-test", bootstrapBrokers: [broker!.bootstrap], autocreateTopics: true });
  try {
    for (const topic of ["metrics-a", "metrics-b"]) {
      await producer.send({ messages: Array.from({ length: 50 }, (_, i) => ({ topic, key: Buffer.from(String(i)), value: Buffer.from("x") })) });
    }
  } finally {
    await producer.close(true);
  }
  await eventually(
    () => prometheus!.value("sum(kafka_server_brokertopicmetrics_messagesin_total)"),
    (v) => (v ?? 0) - before >= 100,
    "messagesin counter rose by the 100 messages",
  );
  const scrape = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(scrape).not.toMatch(/^kafka_\w+\{[^}]*\b(topic|partition)="/m);
  // The whitelist keeps a scrape small: the JVM's own series plus a few dozen Kafka ones.
  const kafkaSeries = scrape.split("\n").filter((l) => l.startsWith("kafka_"));
  expect(kafkaSeries.length).toBeGreaterThan(10);
  expect(kafkaSeries.length).toBeLessThan(120);
});

it("a broker that is gone fires the no-active-controller alert expression", async () => {
  const noController = alerts.find((a) => a.alert === "KafkaNoActiveController")!;
  await broker!.kill();
  await eventually(
    () => prometheus!.seriesCount(noController.expr),
    (n) => n > 0,
    "KafkaNoActiveController expression after the broker died",
  );
});
