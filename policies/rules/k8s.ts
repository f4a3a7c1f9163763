// Read-only accessors over Kubernetes objects as CrossGuard hands them to a policy: plain JSON that may be
// partial, and during a preview may hold "unknown" sentinels where a value depends on another resource's
// output. Every accessor returns undefined instead of throwing, so a rule never crashes on a half-known
// object; rules skip what they cannot judge (the update run sees the known values and judges them then).

/** A value Pulumi cannot know during preview (the sentinels the engine and @pulumi/policy use). */
const UNKNOWN_SENTINELS = new Set([
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string / generic unknown
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
  "030794c1-ac77-496b-92df-f27374a8bd58", // asset
  "e48ece36-62e2-4504-bad9-02848725956a", // archive
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

export type Json = Record<string, unknown>;

/** True when `v` is a preview-time unknown (or a Pulumi Output that slipped through unserialized). */
export function isUnknown(v: unknown): boolean {
  if (typeof v === "string") return UNKNOWN_SENTINELS.has(v);
  return typeof v === "object" && v !== null && (v as Json)["__pulumiOutput"] === true;
}

/** Absent means "not set at all": undefined or null. An unknown value is NOT absent (it will be set). */
export function isAbsent(v: unknown): boolean {
  return v === undefined || v === null;
}

export function asObject(v: unknown): Json | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !isUnknown(v) ? (v as Json) : undefined;
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function asString(v: unknown): string | undefined {
  return typeof v === "string" && !isUnknown(v) ? v : undefined;
}

/** Numbers, and integer strings (YAML and some SDK paths hand numbers over as strings). */
export function asNumber(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && !isUnknown(v) && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return undefined;
}

/**
 * Walks a property path; stops (undefined) at anything that is not an object. An unknown met on the way
 * is returned as is, so callers can tell "not set" (undefined) from "not known yet" (isUnknown).
 */
export function at(v: unknown, ...path: string[]): unknown {
  let cur: unknown = v;
  for (const key of path) {
    if (isUnknown(cur)) return cur;
    const o = asObject(cur);
    if (!o) return undefined;
    cur = o[key];
  }
  return cur;
}

export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(asObject(v) ?? {})) {
    const s = asString(val);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/** Kinds that live outside namespaces (checked by the namespace rules, skipped by the others). */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "StorageClass",
  "PriorityClass",
  "IngressClass",
  "GatewayClass",
  "RuntimeClass",
  "CSIDriver",
  "CSINode",
  "VolumeAttachment",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "APIService",
  "CertificateSigningRequest",
  "FlowSchema",
  "PriorityLevelConfiguration",
  "ClusterIssuer",
]);

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

/** Stands in for a namespace that is unknown during preview. */
export const UNKNOWN_NAMESPACE = "<unknown>";

/** The Kubernetes object of a `kubernetes:*` resource, with the fields every rule needs read once. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  name: string;
  /** The namespace the object lands in ("" for cluster-scoped kinds; "default" when nothing sets one). */
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The whole object (spec, data, ...), possibly partial or holding unknowns. */
  raw: Json;
}

/**
 * Reads a `kubernetes:*` resource's props into a KubeObject, or undefined for anything else (providers,
 * components, the YAML/Helm wrappers, objects whose kind is unknown during preview).
 * `defaultNamespace` is the provider's namespace, which Pulumi applies to objects that set none.
 */
export function toKube(type: string, props: unknown, defaultNamespace?: string): KubeObject | undefined {
  if (!type.startsWith("kubernetes:")) return undefined;
  const raw = asObject(props);
  const kind = asString(raw?.kind);
  const apiVersion = asString(raw?.apiVersion);
  if (!raw || !kind || !apiVersion || kind.endsWith("List")) return undefined;
  const metadata = asObject(raw.metadata) ?? {};
  // A namespace unknown during preview is not "default": rules must not judge it as such.
  const ns = isUnknown(raw.metadata) || isUnknown(metadata.namespace) ? UNKNOWN_NAMESPACE : asString(metadata.namespace);
  return {
    apiVersion,
    kind,
    name: asString(metadata.name) ?? "",
    namespace: isClusterScoped(kind) ? "" : (ns ?? defaultNamespace ?? "default"),
    labels: stringMap(metadata.labels),
    annotations: stringMap(metadata.annotations),
    raw,
  };
}

/** `Kind namespace/name`, the way violations name an object. */
export function describe(obj: Pick<KubeObject, "kind" | "namespace" | "name">): string {
  return obj.namespace ? `${obj.kind} ${obj.namespace}/${obj.name}` : `${obj.kind} ${obj.name}`;
}
