/**
 * How each data system and service of a stack is laid out, as plain values: the stack's outputs carry
 * them, and synth's summary prints them, so neither has to reverse-engineer object names or config files.
 */
export type DataTopology =
  | { system: "zookeeper"; servers: number; quorum: number }
  | { system: "kafka"; mode: "combined"; nodes: number; replicationFactor: number; minInsyncReplicas: number }
  | { system: "kafka"; mode: "dedicated"; controllers: number; brokers: number; replicationFactor: number; minInsyncReplicas: number }
  | { system: "redis"; mode: "standalone" }
  | { system: "redis"; mode: "sentinel"; replicas: number; sentinels: number; quorum: number }
  | { system: "mysql"; primary: 1; replicas: number };

/** How a service's traffic splits between its tracks (and legacy VMs). */
export type TrafficTopology =
  | { via: "gateway-api" | "nginx-ingress"; weights: { backend: "stable" | "canary" | "legacy"; weight: number }[] }
  | { via: "zookeeper-registry"; canaryWeight: number }
  | { via: "replica-ratio" }
  | { via: "none" };

export interface ServiceTopology {
  kind: "http" | "rpc" | "consumer" | "worker";
  /** Stable first; `autoscaling` replaces a fixed replica count when the track has an HPA. */
  tracks: { track: "stable" | "canary"; image: string; replicas: number; autoscaling?: { minReplicas: number; maxReplicas: number } }[];
  traffic: TrafficTopology;
}
