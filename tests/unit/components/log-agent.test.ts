import { parse } from "yaml";
import { COLLECTOR_FLAGS, LOG_FILE_REGEX, logAgentConfig, LOGS_TOPIC } from "../../../components/logs/agent-config";
import { checkpointDir, logAgentSpecs } from "../../../components/logs/log-agent";
import { findObject, renderStack, selects } from "../../support/render";

const kafkaDestination = { kind: "kafka" as const, brokers: ["kafka.classroom-dev-data.svc.cluster.local:9092"], topic: LOGS_TOPIC };
const input = {
  logRoot: "/data/logs/classroom/dev/",
  checkpointDir: "/var/lib/classroom-platform/log-agent/classroom-dev-apps",
  destination: kafkaDestination,
  metricsPort: 8888,
};

/** RE2's `(?P<name>…)` in JavaScript's spelling, to check the file-name pattern against real names here. */
const fileName = new RegExp(LOG_FILE_REGEX.replace(/\(\?P</g, "(?<"));

describe("log agent collector config (pure)", () => {
  const config = logAgentConfig(input) as any;

  it("tails <logRoot>/*/*.log and rotated copies from the beginning, checkpointing in file_storage", () => {
    const r = config.receivers.filelog;
    expect(r.include).toEqual(["/data/logs/classroom/dev/*/*.log", "/data/logs/classroom/dev/*/*.log.*"]);
    expect(r.exclude).toEqual(["/data/logs/classroom/dev/*/*.gz"]);
    expect(r.start_at).toBe("beginning");
    expect(r.storage).toBe("file_storage/checkpoints");
    expect(config.extensions["file_storage/checkpoints"].directory).toBe(input.checkpointDir);
    expect(config.service.extensions).toEqual(["file_storage/checkpoints"]);
  });

  it("reads service, pod name and pod UID from the names the platform gives log files", () => {
    expect(fileName.exec("/data/logs/classroom/dev/room-api/room-api-7d9f-abcde_0b6f1c2e-8a1d-4c55-9f0e-2b1f5e7d9a10.log")?.groups).toEqual({
      service: "room-api",
      pod: "room-api-7d9f-abcde",
      uid: "0b6f1c2e-8a1d-4c55-9f0e-2b1f5e7d9a10",
    });
    expect(fileName.exec("/r/grader/grader-0_uid-1.log.1")?.groups).toEqual({ service: "grader", pod: "grader-0", uid: "uid-1" });
    expect(fileName.test("/r/grader/notes.txt")).toBe(false);
    const moves = config.receivers.filelog.operators.filter((o: any) => o.type === "move").map((o: any) => [o.from, o.to]);
    expect(moves).toEqual([
      ["attributes.service", 'resource["service.name"]'],
      ["attributes.pod", 'resource["k8s.pod.name"]'],
      ["attributes.uid", 'resource["k8s.pod.uid"]'],
    ]);
  });

  it("exports to Kafka topic classroom.logs with acks from all replicas, waiting for the result, retrying forever", () => {
    const k = config.exporters.kafka;
    expect(k.logs).toEqual({ topic: "classroom.logs", encoding: "otlp_json" });
    expect(k.producer.required_acks).toBe(-1);
    expect(k.sending_queue).toMatchObject({ enabled: true, wait_for_result: true, block_on_overflow: true });
    // No export may outgrow a Kafka message (1 MB by default) even as otlp_json (about twice the protobuf size).
    expect(k.sending_queue.batch).toMatchObject({ sizer: "bytes", min_size: 1 });
    expect(2 * k.sending_queue.batch.max_size).toBeLessThan(k.producer.max_message_bytes);
    expect(config.receivers.filelog.max_log_size).toBeLessThan(k.sending_queue.batch.max_size);
    expect(k.retry_on_failure.max_elapsed_time).toBe("0s");
    expect(config.service.pipelines.logs).toEqual({ receivers: ["filelog"], exporters: ["kafka"] });
    expect(COLLECTOR_FLAGS).toContain("--feature-gates=stanza.synchronousLogEmitter");
  });

  it("exports to an OTLP endpoint instead when the stack says so", () => {
    const otlp = logAgentConfig({ ...input, destination: { kind: "otlp", endpoint: "gw.observability:4317", insecure: true } }) as any;
    expect(Object.keys(otlp.exporters)).toEqual(["otlp"]);
    expect(otlp.exporters.otlp).toMatchObject({ endpoint: "gw.observability:4317", tls: { insecure: true } });
    expect(otlp.service.pipelines.logs.exporters).toEqual(["otlp"]);
  });
});

describe("LogAgent DaemonSet (pure specs)", () => {
  const specs = logAgentSpecs({
    namespace: "classroom-dev-apps",
    logRoot: "/data/logs/classroom/dev",
    image: "otel/opentelemetry-collector-contrib:0.165.1",
    destination: kafkaDestination,
    kafka: { namespace: "classroom-dev-data", selector: { "app.kubernetes.io/name": "kafka" }, port: 9092 },
    retentionDays: 7,
  });
  const pod = (specs.daemonSet.spec as any).template.spec;
  const agent = pod.containers.find((c: any) => c.name === "agent");
  const retention = pod.containers.find((c: any) => c.name === "retention");

  it("mounts the log root read-only into the collector and keeps the checkpoint under the platform's node directory", () => {
    expect(pod.volumes.find((v: any) => v.name === "log-root").hostPath.path).toBe("/data/logs/classroom/dev");
    expect(agent.volumeMounts.find((m: any) => m.name === "log-root")).toEqual({ name: "log-root", mountPath: "/data/logs/classroom/dev", readOnly: true });
    expect(pod.volumes.find((v: any) => v.name === "checkpoints").hostPath.path).toBe(checkpointDir("classroom-dev-apps"));
    expect(checkpointDir("classroom-dev-apps")).toBe("/var/lib/classroom-platform/log-agent/classroom-dev-apps");
  });

  it("runs the rendered config with the synchronous emitter, on every node, with no capability and no API token", () => {
    expect(agent.args).toEqual(["--config=/etc/otelcol/config.yaml", ...COLLECTOR_FLAGS]);
    const rendered = parse((specs.configMap.data as any)["config.yaml"]);
    expect(rendered.receivers.filelog.storage).toBe("file_storage/checkpoints");
    expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
    expect(pod.automountServiceAccountToken).toBe(false);
    for (const c of [agent, retention]) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
      expect(c.resources.limits.memory).toBeDefined();
    }
  });

  it("may reach only DNS and the Kafka brokers, and accepts no connection", () => {
    const np = specs.networkPolicy.spec as any;
    expect(np.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(np.ingress).toEqual([]);
    expect(np.egress[1]).toEqual({
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "classroom-dev-data" } },
          podSelector: { matchLabels: { "app.kubernetes.io/name": "kafka" } },
        },
      ],
      ports: [{ protocol: "TCP", port: 9092 }],
    });
    expect(np.egress).toHaveLength(2);
  });

  it("when the stack is scraped, admits only Prometheus, on the collector's metrics port, and says where to scrape", () => {
    const base = {
      namespace: "classroom-dev-apps",
      logRoot: "/data/logs/classroom/dev",
      image: "otel/opentelemetry-collector-contrib:0.165.1",
      destination: kafkaDestination,
      kafka: { namespace: "classroom-dev-data", selector: { "app.kubernetes.io/name": "kafka" }, port: 9092 },
      retentionDays: 7,
    };
    const scrape = { namespace: "monitoring", prometheusPodLabels: { "app.kubernetes.io/name": "prometheus" } };
    for (const operator of [false, true]) {
      const scraped = logAgentSpecs({ ...base, scrape: { ...scrape, operator } });
      expect((scraped.networkPolicy.spec as any).ingress).toEqual([
        {
          from: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
              podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
            },
          ],
          ports: [{ protocol: "TCP", port: 8888 }],
        },
      ]);
      const annotations = (scraped.daemonSet.spec as any).template.metadata.annotations;
      // A PodMonitor finds the `metrics` port by name in operator mode; otherwise the annotations say where.
      expect(annotations).toEqual(operator ? undefined : { "prometheus.io/scrape": "true", "prometheus.io/port": "8888", "prometheus.io/path": "/metrics" });
    }
  });
});

describe("LogAgent in a rendered stack", () => {
  it("ships the dev stack's log root to its Kafka, admitted by the Kafka NetworkPolicy as a client", async () => {
    const result = await renderStack("dev", {});
    const ds = findObject(result, "DaemonSet", "log-agent");
    const config = parse(
      findObject(result, "ConfigMap", ds.spec.template.spec.volumes.find((v: any) => v.name === "config").configMap.name).data["config.yaml"],
    );
    const ns = findObject(result, "Namespace", ds.metadata.namespace);
    expect(config.receivers.filelog.include[0]).toBe(`${ns.metadata.annotations["classroom.io/log-root"]}/*/*.log`);
    expect(config.exporters.kafka.logs.topic).toBe("classroom.logs");
    expect(ds.spec.template.metadata.labels["classroom.io/client-kafka"]).toBe("true");
    const np = findObject(result, "NetworkPolicy", "log-agent");
    expect(selects(np.spec.podSelector.matchLabels, ds.spec.template.metadata.labels)).toBe(true);
  });

  it("sends to the OTLP endpoint and opens egress to its port only when logs.destination is otlp", async () => {
    const result = await renderStack("dev", { "classroom:logs": { destination: "otlp", otlpEndpoint: "gw.observability:4317" } });
    const ds = findObject(result, "DaemonSet", "log-agent");
    const config = parse(
      findObject(result, "ConfigMap", ds.spec.template.spec.volumes.find((v: any) => v.name === "config").configMap.name).data["config.yaml"],
    );
    expect(Object.keys(config.exporters)).toEqual(["otlp"]);
    expect(ds.spec.template.metadata.labels["classroom.io/client-kafka"]).toBeUndefined();
    expect(findObject(result, "NetworkPolicy", "log-agent").spec.egress[1].ports).toEqual([{ protocol: "TCP", port: 4317 }]);
  });
});
