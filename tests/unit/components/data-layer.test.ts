import { declareDataLayer, declareNamespaces } from "../../../infra/platform";
import { findObject, K8sObject, objectsOf, renderPart, selects } from "../../support/render";

// The namespaces and the four data systems of a stack, without the classroom services.
const renderDataLayer = (stack: string) => renderPart(stack, "data-layer", (config) => declareDataLayer(config, { dependsOn: declareNamespaces(config, {}) }));

const container = (o: K8sObject) => o.spec.template.spec.containers[0];
const probeCommand = (probe: any) => (probe?.exec?.command ?? []).join(" ");

describe.each(["dev", "staging", "prod"])("data layer of stack %s", (stack) => {
  it("runs every data pod non-root, read-only, with no capabilities, RuntimeDefault seccomp and no service-account token", async () => {
    const result = await renderDataLayer(stack);
    for (const sts of objectsOf(result, "StatefulSet")) {
      const pod = sts.spec.template.spec;
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
        expect(c.resources.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
        expect(c.resources.limits.memory).toEqual(expect.any(String));
        expect(c.readinessProbe && c.livenessProbe && c.startupProbe).toBeTruthy();
      }
    }
  });

  it("gives every multi-replica workload a PDB and spread rules whose selectors match its pods", async () => {
    const result = await renderDataLayer(stack);
    const pdbs = objectsOf(result, "PodDisruptionBudget");
    for (const sts of objectsOf(result, "StatefulSet")) {
      const podLabels = sts.spec.template.metadata.labels;
      expect(selects(sts.spec.selector.matchLabels, podLabels)).toBe(true);
      const pdb = pdbs.find((p) => p.metadata.name === sts.metadata.name);
      if (sts.spec.replicas > 1) {
        expect(pdb?.spec.maxUnavailable).toBe(1);
        expect(selects(pdb!.spec.selector.matchLabels, podLabels)).toBe(true);
        const terms = sts.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
        for (const t of terms) expect(selects(t.labelSelector.matchLabels, podLabels)).toBe(true);
      } else {
        expect(pdb).toBeUndefined();
      }
    }
  });

  it("gives every StatefulSet a headless Service that publishes not-ready peers, and a PVC template", async () => {
    const result = await renderDataLayer(stack);
    for (const sts of objectsOf(result, "StatefulSet").filter((s) => s.spec.volumeClaimTemplates)) {
      const headless = findObject(result, "Service", sts.spec.serviceName);
      expect(headless.spec).toMatchObject({ clusterIP: "None", publishNotReadyAddresses: true });
      expect(selects(headless.spec.selector, sts.spec.template.metadata.labels)).toBe(true);
      expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toMatch(/Gi$/);
    }
  });

  it("admits only labelled clients to each data system, and every namespace starts from default-deny", async () => {
    const result = await renderDataLayer(stack);
    for (const system of ["zookeeper", "redis", "mysql"]) {
      const policy = findObject(result, "NetworkPolicy", system);
      const fromClients = policy.spec.ingress
        .flatMap((r: any) => r.from)
        .filter((p: any) => p.podSelector?.matchLabels?.[`classroom.io/client-${system}`] === "true");
      expect(fromClients).toHaveLength(1);
    }
    const namespaces = objectsOf(result, "Namespace").map((n) => n.metadata.name);
    const denies = objectsOf(result, "NetworkPolicy").filter((p) => p.metadata.name === "default-deny");
    expect(denies.map((d) => d.metadata.namespace).sort()).toEqual(namespaces.sort());
    for (const d of denies) expect(d.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  });

  it("rolls pods when their config changes: a checksum of the ConfigMap content on every pod template", async () => {
    const result = await renderDataLayer(stack);
    for (const sts of objectsOf(result, "StatefulSet").filter((s) => s.metadata.labels["app.kubernetes.io/component"] !== "sentinel")) {
      expect(sts.spec.template.metadata.annotations["classroom.io/config-checksum"]).toMatch(/^[a-f0-9]{64}$/);
    }
  });

  it("keeps generated passwords out of everything but Secrets", async () => {
    const result = await renderDataLayer(stack);
    for (const { object } of result.objects) {
      const text = JSON.stringify(object);
      if (object.kind === "Secret") continue;
      expect(text).not.toContain("generated-at-deploy-");
    }
    const secrets = objectsOf(result, "Secret");
    expect(secrets.some((s) => JSON.stringify(s).includes("generated-at-deploy-"))).toBe(true);
  });
});

describe("ZooKeeper", () => {
  it("forms a 3-server ensemble in prod with myid from the ordinal and a static server list", async () => {
    const zk = findObject(await renderDataLayer("prod"), "StatefulSet", "zookeeper");
    expect(zk.spec.replicas).toBe(3);
    expect(container(zk).command.join(" ")).toContain("echo $((ordinal + 1)) > /data/myid");
    const cfg = findObject(await renderDataLayer("prod"), "ConfigMap", "zookeeper-config").data["zoo.cfg"];
    expect(cfg.match(/^server\.\d=/gm)).toHaveLength(3);
    expect(cfg).toContain("server.3=zookeeper-2.zookeeper-headless.classroom-prod-data.svc.cluster.local:2888:3888;2181");
    expect(cfg).toContain("4lw.commands.whitelist=ruok,srvr\n");
    expect(cfg).toContain("autopurge.purgeInterval=1");
  });

  it("is ready only when serving as leader, follower or standalone (srvr), alive on ruok", async () => {
    const zk = findObject(await renderDataLayer("dev"), "StatefulSet", "zookeeper");
    expect(probeCommand(container(zk).readinessProbe)).toContain("srvr");
    expect(probeCommand(container(zk).readinessProbe)).toContain("Mode: (leader|follower|standalone)");
    expect(probeCommand(container(zk).livenessProbe)).toContain("ruok");
  });
});

describe("Kafka", () => {
  it("runs one combined KRaft node in dev", async () => {
    const result = await renderDataLayer("dev");
    const kafka = findObject(result, "StatefulSet", "kafka");
    expect(kafka.spec.replicas).toBe(1);
    const props = findObject(result, "ConfigMap", "kafka-config").data["server.properties"];
    expect(props).toContain("process.roles=broker,controller");
    expect(props).toContain("controller.quorum.voters=100@kafka-0.kafka-headless.classroom-dev-data.svc.cluster.local:9093");
  });

  it("runs 3 controllers and 3 brokers in prod with RF 3 and min ISR 2", async () => {
    const result = await renderDataLayer("prod");
    expect(findObject(result, "StatefulSet", "kafka-controller").spec.replicas).toBe(3);
    expect(findObject(result, "StatefulSet", "kafka-broker").spec.replicas).toBe(3);
    const props = findObject(result, "ConfigMap", "kafka-broker-config").data["server.properties"];
    expect(props).toContain("default.replication.factor=3");
    expect(props).toContain("min.insync.replicas=2");
    expect(props).toContain("offsets.topic.replication.factor=3");
    expect(props.match(/@kafka-controller-\d/g)).toHaveLength(3);
  });

  it("derives node.id from the ordinal, advertises each pod's own address, and keeps logs on the PVC", async () => {
    const broker = findObject(await renderDataLayer("prod"), "StatefulSet", "kafka-broker");
    const script = container(broker).command.join(" ");
    expect(script).toContain("node.id=$((100 + ordinal))");
    expect(script).toContain("advertised.listeners=CLIENT://${POD_NAME}.kafka-broker-headless");
    expect(container(broker).env).toContainEqual({ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } });
    expect(container(broker).volumeMounts).toContainEqual({ name: "data", mountPath: "/var/lib/kafka/data" });
    expect(container(broker).env.find((e: any) => e.name === "KAFKA_CLUSTER_ID").value).toBeTruthy();
  });
});

describe("Redis", () => {
  it("is standalone in dev with AOF on and dangerous commands not granted", async () => {
    const result = await renderDataLayer("dev");
    expect(findObject(result, "StatefulSet", "redis").spec.replicas).toBe(1);
    expect(objectsOf(result, "StatefulSet").find((s) => s.metadata.name === "redis-sentinel")).toBeUndefined();
    const conf = findObject(result, "ConfigMap", "redis-config").data["redis.conf"];
    expect(conf).toContain("appendonly yes");
    expect(conf).toContain("appendfsync everysec");
    expect(conf).toContain("maxmemory-policy noeviction");
    const acl = findObject(result, "Secret", "redis-credentials").stringData["users.acl"];
    expect(acl).toMatch(/user default on #[a-f0-9]{64} ~\* &\* \+@all -@dangerous/);
    expect(acl).not.toMatch(/>|nopass/);
  });

  it("is managed by 3 Sentinels with quorum 2 in prod, and a stopping master fails over first", async () => {
    const result = await renderDataLayer("prod");
    expect(findObject(result, "StatefulSet", "redis").spec.replicas).toBe(3);
    expect(findObject(result, "StatefulSet", "redis-sentinel").spec.replicas).toBe(3);
    const sentinelConf = findObject(result, "Secret", "redis-credentials").stringData["sentinel.conf"];
    expect(sentinelConf).toMatch(/sentinel monitor classroom redis-0\.redis-headless\.classroom-prod-data\.svc\.cluster\.local 6379 2/);
    const redis = findObject(result, "StatefulSet", "redis");
    expect(container(redis).lifecycle.preStop.exec.command).toEqual(["sh", "/etc/redis/config/prestop.sh"]);
    expect(findObject(result, "ConfigMap", "redis-config").data["prestop.sh"]).toContain("sentinel failover classroom");
  });
});

describe("MySQL", () => {
  it("runs a primary and a GTID replica in prod, server-id from the ordinal, schema and users from the init script", async () => {
    const result = await renderDataLayer("prod");
    const mysql = findObject(result, "StatefulSet", "mysql");
    expect(mysql.spec.replicas).toBe(2);
    expect(container(mysql).command.join(" ")).toContain('--server-id="$((100 + ${HOSTNAME##*-}))"');
    expect(findObject(result, "ConfigMap", "mysql-config").data["classroom.cnf"]).toContain("gtid_mode = ON");
    const init = findObject(result, "ConfigMap", "mysql-init").data["10-classroom.sh"];
    expect(init).toContain("CREATE DATABASE IF NOT EXISTS");
    expect(init).toContain("CHANGE REPLICATION SOURCE TO SOURCE_HOST='mysql-0.mysql-headless.classroom-prod-data.svc.cluster.local'");
    expect(init).toContain("$(cat /etc/mysql/secret/classroom_app-password)");
    // Writers reach only the primary.
    expect(findObject(result, "Service", "mysql").spec.selector["statefulset.kubernetes.io/pod-name"]).toBe("mysql-0");
  });
});
