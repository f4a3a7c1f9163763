import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { contentChecksum } from "./checksum";
import { selectorLabels, workloadLabels, WorkloadIdentity } from "./labels";
import type { NetworkRule } from "./network-policy";
import { dataPodDefaults } from "./pod-defaults";
import type { ImageUser } from "./security";
import { dataClaimTemplate } from "./volumes";
import type { ResolvedWorkloadOptions, StorageOptions } from "./workload-options";
import { MetricsEndpoint, scrapeAnnotations, ScrapeSettings } from "../monitoring/scrape";

// Pure: builds plain arguments and declares nothing, so a test calls it without a Pulumi runtime.

type ServicePort = k8s.types.input.core.v1.ServicePort;

/** How many pods run, where, and (for systems that keep data) the volume each one gets. */
export type DataPlacement = Pick<ResolvedWorkloadOptions, "replicas" | "maxUnavailable" | "spread" | "nodeSelector" | "priorityClassName"> & {
  /** A `data` volumeClaimTemplate of this size per pod; none for stateless members (Sentinels). */
  storage?: StorageOptions;
};

/**
 * One data-layer StatefulSet and everything around it that every system needs the same way. The system
 * supplies what is its own: containers, volumes (its ConfigMaps and Secrets), ports and network paths.
 */
export interface DataWorkloadArgs {
  namespace: string;
  /** Instance name: the StatefulSet, its client Service, PodDisruptionBudget and NetworkPolicy; `<name>-headless` for the peers. */
  name: string;
  identity: WorkloadIdentity;
  placement: DataPlacement;
  /** The image's user, for the restricted security context. */
  user: ImageUser;
  /** Omitted: the Kubernetes default (30 s). */
  terminationGracePeriodSeconds?: number;
  /** `Parallel` for quorum systems (their members must start together), `OrderedReady` where ordinal 0 leads. */
  podManagementPolicy: "Parallel" | "OrderedReady";
  updateStrategy?: k8s.types.input.apps.v1.StatefulSetUpdateStrategy;
  containers: k8s.types.input.core.v1.Container[];
  /** Run to completion before the containers start, e.g. to place a file the main image lacks. */
  initContainers?: k8s.types.input.core.v1.Container[];
  volumes: k8s.types.input.core.v1.Volume[];
  /** The content of the ConfigMaps the pods read: its checksum on the pod template rolls the pods when it changes. */
  configFiles?: Record<string, string>;
  /** A checksum of the Secret content the pods read, for the same reason. */
  secretChecksum?: pulumi.Input<string>;
  /** Ports of the client Service (and of the headless one). */
  clientPorts: ServicePort[];
  /** Ports only peers use (quorum, election); on the headless Service only. */
  peerPorts?: ServicePort[];
  /** `false` when the system declares its own client Services (MySQL: a primary and a read Service). Default: true. */
  clientService?: boolean;
  /** Who may connect to these pods; see workloadNetworkPolicy. */
  ingress: NetworkRule[];
  /** Where these pods may connect to (cluster DNS is always added). */
  egress: NetworkRule[];
  /** The pods' metrics port (a container port named `metrics`) and how the stack scrapes it; omitted: not scraped. */
  metrics?: MetricsEndpoint & { scrape?: ScrapeSettings };
}

/** The StatefulSet of a data workload, as plain arguments: pod defaults, selector, checksums and claim template in one place. */
export function dataStatefulSet(args: DataWorkloadArgs, serviceName: string): k8s.apps.v1.StatefulSetArgs {
  const labels = workloadLabels(args.identity);
  const selector = selectorLabels(args.identity);
  const p = args.placement;
  const scrape = args.metrics ? scrapeAnnotations(args.metrics.scrape, args.metrics) : {};
  const annotations =
    args.configFiles || args.secretChecksum || Object.keys(scrape).length > 0
      ? {
          ...(args.configFiles ? { "classroom.io/config-checksum": contentChecksum(args.configFiles) } : {}),
          ...(args.secretChecksum ? { "classroom.io/secret-checksum": args.secretChecksum } : {}),
          ...scrape,
        }
      : undefined;
  return {
    metadata: { name: args.name, namespace: args.namespace, labels },
    spec: {
      serviceName,
      replicas: p.replicas,
      podManagementPolicy: args.podManagementPolicy,
      updateStrategy: args.updateStrategy,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels, annotations },
        spec: {
          ...dataPodDefaults(args.user, p, selector, args.terminationGracePeriodSeconds),
          ...(args.initContainers?.length ? { initContainers: args.initContainers } : {}),
          containers: args.containers,
          volumes: args.volumes,
        },
      },
      volumeClaimTemplates: p.storage ? [dataClaimTemplate("data", p.storage.size, selector, p.storage.storageClass)] : undefined,
    },
  };
}
