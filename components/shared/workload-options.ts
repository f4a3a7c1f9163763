import type { ResourcesConfig, SpreadConfig, StorageConfig, WorkloadConfig } from "../../infra/config";

/**
 * The one shape every data-layer component takes for how it runs: the schema's workload options
 * (`workloadShape` in infra/config/primitives.ts), which validates and documents them. Sizes come from
 * the stack file; the components hold no environment knowledge.
 */
export type WorkloadOptions = WorkloadConfig;
export type ResourceSizing = ResourcesConfig;
export type StorageOptions = StorageConfig;
export type SpreadOptions = SpreadConfig;

/** Fills the generic defaults; component-specific defaults (image, sizes) are given by the caller. */
export function withWorkloadDefaults(
  options: WorkloadOptions,
  defaults: { image: string; resources: ResourceSizing; storage: StorageOptions },
): ResolvedWorkloadOptions {
  return {
    image: options.image ?? defaults.image,
    replicas: options.replicas ?? 1,
    resources: options.resources ?? defaults.resources,
    storage: { ...defaults.storage, ...options.storage },
    maxUnavailable: options.maxUnavailable ?? 1,
    spread: { topologyKey: options.spread?.topologyKey ?? "kubernetes.io/hostname", mode: options.spread?.mode ?? "required" },
    nodeSelector: options.nodeSelector,
    priorityClassName: options.priorityClassName,
  };
}

/** Workload options with every default filled in. */
export interface ResolvedWorkloadOptions {
  image: string;
  replicas: number;
  resources: ResourceSizing;
  storage: StorageOptions;
  maxUnavailable: number;
  spread: Required<SpreadOptions>;
  nodeSelector?: Record<string, string>;
  priorityClassName?: string;
}
