// The runtime as it ships: the steps runtime/Dockerfile runs (pack the workspace package, install the
// tarball with production dependencies only into an empty folder), then the platform's daemons started
// from that folder with the exact command and environment the platform renders for their pods, against
// real Redis and Kafka, and stopped with SIGTERM as the kubelet stops them. A second consumer outside the
// repository installs the same tarball and uses its `discovery` export against real ZooKeeper.
import { execFileSync, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import Redis from "ioredis";
import { KafkaBroker } from "../harness/kafka";
import { freePort, waitForPort } from "../harness/ports";
import { RedisServer } from "../harness/redis";
import { ZooKeeperServer } from "../harness/zookeeper";
import { findObject, objectsOf, renderStack } from "../support/render";
import { startPodProcess } from "../support/pod-process";
import { BufferedProducer } from "../../runtime/mq/producer";

jest.setTimeout(240_000);

const repoRoot = path.resolve(__dirname, "../..");
const nodeBin = path.dirname(process.execPath);
const REDIS_PASSWORD = "package-test-password";

/** npm with a clean environment: the repository's `classroom-source` condition must not reach the package. */
function npm(args: string[], cwd: string): string {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${nodeBin}:${process.env.PATH}` };
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env)) if (key.startsWith("npm_")) delete env[key];
  return execFileSync("npm", args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * Installs the packed tarball with production dependencies only, as the Dockerfile does. `--prefer-offline`
 * and not `--offline`: installing a tarball makes npm resolve each of its dependencies from the
 * registry's package documents (packuments), and the cache that README's `npm ci` fills holds only the
 * locked tarballs, by integrity, never a packument. On a machine with only that cache `--offline` stops
 * at the first dependency with ENOTCACHED (tried: @kubernetes/client-node); it passes only after an
 * earlier online install has cached the packuments. With `--prefer-offline` every tarball still comes
 * from the cache and only the packuments are fetched when missing.
 */
function installTarball(cwd: string): void {
  npm(["install", "--omit=dev", "--prefer-offline", "--no-audit", "--no-fund", tarball], cwd);
}

let work: string;
let tarball: string;
let installed: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "runtime-package-"));
  // `npm pack` runs the package's prepack (tsc to dist/), as the Dockerfile's build stage does.
  const packed = JSON.parse(npm(["pack", "--json", "--workspace", "@classroom-platform/runtime", "--pack-destination", work], repoRoot));
  tarball = path.join(work, packed[0].filename);
  installed = path.join(work, "app");
  fs.mkdirSync(installed);
  fs.writeFileSync(path.join(installed, "package.json"), JSON.stringify({ name: "runtime-image", private: true }));
  installTarball(installed);
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("the packed runtime package", () => {
  test("holds compiled JavaScript with declarations, the daemons' bins, and no TypeScript sources or tests", () => {
    const listed: string[] = JSON.parse(
      npm(["pack", "--dry-run", "--json", "--ignore-scripts", "--workspace", "@classroom-platform/runtime"], repoRoot),
    )[0].files.map((f: { path: string }) => f.path);
    expect(listed).toEqual(
      expect.arrayContaining([
        "dist/discovery/index.js",
        "dist/discovery/index.d.ts",
        "dist/mq/index.js",
        "dist/scheduler/index.js",
        "dist/contracts/index.js",
        "dist/bin/classroom-scheduler.js",
        "dist/bin/classroom-mq-replayer.js",
        "package.json",
      ]),
    );
    expect(listed.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    expect(listed.filter((f) => /test|tsbuildinfo/.test(f))).toEqual([]);
  });

  test("installs with production dependencies only: nothing of Pulumi, TypeScript, tsx or jest", () => {
    const modules = fs.readdirSync(path.join(installed, "node_modules"));
    for (const devOnly of ["@pulumi", "typescript", "tsx", "jest", "node"]) expect(modules).not.toContain(devOnly);
    for (const bin of ["classroom-scheduler", "classroom-mq-replayer", "classroom-scheduler-status"]) {
      expect(fs.existsSync(path.join(installed, "node_modules/.bin", bin))).toBe(true);
    }
  });
});

describe("the platform's daemons run from the installed package with the pod spec the platform renders", () => {
  let redisServer: RedisServer;
  let kafka: KafkaBroker;

  beforeAll(async () => {
    [redisServer, kafka] = await Promise.all([RedisServer.start(), KafkaBroker.start()]);
    // The platform's Redis requires a password; the daemons read it from the mounted Secret file.
    const admin = new Redis(redisServer.url);
    await admin.config("SET", "requirepass", REDIS_PASSWORD);
    admin.disconnect();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([redisServer?.destroy(), kafka?.destroy()]);
  }, 60_000);

  async function podFor(service: string) {
    const rendered = await renderStack("dev");
    const workload = findObject(rendered, "Deployment", `${service}-stable`);
    return { rendered, workload, configMaps: objectsOf(rendered, "ConfigMap") };
  }

  function exitOf(child: import("node:child_process").ChildProcess): Promise<number | null> {
    return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (code) => resolve(code))));
  }

  test("the scheduler starts from its bin name, answers its health probe, and drains on SIGTERM with exit 0", async () => {
    const { workload, configMaps } = await podFor("scheduler");
    expect(workload.spec.template.spec.containers[0].command).toEqual(["classroom-scheduler"]);
    const healthPort = await freePort();
    const root = fs.mkdtempSync(path.join(work, "scheduler-pod-"));
    const pod = startPodProcess({
      workload,
      configMaps,
      root,
      secrets: { "scheduler-credentials": { "redis-password": REDIS_PASSWORD } },
      endpoints: { CLASSROOM_REDIS_URL: redisServer.url, REDIS_URL: redisServer.url },
      ports: { CLASSROOM_SCHEDULER_HEALTH_PORT: healthPort },
      path: [path.join(installed, "node_modules/.bin"), nodeBin],
      pod: { name: "scheduler-stable-7d9f-abcde", uid: crypto.randomUUID() },
    });
    const exited = exitOf(pod.process.child);
    await waitForPort(healthPort, 60_000).catch((err) => {
      throw new Error(`${(err as Error).message}; the daemon printed:\n${pod.process.log}`);
    });
    expect(await httpStatus(healthPort, "/healthz")).toBe(200);

    const started = Date.now();
    pod.process.child.kill("SIGTERM");
    const code = await exited;
    expect({ code, log: code === 0 ? "" : pod.process.log }).toEqual({ code: 0, log: "" });
    // Within the pod's grace period, which the kubelet enforces with SIGKILL.
    expect(Date.now() - started).toBeLessThan(workload.spec.template.spec.terminationGracePeriodSeconds * 1000);
    expect(pod.process.log).toMatch(/shutting down/);
  });

  test("the replayer starts from its bin name, moves a buffered backlog into Kafka, and stops on SIGTERM with exit 0", async () => {
    const { workload, configMaps } = await podFor("mq-replayer");
    expect(workload.spec.template.spec.containers[0].command).toEqual(["classroom-mq-replayer"]);
    const env = Object.fromEntries(workload.spec.template.spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    const shards = Number(env.CLASSROOM_MQ_SHARDS);
    const topic = "classroom.package-test";
    await kafka.createTopic(topic, 2);

    // A backlog as a producing service leaves it while Kafka is unreachable (a port nothing listens on).
    const redis = new Redis(redisServer.url, { password: REDIS_PASSWORD });
    const producer = new BufferedProducer({ kafkaBootstrap: [`127.0.0.1:${await freePort()}`], redis, shards, kafkaSendTimeoutMs: 1_000 });
    await producer.start();
    const sent = 200;
    try {
      for (let i = 0; i < sent; i += 50) {
        const result = await producer.send(
          topic,
          Array.from({ length: 50 }, (_, j) => ({ key: `room-${(i + j) % 7}`, value: `m${i + j}` })),
        );
        expect(result.path).toBe("redis");
      }
    } finally {
      await producer.close();
      redis.disconnect();
    }

    const healthPort = await freePort();
    const root = fs.mkdtempSync(path.join(work, "replayer-pod-"));
    const pod = startPodProcess({
      workload,
      configMaps,
      root,
      secrets: { "mq-replayer-credentials": { "redis-password": REDIS_PASSWORD } },
      endpoints: { CLASSROOM_REDIS_URL: redisServer.url, CLASSROOM_KAFKA_BOOTSTRAP: kafka.bootstrap },
      ports: { CLASSROOM_MQ_HEALTH_PORT: healthPort },
      path: [path.join(installed, "node_modules/.bin"), nodeBin],
      pod: { name: "mq-replayer-stable-5c8b-fghij", uid: crypto.randomUUID() },
    });
    const exited = exitOf(pod.process.child);
    const values = new Set<string>();
    await kafka.readTopic(
      topic,
      (m) => values.add(String(m.value)),
      () => values.size >= sent,
      90_000,
    );
    expect(values.size).toBe(sent);

    pod.process.child.kill("SIGTERM");
    expect({ code: await exited, log: pod.process.log }).toEqual({ code: 0, log: expect.stringMatching(/"event":"stopped"/) });
  });
});

describe("a service outside the repository", () => {
  let zk: ZooKeeperServer;

  beforeAll(async () => {
    zk = await ZooKeeperServer.start();
  }, 60_000);

  afterAll(async () => {
    await zk?.destroy();
  });

  test("installs the tarball and registers, watches and picks through the package's discovery export", () => {
    const consumer = fs.mkdtempSync(path.join(os.tmpdir(), "discovery-consumer-"));
    try {
      fs.writeFileSync(path.join(consumer, "package.json"), JSON.stringify({ name: "room-api", private: true }));
      installTarball(consumer);
      // Plain JavaScript, as a service team writes it: only the package's public export is used.
      fs.writeFileSync(
        path.join(consumer, "main.js"),
        `
const { ServiceRegistry, createPicker } = require("@classroom-platform/runtime/discovery");
(async () => {
  const registry = new ServiceRegistry({ connect: process.argv[2], sessionTimeoutMs: 4000 });
  const handle = await registry.register("room-api", { host: "10.0.0.7", port: 9090, track: "stable", weight: 100, pod: "room-api-1" });
  const watch = registry.watch("room-api");
  await watch.ready();
  const picked = createPicker(watch).pick();
  console.log(JSON.stringify({ instances: watch.current().map((i) => i.host + ":" + i.port), picked: picked && picked.host, source: watch.source }));
  watch.close();
  await handle.deregister();
  await registry.close();
})().catch((err) => { console.error(err); process.exit(1); });
`,
      );
      const run = spawnSync(process.execPath, ["main.js", zk.connectString], {
        cwd: consumer,
        encoding: "utf8",
        env: { PATH: process.env.PATH },
        timeout: 60_000,
      });
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
      const lines = run.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      expect(lines.find((l) => "instances" in l)).toEqual({ instances: ["10.0.0.7:9090"], picked: "10.0.0.7", source: "zookeeper" });
      // The library logs through the runtime's structured logger by default: JSON lines naming the component.
      expect(lines.filter((l) => l.component === "discovery").map((l) => l.event)).toContain("registered");
    } finally {
      fs.rmSync(consumer, { recursive: true, force: true });
    }
  });
});

function httpStatus(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: urlPath }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on("error", reject);
  });
}
