// Every rule of the pack, as a specification: the compliant platform stack passes it, each listed variant
// still passes, and each listed breakage fails it with the quoted message. The table must name every rule.
import * as fs from "node:fs";
import * as path from "node:path";
import { allRules } from "../../policies/rules";
import { APPS, DIGEST, LOG_ROOT, Obj, objectsOf, platformStack, PlatformStack, PROD, SERVER_PROPERTIES, violationsOf } from "./fixtures";

type Change = (s: PlatformStack) => void;
interface RuleSpec {
  /** Changes that keep the stack compliant with this rule. */
  passes: Array<[string, Change]>;
  /** Changes that break it, with the message expected. */
  fails: Array<[string, Change, RegExp]>;
  /** Settings for this rule (on top of the prod config) under which the *WithConfig cases run. */
  config?: Record<string, unknown>;
  passesWithConfig?: Array<[string, Change]>;
  failsWithConfig?: Array<[string, Change, RegExp]>;
}

const app = (s: PlatformStack): Obj => s.stable.spec.template.spec.containers[0];
const appSec = (s: PlatformStack): Obj => app(s).securityContext;
const pod = (s: PlatformStack): Obj => s.stable.spec.template.spec;
const weights = (s: PlatformStack, ...w: number[]) => s.route.spec.rules[0].backendRefs.forEach((r: Obj, i: number) => (r.weight = w[i]));

const RULES: Record<string, RuleSpec> = {
  "no-privileged-containers": {
    passes: [["privileged: false set explicitly", (s) => (appSec(s).privileged = false)]],
    fails: [
      ["a privileged container", (s) => (appSec(s).privileged = true), /container 'app' sets securityContext.privileged: true/],
      ["a privileged init container", (s) => (pod(s).initContainers = [{ name: "setup", image: "busybox:1.37", securityContext: { privileged: true } }]), /init container 'setup' sets securityContext.privileged: true/],
      ["an unmasked /proc", (s) => (appSec(s).procMount = "Unmasked"), /container 'app' sets securityContext.procMount: Unmasked/],
    ],
  },
  "no-privilege-escalation": {
    passes: [["allowPrivilegeEscalation false", () => {}]],
    fails: [
      ["not set", (s) => delete appSec(s).allowPrivilegeEscalation, /container 'app' does not set securityContext.allowPrivilegeEscalation: false/],
      ["set true", (s) => (appSec(s).allowPrivilegeEscalation = true), /allowPrivilegeEscalation: true; it must be false/],
    ],
  },
  "run-as-non-root": {
    passes: [["runAsNonRoot only on the pod", (s) => delete appSec(s).runAsNonRoot]],
    fails: [
      ["no runAsNonRoot anywhere", (s) => delete pod(s).securityContext.runAsNonRoot, /container 'app' may run as root: set securityContext.runAsNonRoot: true/],
      ["runAsUser 0 on the container", (s) => (appSec(s).runAsUser = 0), /container 'app' runs as UID 0/],
      ["container overrides to false", (s) => (appSec(s).runAsNonRoot = false), /runAsNonRoot: false; it must be true/],
    ],
  },
  "drop-all-capabilities": {
    passes: [["adds back NET_BIND_SERVICE", (s) => (appSec(s).capabilities.add = ["NET_BIND_SERVICE"])]],
    fails: [
      ["drops only some", (s) => (appSec(s).capabilities = { drop: ["NET_RAW"] }), /container 'app' does not drop ALL capabilities/],
      ["adds SYS_ADMIN", (s) => (appSec(s).capabilities.add = ["SYS_ADMIN"]), /container 'app' adds capability SYS_ADMIN; allowed: NET_BIND_SERVICE/],
    ],
  },
  "no-host-namespaces": {
    passes: [["hostNetwork false", (s) => (pod(s).hostNetwork = false)]],
    fails: [
      ["hostNetwork", (s) => (pod(s).hostNetwork = true), /pod shares the node's network namespace \(hostNetwork: true\)/],
      ["hostPID", (s) => (pod(s).hostPID = true), /pod shares the node's PID namespace/],
      ["hostIPC", (s) => (pod(s).hostIPC = true), /pod shares the node's IPC namespace/],
    ],
  },
  "no-host-ports": {
    passes: [["container ports only", () => {}]],
    fails: [["hostPort 8080", (s) => (app(s).ports[0].hostPort = 8080), /container 'app' binds host port 8080 \(ports\[0\].hostPort\)/]],
  },
  "seccomp-runtime-default": {
    passes: [["Localhost profile on the container", (s) => (appSec(s).seccompProfile = { type: "Localhost", localhostProfile: "x.json" })]],
    fails: [
      ["no profile", (s) => delete pod(s).securityContext.seccompProfile, /container 'app' has no seccomp profile/],
      ["Unconfined on the container", (s) => (appSec(s).seccompProfile = { type: "Unconfined" }), /container 'app' uses seccomp profile Unconfined; allowed: RuntimeDefault, Localhost/],
    ],
  },
  "read-only-root-filesystem": {
    passes: [["read-only root", () => {}]],
    fails: [["writable root", (s) => (appSec(s).readOnlyRootFilesystem = false), /container 'app' does not set securityContext.readOnlyRootFilesystem: true/]],
  },
  "no-service-account-token-automount": {
    passes: [["automount false", () => {}]],
    fails: [["automount left on", (s) => delete pod(s).automountServiceAccountToken, /pod does not set automountServiceAccountToken: false.*service account 'default'/]],
    config: { allowedServiceAccounts: ["classroom-prod-apps/room-api"] },
    passesWithConfig: [["an allowed service account keeps its token", (s) => { delete pod(s).automountServiceAccountToken; pod(s).serviceAccountName = "room-api"; }]],
  },
  "restricted-volume-types": {
    passes: [["projected volume", (s) => pod(s).volumes.push({ name: "token", projected: { sources: [] } })]],
    fails: [["an NFS volume", (s) => pod(s).volumes.push({ name: "shared", nfs: { server: "nfs", path: "/x" } }), /volume 'shared' is of type nfs; allowed: configMap/]],
  },
  "resource-requests": {
    passes: [["cpu and memory requested", () => {}]],
    fails: [["no memory request", (s) => delete app(s).resources.requests.memory, /container 'app' sets no requests for memory \(resources.requests\)/]],
  },
  "resource-limits": {
    passes: [["only memory limit when cpu limits are not required", (s) => delete app(s).resources.limits.cpu]],
    fails: [["no limits at all", (s) => delete app(s).resources.limits, /container 'app' sets no limits for memory \(resources.limits\)/]],
    config: { requireCpuLimit: true },
    failsWithConfig: [["no cpu limit where cpu limits are required", (s) => delete app(s).resources.limits.cpu, /container 'app' sets no limits for cpu/]],
  },
  "requests-within-limits": {
    passes: [["equal request and limit", (s) => (app(s).resources.requests.memory = "512Mi")]],
    fails: [
      ["memory request above limit", (s) => (app(s).resources.requests.memory = "1Gi"), /container 'app' requests more memory \(1Gi\) than its limit \(512Mi\)/],
      ["malformed cpu", (s) => (app(s).resources.requests.cpu = "lots"), /container 'app' has an invalid cpu quantity in resources.requests: "lots"/],
    ],
  },
  "readiness-probe": {
    passes: [["Jobs need none", (s) => delete s.canary.spec.template.spec.containers[0].readinessProbe && (s.canary.kind = "Job")]],
    fails: [["no readiness probe", (s) => delete app(s).readinessProbe, /container 'app' has no readinessProbe/]],
  },
  "liveness-probe": {
    passes: [["liveness probe present", () => {}]],
    fails: [["no liveness probe", (s) => delete app(s).livenessProbe, /container 'app' has no livenessProbe/]],
  },
  "startup-probe-for-slow-start": {
    passes: [["short liveness delay", (s) => (app(s).livenessProbe.initialDelaySeconds = 10)]],
    fails: [
      ["long liveness delay", (s) => (app(s).livenessProbe.initialDelaySeconds = 120), /container 'app' delays its livenessProbe by 120 s; use a startupProbe/],
      ["ZooKeeper without a startup probe", (s) => delete s.zk.spec.template.spec.containers[0].startupProbe, /container 'app' runs zookeeper, which boots slowly, but has no startupProbe/],
    ],
  },
  "image-tag-pinned": {
    passes: [["tag without digest", (s) => (app(s).image = "registry.classroom.internal/room-api:1.8.2")], ["registry with a port", (s) => (app(s).image = "localhost:5000/room-api:1.0")]],
    fails: [
      ["latest", (s) => (app(s).image = "room-api:latest"), /container 'app' uses image 'room-api:latest' with the mutable tag latest/],
      ["untagged", (s) => (app(s).image = "localhost:5000/room-api"), /uses image 'localhost:5000\/room-api' without a tag \(that means latest\)/],
    ],
  },
  "image-digest-required": {
    passes: [["tag plus digest", () => {}]],
    fails: [
      ["tag only", (s) => (app(s).image = "room-api:1.8.2"), /container 'app' uses image 'room-api:1.8.2' without a digest/],
      ["malformed digest", (s) => (app(s).image = "room-api:1.8.2@sha256:abc"), /whose digest is not sha256:<64 hex digits>/],
    ],
  },
  "ha-replicas": {
    passes: [["a one-replica canary", (s) => (s.canary.spec.replicas = 1)], ["HPA minimum counts, not spec.replicas", (s) => (s.stable.spec.replicas = 1)]],
    config: { exemptWorkloads: ["classroom-prod-data/zookeeper"] },
    passesWithConfig: [["a singleton listed in exemptWorkloads", (s) => (s.zk.spec.replicas = 1)]],
    fails: [
      ["one ZooKeeper server", (s) => (s.zk.spec.replicas = 1), /runs 1 replica\(s\) \(spec.replicas\); this environment needs at least 2/],
      ["HPA minimum of 1", (s) => (s.hpa.spec.minReplicas = 1), /runs 1 replica\(s\) \(HorizontalPodAutoscaler room-api-stable\)/],
    ],
  },
  "pod-disruption-budget": {
    passes: [["single-replica workloads need none", (s) => (s.canary.spec.replicas = 1)]],
    fails: [
      ["no PDB for a 3-node ensemble", (s) => (s.zkPdb.spec.selector.matchLabels = { "app.kubernetes.io/name": "mysql" }), /can run 3 replicas but no PodDisruptionBudget in namespace classroom-prod-data selects its pods/],
      ["HPA can scale the canary out", (s) => (s.hpa.spec.scaleTargetRef.name = "room-api-canary"), /Deployment classroom-prod-apps\/room-api-canary|can run 10 replicas/],
    ],
  },
  "pdb-effective": {
    passes: [["minAvailable below replicas", (s) => (s.zkPdb.spec = { minAvailable: 2, selector: s.zkPdb.spec.selector })]],
    fails: [
      ["maxUnavailable 0", (s) => (s.zkPdb.spec.maxUnavailable = 0), /maxUnavailable 0 lets no pod of StatefulSet classroom-prod-data\/zookeeper be evicted/],
      ["minAvailable 100%", (s) => (s.zkPdb.spec = { minAvailable: "100%", selector: s.zkPdb.spec.selector }), /minAvailable 100% with 3 replica\(s\).*lets no pod be evicted/],
      ["selector of a label pods lack", (s) => (s.appPdb.spec.selector.matchLabels = { app: "room" }), /selector \{app=room\} selects no pods of any workload in namespace classroom-prod-apps/],
    ],
  },
  "spread-or-anti-affinity": {
    passes: [["anti-affinity instead of spread", (s) => { pod(s).affinity = { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: s.stable.spec.selector.matchLabels } } }] } }; delete pod(s).topologySpreadConstraints; }]],
    fails: [
      ["three replicas, no spread", (s) => { delete pod(s).topologySpreadConstraints; delete s.hpa.spec.scaleTargetRef.name; }, /can run 3 replicas \(spec.replicas\) with neither topologySpreadConstraints nor podAntiAffinity/],
      ["one replica that its HPA scales to 10", (s) => { delete pod(s).topologySpreadConstraints; s.stable.spec.replicas = 1; }, /can run 10 replicas \(HorizontalPodAutoscaler room-api-stable\)/],
    ],
  },
  "spread-selectors-match-pods": {
    passes: [["matchExpressions on the name label", (s) => (pod(s).topologySpreadConstraints[0].labelSelector = { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["room-api"] }] })]],
    fails: [
      ["the ZooKeeper tutorial bug: a label the pods lack", (s) => (pod(s).topologySpreadConstraints[0].labelSelector = { matchLabels: { app: "room-api" } }), /topologySpreadConstraints\[0\].labelSelector \{app=room-api\} does not match the pod labels/],
      ["anti-affinity without a selector", (s) => (pod(s).affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname" }] } }), /podAntiAffinity.required\[0\].labelSelector is missing/],
    ],
  },
  "hpa-bounds": {
    passes: [["min 2 max 2", (s) => Object.assign(s.hpa.spec, { minReplicas: 2, maxReplicas: 2 })]],
    fails: [
      ["min above max", (s) => Object.assign(s.hpa.spec, { minReplicas: 5, maxReplicas: 4 }), /minReplicas 5 is above maxReplicas 4/],
      ["min 1 in prod", (s) => (s.hpa.spec.minReplicas = 1), /minReplicas 1 is below 2, the floor for this environment/],
    ],
  },
  "hpa-target-exists": {
    passes: [["targets the stable Deployment", () => {}]],
    fails: [["a typo in the target", (s) => (s.hpa.spec.scaleTargetRef.name = "room-api"), /scaleTargetRef Deployment room-api is not a workload of this stack/]],
  },
  "network-policy-coverage": {
    passes: [
      ["one policy selects the whole app", () => {}],
      ["only the namespace's default deny selects it (isolated)", (s) => (s.appPolicy.spec.podSelector.matchLabels = { "app.kubernetes.io/name": "course-api" })],
    ],
    fails: [
      ["no policy selects it", (s) => { s.appPolicy.spec.podSelector.matchLabels = { "app.kubernetes.io/name": "course-api" }; s.appNamespace.pop(); }, /no NetworkPolicy in namespace classroom-prod-apps selects its pods \{app.kubernetes.io\/name=room-api/],
    ],
  },
  "namespace-default-deny": {
    passes: [["podSelector {} with Ingress and Egress, no rules", () => {}]],
    fails: [
      ["default deny with an allow rule", (s) => (s.appNamespace[1].spec.ingress = [{}]), /namespace classroom-prod-apps has no default-deny NetworkPolicy/],
      ["ingress only while egress is required", (s) => (s.dataNamespace[1].spec.policyTypes = ["Ingress"]), /namespace classroom-prod-data has no default-deny NetworkPolicy \(podSelector \{\}, policyTypes Ingress and Egress, no rules\)/],
    ],
  },
  "service-exposure": {
    passes: [["ClusterIP", () => {}]],
    fails: [
      ["LoadBalancer", (s) => (s.umbrella.spec.type = "LoadBalancer"), /is of type LoadBalancer, which exposes it outside the cluster/],
      ["externalIPs", (s) => (s.umbrella.spec.externalIPs = ["203.0.113.7"]), /sets externalIPs \(203.0.113.7\)/],
    ],
    config: { allowedExposedServices: ["classroom-prod-apps/room-api"] },
    passesWithConfig: [["an allowed LoadBalancer", (s) => (s.umbrella.spec.type = "LoadBalancer")]],
  },
  "service-targets-pods": {
    passes: [["a Service selecting one StatefulSet ordinal", (s) => (s.zkService.spec.selector = { ...s.zkService.spec.selector, "statefulset.kubernetes.io/pod-name": "zookeeper-0" })]],
    fails: [
      ["selector matches nothing", (s) => (s.svcCanary.spec.selector = { "app.kubernetes.io/instance": "room-api-blue" }), /selector \{app.kubernetes.io\/instance=room-api-blue\} matches no pods/],
      ["ordinal beyond the replicas", (s) => (s.zkService.spec.selector = { ...s.zkService.spec.selector, "statefulset.kubernetes.io/pod-name": "zookeeper-3" }), /matches no pods of any workload in namespace classroom-prod-data/],
      ["legacy Service without its EndpointSlice", (s) => (s.legacySlice.metadata.labels["kubernetes.io/service-name"] = "other"), /has no selector and no EndpointSlice labelled kubernetes.io\/service-name=room-api-legacy/],
      ["named targetPort the pods do not have", (s) => (s.svcStable.spec.ports[0].targetPort = "web"), /ports\[0\].targetPort 'web' names no container port/],
    ],
  },
  "recommended-labels": {
    passes: [["all four labels", () => {}]],
    fails: [
      ["missing part-of", (s) => delete s.umbrella.metadata.labels["app.kubernetes.io/part-of"], /is missing label\(s\) app.kubernetes.io\/part-of/],
      ["managed by helm", (s) => (s.umbrella.metadata.labels["app.kubernetes.io/managed-by"] = "Helm"), /has app.kubernetes.io\/managed-by=Helm; the platform uses pulumi/],
    ],
  },
  "tier-label": {
    passes: [["tier service", () => {}]],
    fails: [
      ["no tier on a data Service", (s) => delete s.zkService.metadata.labels["classroom.io/tier"], /has no classroom.io\/tier label; allowed: data, service/],
      ["unknown tier", (s) => (s.stable.metadata.labels["classroom.io/tier"] = "web"), /has classroom.io\/tier=web; allowed: data, service/],
    ],
  },
  "no-secret-env-literals": {
    passes: [
      ["password from a secretKeyRef, password file path literal", () => {}],
      ["the shell's PWD and a $(VAR) reference", (s) => app(s).env.push({ name: "PWD", value: "/app" }, { name: "DB_PASS", value: "$(MYSQL_PASSWORD)" })],
    ],
    fails: [
      ["literal password", (s) => app(s).env.push({ name: "REDIS_PASSWORD", value: "hunter2" }), /container 'app' sets env REDIS_PASSWORD to a literal value/],
      ["literal DB_PASS", (s) => app(s).env.push({ name: "DB_PASS", value: "hunter2" }), /sets env DB_PASS to a literal value/],
      ["credentials in a URL", (s) => app(s).env.push({ name: "DATABASE_URL", value: "mysql://app:s3cret@mysql:3306/classroom" }), /sets env DATABASE_URL to a URL with an embedded password/],
      ["password flag in args", (s) => (app(s).args = ["--db-password=s3cret"]), /passes a literal --db-password in args/],
    ],
  },
  "no-secrets-in-configmaps": {
    passes: [["password taken from env / file", () => {}]],
    fails: [
      ["a key named like a password", (s) => (s.appConfig.data["mysql-password"] = "s3cret"), /data key 'mysql-password' looks like a credential/],
      ["redis requirepass", (s) => (s.appConfig.data["redis.conf"] = "port 6379\nrequirepass s3cret\n"), /data key 'redis.conf' assigns credentials in plain text \(requirepass\)/],
      ["SQL user with a password", (s) => (s.appConfig.data["init.sql"] = "CREATE USER 'app'@'%' IDENTIFIED BY 'pw';"), /IDENTIFIED BY/],
      ["an exported password in an env file", (s) => (s.appConfig.data["app.env"] = "export DB_PASSWORD=hunter2\n"), /data key 'app.env' assigns credentials in plain text \(DB_PASSWORD\)/],
      ["a Spring property", (s) => (s.appConfig.data["application.properties"] = "spring.datasource.password = hunter2\n"), /\(spring.datasource.password\)/],
      ["an XML password element", (s) => (s.appConfig.data["settings.xml"] = "<server><password>hunter2</password></server>\n"), /\(password\)/],
    ],
  },
  "no-deprecated-api-versions": {
    passes: [["policy/v1 PDB", () => {}]],
    fails: [
      ["policy/v1beta1 PDB", (s) => (s.zkPdb.apiVersion = "policy/v1beta1"), /uses policy\/v1beta1 PodDisruptionBudget, which was removed in Kubernetes 1.25; use policy\/v1/],
      ["v1beta1 HTTPRoute", (s) => (s.route.apiVersion = "gateway.networking.k8s.io/v1beta1"), /is deprecated \(since gateway-api 1.0\); use gateway.networking.k8s.io\/v1/],
    ],
  },
  "no-default-namespace": {
    passes: [["explicit namespaces", () => {}]],
    fails: [
      ["no namespace", (s) => delete s.appConfig.metadata.namespace, /sets no metadata.namespace, so it lands in the default namespace/],
      ["default namespace", (s) => (s.appConfig.metadata.namespace = "default"), /is placed in the default namespace/],
    ],
  },
  "hostpath-log-root-only": {
    passes: [["log dir below the root", (s) => (pod(s).volumes[0].hostPath = { path: `${LOG_ROOT}/room-api/`, type: "Directory" })]],
    fails: [
      ["outside the log root", (s) => (pod(s).volumes[0].hostPath.path = "/var/log"), /volume 'logs' mounts host path \/var\/log, which is not below the log root \/data\/logs\/classroom\/prod/],
      ["the root itself", (s) => (pod(s).volumes[0].hostPath.path = LOG_ROOT), /is not below the log root/],
      ["a prefix look-alike", (s) => (pod(s).volumes[0].hostPath.path = `${LOG_ROOT}-old/room-api`), /is not below the log root/],
      ["escaping with ..", (s) => (pod(s).volumes[0].hostPath.path = `${LOG_ROOT}/../../../../etc`), /contains '\.\.'/],
      ["another volume on hostPath", (s) => pod(s).volumes.push({ name: "docker", hostPath: { path: "/var/run/docker.sock" } }), /volume 'docker' mounts host path \/var\/run\/docker.sock; only the volume named 'logs' may use hostPath/],
      ["a socket type", (s) => (pod(s).volumes[0].hostPath.type = "Socket"), /hostPath type Socket; allowed: Directory, DirectoryOrCreate/],
      ["a hostPath PersistentVolume", (s) => s.appNamespace.push({ apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "pv" }, spec: { hostPath: { path: "/mnt" } } }), /uses hostPath \/mnt; hostPath is allowed only for pod log volumes/],
    ],
  },
  "canary-beside-stable": {
    passes: [["canary next to its stable track", () => {}]],
    fails: [
      ["canary of an app without a stable track", (s) => (s.stable.metadata.labels["classroom.io/track"] = "main"), /is on the canary track, but no stable-track workload of app.kubernetes.io\/name=room-api exists/],
      ["a track the platform does not know", (s) => (s.svcCanary.metadata.labels["classroom.io/track"] = "Canary"), /has classroom.io\/track=Canary; allowed: stable, canary, legacy/],
    ],
  },
  "canary-weight-range": {
    passes: [["weights 0 and 100", (s) => weights(s, 100, 0, 0)]],
    fails: [
      ["weight above 100", (s) => weights(s, 150, 0, 0), /rules\[0\].backendRefs\[0\] \(room-api-stable\) weight 150 is outside 0-100/],
      ["negative weight", (s) => weights(s, 110, -10, 0), /backendRefs\[1\] \(room-api-canary\) weight -10 is outside 0-100/],
      ["fractional weight", (s) => weights(s, 89.5, 10.5, 0), /weight 89.5 is not an integer/],
      ["an RPC canary registering with weight 120", (s) => s.canary.spec.template.spec.containers[0].env.push({ name: "CLASSROOM_TRACK_WEIGHT", value: "120" }), /container 'app' env CLASSROOM_TRACK_WEIGHT 120 is outside 0-100/],
      ["an NGINX canary Ingress at 101", (s) => s.appNamespace.push({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "room-api-canary", namespace: APPS, annotations: { "nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "101" } }, spec: {} }), /annotation nginx.ingress.kubernetes.io\/canary-weight 101 is outside 0-100/],
    ],
  },
  "httproute-backends-consistent": {
    passes: [["all traffic on stable, canary at 0", (s) => weights(s, 100, 0, 0)]],
    fails: [
      ["weights do not sum to 100", (s) => weights(s, 80, 10, 5), /rules\[0\] backend weights sum to 95; they must sum to 100/],
      ["canary backend without a canary Service", (s) => (s.svcCanary.metadata.name = "room-api-preview"), /backendRefs\[1\] names Service classroom-prod-apps\/room-api-canary, which is not in the stack/],
      ["port the Service does not expose", (s) => (s.route.spec.rules[0].backendRefs[0].port = 8080), /uses port 8080, which Service room-api-stable does not expose \(ports: 80\)/],
      ["weight on a canary scaled to 0", (s) => (s.canary.spec.replicas = 0), /sends weight 10 to Service room-api-canary, which has no pods or endpoints/],
      ["weight on an empty legacy slice", (s) => (s.legacySlice.endpoints = []), /sends weight 10 to Service room-api-legacy/],
    ],
  },
  "zookeeper-odd-ensemble": {
    passes: [["five servers", (s) => (s.zk.spec.replicas = 5)]],
    fails: [
      ["four servers", (s) => (s.zk.spec.replicas = 4), /runs 4 ZooKeeper server\(s\); an ensemble needs an odd number >= 1 \(4 tolerates no more failures than 3\)/],
      ["an ensemble run as a Deployment of 2", (s) => { s.zk.kind = "Deployment"; s.zk.spec.replicas = 2; }, /runs 2 ZooKeeper server\(s\)/],
    ],
  },
  "kafka-replication": {
    passes: [
      ["env-only config that survives a broker loss", (s) => { s.kafkaConfig.data = {}; s.brokers.spec.template.spec.containers[0].env = [{ name: "KAFKA_DEFAULT_REPLICATION_FACTOR", value: "3" }, { name: "KAFKA_MIN_INSYNC_REPLICAS", value: "2" }]; }],
      ["RF 3, min ISR 2 with continuation lines", (s) => (s.kafkaConfig.data["server.properties"] = SERVER_PROPERTIES.replace("default.replication.factor=3", "default.replication.factor=\\\n  3"))]],
    fails: [
      ["RF 2", (s) => (s.kafkaConfig.data["server.properties"] = SERVER_PROPERTIES.replace("default.replication.factor=3", "default.replication.factor=2")), /default.replication.factor is 2; it must be >= 3/],
      ["min ISR equal to RF", (s) => (s.kafkaConfig.data["server.properties"] = SERVER_PROPERTIES.replace("min.insync.replicas=2", "min.insync.replicas=3")), /min.insync.replicas 3 is not below default.replication.factor 3/],
      ["min ISR left at Kafka's default", (s) => (s.kafkaConfig.data["server.properties"] = SERVER_PROPERTIES.replace("min.insync.replicas=2\n", "")), /min.insync.replicas is 1 \(not set: Kafka's default\)/],
      ["offsets topic RF 1", (s) => (s.kafkaConfig.data["server.properties"] += "\noffsets.topic.replication.factor=1"), /offsets.topic.replication.factor is 1; it must be >= 3/],
      ["fewer brokers than RF", (s) => (s.brokers.spec.replicas = 2), /needs at least 3 brokers, but the broker StatefulSets run 2/],
      ["no broker config to check", (s) => (s.kafkaConfig.data = { "log4j.properties": "" }), /no ConfigMap labelled app.kubernetes.io\/name=kafka with server.properties/],
      ["an env override weakening the file", (s) => (s.brokers.spec.template.spec.containers[0].env = [{ name: "KAFKA_MIN_INSYNC_REPLICAS", value: "1" }]), /min.insync.replicas is 1 \(env KAFKA_MIN_INSYNC_REPLICAS of StatefulSet kafka-broker\)/],
      ["env-only config with RF 1", (s) => { s.kafkaConfig.data = {}; s.brokers.spec.template.spec.containers[0].env = [{ name: "KAFKA_DEFAULT_REPLICATION_FACTOR", value: "1" }, { name: "KAFKA_MIN_INSYNC_REPLICAS", value: "1" }]; }, /default.replication.factor is 1 \(env KAFKA_DEFAULT_REPLICATION_FACTOR/],
    ],
  },
  "data-services-not-routed": {
    passes: [["routes only to classroom services", () => {}]],
    fails: [
      ["an HTTPRoute to ZooKeeper", (s) => s.route.spec.rules.push({ backendRefs: [{ name: "zookeeper", namespace: "classroom-prod-data", port: 80 }] }), /rules\[1\].backendRefs\[0\] sends edge traffic to data-layer Service classroom-prod-data\/zookeeper/],
      ["an Ingress to ZooKeeper", (s) => s.dataNamespace.push({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "zk", namespace: "classroom-prod-data" }, spec: { defaultBackend: { service: { name: "zookeeper", port: { number: 80 } } } } }), /defaultBackend sends edge traffic to data-layer Service classroom-prod-data\/zookeeper/],
    ],
  },
  "data-services-internal": {
    passes: [["headless data Service", (s) => (s.zkService.spec.clusterIP = "None")]],
    fails: [
      ["NodePort ZooKeeper", (s) => (s.zkService.spec.type = "NodePort"), /is a data-layer Service of type NodePort/],
      ["externalIPs on ZooKeeper", (s) => (s.zkService.spec.externalIPs = ["203.0.113.9"]), /data-layer Service with externalIPs \(203.0.113.9\)/],
      ["a ZooKeeper Service mislabelled tier=service", (s) => { s.zkService.metadata.labels["classroom.io/tier"] = "service"; s.zkService.spec.type = "LoadBalancer"; }, /is a data-layer Service of type LoadBalancer/],
    ],
  },
};

function changed(change: Change): Obj[] {
  const s = platformStack();
  change(s);
  return objectsOf(s);
}

test("the rule table specifies every rule of the pack, and only those", () => {
  expect(Object.keys(RULES).sort()).toEqual(allRules.map((r) => r.name).sort());
  expect(allRules.length).toBeGreaterThanOrEqual(30);
});

test("policies/README.md documents every rule", () => {
  const readme = fs.readFileSync(path.join(__dirname, "../../policies/README.md"), "utf8");
  for (const r of allRules) expect(readme).toContain(`| \`${r.name}\` |`);
});

test("every rule has a kebab-case name, a description and a default enforcement level", () => {
  for (const r of allRules) {
    expect(r.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(r.description.length).toBeGreaterThan(20);
    expect(["advisory", "mandatory"]).toContain(r.enforcementLevel);
  }
});

describe.each(Object.entries(RULES))("%s", (rule, spec) => {
  test("passes on the compliant platform stack", () => {
    expect(violationsOf(rule, objectsOf(platformStack()))).toEqual([]);
  });

  test.each(spec.passes)("passes: %s", (_what, change) => {
    expect(violationsOf(rule, changed(change))).toEqual([]);
  });

  test.each(spec.fails)("fails: %s", (_what, change, message) => {
    const found = violationsOf(rule, changed(change));
    expect(found.map((v) => v.message).join("\n")).toMatch(message);
    expect(found.every((v) => v.policy === rule)).toBe(true);
  });

  const withConfig = { ...PROD, all: "mandatory" as const, [rule]: { ...(PROD[rule] as object), ...spec.config } };
  if (spec.passesWithConfig) {
    test.each(spec.passesWithConfig)(`passes with ${JSON.stringify(spec.config)}: %s`, (_what, change) => {
      expect(violationsOf(rule, changed(change), withConfig)).toEqual([]);
      expect(violationsOf(rule, changed(change))).not.toEqual([]); // and the setting is what made it pass
    });
  }
  if (spec.failsWithConfig) {
    test.each(spec.failsWithConfig)(`fails with ${JSON.stringify(spec.config)}: %s`, (_what, change, message) => {
      expect(violationsOf(rule, changed(change), withConfig).map((v) => v.message).join("\n")).toMatch(message);
    });
  }
});

test("violations name the offending object by kind, namespace and name", () => {
  const [v] = violationsOf("no-host-ports", changed((s) => (app(s).ports[0].hostPort = 80)));
  expect(v).toMatchObject({ policy: "no-host-ports", resource: `Deployment ${APPS}/room-api-stable`, enforcementLevel: "mandatory" });
});

test("digest images count as pinned whatever their tag", () => {
  expect(violationsOf("image-tag-pinned", changed((s) => (app(s).image = `room-api:latest@${DIGEST}`)))).toEqual([]);
});
