import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KAFKA_ENV, MQ_ENV, REDIS_ENV, SCHEDULER_ENV } from "@classroom-platform/runtime/contracts";
import { REGISTRAR_DEFAULTS, REGISTRAR_ENV } from "@classroom-platform/runtime/registrar";
import { DataConnection, DataSystem } from "../components/shared/connection";
import { PlatformConfig } from "./config";
import { RUNTIME_IMAGE_ANNOTATION } from "../policies/rules/images";
import { DEFAULT_RUNTIME_IMAGE } from "./config/schema";
import { ServiceConfig } from "./config/services";

/**
 * The platform's own daemons from runtime/, declared as `worker` services so they get the same pod
 * hardening, log files, credentials wiring and NetworkPolicies as every classroom service:
 *
 * - `scheduler`: the second-level scheduler (runtime/scheduler), jobs from `classroom:scheduler.jobs`;
 * - `mq-replayer`: drains the Redis outage buffer into Kafka (runtime/mq), one lease holder per shard;
 * - `registrar`: mirrors the ready endpoints of `registration: registrar` rpc services into ZooKeeper
 *   (runtime/registrar), two replicas, one leading through a Lease; only when a service uses it.
 *
 * Their settings follow the env contracts in runtime/scheduler/README.md, runtime/mq/README.md and
 * runtime/registrar/README.md.
 */
export function daemonServices(config: PlatformConfig, connections: Record<DataSystem, DataConnection>): Record<string, DaemonSpec> {
  const redisEnv = redisClientEnv(connections.redis);
  const daemons: Record<string, DaemonSpec> = {};
  // A stack that pins the runtime image says so on the pods, so the policy pack can hold the daemons to
  // the digest (runtime-image-digest-required); the default image is a tag and carries no such claim.
  const podAnnotations = config.runtimeImage === undefined ? undefined : { [RUNTIME_IMAGE_ANNOTATION]: config.runtimeImage };
  const jobs = config.scheduler.jobs;
  if (Object.keys(jobs).length > 0) {
    // A job that names a service without a port calls it on the port the service declares.
    const resolved = Object.fromEntries(
      Object.entries(jobs).map(([name, job]) => {
        const http = (job.target as { http?: { service: string; port?: number } }).http;
        return [name, http ? { ...job, target: { http: { ...http, port: http.port ?? config.services[http.service].port } } } : job];
      }),
    );
    const targets = [
      ...new Set(
        Object.values(jobs).flatMap((j) =>
          (j.target as { http?: { service: string } }).http ? [(j.target as { http: { service: string } }).http.service] : [],
        ),
      ),
    ].sort();
    daemons.scheduler = {
      // Bin names of the runtime package, on PATH in the runtime image (runtime/Dockerfile).
      service: worker(config, ["classroom-scheduler"], config.scheduler.replicas, ["redis"], targets),
      configFiles: { "jobs.json": JSON.stringify(sortKeys(resolved), null, 2) + "\n" },
      env: {
        ...redisEnv,
        [SCHEDULER_ENV.jobsFile]: "/etc/classroom/config/jobs.json",
        [SCHEDULER_ENV.namespace]: config.namespaces.apps,
        [SCHEDULER_ENV.healthPort]: "8080",
      },
      podAnnotations,
    };
  }
  daemons["mq-replayer"] = {
    service: worker(config, ["classroom-mq-replayer"], config.mq.replayerReplicas, ["redis", "kafka"], []),
    configFiles: {},
    env: {
      ...redisEnv,
      [KAFKA_ENV.bootstrap]: connections.kafka.settings.KAFKA_BOOTSTRAP,
      [MQ_ENV.shards]: String(config.mq.shards),
      [MQ_ENV.healthPort]: "8080",
    },
    podAnnotations,
  };
  if (usesRegistrar(config)) {
    daemons[REGISTRAR.name] = {
      // Two replicas: one leads, the other keeps its caches warm and takes over within a lease.
      service: worker(config, ["classroom-registrar"], 2, ["zookeeper"], []),
      configFiles: {},
      env: {
        [REGISTRAR_ENV.connect]: connections.zookeeper.settings.ZOOKEEPER_CONNECT,
        [REGISTRAR_ENV.namespace]: config.namespaces.apps,
        [REGISTRAR_ENV.leaseName]: REGISTRAR.leaseName,
        [REGISTRAR_ENV.healthPort]: "8080",
      },
      serviceAccountName: REGISTRAR.serviceAccount,
      podAnnotations,
    };
  }
  return daemons;
}

export interface DaemonSpec {
  service: ServiceConfig;
  configFiles: Record<string, string>;
  env: Record<string, string>;
  command?: string[];
  /** The pods' ServiceAccount, for daemons that call the Kubernetes API. */
  serviceAccountName?: string;
  /** Annotations of the daemon's pods. */
  podAnnotations?: Record<string, string>;
}

const REGISTRAR = { name: "registrar", serviceAccount: "classroom-registrar", leaseName: REGISTRAR_DEFAULTS.leaseName } as const;

export function usesRegistrar(config: PlatformConfig): boolean {
  return Object.values(config.services).some((s) => s.kind === "rpc" && s.registration === "registrar");
}

/**
 * What the registrar may do besides reaching ZooKeeper (the ClassroomService's own NetworkPolicy opens that):
 *
 * - its ServiceAccount, bound to the narrowest Role that works: list and watch Services and
 *   EndpointSlices of the apps namespace, get and update one Lease, by name;
 * - that Lease, created here so the Role needs no `create` (which RBAC cannot limit to one name); its
 *   spec belongs to the elected replicas, so Pulumi ignores changes to it;
 * - egress to the API server: the addresses of `registrar.apiServer` (the control plane's endpoints; by
 *   default any address, as a stack may not know them) on `registrar.apiServerPorts` (443, 6443).
 *   NetworkPolicies add up: this one only adds that path to the registrar pods.
 */
export function declareRegistrarAccess(config: PlatformConfig, opts: pulumi.ComponentResourceOptions): RegistrarAccess | undefined {
  if (!usesRegistrar(config)) return undefined;
  return new RegistrarAccess(
    REGISTRAR.name,
    { namespace: config.namespaces.apps, apiServer: config.registrar.apiServer, apiServerPorts: config.registrar.apiServerPorts },
    opts,
  );
}

export interface RegistrarAccessArgs {
  namespace: string;
  /** CIDRs of the API server's endpoints (validated and normalised by the config schema). */
  apiServer: string[];
  apiServerPorts: number[];
}

export class RegistrarAccess extends pulumi.ComponentResource {
  constructor(name: string, args: RegistrarAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("classroom:apps:RegistrarAccess", name, {}, opts);
    declareAccess(args, { parent: this });
    this.registerOutputs({});
  }
}

/**
 * The registrar's egress rule to the API server. NetworkPolicies are enforced on the address a packet is
 * sent to after the Service's DNAT, so the rule names the API server's endpoint addresses and ports
 * (6443 on most control planes), not the `kubernetes` Service's cluster IP; 443 stays allowed for
 * control planes that serve there.
 */
export function apiServerEgress(apiServer: string[], ports: number[]): k8s.types.input.networking.v1.NetworkPolicyEgressRule {
  return { to: apiServer.map((cidr) => ({ ipBlock: { cidr } })), ports: ports.map((port) => ({ protocol: "TCP", port })) };
}

function declareAccess({ namespace, apiServer, apiServerPorts }: RegistrarAccessArgs, opts: pulumi.CustomResourceOptions): void {
  const labels = {
    "app.kubernetes.io/name": REGISTRAR.name,
    "app.kubernetes.io/instance": REGISTRAR.name,
    "app.kubernetes.io/part-of": "classroom-platform",
    "app.kubernetes.io/managed-by": "pulumi",
  };
  const account = new k8s.core.v1.ServiceAccount(
    `${REGISTRAR.name}-sa`,
    {
      metadata: { name: REGISTRAR.serviceAccount, namespace, labels },
      automountServiceAccountToken: false,
    },
    opts,
  );
  const role = new k8s.rbac.v1.Role(
    `${REGISTRAR.name}-role`,
    {
      metadata: { name: REGISTRAR.serviceAccount, namespace, labels },
      rules: [
        { apiGroups: [""], resources: ["services"], verbs: ["list", "watch"] },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [REGISTRAR.leaseName], verbs: ["get", "update"] },
      ],
    },
    opts,
  );
  new k8s.rbac.v1.RoleBinding(
    `${REGISTRAR.name}-rolebinding`,
    {
      metadata: { name: REGISTRAR.serviceAccount, namespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace }],
    },
    opts,
  );
  new k8s.coordination.v1.Lease(
    `${REGISTRAR.name}-lease`,
    {
      metadata: { name: REGISTRAR.leaseName, namespace, labels },
      spec: {},
    },
    { ...opts, ignoreChanges: ["spec"] },
  );
  new k8s.networking.v1.NetworkPolicy(
    `${REGISTRAR.name}-apiserver-netpol`,
    {
      metadata: { name: `${REGISTRAR.name}-apiserver`, namespace, labels },
      spec: {
        podSelector: { matchLabels: { "app.kubernetes.io/name": REGISTRAR.name, "classroom.io/tier": "service" } },
        policyTypes: ["Egress"],
        egress: [apiServerEgress(apiServer, apiServerPorts)],
      },
    },
    opts,
  );
}

function worker(config: PlatformConfig, command: string[], replicas: number, uses: DataSystem[], calls: string[]): ServiceConfig & { command: string[] } {
  return {
    kind: "worker",
    port: 8080,
    uses,
    calls,
    registration: "self",
    stable: { image: config.runtimeImage ?? DEFAULT_RUNTIME_IMAGE, replicas },
    healthPath: "/healthz",
    configFiles: {},
    scratch: { sizeLimit: "64Mi", memory: false },
    terminationGraceSeconds: 30,
    history: [],
    command,
  } as ServiceConfig & { command: string[] };
}

/**
 * The value with object keys sorted at every level. The Pulumi CLI hands object config to the program
 * with its keys sorted, Pulumi's mocks (synth) in stack-file order: a file rendered from config must not
 * depend on which, or its content and checksum differ between synth and a real deploy.
 */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The runtime libraries' Redis settings from the Redis connection (standalone URL or Sentinels). */
function redisClientEnv(redis: DataConnection): Record<string, string> {
  const password = { [REDIS_ENV.passwordFile]: "/etc/classroom/secrets/redis-password" };
  if (redis.settings.REDIS_SENTINELS) {
    return { [REDIS_ENV.sentinels]: redis.settings.REDIS_SENTINELS, [REDIS_ENV.masterName]: redis.settings.REDIS_MASTER_NAME, ...password };
  }
  return { [REDIS_ENV.url]: redis.settings.REDIS_URL, ...password };
}
