import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { platformObjectLabels } from "../shared/labels";

/** One external system as the stack declares it (infra/config/externals.ts). */
export interface ExternalSystemArgs {
  /** Namespace of its Service (the apps namespace, where its callers are). */
  namespace: string;
  /** DNS name (ExternalName Service); exactly one of host and addresses. */
  host?: string;
  /** IPv4 addresses (selector-less Service plus EndpointSlice); exactly one of host and addresses. */
  addresses?: string[];
  /** Ports callers use. */
  ports: number[];
  /** Transport of every port. Default: TCP. */
  protocol?: "TCP" | "UDP";
}

/** The label that marks an object as the in-cluster face of an external system (read by the topology and policies). */
export const EXTERNAL_LABEL = "classroom.io/external";

type Metadata = { name: string; namespace: string; labels: Record<string, string> };
type Port = { name: string; port: number; protocol: "TCP" | "UDP" };
export interface ServiceManifest {
  apiVersion: "v1";
  kind: "Service";
  metadata: Metadata;
  spec: { type: "ExternalName" | "ClusterIP"; externalName?: string; ports: Array<Port & { targetPort?: number }> };
}
export interface EndpointSliceManifest {
  apiVersion: "discovery.k8s.io/v1";
  kind: "EndpointSlice";
  metadata: Metadata;
  addressType: "IPv4";
  ports: Port[];
  endpoints: Array<{ addresses: string[]; conditions: { ready: boolean } }>;
}

/** Plain Kubernetes objects for one external system: a Service and, for addresses, its EndpointSlice. */
export function externalSystemObjects(name: string, args: ExternalSystemArgs): { service: ServiceManifest; slice?: EndpointSliceManifest } {
  if (!args.host === !args.addresses) throw new Error(`external ${name}: set exactly one of host and addresses`);
  const protocol = args.protocol ?? "TCP";
  const labels = { ...platformObjectLabels(name, name), "app.kubernetes.io/component": "external", "classroom.io/tier": "external", [EXTERNAL_LABEL]: "true" };
  // Several ports need names; the protocol is in the name so a later UDP port cannot clash with a TCP one.
  const ports = args.ports.map((port) => ({ name: `${protocol.toLowerCase()}-${port}`, port, protocol }));
  const metadata = { name, namespace: args.namespace, labels };
  if (args.host) {
    // ExternalName is a CNAME in cluster DNS: the ports are informational, no proxying happens.
    return { service: { apiVersion: "v1", kind: "Service", metadata, spec: { type: "ExternalName", externalName: args.host, ports } } };
  }
  return {
    service: { apiVersion: "v1", kind: "Service", metadata, spec: { type: "ClusterIP", ports: ports.map((p) => ({ ...p, targetPort: p.port })) } },
    slice: {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `${name}-addresses`,
        namespace: args.namespace,
        // The service-name label binds the slice to the Service; the managed-by value keeps the EndpointSlice controller's hands off it.
        labels: { ...labels, "kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "pulumi.classroom.io" },
      },
      addressType: "IPv4",
      ports,
      endpoints: args.addresses!.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    },
  };
}

/**
 * A system outside the cluster (course, material, OA, user systems) as a Service of the apps namespace, so
 * callers address it like any classroom service and the graph shows it: `ExternalName` for a DNS name,
 * a selector-less Service with an EndpointSlice for IP addresses.
 */
export class ExternalSystem extends pulumi.ComponentResource {
  constructor(name: string, args: ExternalSystemArgs, opts?: pulumi.ComponentResourceOptions) {
    super("classroom:traffic:ExternalSystem", name, {}, opts);
    const { service, slice } = externalSystemObjects(name, args);
    new k8s.core.v1.Service(`${name}-external-svc`, { metadata: service.metadata, spec: service.spec }, { parent: this });
    if (slice) {
      new k8s.discovery.v1.EndpointSlice(
        `${name}-external-endpoints`,
        {
          metadata: slice.metadata,
          addressType: slice.addressType,
          ports: slice.ports,
          endpoints: slice.endpoints,
        },
        { parent: this },
      );
    }
    this.registerOutputs({});
  }
}
