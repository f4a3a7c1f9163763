import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, parsePlatformConfig, PlatformConfig } from "../../infra/config";
import { diffRenders, findUpgradeHazards, loadStackConfig, stackFileAtRef, SynthDiff, type SynthResult, UpgradeHazard } from "../synth";
import { ReleaseError, ReleaseRefused } from "./errors";

/** Renders keyed by stack and file content, so a sequence of steps renders each state once. */
export type RenderCache = Map<string, SynthResult>;

export interface ReleaseDiffArgs {
  stack: string;
  /** The stack file as it is now. */
  currentFile: string;
  /** The stack file's text after the edit. */
  editedText: string;
  /** Compare the edited render against this stack file for upgrade hazards. Default: the current file. */
  baselineFile?: string;
  /** Compare against the stack file committed at this git ref instead. Default: none. */
  baselineRef?: string;
  /** Reuse renders of identical files. Default: none. */
  cache?: RenderCache;
}

export interface ReleaseDiff {
  before: SynthResult;
  after: SynthResult;
  /** What the edit changes, object by object. */
  diff: SynthDiff;
  /** StatefulSet replacements and lost claims between the baseline and the edited render. */
  hazards: UpgradeHazard[];
}

/**
 * Validates the edited stack file through the platform's config schema, renders it and the current file
 * under mocks, and compares them: the synth diff to show and the upgrade hazards to refuse. Nothing here
 * writes the real stack file; the edited text lives in a temporary copy until the caller decides.
 */
export async function releaseDiff(args: ReleaseDiffArgs): Promise<ReleaseDiff> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-release-"));
  try {
    const editedFile = path.join(dir, `Pulumi.${args.stack}.yaml`);
    fs.writeFileSync(editedFile, args.editedText);
    // The current file passed the same check (checkStackFile), so every problem here is the edit's.
    try {
      const raw = loadStackConfig(args.stack, { stackFile: editedFile });
      parsePlatformConfig(raw.config, raw.secretKeys);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      throw oneOrMore("invalid stack configuration after this edit, nothing written:", err.problems, ReleaseError);
    }
    // Loaded on use: the Pulumi SDK and the policy pack take seconds to load, validation errors need neither.
    const { mandatoryViolations } = await import("../../policies/evaluate");
    const before = await render(args.stack, args.currentFile, args.cache);
    // A step the file already says (a retry, for instance) renders once.
    const after = fs.readFileSync(args.currentFile, "utf8") === args.editedText ? before : await render(args.stack, editedFile, args.cache);
    const introduced = after.schemaProblems.filter((p) => !before.schemaProblems.some((q) => q.key === p.key));
    if (introduced.length > 0) {
      throw oneOrMore(
        "the edit renders objects the Kubernetes schemas reject, nothing written:",
        introduced.map((p) => `${p.key}: ${p.errors.join("; ")}`),
        ReleaseRefused,
      );
    }
    // The policy pack would stop `pulumi up` anyway; saying so before writing keeps the file as it was.
    const known = new Set(mandatoryViolations(before.violations).map((v) => `${v.policy} ${v.resource}`));
    const violations = mandatoryViolations(after.violations).filter((v) => !known.has(`${v.policy} ${v.resource}`));
    if (violations.length > 0) {
      throw oneOrMore(
        "the edit breaks mandatory policies, nothing written:",
        violations.map((v) => `${v.policy} on ${v.resource}: ${v.message}`),
        ReleaseRefused,
      );
    }
    const baseline = await baselineRender(args, before);
    return { before, after, diff: diffRenders(before.objects, after.objects), hazards: findUpgradeHazards(baseline.objects, after.objects) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Checks the stack file as it is, before any edit, with the parse the program runs, so that problems
 * already in the file are reported as such and never blamed on the release step.
 */
export function checkStackFile(stack: string, file: string): PlatformConfig {
  try {
    const raw = loadStackConfig(stack, { stackFile: file });
    return parsePlatformConfig(raw.config, raw.secretKeys);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw oneOrMore(
      `${file} already has ${err.problems.length === 1 ? "a problem" : `${err.problems.length} problems`} (not caused by this command; fix ${err.problems.length === 1 ? "it" : "them"} first), nothing written:`,
      err.problems,
      ReleaseError,
    );
  }
}

/** One line for one problem, else the heading and one indented line per problem. */
function oneOrMore(heading: string, problems: string[], kind: typeof ReleaseError | typeof ReleaseRefused): Error {
  return problems.length === 1 ? new kind(`${heading} ${problems[0]}`) : new kind(heading, problems);
}

async function baselineRender(args: ReleaseDiffArgs, current: SynthResult): Promise<SynthResult> {
  if (args.baselineFile) {
    if (!fs.existsSync(args.baselineFile)) throw new ReleaseError(`--baseline-file ${args.baselineFile} does not exist`);
    return render(args.stack, args.baselineFile, args.cache);
  }
  if (args.baselineRef) {
    const atRef = stackFileAtRef(args.stack, args.baselineRef);
    if (!atRef) return current;
    try {
      return await render(args.stack, atRef.file, args.cache);
    } finally {
      atRef.cleanup();
    }
  }
  return current;
}

async function render(stack: string, file: string, cache?: RenderCache): Promise<SynthResult> {
  const key = `${stack}\n${fs.readFileSync(file, "utf8")}`;
  const hit = cache?.get(key);
  if (hit) return hit;
  const { synthesize } = await import("../synth");
  const result = await synthesize({ stack, stackFile: file });
  cache?.set(key, result);
  return result;
}
