import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface DisruptionBudgetArgs {
  namespace: string;
  /** Object name; the workload's instance name. */
  name: string;
  labels: Record<string, string>;
  selector: Record<string, string>;
  replicas: number;
  /** Pods allowed down at once during drains and upgrades. */
  maxUnavailable: number;
}

/**
 * A PodDisruptionBudget where it means something: with one replica a budget of maxUnavailable 1 allows
 * everything and one of 0 blocks node drains forever, so single-replica workloads get none.
 */
export function disruptionBudget(args: DisruptionBudgetArgs, opts: pulumi.CustomResourceOptions): k8s.policy.v1.PodDisruptionBudget | undefined {
  if (args.replicas <= 1) return undefined;
  return new k8s.policy.v1.PodDisruptionBudget(
    `${args.name}-pdb`,
    {
      metadata: { name: args.name, namespace: args.namespace, labels: args.labels },
      spec: { maxUnavailable: args.maxUnavailable, selector: { matchLabels: args.selector } },
    },
    opts,
  );
}
