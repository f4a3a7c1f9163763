import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceConfig } from "../../infra/config";
import { ResourceSizing } from "../shared/workload-options";
import { restrictedContainerSecurity, restrictedPodSecurity } from "../shared/security";
import { scratchVolumes } from "../shared/volumes";
import { SECRETS_MOUNT } from "./connections";
import { logVolume } from "./log-volume";
import { METRICS_PORT_NAME } from "../monitoring/scrape";

/** A service kind, as `classroom:services.<name>.kind` lists them. */
export type ServiceKind = ServiceConfig["kind"];

/** Classroom service images run as this unprivileged user (the platform's base image convention). */
export const SERVICE_USER = { uid: 10001, gid: 10001 };
export const CONFIG_MOUNT = "/etc/classroom/config";
export const SCRATCH_MOUNT = "/var/cache/classroom";

export interface PodTemplateArgs {
  service: string;
  kind: ServiceKind;
  image: string;
  port: number;
  labels: Record<string, pulumi.Input<string>>;
  annotations: Record<string, pulumi.Input<string>>;
  env: k8s.types.input.core.v1.EnvVar[];
  resources: ResourceSizing;
  healthPath: string;
  logRoot: string;
  configMapName: pulumi.Input<string>;
  secretName?: pulumi.Input<string>;
  scratch: { sizeLimit: string; memory: boolean };
  terminationGraceSeconds: number;
  /** A separate metrics port (rpc services, whose main port speaks gRPC); omitted: /metrics on the main port. */
  metricsPort?: number;
  imagePullSecret?: pulumi.Input<string>;
  selector: Record<string, string>;
  command?: string[];
  serviceAccountName?: string;
}

/**
 * The pod of one track of a classroom service, with the four volume kinds each used for its purpose:
 * emptyDir scratch, hostPath logs, ConfigMap config files, Secret credential files.
 */
export function servicePodTemplate(a: PodTemplateArgs): k8s.types.input.core.v1.PodTemplateSpec {
  const logs = logVolume(a.logRoot, a.service);
  const scratch = scratchVolumes([
    { name: "scratch", mountPath: SCRATCH_MOUNT, sizeLimit: a.scratch.sizeLimit, ...(a.scratch.memory ? { medium: "Memory" as const } : {}) },
  ]);
  const tmp = scratchVolumes([{ name: "tmp", mountPath: "/tmp", sizeLimit: "64Mi" }]);
  const probe = a.kind === "rpc" ? { tcpSocket: { port: a.port } } : { httpGet: { path: a.healthPath, port: a.port } };
  // HTTP: the gateway needs a few seconds to drop the endpoint after the pod is marked terminating; keep
  // serving meanwhile. RPC: the process deregisters from ZooKeeper on SIGTERM and drains (contract in
  // runtime/discovery/README.md), so it gets no extra delay before SIGTERM.
  const preStopSeconds = a.kind === "http" ? 10 : 0;
  return {
    metadata: { labels: a.labels, annotations: a.annotations },
    spec: {
      // Only pods that call the Kubernetes API (a named ServiceAccount with its own narrow Role) get a token.
      automountServiceAccountToken: a.serviceAccountName !== undefined,
      ...(a.serviceAccountName ? { serviceAccountName: a.serviceAccountName } : {}),
      securityContext: restrictedPodSecurity(SERVICE_USER),
      terminationGracePeriodSeconds: a.terminationGraceSeconds,
      ...(a.imagePullSecret ? { imagePullSecrets: [{ name: a.imagePullSecret }] } : {}),
      topologySpreadConstraints: [
        { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: a.selector } },
        { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: a.selector } },
      ],
      containers: [
        {
          name: a.service,
          image: a.image,
          ...(a.command ? { command: a.command } : {}),
          ports: [
            { name: a.kind === "rpc" ? "rpc" : "http", containerPort: a.port },
            ...(a.metricsPort ? [{ name: METRICS_PORT_NAME, containerPort: a.metricsPort }] : []),
          ],
          env: [...logs.env, ...a.env, { name: "CLASSROOM_DRAIN_SECONDS", value: String(Math.max(1, a.terminationGraceSeconds - preStopSeconds - 10)) }],
          resources: a.resources,
          securityContext: restrictedContainerSecurity(SERVICE_USER),
          readinessProbe: { ...probe, periodSeconds: 5, failureThreshold: 3 },
          livenessProbe: { ...probe, periodSeconds: 15, failureThreshold: 4 },
          startupProbe: { ...probe, periodSeconds: 3, failureThreshold: 40 },
          ...(preStopSeconds ? { lifecycle: { preStop: { sleep: { seconds: preStopSeconds } } } } : {}),
          volumeMounts: [
            logs.mount,
            { name: "config", mountPath: CONFIG_MOUNT, readOnly: true },
            ...(a.secretName ? [{ name: "credentials", mountPath: SECRETS_MOUNT, readOnly: true }] : []),
            ...scratch.mounts,
            ...tmp.mounts,
          ],
        },
      ],
      volumes: [
        logs.volume,
        { name: "config", configMap: { name: a.configMapName } },
        ...(a.secretName ? [{ name: "credentials", secret: { secretName: a.secretName, defaultMode: 0o440 } }] : []),
        ...scratch.volumes,
        ...tmp.volumes,
      ],
    },
  };
}
