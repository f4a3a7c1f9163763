import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RedisServer } from "../harness/redis";
import { freePort } from "../harness/ports";

/**
 * `scheduler:status` as a user runs it, against a real Redis: the project's exit-code contract
 * (0 ok, 2 usage or bad input, one line and no stack trace; 3 a bug) and `--version`.
 */
jest.setTimeout(60_000);

const repo = path.resolve(__dirname, "../..");
const job = { schedule: { everyMs: 1000 }, target: { handler: "probe" } };

function status(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "runtime/scheduler/status-cli.ts", ...args], {
    cwd: repo,
    encoding: "utf8",
    env: { ...process.env, CLASSROOM_SCHEDULER_JOBS_FILE: "", CLASSROOM_REDIS_URL: "", CLASSROOM_REDIS_SENTINELS: "", ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** One line on stderr, starting with the tool's name, and no stack frame. */
function expectOneLine(stderr: string, pattern: RegExp): void {
  expect(stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(pattern)]);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe("scheduler:status exit codes", () => {
  let server: RedisServer;
  let dir: string;
  let jobsFile: string;

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "scheduler-status-"));
    jobsFile = path.join(dir, "jobs.json");
    fs.writeFileSync(jobsFile, JSON.stringify({ sweep: job }));
  });

  afterAll(async () => {
    await server?.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("--version prints the package version and exits 0", () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8"));
    expect(status(["--version"])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it("shows the jobs and exits 0 when Redis answers", () => {
    const result = status(["--jobs-file", jobsFile, "--redis-url", server.url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^sweep: every 1000 ms -> handler probe$/m);
  });

  it("exits 2 with one line naming the flag for bad usage", () => {
    const unknown = status(["--jobs-fil", jobsFile]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--jobs-fil'/);
    const runs = status(["--jobs-file", jobsFile, "--runs", "0"]);
    expect(runs.code).toBe(2);
    expect(runs.stderr).toMatch(/--runs <n>.*expected an integer >= 1, got '0'/);
    // Redis is given so that the jobs file is the only problem (every problem of a run is reported).
    const missing = status(["--redis-url", server.url]);
    expect(missing.code).toBe(2);
    expectOneLine(missing.stderr, /^scheduler:status: --jobs-file: required/);
  });

  it("exits 2 naming the problem for a bad jobs file (a duplicate job name among them)", () => {
    const twice = path.join(dir, "twice.json");
    fs.writeFileSync(twice, `{\n"sweep": ${JSON.stringify(job)},\n"sweep": ${JSON.stringify(job)}\n}`);
    const result = status(["--jobs-file", twice, "--redis-url", server.url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/jobs\.sweep: duplicate job name 'sweep' \(lines 2 and 3\)/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const unreadable = status(["--jobs-file", path.join(dir, "absent.json"), "--redis-url", server.url]);
    expect(unreadable.code).toBe(2);
    expectOneLine(unreadable.stderr, /^scheduler:status: --jobs-file: cannot read '.*absent\.json': ENOENT$/);
  });

  it("exits 2 with one line naming where the address came from when Redis cannot be reached", async () => {
    const port = await freePort();
    const result = status(["--jobs-file", jobsFile, "--redis-url", `redis://127.0.0.1:${port}`]);
    expect(result.code).toBe(2);
    expectOneLine(
      result.stderr,
      new RegExp(`^scheduler:status: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/0 \\(--redis-url\\): connect ECONNREFUSED`),
    );
    const fromEnv = status(["--jobs-file", jobsFile], { CLASSROOM_REDIS_URL: `redis://127.0.0.1:${port}` });
    expectOneLine(fromEnv.stderr, /\(CLASSROOM_REDIS_URL\)/);
  });
});
