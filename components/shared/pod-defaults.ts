import * as k8s from "@pulumi/kubernetes";
import { spreadPods } from "./scheduling";
import { ImageUser, restrictedPodSecurity } from "./security";
import { ResolvedWorkloadOptions } from "./workload-options";

/**
 * The pod-level settings every data-layer workload shares: no service-account token (none of them talks
 * to the API server), the restricted security context for the image's user, placement from the workload
 * options, and spread over nodes whose selector is exactly the pods' own.
 */
export function dataPodDefaults(
  user: ImageUser,
  w: Pick<ResolvedWorkloadOptions, "replicas" | "spread" | "nodeSelector" | "priorityClassName">,
  selector: Record<string, string>,
  terminationGracePeriodSeconds?: number,
): Partial<k8s.types.input.core.v1.PodSpec> {
  return {
    automountServiceAccountToken: false,
    securityContext: restrictedPodSecurity(user),
    terminationGracePeriodSeconds,
    nodeSelector: w.nodeSelector,
    priorityClassName: w.priorityClassName,
    ...spreadPods(selector, w.replicas, w.spread),
  };
}
