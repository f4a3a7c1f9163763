import { RolloutPlan, rolloutPlan } from "../../../infra/config/rollout-defaults";
import { durationMs, MANUAL } from "../../../infra/config/rollout";
import { ReleaseStep } from "../actions";
import { applyStep, StepContext } from "../apply-step";
import { checkStackFile, RenderCache } from "../diff";
import { ReleaseError, ReleaseRefused } from "../errors";
import { ServiceEntries, StackFile } from "../stack-file";
import { CheckResult, evaluate, prometheusQuery, QueryFn } from "./analysis";

/** What a run needs from the world; `runRollout` wires the real ones, tests may wire their own clock. */
export interface RolloutDeps {
  /** The service's entries and plan as the stack file says now (read again before every decision). */
  read(): { entries: ServiceEntries; plan: RolloutPlan; kind: string };
  /** Applies one release step through the same path as the CLI's actions. */
  apply(step: ReleaseStep): Promise<unknown>;
  query: QueryFn;
  sleep(ms: number): Promise<void>;
  now(): number;
  log(line: string): void;
}

export type RolloutOutcome =
  | { result: "promoted" }
  | { result: "paused"; step: number }
  | { result: "stopped"; step: number; why: string }
  | { result: "rolled-back"; step: number; failed: CheckResult[] };

/**
 * Executes the service's rollout plan from the step its canary is at (`canary.step`, written with each
 * step's weight), so a run that was killed resumes where it stopped. At each step: the weight (and for
 * consumers and workers, replicas) through the ordinary release path, then the pause, during which the
 * analysis runs every interval; a check failing more often than its failureLimit rolls the canary back.
 * The pause of a resumed step starts again from zero. Someone else's `abort`, `promote` or `rollback`
 * in the meantime stops the run without another write.
 */
export async function executeRollout(service: string, deps: RolloutDeps, options: { continueManual?: boolean } = {}): Promise<RolloutOutcome> {
  const first = deps.read();
  const canary = first.entries.canary;
  if (!canary)
    throw new ReleaseError(
      `service '${service}' has no canary to roll out: start one with \`canary --image <ref> --weight <n>\` (run then takes it through classroom:services.${service}.rollout.steps)`,
    );
  if (canary.weight === 0 && canary.replicas === 0)
    throw new ReleaseError(`the canary of '${service}' was rolled back (weight 0, 0 replicas): start a new one with \`canary --image <ref> --weight <n>\``);
  const { steps, analysis } = first.plan;
  if (analysis.checks.length > 0 && !analysis.prometheus) {
    throw new ReleaseError(
      `classroom:services.${service}.rollout.analysis.prometheus is not set: the analysis (${analysis.checks.map((c) => c.name).join(", ")}) needs the Prometheus to query`,
    );
  }
  const start = Math.min(canary.step ?? 1, steps.length);
  if (canary.step !== undefined) deps.log(`resuming the rollout of ${service} at step ${start} of ${steps.length}`);
  const failures = new Map<string, number>();
  let evaluation = 0;

  for (let i = start; i <= steps.length; i++) {
    const step = steps[i - 1];
    const { entries, kind } = deps.read();
    const stopped = interference(entries, canary.image, i === start ? canary.step : i - 1);
    if (stopped) return { result: "stopped", step: i, why: stopped };
    const replicas = kind === "consumer" || kind === "worker" ? replicasFor(entries, step.weight) : undefined;
    const current = entries.canary!;
    // The first step of a run is applied even when the file already says it: after a failed deploy the
    // file is ahead of the cluster, and the release path asks the engine whether the stack runs it.
    if (i === start || current.step !== i || current.weight !== step.weight || (replicas !== undefined && current.replicas !== replicas)) {
      await deps.apply({ action: "weight", weight: step.weight, replicas, rolloutStep: i });
    }
    deps.log(`step ${i} of ${steps.length}: canary weight ${step.weight}${replicas !== undefined ? `, ${replicas} canary replicas` : ""}, pause ${step.pause}`);
    if (step.pause === MANUAL && options.continueManual && i === start) {
      deps.log(`step ${i}: manual pause passed with --continue`);
      continue;
    }
    const pauseMs = step.pause === MANUAL ? 0 : durationMs(step.pause);
    const began = deps.now();
    do {
      // A manual pause is judged once, one interval after its weight; a timed pause every interval until it ends.
      await deps.sleep(step.pause === MANUAL ? analysis.intervalMs : Math.max(1, Math.min(analysis.intervalMs, pauseMs - (deps.now() - began))));
      const why = interference(deps.read().entries, canary.image, i);
      if (why) return { result: "stopped", step: i, why };
      if (analysis.checks.length === 0) continue;
      evaluation++;
      const results = await evaluate(analysis.checks, { service, window: analysis.window }, deps.query);
      for (const r of results) {
        if (r.failed) failures.set(r.check.name, (failures.get(r.check.name) ?? 0) + 1);
        deps.log(
          `analysis #${evaluation} step ${i}: ${r.check.name} ${r.failed ? "FAIL" : "ok"}: ${r.reason}${r.failed ? ` (failure ${failures.get(r.check.name)}, ${r.check.failureLimit} tolerated)` : ""}`,
        );
      }
      const fatal = results.filter((r) => r.failed && (failures.get(r.check.name) ?? 0) > r.check.failureLimit);
      if (fatal.length > 0) {
        await deps.apply({ action: "abort", reason: `analysis failed at step ${i}: ${fatal.map((r) => r.check.name).join(", ")}` });
        return { result: "rolled-back", step: i, failed: fatal };
      }
    } while (deps.now() - began < pauseMs);
    if (step.pause === MANUAL) return { result: "paused", step: i };
  }
  const { entries } = deps.read();
  const why = interference(entries, canary.image, steps.length);
  if (why) return { result: "stopped", step: steps.length, why };
  await deps.apply({ action: "promote" });
  return { result: "promoted" };
}

/** Why the run must stop because someone else changed the canary, or undefined. */
function interference(entries: ServiceEntries, image: string, expectedStep: number | undefined): string | undefined {
  const canary = entries.canary;
  if (!canary) return "the canary was removed (promoted or rolled back by another command)";
  if (canary.image !== image) return `the canary image changed to ${canary.image}`;
  if (canary.weight === 0 && canary.replicas === 0) return "the canary was rolled back (abort or rollback)";
  if (expectedStep !== undefined && canary.step !== undefined && canary.step !== expectedStep) return `another run moved the canary to step ${canary.step}`;
  return undefined;
}

/** Consumers split by replica ratio, so a step sets the canary's replicas: weight% of stable, at least 1 (as `canary` does). */
function replicasFor(entries: ServiceEntries, weight: number): number {
  const stable = entries.autoscaling?.minReplicas ?? entries.stable?.replicas ?? 0;
  return Math.max(1, Math.round((stable * weight) / 100));
}

/** `release <stack> <service> run`: the plan with the real stack file, release path, Prometheus and clock. */
export async function runRollout(ctx: StepContext, options: { continueManual?: boolean }): Promise<number> {
  const log = ctx.log ?? ((line: string) => console.log(line));
  const cache: RenderCache = new Map();
  const read = () => {
    const config = checkStackFile(ctx.stack, ctx.file);
    const svc = config.services[ctx.service];
    return { entries: new StackFile(ctx.file).service(ctx.service), plan: rolloutPlan(svc.kind, svc.rollout), kind: svc.kind };
  };
  const plan = read().plan;
  const outcome = await executeRollout(
    ctx.service,
    {
      read,
      apply: async (step) => {
        const code = await applyStep({ ...ctx, cache, log }, step);
        if (code !== 0) throw new ReleaseRefused(`the ${step.action} step exited with ${code}; the rollout stops here (run again to resume)`);
      },
      query: prometheusQuery(plan.analysis.prometheus ?? "http://prometheus.invalid"),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      now: () => Date.now(),
      log: (line) => log(`${new Date().toISOString()} ${line}`),
    },
    options,
  );
  switch (outcome.result) {
    case "promoted":
      log(`rollout of ${ctx.service} done: the canary is promoted`);
      return 0;
    case "paused":
      log(
        `rollout of ${ctx.service} paused at step ${outcome.step} (manual): continue with \`release ${ctx.stack} ${ctx.service} run --continue\`, or \`promote\` / \`abort\``,
      );
      return 0;
    case "stopped":
      throw new ReleaseRefused(`rollout of ${ctx.service} stopped at step ${outcome.step}: ${outcome.why}`);
    case "rolled-back":
      throw new ReleaseRefused(
        `rollout of ${ctx.service} rolled back at step ${outcome.step}: ${outcome.failed.map((r) => `${r.check.name} failed more than ${r.check.failureLimit} time(s)`).join("; ")}`,
        outcome.failed.flatMap((r) => [
          `${r.check.name}: ${r.reason}`,
          `  canary: ${r.queries.canary} = ${r.values.canary ?? "no data"}`,
          ...(r.queries.stable ? [`  stable: ${r.queries.stable} = ${r.values.stable ?? "no data"}`] : []),
        ]),
      );
  }
}
