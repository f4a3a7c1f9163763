/** Who a workload is, in the terms of the Kubernetes recommended labels. */
export interface WorkloadIdentity {
  /** `app.kubernetes.io/name`: the application, e.g. `zookeeper` or `room-api`. */
  name: string;
  /** `app.kubernetes.io/instance`: this installation, unique in its namespace, e.g. `room-api-canary`. */
  instance: string;
  /** `app.kubernetes.io/component`: its role, e.g. `coordination`, `broker`, `http`. */
  component: string;
  /** `classroom.io/tier`: data-layer systems and classroom services get different network rules. */
  tier: "data" | "service";
  /** `app.kubernetes.io/version`, taken from the image tag when it is a valid label value. */
  version?: string;
  /** `classroom.io/track` for classroom services: `stable` or `canary`. */
  track?: "stable" | "canary";
}

export const PART_OF = "classroom-platform";

/** The label every client pod of a data system carries; the system's NetworkPolicy admits only those. */
export function clientLabel(system: string): string {
  return `classroom.io/client-${system}`;
}

/**
 * The recommended labels of a platform object that belongs to no workload (a namespace, its default-deny
 * policy, the registry pull secret): the policy pack requires them on every object.
 */
export function platformObjectLabels(name: string, instance: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/instance": instance,
    "app.kubernetes.io/part-of": PART_OF,
    "app.kubernetes.io/managed-by": "pulumi",
  };
}

/** Labels that select exactly the pods of one workload. Immutable once a Deployment exists, so they never include the version. */
export function selectorLabels(id: WorkloadIdentity): Record<string, string> {
  return { "app.kubernetes.io/name": id.name, "app.kubernetes.io/instance": id.instance };
}

/** All labels for an object of a workload: the selector labels plus the descriptive ones. */
export function workloadLabels(id: WorkloadIdentity): Record<string, string> {
  const labels: Record<string, string> = {
    ...selectorLabels(id),
    "app.kubernetes.io/component": id.component,
    "app.kubernetes.io/part-of": PART_OF,
    "app.kubernetes.io/managed-by": "pulumi",
    "classroom.io/tier": id.tier,
  };
  if (id.version) labels["app.kubernetes.io/version"] = id.version;
  if (id.track) labels["classroom.io/track"] = id.track;
  return labels;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The tag of an image reference (`repo:tag` or `repo:tag@sha256:…`) when it can be a label value. */
export function imageVersion(image: string): string | undefined {
  const withoutDigest = image.split("@")[0];
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  if (colon < 0) return undefined;
  const tag = withoutDigest.slice(colon + 1);
  return tag.length <= 63 && LABEL_VALUE.test(tag) ? tag : undefined;
}
