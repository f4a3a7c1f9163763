/**
 * The one shape every data-layer component takes for how it runs, the way Bitnami keeps the same keys
 * across its charts. Sizes come from the stack file; the components hold no environment knowledge.
 */
export interface WorkloadOptions {
  /** Pinned image reference (`repo:tag` or `repo:tag@sha256:…`). Default: the component's tested image. */
  image?: string;
  /** Number of pods. Default: 1. */
  replicas?: number;
  /** CPU and memory requests and limits. Default: the component's small profile. */
  resources?: ResourceSizing;
  /** Persistent volume per pod. Default: the component's size on the cluster's default StorageClass. */
  storage?: StorageOptions;
  /** Pods allowed down at once during voluntary disruptions; a PodDisruptionBudget exists only when replicas > 1. Default: 1. */
  maxUnavailable?: number;
  /** How pods spread over nodes. Default: `required` anti-affinity on the hostname when replicas > 1. */
  spread?: SpreadOptions;
  /** Node selector for the pods. Default: none. */
  nodeSelector?: Record<string, string>;
  /** Priority class for the pods. Default: none. */
  priorityClassName?: string;
}

export interface ResourceSizing {
  requests: { cpu: string; memory: string };
  limits: { cpu?: string; memory: string };
}

export interface StorageOptions {
  /** Size of each pod's volume, e.g. `10Gi`. */
  size: string;
  /** StorageClass name. Default: the cluster default. */
  storageClass?: string;
}

export interface SpreadOptions {
  /** Node label that defines a failure domain. Default: `kubernetes.io/hostname`. */
  topologyKey?: string;
  /** `required` refuses to co-locate two pods (safe for quorum systems); `preferred` only tries. Default: `required`. */
  mode?: "required" | "preferred";
}

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
