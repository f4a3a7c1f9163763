import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { nginxCanaryMatchAnnotations } from "./request-match";
import { HttpExposure } from "./weights";

export interface NginxCanaryIngressArgs extends HttpExposure {
  /** IngressClass of the cluster's ingress-nginx. */
  ingressClassName: string;
}

/**
 * For clusters that still run ingress-nginx: the main Ingress to stable plus one canary-annotated
 * Ingress. ingress-nginx honours a single canary Ingress per host and path, so canary and legacy
 * backends cannot both take traffic in this mode (the component refuses that combination).
 */
export function nginxCanaryIngresses(args: NginxCanaryIngressArgs, opts: pulumi.CustomResourceOptions): k8s.networking.v1.Ingress[] {
  const rules = (backend: string) =>
    (args.hostnames.length ? args.hostnames : [undefined]).map((host) => ({
      ...(host ? { host } : {}),
      http: { paths: [{ path: args.pathPrefix, pathType: "Prefix", backend: { service: { name: backend, port: { number: args.port } } } }] },
    }));
  const main = new k8s.networking.v1.Ingress(
    `${args.name}-ingress`,
    {
      metadata: { name: args.name, namespace: args.namespace, labels: args.labels },
      spec: { ingressClassName: args.ingressClassName, rules: rules(`${args.name}-stable`) },
    },
    opts,
  );
  const second = args.backends.canary ? "canary" : args.backends.legacy ? "legacy" : undefined;
  if (!second) return [main];
  const weight = second === "canary" ? args.split.canary : args.split.legacy;
  const canary = new k8s.networking.v1.Ingress(
    `${args.name}-ingress-${second}`,
    {
      metadata: {
        name: `${args.name}-${second}`,
        namespace: args.namespace,
        labels: args.labels,
        annotations: {
          "nginx.ingress.kubernetes.io/canary": "true",
          "nginx.ingress.kubernetes.io/canary-weight": String(weight),
          ...(second === "canary" && args.canaryMatch ? nginxCanaryMatchAnnotations(args.canaryMatch) : {}),
        },
      },
      spec: { ingressClassName: args.ingressClassName, rules: rules(`${args.name}-${second}`) },
    },
    opts,
  );
  return [main, canary];
}
