import { Instance, validatePort, validateServiceName } from "./contract";

/** Which source answered `current()`. */
export type Source = "zookeeper" | "last-known" | "kubernetes-dns";

/** Where the Kubernetes Service of a watched service lives, for the DNS fallback. */
export interface DnsFallbackOptions {
  /** Namespace of the Service (the platform names the Service exactly like the service). Required. */
  namespace: string;
  /** Service port. Default: the port every last known instance shared, if they all agree. */
  port?: number;
  /** Cluster DNS domain. Default "cluster.local". */
  clusterDomain?: string;
}

/** The Kubernetes Service DNS name the platform creates for every service: `<service>.<namespace>.svc.<domain>`. */
export function serviceDnsName(service: string, namespace: string, clusterDomain = "cluster.local"): string {
  return `${service}.${namespace}.svc.${clusterDomain}`;
}

/**
 * The one pseudo-instance served in DNS fallback. The Service spans both tracks, so it is reported as
 * stable with weight 100: kube-proxy spreads by pod, which is the best split available without ZooKeeper.
 */
export function dnsFallbackInstance(service: string, dns: DnsFallbackOptions, lastKnown: Instance[]): Instance | undefined {
  const port = dns.port ?? sharedPort(lastKnown);
  if (port === undefined) return undefined;
  const host = serviceDnsName(validateServiceName(service), validateServiceName(dns.namespace, "dnsFallback.namespace"), dns.clusterDomain);
  return { id: "kubernetes-dns", host, port: validatePort(port, "dnsFallback.port"), track: "stable", weight: 100, pod: "", registeredAt: "" };
}

function sharedPort(instances: Instance[]): number | undefined {
  const ports = new Set(instances.map((i) => i.port));
  return ports.size === 1 ? [...ports][0] : undefined;
}
