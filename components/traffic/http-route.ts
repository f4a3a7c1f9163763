import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { httpRouteMatches } from "./request-match";
import { HttpExposure } from "./weights";

export interface WeightedHttpRouteArgs extends HttpExposure {
  /** The shared Gateway the route attaches to. */
  gateway: { name: string; namespace: string; sectionName?: string };
}

/**
 * A Gateway API HTTPRoute with weighted backendRefs: the standard way to split HTTP traffic now that
 * ingress-nginx is retired. Only the weights change on a canary step, so no workload object is touched.
 */
export function weightedHttpRoute(args: WeightedHttpRouteArgs, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  const backendRefs = weightedBackends(args);
  return new k8s.apiextensions.CustomResource(
    `${args.name}-route`,
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: args.name, namespace: args.namespace, labels: args.labels },
      spec: {
        parentRefs: [
          {
            group: "gateway.networking.k8s.io",
            kind: "Gateway",
            name: args.gateway.name,
            namespace: args.gateway.namespace,
            ...(args.gateway.sectionName ? { sectionName: args.gateway.sectionName } : {}),
          },
        ],
        ...(args.hostnames.length ? { hostnames: args.hostnames } : {}),
        rules: [
          // Gateway API gives a rule with header or query matches precedence over a path-only rule, so
          // matching requests reach the canary before the weighted split is consulted.
          ...(args.backends.canary && args.canaryMatch?.length
            ? [
                {
                  matches: httpRouteMatches(args.pathPrefix, args.canaryMatch),
                  backendRefs: [{ group: "", kind: "Service", name: `${args.name}-canary`, port: args.port }],
                },
              ]
            : []),
          {
            matches: [{ path: { type: "PathPrefix", value: args.pathPrefix } }],
            backendRefs,
          },
        ],
      },
    },
    opts,
  );
}

/**
 * The backendRefs of one service's split: its stable track, and its canary and legacy backends when they
 * exist. North-south and east-west routes share this, so both split by the same numbers.
 */
export function weightedBackends(
  args: Pick<HttpExposure, "name" | "port" | "split" | "backends">,
): Array<{ group: ""; kind: "Service"; name: string; port: number; weight: number }> {
  return [
    { name: `${args.name}-stable`, port: args.port, weight: args.split.stable },
    ...(args.backends.canary ? [{ name: `${args.name}-canary`, port: args.port, weight: args.split.canary }] : []),
    ...(args.backends.legacy ? [{ name: `${args.name}-legacy`, port: args.port, weight: args.split.legacy }] : []),
  ].map((b) => ({ group: "" as const, kind: "Service" as const, ...b }));
}
