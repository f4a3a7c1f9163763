import * as k8s from "@pulumi/kubernetes";

/** Where rpc instances register (runtime/discovery reads the same settings). */
export interface RegistryArgs {
  /** ZooKeeper connect string. */
  connect: string;
  /** Root path of the registry. Default: /classroom/services. */
  root?: string;
}

/**
 * The registration contract of runtime/discovery (see its README) as env vars. Stable instances carry
 * weight 100, meaning "whatever the canary does not take": the canary's weight is the only number a
 * weight change touches, so stable pods are never restarted for a canary step.
 */
export function registrationEnv(
  registry: RegistryArgs,
  instance: { service: string; namespace: string; port: number; track: "stable" | "canary"; canaryWeight?: number },
): k8s.types.input.core.v1.EnvVar[] {
  return [
    { name: "CLASSROOM_REGISTRY_CONNECT", value: registry.connect },
    { name: "CLASSROOM_REGISTRY_ROOT", value: registry.root ?? "/classroom/services" },
    { name: "CLASSROOM_NAMESPACE", value: instance.namespace },
    { name: "CLASSROOM_SERVICE_PORT", value: String(instance.port) },
    { name: "CLASSROOM_TRACK_WEIGHT", value: String(instance.track === "canary" ? instance.canaryWeight ?? 0 : 100) },
    { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
  ];
}
