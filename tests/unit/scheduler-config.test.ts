import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { daemonConfigFromEnv, redisFromEnv } from "../../runtime/scheduler/daemon-config";

describe("scheduler daemon configuration from env vars", () => {
  let dir: string;
  let jobsFile: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "scheduler-config-"));
    jobsFile = path.join(dir, "jobs.json");
    fs.writeFileSync(
      jobsFile,
      JSON.stringify({ sweep: { schedule: { cron: "*/5 * * * * *" }, target: { http: { service: "room-api", path: "/internal/sweep" } } } }),
    );
    fs.writeFileSync(path.join(dir, "password"), "s3cret\n");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const base = () => ({ CLASSROOM_SCHEDULER_JOBS_FILE: jobsFile, CLASSROOM_REDIS_URL: "redis://redis.data:6379/2", CLASSROOM_NAMESPACE: "classroom" });

  it("reads the documented variables and defaults", () => {
    const config = daemonConfigFromEnv({ ...base(), CLASSROOM_REDIS_PASSWORD_FILE: path.join(dir, "password"), CLASSROOM_SCHEDULER_REPLICA_ID: "scheduler-0" });
    expect(config).toMatchObject({
      namespace: "classroom",
      clusterDomain: "cluster.local",
      replicaId: "scheduler-0",
      keyPrefix: "classroom:scheduler",
      leaseMs: 3000,
      claimTtlMs: 60_000,
      historyLimit: 100,
    });
    expect(config.redis).toMatchObject({ host: "redis.data", port: 6379, db: 2, password: "s3cret" });
    expect(config.jobs.map((j) => j.name)).toEqual(["sweep"]);
  });

  it("supports Sentinel with a master name", () => {
    const password = path.join(dir, "password");
    const { options } = redisFromEnv({
      CLASSROOM_REDIS_SENTINELS: "s1:26379,s2:26379",
      CLASSROOM_REDIS_MASTER_NAME: "classroom",
      CLASSROOM_REDIS_PASSWORD_FILE: password,
    });
    expect(options).toMatchObject({
      sentinels: [
        { host: "s1", port: 26379 },
        { host: "s2", port: 26379 },
      ],
      name: "classroom",
      password: "s3cret",
    });
    // Sentinels without requirepass reject AUTH: the master's password is not sent to them.
    expect(options.sentinelPassword).toBeUndefined();
    expect(
      redisFromEnv({ CLASSROOM_REDIS_SENTINELS: "s1:26379", CLASSROOM_REDIS_MASTER_NAME: "m", CLASSROOM_REDIS_SENTINEL_PASSWORD_FILE: password }).options
        .sentinelPassword,
    ).toBe("s3cret");
    expect(() => redisFromEnv({ CLASSROOM_REDIS_SENTINELS: "s1:26379" })).toThrow("CLASSROOM_REDIS_MASTER_NAME is required with CLASSROOM_REDIS_SENTINELS");
  });

  it("reads Redis the way every runtime daemon does: a URL and Sentinels together are refused, not silently ranked", () => {
    expect(() => redisFromEnv({ CLASSROOM_REDIS_URL: "redis://r:6379", CLASSROOM_REDIS_SENTINELS: "s1:26379", CLASSROOM_REDIS_MASTER_NAME: "m" })).toThrow(
      "set either CLASSROOM_REDIS_URL or CLASSROOM_REDIS_SENTINELS, not both",
    );
  });

  it("names the offending variable", () => {
    expect(() => daemonConfigFromEnv({ ...base(), CLASSROOM_SCHEDULER_JOBS_FILE: undefined })).toThrow(/^CLASSROOM_SCHEDULER_JOBS_FILE: required/);
    expect(() => daemonConfigFromEnv({ ...base(), CLASSROOM_REDIS_URL: undefined })).toThrow(/set CLASSROOM_REDIS_URL .* or CLASSROOM_REDIS_SENTINELS/);
    expect(() => daemonConfigFromEnv({ ...base(), CLASSROOM_REDIS_URL: "http://x" })).toThrow(
      "CLASSROOM_REDIS_URL must look like redis://host:port or rediss://host:port, got 'http://x'",
    );
    expect(() => daemonConfigFromEnv({ ...base(), CLASSROOM_SCHEDULER_LEASE_MS: "soon" })).toThrow(
      "CLASSROOM_SCHEDULER_LEASE_MS: expected an integer >= 300, got 'soon'",
    );
    expect(() => daemonConfigFromEnv({ ...base(), CLASSROOM_SCHEDULER_ENDPOINTS: '{"room-api": "x"}' })).toThrow(/CLASSROOM_SCHEDULER_ENDPOINTS: .*'room-api'/);
  });

  it("requires a namespace for HTTP jobs unless their service has static endpoints", () => {
    expect(() => daemonConfigFromEnv({ ...base(), CLASSROOM_NAMESPACE: undefined })).toThrow(
      /CLASSROOM_NAMESPACE: required to address the services of HTTP jobs sweep/,
    );
    const config = daemonConfigFromEnv({ ...base(), CLASSROOM_NAMESPACE: undefined, CLASSROOM_SCHEDULER_ENDPOINTS: '{"room-api": ["http://10.0.0.5:8080"]}' });
    expect(config.staticEndpoints).toEqual({ "room-api": ["http://10.0.0.5:8080"] });
  });

  it("reports a bad jobs file with its path and the job's key", () => {
    const bad = path.join(dir, "bad.json");
    fs.writeFileSync(bad, JSON.stringify({ sweep: { schedule: { cron: "*/5 * * * *" }, target: { handler: "h" } } }));
    expect(() => daemonConfigFromEnv({ ...base(), CLASSROOM_SCHEDULER_JOBS_FILE: bad })).toThrow(
      /jobs\.sweep\.schedule\.cron: invalid cron expression '\*\/5 \* \* \* \*'/,
    );
    fs.writeFileSync(bad, "{not json");
    expect(() => daemonConfigFromEnv({ ...base(), CLASSROOM_SCHEDULER_JOBS_FILE: bad })).toThrow(/is not JSON/);
  });

  it("rejects a job name declared twice, naming it and both lines, instead of keeping the last one", () => {
    const twice = path.join(dir, "twice.json");
    const job = '{ "schedule": { "everyMs": 1000 }, "target": { "handler": "h" } }';
    fs.writeFileSync(twice, `{\n  "sweep": ${job},\n  "report": ${job},\n  "sweep": ${job}\n}\n`);
    expect(() => daemonConfigFromEnv({ ...base(), CLASSROOM_SCHEDULER_JOBS_FILE: twice })).toThrow(
      `${twice} is not a valid jobs document:\njobs.sweep: duplicate job name 'sweep' (lines 2 and 4): each job name may appear once`,
    );
    // Inside a job too: two schedules would otherwise leave one of them unnoticed.
    fs.writeFileSync(twice, `{ "sweep": {\n  "schedule": { "everyMs": 1000 },\n  "schedule": { "everyMs": 5000 },\n  "target": { "handler": "h" } } }`);
    expect(() => daemonConfigFromEnv({ ...base(), CLASSROOM_SCHEDULER_JOBS_FILE: twice })).toThrow(
      /\njobs\.sweep: duplicate key 'schedule' \(lines 2 and 3\): each key may appear once$/,
    );
  });
});
