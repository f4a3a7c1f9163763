import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EnvConfigError, EnvReader, describeRedis } from "../../runtime/contracts/env";

function read(env: Record<string, string>, use: (r: EnvReader) => unknown) {
  const reader = new EnvReader(env);
  const value = use(reader);
  try {
    reader.done();
    return { value };
  } catch (err) {
    if (!(err instanceof EnvConfigError)) throw err;
    return { problems: err.problems };
  }
}

describe("the connection environment every daemon shares", () => {
  const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), "env-"));
  const passwordFile = path.join(secretDir, "redis-password");
  fs.writeFileSync(passwordFile, "s3cret\n");

  it("takes a Redis URL with the password from the mounted file, trailing newline dropped", () => {
    expect(read({ CLASSROOM_REDIS_URL: "redis://redis.data:6379", CLASSROOM_REDIS_PASSWORD_FILE: passwordFile }, (r) => r.redis())).toEqual({
      value: { url: "redis://redis.data:6379", password: "s3cret" },
    });
  });

  it("takes Sentinels with their master name", () => {
    expect(read({ CLASSROOM_REDIS_SENTINELS: "s-0.s:26379, s-1.s:26379", CLASSROOM_REDIS_MASTER_NAME: "mymaster" }, (r) => r.redis())).toEqual({
      value: {
        sentinels: [
          { host: "s-0.s", port: 26379 },
          { host: "s-1.s", port: 26379 },
        ],
        masterName: "mymaster",
      },
    });
  });

  it("refuses a URL and Sentinels together instead of silently preferring one", () => {
    expect(
      read({ CLASSROOM_REDIS_URL: "redis://r:6379", CLASSROOM_REDIS_SENTINELS: "s:26379", CLASSROOM_REDIS_MASTER_NAME: "m" }, (r) => r.redis()).problems,
    ).toEqual(["set either CLASSROOM_REDIS_URL or CLASSROOM_REDIS_SENTINELS, not both"]);
  });

  it("names every bad variable in one error, not only the first", () => {
    const { problems } = read({ CLASSROOM_REDIS_SENTINELS: "s:99999", CLASSROOM_MQ_SHARDS: "0", CLASSROOM_REDIS_PASSWORD_FILE: "/nonexistent/pw" }, (r) => [
      r.redis(),
      r.int("CLASSROOM_MQ_SHARDS", 4, 1, 1024),
    ]);
    expect(problems).toEqual([
      "CLASSROOM_REDIS_PASSWORD_FILE: cannot read '/nonexistent/pw' (ENOENT)",
      "CLASSROOM_REDIS_MASTER_NAME is required with CLASSROOM_REDIS_SENTINELS (the master name the Sentinels monitor, e.g. mymaster)",
      expect.stringMatching(/^CLASSROOM_REDIS_SENTINELS: 's:99999' is not host:port \(port 1-65535\)/),
      "CLASSROOM_MQ_SHARDS must be an integer from 1 to 1024, got '0'",
    ]);
  });

  it.each([["12.5"], ["-3"], ["1e3"], ["ten"]])("refuses %s where an integer is expected", (raw) => {
    expect(read({ N: raw }, (r) => r.int("N", 4, 1, 100)).problems).toEqual([`N must be an integer from 1 to 100, got '${raw}'`]);
  });

  it("uses the default for an unset or empty variable", () => {
    expect(read({ N: " " }, (r) => r.int("N", 4, 1, 100))).toEqual({ value: 4 });
  });

  it("describes Redis for a log line without credentials", () => {
    expect(describeRedis({ url: "redis://user:pw@redis.data:6380/2" })).toBe("redis://redis.data:6380/2");
    expect(describeRedis({ url: "redis://redis.data" })).toBe("redis://redis.data:6379/0");
    expect(describeRedis({ sentinels: [{ host: "s", port: 26379 }], masterName: "m", password: "pw" })).toBe("sentinels s:26379 master m");
  });
});
