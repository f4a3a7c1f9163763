import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { prometheusPeer, scrapeAnnotations, ScrapeSettings } from "../monitoring/scrape";
import { contentChecksum } from "../shared/checksum";
import { clientLabel, imageVersion, selectorLabels, workloadLabels, WorkloadIdentity } from "../shared/labels";
import { clusterDns } from "../shared/network-policy";
import { COLLECTOR_FLAGS, LogDestination, renderLogAgentConfig } from "./agent-config";
import { retentionScript } from "./retention";

/** The platform-owned node directory under which each stack's agent keeps its checkpoint. */
export const LOG_AGENT_STATE_ROOT = "/var/lib/classroom-platform/log-agent";
/** The collector's own Prometheus metrics (`otelcol_*`) port. */
export const LOG_AGENT_METRICS_PORT = 8888;
/** busybox for the retention loop (sh and find); the contrib image is distroless and has no shell. */
export const RETENTION_IMAGE = "busybox:1.37.0";

export interface LogAgentArgs {
  /** Namespace of the DaemonSet: the apps namespace, whose Pod Security level admits hostPath. */
  namespace: string;
  /** The stack's log root (`classroom:logRoot`). */
  logRoot: string;
  image: string;
  destination: LogDestination;
  /** Only for the Kafka destination: the broker pods, so egress opens to them alone. */
  kafka?: { namespace: string; selector: Record<string, string>; port: number };
  retentionDays: number;
  /** How the stack scrapes the collector's own metrics (the "log agent lagging" alert reads them); omitted: not scraped. */
  scrape?: ScrapeSettings;
}

export const LOG_AGENT_ID: WorkloadIdentity = { name: "log-agent", instance: "log-agent", component: "log-agent", tier: "service" };

/** The node directory of this stack's checkpoint: one per apps namespace, so two stacks on one node never share it. */
export function checkpointDir(namespace: string): string {
  return `${LOG_AGENT_STATE_ROOT}/${namespace}`;
}

/**
 * The agent's objects as plain specs: the ConfigMap with the rendered collector config, the DaemonSet and
 * its egress NetworkPolicy. Pure, so tests read it directly; LogAgent only declares them.
 *
 * Why the containers run as UID 0: the kubelet creates hostPath directories root-owned with mode 0755,
 * and `fsGroup` does not apply to hostPath, so only root can write the checkpoint directory or delete
 * files in the services' log directories. They keep no capability at all (ALL dropped), so root here is
 * only the owner of those root-owned directories; the log root is mounted read-only into the collector.
 */
export function logAgentSpecs(args: LogAgentArgs): {
  configMap: k8s.types.input.core.v1.ConfigMap;
  daemonSet: k8s.types.input.apps.v1.DaemonSet;
  networkPolicy: k8s.types.input.networking.v1.NetworkPolicy;
} {
  const id = { ...LOG_AGENT_ID, version: imageVersion(args.image) };
  const labels = workloadLabels(id);
  const selector = selectorLabels(id);
  const root = args.logRoot.replace(/\/$/, "");
  const state = checkpointDir(args.namespace);
  const config = renderLogAgentConfig({ logRoot: root, checkpointDir: state, destination: args.destination, metricsPort: LOG_AGENT_METRICS_PORT });
  const configName = `log-agent-${contentChecksum(config).slice(0, 10)}`;
  const rootless = {
    runAsUser: 0,
    runAsGroup: 0,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
  const metricsEndpoint = { port: LOG_AGENT_METRICS_PORT };
  const metricsProbe = { httpGet: { path: "/metrics", port: LOG_AGENT_METRICS_PORT }, timeoutSeconds: 5 };

  const daemonSet: k8s.types.input.apps.v1.DaemonSet = {
    metadata: { name: "log-agent", namespace: args.namespace, labels },
    spec: {
      selector: { matchLabels: selector },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: {
          labels: { ...labels, ...(args.destination.kind === "kafka" ? { [clientLabel("kafka")]: "true" } : {}) },
          ...(Object.keys(scrapeAnnotations(args.scrape, metricsEndpoint)).length ? { annotations: scrapeAnnotations(args.scrape, metricsEndpoint) } : {}),
        },
        spec: {
          automountServiceAccountToken: false,
          // Every node has log files, tainted ones included.
          tolerations: [{ operator: "Exists" }],
          // The receiver finishes its in-flight batch and checkpoints on SIGTERM.
          terminationGracePeriodSeconds: 30,
          securityContext: { seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "agent",
              image: args.image,
              args: ["--config=/etc/otelcol/config.yaml", ...COLLECTOR_FLAGS],
              ports: [{ name: "metrics", containerPort: LOG_AGENT_METRICS_PORT }],
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
              securityContext: rootless,
              readinessProbe: { ...metricsProbe, periodSeconds: 10, failureThreshold: 3 },
              livenessProbe: { ...metricsProbe, periodSeconds: 30, failureThreshold: 4 },
              volumeMounts: [
                { name: "log-root", mountPath: root, readOnly: true },
                { name: "checkpoints", mountPath: state },
                { name: "config", mountPath: "/etc/otelcol", readOnly: true },
              ],
            },
            {
              name: "retention",
              image: RETENTION_IMAGE,
              command: ["sh", "-c", retentionScript({ logRoot: root, checkpointDir: state, retentionDays: args.retentionDays })],
              resources: { requests: { cpu: "5m", memory: "16Mi" }, limits: { memory: "64Mi" } },
              securityContext: rootless,
              readinessProbe: { exec: { command: ["true"] }, periodSeconds: 60 },
              livenessProbe: { exec: { command: ["true"] }, periodSeconds: 60 },
              volumeMounts: [
                { name: "log-root", mountPath: root },
                { name: "checkpoints", mountPath: state, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: "log-root", hostPath: { path: root, type: "DirectoryOrCreate" } },
            { name: "checkpoints", hostPath: { path: state, type: "DirectoryOrCreate" } },
            { name: "config", configMap: { name: configName } },
          ],
        },
      },
    },
  };

  const d = args.destination;
  const egress =
    d.kind === "kafka"
      ? [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": args.kafka!.namespace } },
                podSelector: { matchLabels: args.kafka!.selector },
              },
            ],
            ports: [{ protocol: "TCP", port: args.kafka!.port }],
          },
        ]
      : // An OTLP endpoint is a name, not an address: egress opens to its port only, at any address.
        [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }, { ipBlock: { cidr: "::/0" } }], ports: [{ protocol: "TCP", port: Number(d.endpoint.split(":").pop()) }] }];
  const networkPolicy: k8s.types.input.networking.v1.NetworkPolicy = {
    metadata: { name: "log-agent", namespace: args.namespace, labels },
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ["Ingress", "Egress"],
      // Only Prometheus, on the collector's own metrics port.
      ingress: args.scrape ? [{ from: [prometheusPeer(args.scrape)], ports: [{ protocol: "TCP", port: LOG_AGENT_METRICS_PORT }] }] : [],
      egress: [{ to: clusterDns.peers, ports: clusterDns.ports }, ...egress],
    },
  };

  return {
    configMap: { metadata: { name: configName, namespace: args.namespace, labels }, data: { "config.yaml": config } },
    daemonSet,
    networkPolicy,
  };
}

/** The node log agent: a thin shell that declares logAgentSpecs(). */
export class LogAgent extends pulumi.ComponentResource {
  constructor(name: string, args: LogAgentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("classroom:logs:LogAgent", name, {}, opts);
    const specs = logAgentSpecs(args);
    const child = { parent: this };
    const configMap = new k8s.core.v1.ConfigMap(`${name}-config`, specs.configMap, child);
    new k8s.apps.v1.DaemonSet(name, specs.daemonSet, { ...child, dependsOn: [configMap] });
    new k8s.networking.v1.NetworkPolicy(`${name}-netpol`, specs.networkPolicy, child);
    this.registerOutputs({});
  }
}
