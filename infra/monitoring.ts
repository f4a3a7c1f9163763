import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { podMonitorManifest, prometheusRuleManifest } from "../components/monitoring/objects";
import { platformRuleGroups, RulesInput } from "../components/monitoring/rules";
import { rulesFileYaml } from "../components/monitoring/rules-file";
import { METRICS_PORT_NAME, ScrapeSettings } from "../components/monitoring/scrape";
import { platformObjectLabels, PART_OF } from "../components/shared/labels";
import { PlatformConfig } from "./config";

/** What every workload needs to know about the stack's scrape (components/monitoring/scrape.ts). */
export function scrapeSettings(config: PlatformConfig): ScrapeSettings {
  const m = config.monitoring;
  return { operator: m.operator, namespace: m.namespace, prometheusPodLabels: m.prometheusPodLabels };
}

/** The rules' view of the stack: sizes and thresholds. */
export function rulesInput(config: PlatformConfig): RulesInput {
  return {
    namespaces: config.namespaces,
    zookeeper: { replicas: config.zookeeper.replicas ?? 1 },
    redis: { sentinel: config.redis.mode === "sentinel", sentinelQuorum: config.redis.sentinel?.quorum ?? 2 },
    mysql: { replicas: config.mysql.replicas ?? 1 },
    backlogGrowingMinutes: config.monitoring.backlogGrowingMinutes,
    mysqlReplicaLagSeconds: config.monitoring.mysqlReplicaLagSeconds,
  };
}

/**
 * The stack's monitoring objects. Operator mode: a PodMonitor per namespace and one PrometheusRule, all
 * carrying the labels the Prometheus selects them by. Annotation mode: the pods carry prometheus.io/*
 * annotations (set by each component), and the same rules go into a ConfigMap a Prometheus mounts as a
 * rules file.
 */
export function declareMonitoring(config: PlatformConfig, opts: pulumi.CustomResourceOptions): void {
  const m = config.monitoring;
  const groups = platformRuleGroups(rulesInput(config));
  const { data, apps } = config.namespaces;
  const labels = (name: string, instance: string) => ({ ...platformObjectLabels(name, instance), ...m.selectorLabels });
  if (!m.operator) {
    new k8s.core.v1.ConfigMap(
      "prometheus-rules",
      {
        metadata: { name: "classroom-prometheus-rules", namespace: data, labels: platformObjectLabels("prometheus-rules", `${data}-rules`) },
        data: { "classroom.rules.yml": rulesFileYaml(groups) },
      },
      opts,
    );
    return;
  }
  const monitors: Array<[string, string[]]> = [
    [data, [METRICS_PORT_NAME]],
    [apps, [METRICS_PORT_NAME, "http"]],
  ];
  for (const [namespace, ports] of monitors) {
    const manifest = podMonitorManifest({
      name: "classroom",
      namespace,
      labels: labels("pod-monitor", `${namespace}-classroom`),
      podSelector: { "app.kubernetes.io/part-of": PART_OF },
      ports,
    });
    new k8s.apiextensions.CustomResource(`${namespace}-pod-monitor`, manifest, opts);
  }
  new k8s.apiextensions.CustomResource(
    "prometheus-rules",
    prometheusRuleManifest("classroom", data, labels("prometheus-rules", `${data}-classroom`), groups),
    opts,
  );
}
