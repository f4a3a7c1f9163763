import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

type ServicePort = k8s.types.input.core.v1.ServicePort;

export interface PeerServicesArgs {
  namespace: string;
  /** Instance name: the client Service gets it, the headless one `<name>-headless`. */
  name: string;
  labels: Record<string, string>;
  selector: Record<string, string>;
  /** Ports clients use. */
  clientPorts: ServicePort[];
  /** Ports peers use to find each other (quorum, replication, controller); added to the headless Service. */
  peerPorts?: ServicePort[];
}

/**
 * The two Services a stateful system needs: a headless one that gives every pod a stable DNS name and
 * publishes not-ready pods (peers must find each other before any of them is ready, or a quorum never
 * forms), and a ClusterIP one for clients that only routes to ready pods.
 */
export function peerServices(args: PeerServicesArgs, opts: pulumi.CustomResourceOptions) {
  const { headless, headlessName } = headlessService(args, opts);
  const client = new k8s.core.v1.Service(
    `${args.name}-client`,
    {
      metadata: { name: args.name, namespace: args.namespace, labels: args.labels },
      spec: { type: "ClusterIP", selector: args.selector, ports: args.clientPorts },
    },
    opts,
  );
  return { headless, headlessName, client };
}

/** The headless half of peerServices, for a system that declares its own client Services. */
export function headlessService(args: PeerServicesArgs, opts: pulumi.CustomResourceOptions) {
  const headlessName = headlessServiceName(args.name);
  const headless = new k8s.core.v1.Service(
    `${args.name}-headless`,
    {
      metadata: { name: headlessName, namespace: args.namespace, labels: args.labels },
      spec: {
        clusterIP: "None",
        publishNotReadyAddresses: true,
        selector: args.selector,
        ports: [...args.clientPorts, ...(args.peerPorts ?? [])],
      },
    },
    opts,
  );
  return { headless, headlessName };
}

/** The headless Service of a StatefulSet: it gives each pod its stable DNS name (see podHost). */
export function headlessServiceName(instance: string): string {
  return `${instance}-headless`;
}

/** DNS name of a Service. */
export function serviceHost(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.cluster.local`;
}

/** DNS name of pod `ordinal` of a StatefulSet behind a headless Service. */
export function podHost(statefulSet: string, ordinal: number, headless: string, namespace: string): string {
  return `${statefulSet}-${ordinal}.${headless}.${namespace}.svc.cluster.local`;
}
