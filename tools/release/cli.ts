import { Command, Option } from "commander";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "../../infra/config";
import { PolicyConfigError } from "../../policies/policy-config";
import { projectVersion, runCli } from "../cli/run";
import { DataLossRefused, formatDiff, PROJECT_ROOT, StackFileError } from "../synth";
import { ACTIONS, ActionName, formatStatus, ReleaseStep } from "./actions";
import { checkStackFile } from "./diff";
import { askToDeploy, confirmationRule, DeployTarget, findOnPath, policyConfigFor, pulumiPreviewArgs, pulumiUpArgs, runPulumi, shellCommand } from "./deploy";
import { ReleaseError, ReleaseRefused } from "./errors";
import { replaceRefusal } from "./replace-file";
import { DEFAULT_STACKS_DIR, displayPath, explicitStackFile, StackFile, stackFilePath } from "./stack-file";

interface CliOptions {
  image?: string;
  weight?: string;
  replicas?: string;
  dryRun?: boolean;
  deploy: boolean;
  yes?: boolean;
  allowDataLoss?: boolean;
  stacksDir: string;
  stackFile?: string;
  baseline?: string;
  baselineFile?: string;
}

const program = new Command("release")
  .description("Gray release of one classroom service: edit its stack file, show the synth diff, preview and deploy")
  .argument("<stack>", "stack name (stacks/Pulumi.<stack>.yaml)")
  .argument("<service>", "service name under classroom:services")
  .argument("<action>", `one of ${ACTIONS.join(", ")}`)
  .argument("[value]", "the new weight, for `weight <n>`")
  .option("--image <ref>", "canary: image of the canary track")
  .option("--weight <n>", "canary: traffic weight of the canary, 0-100")
  .option("--replicas <n>", "canary, weight: canary pods (default: current, or weight% of stable, at least 1)")
  .option("--dry-run", "show the diff, write nothing, deploy nothing")
  .option("--no-deploy", "write the stack file but print the pulumi command instead of running it")
  .option("-y, --yes", "deploy without asking (as CI does); without it the release asks on a terminal and refuses without one")
  .option("--allow-data-loss", "go ahead even when a StatefulSet would be replaced or a volume claim lost")
  .addOption(new Option("--stacks-dir <dir>", "folder of the stack files").default(DEFAULT_STACKS_DIR, "the project's stacks/"))
  .option("--stack-file <path>", "edit this stack file instead of <stacks-dir>/Pulumi.<stack>.yaml")
  .option("--baseline <git-ref>", "check upgrade safety against the stack file at this git ref (default: the file before the edit)")
  .option("--baseline-file <path>", "check upgrade safety against this stack file (for example the last deployed one)")
  .option("--debug", "print the stack trace of any error")
  .version(projectVersion(), "--version", "print the version and exit")
  .addHelpText("after", `
Every step previews the edit with the stack's policy pack (pulumi preview --policy-pack policies
--policy-pack-config policies/config/<stack>.json), asks before deploying, and writes the stack file only
when the deploy goes ahead. Without a terminal to ask on, pass --yes (or --no-deploy / --dry-run).

Exit codes: 0 done, 1 refused or failed (data loss, a schema or mandatory policy problem the edit would
introduce, a failed preview or deploy, a deploy not confirmed), 2 bad request or stack file, 3 internal error.

Examples:
  npm run release -- prod room-api canary --image registry.classroom.internal/room-api:1.9.0 --weight 10
  npm run release -- prod room-api weight 50
  npm run release -- prod room-api promote
  npm run release -- prod room-api rollback
  npm run release -- prod room-api status`)
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

async function main(): Promise<number> {
  program.parse(process.argv);
  const [stack, service, action, value] = program.processedArgs as [string, string, string, string | undefined];
  const opts = program.opts<CliOptions>();

  // Every mistake in the request is reported in one run, not one per attempt.
  const problems = requestProblems(action, opts, value);
  const step = (ACTIONS as readonly string[]).includes(action) && action !== "status" ? parseStep(action as Exclude<ActionName, "status">, opts, value, problems) : undefined;
  let stackFile: StackFile | undefined;
  try {
    const file = stackFileOf(stack, opts);
    stackFile = new StackFile(file);
    stackFile.service(service);
  } catch (err) {
    if (!(err instanceof ReleaseError)) throw err;
    problems.push(err.message);
  }
  if (problems.length > 0) throw problems.length === 1 ? new ReleaseError(problems[0]) : new ReleaseError(`${problems.length} problems, nothing written:`, problems);
  const file = stackFile!.file;
  const shownFile = displayPath(file);

  if (action === "status") {
    checkStackFile(stack, file);
    console.log(formatStatus(stack, service, stackFile!.service(service)));
    return 0;
  }

  // Refusals that need no rendering come before the seconds of planning.
  const pulumi = opts.dryRun || !opts.deploy ? undefined : findOnPath("pulumi");
  const target: DeployTarget | undefined = pulumi ? { stack, stackFile: file, root: PROJECT_ROOT, policyConfig: policyConfigFor(stack, stackFile!.environment()) } : undefined;
  if (target && confirmationRule(!!opts.yes, !!process.stdin.isTTY) === "refuse") {
    throw new ReleaseError("no terminal to confirm the deploy on: pass --yes to deploy without asking (as CI does), or --no-deploy to only write the stack file");
  }
  if (!opts.dryRun) {
    const refusal = replaceRefusal(file);
    if (refusal) throw new ReleaseError(refusal);
  }

  // Loaded only now: rendering pulls in the Pulumi SDK, seconds of start-up that bad requests should not wait for.
  const { planRelease, writeRelease } = await import("./release");
  const plan = await planRelease({
    stack, service, step: step!, stackFile: file, baselineFile: opts.baselineFile, baselineRef: opts.baseline,
    onStepPlanned: (summary) => console.log(summary),
  });
  console.log(formatDiff(plan.diff, { title: `synth diff ${stack}` }));
  if (plan.hazards.length > 0) {
    if (!opts.allowDataLoss) throw new ReleaseRefused(`${new DataLossRefused(plan.hazards, `this ${action} of ${service} in ${stack}`).message}\nnothing written`);
    console.log(`upgrade hazards accepted with --allow-data-loss: ${plan.hazards.map((h) => `${h.resource} ${h.field}`).join(", ")}`);
  }
  const unchanged = plan.editedText === plan.currentText;
  if (opts.dryRun) {
    console.log(`dry run: ${shownFile} ${unchanged ? "already says so" : "not written"}, nothing deployed`);
    return 0;
  }

  if (!pulumi || !target) {
    const policyConfig = policyConfigFor(stack, stackFile!.environment());
    if (unchanged) console.log(`no change to ${shownFile}: it already says so (whether the stack runs it was not checked: ${!opts.deploy ? "--no-deploy given" : "no pulumi CLI on PATH"})`);
    else {
      writeRelease(plan);
      console.log(`wrote ${shownFile}`);
    }
    console.log(`${!opts.deploy ? "--no-deploy given" : "pulumi CLI not found on PATH"}; deploy with:\n  ${shellCommand(["pulumi", ...pulumiUpArgs({ stack, stackFile: file, root: PROJECT_ROOT, policyConfig })])}`);
    return 0;
  }

  if (unchanged) {
    // The file alone cannot say whether it was deployed (a deploy may have failed after the write):
    // the engine's preview against the stack's state can.
    const check = pulumiPreviewArgs(target, { expectNoChanges: true });
    console.log(`${shownFile} already says so; checking that the stack runs it:\n  ${shellCommand(["pulumi", ...check])}`);
    if (runPulumi(pulumi, check) === 0) {
      console.log(`no change: ${shownFile} already says so and the stack runs it (the preview plans no changes)`);
      return 0;
    }
    console.log(`the stack does not run what ${shownFile} says (the preview above plans changes or failed, for example after a failed deploy)`);
    await confirmDeploy(opts, `Deploy ${shownFile} to stack ${stack}?`, "nothing deployed");
    return deploy(pulumi, target, shownFile);
  }

  const previewCode = previewEdit(pulumi, target, plan.editedText);
  if (previewCode !== 0) throw new ReleaseRefused(`pulumi preview of the edit exited with ${previewCode}; nothing written, nothing deployed`);
  await confirmDeploy(opts, `Write ${shownFile} and deploy stack ${stack}?`, "nothing written, nothing deployed");
  writeRelease(plan);
  console.log(`wrote ${shownFile}`);
  return deploy(pulumi, target, shownFile);
}

/** Previews the edited text from a temporary copy: the stack file is written only once the deploy is confirmed. */
function previewEdit(pulumi: string, target: DeployTarget, editedText: string): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-release-preview-"));
  try {
    const edited = path.join(dir, path.basename(target.stackFile));
    fs.writeFileSync(edited, editedText, { mode: 0o600 });
    const args = pulumiPreviewArgs(target, { stackFile: edited });
    console.log(`previewing the edit: ${shellCommand(["pulumi", ...args])}`);
    return runPulumi(pulumi, args);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function confirmDeploy(opts: CliOptions, question: string, outcome: string): Promise<void> {
  if (confirmationRule(!!opts.yes, !!process.stdin.isTTY) === "go") return;
  if (!(await askToDeploy(question))) throw new ReleaseRefused(`deploy not confirmed; ${outcome}`);
}

function deploy(pulumi: string, target: DeployTarget, shownFile: string): number {
  const args = pulumiUpArgs(target);
  console.log(`running: ${shellCommand(["pulumi", ...args])}`);
  const code = runPulumi(pulumi, args);
  if (code !== 0) {
    throw new ReleaseRefused(`pulumi up exited with ${code}; ${shownFile} is written but not deployed: run the same release command again to deploy it (or \`rollback\`)`);
  }
  console.log(`deployed ${shownFile} to stack ${target.stack}`);
  return 0;
}

/** The stack file the request names, or a one-line error naming the option, folder or file at fault. */
function stackFileOf(stack: string, opts: CliOptions): string {
  if (opts.stackFile === undefined) return stackFilePath(path.resolve(opts.stacksDir), stack);
  if (program.getOptionValueSource("stacksDir") === "cli") throw new ReleaseError("--stack-file and --stacks-dir exclude each other: give one");
  const file = explicitStackFile(path.resolve(opts.stackFile));
  // Deploying one stack's file to another stack would give it the other stack's whole configuration.
  const named = /^Pulumi\.(.+)\.yaml$/.exec(path.basename(file))?.[1];
  if (named !== undefined && named !== stack) throw new ReleaseError(`--stack-file ${file} is the file of stack '${named}', not of '${stack}'`);
  return file;
}

/** Mistakes in the arguments themselves: an unknown action, and options or a value the action does not take. */
function requestProblems(action: string, opts: CliOptions, value: string | undefined): string[] {
  const problems: string[] = [];
  if (!(ACTIONS as readonly string[]).includes(action)) {
    problems.push(`action '${action}' is unknown (actions: ${ACTIONS.join(", ")})`);
    return problems;
  }
  if (value !== undefined && action !== "weight") problems.push(`${action} takes no value, got '${value}' (only \`weight <n>\` does)`);
  if (opts.image !== undefined && action !== "canary") problems.push(`--image applies only to canary, not ${action}`);
  if (opts.weight !== undefined && action !== "canary") problems.push(`--weight applies only to canary, not ${action}${action === "weight" ? " (write `weight <n>`)" : ""}`);
  if (opts.replicas !== undefined && action !== "canary" && action !== "weight") problems.push(`--replicas applies only to canary and weight, not ${action}`);
  if (action === "status") {
    const edits = { "--dry-run": opts.dryRun, "--no-deploy": !opts.deploy, "--yes": opts.yes, "--allow-data-loss": opts.allowDataLoss, "--baseline": opts.baseline, "--baseline-file": opts.baselineFile };
    for (const [option, given] of Object.entries(edits)) if (given) problems.push(`${option} applies only to steps that edit the stack file, not status`);
    return problems;
  }
  if (opts.yes && (opts.dryRun || !opts.deploy)) problems.push(`--yes confirms a deploy, and ${opts.dryRun ? "--dry-run" : "--no-deploy"} deploys nothing: give one of them`);
  if (opts.dryRun && !opts.deploy) problems.push("--dry-run writes nothing, --no-deploy writes the file: give one of them");
  if (opts.baseline !== undefined && opts.baselineFile !== undefined) problems.push("--baseline and --baseline-file exclude each other: give one");
  if (opts.baselineFile !== undefined && !fs.existsSync(opts.baselineFile)) problems.push(`--baseline-file ${opts.baselineFile} does not exist`);
  return problems;
}

/** The step the arguments ask for; adds each missing or out-of-range argument to `problems`. */
function parseStep(action: Exclude<ActionName, "status">, opts: CliOptions, value: string | undefined, problems: string[]): ReleaseStep | undefined {
  const replicas = opts.replicas === undefined ? undefined : wholeNumber("--replicas", opts.replicas, 0, 1000, problems);
  switch (action) {
    case "canary": {
      if (!opts.image) problems.push(opts.image === "" ? "--image must not be empty (the canary track's image)" : "canary needs --image <ref> (the canary track's image)");
      if (opts.weight === undefined) problems.push("canary needs --weight <n> (0-100, the canary's share of traffic)");
      const weight = opts.weight === undefined ? undefined : wholeNumber("--weight", opts.weight, 0, 100, problems);
      return opts.image && weight !== undefined ? { action, image: opts.image, weight, replicas } : undefined;
    }
    case "weight": {
      if (value === undefined) problems.push("weight needs the new weight: `weight <n>` with n between 0 and 100");
      const weight = value === undefined ? undefined : wholeNumber("weight", value, 0, 100, problems);
      return weight !== undefined ? { action, weight, replicas } : undefined;
    }
    case "promote":
    case "rollback":
      return { action };
  }
}


function wholeNumber(name: string, text: string, min: number, max: number, problems: string[]): number | undefined {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    problems.push(`${name} must be a whole number between ${min} and ${max}, got '${text}'`);
    return undefined;
  }
  return Number(text);
}

// Errors of the config, synth and policy modules that predate tools/cli/run.ts are the user's to fix.
runCli("release", main, (err) => {
  if (err instanceof ConfigError || err instanceof StackFileError || err instanceof PolicyConfigError) return "usage";
  if (err instanceof DataLossRefused) return "findings";
  return undefined;
});
