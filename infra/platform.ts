import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DataConnection, DataSystem } from "../components/shared/connection";
import { platformObjectLabels } from "../components/shared/labels";
import { defaultDenyPolicy } from "../components/shared/network-policy";
import { Kafka } from "../components/data/kafka";
import { MySql } from "../components/data/mysql";
import { Redis } from "../components/data/redis";
import { ZooKeeper } from "../components/data/zookeeper";
import { PlatformConfig } from "./config";
import { declareGateway } from "./gateway";
import { declareServices, imagePullSecret } from "./services";

/** What the platform exposes as stack outputs: names and endpoints, never credentials. */
export interface PlatformOutputs {
  environment: string;
  namespaces: { data: string; apps: string };
  dataEndpoints: Record<DataSystem, { host: string; port: number; settings: Record<string, string> }>;
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
  const connections = declareDataLayer(config, inNamespaces);
  const pullSecret = imagePullSecret(config, { provider, dependsOn: namespaces });
  const gateway = declareGateway(config, opts);
  declareServices(config, connections, { ...inNamespaces, dependsOn: [...namespaces, ...gateway] }, pullSecret?.metadata.name);

  const dataEndpoints = Object.fromEntries(Object.entries(connections).map(([system, c]) =>
    [system, { host: c.host, port: c.port, settings: c.settings }])) as PlatformOutputs["dataEndpoints"];
  return { outputs: { environment: config.environment, namespaces: config.namespaces, dataEndpoints }, connections, provider };
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
    const namespace = new k8s.core.v1.Namespace(name, {
      metadata: { name, labels: nsLabels(name, i === 0 ? "data" : "apps"), annotations: { "classroom.io/log-root": config.logRoot } },
    }, opts);
    defaultDenyPolicy(name, platformObjectLabels("default-deny", `${name}-default-deny`), { ...opts, dependsOn: [namespace] });
    return namespace;
  });
}

/** The four data systems in the data namespace, each admitting clients from the apps namespace. */
export function declareDataLayer(config: PlatformConfig, opts: pulumi.ComponentResourceOptions): Record<DataSystem, DataConnection> {
  const ns = config.namespaces;
  // Clients live in the apps namespace; the data namespace hosts the platform's own daemons' peers too.
  const clientNamespaces = [ns.apps];
  return {
    zookeeper: new ZooKeeper("zookeeper", { namespace: ns.data, clientNamespaces, ...config.zookeeper }, opts).connection,
    kafka: new Kafka("kafka", { namespace: ns.data, clientNamespaces, ...config.kafka }, opts).connection,
    redis: new Redis("redis", { namespace: ns.data, clientNamespaces, ...config.redis }, opts).connection,
    mysql: new MySql("mysql", { namespace: ns.data, clientNamespaces, ...config.mysql }, opts).connection,
  };
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
    return { props: { ...props, metadata: { ...props.metadata, annotations: { ...props.metadata.annotations, "pulumi.com/skipAwait": "true" } } }, opts: args.opts };
  });
}
