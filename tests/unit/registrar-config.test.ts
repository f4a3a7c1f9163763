import { EnvConfigError } from "../../runtime/contracts/env";
import { registrarConfigFromEnv } from "../../runtime/registrar/config";

// The registrar daemon's environment (runtime/registrar/README.md, "Environment").

const base = { CLASSROOM_REGISTRY_CONNECT: "zk-0.zk:2181", CLASSROOM_REGISTRAR_NAMESPACE: "classroom-dev-apps", POD_NAME: "registrar-0" };

function problems(env: Record<string, string>): string[] {
  try {
    registrarConfigFromEnv({ ...base, ...env });
  } catch (err) {
    if (!(err instanceof EnvConfigError)) throw err;
    return err.problems;
  }
  return [];
}

describe("the re-check interval", () => {
  it("defaults to 30 s and takes 0 to turn the re-check off", () => {
    expect(registrarConfigFromEnv(base).recheckIntervalMs).toBe(30_000);
    expect(registrarConfigFromEnv({ ...base, CLASSROOM_REGISTRAR_RECHECK_INTERVAL_MS: "0" }).recheckIntervalMs).toBe(0);
    expect(registrarConfigFromEnv({ ...base, CLASSROOM_REGISTRAR_RECHECK_INTERVAL_MS: "5000" }).recheckIntervalMs).toBe(5_000);
  });

  it("refuses a value that is not a whole number of ms in range, naming the variable and the range", () => {
    expect(problems({ CLASSROOM_REGISTRAR_RECHECK_INTERVAL_MS: "30s" })).toEqual([
      "CLASSROOM_REGISTRAR_RECHECK_INTERVAL_MS must be an integer from 0 to 86400000, got '30s'",
    ]);
    expect(problems({ CLASSROOM_REGISTRAR_RECHECK_INTERVAL_MS: "-1" })).toEqual([
      "CLASSROOM_REGISTRAR_RECHECK_INTERVAL_MS must be an integer from 0 to 86400000, got '-1'",
    ]);
  });
});
