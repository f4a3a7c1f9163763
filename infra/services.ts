import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MQ_ENV } from "@classroom-platform/runtime/contracts";
import { ClassroomService } from "../components/apps/classroom-service";
import { DataConnection, DataSystem } from "../components/shared/connection";
import { platformObjectLabels } from "../components/shared/labels";
import { PlatformConfig } from "./config";
import { ServiceConfig } from "./config/services";
import { daemonServices, declareRegistrarAccess } from "./daemons";
import { declareExternals, externalPeers } from "./externals";
import { scrapeSettings } from "./monitoring";

/** What a daemon adds to the service it is declared as. */
type DaemonExtras = { env?: Record<string, string>; command?: string[]; serviceAccountName?: string; podAnnotations?: Record<string, string> };

/**
 * Declares every classroom service of the stack. Each receives only the connections it declares in
 * `uses`, and is admitted by exactly the services that list it in `calls`.
 */
export function declareServices(
  config: PlatformConfig,
  connections: Record<DataSystem, DataConnection>,
  opts: pulumi.ComponentResourceOptions,
  imagePullSecret?: pulumi.Input<string>,
): Record<string, ClassroomService> {
  const daemons = daemonServices(config, connections);
  declareRegistrarAccess(config, opts);
  declareExternals(config, opts);
  const all: Array<[string, ServiceConfig, DaemonExtras]> = [
    ...Object.entries(config.services).map(([name, svc]) => [name, svc, {}] as [string, ServiceConfig, object]),
    ...Object.entries(daemons).map(
      ([name, d]) =>
        [
          name,
          { ...d.service, configFiles: d.configFiles },
          { env: d.env, command: (d.service as { command?: string[] }).command, serviceAccountName: d.serviceAccountName, podAnnotations: d.podAnnotations },
        ] as [string, ServiceConfig, DaemonExtras],
    ),
  ];
  const ports = new Map(all.map(([name, svc]) => [name, svc.port]));
  const callers = new Map<string, string[]>();
  for (const [name, svc] of all) {
    for (const callee of svc.calls.filter((c) => ports.has(c))) callers.set(callee, [...(callers.get(callee) ?? []), name]);
  }
  return Object.fromEntries(
    all.map(([name, svc, extra]) => [
      name,
      new ClassroomService(
        name,
        {
          namespace: config.namespaces.apps,
          kind: svc.kind,
          port: svc.port,
          stable: svc.stable,
          canary: svc.canary,
          legacy: svc.legacy,
          connections: svc.uses.map((system) => connections[system]),
          // `calls` names services and externals (the schema refuses anything else); a service is reached on its
          // pods and on the legacy VMs that take a share of its traffic.
          calls: svc.calls
            .filter((c) => ports.has(c))
            .map((callee) => ({ name: callee, port: ports.get(callee)!, legacyEndpoints: config.services[callee]?.legacy?.endpoints })),
          externals: externalPeers(config, svc.calls),
          callers: callers.get(name) ?? [],
          resources: svc.resources,
          autoscaling: svc.autoscaling,
          healthPath: svc.healthPath,
          configFiles: svc.configFiles,
          scratch: svc.scratch,
          logRoot: config.logRoot,
          terminationGraceSeconds: svc.terminationGraceSeconds,
          registry: { connect: connections.zookeeper.settings.ZOOKEEPER_CONNECT, mode: svc.registration },
          route: svc.route
            ? {
                mode: config.routing.mode,
                pathPrefix: svc.route.pathPrefix,
                hostnames: svc.route.hostnames,
                gateway: config.routing.gateway,
                ingressClassName: config.routing.ingressClassName,
                eastWest: config.routing.eastWest,
              }
            : undefined,
          imagePullSecret,
          // Producers that use Kafka and Redis buffer outages in Redis; they must agree with the replayer on the shard count.
          env: { ...(svc.uses.includes("kafka") && svc.uses.includes("redis") ? { [MQ_ENV.shards]: String(config.mq.shards) } : {}), ...extra.env },
          command: extra.command,
          serviceAccountName: extra.serviceAccountName,
          podAnnotations: extra.podAnnotations,
          scrape: scrapeSettings(config),
        },
        opts,
      ),
    ]),
  );
}

/** The pull secret for private images, from the stack's secret config. */
export function imagePullSecret(config: PlatformConfig, opts: pulumi.CustomResourceOptions): k8s.core.v1.Secret | undefined {
  if (!config.imagePullSecret) return undefined;
  return new k8s.core.v1.Secret(
    "image-pull-secret",
    {
      metadata: { name: "image-pull", namespace: config.namespaces.apps, labels: platformObjectLabels("image-pull", `${config.namespaces.apps}-image-pull`) },
      type: "kubernetes.io/dockerconfigjson",
      stringData: { ".dockerconfigjson": pulumi.secret(config.imagePullSecret) },
    },
    { ...opts, additionalSecretOutputs: ["stringData", "data"] },
  );
}
