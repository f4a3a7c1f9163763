// Monitoring: every workload of the platform is scraped, and every data system has alerts. A workload
// nobody scrapes fails silently; a data system without alerts fails loudly only for its users.
import { parse } from "yaml";
import { stackRule, StackObject } from "./define";
import { asArray, asObject, asString, at, isUnknown } from "./k8s";
import { containers, hasPodTemplate, podLabels, podTemplate } from "./workloads";

const NAME = "app.kubernetes.io/name";
const PART_OF = "app.kubernetes.io/part-of";

/** Whether any value inside `v` is unknown (computed from another resource during preview). */
function containsUnknown(v: unknown): boolean {
  if (isUnknown(v)) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  return typeof v === "object" && v !== null && Object.values(v).some(containsUnknown);
}

function containerPorts(obj: StackObject): Array<{ name?: string; port?: number }> {
  return containers(obj, ["container"]).flatMap((c) =>
    asArray(at(c.spec, "ports")).map((p) => ({ name: asString(at(p, "name")) || undefined, port: Number(at(p, "containerPort")) })),
  );
}

/** Why the pods are not scraped by annotations; undefined when they are, or when preview cannot tell yet. */
function scrapedByAnnotations(obj: StackObject): string | undefined {
  const template = podTemplate(obj);
  const raw = at(template, "metadata", "annotations");
  // During preview a value computed from another resource is unknown: judge it once it is known.
  if (template === undefined || isUnknown(raw) || isUnknown(at(obj.raw, "spec")) || isUnknown(at(template, "spec"))) return undefined;
  const a = asObject(raw) ?? {};
  if (isUnknown(a["prometheus.io/scrape"]) || isUnknown(a["prometheus.io/port"])) return undefined;
  if (containsUnknown(at(template, "spec", "containers"))) return undefined;
  if (a["prometheus.io/scrape"] !== "true") return 'no prometheus.io/scrape: "true" annotation';
  const port = Number(a["prometheus.io/port"]);
  if (!containerPorts(obj).some((p) => p.port === port)) return `prometheus.io/port ${String(a["prometheus.io/port"])} is no container port of the pod`;
  return undefined;
}

function scrapedByPodMonitor(obj: StackObject, monitors: StackObject[]): boolean {
  const labels = podLabels(obj);
  const names = new Set(containerPorts(obj).map((p) => p.name));
  return monitors.some((m) => {
    if (m.namespace !== obj.namespace) return false;
    const selector = asObject(at(m.raw, "spec", "selector", "matchLabels")) ?? {};
    if (!Object.entries(selector).every(([k, v]) => labels[k] === v)) return false;
    return asArray(at(m.raw, "spec", "podMetricsEndpoints")).some((e) => names.has(asString(at(e, "port")) || undefined));
  });
}

export const workloadsScraped = stackRule({
  name: "workloads-scraped",
  description:
    "Every workload of the platform (app.kubernetes.io/part-of=classroom-platform) is scraped: a PodMonitor of its namespace selects its pods on a named container port, or its pods carry prometheus.io/scrape and a prometheus.io/port that is a container port.",
  enforcementLevel: "advisory",
  check(objects, _config, report) {
    const monitors = objects.filter((o) => o.kind === "PodMonitor");
    for (const obj of objects) {
      if (!hasPodTemplate(obj) || obj.kind === "Pod" || obj.labels[PART_OF] !== "classroom-platform") continue;
      if (scrapedByPodMonitor(obj, monitors)) continue;
      const why = scrapedByAnnotations(obj);
      if (why)
        report(
          obj,
          `${obj.kind} ${obj.namespace}/${obj.name} is not scraped: no PodMonitor of ${obj.namespace} selects it on a named container port, and ${why}`,
        );
    }
  },
});

interface AlertsConfig {
  dataApps: string[];
}

/** The alerts' `system` labels of a PrometheusRule, or of a ConfigMap that holds a rules file. */
function alertSystems(obj: StackObject): string[] {
  const groupsOf = (doc: unknown) => asArray(at(doc, "groups")).flatMap((g) => asArray(at(g, "rules")));
  let rules: unknown[] = [];
  if (obj.kind === "PrometheusRule") rules = groupsOf(at(obj.raw, "spec"));
  if (obj.kind === "ConfigMap") {
    for (const text of Object.values(asObject(at(obj.raw, "data")) ?? {})) {
      if (typeof text !== "string" || !/^groups:/m.test(text)) continue;
      try {
        rules.push(...groupsOf(parse(text)));
      } catch {
        /* not a rules file */
      }
    }
  }
  return rules.filter((r) => asString(at(r, "alert"))).map((r) => asString(at(r, "labels", "system")) ?? "");
}

export const dataSystemsAlerted = stackRule<AlertsConfig>({
  name: "data-systems-alerted",
  description:
    "Every data system of the stack (a StatefulSet whose app.kubernetes.io/name is one of dataApps) has at least one alert labelled system=<name>, in a PrometheusRule or a rules-file ConfigMap of its namespace.",
  enforcementLevel: "mandatory",
  config: {
    dataApps: {
      type: "array",
      items: { type: "string" },
      default: ["zookeeper", "kafka", "redis", "mysql"],
      description: "app.kubernetes.io/name values of the data systems that need alerts (default zookeeper, kafka, redis, mysql).",
    },
  },
  check(objects, config, report) {
    const alerted = new Map<string, Set<string>>();
    for (const o of objects) {
      if (o.kind !== "PrometheusRule" && o.kind !== "ConfigMap") continue;
      const set = alerted.get(o.namespace) ?? new Set<string>();
      for (const s of alertSystems(o)) set.add(s);
      alerted.set(o.namespace, set);
    }
    const reported = new Set<string>();
    for (const obj of objects) {
      const system = obj.labels[NAME];
      if (obj.kind !== "StatefulSet" || !config.dataApps.includes(system) || reported.has(`${obj.namespace}/${system}`)) continue;
      if (alerted.get(obj.namespace)?.has(system)) continue;
      reported.add(`${obj.namespace}/${system}`);
      report(
        obj,
        `${system} in ${obj.namespace} has no alerts: no PrometheusRule or rules ConfigMap of ${obj.namespace} holds an alert labelled system=${system}`,
      );
    }
  },
});

export const platformMonitoringRules = [workloadsScraped, dataSystemsAlerted];
