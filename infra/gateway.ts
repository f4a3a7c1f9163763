import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { platformObjectLabels } from "../components/shared/labels";
import { clusterDns, defaultDenyPolicy, podsIn, tcp } from "../components/shared/network-policy";
import { platformGateway } from "../components/traffic/gateway";
import { PlatformConfig } from "./config";

/**
 * With `routing.gateway.create`, the platform owns the Gateway and, unless it is one of the stack's own
 * namespaces, the Gateway's namespace: default deny, then one policy for the gateway's pods. Their
 * ingress is open (the edge; the data plane's container ports are the controller's choice, not ours) and
 * their egress reaches exactly the HTTP services' pods on their ports, the legacy VMs that share HTTP
 * traffic, and cluster DNS. Without `create`, nothing: routes attach to an existing Gateway as before.
 */
export function declareGateway(config: PlatformConfig, opts: pulumi.CustomResourceOptions): pulumi.Resource[] {
  const g = config.routing.gateway;
  if (!g.create || config.routing.mode !== "gateway-api") return [];
  const ns = g.namespace;
  const own = [config.namespaces.apps, config.namespaces.data].includes(ns);
  const created: pulumi.Resource[] = [];
  let inNamespace = opts;
  if (!own) {
    const namespace = new k8s.core.v1.Namespace(
      `${ns}-gateway-namespace`,
      {
        metadata: {
          name: ns,
          labels: { ...platformObjectLabels("classroom-platform", ns), "classroom.io/environment": config.environment, "classroom.io/role": "gateway" },
        },
      },
      opts,
    );
    inNamespace = { ...opts, dependsOn: [namespace] };
    const http = Object.entries(config.services).filter(([, s]) => s.kind === "http");
    const legacy = http.flatMap(([, s]) => s.legacy?.endpoints ?? []);
    const byPort = new Map<number, string[]>();
    for (const e of legacy) byPort.set(Number(e.split(":")[1]), [...new Set([...(byPort.get(Number(e.split(":")[1])) ?? []), `${e.split(":")[0]}/32`])]);
    const labels = platformObjectLabels("gateway", `${ns}-gateway`);
    created.push(namespace, defaultDenyPolicy(ns, platformObjectLabels("default-deny", `${ns}-default-deny`), inNamespace));
    created.push(
      new k8s.networking.v1.NetworkPolicy(
        `${ns}-gateway-netpol`,
        {
          metadata: { name: "gateway", namespace: ns, labels },
          spec: {
            podSelector: {},
            policyTypes: ["Ingress", "Egress"],
            ingress: [{}],
            egress: [
              ...http.map(([name, s]) => ({
                to: [podsIn(config.namespaces.apps, { "app.kubernetes.io/name": name, "classroom.io/tier": "service" })],
                ports: tcp(s.port),
              })),
              ...[...byPort].map(([port, cidrs]) => ({ to: cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: tcp(port) })),
              { to: clusterDns.peers, ports: clusterDns.ports },
            ],
          },
        },
        inNamespace,
      ),
    );
  }
  created.push(
    platformGateway(
      { name: g.name, namespace: ns, className: g.className!, certificateSecret: g.tls!.certificateSecret, routesNamespace: config.namespaces.apps },
      inNamespace,
    ),
  );
  return created;
}
