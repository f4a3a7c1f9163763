import * as fs from "node:fs";
import * as path from "node:path";
import { KAFKA_METRICS_AGENT_IMAGE } from "../../../infra/config/data";
import { ConfigError, parsePlatformConfig } from "../../../infra/config";
import { monitoringConfig } from "../../../infra/config/monitoring";
import { GOLDEN_SIGNAL_RECORDS, goldenSignalRules } from "../../../components/monitoring/rules";
import { ANALYSIS_METRICS, metricNames } from "../../../infra/config/promql";
import { REQUEST_CHECKS } from "../../../infra/config/rollout-defaults";
import { findObject, K8sObject, objectsOf, renderStack } from "../../support/render";

const podOf = (o: K8sObject) => o.spec.template;
const operator = {
  "classroom:monitoring": {
    operator: true,
    namespace: "observability",
    prometheusPodLabels: { "app.kubernetes.io/name": "prometheus" },
    selectorLabels: { release: "kube-prometheus-stack" },
  },
};

function problems(monitoring: unknown): string[] {
  try {
    parsePlatformConfig({ "classroom:environment": "dev", "classroom:monitoring": JSON.stringify(monitoring) });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("classroom:monitoring", () => {
  it("defaults to annotation scraping by a Prometheus in the monitoring namespace", () => {
    const c = parsePlatformConfig({ "classroom:environment": "dev" });
    expect(c.monitoring).toEqual({
      operator: false,
      namespace: "monitoring",
      prometheusPodLabels: {},
      selectorLabels: {},
      backlogGrowingMinutes: 10,
      mysqlReplicaLagSeconds: 30,
    });
  });

  it("names the key and the allowed values of a bad setting, one line each", () => {
    expect(problems({ operator: "yes" })).toEqual([expect.stringMatching(/^classroom:monitoring\.operator .*true or false/)]);
    expect(problems({ namespace: "Monitoring" })).toEqual([expect.stringMatching(/^classroom:monitoring\.namespace .*DNS label/)]);
    expect(problems({ backlogGrowingMinutes: 0 })).toEqual([expect.stringMatching(/^classroom:monitoring\.backlogGrowingMinutes .*>= 1/)]);
    expect(problems({ selectorLabels: { release: "not a value!" } })).toHaveLength(1);
    expect(problems({ scrapeInterval: "30s" })).toEqual([expect.stringMatching(/^classroom:monitoring/)]);
  });

  it("describes every key (the README's config table is generated from these texts)", () => {
    for (const [key, schema] of Object.entries(monitoringConfig.unwrap().shape)) {
      expect([key, (schema as { description?: string }).description]).toEqual([key, expect.stringMatching(/\w{3,} \w{3,}/)]);
    }
  });
});

describe("scraping and alerting in the rendered stack", () => {
  it("annotation mode: every platform pod carries prometheus.io/* for its metrics port, the rules ship as a ConfigMap, no operator objects", async () => {
    const result = await renderStack("prod");
    const expected: Record<string, string> = {
      zookeeper: "7000",
      "kafka-broker": "5556",
      "kafka-controller": "5556",
      redis: "9121",
      "redis-sentinel": "9121",
      mysql: "9104",
      "mq-replayer-stable": "8080",
      "scheduler-stable": "8080",
    };
    for (const [name, port] of Object.entries(expected)) {
      const kind = name.endsWith("-stable") ? "Deployment" : "StatefulSet";
      const annotations = podOf(findObject(result, kind, name)).metadata.annotations;
      expect([name, annotations["prometheus.io/scrape"], annotations["prometheus.io/port"], annotations["prometheus.io/path"]]).toEqual([
        name,
        "true",
        port,
        "/metrics",
      ]);
      const containerPorts = podOf(findObject(result, kind, name))
        .spec.containers.flatMap((c: K8sObject) => c.ports ?? [])
        .map((p: K8sObject) => p.containerPort);
      expect(containerPorts).toContain(Number(port));
    }
    expect(objectsOf(result, "PodMonitor")).toEqual([]);
    expect(objectsOf(result, "PrometheusRule")).toEqual([]);
    const rules = findObject(result, "ConfigMap", "classroom-prometheus-rules").data["classroom.rules.yml"];
    for (const alert of ["ZooKeeperQuorumLost", "KafkaOfflinePartitions", "RedisSentinelDisagreement", "MySqlReplicaLag", "ClassroomReplayerStuck"])
      expect(rules).toContain(`alert: ${alert}`);
  });

  it("a metrics port admits the monitoring namespace on that port only", async () => {
    const result = await renderStack("prod");
    const zk = findObject(result, "NetworkPolicy", "zookeeper");
    const scrape = zk.spec.ingress.find((r: K8sObject) => r.ports.some((p: K8sObject) => p.port === 7000));
    expect(scrape.from).toEqual([{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } }, podSelector: { matchLabels: {} } }]);
    expect(scrape.ports).toEqual([{ protocol: "TCP", port: 7000 }]);
  });

  it("operator mode: PodMonitors for both namespaces and one PrometheusRule, selected by the Prometheus' labels; no annotations", async () => {
    const result = await renderStack("prod", operator);
    const monitors = objectsOf(result, "PodMonitor");
    expect(monitors.map((m) => m.metadata.namespace).sort()).toEqual(["classroom-prod-apps", "classroom-prod-data"]);
    for (const m of monitors) {
      expect(m.apiVersion).toBe("monitoring.coreos.com/v1");
      expect(m.metadata.labels.release).toBe("kube-prometheus-stack");
      expect(m.spec.podTargetLabels).toEqual(expect.arrayContaining(["app.kubernetes.io/name", "classroom.io/track"]));
    }
    const rule = objectsOf(result, "PrometheusRule");
    expect(rule).toHaveLength(1);
    expect(rule[0].metadata.labels.release).toBe("kube-prometheus-stack");
    expect(rule[0].spec.groups.map((g: K8sObject) => g.name)).toContain("classroom-golden-signals");
    expect(podOf(findObject(result, "StatefulSet", "zookeeper")).metadata.annotations["prometheus.io/scrape"]).toBeUndefined();
    const zk = findObject(result, "NetworkPolicy", "zookeeper");
    const scrape = zk.spec.ingress.find((r: K8sObject) => r.ports.some((p: K8sObject) => p.port === 7000));
    expect(scrape.from).toEqual([
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "observability" } },
        podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
      },
    ]);
  });

  it("ZooKeeper serves its built-in Prometheus metrics; the exporters read with accounts of their own", async () => {
    const result = await renderStack("prod");
    expect(findObject(result, "ConfigMap", "zookeeper-config").data["zoo.cfg"]).toContain(
      "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
    );
    const redisExporter = podOf(findObject(result, "StatefulSet", "redis")).spec.containers.find((c: K8sObject) => c.name === "exporter");
    expect(redisExporter.env).toEqual(expect.arrayContaining([{ name: "REDIS_USER", value: "exporter" }]));
    const mysqlExporter = podOf(findObject(result, "StatefulSet", "mysql")).spec.containers.find((c: K8sObject) => c.name === "exporter");
    expect(mysqlExporter.args).toContain("--mysqld.username=exporter");
    expect(findObject(result, "ConfigMap", "mysql-init").data["10-classroom.sh"]).toMatch(/GRANT PROCESS, REPLICATION CLIENT, SELECT ON \*\.\* TO 'exporter'/);
  });
});

describe("Kafka's own metrics: the JMX exporter agent in the broker's JVM", () => {
  it("every Kafka pod copies the agent from its image in an init container and loads it with the rendered rules", async () => {
    const result = await renderStack("prod");
    for (const name of ["kafka-broker", "kafka-controller"]) {
      const pod = podOf(findObject(result, "StatefulSet", name)).spec;
      const [init] = pod.initContainers;
      expect(init.image).toBe(KAFKA_METRICS_AGENT_IMAGE);
      expect(init.command).toEqual(["cp", "/jmx-exporter/jmx_prometheus_javaagent.jar", "/opt/jmx-exporter/jmx_prometheus_javaagent.jar"]);
      const kafka = pod.containers.find((c: K8sObject) => c.name === "kafka");
      const opts = kafka.env.find((e: K8sObject) => e.name === "KAFKA_OPTS").value;
      expect(opts).toBe("-javaagent:/opt/jmx-exporter/jmx_prometheus_javaagent.jar=5556:/opt/kafka/config-base/jmx-exporter.yaml");
      expect(kafka.ports).toContainEqual({ name: "metrics", containerPort: 5556 });
      // The jar the init container wrote, and the rules the option names, are where the broker looks.
      const mounts = Object.fromEntries(kafka.volumeMounts.map((m: K8sObject) => [m.mountPath, m.name]));
      expect(mounts["/opt/jmx-exporter"]).toBe(init.volumeMounts[0].name);
      const configMap = pod.volumes.find((v: K8sObject) => v.name === mounts["/opt/kafka/config-base"]).configMap.name;
      expect(findObject(result, "ConfigMap", configMap).data["jmx-exporter.yaml"]).toContain("lowercaseOutputName: true");
      expect(init.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    }
  });

  it("the default agent image is tagged with the agent version its Dockerfile pins, and a stack can choose another", async () => {
    const dockerfile = fs.readFileSync(path.join(__dirname, "../../../images/kafka-jmx-agent/Dockerfile"), "utf8");
    const version = /\/jmx_prometheus_javaagent\/([0-9.]+)\/jmx_prometheus_javaagent-\1\.jar/.exec(dockerfile)?.[1];
    expect(version).toBeDefined();
    expect(KAFKA_METRICS_AGENT_IMAGE.endsWith(`:${version}`)).toBe(true);
    const result = await renderStack("dev", { "classroom:kafka": { metricsAgentImage: "mirror.example/jmx-agent:1.0.1@sha256:" + "a".repeat(64) } });
    expect(podOf(findObject(result, "StatefulSet", "kafka")).spec.initContainers[0].image).toBe("mirror.example/jmx-agent:1.0.1@sha256:" + "a".repeat(64));
  });
});

describe("golden signals, the contract with canary analysis", () => {
  it("records exactly the series canary analysis checks may name, labelled by namespace, service and track", () => {
    const input = {
      namespaces: { data: "d", apps: "a" },
      zookeeper: { replicas: 3 },
      redis: { sentinel: false, sentinelQuorum: 2 },
      mysql: { replicas: 1 },
      backlogGrowingMinutes: 10,
      mysqlReplicaLagSeconds: 30,
    };
    const rules = goldenSignalRules(input);
    expect(rules.map((r) => r.record)).toEqual([...GOLDEN_SIGNAL_RECORDS]);
    for (const record of GOLDEN_SIGNAL_RECORDS) expect(ANALYSIS_METRICS).toContain(record);
    for (const rule of rules.filter((r) => r.expr.includes("sum by"))) expect(rule.expr).toMatch(/sum by \(namespace, service, track/);
  });

  it("the default analysis checks read the histogram the recording rules are built from, under the same pod labels", () => {
    const source = goldenSignalRules({
      namespaces: { data: "d", apps: "a" },
      zookeeper: { replicas: 1 },
      redis: { sentinel: false, sentinelQuorum: 2 },
      mysql: { replicas: 1 },
      backlogGrowingMinutes: 10,
      mysqlReplicaLagSeconds: 30,
    })[0].expr;
    for (const check of REQUEST_CHECKS) {
      for (const name of metricNames(check.query)) {
        expect(source).toContain(name.replace(/_(count|bucket|sum)$/, "_"));
      }
      expect(check.query).toContain('app_kubernetes_io_name="$service",classroom_io_track="$track"');
    }
    expect(source).toContain('"service", "$1", "app_kubernetes_io_name"');
    expect(source).toContain('"track", "$1", "classroom_io_track"');
  });
});
