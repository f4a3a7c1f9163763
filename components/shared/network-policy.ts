import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type NetworkPolicyPort = k8s.types.input.networking.v1.NetworkPolicyPort;
/** Peers and the ports they use, in one direction. */
export type NetworkRule = { peers: NetworkPolicyPeer[]; ports: NetworkPolicyPort[] };

/** Pods in the named namespaces that carry `label: "true"`. */
export function podsLabelled(label: string, namespaces: string[]): NetworkPolicyPeer {
  return {
    namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [...namespaces].sort() }] },
    podSelector: { matchLabels: { [label]: "true" } },
  };
}

/** Pods matching `selector` in one namespace. */
export function podsIn(namespace: string, selector: Record<string, string>): NetworkPolicyPeer {
  return {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
    podSelector: { matchLabels: selector },
  };
}

/** Cluster DNS; every pod needs it once egress is denied by default. */
export const clusterDns: NetworkRule = {
  peers: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
  ports: [
    { protocol: "UDP", port: 53 },
    { protocol: "TCP", port: 53 },
  ],
};

export function tcp(...ports: number[]): NetworkPolicyPort[] {
  return ports.map((port) => ({ protocol: "TCP", port }));
}

export interface WorkloadNetworkPolicyArgs {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** The pods this policy is about. */
  podSelector: Record<string, string>;
  /** Who may connect to these pods, on which ports. */
  ingress: NetworkRule[];
  /** Where these pods may connect to, on which ports (cluster DNS is always added). */
  egress: NetworkRule[];
}

/**
 * The allow-list of one workload, on top of its namespace's default deny. Both directions are listed so
 * that a review of this one object shows every path the workload has.
 */
export function workloadNetworkPolicy(args: WorkloadNetworkPolicyArgs, opts: pulumi.CustomResourceOptions): k8s.networking.v1.NetworkPolicy {
  const toRule = (r: NetworkRule) => ({ ports: r.ports, peers: r.peers });
  return new k8s.networking.v1.NetworkPolicy(
    `${args.name}-netpol`,
    {
      metadata: { name: args.name, namespace: args.namespace, labels: args.labels },
      spec: {
        podSelector: { matchLabels: args.podSelector },
        policyTypes: ["Ingress", "Egress"],
        ingress: args.ingress.map(toRule).map((r) => ({ from: r.peers, ports: r.ports })),
        egress: [...args.egress, clusterDns].map(toRule).map((r) => ({ to: r.peers, ports: r.ports })),
      },
    },
    opts,
  );
}

/** Denies all ingress and egress for every pod in a namespace; workloads then open exactly their own paths. */
export function defaultDenyPolicy(namespace: string, labels: Record<string, string>, opts: pulumi.CustomResourceOptions): k8s.networking.v1.NetworkPolicy {
  return new k8s.networking.v1.NetworkPolicy(
    `${namespace}-default-deny`,
    {
      metadata: { name: "default-deny", namespace, labels },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
    opts,
  );
}
