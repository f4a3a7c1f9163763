import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderCheckout, stackExistsAt, withCheckout } from "./baseline";
import { diffValues, kubernetesObject, objectKey, RenderedInput } from "./diff";
import type { Rendered } from "./render";
import { findReplacements, Replacement } from "./replacements";
import { PROJECT_ROOT, StackFileError } from "./stack-config";

/**
 * StatefulSet fields whose change makes the Kubernetes provider plan a replacement (delete, then
 * create), which takes every replica down at once and starts the new pods on claims that are new or no
 * longer match their template. The first four are immutable in the API server; the provider's own
 * force-new list for apps/v1 StatefulSet adds `revisionHistoryLimit`, so the engine replaces for that too.
 */
export const STATEFULSET_REPLACEMENT_FIELDS = ["volumeClaimTemplates", "selector", "serviceName", "podManagementPolicy", "revisionHistoryLimit"] as const;

/** PersistentVolumeClaim fields the provider replaces the claim for (and a replaced claim is a new, empty volume). */
export const CLAIM_REPLACEMENT_FIELDS = ["accessModes", "selector", "storageClassName", "volumeName"] as const;

/** A change between two renders that can lose data or take a data system down as a whole. */
export interface UpgradeHazard {
  /** `Kind/namespace/name` of the resource at risk (as it was before the change). */
  resource: string;
  /** The field whose change causes it, e.g. `spec.volumeClaimTemplates[name=data].spec.resources.requests.storage`. */
  field: string;
  /** What the engine will do and why that is dangerous. */
  reason: string;
  before?: unknown;
  after?: unknown;
  /** Further lines to show under the hazard (URNs, the fix). */
  detail?: string[];
}

/**
 * Finds the changes that make the engine replace a StatefulSet or lose a PersistentVolumeClaim:
 * an edit of an immutable StatefulSet field, a StatefulSet renamed or moved to another namespace (same
 * Pulumi resource, new identity), a removed StatefulSet that owns volumeClaimTemplates, and a removed
 * PersistentVolumeClaim. Replica counts, images, resources and everything else pass.
 */
export function findUpgradeHazards(before: readonly RenderedInput[], after: readonly RenderedInput[]): UpgradeHazard[] {
  const hazards: UpgradeHazard[] = [];
  const afterByKey = new Map(after.map((r) => [objectKey(kubernetesObject(r)), r]));
  const afterByResourceName = new Map(after.filter(hasResourceName).map((r) => [`${r.type}::${r.name}`, r]));

  for (const input of before) {
    const old = kubernetesObject(input);
    const key = objectKey(old);
    if (old.kind === "PersistentVolumeClaim") {
      const successor = afterByKey.get(key);
      if (!successor) {
        hazards.push({
          resource: key,
          field: "(object)",
          reason: "the claim is removed: the engine deletes it and the volume's data with it (unless its reclaim policy is Retain)",
        });
        continue;
      }
      for (const field of CLAIM_REPLACEMENT_FIELDS) {
        for (const change of diffValues(old.spec?.[field], kubernetesObject(successor).spec?.[field], `spec.${field}`)) {
          hazards.push({
            resource: key,
            field: change.path,
            reason: `the engine replaces the claim for a spec.${field} change: a new, empty volume`,
            ...values(change),
          });
        }
      }
      continue;
    }
    if (old.kind !== "StatefulSet") continue;
    const successor = afterByKey.get(key);
    if (successor) {
      const next = kubernetesObject(successor);
      for (const field of STATEFULSET_REPLACEMENT_FIELDS) {
        for (const change of diffValues(old.spec?.[field], next.spec?.[field], `spec.${field}`)) {
          hazards.push({
            resource: key,
            field: change.path,
            reason: `the engine replaces the StatefulSet for a spec.${field} change (every replica down at once${field === "volumeClaimTemplates" ? ", existing claims no longer match the template" : ""})`,
            ...values(change),
          });
        }
      }
      continue;
    }
    const renamed = hasResourceName(input) ? afterByResourceName.get(`${input.type}::${input.name}`) : undefined;
    if (renamed) {
      const next = kubernetesObject(renamed);
      for (const field of ["name", "namespace"] as const) {
        if (old.metadata?.[field] !== next.metadata?.[field]) {
          hazards.push({
            resource: key,
            field: `metadata.${field}`,
            reason: `the StatefulSet gets a new identity (${objectKey(next)}): the engine replaces it, and its pods start on new, empty claims`,
            before: old.metadata?.[field],
            after: next.metadata?.[field],
          });
        }
      }
      continue;
    }
    const templates = (old.spec?.volumeClaimTemplates ?? []) as Array<{ metadata?: { name?: string } }>;
    if (templates.length > 0) {
      hazards.push({
        resource: key,
        field: "spec.volumeClaimTemplates",
        reason: `the StatefulSet is removed: its pods stop and its claims (${templates.map((t) => t.metadata?.name).join(", ")}) are orphaned or deleted`,
      });
    }
  }
  return hazards;
}

function hasResourceName(input: RenderedInput): input is { type: string; name: string; object: Record<string, any> } {
  return typeof (input as { type?: unknown }).type === "string" && typeof (input as { name?: unknown }).name === "string" && "object" in input;
}

function values(change: { before?: unknown; after?: unknown }): { before?: unknown; after?: unknown } {
  return { ...("before" in change ? { before: change.before } : {}), ...("after" in change ? { after: change.after } : {}) };
}

/** One line per hazard: `StatefulSet/ns/name: field (a -> b): reason`. */
export function formatHazards(hazards: readonly UpgradeHazard[]): string {
  return hazards
    .map((h) => {
      const values = "before" in h || "after" in h ? ` (${show(h.before)} -> ${show(h.after)})` : "";
      return `  ${h.resource}: ${h.field}${values}: ${h.reason}${(h.detail ?? []).map((line) => `\n      ${line}`).join("")}`;
    })
    .join("\n");
}

function show(value: unknown): string {
  if (value === undefined) return "unset";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Thrown when a change is refused for upgrade hazards; the CLIs print the message and exit 1. */
export class DataLossRefused extends Error {
  constructor(
    readonly hazards: UpgradeHazard[],
    what: string,
  ) {
    super(
      `refusing ${what}: it would replace a StatefulSet or another stateful resource, or lose a volume claim:\n${formatHazards(hazards)}\n` +
        "Pass --allow-data-loss to go ahead anyway (make sure the data is backed up or migrated first).",
    );
    this.name = "DataLossRefused";
  }
}

/** Throws a StackFileError unless `ref` names a commit of the repository (checked before any rendering). */
export function verifyBaselineRef(ref: string, root = PROJECT_ROOT): void {
  if (ref.startsWith("-")) throw new StackFileError(`--baseline ${ref} is not a git ref (give a branch, tag or commit such as HEAD or origin/main)`);
  const refCheck = spawnSync("git", ["-C", root, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { encoding: "utf8" });
  if (refCheck.error) throw new StackFileError(`--baseline needs git on PATH (${refCheck.error.message})`);
  if (refCheck.status !== 0)
    throw new StackFileError(`--baseline ${ref} is not a commit in ${root} (give a branch, tag or commit such as HEAD or origin/main)`);
}

/**
 * The stack file as committed at a git ref (`git show <ref>:stacks/Pulumi.<stack>.yaml`), written to a
 * temporary file. Returns undefined when the stack did not exist at that ref (nothing to protect yet).
 */
export function stackFileAtRef(stack: string, ref: string, root = PROJECT_ROOT): { file: string; cleanup: () => void } | undefined {
  const spec = `${ref}:./stacks/Pulumi.${stack}.yaml`;
  verifyBaselineRef(ref, root);
  const shown = spawnSync("git", ["-C", root, "show", spec], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  if (shown.status !== 0) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-baseline-"));
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  fs.writeFileSync(file, shown.stdout);
  return { file, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** What `synth --baseline <ref>` found. */
export interface UpgradeCheck {
  /** False when the stack has no file at the ref: nothing deployed from it to protect. */
  baselineFound: boolean;
  /** StatefulSet replacements, lost claims, and replaced stateful resources (data or credentials lost). */
  hazards: UpgradeHazard[];
  /** Every resource the engine would replace for a URN change, stateful or not. */
  replacements: Replacement[];
}

/**
 * Renders the stack as the checkout of `ref` declares it (that commit's program, components and stack
 * file) and compares it with `current`: changed immutable fields and lost claims, and resources whose
 * URN changes without an alias (a renamed child, a renamed or re-parented component), which the engine
 * replaces whatever the objects look like.
 */
export async function hazardsSinceRef(
  stack: string,
  ref: string,
  current: Pick<Rendered, "objects" | "identities">,
  root = PROJECT_ROOT,
): Promise<UpgradeCheck> {
  verifyBaselineRef(ref, root);
  if (!stackExistsAt(ref, stack, root)) return { baselineFound: false, hazards: [], replacements: [] };
  const before = await withCheckout(ref, root, async (dir) => {
    try {
      return await renderCheckout(dir, stack);
    } catch (err) {
      // The baseline's own error classes are not today's; its message is what the user needs.
      if (err instanceof StackFileError) throw err;
      throw new StackFileError(
        `--baseline ${ref}: the stack ${stack} does not render at that commit: ${String((err as Error)?.message ?? err).split("\n")[0]}`,
      );
    }
  });
  const replacements = findReplacements(before, current);
  return { baselineFound: true, hazards: [...findUpgradeHazards(before.objects, current.objects), ...replacementHazards(replacements)], replacements };
}

/** The replacements that lose data or credentials, as hazards naming both URNs and the alias to add. */
export function replacementHazards(replacements: readonly Replacement[]): UpgradeHazard[] {
  return replacements
    .filter((r) => r.stateful)
    .map((r) => ({
      resource: r.resource,
      field: "urn",
      reason: `its URN changes and no alias covers the old one: ${r.stateful}`,
      detail: [`before: ${r.before.urn}`, `after:  ${r.after.urn}`, `a rename ships with an alias: add ${r.alias}`],
    }));
}
