import { MQ_DEFAULTS } from "@classroom-platform/runtime/contracts";
import { ConfigError, parsePlatformConfig } from "../../infra/config";

const base = { "classroom:environment": "dev" };
const service = (over: object) =>
  JSON.stringify({ "room-api": { kind: "http", stable: { image: "r/room:1.0.0", replicas: 1 }, route: { pathPrefix: "/api" }, ...over } });

function problems(raw: Record<string, string>, secretKeys: string[] = []): string[] {
  try {
    parsePlatformConfig({ ...base, ...raw }, secretKeys);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("stack configuration", () => {
  it("accepts a minimal stack and fills defaults in one place", () => {
    const config = parsePlatformConfig(base);
    expect(config.namespaces).toEqual({ data: "classroom-dev-data", apps: "classroom-dev-apps" });
    expect(config.kafka.mode).toBe("combined");
    expect(config.redis.mode).toBe("standalone");
    expect(config.services).toEqual({});
    expect(config.logRoot).toBe("/data/logs/classroom");
  });

  it("derives Kafka's replication defaults from the broker count, once, and keeps explicit values", () => {
    const kafka = (value?: object) => parsePlatformConfig({ ...base, ...(value ? { "classroom:kafka": JSON.stringify(value) } : {}) }).kafka;
    expect(kafka()).toMatchObject({ replicationFactor: 1, minInsyncReplicas: 1 });
    expect(kafka({ brokers: { replicas: 5 } })).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(kafka({ brokers: { replicas: 5 }, replicationFactor: 5, minInsyncReplicas: 3 })).toMatchObject({ replicationFactor: 5, minInsyncReplicas: 3 });
  });

  it("defaults mq.shards to the runtime's own default, so a stack that sets nothing agrees with a replayer run without the env var", () => {
    expect(parsePlatformConfig(base).mq.shards).toBe(MQ_DEFAULTS.shards);
  });

  it("leaves the keys of namespaces Pulumi and the providers read to them (kubernetes:, pulumi:, random:)", () => {
    expect(problems({ "kubernetes:enableServerSideApply": "true", "pulumi:template": "x", "random:anything": "1" })).toEqual([]);
  });

  it("rejects kubernetes: keys the platform's own provider shadows, naming the key to set instead", () => {
    expect(problems({ "kubernetes:context": "kind" })).toEqual([
      "kubernetes:context is not read: every platform resource uses the Kubernetes provider infra/platform.ts configures; set classroom:kubeContext instead",
    ]);
  });

  it("validates a misspelled section as the one it was meant to be, and blames nothing else", () => {
    const found = problems({
      "clasroom:services": JSON.stringify({ w: { kind: "worker", stable: { image: "r/w:1", replicas: -1 } } }),
      "classroom:scheduler": JSON.stringify({ jobs: { j: { schedule: { everyMs: 1000 }, target: { http: { service: "w", path: "/x" } } } } }),
    });
    expect(found).toEqual([
      expect.stringMatching(/^clasroom:services is in namespace 'clasroom'.*did you mean classroom:services\?$/),
      "classroom:services.w.stable.replicas must be a whole number >= 0, got -1",
    ]);
  });

  const cases: Array<[string, Record<string, string>, string]> = [
    ["even ZooKeeper ensemble", { "classroom:zookeeper": '{"replicas":2}' }, "classroom:zookeeper.replicas must be an odd number >= 1, got 2"],
    ["unknown top-level key (typo)", { "classroom:zookeper": "{}" }, "classroom:zookeper is not a known key; did you mean zookeeper? (allowed: environment,"],
    [
      "unknown nested key",
      { "classroom:kafka": '{"brokers":{"replica":3}}' },
      "classroom:kafka.brokers.replica is not a known key; did you mean replicas? (allowed: image, replicas,",
    ],
    [
      "unknown key under a named service",
      { "classroom:services": service({ route: { pathPrefx: "/api" } }) },
      "classroom:services.room-api.route.pathPrefx is not a known key; did you mean pathPrefix? (allowed: pathPrefix, hostnames)",
    ],
    [
      "unknown key under a list item",
      { "classroom:mysql": '{"users":[{"name":"app","acess":"readonly"}]}' },
      "classroom:mysql.users[0].acess is not a known key; did you mean access? (allowed: name, access)",
    ],
    ["bad environment", { "classroom:environment": "qa" }, 'classroom:environment must be one of dev, staging, prod, local, got "qa"'],
    [
      "canary weight above 100",
      { "classroom:services": service({ canary: { image: "r/room:1.1.0", replicas: 1, weight: 150 } }) },
      "classroom:services.room-api.canary.weight must be a whole number between 0 and 100, got 150",
    ],
    [
      "unknown service kind",
      { "classroom:services": service({ kind: "grpc" }) },
      'classroom:services.room-api.kind must be one of http, rpc, consumer, worker, got "grpc"',
    ],
    [
      "unknown data system",
      { "classroom:services": service({ uses: ["postgres"] }) },
      'classroom:services.room-api.uses[0] must be one of redis, mysql, zookeeper, kafka, got "postgres"',
    ],
    [
      "rpc without zookeeper",
      { "classroom:services": JSON.stringify({ s: { kind: "rpc", stable: { image: "r/s:1", replicas: 1 } } }) },
      "classroom:services.s.uses must include zookeeper for kind rpc",
    ],
    [
      "calls an undeclared service",
      { "classroom:services": service({ calls: ["session-rpc"] }) },
      "classroom:services.room-api.calls names 'session-rpc', which is neither a declared service nor a declared external",
    ],
    [
      "bad resource quantity",
      { "classroom:redis": '{"resources":{"requests":{"cpu":"lots","memory":"1Gi"},"limits":{"memory":"1Gi"}}}' },
      'classroom:redis.resources.requests.cpu must be a Kubernetes quantity such as 500m, 256Mi or 10Gi, got "lots"',
    ],
    ["replicated standalone Redis", { "classroom:redis": '{"replicas":3}' }, "classroom:redis.replicas must be 1 in standalone mode"],
    [
      "Sentinel quorum above Sentinel count",
      { "classroom:redis": '{"mode":"sentinel","replicas":2,"sentinel":{"replicas":3,"quorum":4}}' },
      "classroom:redis.sentinel.quorum must be <= sentinel.replicas (3), got 4",
    ],
    [
      "replication factor above brokers",
      { "classroom:kafka": '{"brokers":{"replicas":1},"replicationFactor":3}' },
      "classroom:kafka.replicationFactor must be <= brokers.replicas (1), got 3",
    ],
    ["even brokers in combined mode", { "classroom:kafka": '{"brokers":{"replicas":2}}' }, "classroom:kafka.brokers.replicas must be odd in combined mode"],
    [
      "legacy VM endpoint without port",
      { "classroom:services": service({ legacy: { endpoints: ["10.0.0.1"], weight: 10 } }) },
      "classroom:services.room-api.legacy.endpoints[0] must be an IPv4 address with a port",
    ],
    [
      "legacy VM endpoint with a port out of range",
      { "classroom:services": service({ legacy: { endpoints: ["10.0.0.1:70000"], weight: 10 } }) },
      'classroom:services.room-api.legacy.endpoints[0] must have a port between 1 and 65535, got "10.0.0.1:70000"',
    ],
    [
      "legacy on a consumer",
      {
        "classroom:services": JSON.stringify({
          c: { kind: "consumer", stable: { image: "r/c:1", replicas: 1 }, legacy: { endpoints: ["10.0.0.1:80"], weight: 10 } },
        }),
      },
      "classroom:services.c.legacy is only for http and rpc services",
    ],
    [
      "service name that is not a DNS label",
      { "classroom:services": JSON.stringify({ Room_API: { kind: "worker", stable: { image: "r/c:1", replicas: 1 } } }) },
      "classroom:services.Room_API",
    ],
    [
      "plain-text credential",
      { "classroom:imagePullSecret": '{"auths":{}}' },
      "classroom:imagePullSecret is a credential and must be set with `pulumi config set --secret classroom:imagePullSecret`",
    ],
    ["render-only environment without a directory", { "classroom:environment": "local" }, "classroom:renderYamlToDirectory is required for environment local"],
    ["wrong type", { "classroom:zookeeper": '{"replicas":"three"}' }, 'classroom:zookeeper.replicas must be a whole number >= 1, got "three"'],
    [
      "a misspelled namespace",
      { "clasroom:services": service({}) },
      "clasroom:services is in namespace 'clasroom', which nothing reads (known: classroom, kubernetes, pulumi, random); did you mean classroom:services?",
    ],
    [
      "a namespace nothing reads",
      { "monitoring:enabled": "true" },
      "monitoring:enabled is in namespace 'monitoring', which nothing reads (known: classroom, kubernetes, pulumi, random)",
    ],
    [
      "memory requested above its limit",
      { "classroom:redis": '{"resources":{"requests":{"cpu":"100m","memory":"4Gi"},"limits":{"memory":"768Mi"}}}' },
      "classroom:redis.resources.requests.memory must be <= limits.memory (768Mi); Kubernetes rejects a pod that requests more than its limit, got 4Gi",
    ],
    [
      "cpu requested above its limit",
      { "classroom:services": service({ resources: { requests: { cpu: "2", memory: "1Gi" }, limits: { cpu: "1500m", memory: "1Gi" } } }) },
      "classroom:services.room-api.resources.requests.cpu must be <= limits.cpu (1500m)",
    ],
    [
      "a list where a mapping belongs, without zod words",
      { "classroom:services": '["room-api"]' },
      'classroom:services must be a mapping of names to values, got ["room-api"]',
    ],
    [
      "a number below the minimum, without zod words",
      { "classroom:services": service({ autoscaling: { minReplicas: 1, maxReplicas: 2, cpuUtilization: 5 } }) },
      "classroom:services.room-api.autoscaling.cpuUtilization must be >= 10, got 5",
    ],
    [
      "canary and legacy under nginx-ingress",
      {
        "classroom:routing": '{"mode":"nginx-ingress"}',
        "classroom:services": service({ canary: { image: "r/room:1.1.0", replicas: 1, weight: 10 }, legacy: { endpoints: ["10.0.0.1:80"], weight: 10 } }),
      },
      "classroom:services.room-api.legacy cannot be combined with a canary when routing.mode is nginx-ingress",
    ],
  ];

  it.each(cases)("rejects %s with a message naming the key", (_name, raw, expected) => {
    const found = problems(raw);
    expect(found.length).toBeGreaterThan(0);
    expect(found.some((line) => line.includes(expected))).toBe(true);
  });

  it("reports every problem at once, one line each", () => {
    const found = problems({ "classroom:zookeeper": '{"replicas":4}', "classroom:mq": '{"shards":0}', "classroom:typo": "1" });
    expect(found).toHaveLength(3);
    for (const line of found) expect(line).toMatch(/^classroom:[\w.-]+ /);
  });

  it("accepts a credential that is a Pulumi secret", () => {
    expect(problems({ "classroom:imagePullSecret": "{}" }, ["classroom:imagePullSecret"])).toEqual([]);
  });
});

describe("scheduler jobs in the stack file", () => {
  const services = JSON.stringify({ "room-api": { kind: "http", stable: { image: "r/room:1.0.0", replicas: 1 }, route: { pathPrefix: "/api" } } });
  const jobs = (job: object) => JSON.stringify({ jobs: { sweep: job } });

  it("rejects a bad cron expression with a message naming the job", () => {
    const found = problems({ "classroom:services": services, "classroom:scheduler": jobs({ schedule: { cron: "*/5 * * *" }, target: { handler: "sweep" } }) });
    expect(found).toEqual([
      "classroom:scheduler.jobs.sweep.schedule.cron is invalid: invalid cron expression '*/5 * * *': expected 6 fields (second minute hour day-of-month month day-of-week), got 4",
    ]);
  });

  it("rejects an HTTP job whose target service the stack does not declare", () => {
    const found = problems({
      "classroom:services": services,
      "classroom:scheduler": jobs({ schedule: { everyMs: 1000 }, target: { http: { service: "course-api", path: "/x" } } }),
    });
    expect(found).toEqual(["classroom:scheduler.jobs.sweep.target.http.service names unknown service 'course-api' (declared: room-api)"]);
  });
});
