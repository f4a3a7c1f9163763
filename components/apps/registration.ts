import * as k8s from "@pulumi/kubernetes";
import { DISCOVERY_ENV } from "@classroom-platform/runtime/contracts";
import { REGISTRAR_ANNOTATIONS, REGISTRAR_LABEL } from "@classroom-platform/runtime/registrar";
import type { ServiceConfig } from "../../infra/config";

/** Where rpc instances register (runtime/discovery reads the same settings). */
export interface RegistryArgs {
  /** ZooKeeper connect string. */
  connect: string;
  /** Root path of the registry. Default: /classroom/services. */
  root?: string;
  /**
   * `self` (default): each pod registers itself through runtime/discovery, from the env below.
   * `registrar`: the registrar daemon writes the nodes from the track Services' EndpointSlices; pods get
   * no registry env, and a weight step only changes an annotation on the canary track Service.
   */
  mode: ServiceConfig["registration"];
}

/**
 * The registration contract of runtime/discovery (see its README) as env vars. Stable instances carry
 * weight 100, meaning "whatever the canary does not take": the canary's weight is the only number a
 * weight change touches, so stable pods are never restarted for a canary step. Nothing for `registrar`
 * services: their pods do not register.
 */
export function registrationEnv(
  registry: RegistryArgs,
  instance: { service: string; namespace: string; port: number; track: "stable" | "canary"; canaryWeight?: number },
): k8s.types.input.core.v1.EnvVar[] {
  if (registry.mode === "registrar") return [];
  return [
    { name: DISCOVERY_ENV.connect, value: registry.connect },
    { name: DISCOVERY_ENV.root, value: registry.root ?? "/classroom/services" },
    { name: DISCOVERY_ENV.namespace, value: instance.namespace },
    { name: DISCOVERY_ENV.port, value: String(instance.port) },
    { name: DISCOVERY_ENV.weight, value: String(instance.track === "canary" ? (instance.canaryWeight ?? 0) : 100) },
    { name: DISCOVERY_ENV.podIp, valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
  ];
}

/**
 * What the registrar reads from a track Service of a `registrar` service (runtime/registrar/README.md):
 * the opt-in label, the track and the track's weight (stable: 100, as self-registered stable pods say).
 * Empty for every other service, so their Services render as before.
 */
export function trackServiceRegistration(
  registry: RegistryArgs | undefined,
  track: "stable" | "canary",
  canaryWeight?: number,
): { labels: Record<string, string>; annotations?: Record<string, string> } {
  if (registry?.mode !== "registrar") return { labels: {} };
  return {
    labels: { [REGISTRAR_LABEL.key]: REGISTRAR_LABEL.value },
    annotations: {
      [REGISTRAR_ANNOTATIONS.track]: track,
      [REGISTRAR_ANNOTATIONS.weight]: String(track === "canary" ? (canaryWeight ?? 0) : 100),
    },
  };
}
