import { z } from "zod";
import { dnsLabel, positiveInt } from "./primitives";

const labelMap = z.record(
  z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, {
    error: "must be a Kubernetes label key such as release or app.kubernetes.io/name",
  }),
  z
    .string()
    .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, { error: "must be a Kubernetes label value (at most 63 letters, digits, '-', '_', '.')" })
    .max(63, { error: "must be at most 63 characters" }),
);

/** How the stack's workloads are scraped and alerted on (README, "Metrics and alerts"). */
export const monitoringConfig = z
  .strictObject({
    operator: z
      .boolean({ error: "must be true or false" })
      .default(false)
      .describe(
        "true: declare prometheus-operator PodMonitor and PrometheusRule objects (the cluster needs the operator's CRDs); false: annotate pods with prometheus.io/scrape, port and path for an annotation-driven scrape job",
      ),
    namespace: dnsLabel.default("monitoring").describe("Namespace of the Prometheus that scrapes the stack; NetworkPolicies admit it to every metrics port"),
    prometheusPodLabels: labelMap
      .default({})
      .describe("Labels of the Prometheus pods, to narrow the NetworkPolicies' scrape path to them (default: any pod of monitoring.namespace)"),
    selectorLabels: labelMap
      .default({})
      .describe(
        "Labels the Prometheus selects PodMonitors and PrometheusRules by (its podMonitorSelector/ruleSelector, e.g. release: kube-prometheus-stack); operator mode only",
      ),
    backlogGrowingMinutes: positiveInt
      .default(10)
      .describe("Minutes the Kafka-outage buffer's backlog must keep growing before ClassroomBufferBacklogGrowing fires"),
    mysqlReplicaLagSeconds: positiveInt.default(30).describe("Seconds a MySQL replica may trail its source for 5 minutes before MySqlReplicaLag fires"),
  })
  .prefault({})
  .describe("Metrics and alerts: how Prometheus finds the stack's metrics endpoints, and alert thresholds");

export type MonitoringConfig = z.output<typeof monitoringConfig>;
