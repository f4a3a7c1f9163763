import * as k8s from "@pulumi/kubernetes";
import { SpreadOptions } from "./workload-options";

type Affinity = k8s.types.input.core.v1.Affinity;
type TopologySpreadConstraint = k8s.types.input.core.v1.TopologySpreadConstraint;

/**
 * Keeps replicas of one workload apart. The selector is exactly the pod's selector labels: the
 * Kubernetes ZooKeeper tutorial (and several charts) once used a label the pods did not carry, which
 * silently disabled the rule.
 */
export function spreadPods(
  selector: Record<string, string>,
  replicas: number,
  spread: Required<SpreadOptions>,
): { affinity?: Affinity; topologySpreadConstraints?: TopologySpreadConstraint[] } {
  if (replicas <= 1) return {};
  const term = { labelSelector: { matchLabels: selector }, topologyKey: spread.topologyKey };
  const affinity: Affinity =
    spread.mode === "required"
      ? { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } }
      : { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] } };
  // Zones as well, best effort: a cluster without zone labels must still schedule.
  const topologySpreadConstraints: TopologySpreadConstraint[] = [
    { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
  ];
  return { affinity, topologySpreadConstraints };
}
