import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { platformObjectLabels } from "../shared/labels";

export interface PlatformGatewayArgs {
  /** Gateway name (routing.gateway.name). */
  name: string;
  /** Namespace of the Gateway and of its TLS Secret. */
  namespace: string;
  /** GatewayClass of the cluster's Gateway controller. */
  className: string;
  /** kubernetes.io/tls Secret in the Gateway's namespace for the HTTPS listener. */
  certificateSecret: string;
  /** The only namespace whose routes may attach (the stack's apps namespace). */
  routesNamespace: string;
}

/**
 * The Gateway the platform declares when `routing.gateway.create` is set: an HTTP listener on 80 and an
 * HTTPS listener on 443 terminating TLS with the named Secret, both admitting routes from the apps
 * namespace only, so no other team's HTTPRoute can take a path on the classroom hostnames.
 */
export function gatewayObject(args: PlatformGatewayArgs) {
  const allowedRoutes = {
    namespaces:
      args.routesNamespace === args.namespace
        ? { from: "Same" as const }
        : { from: "Selector" as const, selector: { matchLabels: { "kubernetes.io/metadata.name": args.routesNamespace } } },
    kinds: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }],
  };
  return {
    apiVersion: "gateway.networking.k8s.io/v1" as const,
    kind: "Gateway" as const,
    metadata: {
      name: args.name,
      namespace: args.namespace,
      labels: { ...platformObjectLabels("gateway", args.name), "app.kubernetes.io/component": "gateway" },
    },
    spec: {
      gatewayClassName: args.className,
      listeners: [
        { name: "http", protocol: "HTTP" as const, port: 80, allowedRoutes },
        {
          name: "https",
          protocol: "HTTPS" as const,
          port: 443,
          allowedRoutes,
          tls: { mode: "Terminate" as const, certificateRefs: [{ group: "", kind: "Secret", name: args.certificateSecret }] },
        },
      ],
    },
  };
}

/** Declares the Gateway of gatewayObject. */
export function platformGateway(args: PlatformGatewayArgs, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  const { apiVersion, kind, metadata, spec } = gatewayObject(args);
  return new k8s.apiextensions.CustomResource(`${args.name}-gateway`, { apiVersion, kind, metadata, spec }, opts);
}
