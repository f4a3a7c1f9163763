import { Command, CommanderError, Option } from "commander";
import * as path from "node:path";
import { ConfigError } from "../../infra/config";
import { formatDiff } from "../synth/diff";
import { PROJECT_ROOT, StackFileError } from "../synth/stack-config";
import { DataLossRefused } from "../synth/upgrade-safety";
import { ACTIONS, ActionName, formatStatus, ReleaseStep } from "./actions";
import { findOnPath, pulumiUpArgs, runPulumiUp, shellCommand } from "./deploy";
import { ReleaseError } from "./errors";
import { DEFAULT_STACKS_DIR, StackFile, stackFilePath } from "./stack-file";

interface CliOptions {
  image?: string;
  weight?: string;
  replicas?: string;
  dryRun?: boolean;
  deploy: boolean;
  allowDataLoss?: boolean;
  stacksDir: string;
  baseline?: string;
  baselineFile?: string;
}

const program = new Command("release")
  .description("Gray release of one classroom service: edit its stack file, show the synth diff, deploy")
  .argument("<stack>", "stack name (stacks/Pulumi.<stack>.yaml)")
  .argument("<service>", "service name under classroom:services")
  .argument("<action>", `one of ${ACTIONS.join(", ")}`)
  .argument("[value]", "the new weight, for `weight <n>`")
  .option("--image <ref>", "canary: image of the canary track")
  .option("--weight <n>", "canary: traffic weight of the canary, 0-100")
  .option("--replicas <n>", "canary, weight: canary pods (default: current, or weight% of stable, at least 1)")
  .option("--dry-run", "show the diff, write nothing, deploy nothing")
  .option("--no-deploy", "write the stack file but print the pulumi command instead of running it")
  .option("--allow-data-loss", "go ahead even when a StatefulSet would be replaced or a volume claim lost")
  .addOption(new Option("--stacks-dir <dir>", "folder of the stack files").default(DEFAULT_STACKS_DIR, "the project's stacks/"))
  .option("--baseline <git-ref>", "check upgrade safety against the stack file at this git ref (default: the file before the edit)")
  .option("--baseline-file <path>", "check upgrade safety against this stack file (for example the last deployed one)")
  .addHelpText("after", `
Examples:
  npm run release -- prod room-api canary --image registry.classroom.internal/room-api:1.9.0 --weight 10
  npm run release -- prod room-api weight 50
  npm run release -- prod room-api promote
  npm run release -- prod room-api rollback
  npm run release -- prod room-api status`)
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

async function main(argv: string[]): Promise<number> {
  program.parse(argv);
  const [stack, service, action, value] = program.processedArgs as [string, string, string, string | undefined];
  const opts = program.opts<CliOptions>();
  if (!(ACTIONS as readonly string[]).includes(action)) throw new ReleaseError(`action '${action}' is unknown (actions: ${ACTIONS.join(", ")})`);
  checkOptionsApply(action as ActionName, opts, value);
  const stacksDir = path.resolve(opts.stacksDir);

  if (action === "status") {
    const stackFile = new StackFile(stackFilePath(stacksDir, stack));
    console.log(formatStatus(stack, service, stackFile.service(service)));
    return 0;
  }

  const step = parseStep(action as Exclude<ActionName, "status">, opts, value);
  // Loaded only now: rendering pulls in the Pulumi SDK, seconds of start-up that bad requests should not wait for.
  const { planRelease, writeRelease } = await import("./release");
  const plan = await planRelease({ stack, service, step, stacksDir, baselineFile: opts.baselineFile, baselineRef: opts.baseline });
  const shownFile = displayPath(plan.file);
  console.log(plan.summary);
  console.log(formatDiff(plan.diff, { title: `synth diff ${stack}` }));
  if (plan.hazards.length > 0) {
    if (!opts.allowDataLoss) throw new DataLossRefused(plan.hazards, `this ${action} of ${service} in ${stack}`);
    console.log(`upgrade hazards accepted with --allow-data-loss: ${plan.hazards.map((h) => `${h.resource} ${h.field}`).join(", ")}`);
  }
  if (plan.editedText === plan.currentText) {
    console.log(`no change: ${shownFile} already says so`);
    return 0;
  }
  if (opts.dryRun) {
    console.log(`dry run: ${shownFile} not written, nothing deployed`);
    return 0;
  }
  writeRelease(plan);
  console.log(`wrote ${shownFile}`);
  const args = pulumiUpArgs(stack, plan.file, PROJECT_ROOT);
  const pulumi = findOnPath("pulumi");
  if (!opts.deploy || !pulumi) {
    console.log(`${!opts.deploy ? "--no-deploy given" : "pulumi CLI not found on PATH"}; deploy with:\n  ${shellCommand(["pulumi", ...args])}`);
    return 0;
  }
  console.log(`running: ${shellCommand(["pulumi", ...args])}`);
  const code = runPulumiUp(pulumi, args);
  if (code !== 0) console.error(`release: pulumi up exited with ${code}; ${shownFile} is already written (run the same pulumi command again, or \`rollback\`)`);
  return code;
}

/** Options that do not belong to the action are mistakes worth naming, not silently ignored. */
function checkOptionsApply(action: ActionName, opts: CliOptions, value: string | undefined): void {
  if (value !== undefined && action !== "weight") throw new ReleaseError(`${action} takes no value, got '${value}' (only \`weight <n>\` does)`);
  if (opts.image !== undefined && action !== "canary") throw new ReleaseError(`--image applies only to canary, not ${action}`);
  if (opts.weight !== undefined && action !== "canary") throw new ReleaseError(`--weight applies only to canary, not ${action}${action === "weight" ? " (write `weight <n>`)" : ""}`);
  if (opts.replicas !== undefined && action !== "canary" && action !== "weight") throw new ReleaseError(`--replicas applies only to canary and weight, not ${action}`);
}

function parseStep(action: Exclude<ActionName, "status">, opts: CliOptions, value: string | undefined): ReleaseStep {
  const replicas = opts.replicas === undefined ? undefined : wholeNumber("--replicas", opts.replicas, 0, 1000);
  switch (action) {
    case "canary":
      if (!opts.image) throw new ReleaseError("canary needs --image <ref> (the canary track's image)");
      if (opts.weight === undefined) throw new ReleaseError("canary needs --weight <n> (0-100, the canary's share of traffic)");
      return { action, image: opts.image, weight: wholeNumber("--weight", opts.weight, 0, 100), replicas };
    case "weight":
      if (value === undefined) throw new ReleaseError("weight needs the new weight: `weight <n>` with n between 0 and 100");
      return { action, weight: wholeNumber("weight", value, 0, 100), replicas };
    case "promote":
    case "rollback":
      return { action };
  }
}

/** Relative to the working directory when inside it, absolute otherwise. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith("..") ? relative : file;
}

function wholeNumber(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ReleaseError(`${name} must be a whole number between ${min} and ${max}, got '${text}'`);
  }
  return Number(text);
}

main(process.argv).then(
  (code) => process.exit(code),
  (err) => {
    // Bad requests are reported as plain lines, without a stack trace; anything else is a bug and keeps its trace.
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    if (err instanceof ConfigError) {
      const problems = err.problems.length === 1 ? ` ${err.problems[0]}` : `\n${err.problems.map((p) => `  ${p}`).join("\n")}`;
      console.error(`release: invalid stack configuration after this edit, nothing written:${problems}`);
      process.exit(2);
    }
    if (err instanceof ReleaseError || err instanceof StackFileError) {
      console.error(`release: ${err.message}`);
      process.exit(2);
    }
    if (err instanceof DataLossRefused) {
      console.error(`release: ${err.message}\nnothing written`);
      process.exit(1);
    }
    console.error(err);
    process.exit(3);
  },
);
