import { REQUEST_CHECKS } from "../../infra/config/rollout-defaults";
import { evaluate, judge } from "../../tools/release/rollout/analysis";

const [successRate, latency, burn] = REQUEST_CHECKS;

describe("analysis verdicts", () => {
  it("baseline stable, direction min: the canary may be at most `threshold` below stable", () => {
    expect(judge(successRate, { canary: 0.995, stable: 1 })).toEqual({ failed: false, reason: "canary 0.995 is not below stable 1 - 0.01" });
    expect(judge(successRate, { canary: 0.98, stable: 1 })).toEqual({ failed: true, reason: "canary 0.98 is below stable 1 - 0.01" });
    // A stable that is itself degraded does not fail an equally degraded canary.
    expect(judge(successRate, { canary: 0.9, stable: 0.9 }).failed).toBe(false);
  });

  it("baseline stable, direction max: the canary may be at most `threshold` above stable", () => {
    expect(judge(latency, { canary: 0.3, stable: 0.1 }).failed).toBe(false);
    expect(judge(latency, { canary: 0.4, stable: 0.1 })).toEqual({ failed: true, reason: "canary 0.4 is above stable 0.1 + 0.25" });
  });

  it("baseline absolute compares the canary with the threshold alone", () => {
    expect(judge(burn, { canary: 14.4 }).failed).toBe(false);
    expect(judge(burn, { canary: 300 })).toEqual({ failed: true, reason: "canary 300 is above the limit 14.4" });
  });

  it("fails on missing data rather than passing on silence", () => {
    expect(judge(successRate, { stable: 1 })).toEqual({ failed: true, reason: "no data for the canary" });
    expect(judge(successRate, { canary: 1 })).toEqual({ failed: true, reason: "no data for the stable track to compare with" });
  });

  it("queries each track with the placeholders filled in, and counts a failing query as a failed evaluation", async () => {
    const asked: string[] = [];
    const results = await evaluate([successRate, burn], { service: "room-api", window: "2m" }, async (q) => {
      asked.push(q);
      if (q.includes("(1 - 0.999)")) throw new Error("connection refused");
      return q.includes('classroom_io_track="canary"') ? 0.5 : 1;
    });
    expect(asked.filter((q) => q.includes('app_kubernetes_io_name="room-api",classroom_io_track="canary"') && q.includes("[2m]"))).toHaveLength(2);
    expect(asked.filter((q) => q.includes('classroom_io_track="stable"'))).toHaveLength(1);
    expect(results.map((r) => [r.check.name, r.failed, r.reason])).toEqual([
      ["success-rate", true, "canary 0.5 is below stable 1 - 0.01"],
      ["error-budget-burn", true, "query failed: connection refused"],
    ]);
  });
});
