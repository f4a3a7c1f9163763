import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DataLossRefused, formatDiff, PROJECT_ROOT } from "../synth";
import { ReleaseStep } from "./actions";
import { askToDeploy, confirmationRule, DeployTarget, findOnPath, policyConfigFor, pulumiPreviewArgs, pulumiUpArgs, runPulumi, shellCommand } from "./deploy";
import type { RenderCache } from "./diff";
import { ReleaseError, ReleaseRefused } from "./errors";
import { replaceRefusal } from "./replace-file";
import { displayPath, StackFile } from "./stack-file";

/** The options of one release command that decide how far a step goes (diff only, write, deploy). */
export interface StepOptions {
  dryRun?: boolean;
  deploy: boolean;
  yes?: boolean;
  allowDataLoss?: boolean;
  baseline?: string;
  baselineFile?: string;
}

export interface StepContext {
  stack: string;
  service: string;
  /** The stack file. */
  file: string;
  opts: StepOptions;
  /** Renders reused across the steps of one `run`. Default: none. */
  cache?: RenderCache;
  /** Where progress lines go. Default: stdout. */
  log?: (line: string) => void;
}

/**
 * One release step the way every action applies it: the edit, its synth diff and upgrade hazards, then
 * (per the options) nothing, the stack file written, or a policy-checked preview, confirmation, write and
 * `pulumi up`. `run` applies each of its steps through here, so a rollout step is exactly a `weight`.
 */
export async function applyStep(ctx: StepContext, step: ReleaseStep): Promise<number> {
  const { stack, service, file, opts } = ctx;
  const log = ctx.log ?? ((line: string) => console.log(line));
  const shownFile = displayPath(file);
  // Refusals that need no rendering come before the seconds of planning.
  const pulumi = opts.dryRun || !opts.deploy ? undefined : findOnPath("pulumi");
  const target: DeployTarget | undefined = pulumi
    ? { stack, stackFile: file, root: PROJECT_ROOT, policyConfig: policyConfigFor(stack, new StackFile(file).environment()) }
    : undefined;
  if (target && confirmationRule(!!opts.yes, !!process.stdin.isTTY) === "refuse") {
    throw new ReleaseError(
      "no terminal to confirm the deploy on: pass --yes to deploy without asking (as CI does), or --no-deploy to only write the stack file",
    );
  }
  if (!opts.dryRun) {
    const refusal = replaceRefusal(file);
    if (refusal) throw new ReleaseError(refusal);
  }

  // Loaded only now: rendering pulls in the Pulumi SDK, seconds of start-up that bad requests should not wait for.
  const { planRelease, writeRelease } = await import("./release");
  const plan = await planRelease({
    stack,
    service,
    step,
    stackFile: file,
    baselineFile: opts.baselineFile,
    baselineRef: opts.baseline,
    onStepPlanned: (summary) => log(summary),
    cache: ctx.cache,
  });
  log(formatDiff(plan.diff, { title: `synth diff ${stack}` }));
  if (plan.hazards.length > 0) {
    if (!opts.allowDataLoss)
      throw new ReleaseRefused(`${new DataLossRefused(plan.hazards, `this ${step.action} of ${service} in ${stack}`).message}\nnothing written`);
    log(`upgrade hazards accepted with --allow-data-loss: ${plan.hazards.map((h) => `${h.resource} ${h.field}`).join(", ")}`);
  }
  const unchanged = plan.editedText === plan.currentText;
  if (opts.dryRun) {
    log(`dry run: ${shownFile} ${unchanged ? "already says so" : "not written"}, nothing deployed`);
    return 0;
  }

  if (!pulumi || !target) {
    // A deploy was asked for and cannot happen here: writing the file alone would leave it ahead of the
    // stack with exit 0, as if deployed. Only --no-deploy asks for the file alone.
    if (opts.deploy)
      throw new ReleaseError(
        "pulumi CLI not found on PATH, so nothing can be deployed; nothing written: install it, or pass --no-deploy to only write the stack file",
      );
    const policyConfig = policyConfigFor(stack, new StackFile(file).environment());
    if (unchanged) log(`no change to ${shownFile}: it already says so (whether the stack runs it was not checked: --no-deploy given)`);
    else {
      writeRelease(plan);
      log(`wrote ${shownFile}`);
    }
    log(
      `--no-deploy given; deploy with (pulumi previews the change and asks before applying it):\n  ${shellCommand(["pulumi", ...pulumiUpArgs({ stack, stackFile: file, root: PROJECT_ROOT, policyConfig }, { confirmed: false })])}`,
    );
    return 0;
  }

  if (unchanged) {
    // The file alone cannot say whether it was deployed (a deploy may have failed after the write):
    // the engine's preview against the stack's state can.
    const check = pulumiPreviewArgs(target, { expectNoChanges: true });
    log(`${shownFile} already says so; checking that the stack runs it:\n  ${shellCommand(["pulumi", ...check])}`);
    if (runPulumi(pulumi, check) === 0) {
      log(`no change: ${shownFile} already says so and the stack runs it (the preview plans no changes)`);
      return 0;
    }
    log(`the stack does not run what ${shownFile} says (the preview above plans changes or failed, for example after a failed deploy)`);
    await confirmDeploy(opts, `Deploy ${shownFile} to stack ${stack}?`, "nothing deployed");
    return deploy(pulumi, target, shownFile, log);
  }

  const previewCode = previewEdit(pulumi, target, plan.editedText, log);
  if (previewCode !== 0) throw new ReleaseRefused(`pulumi preview of the edit exited with ${previewCode}; nothing written, nothing deployed`);
  await confirmDeploy(opts, `Write ${shownFile} and deploy stack ${stack}?`, "nothing written, nothing deployed");
  writeRelease(plan);
  log(`wrote ${shownFile}`);
  return deploy(pulumi, target, shownFile, log);
}

/** Previews the edited text from a temporary copy: the stack file is written only once the deploy is confirmed. */
function previewEdit(pulumi: string, target: DeployTarget, editedText: string, log: (line: string) => void): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-release-preview-"));
  try {
    const edited = path.join(dir, path.basename(target.stackFile));
    fs.writeFileSync(edited, editedText, { mode: 0o600 });
    const args = pulumiPreviewArgs(target, { stackFile: edited });
    log(`previewing the edit: ${shellCommand(["pulumi", ...args])}`);
    return runPulumi(pulumi, args);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function confirmDeploy(opts: StepOptions, question: string, outcome: string): Promise<void> {
  if (confirmationRule(!!opts.yes, !!process.stdin.isTTY) === "go") return;
  if (!(await askToDeploy(question))) throw new ReleaseRefused(`deploy not confirmed; ${outcome}`);
}

function deploy(pulumi: string, target: DeployTarget, shownFile: string, log: (line: string) => void): number {
  const args = pulumiUpArgs(target);
  log(`running: ${shellCommand(["pulumi", ...args])}`);
  const code = runPulumi(pulumi, args);
  if (code !== 0) {
    throw new ReleaseRefused(
      `pulumi up exited with ${code}; ${shownFile} is written but not deployed: run the same release command again to deploy it (or \`rollback\`)`,
    );
  }
  log(`deployed ${shownFile} to stack ${target.stack}`);
  return 0;
}
