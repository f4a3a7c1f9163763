import { Command, Option } from "commander";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../../infra/config";
import { rolloutPlan } from "../../infra/config/rollout-defaults";
import { PolicyConfigError } from "../../policies/policy-config";
import { emptyOptionProblems, oneLineCommanderErrors, projectVersion, runCli } from "../cli/run";
import { DataLossRefused, StackFileError, verifyBaselineRef } from "../synth";
import { ACTIONS, ActionName, formatStatus, ReleaseStep } from "./actions";
import { applyStep } from "./apply-step";
import { checkStackFile } from "./diff";
import { ReleaseError } from "./errors";
import { DEFAULT_STACKS_DIR, explicitStackFile, StackFile, stackFilePath } from "./stack-file";

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
  continue?: boolean;
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
  .option("--continue", "run: go on past the manual pause the rollout is stopped at")
  .option("--debug", "print the stack trace of any error")
  .version(projectVersion(), "--version", "print the version and exit")
  .addHelpText(
    "after",
    `
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
  npm run release -- prod room-api status
  npm run release -- prod room-api run --yes     # the service's rollout plan: steps, analysis, promote or roll back
  npm run release -- prod room-api abort --yes   # roll the canary back now (a run in progress stops)`,
  )
  .configureOutput(oneLineCommanderErrors)
  .exitOverride();

async function main(): Promise<number> {
  program.parse(process.argv);
  const [stack, service, action, value] = program.processedArgs as [string, string, string, string | undefined];
  const opts = program.opts<CliOptions>();

  // Every mistake in the request is reported in one run, not one per attempt.
  // --image, --weight and --replicas word an empty value in their own checks.
  const empty = emptyOptionProblems(program, ["--image", "--weight", "--replicas"]);
  const problems = [...empty, ...requestProblems(action, opts, value)];
  const step =
    (ACTIONS as readonly string[]).includes(action) && action !== "status" && action !== "run"
      ? parseStep(action as Exclude<ActionName, "status" | "run">, opts, value, problems)
      : undefined;
  let stackFile: StackFile | undefined;
  // An empty --stacks-dir or --stack-file is reported above; resolved, it would name the working folder.
  if (opts.stacksDir !== "" && opts.stackFile !== "")
    try {
      const file = stackFileOf(stack, opts);
      stackFile = new StackFile(file);
      stackFile.service(service);
    } catch (err) {
      if (!(err instanceof ReleaseError)) throw err;
      problems.push(err.message);
    }
  if (problems.length > 0)
    throw problems.length === 1 ? new ReleaseError(problems[0]) : new ReleaseError(`${problems.length} problems, nothing written:`, problems);
  const file = stackFile!.file;

  if (action === "status") {
    const config = checkStackFile(stack, file);
    const svc = config.services[service];
    console.log(formatStatus(stack, service, stackFile!.service(service), svc ? rolloutPlan(svc.kind, svc.rollout).steps : undefined));
    return 0;
  }

  if (action === "run") {
    const { runRollout } = await import("./rollout/run");
    return runRollout({ stack, service, file, opts }, { continueManual: !!opts.continue });
  }
  return applyStep({ stack, service, file, opts }, step!);
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
  if (opts.weight !== undefined && action !== "canary")
    problems.push(`--weight applies only to canary, not ${action}${action === "weight" ? " (write `weight <n>`)" : ""}`);
  if (opts.replicas !== undefined && action !== "canary" && action !== "weight") problems.push(`--replicas applies only to canary and weight, not ${action}`);
  if (opts.continue && action !== "run") problems.push(`--continue applies only to run, not ${action}`);
  if (action === "run" && opts.dryRun)
    problems.push("--dry-run applies to one step, not to run (a rollout waits for real metrics): use --no-deploy to only write the stack file at each step");
  if (action === "status") {
    const edits = {
      "--dry-run": opts.dryRun,
      "--no-deploy": !opts.deploy,
      "--yes": opts.yes,
      "--allow-data-loss": opts.allowDataLoss,
      "--baseline": opts.baseline,
      "--baseline-file": opts.baselineFile,
    };
    for (const [option, given] of Object.entries(edits)) if (given) problems.push(`${option} applies only to steps that edit the stack file, not status`);
    return problems;
  }
  if (opts.yes && (opts.dryRun || !opts.deploy))
    problems.push(`--yes confirms a deploy, and ${opts.dryRun ? "--dry-run" : "--no-deploy"} deploys nothing: give one of them`);
  if (opts.dryRun && !opts.deploy) problems.push("--dry-run writes nothing, --no-deploy writes the file: give one of them");
  if (opts.baseline !== undefined && opts.baselineFile !== undefined) problems.push("--baseline and --baseline-file exclude each other: give one");
  if (opts.baselineFile) {
    const stat = fs.statSync(opts.baselineFile, { throwIfNoEntry: false });
    if (!stat) problems.push(`--baseline-file ${opts.baselineFile} does not exist`);
    else if (!stat.isFile()) problems.push(`--baseline-file ${opts.baselineFile} is not a regular file`);
  }
  // A bad ref is the request's mistake: reported with the others, not after seconds of rendering.
  if (opts.baseline) {
    try {
      verifyBaselineRef(opts.baseline);
    } catch (err) {
      if (!(err instanceof StackFileError)) throw err;
      problems.push(err.message);
    }
  }
  return problems;
}

/** The step the arguments ask for; adds each missing or out-of-range argument to `problems`. */
function parseStep(action: Exclude<ActionName, "status" | "run">, opts: CliOptions, value: string | undefined, problems: string[]): ReleaseStep | undefined {
  const replicas = opts.replicas === undefined ? undefined : wholeNumber("--replicas", opts.replicas, 0, 1000, problems);
  switch (action) {
    case "canary": {
      if (!opts.image)
        problems.push(opts.image === "" ? "--image must not be empty (the canary track's image)" : "canary needs --image <ref> (the canary track's image)");
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
    case "abort":
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
