import { ReleaseError } from "./errors";
import { ServiceEntries, ServicePatch } from "./stack-file";

/** The actions `npm run release -- <stack> <service> <action>` accepts. */
export const ACTIONS = ["canary", "weight", "promote", "rollback", "status", "run", "abort"] as const;
export type ActionName = (typeof ACTIONS)[number];

/** A release step that edits the stack file. */
export type ReleaseStep =
  /** Start (or replace) the canary track. `replicas` default: the canary's current count if > 0, else weight% of stable, at least 1. */
  | { action: "canary"; image: string; weight: number; replicas?: number }
  /** Move the canary's weight; `replicas` default: unchanged. `rolloutStep`: the plan step `run` is at, recorded with the weight. */
  | { action: "weight"; weight: number; replicas?: number; rolloutStep?: number }
  /** The canary image becomes stable; the previous stable image goes to `history`. */
  | { action: "promote" }
  /** During a canary: weight 0 and 0 canary replicas. Without one: the last `history` image back to stable. */
  | { action: "rollback" }
  /** Rollback of a running canary only (never of a promoted stable image): what `abort` and a failed analysis do. */
  | { action: "abort"; reason?: string };

export interface PlannedStep {
  patch: ServicePatch;
  /** One line saying what the step does, for the CLI's output. */
  summary: string;
}

/**
 * Turns a step into the edit of one service's entries, or a one-line error when the step does not apply
 * to the service's current state. Pure: the caller reads the file, validates and writes.
 */
export function planStep(service: string, entries: ServiceEntries, step: ReleaseStep, now: Date = new Date()): PlannedStep {
  const { stable, canary } = entries;
  const history = entries.history ?? [];
  switch (step.action) {
    case "canary": {
      if (!stable)
        throw new ReleaseError(
          `service '${service}' has no stable track: a canary splits traffic away from stable, so set classroom:services.${service}.stable first`,
        );
      const stableReplicas = entries.autoscaling?.minReplicas ?? stable.replicas;
      if (stableReplicas === 0)
        throw new ReleaseError(`service '${service}' has a stable track with 0 replicas: a canary needs a running stable track to fall back to`);
      if (step.image === stable.image)
        throw new ReleaseError(`--image ${step.image} is already the stable image of '${service}': a canary needs a different image`);
      const replicas = step.replicas ?? (canary && canary.replicas > 0 ? canary.replicas : Math.max(1, Math.round((stableReplicas * step.weight) / 100)));
      checkReplicasForWeight(service, replicas, step.weight, step.replicas !== undefined);
      return {
        patch: { canary: { image: step.image, replicas, weight: step.weight } },
        summary: `${service}: canary ${step.image} with ${plural(replicas, "replica")}${split(entries, step.weight, replicas)}`,
      };
    }
    case "weight": {
      if (!canary)
        throw new ReleaseError(
          `service '${service}' has no canary: 'weight' moves a running canary's weight (start one with \`canary --image <ref> --weight <n>\`)`,
        );
      const replicas = step.replicas ?? canary.replicas;
      checkReplicasForWeight(service, replicas, step.weight, step.replicas !== undefined);
      const next = { ...canary, replicas, weight: step.weight };
      if (step.rolloutStep !== undefined) next.step = step.rolloutStep;
      return {
        patch: { canary: next },
        summary: `${service}: canary weight ${canary.weight} -> ${step.weight}${replicas !== canary.replicas ? `, canary replicas ${canary.replicas} -> ${replicas}` : ""}${split(entries, step.weight, replicas)}`,
      };
    }
    case "promote": {
      if (!canary) throw new ReleaseError(`service '${service}' has no canary to promote (start one with \`canary --image <ref> --weight <n>\`)`);
      if (canary.weight === 0 && canary.replicas === 0)
        throw new ReleaseError(
          `the canary of '${service}' was rolled back (weight 0, 0 replicas): start a new one with \`canary --image <ref> --weight <n>\` instead of promoting it`,
        );
      if (!stable) throw new ReleaseError(`service '${service}' has no stable track to promote the canary into`);
      return {
        patch: { stable: { ...stable, image: canary.image }, canary: null, history: [...history, { image: stable.image, promotedAt: now.toISOString() }] },
        summary: `${service}: stable ${stable.image} -> ${canary.image} (canary removed; ${stable.image} recorded in history for rollback)`,
      };
    }
    case "abort":
    case "rollback": {
      if (step.action === "abort" && (!canary || (canary.weight === 0 && canary.replicas === 0))) {
        throw new ReleaseError(
          `nothing to abort for '${service}': ${canary ? "its canary is already rolled back (weight 0, 0 replicas)" : "it has no canary"}`,
        );
      }
      if (canary) {
        if (canary.weight === 0 && canary.replicas === 0) {
          throw new ReleaseError(
            `nothing to roll back for '${service}': its canary is already at weight 0 with 0 replicas (start a new one with \`canary --image <ref> --weight <n>\`)`,
          );
        }
        // The rollout step goes with the traffic: a rolled-back canary is at no step, so no run resumes it.
        const { step: _step, ...rest } = canary;
        return {
          patch: { canary: { ...rest, weight: 0, replicas: 0 } },
          summary: `${service}: canary ${canary.image} ${step.action === "abort" ? `aborted${step.reason ? ` (${step.reason})` : ""}` : "rolled back"} (weight ${canary.weight} -> 0, replicas ${canary.replicas} -> 0); stable untouched`,
        };
      }
      const previous = history[history.length - 1];
      if (!previous)
        throw new ReleaseError(
          `nothing to roll back for '${service}': no canary and an empty release history (promote records the previous stable image there)`,
        );
      if (!stable) throw new ReleaseError(`service '${service}' has no stable track to roll back`);
      const rest = history.slice(0, -1);
      return {
        patch: { stable: { ...stable, image: previous.image }, history: rest.length > 0 ? rest : null },
        summary: `${service}: stable ${stable.image} -> ${previous.image} (restored from history${previous.promotedAt ? `, replaced ${previous.promotedAt}` : ""})`,
      };
    }
  }
}

/**
 * A weight on a track without pods would send that share of requests nowhere. The message blames
 * --replicas only when the user gave it; otherwise the count is the canary's current one.
 */
function checkReplicasForWeight(service: string, replicas: number, weight: number, replicasGiven: boolean): void {
  if (!Number.isInteger(replicas) || replicas < 0) throw new ReleaseError(`--replicas must be a whole number >= 0, got ${replicas}`);
  if (replicas > 0 || weight === 0) return;
  if (replicasGiven)
    throw new ReleaseError(
      `--replicas 0 with weight ${weight} would send ${weight}% of '${service}' traffic to no pods: give the canary replicas (--replicas <n>) or weight 0`,
    );
  throw new ReleaseError(
    `the canary of '${service}' has 0 replicas (rolled back?), so weight ${weight} would send ${weight}% of its traffic to no pods: add --replicas <n>`,
  );
}

/**
 * What the traffic split will actually be. http and rpc split by weight; a consumer's canary takes its
 * share of the Kafka partitions, so its split is the replica ratio whatever the weight says, and
 * workers take no traffic at all.
 */
function split(entries: ServiceEntries, canaryWeight: number, canaryReplicas: number): string {
  const kind = entries.kind;
  if (kind === "consumer" || kind === "worker") {
    const stable = entries.stable?.replicas ?? 0;
    if (kind === "worker") return ` next to ${plural(stable, "stable replica")} (workers take no traffic, so the weight ${canaryWeight} is not used)`;
    const total = canaryReplicas + stable;
    return (
      `: the canary consumes about ${total ? Math.round((100 * canaryReplicas) / total) : 0}% of the messages (${canaryReplicas} of ${total} replicas;` +
      ` consumers split by replica ratio over the Kafka partitions, so the weight ${canaryWeight} does not route messages)`
    );
  }
  const legacy = entries.legacy?.weight ?? 0;
  return ` at weight ${canaryWeight}, stable ${100 - canaryWeight - legacy}${legacy ? `, legacy ${legacy}` : ""}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** What `status` prints: each track with image, replicas and weight, legacy VMs, and the release history. */
export function formatStatus(stack: string, service: string, entries: ServiceEntries, steps?: Array<{ weight: number; pause: string }>): string {
  const canaryWeight = entries.canary?.weight ?? 0;
  const legacyWeight = entries.legacy?.weight ?? 0;
  const kind = entries.kind ?? "?";
  const hpa = entries.autoscaling ? ` (HPA ${entries.autoscaling.minReplicas}-${entries.autoscaling.maxReplicas})` : "";
  const weighted = kind === "http" || kind === "rpc";
  const weightText = (w: number) => (weighted ? `weight ${w}` : "no traffic weight");
  const lines = [`${service} (${kind}) in stack ${stack}`];
  if (entries.stable)
    lines.push(`  stable   ${entries.stable.image}  replicas ${entries.stable.replicas}${hpa}  ${weightText(100 - canaryWeight - legacyWeight)}`);
  else lines.push("  stable   (none)");
  if (entries.canary) {
    const rolledBack = entries.canary.weight === 0 && entries.canary.replicas === 0 ? "  (rolled back)" : "";
    lines.push(`  canary   ${entries.canary.image}  replicas ${entries.canary.replicas}  ${weightText(canaryWeight)}${rolledBack}`);
  } else lines.push("  canary   (none)");
  if (entries.canary?.step !== undefined && steps) {
    const at = steps[entries.canary.step - 1];
    lines.push(
      `  rollout  step ${entries.canary.step} of ${steps.length}${at ? ` (weight ${at.weight}, pause ${at.pause})` : ""}: \`release ${stack} ${service} run\` resumes here, \`abort\` rolls back`,
    );
  }
  if (entries.canary?.match)
    lines.push(
      `  match    ${entries.canary.match.map((m) => `${m.header ? `header ${m.header}` : m.cookie ? `cookie ${m.cookie}` : `query ${m.query}`}=${m.value}`).join(" or ")} -> canary`,
    );
  if (entries.legacy) lines.push(`  legacy   ${entries.legacy.endpoints.length} VM endpoint(s) ${entries.legacy.endpoints.join(", ")}  weight ${legacyWeight}`);
  if (kind === "http") lines.push("  routing  HTTPRoute backendRefs weighted as above");
  else if (kind === "rpc") lines.push("  routing  discovery clients split calls by the registered track weights above");
  else if (entries.canary && entries.stable) {
    const total = entries.stable.replicas + entries.canary.replicas;
    lines.push(
      `  routing  by replica ratio (Kafka partitions): canary ${entries.canary.replicas}/${total} = ${total ? Math.round((100 * entries.canary.replicas) / total) : 0}%`,
    );
  }
  const history = entries.history ?? [];
  if (history.length === 0) lines.push("  history  (empty)");
  else
    history
      .slice()
      .reverse()
      .forEach((h, i) =>
        lines.push(
          `  ${i === 0 ? "history " : "        "} ${h.image}${h.promotedAt ? `  replaced ${h.promotedAt}` : ""}${i === 0 ? "  <- rollback restores this" : ""}`,
        ),
      );
  return lines.join("\n");
}
