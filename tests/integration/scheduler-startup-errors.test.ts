import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LOG_ENV, REDIS_ENV, SCHEDULER_ENV } from "@classroom-platform/runtime/contracts";
import { freePort } from "../harness/ports";
import { RedisServer } from "../harness/redis";

/**
 * The scheduler daemon's startup failures are lines of the runtime's structured logger like every other
 * line it writes: one JSON object per line with time, level and event, on stdout and in the pod's log
 * file, so the reason for a CrashLoopBackOff is in what the node's log agent ships and a log query can
 * find it. Each failure is run as the pod runs the daemon (its entry module, its env), against a real
 * Redis where the failure comes after connecting.
 */
jest.setTimeout(60_000);

const repo = path.resolve(__dirname, "../..");
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "scheduler-startup-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function daemon(name: string, env: Record<string, string>, entry = "runtime/scheduler/scheduler-main.ts") {
  const logFile = path.join(dir, `${name}.log`);
  const cleared = Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith("CLASSROOM_"))
      .map((k) => [k, ""]),
  );
  const run = spawnSync(process.execPath, ["--import", "tsx", entry], {
    cwd: repo,
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, ...cleared, [LOG_ENV.file]: logFile, ...env },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr, file: fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "" };
}

/**
 * Every line is a JSON object with the logger's fields first (Redis' own connection errors come before
 * the verdict), the last one is the failure, and the log file holds the same lines.
 */
function failureLine(run: ReturnType<typeof daemon>, event: string, component = "scheduler"): Record<string, unknown> {
  expect(run.stderr).toBe("");
  const lines = run.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.length).toBeGreaterThanOrEqual(1);
  for (const line of lines) {
    expect(Object.keys(line).slice(0, 4)).toEqual(["time", "level", "component", "event"]);
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
  }
  const last = lines[lines.length - 1];
  expect(last).toMatchObject({ level: "error", component, event });
  expect(lines.filter((l) => l.event === event)).toHaveLength(1);
  expect(run.file).toBe(run.stdout);
  return last;
}

function jobsFile(name: string, jobs: unknown): string {
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(jobs));
  return file;
}

test("a configuration error (several problems) ends with one JSON line listing them, exit 2", () => {
  const run = daemon("config", {
    [SCHEDULER_ENV.jobsFile]: jobsFile("config", { sweep: { schedule: { everyMs: 1000 }, target: { handler: "probe" } } }),
    [REDIS_ENV.url]: "redis://127.0.0.1:6379",
    [REDIS_ENV.sentinels]: "127.0.0.1:26379",
    CLASSROOM_SCHEDULER_LEASE_MS: "soon",
  });
  expect(run.code).toBe(2);
  const line = failureLine(run, "configuration error");
  expect(line.problems).toEqual(expect.arrayContaining([expect.stringMatching(/not both/)]));
});

test("a jobs document with invalid jobs ends with one JSON line: the file, then each problem", () => {
  const file = jobsFile("invalid", { sweep: { schedule: { everyMs: 1000 }, target: {} } });
  const run = daemon("invalid", { [SCHEDULER_ENV.jobsFile]: file, [REDIS_ENV.url]: "redis://127.0.0.1:6379" });
  expect(run.code).toBe(2);
  const line = failureLine(run, "configuration error");
  expect(line.source).toBe(`${file} is not a valid jobs document`);
  expect(line.problems).toEqual([expect.stringMatching(/^jobs\.sweep\.target: /)]);
});

test("Redis unreachable at start ends with one JSON line naming it, exit 1", async () => {
  const port = await freePort();
  const run = daemon("unreachable", {
    [SCHEDULER_ENV.jobsFile]: jobsFile("unreachable", { sweep: { schedule: { everyMs: 1000 }, target: { handler: "probe" } } }),
    [REDIS_ENV.url]: `redis://127.0.0.1:${port}`,
  });
  expect(run.code).toBe(1);
  const line = failureLine(run, "cannot connect to Redis");
  expect(line.redis).toContain(String(port));
});

describe("with Redis up", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start({ appendOnly: false });
  });
  afterAll(async () => redis?.destroy());

  test("a job whose handler no module provides ends with one JSON line, exit 2", () => {
    const run = daemon("handler", {
      [SCHEDULER_ENV.jobsFile]: jobsFile("handler", { sweep: { schedule: { everyMs: 1000 }, target: { handler: "probe" } } }),
      [REDIS_ENV.url]: redis.url,
    });
    expect(run.code).toBe(2);
    const line = failureLine(run, "configuration error");
    expect(JSON.stringify(line.problems)).toMatch(/probe/);
  });
});

// The other daemons of the runtime image follow the same rule.
test.each([
  ["mq-replayer", "runtime/mq/replayer-main.ts", /CLASSROOM_KAFKA_BOOTSTRAP/],
  ["registrar", "runtime/registrar/registrar-main.ts", /CLASSROOM_REGISTRY_CONNECT/],
])("%s: a configuration error is one JSON line listing the problems, exit 2", (component, entry, variable) => {
  const run = daemon(`${component}-config`, {}, entry);
  expect(run.code).toBe(2);
  const line = failureLine(run, "configuration error", component);
  expect(JSON.stringify(line.problems)).toMatch(variable);
});
