// Pods and containers: Pod Security Standards, resources, probes, images, credentials.
import { RUNTIME_IMAGE_ANNOTATION as RUNTIME } from "../../../policies/rules/images";
import { RuleSpec, app, appSec, logAgent, pod } from "./types";

export const podSecurityRules: Record<string, RuleSpec> = {
  "no-privileged-containers": {
    passes: [["privileged: false set explicitly", (s) => (appSec(s).privileged = false)]],
    fails: [
      ["a privileged container", (s) => (appSec(s).privileged = true), /container 'app' sets securityContext.privileged: true/],
      [
        "a privileged init container",
        (s) => (pod(s).initContainers = [{ name: "setup", image: "busybox:1.37", securityContext: { privileged: true } }]),
        /init container 'setup' sets securityContext.privileged: true/,
      ],
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
    passes: [
      ["runAsNonRoot only on the pod", (s) => delete appSec(s).runAsNonRoot],
      ["the log agent as UID 0 without any capability", (s) => s.appNamespace.push(logAgent())],
    ],
    fails: [
      [
        "the log agent as UID 0 adding a capability",
        (s) => s.appNamespace.push(logAgent((ds) => (ds.spec.template.spec.containers[1].securityContext.capabilities.add = ["DAC_OVERRIDE"]))),
        /container 'retention' runs as UID 0/,
      ],
      [
        "another DaemonSet as UID 0",
        (s) => s.appNamespace.push(logAgent((ds) => (ds.metadata.labels["app.kubernetes.io/name"] = "shipper"))),
        /container 'agent' runs as UID 0/,
      ],
      [
        "no runAsNonRoot anywhere",
        (s) => delete pod(s).securityContext.runAsNonRoot,
        /container 'app' may run as root: set securityContext.runAsNonRoot: true/,
      ],
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
      [
        "Unconfined on the container",
        (s) => (appSec(s).seccompProfile = { type: "Unconfined" }),
        /container 'app' uses seccomp profile Unconfined; allowed: RuntimeDefault, Localhost/,
      ],
    ],
  },
  "read-only-root-filesystem": {
    passes: [["read-only root", () => {}]],
    fails: [["writable root", (s) => (appSec(s).readOnlyRootFilesystem = false), /container 'app' does not set securityContext.readOnlyRootFilesystem: true/]],
  },
  "no-service-account-token-automount": {
    passes: [["automount false", () => {}]],
    fails: [
      [
        "automount left on",
        (s) => delete pod(s).automountServiceAccountToken,
        /pod does not set automountServiceAccountToken: false.*service account 'default'/,
      ],
    ],
    config: { allowedServiceAccounts: ["classroom-prod-apps/room-api"] },
    passesWithConfig: [
      [
        "an allowed service account keeps its token",
        (s) => {
          delete pod(s).automountServiceAccountToken;
          pod(s).serviceAccountName = "room-api";
        },
      ],
    ],
  },
  "restricted-volume-types": {
    passes: [["projected volume", (s) => pod(s).volumes.push({ name: "token", projected: { sources: [] } })]],
    fails: [
      [
        "an NFS volume",
        (s) => pod(s).volumes.push({ name: "shared", nfs: { server: "nfs", path: "/x" } }),
        /volume 'shared' is of type nfs; allowed: configMap/,
      ],
    ],
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
      [
        "memory request above limit",
        (s) => (app(s).resources.requests.memory = "1Gi"),
        /container 'app' requests more memory \(1Gi\) than its limit \(512Mi\)/,
      ],
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
      [
        "ZooKeeper without a startup probe",
        (s) => delete s.zk.spec.template.spec.containers[0].startupProbe,
        /container 'app' runs zookeeper, which boots slowly, but has no startupProbe/,
      ],
    ],
  },
  "image-tag-pinned": {
    passes: [
      ["tag without digest", (s) => (app(s).image = "registry.classroom.internal/room-api:1.8.2")],
      ["registry with a port", (s) => (app(s).image = "localhost:5000/room-api:1.0")],
    ],
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
  // The fixture's room-api stands in for a daemon: the platform annotates the pod template with the runtime
  // image when the stack pins classroom:runtimeImage (infra/daemons.ts).
  "runtime-image-digest-required": {
    passes: [
      ["no pod claims the runtime image (the stack does not pin it)", (s) => (app(s).image = "registry.classroom.internal/room-api:1.8.2")],
      ["the annotated runtime image, pinned by digest", (s) => (s.stable.spec.template.metadata.annotations[RUNTIME] = app(s).image)],
      [
        "other images of the pod are not this rule's business",
        (s) => {
          s.stable.spec.template.metadata.annotations[RUNTIME] = app(s).image;
          pod(s).initContainers = [{ name: "wait", image: "busybox:1.37" }];
        },
      ],
    ],
    fails: [
      [
        "the annotated runtime image by tag only",
        (s) => (s.stable.spec.template.metadata.annotations[RUNTIME] = app(s).image = "registry.classroom.internal/room-api:1.8.2"),
        /container 'app' runs the platform's runtime image 'registry.classroom.internal\/room-api:1.8.2' without a digest; pin it with npm run release:runtime-image/,
      ],
      [
        "the annotated runtime image with a malformed digest",
        (s) => (s.stable.spec.template.metadata.annotations[RUNTIME] = app(s).image = "registry.classroom.internal/room-api:1.8.2@sha256:abc"),
        /container 'app' runs the platform's runtime image .* whose digest is not sha256:<64 hex digits>/,
      ],
      [
        "a pod annotated with a runtime image none of its containers runs",
        (s) => (s.stable.spec.template.metadata.annotations[RUNTIME] = "registry.classroom.internal/classroom-platform-runtime:0.2.0"),
        /annotated classroom.io\/runtime-image: .* but no container runs registry.classroom.internal\/classroom-platform-runtime/,
      ],
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
      [
        "a JAAS config with its password",
        (s) =>
          app(s).env.push({
            name: "KAFKA_SASL_JAAS_CONFIG",
            value: 'org.apache.kafka.common.security.plain.PlainLoginModule required username="app" password="hunter2";',
          }),
        /sets env KAFKA_SASL_JAAS_CONFIG to text that assigns credentials \(password="..."\)/,
      ],
      [
        "credentials in a URL",
        (s) => app(s).env.push({ name: "DATABASE_URL", value: "mysql://app:s3cret@mysql:3306/classroom" }),
        /sets env DATABASE_URL to a URL with an embedded password/,
      ],
      ["password flag in args", (s) => (app(s).args = ["--db-password=s3cret"]), /passes a literal --db-password in args/],
    ],
  },
  "no-secrets-in-configmaps": {
    passes: [["password taken from env / file", () => {}]],
    fails: [
      ["a key named like a password", (s) => (s.appConfig.data["mysql-password"] = "s3cret"), /data key 'mysql-password' looks like a credential/],
      [
        "redis requirepass",
        (s) => (s.appConfig.data["redis.conf"] = "port 6379\nrequirepass s3cret\n"),
        /data key 'redis.conf' assigns credentials in plain text \(requirepass\)/,
      ],
      ["SQL user with a password", (s) => (s.appConfig.data["init.sql"] = "CREATE USER 'app'@'%' IDENTIFIED BY 'pw';"), /IDENTIFIED BY/],
      [
        "an exported password in an env file",
        (s) => (s.appConfig.data["app.env"] = "export DB_PASSWORD=hunter2\n"),
        /data key 'app.env' assigns credentials in plain text \(DB_PASSWORD\)/,
      ],
      ["a Spring property", (s) => (s.appConfig.data["application.properties"] = "spring.datasource.password = hunter2\n"), /\(spring.datasource.password\)/],
      ["an XML password element", (s) => (s.appConfig.data["settings.xml"] = "<server><password>hunter2</password></server>\n"), /\(password\)/],
    ],
  },
};
