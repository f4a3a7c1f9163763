import type * as k8s from "@pulumi/kubernetes";
import { NetworkRule, tcp } from "../shared/network-policy";

type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;

// Pure: how a workload's metrics port is found and reached. Declares nothing.

/** The stack's monitoring settings a workload needs (infra/config/monitoring.ts). */
export interface ScrapeSettings {
  /** true: PodMonitors find the `metrics`-named ports; false: the pod carries prometheus.io/* annotations. */
  operator: boolean;
  /** Namespace of the Prometheus that scrapes. */
  namespace: string;
  /** Labels of the Prometheus pods; empty: any pod of `namespace`. */
  prometheusPodLabels: Record<string, string>;
}

/** Where a pod serves Prometheus metrics. */
export interface MetricsEndpoint {
  port: number;
  /** Default `/metrics`. */
  path?: string;
}

/** The container port name every PodMonitor endpoint of the platform scrapes. */
export const METRICS_PORT_NAME = "metrics";

/** Pod annotations of the conventional annotation-driven scrape job; none in operator mode (a PodMonitor finds the pod). */
export function scrapeAnnotations(settings: ScrapeSettings | undefined, endpoint: MetricsEndpoint): Record<string, string> {
  if (!settings || settings.operator) return {};
  return { "prometheus.io/scrape": "true", "prometheus.io/port": String(endpoint.port), "prometheus.io/path": endpoint.path ?? "/metrics" };
}

/** The Prometheus pods, as a NetworkPolicy peer. */
export function prometheusPeer(settings: ScrapeSettings): NetworkPolicyPeer {
  return {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": settings.namespace } },
    podSelector: { matchLabels: { ...settings.prometheusPodLabels } },
  };
}

/** The ingress rule that lets Prometheus reach the metrics ports, or none when the stack is not scraped. */
export function scrapeIngress(settings: ScrapeSettings | undefined, ...ports: number[]): NetworkRule[] {
  return settings ? [{ peers: [prometheusPeer(settings)], ports: tcp(...ports) }] : [];
}
