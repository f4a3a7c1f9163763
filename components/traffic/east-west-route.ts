import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { weightedBackends } from "./http-route";
import { HttpExposure } from "./weights";

/** Name of the east-west route of a service (in NAMES_DERIVED_FROM_SERVICE). */
export function eastWestRouteName(service: string): string {
  return `${service}-east-west`;
}

export interface EastWestRoute {
  apiVersion: "gateway.networking.k8s.io/v1";
  kind: "HTTPRoute";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    parentRefs: Array<{ group: ""; kind: "Service"; name: string; port: number }>;
    rules: Array<{ backendRefs: ReturnType<typeof weightedBackends> }>;
  };
}

/**
 * The GAMMA route of one HTTP service as a plain object: an HTTPRoute whose parent is the service's own
 * umbrella Service (Gateway API's mesh binding), so a mesh that implements GAMMA sends calls addressed to
 * `<name>` to the stable, canary and legacy backends by the same weights as the gateway does. The route
 * lives in the Service's namespace (a "producer" route), so it applies to every caller in the mesh.
 */
export function eastWestRouteObject(args: Pick<HttpExposure, "namespace" | "name" | "labels" | "port" | "split" | "backends">): EastWestRoute {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: eastWestRouteName(args.name), namespace: args.namespace, labels: { ...args.labels, "classroom.io/route": "east-west" } },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: args.name, port: args.port }],
      // No match: every request addressed to the Service is split.
      rules: [{ backendRefs: weightedBackends(args) }],
    },
  };
}

/** Declares the GAMMA route of one HTTP service (see eastWestRouteObject). */
export function eastWestHttpRoute(args: Parameters<typeof eastWestRouteObject>[0], opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  const { apiVersion, kind, metadata, spec } = eastWestRouteObject(args);
  return new k8s.apiextensions.CustomResource(`${args.name}-east-west-route`, { apiVersion, kind, metadata, spec }, opts);
}
