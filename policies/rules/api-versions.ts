// API versions the cluster no longer serves (or soon will not), and objects that fall into `default`.
import { resourceRule } from "./define";
import { isClusterScoped } from "./k8s";

interface Deprecation {
  /** Kinds affected ("*" for every kind of the group version). */
  kinds: string[];
  /** Kubernetes minor version that stopped serving it (undefined: deprecated, still served). */
  removedIn?: string;
  deprecatedIn: string;
  use: string;
}

/** From the Kubernetes deprecated API migration guide, plus Gateway API's pre-v1 versions. */
const DEPRECATED: Record<string, Deprecation[]> = {
  "extensions/v1beta1": [
    { kinds: ["Deployment", "DaemonSet", "ReplicaSet"], deprecatedIn: "1.9", removedIn: "1.16", use: "apps/v1" },
    { kinds: ["NetworkPolicy"], deprecatedIn: "1.9", removedIn: "1.16", use: "networking.k8s.io/v1" },
    { kinds: ["Ingress"], deprecatedIn: "1.14", removedIn: "1.22", use: "networking.k8s.io/v1" },
    { kinds: ["PodSecurityPolicy"], deprecatedIn: "1.10", removedIn: "1.16", use: "Pod Security admission" },
  ],
  "apps/v1beta1": [{ kinds: ["*"], deprecatedIn: "1.9", removedIn: "1.16", use: "apps/v1" }],
  "apps/v1beta2": [{ kinds: ["*"], deprecatedIn: "1.9", removedIn: "1.16", use: "apps/v1" }],
  "policy/v1beta1": [
    { kinds: ["PodDisruptionBudget"], deprecatedIn: "1.21", removedIn: "1.25", use: "policy/v1" },
    { kinds: ["PodSecurityPolicy"], deprecatedIn: "1.21", removedIn: "1.25", use: "Pod Security admission" },
  ],
  "batch/v1beta1": [{ kinds: ["CronJob"], deprecatedIn: "1.21", removedIn: "1.25", use: "batch/v1" }],
  "autoscaling/v2beta1": [{ kinds: ["HorizontalPodAutoscaler"], deprecatedIn: "1.22", removedIn: "1.25", use: "autoscaling/v2" }],
  "autoscaling/v2beta2": [{ kinds: ["HorizontalPodAutoscaler"], deprecatedIn: "1.23", removedIn: "1.26", use: "autoscaling/v2" }],
  "networking.k8s.io/v1beta1": [{ kinds: ["Ingress", "IngressClass"], deprecatedIn: "1.19", removedIn: "1.22", use: "networking.k8s.io/v1" }],
  "rbac.authorization.k8s.io/v1beta1": [{ kinds: ["*"], deprecatedIn: "1.17", removedIn: "1.22", use: "rbac.authorization.k8s.io/v1" }],
  "rbac.authorization.k8s.io/v1alpha1": [{ kinds: ["*"], deprecatedIn: "1.17", removedIn: "1.22", use: "rbac.authorization.k8s.io/v1" }],
  "discovery.k8s.io/v1beta1": [{ kinds: ["EndpointSlice"], deprecatedIn: "1.21", removedIn: "1.25", use: "discovery.k8s.io/v1" }],
  "storage.k8s.io/v1beta1": [{ kinds: ["*"], deprecatedIn: "1.19", removedIn: "1.22", use: "storage.k8s.io/v1" }],
  "scheduling.k8s.io/v1beta1": [{ kinds: ["PriorityClass"], deprecatedIn: "1.14", removedIn: "1.22", use: "scheduling.k8s.io/v1" }],
  "admissionregistration.k8s.io/v1beta1": [{ kinds: ["*"], deprecatedIn: "1.16", removedIn: "1.22", use: "admissionregistration.k8s.io/v1" }],
  "apiextensions.k8s.io/v1beta1": [{ kinds: ["CustomResourceDefinition"], deprecatedIn: "1.16", removedIn: "1.22", use: "apiextensions.k8s.io/v1" }],
  "certificates.k8s.io/v1beta1": [{ kinds: ["CertificateSigningRequest"], deprecatedIn: "1.19", removedIn: "1.22", use: "certificates.k8s.io/v1" }],
  "coordination.k8s.io/v1beta1": [{ kinds: ["Lease"], deprecatedIn: "1.14", removedIn: "1.22", use: "coordination.k8s.io/v1" }],
  "events.k8s.io/v1beta1": [{ kinds: ["Event"], deprecatedIn: "1.19", removedIn: "1.25", use: "events.k8s.io/v1" }],
  "node.k8s.io/v1beta1": [{ kinds: ["RuntimeClass"], deprecatedIn: "1.20", removedIn: "1.25", use: "node.k8s.io/v1" }],
  "flowcontrol.apiserver.k8s.io/v1beta1": [{ kinds: ["*"], deprecatedIn: "1.23", removedIn: "1.26", use: "flowcontrol.apiserver.k8s.io/v1" }],
  "flowcontrol.apiserver.k8s.io/v1beta2": [{ kinds: ["*"], deprecatedIn: "1.26", removedIn: "1.29", use: "flowcontrol.apiserver.k8s.io/v1" }],
  "flowcontrol.apiserver.k8s.io/v1beta3": [{ kinds: ["*"], deprecatedIn: "1.29", removedIn: "1.32", use: "flowcontrol.apiserver.k8s.io/v1" }],
  // Endpoints still works but is deprecated since 1.33 in favour of EndpointSlice (dual-stack, scale).
  v1: [{ kinds: ["Endpoints"], deprecatedIn: "1.33", use: "discovery.k8s.io/v1 EndpointSlice" }],
  "gateway.networking.k8s.io/v1alpha2": [
    {
      kinds: ["HTTPRoute", "Gateway", "GatewayClass", "ReferenceGrant", "GRPCRoute"],
      deprecatedIn: "gateway-api 1.0",
      use: "gateway.networking.k8s.io/v1 (v1beta1 for ReferenceGrant)",
    },
  ],
  "gateway.networking.k8s.io/v1beta1": [
    { kinds: ["HTTPRoute", "Gateway", "GatewayClass"], deprecatedIn: "gateway-api 1.0", use: "gateway.networking.k8s.io/v1" },
  ],
};

export const noDeprecatedApiVersions = resourceRule({
  name: "no-deprecated-api-versions",
  description: "Objects must use API versions the target cluster serves and that are not deprecated (Kubernetes migration guide, Gateway API v1).",
  enforcementLevel: "mandatory",
  check(obj, _config, report) {
    const hit = (DEPRECATED[obj.apiVersion] ?? []).find((d) => d.kinds.includes("*") || d.kinds.includes(obj.kind));
    if (!hit) return;
    const status = hit.removedIn
      ? `was removed in Kubernetes ${hit.removedIn}`
      : `is deprecated (since ${hit.deprecatedIn.startsWith("gateway") ? hit.deprecatedIn : `Kubernetes ${hit.deprecatedIn}`})`;
    report(`uses ${obj.apiVersion} ${obj.kind}, which ${status}; use ${hit.use}`);
  },
});

export const noDefaultNamespace = resourceRule({
  name: "no-default-namespace",
  description: "Namespaced objects must name their namespace, and it must not be `default` (shared by everything that forgets to choose).",
  enforcementLevel: "mandatory",
  check(obj, _config, report) {
    if (isClusterScoped(obj.kind)) return;
    if (obj.namespace === "default") {
      report(
        obj.raw.metadata && (obj.raw.metadata as Record<string, unknown>).namespace === "default"
          ? "is placed in the default namespace; use the platform's namespaces"
          : "sets no metadata.namespace, so it lands in the default namespace",
      );
    }
  },
});

export const apiVersionRules = [noDeprecatedApiVersions, noDefaultNamespace];
