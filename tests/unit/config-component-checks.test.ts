// Every rule the data components and ClassroomService once checked in their constructors (where no
// stack could reach them) is the schema's, so a stack file that breaks one is refused before anything
// renders, with one line naming the key. Each case edits the dev stack file in one place.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { ConfigError, parsePlatformConfig } from "../../infra/config";
import { loadStackConfig, PROJECT_ROOT } from "../../tools/synth";

type Config = Record<string, any>;
const dev = (parse(fs.readFileSync(path.join(PROJECT_ROOT, "stacks/Pulumi.dev.yaml"), "utf8")) as { config: Config }).config;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "component-checks-"));

/** The problems reported for the dev stack file after `edit`, read the way synth and the program read it. */
function problemsAfter(name: string, edit: (config: Config) => void): string[] {
  const config = structuredClone(dev);
  edit(config);
  const file = path.join(dir, `Pulumi.${name}.yaml`);
  fs.writeFileSync(file, stringify({ config }));
  const stack = loadStackConfig("dev", { stackFile: file });
  try {
    parsePlatformConfig(stack.config, stack.secretKeys);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const roomApi = (c: Config) => c["classroom:services"]["room-api"];

const cases: Array<[string, (c: Config) => void, string]> = [
  [
    "an even ZooKeeper ensemble",
    (c) => {
      c["classroom:zookeeper"].replicas = 2;
    },
    "classroom:zookeeper.replicas must be an odd number >= 1, got 2",
  ],
  [
    "even Kafka brokers in combined mode",
    (c) => {
      c["classroom:kafka"].brokers.replicas = 2;
    },
    "classroom:kafka.brokers.replicas must be odd in combined mode (every node is a controller voter), got 2",
  ],
  [
    "an even Kafka controller quorum",
    (c) => {
      Object.assign(c["classroom:kafka"], { mode: "dedicated", controllers: { replicas: 2 } });
    },
    "classroom:kafka.controllers.replicas must be an odd number >= 1, got 2",
  ],
  [
    "a replication factor above the brokers",
    (c) => {
      c["classroom:kafka"].replicationFactor = 3;
    },
    "classroom:kafka.replicationFactor must be <= brokers.replicas (1), got 3",
  ],
  [
    "min.insync.replicas above the replication factor",
    (c) => {
      c["classroom:kafka"].minInsyncReplicas = 2;
    },
    "classroom:kafka.minInsyncReplicas must be <= replicationFactor (1), got 2",
  ],
  [
    "a replicated standalone Redis",
    (c) => {
      c["classroom:redis"].replicas = 3;
    },
    "classroom:redis.replicas must be 1 in standalone mode (set mode: sentinel for replication), got 3",
  ],
  [
    "a Sentinel Redis without a replica",
    (c) => {
      c["classroom:redis"].mode = "sentinel";
    },
    "classroom:redis.replicas must be >= 2 in sentinel mode (a master and at least one replica), got 1",
  ],
  [
    "a Sentinel quorum above the Sentinels",
    (c) => {
      Object.assign(c["classroom:redis"], { mode: "sentinel", replicas: 2, sentinel: { quorum: 4 } });
    },
    "classroom:redis.sentinel.quorum must be <= sentinel.replicas (3), got 4",
  ],
  [
    "a MySQL user named root",
    (c) => {
      c["classroom:mysql"].users = [{ name: "root", access: "readwrite" }];
    },
    'classroom:mysql.users[0].name must not be root, replication or exporter (reserved), got "root"',
  ],
  [
    "a MySQL user named replication",
    (c) => {
      c["classroom:mysql"].users = [{ name: "replication", access: "readonly" }];
    },
    'classroom:mysql.users[0].name must not be root, replication or exporter (reserved), got "replication"',
  ],
  [
    "a MySQL user named exporter (the metrics sidecar's account)",
    (c) => {
      c["classroom:mysql"].users = [{ name: "exporter", access: "readonly" }];
    },
    'classroom:mysql.users[0].name must not be root, replication or exporter (reserved), got "exporter"',
  ],
  [
    "an http service without a route",
    (c) => {
      delete roomApi(c).route;
    },
    "classroom:services.room-api.route is required for kind http (pathPrefix on the Gateway)",
  ],
  [
    "legacy VMs behind a worker",
    (c) => {
      c["classroom:services"].w = { kind: "worker", stable: { image: "r/w:1", replicas: 1 }, legacy: { endpoints: ["10.0.0.1:80"], weight: 10 } };
    },
    "classroom:services.w.legacy is only for http and rpc services (a worker receives no traffic to split)",
  ],
  [
    "canary and legacy weights above 100",
    (c) => {
      Object.assign(roomApi(c), { canary: { image: "r/room:2", replicas: 1, weight: 60 }, legacy: { endpoints: ["10.0.0.1:80"], weight: 50 } });
    },
    "classroom:services.room-api.canary.weight plus legacy.weight must be <= 100 (stable gets the rest), got 110",
  ],
  [
    "a canary beside legacy VMs under ingress-nginx",
    (c) => {
      c["classroom:routing"] = { mode: "nginx-ingress" };
      Object.assign(roomApi(c), { canary: { image: "r/room:2", replicas: 1, weight: 10 }, legacy: { endpoints: ["10.0.0.1:80"], weight: 10 } });
    },
    "classroom:services.room-api.legacy cannot be combined with a canary when routing.mode is nginx-ingress",
  ],
];

describe("the checks the components used to make, in the schema", () => {
  it("accepts the dev stack file as it is", () => {
    expect(problemsAfter("unchanged", () => undefined)).toEqual([]);
  });

  it.each(cases)("refuses %s with one line naming the key", (name, edit, expected) => {
    const found = problemsAfter(name.replace(/\W+/g, "-"), edit);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(expected);
    expect(found[0]).not.toContain("\n");
  });
});
