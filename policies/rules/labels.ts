// Labels are how people, dashboards and the other rules find an object's owner and layer.
import { resourceRule } from "./define";
import { asString, at, isUnknown } from "./k8s";
import { hasPodTemplate, podTemplate } from "./workloads";

interface RecommendedLabelsConfig {
  requiredLabels: string[];
  labelValues: Record<string, string>;
}

export const recommendedLabels = resourceRule<RecommendedLabelsConfig>({
  name: "recommended-labels",
  description:
    "Every object carries the recommended app.kubernetes.io labels (name, instance, managed-by, part-of), with the platform's fixed values; pod templates carry name and instance.",
  enforcementLevel: "advisory",
  config: {
    requiredLabels: {
      type: "array",
      items: { type: "string" },
      default: ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of"],
      description: "Labels every object must carry (default the four recommended app.kubernetes.io labels).",
    },
    labelValues: {
      type: "object",
      additionalProperties: { type: "string" },
      default: { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "classroom-platform" },
      description: "Labels whose value is fixed across the platform (default managed-by=pulumi, part-of=classroom-platform).",
    },
  },
  check(obj, config, report) {
    const raw = at(obj.raw, "metadata", "labels");
    if (isUnknown(raw)) return;
    // A label whose value is unknown during preview is there; only absent or empty ones are missing.
    const has = (labels: unknown, l: string) => isUnknown(at(labels, l)) || !!asString(at(labels, l));
    const missing = config.requiredLabels.filter((l) => !has(raw, l));
    if (missing.length) report(`is missing label(s) ${missing.join(", ")}`);
    for (const [label, want] of Object.entries(config.labelValues)) {
      const got = obj.labels[label];
      if (got !== undefined && got !== want) report(`has ${label}=${got}; the platform uses ${want}`);
    }
    const template = podTemplate(obj);
    if (hasPodTemplate(obj) && obj.kind !== "Pod" && template) {
      const podRaw = at(template, "metadata", "labels");
      const podMissing = ["app.kubernetes.io/name", "app.kubernetes.io/instance"].filter((l) => !has(podRaw, l));
      if (podMissing.length && !isUnknown(podRaw)) {
        report(`pod template is missing label(s) ${podMissing.join(", ")}`);
      }
    }
  },
});

interface TierConfig {
  allowedTiers: string[];
}

const TIERED_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "Service"];

export const tierLabel = resourceRule<TierConfig>({
  name: "tier-label",
  description:
    "Workloads and Services carry classroom.io/tier (data, service, or external for a system outside the cluster): the data-layer rules find data systems by it, so a missing tier hides them.",
  enforcementLevel: "mandatory",
  kinds: TIERED_KINDS,
  config: {
    allowedTiers: {
      type: "array",
      items: { type: "string" },
      default: ["data", "service", "external"],
      description: "Values classroom.io/tier may take (default data, service, external: the Service of a system outside the cluster).",
    },
  },
  check(obj, config, report) {
    if (isUnknown(at(obj.raw, "metadata", "labels"))) return;
    const tier = obj.labels["classroom.io/tier"];
    if (tier === undefined) report(`has no classroom.io/tier label; allowed: ${config.allowedTiers.join(", ")}`);
    else if (!config.allowedTiers.includes(tier)) report(`has classroom.io/tier=${tier}; allowed: ${config.allowedTiers.join(", ")}`);
  },
});

export const labelRules = [recommendedLabels, tierLabel];
