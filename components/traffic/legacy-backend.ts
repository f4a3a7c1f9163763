import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface LegacyBackendArgs {
  namespace: string;
  /** Service name; the backend is `<name>-legacy`. */
  name: string;
  labels: Record<string, string>;
  port: number;
  /** `ip:port` of each legacy VM. */
  endpoints: string[];
}

/**
 * The legacy VMs as an ordinary Service: no selector, one EndpointSlice listing the VM addresses. Routes
 * and the discovery fallback can then weight VMs and containers alike while the migration moves traffic
 * step by step (and back, if it must).
 */
export function legacyBackend(args: LegacyBackendArgs, opts: pulumi.CustomResourceOptions) {
  const serviceName = `${args.name}-legacy`;
  const service = new k8s.core.v1.Service(
    `${serviceName}-svc`,
    {
      metadata: { name: serviceName, namespace: args.namespace, labels: args.labels },
      spec: { type: "ClusterIP", ports: [{ name: "app", port: args.port, targetPort: args.port, protocol: "TCP" }] },
    },
    opts,
  );
  const ports = [...new Set(args.endpoints.map((e) => Number(e.split(":")[1])))];
  if (ports.length !== 1) throw new Error(`legacy endpoints of ${args.name} must share one port, got ${ports.join(", ")}`);
  const slice = new k8s.discovery.v1.EndpointSlice(
    `${serviceName}-endpoints`,
    {
      metadata: {
        name: `${serviceName}-vms`,
        namespace: args.namespace,
        // This label binds the slice to the Service; the managed-by value keeps the EndpointSlice controller's hands off it.
        labels: { ...args.labels, "kubernetes.io/service-name": serviceName, "endpointslice.kubernetes.io/managed-by": "pulumi.classroom.io" },
      },
      addressType: "IPv4",
      ports: [{ name: "app", port: ports[0], protocol: "TCP" }],
      endpoints: args.endpoints.map((e) => ({ addresses: [e.split(":")[0]], conditions: { ready: true } })),
    },
    opts,
  );
  return { service, slice, serviceName };
}
