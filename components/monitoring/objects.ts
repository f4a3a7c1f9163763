import { METRICS_PORT_NAME } from "./scrape";
import { RuleGroup } from "./rules";

// Pure: the prometheus-operator objects as plain manifests (monitoring.coreos.com/v1). Declares nothing.

/**
 * The pod labels every scrape keeps, as target labels: the rules select data systems by
 * `app_kubernetes_io_name`, and the golden signals group by service and track.
 */
export const POD_TARGET_LABELS = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "classroom.io/track"];

export interface PodMonitorInput {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** Pods to scrape, by label (every pod of the platform in this namespace). */
  podSelector: Record<string, string>;
  /** Named container ports to scrape: `metrics`, and `http` for services serving /metrics on their main port. */
  ports: string[];
}

export function podMonitorManifest(input: PodMonitorInput): {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown>;
  spec: Record<string, unknown>;
} {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: { name: input.name, namespace: input.namespace, labels: input.labels },
    spec: {
      selector: { matchLabels: input.podSelector },
      namespaceSelector: { matchNames: [input.namespace] },
      podTargetLabels: POD_TARGET_LABELS,
      podMetricsEndpoints: input.ports.map((port) => ({ port, path: "/metrics", interval: "30s" })),
    },
  };
}

export function prometheusRuleManifest(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  groups: RuleGroup[],
): { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec: { groups: RuleGroup[] } } {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name, namespace, labels },
    spec: { groups },
  };
}

export { METRICS_PORT_NAME };
