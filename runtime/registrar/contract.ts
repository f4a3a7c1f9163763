/**
 * What the platform (infra/ renders it) and the registrar (reads it) agree on: the label that opts a track
 * Service in, the annotations that carry its track and weight, and the daemon's environment. Both sides
 * import the names from here, so a rename cannot leave one of them behind.
 */

/** Label on the track Services of a `registration: registrar` service; the registrar watches only these. */
export const REGISTRAR_LABEL = { key: "classroom.io/registration", value: "registrar" } as const;

/** Annotations on a track Service (`<service>-stable`, `<service>-canary`). */
export const REGISTRAR_ANNOTATIONS = {
  /** `stable` or `canary`; the Service must be named `<service>-<track>`. */
  track: "classroom.io/registry-track",
  /** Traffic share of the whole track, integer 0-100 (stable: 100, "whatever the canary leaves"). */
  weight: "classroom.io/registry-weight",
  /** Name of the EndpointSlice port that is the rpc port; default: the only port, else the one named `app`. */
  portName: "classroom.io/registry-port-name",
} as const;

/** The label Kubernetes puts on every EndpointSlice naming the Service it belongs to. */
export const SLICE_SERVICE_LABEL = "kubernetes.io/service-name";

export const REGISTRAR_ENV = {
  /** ZooKeeper connect string (same format as CLASSROOM_REGISTRY_CONNECT). */
  connect: "CLASSROOM_REGISTRY_CONNECT",
  /** Registry root the nodes go under; default /classroom/services. */
  root: "CLASSROOM_REGISTRY_ROOT",
  /** Where the registrar keeps its ownership ledger and leader fence; default /classroom/registrar. */
  stateRoot: "CLASSROOM_REGISTRAR_STATE_ROOT",
  /** Namespace whose track Services and EndpointSlices are mirrored (the apps namespace). */
  namespace: "CLASSROOM_REGISTRAR_NAMESPACE",
  /** Name of the coordination.k8s.io/v1 Lease the replicas elect a leader with. */
  leaseName: "CLASSROOM_REGISTRAR_LEASE_NAME",
  /** Namespace of that Lease; default: the registrar's own (POD_NAMESPACE), else the watched namespace. */
  leaseNamespace: "CLASSROOM_REGISTRAR_LEASE_NAMESPACE",
  /** client-go's LeaseDuration / RenewDeadline / RetryPeriod, in ms. */
  leaseDurationMs: "CLASSROOM_REGISTRAR_LEASE_DURATION_MS",
  renewDeadlineMs: "CLASSROOM_REGISTRAR_RENEW_DEADLINE_MS",
  retryPeriodMs: "CLASSROOM_REGISTRAR_RETRY_PERIOD_MS",
  /** Period over which the leader lists every service again to re-create nodes deleted by hand or lost; 0 = never. */
  recheckIntervalMs: "CLASSROOM_REGISTRAR_RECHECK_INTERVAL_MS",
  /** Identity in the Lease; default POD_NAME, else host name and pid. */
  identity: "POD_NAME",
  /** Port of /healthz and /readyz; 0 = none. */
  healthPort: "CLASSROOM_REGISTRAR_HEALTH_PORT",
  /** A kubeconfig file (outside a cluster); in a pod the ServiceAccount is used. */
  kubeconfig: "KUBECONFIG",
} as const;

/** client-go's defaults (15 s / 10 s / 2 s). */
export const REGISTRAR_DEFAULTS = {
  stateRoot: "/classroom/registrar",
  leaseName: "classroom-registrar",
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  recheckIntervalMs: 30_000,
} as const;
