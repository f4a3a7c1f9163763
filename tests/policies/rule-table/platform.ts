// The platform's own rules: log hostPaths, gray release, data layer.
import { APPS, LOG_ROOT, SERVER_PROPERTIES } from "../fixtures";
import { RuleSpec, logAgent, pod, weights } from "./types";

export const platformRules: Record<string, RuleSpec> = {
  "hostpath-log-root-only": {
    passes: [
      ["log dir below the root", (s) => (pod(s).volumes[0].hostPath = { path: `${LOG_ROOT}/room-api/`, type: "Directory" })],
      ["the log agent: the log root itself and its checkpoint directory", (s) => s.appNamespace.push(logAgent())],
    ],
    fails: [
      [
        "outside the log root",
        (s) => (pod(s).volumes[0].hostPath.path = "/var/log"),
        /volume 'logs' mounts host path \/var\/log, which is not below the log root \/data\/logs\/classroom\/prod/,
      ],
      ["the root itself", (s) => (pod(s).volumes[0].hostPath.path = LOG_ROOT), /is not below the log root/],
      ["a prefix look-alike", (s) => (pod(s).volumes[0].hostPath.path = `${LOG_ROOT}-old/room-api`), /is not below the log root/],
      ["escaping with ..", (s) => (pod(s).volumes[0].hostPath.path = `${LOG_ROOT}/../../../../etc`), /contains '\.\.'/],
      [
        "another volume on hostPath",
        (s) => pod(s).volumes.push({ name: "docker", hostPath: { path: "/var/run/docker.sock" } }),
        /volume 'docker' mounts host path \/var\/run\/docker.sock; only the volume named 'logs' may use hostPath/,
      ],
      ["a socket type", (s) => (pod(s).volumes[0].hostPath.type = "Socket"), /hostPath type Socket; allowed: Directory, DirectoryOrCreate/],
      [
        "another DaemonSet mounting the whole log root",
        (s) => s.appNamespace.push(logAgent((ds) => (ds.metadata.labels["app.kubernetes.io/name"] = "shipper"))),
        /volume 'log-root' mounts host path \/data\/logs\/classroom\/prod; only the volume named 'logs' may use hostPath/,
      ],
      [
        "the log agent's checkpoint elsewhere on the node",
        (s) => s.appNamespace.push(logAgent((ds) => (ds.spec.template.spec.volumes[1].hostPath.path = "/var/lib/kubelet"))),
        /volume 'checkpoints' mounts host path \/var\/lib\/kubelet/,
      ],
      [
        "the log agent's checkpoint of another namespace",
        (s) => s.appNamespace.push(logAgent((ds) => (ds.spec.template.spec.volumes[1].hostPath.path = "/var/lib/classroom-platform/log-agent/other-apps"))),
        /volume 'checkpoints' mounts host path \/var\/lib\/classroom-platform\/log-agent\/other-apps/,
      ],
      [
        "a hostPath PersistentVolume",
        (s) => s.appNamespace.push({ apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "pv" }, spec: { hostPath: { path: "/mnt" } } }),
        /uses hostPath \/mnt; hostPath is allowed only for pod log volumes/,
      ],
    ],
  },
  "canary-beside-stable": {
    passes: [["canary next to its stable track", () => {}]],
    fails: [
      [
        "canary of an app without a stable track",
        (s) => (s.stable.metadata.labels["classroom.io/track"] = "main"),
        /is on the canary track, but no stable-track workload of app.kubernetes.io\/name=room-api exists/,
      ],
      [
        "a track the platform does not know",
        (s) => (s.svcCanary.metadata.labels["classroom.io/track"] = "Canary"),
        /has classroom.io\/track=Canary; allowed: stable, canary, legacy/,
      ],
    ],
  },
  "canary-weight-range": {
    passes: [["weights 0 and 100", (s) => weights(s, 100, 0, 0)]],
    fails: [
      ["weight above 100", (s) => weights(s, 150, 0, 0), /rules\[0\].backendRefs\[0\] \(room-api-stable\) weight 150 is outside 0-100/],
      ["negative weight", (s) => weights(s, 110, -10, 0), /backendRefs\[1\] \(room-api-canary\) weight -10 is outside 0-100/],
      ["fractional weight", (s) => weights(s, 89.5, 10.5, 0), /weight 89.5 is not an integer/],
      [
        "an RPC canary registering with weight 120",
        (s) => s.canary.spec.template.spec.containers[0].env.push({ name: "CLASSROOM_TRACK_WEIGHT", value: "120" }),
        /container 'app' env CLASSROOM_TRACK_WEIGHT 120 is outside 0-100/,
      ],
      [
        "an NGINX canary Ingress at 101",
        (s) =>
          s.appNamespace.push({
            apiVersion: "networking.k8s.io/v1",
            kind: "Ingress",
            metadata: {
              name: "room-api-canary",
              namespace: APPS,
              annotations: { "nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "101" },
            },
            spec: {},
          }),
        /annotation nginx.ingress.kubernetes.io\/canary-weight 101 is outside 0-100/,
      ],
    ],
  },
  "httproute-backends-consistent": {
    passes: [["all traffic on stable, canary at 0", (s) => weights(s, 100, 0, 0)]],
    fails: [
      ["weights do not sum to 100", (s) => weights(s, 80, 10, 5), /rules\[0\] backend weights sum to 95; they must sum to 100/],
      [
        "canary backend without a canary Service",
        (s) => (s.svcCanary.metadata.name = "room-api-preview"),
        /backendRefs\[1\] names Service classroom-prod-apps\/room-api-canary, which is not in the stack/,
      ],
      [
        "port the Service does not expose",
        (s) => (s.route.spec.rules[0].backendRefs[0].port = 8080),
        /uses port 8080, which Service room-api-stable does not expose \(ports: 80\)/,
      ],
      ["weight on a canary scaled to 0", (s) => (s.canary.spec.replicas = 0), /sends weight 10 to Service room-api-canary, which has no pods or endpoints/],
      ["weight on an empty legacy slice", (s) => (s.legacySlice.endpoints = []), /sends weight 10 to Service room-api-legacy/],
    ],
  },
  "east-west-weights-match": {
    passes: [
      ["the same split both ways", () => {}],
      [
        "both ways moved to the canary together",
        (s) => {
          weights(s, 50, 40, 10);
          s.eastWestRoute.spec.rules[0].backendRefs[0].weight = 50;
          s.eastWestRoute.spec.rules[0].backendRefs[1].weight = 40;
        },
      ],
    ],
    fails: [
      [
        "a canary step applied north-south only",
        (s) => weights(s, 60, 30, 10),
        /splits east-west calls room-api-stable=80, room-api-canary=10, room-api-legacy=10, but the north-south HTTPRoute room-api splits room-api-stable=60, room-api-canary=30, room-api-legacy=10/,
      ],
      [
        "a legacy backend missing east-west",
        (s) => s.eastWestRoute.spec.rules[0].backendRefs.pop(),
        /but the north-south HTTPRoute room-api splits .*room-api-legacy=10/,
      ],
      [
        "a parent Service that is not in the stack",
        (s) => (s.eastWestRoute.spec.parentRefs[0].name = "rooms"),
        /is attached to Service classroom-prod-apps\/rooms, which is not in the stack/,
      ],
      [
        "a parent in another namespace",
        (s) => (s.eastWestRoute.spec.parentRefs[0].namespace = "other"),
        /is attached to Service other\/room-api in another namespace/,
      ],
      [
        "calls split onto another app's Service",
        (s) => {
          s.svcLegacy.metadata.labels["app.kubernetes.io/name"] = "course-api";
        },
        /splits calls to room-api \(app.kubernetes.io\/name=room-api\) onto Service room-api-legacy of app.kubernetes.io\/name=course-api/,
      ],
    ],
  },
  "zookeeper-odd-ensemble": {
    passes: [["five servers", (s) => (s.zk.spec.replicas = 5)]],
    fails: [
      [
        "four servers",
        (s) => (s.zk.spec.replicas = 4),
        /runs 4 ZooKeeper server\(s\); an ensemble needs an odd number >= 1 \(4 tolerates no more failures than 3\)/,
      ],
      [
        "an ensemble run as a Deployment of 2",
        (s) => {
          s.zk.kind = "Deployment";
          s.zk.spec.replicas = 2;
        },
        /runs 2 ZooKeeper server\(s\)/,
      ],
    ],
  },
  "kafka-replication": {
    passes: [
      [
        "env-only config that survives a broker loss",
        (s) => {
          s.kafkaConfig.data = {};
          s.brokers.spec.template.spec.containers[0].env = [
            { name: "KAFKA_DEFAULT_REPLICATION_FACTOR", value: "3" },
            { name: "KAFKA_MIN_INSYNC_REPLICAS", value: "2" },
          ];
        },
      ],
      [
        "RF 3, min ISR 2 with continuation lines",
        (s) => (s.kafkaConfig.data["server.properties"] = SERVER_PROPERTIES.replace("default.replication.factor=3", "default.replication.factor=\\\n  3")),
      ],
    ],
    fails: [
      [
        "RF 2",
        (s) => (s.kafkaConfig.data["server.properties"] = SERVER_PROPERTIES.replace("default.replication.factor=3", "default.replication.factor=2")),
        /default.replication.factor is 2; it must be >= 3/,
      ],
      [
        "min ISR equal to RF",
        (s) => (s.kafkaConfig.data["server.properties"] = SERVER_PROPERTIES.replace("min.insync.replicas=2", "min.insync.replicas=3")),
        /min.insync.replicas 3 is not below default.replication.factor 3/,
      ],
      [
        "min ISR left at Kafka's default",
        (s) => (s.kafkaConfig.data["server.properties"] = SERVER_PROPERTIES.replace("min.insync.replicas=2\n", "")),
        /min.insync.replicas is 1 \(not set: Kafka's default\)/,
      ],
      [
        "offsets topic RF 1",
        (s) => (s.kafkaConfig.data["server.properties"] += "\noffsets.topic.replication.factor=1"),
        /offsets.topic.replication.factor is 1; it must be >= 3/,
      ],
      ["fewer brokers than RF", (s) => (s.brokers.spec.replicas = 2), /needs at least 3 brokers, but the broker StatefulSets run 2/],
      [
        "no broker config to check",
        (s) => (s.kafkaConfig.data = { "log4j.properties": "" }),
        /no ConfigMap labelled app.kubernetes.io\/name=kafka with server.properties/,
      ],
      [
        "an env override weakening the file",
        (s) => (s.brokers.spec.template.spec.containers[0].env = [{ name: "KAFKA_MIN_INSYNC_REPLICAS", value: "1" }]),
        /min.insync.replicas is 1 \(env KAFKA_MIN_INSYNC_REPLICAS of StatefulSet kafka-broker\)/,
      ],
      [
        "env-only config with RF 1",
        (s) => {
          s.kafkaConfig.data = {};
          s.brokers.spec.template.spec.containers[0].env = [
            { name: "KAFKA_DEFAULT_REPLICATION_FACTOR", value: "1" },
            { name: "KAFKA_MIN_INSYNC_REPLICAS", value: "1" },
          ];
        },
        /default.replication.factor is 1 \(env KAFKA_DEFAULT_REPLICATION_FACTOR/,
      ],
    ],
  },
  "workloads-scraped": {
    passes: [
      [
        "a PodMonitor instead of annotations",
        (s) => {
          delete s.zk.spec.template.metadata.annotations;
          s.dataNamespace.push({
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PodMonitor",
            metadata: { name: "classroom", namespace: "classroom-prod-data", labels: s.zk.metadata.labels },
            spec: { selector: { matchLabels: { "app.kubernetes.io/part-of": "classroom-platform" } }, podMetricsEndpoints: [{ port: "http" }] },
          });
        },
      ],
    ],
    fails: [
      [
        "a StatefulSet without annotations or PodMonitor",
        (s) => delete s.zk.spec.template.metadata.annotations,
        /StatefulSet classroom-prod-data\/zookeeper is not scraped: .*no prometheus.io\/scrape: "true" annotation/,
      ],
      [
        "an annotation naming a port the pod does not have",
        (s) => (s.stable.spec.template.metadata.annotations["prometheus.io/port"] = "9999"),
        /Deployment classroom-prod-apps\/room-api-stable is not scraped: .*prometheus.io\/port 9999 is no container port/,
      ],
      [
        "a PodMonitor of another namespace",
        (s) => {
          delete s.zk.spec.template.metadata.annotations;
          s.appNamespace.push({
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PodMonitor",
            metadata: { name: "classroom", namespace: "classroom-prod-apps", labels: s.zk.metadata.labels },
            spec: { selector: { matchLabels: {} }, podMetricsEndpoints: [{ port: "http" }] },
          });
        },
        /zookeeper is not scraped/,
      ],
    ],
  },
  "data-systems-alerted": {
    passes: [
      [
        "the alerts in a PrometheusRule",
        (s) => {
          s.rules.data = {};
          s.dataNamespace.push({
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PrometheusRule",
            metadata: { name: "classroom", namespace: "classroom-prod-data", labels: s.rules.metadata.labels },
            spec: {
              groups: [
                {
                  name: "g",
                  rules: [
                    { alert: "A", expr: "up == 0", labels: { system: "zookeeper" } },
                    { alert: "B", expr: "up == 0", labels: { system: "kafka" } },
                  ],
                },
              ],
            },
          });
        },
      ],
    ],
    fails: [
      [
        "no rules at all",
        (s) => (s.rules.data = {}),
        /zookeeper in classroom-prod-data has no alerts: no PrometheusRule or rules ConfigMap of classroom-prod-data holds an alert labelled system=zookeeper/,
      ],
      [
        "Kafka's alerts dropped",
        (s) => (s.rules.data["classroom.rules.yml"] = s.rules.data["classroom.rules.yml"].replace("system: kafka", "system: other")),
        /kafka in classroom-prod-data has no alerts/,
      ],
      [
        "only a recording rule for ZooKeeper",
        (s) => (s.rules.data["classroom.rules.yml"] = s.rules.data["classroom.rules.yml"].replace("alert: ZooKeeperQuorumLost", "record: zk:up")),
        /zookeeper in classroom-prod-data has no alerts/,
      ],
    ],
  },
  "data-services-not-routed": {
    passes: [["routes only to classroom services", () => {}]],
    fails: [
      [
        "an HTTPRoute to ZooKeeper",
        (s) => s.route.spec.rules.push({ backendRefs: [{ name: "zookeeper", namespace: "classroom-prod-data", port: 80 }] }),
        /rules\[1\].backendRefs\[0\] sends edge traffic to data-layer Service classroom-prod-data\/zookeeper/,
      ],
      [
        "an Ingress to ZooKeeper",
        (s) =>
          s.dataNamespace.push({
            apiVersion: "networking.k8s.io/v1",
            kind: "Ingress",
            metadata: { name: "zk", namespace: "classroom-prod-data" },
            spec: { defaultBackend: { service: { name: "zookeeper", port: { number: 80 } } } },
          }),
        /defaultBackend sends edge traffic to data-layer Service classroom-prod-data\/zookeeper/,
      ],
    ],
  },
  "data-services-internal": {
    passes: [["headless data Service", (s) => (s.zkService.spec.clusterIP = "None")]],
    fails: [
      ["NodePort ZooKeeper", (s) => (s.zkService.spec.type = "NodePort"), /is a data-layer Service of type NodePort/],
      ["externalIPs on ZooKeeper", (s) => (s.zkService.spec.externalIPs = ["203.0.113.9"]), /data-layer Service with externalIPs \(203.0.113.9\)/],
      [
        "a ZooKeeper Service mislabelled tier=service",
        (s) => {
          s.zkService.metadata.labels["classroom.io/tier"] = "service";
          s.zkService.spec.type = "LoadBalancer";
        },
        /is a data-layer Service of type LoadBalancer/,
      ],
    ],
  },
};
