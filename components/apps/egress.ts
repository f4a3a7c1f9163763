import { DataConnection } from "../shared/connection";
import { NetworkRule, podsIn, tcp } from "../shared/network-policy";

/** A classroom service this one calls, with the legacy VMs (`ip:port`) that share its traffic, if any. */
export interface CalleePeer {
  name: string;
  port: number;
  legacyEndpoints?: string[];
}

/** An external system this one calls, as the caller's egress sees it. */
export interface ExternalPeer {
  name: string;
  ports: number[];
  protocol: "TCP" | "UDP";
  /**
   * Address ranges to open: `/32` for each IP address of an address external; for a DNS-name external
   * the ranges the stack declared (egressCidrs), else any address, since a NetworkPolicy cannot name a host.
   */
  cidrs: string[];
}

/** Any IPv4 or IPv6 address: what a DNS-name external without egressCidrs opens its ports to. */
export const ANY_ADDRESS = ["0.0.0.0/0", "::/0"];

/**
 * Every egress path of one service's pods, besides cluster DNS (workloadNetworkPolicy adds it): the data
 * systems it uses, the services it calls, the legacy VMs behind those services (a weighted backend of the
 * callee: the discovery registry and a GAMMA route both hand out their addresses), and the externals it
 * calls. Nothing else: the namespace's default deny covers the rest. The order is stable (uses, calls,
 * legacy VMs, externals), so a stack that adds nothing renders the policies it rendered before.
 */
export function serviceEgressRules(args: { namespace: string; connections: DataConnection[]; calls: CalleePeer[]; externals: ExternalPeer[] }): NetworkRule[] {
  const legacy = args.calls.filter((c) => c.legacyEndpoints?.length).flatMap((c) => legacyRules(c.legacyEndpoints!));
  return [
    ...args.connections.map((c) => ({ peers: [podsIn(c.namespace, c.serverSelector)], ports: tcp(...c.ports) })),
    ...args.calls.map((c) => ({ peers: [podsIn(args.namespace, { "app.kubernetes.io/name": c.name, "classroom.io/tier": "service" })], ports: tcp(c.port) })),
    ...legacy,
    ...args.externals.map((e) => ({ peers: e.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: e.ports.map((port) => ({ protocol: e.protocol, port })) })),
  ];
}

/** One rule per VM port, each VM as a /32. */
function legacyRules(endpoints: string[]): NetworkRule[] {
  const byPort = new Map<number, string[]>();
  for (const e of endpoints) {
    const [ip, port] = e.split(":");
    byPort.set(Number(port), [...new Set([...(byPort.get(Number(port)) ?? []), `${ip}/32`])]);
  }
  return [...byPort].map(([port, cidrs]) => ({ peers: cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: tcp(port) }));
}

/** The ranges an external opens to its callers (see ExternalPeer.cidrs). */
export function externalCidrs(external: { addresses?: string[]; egressCidrs?: string[] }): string[] {
  if (external.addresses) return [...new Set(external.addresses)].map((a) => `${a}/32`);
  return external.egressCidrs ?? ANY_ADDRESS;
}
