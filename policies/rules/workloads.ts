// Where the pod lives inside each workload kind, and the per-container facts the pod rules share.
import { asArray, asNumber, asObject, asString, at, isUnknown, Json, KubeObject, stringMap } from "./k8s";
import { ANY_LABEL_VALUE } from "./selectors";

/** Path from the object to its PodTemplateSpec (or, for a bare Pod, the object itself). */
const TEMPLATE_PATH: Record<string, string[]> = {
  Pod: [],
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  ReplicationController: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

/** Every kind that runs pods: the kinds the pod rules look at. */
export const POD_KINDS = Object.keys(TEMPLATE_PATH);

export function hasPodTemplate(obj: KubeObject): boolean {
  return obj.kind in TEMPLATE_PATH;
}

/** The pod template ({ metadata, spec }) of a workload, or undefined when the object has none. */
export function podTemplate(obj: KubeObject): Json | undefined {
  const path = TEMPLATE_PATH[obj.kind];
  if (!path) return undefined;
  return path.length === 0 ? obj.raw : asObject(at(obj.raw, ...path));
}

export function podSpec(obj: KubeObject): Json | undefined {
  return asObject(at(podTemplate(obj), "spec"));
}

/** Labels the pods will carry (the template's; a bare Pod's own). */
export function podLabels(obj: KubeObject): Record<string, string> {
  return obj.kind === "Pod" ? obj.labels : stringMap(at(podTemplate(obj), "metadata", "labels"));
}

/** Whether the pods' labels are not known yet (preview), so nothing can be said about who selects them. */
export function podLabelsUnknown(obj: KubeObject): boolean {
  if (obj.kind === "Pod") return false;
  const path = TEMPLATE_PATH[obj.kind];
  if (!path) return false;
  const labels = at(obj.raw, ...path, "metadata", "labels");
  return isUnknown(labels) || Object.values(asObject(labels) ?? {}).some(isUnknown);
}

/**
 * The label sets the workload's pods will really carry: the template's labels plus what controllers add.
 * A StatefulSet gives each pod its name and index (Services select one ordinal, e.g. a MySQL primary,
 * by `statefulset.kubernetes.io/pod-name`), so it yields one set per ordinal. Hash labels the
 * controllers compute are unknowable here; selectors using them are not judged (ANY matches).
 */
export function podLabelSets(obj: KubeObject): Array<Record<string, string>> | undefined {
  if (podLabelsUnknown(obj)) return undefined;
  const base = podLabels(obj);
  if (obj.kind === "Deployment") return [{ ...base, "pod-template-hash": ANY_LABEL_VALUE }];
  if (obj.kind === "DaemonSet") return [{ ...base, "controller-revision-hash": ANY_LABEL_VALUE, "pod-template-generation": ANY_LABEL_VALUE }];
  if (obj.kind !== "StatefulSet") return [base];
  const count = replicas(obj);
  if (count === undefined) return undefined;
  const n = Math.min(Math.max(count, 1), 1000);
  return Array.from({ length: n }, (_, i) => ({
    ...base,
    "statefulset.kubernetes.io/pod-name": `${obj.name}-${i}`,
    "apps.kubernetes.io/pod-index": String(i),
    "controller-revision-hash": ANY_LABEL_VALUE,
  }));
}

/** spec.replicas as Kubernetes reads it: absent means 1; undefined when unknown during preview. */
export function replicas(obj: KubeObject): number | undefined {
  const raw = at(obj.raw, "spec", "replicas");
  if (raw === undefined || raw === null) return 1;
  return asNumber(raw);
}

export type ContainerKind = "container" | "initContainer" | "ephemeralContainer";

export interface ContainerRef {
  kind: ContainerKind;
  name: string;
  spec: Json;
  /** "container 'x'" / "init container 'x'": how messages name it. */
  label: string;
}

/** Every container of the pod: init, regular and ephemeral (each can carry the same risks). */
export function containers(obj: KubeObject, which: ContainerKind[] = ["container", "initContainer", "ephemeralContainer"]): ContainerRef[] {
  const spec = podSpec(obj);
  if (!spec) return [];
  const groups: Array<[ContainerKind, string, string]> = [
    ["initContainer", "initContainers", "init container"],
    ["container", "containers", "container"],
    ["ephemeralContainer", "ephemeralContainers", "ephemeral container"],
  ];
  const out: ContainerRef[] = [];
  for (const [kind, field, word] of groups) {
    if (!which.includes(kind)) continue;
    asArray(spec[field]).forEach((c, i) => {
      const cspec = asObject(c);
      if (!cspec) return;
      const name = asString(cspec.name) ?? `#${i}`;
      out.push({ kind, name, spec: cspec, label: `${word} '${name}'` });
    });
  }
  return out;
}

/** Whether the container list or any container's ports are unknown during preview. */
export function containerPortsUnknown(obj: KubeObject): boolean {
  const path = TEMPLATE_PATH[obj.kind];
  if (!path) return false;
  const spec = at(obj.raw, ...path, "spec");
  if (isUnknown(spec)) return true;
  for (const field of ["containers", "initContainers"]) {
    const list = asObject(spec)?.[field];
    if (isUnknown(list)) return true;
    for (const c of asArray(list)) {
      if (isUnknown(c) || isUnknown(at(c, "ports"))) return true;
      if (asArray(at(c, "ports")).some((p) => isUnknown(p) || isUnknown(at(p, "name")))) return true;
    }
  }
  return false;
}

/**
 * Init containers with restartPolicy Always are native sidecars: they run beside the app for the pod's
 * whole life, so the long-running rules (probes) treat them like regular containers.
 */
export function longRunningContainers(obj: KubeObject): ContainerRef[] {
  return containers(obj, ["container", "initContainer"]).filter((c) => c.kind === "container" || asString(c.spec.restartPolicy) === "Always");
}

/** A container's securityContext field, falling back to the pod's where Kubernetes does the same. */
export function effectiveSecurity(obj: KubeObject, c: ContainerRef, field: string): unknown {
  const own = at(c.spec, "securityContext", field);
  if (own !== undefined && own !== null) return own;
  return at(podSpec(obj), "securityContext", field);
}
