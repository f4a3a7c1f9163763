// Availability: enough replicas, spread over nodes by selectors that really count this workload's pods,
// disruption budgets that protect them without blocking node drains, and autoscalers that make sense.
import { resourceRule, stackRule, StackObject } from "./define";
import { asArray, asNumber, asObject, asString, at, describe, isUnknown } from "./k8s";
import type { KubeObject } from "./k8s";
import { formatLabels, formatSelector, selectorMatches, selectsAny } from "./selectors";
import { podLabels, podLabelSets, podSpec, replicas } from "./workloads";

const SCALABLE = ["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"];

/** The HPA of the stack that scales `workload`, if any. */
function hpaFor(workload: KubeObject, objects: StackObject[]): StackObject | undefined {
  return objects.find(
    (o) =>
      o.kind === "HorizontalPodAutoscaler" &&
      o.namespace === workload.namespace &&
      asString(at(o.raw, "spec", "scaleTargetRef", "kind")) === workload.kind &&
      asString(at(o.raw, "spec", "scaleTargetRef", "name")) === workload.name,
  );
}

/** Fewest and most replicas a workload runs with: the HPA's bounds when one scales it, else spec.replicas. */
function replicaRange(workload: KubeObject, objects: StackObject[]): { min?: number; max?: number; source: string } {
  const hpa = hpaFor(workload, objects);
  if (hpa) {
    const min = at(hpa.raw, "spec", "minReplicas");
    return {
      min: min === undefined || min === null ? 1 : asNumber(min),
      max: asNumber(at(hpa.raw, "spec", "maxReplicas")),
      source: `HorizontalPodAutoscaler ${hpa.name}`,
    };
  }
  const r = replicas(workload);
  return { min: r, max: r, source: "spec.replicas" };
}

interface HaConfig {
  minReplicas: number;
  exemptTracks: string[];
  exemptWorkloads: string[];
}

export const haReplicas = stackRule<HaConfig>({
  name: "ha-replicas",
  description:
    "In highly available environments every workload runs at least minReplicas pods (HPA minimum counts), so losing one pod or node is not an outage.",
  enforcementLevel: "advisory",
  config: {
    minReplicas: { type: "integer", minimum: 1, default: 2, description: "Fewest replicas a workload may run (default 2)." },
    exemptTracks: {
      type: "array",
      items: { type: "string" },
      default: ["canary"],
      description: "Values of label classroom.io/track whose workloads are exempt (default canary: a canary is deliberately small).",
    },
    exemptWorkloads: {
      type: "array",
      items: { type: "string" },
      default: [],
      description: "Workloads (name or namespace/name) that are single by design, e.g. a leader-elected singleton (default none).",
    },
  },
  check(objects, config, report) {
    for (const w of objects.filter((o) => SCALABLE.includes(o.kind))) {
      const track = w.labels["classroom.io/track"];
      if (track !== undefined && config.exemptTracks.includes(track)) continue;
      if (config.exemptWorkloads.includes(w.name) || config.exemptWorkloads.includes(`${w.namespace}/${w.name}`)) continue;
      const { min, source } = replicaRange(w, objects);
      if (min !== undefined && min < config.minReplicas) {
        report(w, `runs ${min} replica(s) (${source}); this environment needs at least ${config.minReplicas} so one pod or node loss is not an outage`);
      }
    }
  },
});

export const podDisruptionBudget = stackRule({
  name: "pod-disruption-budget",
  description: "Every workload that can run more than one replica has a PodDisruptionBudget in its namespace selecting its pods.",
  enforcementLevel: "advisory",
  check(objects, _config, report) {
    const pdbs = objects.filter((o) => o.kind === "PodDisruptionBudget");
    for (const w of objects.filter((o) => SCALABLE.includes(o.kind))) {
      const { max } = replicaRange(w, objects);
      if (max === undefined || max <= 1) continue;
      const labels = podLabels(w);
      const covered = pdbs.some(
        (p) => p.namespace === w.namespace && selectsAny(podLabelSets(w), (l) => selectorMatches(at(p.raw, "spec", "selector"), l)) !== false,
      );
      if (!covered) {
        report(w, `can run ${max} replicas but no PodDisruptionBudget in namespace ${w.namespace} selects its pods ${formatLabels(labels)}`);
      }
    }
  },
});

/** An IntOrString budget as a count of `total` pods ("25%" rounds up, as the disruption controller does). */
function budgetCount(v: unknown, total: number): number | undefined {
  const s = asString(v);
  if (s !== undefined && s.endsWith("%")) {
    const pct = Number(s.slice(0, -1));
    return Number.isFinite(pct) ? Math.ceil((pct * total) / 100) : undefined;
  }
  return asNumber(v);
}

export const pdbEffective = stackRule({
  name: "pdb-effective",
  description: "A PodDisruptionBudget must select the pods of some workload in the stack and still let one of them be evicted (or node drains hang).",
  enforcementLevel: "advisory",
  check(objects, _config, report) {
    const workloads = objects.filter((o) => SCALABLE.includes(o.kind));
    for (const pdb of objects.filter((o) => o.kind === "PodDisruptionBudget")) {
      const selector = at(pdb.raw, "spec", "selector");
      const verdict = (w: StackObject) => selectsAny(podLabelSets(w), (l) => selectorMatches(selector, l));
      const inNamespace = workloads.filter((w) => w.namespace === pdb.namespace);
      if (isUnknown(selector) || inNamespace.some((w) => verdict(w) === undefined)) continue;
      const selected = inNamespace.filter((w) => verdict(w) === true);
      if (selected.length === 0) {
        report(pdb, `selector ${formatSelector(selector)} selects no pods of any workload in namespace ${pdb.namespace}`);
        continue;
      }
      const total = selected.reduce((sum, w) => sum + (replicaRange(w, objects).min ?? NaN), 0);
      if (!Number.isFinite(total)) continue;
      const maxUnavailable = at(pdb.raw, "spec", "maxUnavailable");
      const minAvailable = at(pdb.raw, "spec", "minAvailable");
      const mu = maxUnavailable === undefined ? undefined : budgetCount(maxUnavailable, total);
      const ma = minAvailable === undefined ? undefined : budgetCount(minAvailable, total);
      const who = selected.map(describe).join(", ");
      if (mu !== undefined && mu <= 0) {
        report(pdb, `maxUnavailable ${String(maxUnavailable)} lets no pod of ${who} be evicted; node drains would hang`);
      } else if (ma !== undefined && ma >= total && total > 0) {
        report(pdb, `minAvailable ${String(minAvailable)} with ${total} replica(s) of ${who} lets no pod be evicted; node drains would hang`);
      }
    }
  },
});

export const spreadOrAntiAffinity = stackRule({
  name: "spread-or-anti-affinity",
  description:
    "Workloads that can run more than one replica (spec.replicas or their HPA's maximum) spread their pods over nodes with topologySpreadConstraints or podAntiAffinity.",
  enforcementLevel: "advisory",
  check(objects, _config, report) {
    for (const w of objects.filter((o) => SCALABLE.includes(o.kind))) {
      const { max, source } = replicaRange(w, objects);
      if (max === undefined || max <= 1) continue;
      const spec = podSpec(w);
      if (!spec) continue;
      const spread = spec.topologySpreadConstraints;
      const anti = at(spec, "affinity", "podAntiAffinity");
      if (isUnknown(spread) || isUnknown(anti)) continue;
      if (asArray(spread).length === 0 && !asObject(anti)) {
        report(w, `can run ${max} replicas (${source}) with neither topologySpreadConstraints nor podAntiAffinity; they may all land on one node`);
      }
    }
  },
});

/** Every label selector a pod spec uses to find its own siblings, with where it sits. */
function siblingSelectors(spec: Record<string, unknown>): Array<{ where: string; selector: unknown }> {
  const out: Array<{ where: string; selector: unknown }> = [];
  asArray(spec.topologySpreadConstraints).forEach((c, i) =>
    out.push({ where: `topologySpreadConstraints[${i}].labelSelector`, selector: at(c, "labelSelector") }),
  );
  const anti = at(spec, "affinity", "podAntiAffinity");
  asArray(at(anti, "requiredDuringSchedulingIgnoredDuringExecution")).forEach((t, i) =>
    out.push({ where: `podAntiAffinity.required[${i}].labelSelector`, selector: at(t, "labelSelector") }),
  );
  asArray(at(anti, "preferredDuringSchedulingIgnoredDuringExecution")).forEach((t, i) =>
    out.push({ where: `podAntiAffinity.preferred[${i}].podAffinityTerm.labelSelector`, selector: at(t, "podAffinityTerm", "labelSelector") }),
  );
  return out;
}

export const spreadSelectorsMatchPods = resourceRule({
  name: "spread-selectors-match-pods",
  description: "Topology spread and anti-affinity selectors must match the workload's own pod labels; a selector that matches nothing spreads nothing.",
  enforcementLevel: "mandatory",
  kinds: ["Pod", ...SCALABLE],
  check(obj, _config, report) {
    const spec = podSpec(obj);
    if (!spec) return;
    const labels = podLabels(obj);
    if (!podLabelSets(obj)) return;
    for (const { where, selector } of siblingSelectors(spec)) {
      if (isUnknown(selector)) continue;
      if (selector === undefined || selector === null) {
        report(`${where} is missing, so it selects no pods and spreads nothing`);
        continue;
      }
      if (selectsAny(podLabelSets(obj), (l) => selectorMatches(selector, l)) === false) {
        report(`${where} ${formatSelector(selector)} does not match the pod labels ${formatLabels(labels)}, so it spreads nothing`);
      }
    }
  },
});

interface HpaConfig {
  minReplicas: number;
}

export const hpaBounds = resourceRule<HpaConfig>({
  name: "hpa-bounds",
  description: "A HorizontalPodAutoscaler needs minReplicas <= maxReplicas and, in highly available environments, minReplicas >= the configured floor.",
  enforcementLevel: "advisory",
  kinds: ["HorizontalPodAutoscaler"],
  config: {
    minReplicas: { type: "integer", minimum: 1, default: 2, description: "Lowest allowed minReplicas (default 2; 1 in dev)." },
  },
  check(obj, config, report) {
    const rawMin = at(obj.raw, "spec", "minReplicas");
    const rawMax = at(obj.raw, "spec", "maxReplicas");
    const min = rawMin === undefined || rawMin === null ? 1 : asNumber(rawMin);
    const max = asNumber(rawMax);
    if (rawMax === undefined || rawMax === null) report("sets no spec.maxReplicas");
    if (min !== undefined && max !== undefined && min > max) report(`minReplicas ${min} is above maxReplicas ${max}`);
    if (min !== undefined && min < config.minReplicas) {
      report(`minReplicas ${min} is below ${config.minReplicas}, the floor for this environment`);
    }
  },
});

export const hpaTargetExists = stackRule({
  name: "hpa-target-exists",
  description: "A HorizontalPodAutoscaler must scale a workload that exists in the stack, in the same namespace.",
  enforcementLevel: "mandatory",
  check(objects, _config, report) {
    for (const hpa of objects.filter((o) => o.kind === "HorizontalPodAutoscaler")) {
      const ref = at(hpa.raw, "spec", "scaleTargetRef");
      const kind = asString(at(ref, "kind"));
      const name = asString(at(ref, "name"));
      if (isUnknown(ref) || kind === undefined || name === undefined) continue;
      const found = objects.some((o) => o.kind === kind && o.name === name && o.namespace === hpa.namespace);
      if (!found) report(hpa, `scaleTargetRef ${kind} ${name} is not a workload of this stack in namespace ${hpa.namespace}`);
    }
  },
});

export const availabilityRules = [haReplicas, podDisruptionBudget, pdbEffective, spreadOrAntiAffinity, spreadSelectorsMatchPods, hpaBounds, hpaTargetExists];
