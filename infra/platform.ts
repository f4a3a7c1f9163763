import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DataConnection, DataSystem } from "../components/shared/connection";
import { platformObjectLabels } from "../components/shared/labels";
import { defaultDenyPolicy } from "../components/shared/network-policy";
import { DataTopology, ServiceTopology } from "../components/shared/topology";
import { Kafka } from "../components/data/kafka";
import { MySql } from "../components/data/mysql";
import { Redis } from "../components/data/redis";
import { ZooKeeper } from "../components/data/zookeeper";
import { LOGS_TOPIC } from "../components/logs/agent-config";
import { LogAgent } from "../components/logs/log-agent";
import { PlatformConfig } from "./config";
import { declareGateway } from "./gateway";
import { declareMonitoring, scrapeSettings } from "./monitoring";
import { declareServices, imagePullSecret } from "./services";

/** What the platform exposes as stack outputs: names, endpoints and layout, never credentials. */
export interface PlatformOutputs {
  environment: string;
  namespaces: { data: string; apps: string };
  dataEndpoints: Record<DataSystem, { host: string; port: number; settings: Record<string, string> }>;
  /** Each data system's layout (members, quorum, replication), for reviewers and synth's summary. */
  dataSystems: Record<DataSystem, DataTopology>;
  /** Each service's tracks (image, replicas or HPA bounds) and how its traffic splits. */
  services: Record<string, ServiceTopology>;
}

/** The four data systems of a stack. */
export interface DataLayer {
  zookeeper: ZooKeeper;
  kafka: Kafka;
  redis: Redis;
  mysql: MySql;
}

/**
 * The whole platform for one stack: provider, namespaces with default-deny, the four data systems and
 * (in services.ts) the classroom services that consume them. Everything is declared synchronously
 * from plain config, never inside an `apply`, so preview, policies and synth all see every object.
 */
export function declarePlatform(config: PlatformConfig): { outputs: PlatformOutputs; connections: Record<DataSystem, DataConnection>; provider: k8s.Provider } {
  const provider = new k8s.Provider("kubernetes", {
    ...(config.renderYamlToDirectory ? { renderYamlToDirectory: config.renderYamlToDirectory } : {}),
    ...(config.kubeContext ? { context: config.kubeContext } : {}),
  });
  const opts: pulumi.CustomResourceOptions = { provider };
  if (config.skipAwait) skipAwaitEverywhere();

  const namespaces = declareNamespaces(config, opts);
  const inNamespaces: pulumi.ComponentResourceOptions = { providers: [provider], dependsOn: namespaces };
  const dataLayer = declareDataLayer(config, inNamespaces);
  const connections = mapSystems<DataLayer[DataSystem], DataConnection>(dataLayer, (system) => system.connection);
  const pullSecret = imagePullSecret(config, { provider, dependsOn: namespaces });
  const gateway = declareGateway(config, opts);
  const services = declareServices(config, connections, { ...inNamespaces, dependsOn: [...namespaces, ...gateway] }, pullSecret?.metadata.name);
  declareLogAgent(config, connections.kafka, inNamespaces);
  declareMonitoring(config, { provider, dependsOn: namespaces });

  const outputs: PlatformOutputs = {
    environment: config.environment,
    namespaces: config.namespaces,
    dataEndpoints: mapSystems(connections, (c) => ({ host: c.host, port: c.port, settings: c.settings })),
    dataSystems: mapSystems<DataLayer[DataSystem], DataTopology>(dataLayer, (system) => system.topology),
    services: Object.fromEntries(Object.entries(services).map(([name, service]) => [name, service.topology])),
  };
  return { outputs, connections, provider };
}

/** The data and apps namespaces, each starting from a default-deny NetworkPolicy. */
export function declareNamespaces(config: PlatformConfig, opts: pulumi.CustomResourceOptions): k8s.core.v1.Namespace[] {
  const ns = config.namespaces;
  const nsLabels = (name: string, role: string) => ({
    ...platformObjectLabels("classroom-platform", name),
    "classroom.io/environment": config.environment,
    "classroom.io/role": role,
    // Pod Security Admission: the data namespace enforces `restricted`. The apps namespace cannot, because
    // every service writes logs to a hostPath (forbidden by baseline and restricted); it warns and audits at
    // `restricted`, and the policy pack allows hostPath only for the log volume under the stack's log root.
    "pod-security.kubernetes.io/enforce": role === "data" ? "restricted" : "privileged",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
  });
  return [ns.data, ns.apps].map((name, i) => {
    // The log root is stated on the namespaces so that the policy pack's hostpath-log-root-only reads it
    // from the stack (policies/rules/platform-volumes.ts): classroom:logRoot is its only source.
    const namespace = new k8s.core.v1.Namespace(
      name,
      {
        metadata: { name, labels: nsLabels(name, i === 0 ? "data" : "apps"), annotations: { "classroom.io/log-root": config.logRoot } },
      },
      opts,
    );
    defaultDenyPolicy(name, platformObjectLabels("default-deny", `${name}-default-deny`), { ...opts, dependsOn: [namespace] });
    return namespace;
  });
}

function mapSystems<T, R>(systems: { [S in DataSystem]: T }, f: (system: T) => R): Record<DataSystem, R> {
  return Object.fromEntries(Object.entries(systems).map(([name, system]) => [name, f(system as T)])) as Record<DataSystem, R>;
}

/** The four data systems in the data namespace, each admitting clients from the apps namespace. */
export function declareDataLayer(config: PlatformConfig, opts: pulumi.ComponentResourceOptions): DataLayer {
  const ns = config.namespaces;
  // Clients live in the apps namespace; the data namespace hosts the platform's own daemons' peers too.
  const clientNamespaces = [ns.apps];
  const scrape = scrapeSettings(config);
  return {
    zookeeper: new ZooKeeper("zookeeper", { namespace: ns.data, clientNamespaces, scrape, ...config.zookeeper }, opts),
    kafka: new Kafka("kafka", { namespace: ns.data, clientNamespaces, scrape, ...config.kafka }, opts),
    redis: new Redis("redis", { namespace: ns.data, clientNamespaces, scrape, ...config.redis }, opts),
    mysql: new MySql("mysql", { namespace: ns.data, clientNamespaces, scrape, ...config.mysql }, opts),
  };
}

/**
 * The node log agent in the apps namespace (the one whose Pod Security level admits hostPath), shipping
 * every service's log files to the platform's Kafka (topic classroom.logs, auto-created by the brokers
 * like the platform's other topics) or to the stack's OTLP endpoint.
 */
export function declareLogAgent(config: PlatformConfig, kafka: DataConnection, opts: pulumi.ComponentResourceOptions): LogAgent {
  const logs = config.logs;
  const destination =
    logs.destination === "otlp"
      ? { kind: "otlp" as const, endpoint: logs.otlpEndpoint!, insecure: logs.otlpInsecure }
      : { kind: "kafka" as const, brokers: [`${kafka.host}:${kafka.port}`], topic: LOGS_TOPIC };
  return new LogAgent(
    "log-agent",
    {
      namespace: config.namespaces.apps,
      logRoot: config.logRoot,
      image: logs.agentImage,
      destination,
      kafka: { namespace: kafka.namespace, selector: kafka.serverSelector, port: kafka.port },
      retentionDays: logs.retentionDays,
      scrape: scrapeSettings(config),
    },
    opts,
  );
}

/**
 * Marks every Kubernetes resource `pulumi.com/skipAwait`. Workloads never become ready on a control plane
 * without kubelets, and waiting would time out every update there.
 */
function skipAwaitEverywhere(): void {
  pulumi.runtime.registerResourceTransform((args) => {
    if (!args.type.startsWith("kubernetes:") || args.type.startsWith("pulumi:providers")) return undefined;
    const props = args.props as { metadata?: { annotations?: Record<string, string> } };
    if (!props.metadata) return undefined;
    return {
      props: { ...props, metadata: { ...props.metadata, annotations: { ...props.metadata.annotations, "pulumi.com/skipAwait": "true" } } },
      opts: args.opts,
    };
  });
}
