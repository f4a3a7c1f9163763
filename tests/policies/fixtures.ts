// A small platform stack that satisfies every rule of the pack under the prod config, built the way the
// components render (labels, tracks, per-track Services, weighted HTTPRoute, legacy EndpointSlice, data
// layer). Rule tests break exactly one thing in a fresh copy and expect exactly that rule's message.
import {
  evaluatePolicies,
  kubernetesTypeToken,
  loadPolicyConfig,
  PolicyConfig,
  RenderedResource,
  resourcesFromManifests,
  Violation,
} from "../../policies/evaluate";

export type Obj = Record<string, any>;

export const APPS = "classroom-prod-apps";
export const DATA = "classroom-prod-data";
export const LOG_ROOT = "/data/logs/classroom/prod";
export const DIGEST = `sha256:${"a".repeat(64)}`;
export const IMAGE = `registry.classroom.internal/room-api:1.8.2@${DIGEST}`;

export function labels(name: string, instance: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/instance": instance,
    "app.kubernetes.io/component": "http",
    "app.kubernetes.io/part-of": "classroom-platform",
    "app.kubernetes.io/managed-by": "pulumi",
    "classroom.io/tier": "service",
    ...extra,
  };
}

function podSpec(image: string, selector: Record<string, string>, logDir: string): Obj {
  return {
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: "app",
        image,
        ports: [{ name: "http", containerPort: 8080 }],
        env: [
          { name: "LOG_DIR", value: "/var/log/app" },
          { name: "MYSQL_PASSWORD", valueFrom: { secretKeyRef: { name: "room-api-credentials", key: "mysql-password" } } },
          { name: "MYSQL_PASSWORD_FILE", value: "/etc/classroom/secrets/mysql-password" },
        ],
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ["ALL"] } },
        resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } },
        readinessProbe: { httpGet: { path: "/ready", port: "http" } },
        livenessProbe: { httpGet: { path: "/live", port: "http" } },
        volumeMounts: [
          { name: "logs", mountPath: "/var/log/app" },
          { name: "tmp", mountPath: "/tmp" },
          { name: "config", mountPath: "/etc/classroom/config" },
          { name: "credentials", mountPath: "/etc/classroom/secrets" },
        ],
      },
    ],
    volumes: [
      { name: "logs", hostPath: { path: logDir, type: "DirectoryOrCreate" } },
      { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
      { name: "config", configMap: { name: "room-api-config" } },
      { name: "credentials", secret: { secretName: "room-api-credentials" } },
    ],
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: selector } },
    ],
  };
}

export function deployment(track: "stable" | "canary", replicas: number, image = IMAGE): Obj {
  const instance = `room-api-${track}`;
  const selector = { "app.kubernetes.io/name": "room-api", "app.kubernetes.io/instance": instance };
  const all = labels("room-api", instance, { "classroom.io/track": track });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: instance, namespace: APPS, labels: { ...all } },
    spec: {
      replicas,
      selector: { matchLabels: { ...selector } },
      template: { metadata: { labels: { ...all }, annotations: { ...SCRAPE } }, spec: podSpec(image, { ...selector }, `${LOG_ROOT}/room-api`) },
    },
  };
}

export function service(name: string, selector: Record<string, string> | undefined, extra: Record<string, string> = {}): Obj {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: APPS, labels: labels("room-api", name, extra) },
    spec: { type: "ClusterIP", ...(selector ? { selector } : {}), ports: [{ name: "http", port: 80, targetPort: selector ? "http" : 8080 }] },
  };
}

export function httpRoute(backends: Array<[string, number]>): Obj {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "room-api", namespace: APPS, labels: labels("room-api", "room-api") },
    spec: {
      parentRefs: [{ name: "classroom", namespace: "classroom-gateway" }],
      hostnames: ["classroom.example.com"],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/api/rooms" } }],
          backendRefs: backends.map(([name, weight]) => ({ name, port: 80, weight })),
        },
      ],
    },
  };
}

/** The GAMMA route of room-api, as components/traffic/east-west-route.ts renders it: parent is the umbrella Service. */
export function eastWestRoute(backends: Array<[string, number]>): Obj {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "room-api-east-west", namespace: APPS, labels: labels("room-api", "room-api") },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: "room-api", port: 80 }],
      rules: [{ backendRefs: backends.map(([name, weight]) => ({ name, port: 80, weight })) }],
    },
  };
}

function namespaceObjects(ns: string): Obj[] {
  const platform = labels("classroom-platform", ns);
  return [
    // As infra/platform.ts renders them: the stack's log root stated on each namespace.
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: platform, annotations: { "classroom.io/log-root": LOG_ROOT } } },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "default-deny", namespace: ns, labels: platform },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
  ];
}

/** The annotation-driven scrape of the pods' `http` port (8080). */
const SCRAPE = { "prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics" };

/** A rules file with one alert per data system of this stack, as infra/monitoring.ts renders it without the operator. */
export const RULES_FILE =
  "groups:\n  - name: classroom-data\n    rules:\n      - alert: ZooKeeperQuorumLost\n        expr: up == 0\n        labels: { severity: critical, system: zookeeper }\n      - alert: KafkaOfflinePartitions\n        expr: up == 0\n        labels: { severity: critical, system: kafka }\n";

function dataLabels(name: string, instance: string, component: string): Record<string, string> {
  return { ...labels(name, instance), "app.kubernetes.io/component": component, "classroom.io/tier": "data" };
}

function statefulSet(name: string, component: string, replicas: number, image: string): Obj {
  const l = dataLabels(name, name === "kafka" ? `kafka-${component}` : name, component);
  const selector = { "app.kubernetes.io/name": l["app.kubernetes.io/name"], "app.kubernetes.io/instance": l["app.kubernetes.io/instance"] };
  const spec = podSpec(image, { ...selector }, `${LOG_ROOT}/${name}`);
  spec.containers[0].env = [];
  spec.containers[0].startupProbe = { tcpSocket: { port: "http" }, failureThreshold: 60 };
  spec.volumes = spec.volumes.filter((v: Obj) => v.name !== "logs");
  spec.containers[0].volumeMounts = spec.containers[0].volumeMounts.filter((m: Obj) => m.name !== "logs");
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: l["app.kubernetes.io/instance"], namespace: DATA, labels: { ...l } },
    spec: {
      replicas,
      serviceName: `${name}-headless`,
      selector: { matchLabels: { ...selector } },
      template: { metadata: { labels: { ...l }, annotations: { ...SCRAPE } }, spec },
    },
  };
}

function pdb(name: string, namespace: string, selector: Record<string, string>, l: Record<string, string>): Obj {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name, namespace, labels: l },
    spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
  };
}

function allowPolicy(name: string, namespace: string, selector: Record<string, string>, l: Record<string, string>): Obj {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace, labels: l },
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: { matchLabels: { "classroom.io/client-kafka": "true" } } }] }],
    },
  };
}

export const SERVER_PROPERTIES = [
  "process.roles=broker",
  "default.replication.factor=3",
  "min.insync.replicas=2",
  "offsets.topic.replication.factor=3",
  "transaction.state.log.replication.factor=3",
  "transaction.state.log.min.isr=2",
].join("\n");

/** The compliant stack, by role, so a test can break one named part. */
export function platformStack() {
  const stable = deployment("stable", 3);
  const canary = deployment("canary", 1);
  const appSelector = { "app.kubernetes.io/name": "room-api" };
  const zk = statefulSet("zookeeper", "coordination", 3, `zookeeper:3.9.4@${DIGEST}`);
  const brokers = statefulSet("kafka", "broker", 3, `apache/kafka:4.1.1@${DIGEST}`);
  const zkSelector = zk.spec.selector.matchLabels;
  const brokerSelector = brokers.spec.selector.matchLabels;
  return {
    appNamespace: namespaceObjects(APPS),
    dataNamespace: namespaceObjects(DATA),
    stable,
    canary,
    appPolicy: allowPolicy("room-api", APPS, appSelector, labels("room-api", "room-api")),
    appPdb: pdb("room-api-stable", APPS, stable.spec.selector.matchLabels, labels("room-api", "room-api-stable")),
    hpa: {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "room-api-stable", namespace: APPS, labels: labels("room-api", "room-api-stable") },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "room-api-stable" }, minReplicas: 3, maxReplicas: 10 },
    } as Obj,
    umbrella: service("room-api", appSelector),
    svcStable: service("room-api-stable", stable.spec.selector.matchLabels, { "classroom.io/track": "stable" }),
    svcCanary: service("room-api-canary", canary.spec.selector.matchLabels, { "classroom.io/track": "canary" }),
    svcLegacy: service("room-api-legacy", undefined),
    legacySlice: {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "room-api-legacy",
        namespace: APPS,
        labels: { ...labels("room-api", "room-api-legacy"), "kubernetes.io/service-name": "room-api-legacy" },
      },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.20.0.11"] }],
      ports: [{ name: "http", port: 8080 }],
    } as Obj,
    route: httpRoute([
      ["room-api-stable", 80],
      ["room-api-canary", 10],
      ["room-api-legacy", 10],
    ]),
    eastWestRoute: eastWestRoute([
      ["room-api-stable", 80],
      ["room-api-canary", 10],
      ["room-api-legacy", 10],
    ]),
    appConfig: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "room-api-config", namespace: APPS, labels: labels("room-api", "room-api") },
      data: { "app.yaml": "server:\n  port: 8080\nmysql:\n  passwordFile: /etc/classroom/secrets/mysql-password\n  password: ${MYSQL_PASSWORD}\n" },
    } as Obj,
    zk,
    zkService: {
      ...service("zookeeper", zkSelector),
      metadata: { name: "zookeeper", namespace: DATA, labels: dataLabels("zookeeper", "zookeeper", "coordination") },
    } as Obj,
    zkPolicy: allowPolicy("zookeeper", DATA, zkSelector, dataLabels("zookeeper", "zookeeper", "coordination")),
    zkPdb: pdb("zookeeper", DATA, zkSelector, dataLabels("zookeeper", "zookeeper", "coordination")),
    brokers,
    kafkaConfig: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kafka-broker-config", namespace: DATA, labels: dataLabels("kafka", "kafka-broker", "broker") },
      data: { "server.properties": SERVER_PROPERTIES },
    } as Obj,
    kafkaPolicy: allowPolicy("kafka-broker", DATA, brokerSelector, dataLabels("kafka", "kafka-broker", "broker")),
    kafkaPdb: pdb("kafka-broker", DATA, brokerSelector, dataLabels("kafka", "kafka-broker", "broker")),
    rules: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "classroom-prometheus-rules", namespace: DATA, labels: labels("prometheus-rules", "classroom-prod-data-prometheus-rules") },
      data: { "classroom.rules.yml": RULES_FILE },
    } as Obj,
  };
}

export type PlatformStack = ReturnType<typeof platformStack>;

/** Every object of a stack, in declaration order. */
export function objectsOf(stack: PlatformStack): Obj[] {
  return Object.values(stack).flatMap((v) => (Array.isArray(v) ? v : [v]));
}

/** The Pulumi type token the Kubernetes provider registers an object under. */
export const typeToken = (obj: Obj): string => kubernetesTypeToken(obj);

export function toResources(objects: Obj[]): RenderedResource[] {
  return resourcesFromManifests(objects);
}

/** The prod enforcement config, the strictest the project uses. */
export const PROD: PolicyConfig = loadPolicyConfig("prod");

/** Violations of one rule in a set of objects, under the prod config with every rule mandatory. */
export function violationsOf(rule: string, objects: Obj[], config: PolicyConfig = { ...PROD, all: "mandatory" }): Violation[] {
  return evaluatePolicies(toResources(objects), config, { only: [rule] });
}
