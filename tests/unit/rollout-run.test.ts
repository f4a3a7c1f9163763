import { rolloutPlan } from "../../infra/config/rollout-defaults";
import { planStep, ReleaseStep } from "../../tools/release/actions";
import { executeRollout, RolloutDeps } from "../../tools/release/rollout/run";
import { ServiceEntries } from "../../tools/release/stack-file";

// The run's decisions over the real planStep, with a clock that jumps instead of waiting and a query
// function in place of Prometheus (tests/integration/rollout-run.test.ts runs it against a real one).

function world(entries: ServiceEntries, plan = rolloutPlan("consumer", undefined), query: RolloutDeps["query"] = async () => 1) {
  const applied: ReleaseStep[] = [];
  let now = 0;
  const deps: RolloutDeps = {
    read: () => ({ entries, plan, kind: entries.kind! }),
    apply: async (step) => {
      applied.push(step);
      const { patch } = planStep("svc", entries, step, new Date(0));
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete (entries as any)[k];
        else (entries as any)[k] = v;
      }
    },
    query,
    sleep: async (ms) => {
      now += ms;
    },
    now: () => now,
    log: () => undefined,
  };
  return { deps, applied, entries };
}

describe("release run decisions", () => {
  it("steps a consumer's canary replicas (weight% of stable), keeping the replica-ratio split, then promotes", async () => {
    const w = world({ kind: "consumer", stable: { image: "r/c:1", replicas: 4 }, canary: { image: "r/c:2", replicas: 1, weight: 0 } });
    expect(await executeRollout("svc", w.deps)).toEqual({ result: "promoted" });
    expect(w.applied).toEqual([
      { action: "weight", weight: 25, replicas: 1, rolloutStep: 1 },
      { action: "weight", weight: 50, replicas: 2, rolloutStep: 2 },
      { action: "promote" },
    ]);
    expect(w.entries.stable!.image).toBe("r/c:2");
  });

  it("stops without writing when someone aborted the canary during a pause", async () => {
    const entries: ServiceEntries = { kind: "consumer", stable: { image: "r/c:1", replicas: 4 }, canary: { image: "r/c:2", replicas: 1, weight: 0 } };
    const w = world(entries);
    const sleep = w.deps.sleep;
    w.deps.sleep = async (ms) => {
      await sleep(ms);
      if (w.applied.length === 1) entries.canary = { ...entries.canary!, weight: 0, replicas: 0 };
    };
    expect(await executeRollout("svc", w.deps)).toEqual({ result: "stopped", step: 1, why: "the canary was rolled back (abort or rollback)" });
    expect(w.applied).toHaveLength(1);
  });

  it("rolls back once a check has failed more often than its failureLimit, and not before", async () => {
    const plan = { ...rolloutPlan("http", undefined), analysis: { ...rolloutPlan("http", undefined).analysis, prometheus: "http://p", intervalMs: 60_000 } };
    plan.analysis.checks = plan.analysis.checks.filter((c) => c.name === "success-rate");
    let evaluations = 0;
    const w = world({ kind: "http", stable: { image: "r/h:1", replicas: 2 }, canary: { image: "r/h:2", replicas: 1, weight: 5 } }, plan, async (q) =>
      q.includes('track="canary"') ? (evaluations++, 0.5) : 1,
    );
    const outcome = await executeRollout("svc", w.deps);
    expect(outcome).toMatchObject({ result: "rolled-back", step: 1, failed: [{ check: { name: "success-rate" }, values: { canary: 0.5, stable: 1 } }] });
    expect(w.applied.map((s) => s.action)).toEqual(["weight", "abort"]);
    // failureLimit 1: the first failure is tolerated, the second rolls back.
    expect(evaluations).toBe(2);
    expect(w.entries.canary).toEqual({ image: "r/h:2", replicas: 0, weight: 0 });
  });

  it("stops at a manual pause, and goes past it with --continue", async () => {
    const plan = {
      steps: [
        { weight: 10, pause: "manual" },
        { weight: 20, pause: "1m" },
      ],
      analysis: { intervalMs: 1000, window: "1m", checks: [] },
    };
    const w = world({ kind: "consumer", stable: { image: "r/c:1", replicas: 10 }, canary: { image: "r/c:2", replicas: 1, weight: 0 } }, plan);
    expect(await executeRollout("svc", w.deps)).toEqual({ result: "paused", step: 1 });
    expect(await executeRollout("svc", w.deps, { continueManual: true })).toEqual({ result: "promoted" });
    expect(w.applied.map((s) => (s.action === "weight" ? `weight ${s.weight} step ${s.rolloutStep}` : s.action))).toEqual([
      "weight 10 step 1",
      "weight 10 step 1",
      "weight 20 step 2",
      "promote",
    ]);
  });
});
